"""The emails: one about a case (what happened, the customer's scores and comment, due times, the link) or a digest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from services.loop_api.models import Case
from services.loop_api.notifications import content
from services.loop_api.notifications.models import Notification
from shared.mail import POLICY

CLOCKS = {"first_contact": "first contact", "resolution": "resolution"}


@dataclass(frozen=True)
class Context:
    """What rendering needs besides the notification: the org's time zone and where case links point."""

    timezone: str
    link_base: str


def _what_happened(notification: Notification) -> str:
    data, kind = notification.data, notification.kind
    if kind == "case_assigned":
        return "A case was assigned to you." if data.get("owner") else "A case was assigned to your team."
    if kind == "case_opened":
        return f"A new case was opened in {notification.unit}, a unit you look after."
    if kind == "case_at_risk":
        return f"80 % of the time for the {CLOCKS.get(data.get('clock', ''), 'SLA')} of your case is used."
    clock = CLOCKS.get(data.get("breach", ""), "SLA")
    if data.get("escalated"):
        return f"A case missed its {clock} deadline and was escalated to you."
    return f"Your case missed its {clock} deadline."


def _about(case: Case, context: Context) -> list[str]:
    """The case in a few lines: scores, comment, where, who, when due, the link."""
    lines = [f"Customer's score: {'; '.join(content.scores(case)) or 'none'}"]
    said = content.comment(case)
    if said is not None:
        lines.append(f'Customer\'s comment: "{said}"')
    lines += [
        f"Unit: {case.unit or '-'}",
        f"Priority: {case.priority} · Status: {case.status} · Owner: {case.owner or '-'}",
        *content.due_lines(case, context.timezone),
        f"Open the case: {content.case_link(context.link_base, case.id)}",
    ]
    return lines


def case_body(notification: Notification, case: Case | None, context: Context) -> list[str]:
    """What a mail about one case says."""
    lines = [_what_happened(notification), ""]
    if case is None:
        return [*lines, f"The case {notification.case_id} no longer exists."]
    return lines + _about(case, context)


def digest_body(
    items: list[tuple[Notification, Case | None]], open_cases: list[Case], context: Context, day: str
) -> list[str]:
    """What a daily digest says: what happened since the last one, then every open case the person owns."""
    lines = [f"Your cxloop digest for {day} ({context.timezone}).", ""]
    lines.append(f"What happened ({len(items)}):" if items else "Nothing new happened since your last digest.")
    for notification, case in items:
        at = content.local_time(notification.created_at, context.timezone)
        lines += ["", f"* {at}: {_what_happened(notification)}"]
        lines += [f"  {line}" for line in (_about(case, context) if case is not None else [])]
    lines += ["", f"Your open cases ({len(open_cases)}):" if open_cases else "You have no open cases."]
    for case in open_cases:
        due = "; ".join(content.due_lines(case, context.timezone)) or "no clock running"
        link = content.case_link(context.link_base, case.id)
        lines.append(f"* {content.headline(case)} · {case.priority} · {case.status} · {due} · {link}")
    return lines


def build_message(
    notification: Notification, *, name: str | None, body: list[str], mail_from: str, now: dt.datetime
) -> EmailMessage:
    """The plain-text email of a notification, addressed to its recipient."""
    message = EmailMessage(policy=POLICY)
    message["Subject"] = notification.subject
    message["From"] = mail_from
    message["To"] = formataddr((name or "", notification.email))
    message["Date"] = format_datetime(now)
    domain = mail_from.rpartition("@")[2].strip("> ") or None
    message["Message-ID"] = make_msgid(idstring=notification.id, domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Cxloop-Notification"] = notification.id
    greeting = f"Hello {name}," if name else "Hello,"
    footer = [
        "",
        "-- ",
        "cxloop · change how you are notified with PATCH /v1/people/{handle} (notify)".replace(
            "{handle}", notification.recipient
        ),
    ]
    message.set_content("\n".join([greeting, "", *body, *footer]) + "\n")
    return message
