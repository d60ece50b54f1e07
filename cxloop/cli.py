"""The `cxloop` command: serve, migrate, mint tokens, export OpenAPI."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cxloop import chores, migrations, supervisor
from cxloop.services import SERVICES, ServiceSpec, select
from services.loop_api.cases.sweeper import sweep_once
from services.loop_api.notifications.sender import notify_once
from services.loop_api.settings import get_settings as loop_settings
from services.metrics_api.rollups import rebuild_rollups
from services.survey_api.outreach.reminders import send_reminders
from services.survey_api.outreach.sender import expire_due, send_due
from services.survey_api.settings import get_settings as survey_settings
from shared.auth import SCOPES, mint_service_token, mint_token
from shared.db import Database
from shared.dispatch import Dispatcher
from shared.observability import configure_logging
from shared.settings import get_common_settings

app = typer.Typer(help="cxloop: self-hostable Customer Experience backend.", no_args_is_help=True)
openapi_app = typer.Typer(help="OpenAPI documents of the services.", no_args_is_help=True)
app.add_typer(openapi_app, name="openapi")
outbox_app = typer.Typer(help="The services' outboxes of events.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
loop_app = typer.Typer(help="loop_api's periodic jobs, run once.", no_args_is_help=True)
app.add_typer(loop_app, name="loop")
metrics_app = typer.Typer(help="metrics_api maintenance.", no_args_is_help=True)
app.add_typer(metrics_app, name="metrics")
chores.register(app)  # `cxloop import …`, `cxloop demo`

OPENAPI_DIR = Path(__file__).resolve().parents[1] / "openapi"
Target = Annotated[str, typer.Argument(help="survey, metrics, loop or all")]


def _services(target: str) -> list[ServiceSpec]:
    try:
        return select(target)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def serve(
    target: Target = "all",
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (one service only; default 8001/8002/8003)")] = None,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes per service")] = 1,
    port_offset: Annotated[int, typer.Option(help="Added to 8001/8002/8003 (several stacks on one host)")] = 0,
    print_token: Annotated[bool, typer.Option(help="Print a development token on start")] = True,
    worker_healthcheck_timeout: Annotated[
        int, typer.Option(help="Seconds a worker may take to answer uvicorn's health check (with --workers N)")
    ] = supervisor.WORKER_HEALTHCHECK_TIMEOUT,
    restart_limit: Annotated[
        int, typer.Option(help="all: restarts of a dead service within 5 minutes before the stack stops (0: none)")
    ] = supervisor.RESTART_LIMIT,
) -> None:
    """Serve one service, or all three with their logs interleaved and labelled; a service that dies is
    restarted with backoff (Ctrl-C stops all)."""
    specs = _services(target)
    if len(specs) == 1:
        configure_logging(get_common_settings().log_level)
        port = port or specs[0].port + port_offset
        supervisor.serve_one(
            specs[0], host=host, port=port, workers=workers, worker_healthcheck_timeout=worker_healthcheck_timeout
        )
        return
    if print_token:
        supervisor.announce(specs, host=host, token=_dev_token(), port_offset=port_offset)
    code = supervisor.serve_many(
        specs,
        host=host,
        workers=workers,
        port_offset=port_offset,
        restart_limit=restart_limit,
        worker_healthcheck_timeout=worker_healthcheck_timeout,
    )
    raise typer.Exit(code)


@app.command()
def migrate(target: Target = "all") -> None:
    """Migrate the databases of one service or all to the newest revision."""
    for spec in _services(target):
        migrations.upgrade(spec.name, spec.settings().database_url)
        typer.echo(f"{spec.name}: migrated to head")


def _dev_token() -> str:
    settings = get_common_settings()
    return mint_token(settings, org="dev", sub="dev", scopes=SCOPES, ttl_seconds=7 * 24 * 3600)


@app.command()
def token(
    org: Annotated[str, typer.Option(help="The tenant (org claim)")] = "dev",
    scope: Annotated[str, typer.Option(help="Space-separated scopes; default: every tenant scope")] = " ".join(SCOPES),
    units: Annotated[str | None, typer.Option(help="Comma-separated unit paths the caller may see")] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 3600,
    sub: Annotated[str, typer.Option(help="The subject (who is calling)")] = "dev",
    service: Annotated[
        str | None,
        typer.Option(help="Mint a service token naming this service instead (events:write, no org; for operators)"),
    ] = None,
) -> None:
    """Print a signed bearer token: a tenant's (default) or, with --service, a service token."""
    settings = get_common_settings()
    try:
        if service is not None:
            typer.echo(mint_service_token(settings, service=service, ttl_seconds=ttl))
            return
        unit_list = [u.strip() for u in units.split(",") if u.strip()] if units is not None else None
        typer.echo(mint_token(settings, org=org, sub=sub, scopes=scope.split(), units=unit_list, ttl_seconds=ttl))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def render_openapi(name: str) -> str:
    """The OpenAPI document of one service as committed: sorted keys, two-space indent, final newline."""
    document = SERVICES[name].build().openapi()
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@openapi_app.command("export")
def openapi_export(
    check: Annotated[bool, typer.Option(help="Only check that the committed documents are current")] = False,
) -> None:
    """Write openapi/<service>.json for every service (or, with --check, fail when one is stale)."""
    stale = []
    for name in SERVICES:
        path = OPENAPI_DIR / f"{name}.json"
        document = render_openapi(name)
        if check:
            if not path.exists() or path.read_text() != document:
                stale.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document)
        typer.echo(f"wrote {path.relative_to(OPENAPI_DIR.parent)}")
    if stale:
        typer.echo(f"stale: {', '.join(stale)}; run `cxloop openapi export`", err=True)
        raise typer.Exit(1)


async def _drain(spec: ServiceSpec, on_sent: Callable[[int], None] = lambda _: None) -> int:
    settings = spec.settings()
    db = Database(settings.database_url)
    dispatcher = Dispatcher(db=db, table=spec.outbox, settings=settings, source=spec.short)
    total = 0
    try:
        while sent := await dispatcher.drain_once():
            total += sent
            on_sent(sent)
    finally:
        await dispatcher.close()
        await db.dispose()
    return total


@outbox_app.command("drain")
def outbox_drain(target: Target = "all") -> None:
    """Deliver every due outbox event now (what the in-process dispatcher does continuously)."""
    configure_logging(get_common_settings().log_level)
    for spec in _services(target):
        with chores.activity(f"{spec.name}: delivering due events") as tick:
            processed = asyncio.run(_drain(spec, tick))
        typer.echo(f"{spec.name}: {processed} events processed")


@loop_app.command("sweep")
def loop_sweep() -> None:
    """Escalate every case whose SLA is breached and not yet escalated (what the in-process sweeper does)."""
    configure_logging(get_common_settings().log_level)
    escalated = asyncio.run(sweep_once(SERVICES["loop_api"].settings().database_url))
    typer.echo(f"loop_api: {escalated} escalations")


@loop_app.command("notify")
def loop_notify() -> None:
    """Compose the daily digests that are due and send pending notification emails, once (the in-process sender)."""
    configure_logging(get_common_settings().log_level)
    digests, sent = asyncio.run(notify_once(loop_settings()))
    typer.echo(f"loop_api: {digests} digests composed, {sent} notifications sent")


async def _send_once() -> tuple[int, int, int]:
    settings = survey_settings()
    db = Database(settings.database_url)
    try:
        return await send_due(db, settings), await send_reminders(db, settings), await expire_due(db)
    finally:
        await db.dispose()


@app.command()
def send() -> None:
    """Send due email/SMS invitations and reminders, and expire old invitations, once (survey_api's sender)."""
    configure_logging(get_common_settings().log_level)
    sent, reminded, expired = asyncio.run(_send_once())
    typer.echo(f"survey_api: {sent} invitations sent, {reminded} reminders sent, {expired} expired")


async def _rebuild(org: str | None) -> dict[str, int]:
    db = Database(SERVICES["metrics_api"].settings().database_url)
    try:
        async with db.sessions() as session, session.begin():
            return await rebuild_rollups(session, org=org)
    finally:
        await db.dispose()


@metrics_app.command("rebuild")
def metrics_rebuild(org: Annotated[str | None, typer.Option(help="Only this org")] = None) -> None:
    """Recompute every rollup from the facts (also re-buckets days after an org changes its time zone)."""
    configure_logging(get_common_settings().log_level)
    with chores.activity("metrics_api: re-dating facts and recounting rollups"):
        written = asyncio.run(_rebuild(org))
    for name, rows in sorted(written.items()) or [("(no orgs)", 0)]:
        typer.echo(f"metrics_api: {name}: {rows} rollup rows")
