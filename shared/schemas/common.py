"""Field types that several services' wire models share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

UNIT_SEGMENT = r"[a-z0-9][a-z0-9_-]{0,62}"
UNIT_PATH_PATTERN = rf"^{UNIT_SEGMENT}(/{UNIT_SEGMENT}){{0,9}}$"

UnitPath = Annotated[
    str,
    StringConstraints(pattern=UNIT_PATH_PATTERN, max_length=255),
]
"""A unit's materialised path: up to 10 lowercase segments joined by `/`, e.g. `emea/de/berlin-01`."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A human-readable name."""


def parent_of(path: str) -> str | None:
    """The parent path of a unit (`emea/de` for `emea/de/berlin-01`), or None for a root."""
    head, _, _ = path.rpartition("/")
    return head or None


Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", max_length=6)]
"""A language tag: `en`, `de`, `pt-BR`."""

Channel = Literal["link", "email", "sms", "web", "in_app", "phone", "api"]
"""How a response reached us: the distribution channels, plus `phone` (an agent keyed it) and `api`."""
