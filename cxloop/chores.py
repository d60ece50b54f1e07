"""The everyday chores of the `cxloop` command: `import` a file and seed a `demo` org, with progress bars."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from cxloop import demo as demo_seed
from cxloop.importer import ImportFailed, Kind, Mapping, Summary, import_file
from shared.auth import SCOPES, mint_token
from shared.settings import get_common_settings

import_app = typer.Typer(help="Import a CSV or NDJSON file through the batch endpoints.", no_args_is_help=True)
console = Console(stderr=True)

Url = Annotated[str | None, typer.Option(help="survey_api's URL (default: SURVEY_API_URL)")]
Token = Annotated[
    str | None,
    typer.Option(envvar="CXLOOP_TOKEN", help="A bearer token (default: a 1-hour token minted for --org)"),
]
Org = Annotated[str, typer.Option(help="The org a minted token is for")]


def bearer(token: str | None, org: str) -> str:
    """The given token, or one minted from this machine's settings (development and operators)."""
    return token or mint_token(get_common_settings(), org=org, sub="cxloop-cli", scopes=SCOPES, ttl_seconds=3600)


def _import(kind: Kind, path: Path, survey: str | None, mapping: Path | None, url: str | None, token: str,
            batch_size: int, rejects: Path | None) -> Summary:  # fmt: skip
    base = url or get_common_settings().survey_api_url
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task(f"{kind} from {path.name}", total=path.stat().st_size)

        async def run() -> Summary:
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                return await import_file(
                    client=client,
                    kind=kind,
                    path=path,
                    survey_id=survey,
                    mapping=Mapping.load(mapping),
                    batch_size=batch_size,
                    rejects=rejects,
                    on_bytes=lambda n: progress.advance(task, n),
                )

        return asyncio.run(run())


def _import_command(kind: Kind) -> None:
    def command(
        path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .csv (with a header) or .ndjson")],
        survey: Annotated[str | None, typer.Option(help="The survey the responses answer")] = None,
        mapping: Annotated[Path | None, typer.Option(exists=True, help="YAML: columns, lists, ignore")] = None,
        url: Url = None,
        token: Token = None,
        org: Org = "dev",
        batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Items per request")] = 500,
        rejects: Annotated[
            Path | None, typer.Option(help="Report of rejected rows (default FILE.rejected.csv)")
        ] = None,
    ) -> None:
        try:
            summary = _import(kind, path, survey, mapping, url, bearer(token, org), batch_size, rejects)
        except ImportFailed as exc:
            console.print(f"[red]import stopped:[/red] {exc}")
            raise typer.Exit(1) from exc
        console.print(
            f"{summary.rows} rows in {summary.batches} batches: [green]{summary.accepted} stored[/green], "
            f"{summary.duplicates} already there, [red]{summary.rejected} rejected[/red]"
        )
        if summary.rejected:
            console.print(f"rejected rows: {rejects or path.with_name(path.name + '.rejected.csv')}")

    command.__doc__ = f"Import {kind} from a CSV or NDJSON file (resumable: rows already stored are skipped)."
    import_app.command(kind)(command)


for _kind in ("responses", "contacts", "outcomes"):
    _import_command(_kind)  # type: ignore[arg-type]


def demo(
    org: Annotated[str, typer.Option(help="The org to fill")] = "demo",
    responses: Annotated[int, typer.Option(min=100, max=1_000_000, help="How many responses")] = 20_000,
    survey_url: Annotated[str | None, typer.Option(help="default: SURVEY_API_URL")] = None,
    loop_url: Annotated[str | None, typer.Option(help="default: LOOP_API_URL")] = None,
    token: Token = None,
    seed: Annotated[int, typer.Option(help="Random seed (the same seed gives the same org)")] = 7,
) -> None:
    """Seed a realistic org through the public API of a running stack (units, surveys, contacts, responses,
    outcomes, closed cases)."""
    settings = get_common_settings()
    urls = demo_seed.Urls(survey=survey_url or settings.survey_api_url, loop=loop_url or settings.loop_api_url)
    plan = demo_seed.DemoPlan(org=org, responses=responses, seed=seed)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeRemainingColumn(), console=console) as progress:  # fmt: skip
        report = asyncio.run(demo_seed.run(urls=urls, token=bearer(token, org), plan=plan, progress=progress))
    for line in report.lines():
        console.print(line)


@contextmanager
def activity(description: str) -> Iterator[Callable[[int], None]]:
    """A spinner with a running count and the time elapsed (on stderr), for a long command of unknown length."""
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TextColumn("{task.completed} done"))
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(description, total=None)
        yield lambda count: progress.advance(task, count)


def register(app: typer.Typer) -> None:
    """Add `cxloop import …` and `cxloop demo` to the command."""
    app.add_typer(import_app, name="import")
    app.command("demo")(demo)
