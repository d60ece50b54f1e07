"""Rules: create, read, list and change the org's rules; the rules that apply (the default when it has none)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import Rule
from services.loop_api.rules.schemas import (
    DEFAULT_RULE_ID,
    RuleCreate,
    RuleDefinition,
    RulePublic,
    RuleUpdate,
    default_rule,
)
from services.loop_api.teams.service import missing_teams
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, FieldError, NotFound, Unprocessable, invalid, pydantic_field_errors
from shared.ids import new_id
from shared.pagination import decode_cursor, encode_cursor

# Every response is checked against every rule of its org: this keeps that bounded.
MAX_RULES = 200


def public(rule: Rule) -> RulePublic:
    """The API view of a stored rule."""
    return RulePublic.model_validate(
        {**rule.definition, "id": rule.id, "created_at": rule.created_at, "updated_at": rule.updated_at}
    )


async def _check_teams(session: AsyncSession, org: str, definition: RuleDefinition) -> None:
    """422 naming each assignment route whose team is not a team of the org."""
    routes = definition.assignment.routes
    missing = await missing_teams(session, org, (r.team for r in routes if r.team is not None))
    errors = [
        FieldError(field=f"assignment.routes.{i}.team", message=f"no team {r.team!r}", code="unknown_team")
        for i, r in enumerate(routes)
        if r.team in missing
    ]
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)


def _store(rule: Rule, definition: RuleDefinition) -> None:
    rule.definition = definition.model_dump(mode="json")
    rule.name, rule.active, rule.sort_order = definition.name, definition.active, definition.order


async def create_rule(*, session: AsyncSession, principal: Principal, data: RuleCreate) -> Rule:
    """Add a rule (the org then no longer gets the default rule); 409 beyond 200 rules."""
    await _check_teams(session, principal.org, data)
    count = (await session.exec(select(func.count()).select_from(Rule).where(Rule.org == principal.org))).one()
    if count >= MAX_RULES:
        raise Conflict(f"An org has at most {MAX_RULES} rules; change or deactivate one instead")
    now = utcnow()
    rule = Rule(id=new_id("rule"), org=principal.org, name="", definition={}, created_at=now, updated_at=now)
    _store(rule, data)
    session.add(rule)
    await session.flush()
    return rule


async def get_rule(*, session: AsyncSession, principal: Principal, rule_id: str) -> RulePublic:
    """One rule of the org (the default rule while it applies); 404 otherwise."""
    if rule_id == DEFAULT_RULE_ID and not await has_own_rules(session, principal.org):
        return default_rule()
    rule = await session.get(Rule, rule_id)
    if rule is None or rule.org != principal.org:
        raise NotFound(f"No rule {rule_id!r}")
    return public(rule)


def _merged(rule: Rule, data: RuleUpdate) -> RuleDefinition:
    changes: dict[str, Any] = data.model_dump(mode="json", exclude_unset=True)
    for name in ("sla", "assignment"):  # null resets these to their defaults
        if name in changes and changes[name] is None:
            changes[name] = {}
    try:
        return RuleDefinition.model_validate({**rule.definition, **changes})
    except ValidationError as exc:  # a combination that is invalid only once merged with the stored rule
        errors = pydantic_field_errors(exc.errors())
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors)[:1000], errors=errors) from exc


async def update_rule(*, session: AsyncSession, principal: Principal, rule_id: str, data: RuleUpdate) -> RulePublic:
    """Change a rule; the default rule cannot be changed (create a rule of your own instead)."""
    if rule_id == DEFAULT_RULE_ID:
        raise Conflict("The default rule cannot be changed; create a rule of your own (it replaces the default)")
    rule = await session.get(Rule, rule_id, with_for_update=True)
    if rule is None or rule.org != principal.org:
        raise NotFound(f"No rule {rule_id!r}")
    definition = _merged(rule, data)
    await _check_teams(session, principal.org, definition)
    if definition.model_dump(mode="json") != rule.definition:
        _store(rule, definition)
        rule.updated_at = utcnow()
        session.add(rule)
        await session.flush()
    return public(rule)


async def has_own_rules(session: AsyncSession, org: str) -> bool:
    """Whether the org has any rule of its own, active or not (then the default rule does not apply)."""
    return (await session.exec(select(Rule.id).where(Rule.org == org).limit(1))).first() is not None


def _rule_cursor(cursor: str) -> tuple[int, str]:
    """The (order, id) a rules cursor continues after; 422 naming `cursor` for anything else."""
    order, _, after = decode_cursor(cursor).partition(":")
    if not order.isdigit() or not after:
        raise invalid("cursor", "not a cursor this API issued", "invalid_cursor")
    return int(order), after


async def list_rules(
    *, session: AsyncSession, principal: Principal, active: bool | None, limit: int, cursor: str | None
) -> tuple[list[RulePublic], str | None]:
    """A page of the org's rules by `order` then age, or the default rule when the org has none."""
    position = _rule_cursor(cursor) if cursor is not None else None  # a garbage cursor is a 422 in every case
    if not await has_own_rules(session, principal.org):
        rules = [default_rule()] if active in (None, True) and cursor is None else []
        return rules, None
    statement = select(Rule).where(Rule.org == principal.org)
    if active is not None:
        statement = statement.where(Rule.active == active)
    if position is not None:  # the key is (order, id): continue after the last rule of the previous page
        statement = statement.where(tuple_(col(Rule.sort_order), col(Rule.id)) > tuple_(*position))
    rows = (await session.exec(statement.order_by(col(Rule.sort_order), col(Rule.id)).limit(limit + 1))).all()
    page = list(rows[:limit])
    next_cursor = encode_cursor(f"{page[-1].sort_order}:{page[-1].id}") if len(rows) > limit and page else None
    return [public(r) for r in page], next_cursor


async def rules_in_force(session: AsyncSession, org: str) -> list[RulePublic]:
    """The org's active rules (every rule, at most 200), or the default rule when it has none."""
    rows = (await session.exec(select(Rule).where(Rule.org == org))).all()
    if not rows:
        return [default_rule()]
    return [public(r) for r in rows if r.active]
