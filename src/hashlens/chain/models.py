"""The chain's requests: each question the chain answers, its fields and their bounds, in one
place.

``hashlens difficulty``, ``hashrate``, ``halving``, ``bits`` and ``difficulty history`` /
``estimate`` build these from their options (``Model.build(**options)``); ``GET /v1/difficulty``,
``/v1/difficulty/history``, ``/v1/difficulty/estimate``, ``/v1/hashrate``,
``/v1/hashrate/series``, ``/v1/halving`` and ``/v1/bits`` take them as their query; the library
functions take them or their fields. A value outside a bound is refused in the same words on
every face (:mod:`hashlens.contracts`). The results are typed where they are computed
(:class:`hashlens.chain.adjustments.Adjustment`, :class:`hashlens.chain.hashrate.HashrateEstimate`,
:class:`hashlens.chain.halving.HalvingOutlook`, :mod:`hashlens.chain.status`,
:mod:`hashlens.chain.summary`, :mod:`hashlens.chain.bits`).

Nothing here imports numpy or the store: a command builds its request before it loads them.
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from hashlens.contracts import Day, Request, UnixTime, as_of_field

__all__ = [
    "MAX_ADJUSTMENTS",
    "MAX_HEIGHT",
    "BitsRequest",
    "DifficultyHistoryRequest",
    "DifficultyRequest",
    "EstimateInputs",
    "HalvingRequest",
    "HashrateRequest",
    "HashrateSeriesRequest",
    "SummaryRequest",
]

#: The highest block height a request may name (about 190 years of blocks from today) [-].
MAX_HEIGHT = 10_000_000
#: The most adjustments a history may list (one every two weeks for 380 years) [-].
MAX_ADJUSTMENTS = 10_000
#: The longest hashrate window: ten periods of blocks, or a year of days.
MAX_WINDOW_BLOCKS = 20_160
MAX_WINDOW_DAYS = 366
#: A window as written: a block count (``1008``, ``1008b``) or days (``7d``, ``2.5d``).
WINDOW_PATTERN = r"^(\d{1,6}b?|\d{1,3}(\.\d{1,3})?d)$"


class DifficultyRequest(Request):
    """The latest adjustment (rank, streak, records) and the running period's two estimates."""

    as_of: Day | None = Field(
        None, description="UTC day (24:00 UTC of it; default the report's day: the latest day with data)."
    )
    now_s: UnixTime | None = Field(
        None, description="'Now' for mempool.space's method [Unix s]; default 24:00 UTC of the day."
    )


class SummaryRequest(Request):
    """The chain at a glance as of a day."""

    as_of: Day | None = Field(
        None, description="UTC day (24:00 UTC of it; default the report's day: the latest day with data)."
    )


class DifficultyHistoryRequest(Request):
    """Every difficulty adjustment, oldest first."""

    limit: int | None = Field(None, ge=1, le=MAX_ADJUSTMENTS, description="Only the last N adjustments [-].")


class EstimateInputs(Request):
    """The next retarget by mempool.space's method from explicit inputs (``hashlens difficulty
    estimate``): the arguments of :func:`hashlens.chain.estimate.mempool_estimate`."""

    last_retarget_time_s: UnixTime = Field(..., description="Time of the running period's first block [Unix s].")
    now_s: UnixTime = Field(..., description="Now [Unix s]; after the period's first block.")
    height: int = Field(..., ge=0, le=MAX_HEIGHT, description="Tip height [-].")
    previous_change_pct: float = Field(
        ..., ge=-75, le=300, description="The adjustment that began the period [%] (consensus bounds: −75 … +300)."
    )
    time_504_blocks_ago_s: UnixTime | None = Field(
        None, description="Time of block height − 503 [Unix s] (the early-period window)."
    )
    tip_time_s: UnixTime | None = Field(
        None, description="The tip block's time [Unix s] (used at the period's last block)."
    )
    method: Literal["mempool"] = Field("mempool", description="Estimation method: mempool.space's.")

    @model_validator(mode="after")
    def _times_in_order(self) -> Self:
        # The estimate divides by the time since the period's first block (and, early in a
        # period, by the previous period's last 503 intervals): both must be positive.
        start = self.last_retarget_time_s
        if self.now_s <= start:
            raise ValueError(
                f"now_s {self.now_s} is not after last_retarget_time_s {start}: the estimate is for the running "
                "period, so now must be after its first block"
            )
        if self.tip_time_s is not None and self.tip_time_s <= start:
            raise ValueError(f"tip_time_s {self.tip_time_s} is not after last_retarget_time_s {start}")
        if self.time_504_blocks_ago_s is not None and self.time_504_blocks_ago_s >= start:
            raise ValueError(
                f"time_504_blocks_ago_s {self.time_504_blocks_ago_s} is not before last_retarget_time_s {start} "
                "(block height − 503 is in the previous period)"
            )
        return self


class HashrateRequest(Request):
    """Network hashrate over a window of blocks or days ending at a height, with a 95 % interval."""

    window: str = Field(
        "1008",
        pattern=WINDOW_PATTERN,
        description=f"Blocks (e.g. 1008; 2 … {MAX_WINDOW_BLOCKS:,}) or days (e.g. 7d; up to {MAX_WINDOW_DAYS}d).",
    )
    height: int | None = Field(
        None, ge=0, le=MAX_HEIGHT, description="End height (default: the tip at the as-of day's end) [-]."
    )
    as_of: Day | None = Field(
        None, description="UTC day whose end the window ends at (default the report's day; not with height)."
    )

    @model_validator(mode="after")
    def _day_or_height(self) -> Self:
        if self.as_of is not None and self.height is not None:
            raise ValueError("give as_of or height, not both")
        return self

    @field_validator("window", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("window")
    @classmethod
    def _sized(cls, v: str) -> str:
        kind, amount = window_of(v)
        if kind == "blocks" and not 2 <= amount <= MAX_WINDOW_BLOCKS:
            raise ValueError(f"must be 2 to {MAX_WINDOW_BLOCKS:,} blocks (got {v!r})")
        if kind == "days" and not 0 < amount <= MAX_WINDOW_DAYS:
            raise ValueError(f"must be above 0 and at most {MAX_WINDOW_DAYS} days (got {v!r})")
        return v

    @property
    def kind(self) -> Literal["blocks", "days"]:
        """Whether :attr:`window` counts blocks or days."""
        return window_of(self.window)[0]

    @property
    def amount(self) -> float:
        """The window's length [blocks or days]."""
        return window_of(self.window)[1]


def window_of(window: str) -> tuple[Literal["blocks", "days"], float]:
    """A window as written (``1008``, ``1008b``, ``7d``, ``2.5d``) as (kind, amount)."""
    w = window.strip().lower()
    if re.fullmatch(WINDOW_PATTERN, w) is None:
        raise ValueError(f"window {window!r}: give a block count (e.g. 1008) or days (e.g. 7d)")
    return ("days", float(w[:-1])) if w.endswith("d") else ("blocks", float(w.removesuffix("b")))


class HashrateSeriesRequest(Request):
    """Hashrate over a sliding block window, every ``step`` blocks, over each run of stored blocks."""

    window: int = Field(1008, ge=10, le=MAX_WINDOW_BLOCKS, description="Blocks in each window [-].")
    step: int = Field(144, ge=6, le=MAX_WINDOW_BLOCKS, description="Blocks between points [-].")


class HalvingRequest(Request):
    """The next halving as of a day from the store, or from a given tip height, tip time and mean
    block interval (all three, or none)."""

    as_of: Day | None = as_of_field("UTC day, from the store (default: the latest day with data).")
    height: int | None = Field(None, ge=0, le=MAX_HEIGHT, description="Tip height [-] (with tip_time_s, interval_s).")
    tip_time_s: UnixTime | None = Field(None, description="Tip time [Unix s] (with height, interval_s).")
    interval_s: float | None = Field(
        None, gt=0, le=86_400, description="Mean block interval [s] (with height, tip_time_s)."
    )

    @model_validator(mode="after")
    def _all_or_none(self) -> Self:
        given = [x is not None for x in (self.height, self.tip_time_s, self.interval_s)]
        if any(given) and not all(given):
            raise ValueError("give height, tip_time_s and interval_s together, or none (the store's data)")
        if all(given) and self.as_of is not None:
            raise ValueError("give an as-of day (the store's data) or height, tip_time_s and interval_s, not both")
        return self

    @property
    def given(self) -> bool:
        """True when the tip is given rather than read from the store."""
        return self.height is not None


class BitsRequest(Request):
    """Decode compact nBits: target, difficulty and work per block."""

    bits: str = Field(
        ...,
        pattern=r"^(0[xX])?[0-9a-fA-F]{1,8}$",
        description="Compact nBits in hex, e.g. 17023ad4 or 0x1d00ffff.",
    )

    @property
    def value(self) -> int:
        """The bits as an integer."""
        return int(self.bits.lower().removeprefix("0x"), 16)
