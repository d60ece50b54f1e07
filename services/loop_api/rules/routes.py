"""`/v1/rules`: which responses open a case, at what priority and SLA, for whom."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.loop_api.rules import service as rules
from services.loop_api.rules.schemas import RuleCreate, RulePublic, RuleUpdate
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/rules", tags=["rules"], responses=problem_responses(401, 403, 422)
)
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
Writer = Annotated[Principal, Depends(require_scopes("cases:write"))]


@router.post("", status_code=201, response_model=RulePublic, responses=problem_responses(409))
async def create_rule(data: RuleCreate, principal: Writer, session: IdempotentSession) -> RulePublic:
    """Create a rule; the org's first rule replaces the default (NPS ≤ 6 opens a case)."""
    return rules.public(await rules.create_rule(session=session, principal=principal, data=data))


@router.get("", response_model=Page[RulePublic])
async def list_rules(
    principal: Reader,
    session: SessionDep,
    active: Annotated[bool | None, Query(description="Only active (true) or inactive (false) rules")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[RulePublic]:
    """The org's rules by `order`, or the default rule (`default: true`) while the org has none."""
    items, next_cursor = await rules.list_rules(
        session=session, principal=principal, active=active, limit=limit, cursor=cursor
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{rule_id}", response_model=RulePublic, responses=problem_responses(404))
async def get_rule(rule_id: str, principal: Reader, session: SessionDep) -> RulePublic:
    """One rule (`rule_default` while the org has no rules of its own)."""
    return await rules.get_rule(session=session, principal=principal, rule_id=rule_id)


@router.patch("/{rule_id}", response_model=RulePublic, responses=problem_responses(404, 409))
async def update_rule(rule_id: str, data: RuleUpdate, principal: Writer, session: SessionDep) -> RulePublic:
    """Change a rule; given fields replace the rule's, null clears the scope fields and resets sla/assignment."""
    return await rules.update_rule(session=session, principal=principal, rule_id=rule_id, data=data)
