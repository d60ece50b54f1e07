"""Anonymity of employee results: no group below the minimum sample can be read, not even by subtraction.

Groups below the minimum sample show no counts (`figures_of(..., anonymous=True)`). But the total is shown,
so the total minus the groups that are shown would give the hidden ones' counts back — a group of two would
reveal what both answered. So while the answers hidden from a list of groups number more than zero and fewer
than the minimum sample, the smallest group still shown is hidden too (`reason: "protects_small_group"`).
"""

from __future__ import annotations

from typing import Any

from services.metrics_api.figures import BELOW_MIN_SAMPLE, COUNTS

PROTECTS_SMALL_GROUP = "protects_small_group"
KEPT = frozenset({"key", "reason", "scale_min", "scale_max", "target", "previous"})  # not figures of this group


def hide(figures: dict[str, Any]) -> None:
    """Blank every value, count, percentage and interval of a group's figures."""
    for name, value in figures.items():
        if name not in KEPT and isinstance(value, int | float | dict) and not isinstance(value, bool):
            figures[name] = None
    figures.update({name: None for name in COUNTS if name in figures})
    figures["reason"] = PROTECTS_SMALL_GROUP
    if "significant" in figures:
        figures["significant"] = False


def protect_complement(groups: list[tuple[dict[str, Any], int]], total_n: int, min_sample: int) -> None:
    """Hide more groups (smallest first) until the hidden answers are none or at least `min_sample`.

    `groups` pairs each group's figures with its true n; `total_n` is the n of the total shown beside them.
    """
    shown = sorted(
        ((figures, n) for figures, n in groups if figures.get("reason") != BELOW_MIN_SAMPLE),
        key=lambda pair: pair[1],
    )
    hidden = total_n - sum(n for _, n in shown)
    while 0 < hidden < min_sample and shown:
        figures, n = shown.pop(0)
        hide(figures)
        hidden += n
