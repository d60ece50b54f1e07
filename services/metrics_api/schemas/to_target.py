"""What it takes to reach a target: the `to_target` field of NPS, CSAT and rating answers and of scorecards."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Move(BaseModel):
    """One way to reach the target: how many answers moved from one group to another, each move alone."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from", description="detractor, passive, below, no, partly, or a score")
    to: str
    count: int | None = Field(description="Answers to move; 0 when met; null when more than exist")


class ToTarget(BaseModel):
    """What it takes to reach a target: the fewest answers that, each moved alone in one way, reach it.

    NPS: detractor→promoter ⌈(T - NPS)·n/200⌉, passive→promoter and detractor→passive ⌈(T - NPS)·n/100⌉.
    CSAT: below→satisfied ⌈T·n/100 - satisfied⌉; with `target_on=top_box` the point below the top into the top,
    ⌈T·n/100 - top box⌉. Rating (a mean-score target): the point below the top into the top ⌈T·n - Σscores⌉, the
    lowest point into the top ⌈(T·n - Σscores)/(top - lowest)⌉; top_box as CSAT. Emotion: as rating (a mean on
    1-5). Success, gap = T·n/100 - (yes + w·partly): no→yes ⌈gap⌉, partly→yes ⌈gap/(1 - w)⌉, no→partly ⌈gap/w⌉.
    A move needing more answers than there are (or closing nothing) is null; a met target needs 0.
    """

    target: float
    target_on: Literal["value", "top_box"]
    source: Literal["request", "saved"] = Field(description="The `target` parameter, or the scope's saved target")
    met: bool | None = Field(description="null while the value is null (below the minimum sample)")
    moves: list[Move]
