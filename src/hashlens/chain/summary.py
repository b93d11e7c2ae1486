"""The parts of the chain summary the chain owns: the latest adjustment and the recent ones as
the summary shows them. The summary as of a day (``hashlens summary``, ``GET /v1/summary``) is
composed by :func:`hashlens.weekly.asof.summary_on`."""

from __future__ import annotations

from pydantic import Field

from hashlens.contracts import Result


class SummaryAdjustment(Result):
    """The latest adjustment, as the summary shows it (a part of
    :class:`hashlens.chain.adjustments.Adjustment`)."""

    height: int
    time: str | None
    bits: str
    difficulty: float
    change_pct: float = Field(..., description="[%]")
    rank_among_drops: int | None
    rank_among_rises: int | None
    streak: int
    lowest_since_height: int | None
    largest_drop_since_height: int | None
    source: str


class RecentAdjustment(Result):
    height: int
    time: str | None
    difficulty: float
    change_pct: float = Field(..., description="[%]")
    streak: int
