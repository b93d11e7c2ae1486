"""The pools contracts: one request model per question, one result model per answer.

The CLI builds the request from its options (``PoolsRequest.build(**options)``), the API takes
it as its query, and :mod:`hashlens.pools.analysis` takes it as its argument, so the three
refuse the same inputs in the same words.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from hashlens.contracts import MAX_SEED, Request, Result

SOURCE_RE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
#: Days a request may name: the chain's first day … far enough ahead for any window [UTC day].
FIRST_DAY, LAST_DAY = date(2009, 1, 3), date(2100, 1, 1)


def _day_in_range(v: date | None) -> date | None:
    if v is not None and not FIRST_DAY <= v <= LAST_DAY:
        raise ValueError(f"must be a day from {FIRST_DAY} to {LAST_DAY}")
    return v


WINDOW_RE = r"^(\d{1,4}d|\d{1,6})$"


def parse_window(window: str) -> tuple[str, int]:
    """``7d`` → ("days", 7); ``1008`` → ("blocks", 1008)."""
    w = window.strip().lower()
    return ("days", int(w[:-1])) if w.endswith("d") else ("blocks", int(w))


class WindowFields(Request):
    """Which blocks: a window ending at ``as_of`` (``7d``, ``30d`` or a block count such as
    ``1008``), or the days ``start`` … ``end``; and which source's attribution."""

    as_of: date | None = Field(None, description="The window's last day (24:00 UTC); default: the source's last day.")
    window: str | None = Field(
        None,
        pattern=WINDOW_RE,
        description="Days (7d, 30d: whole UTC days to as_of) or blocks (1008) ending at as_of; default 30d.",
    )
    start: date | None = Field(None, description="First day of the window (with end; instead of window).")
    end: date | None = Field(None, description="Last day of the window, inclusive.")
    source: str | None = Field(
        None,
        max_length=200,
        description="The source (coinbase, mempool-api, canhui, btl, …); several, comma-separated, side by side. "
        "Default: the source covering the window with the most blocks.",
    )
    level: Literal["pool", "cluster"] = Field(
        "pool", description="Compare names as pools or as owner clusters (btl's Bitmain = AntPool + BTC.com)."
    )
    level_pct: float = Field(95.0, gt=50, lt=100, description="Confidence level of the intervals [%].")

    @field_validator("as_of", "start", "end")
    @classmethod
    def _days(cls, v: date | None) -> date | None:
        return _day_in_range(v)

    @field_validator("window")
    @classmethod
    def _window_size(cls, v: str | None) -> str | None:
        if v is None:
            return v
        kind, amount = parse_window(v)
        if amount < 1 or (kind == "days" and amount > 3660) or (kind == "blocks" and amount > 1_000_000):
            raise ValueError("must be 1d … 3660d (days) or 1 … 1,000,000 (blocks)")
        return v

    @field_validator("source")
    @classmethod
    def _source_names(cls, v: str | None) -> str | None:
        if v is None:
            return v
        for name in v.split(","):
            if not re.match(SOURCE_RE, name.strip()):
                raise ValueError(f"source {name.strip()!r}: use letters, digits, '.', '_' or '-' (up to 40)")
        return v

    @model_validator(mode="after")
    def _range(self) -> WindowFields:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither (then window and as_of)")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        if self.start is not None and (self.window is not None or self.as_of is not None):
            raise ValueError("give start and end, or window and as_of, not both")
        return self

    def sources(self) -> list[str] | None:
        return None if self.source is None else [s.strip() for s in self.source.split(",") if s.strip()]


class PoolsRequest(WindowFields):
    """Each pool's share of a window's blocks, its interval, hashrate, runs and empty blocks."""


class LuckRequest(WindowFields):
    """Luck per pool in the window: blocks found against blocks expected from a share on an
    earlier reference window (default: the window of the same length just before), or from a
    hashrate the user states for one pool."""

    reference_start: date | None = Field(None, description="First day of the reference window.")
    reference_end: date | None = Field(None, description="Last day of the reference window.")
    pool: str | None = Field(None, max_length=80, description="With hashrate_ehs: the pool whose hashrate is stated.")
    hashrate_ehs: float | None = Field(None, gt=0, le=100_000, description="The pool's stated hashrate [EH/s].")
    alpha: float = Field(0.05, gt=0, lt=1, description="Family-wise error rate for the flags (Holm) [-].")

    @field_validator("reference_start", "reference_end")
    @classmethod
    def _ref_days(cls, v: date | None) -> date | None:
        return _day_in_range(v)

    @model_validator(mode="after")
    def _reference(self) -> LuckRequest:
        if (self.reference_start is None) != (self.reference_end is None):
            raise ValueError("give both reference_start and reference_end, or neither")
        if self.reference_start and self.reference_end and self.reference_start > self.reference_end:
            raise ValueError("reference_start is after reference_end")
        if (self.pool is None) != (self.hashrate_ehs is None):
            raise ValueError("give pool and hashrate_ehs together")
        return self


class ConcentrationRequest(WindowFields):
    """Top-1/top-3 share, HHI and Nakamoto coefficient of the window, with bootstrap intervals."""

    replicates: int = Field(2000, ge=100, le=20_000, description="Bootstrap replicates [-].")
    seed: int = Field(1, ge=0, le=MAX_SEED, description="Seed of the bootstrap's generator.")


class DominanceRequest(Request):
    """Shares per pool over time (the dashboard's stacked area)."""

    source: str | None = Field(None, pattern=SOURCE_RE, description="The source (default: the longest).")
    start: date | None = None
    end: date | None = None
    step_days: int = Field(7, ge=1, le=366, description="Days per bin [d].")
    top: int = Field(8, ge=1, le=30, description="Pools shown by name; the rest are 'other'.")
    level: Literal["pool", "cluster"] = "pool"

    @field_validator("start", "end")
    @classmethod
    def _days(cls, v: date | None) -> date | None:
        return _day_in_range(v)


# -- results ------------------------------------------------------------------------------------------
class Coverage(Result):
    """What one source holds in the window asked."""

    source: str
    kind: Literal["blocks", "days"]
    start_day: date
    end_day: date
    days_in_window: int
    days_covered: int | None  # daily source: days with counts; per-block: None
    start_height: int | None
    end_height: int | None
    heights_basis: str | None  # how the window's heights were found (per-block sources)
    blocks: int  # blocks the source attributes in the window (unknown included)
    unknown_blocks: int
    missing_heights: int | None  # heights in the window the source has no label for


class NetworkHashrate(Result):
    hashrate_ehs: float
    low_ehs: float
    high_ehs: float
    method: str


class PoolShare(Result):
    pool: str
    blocks: int
    share: float  # [0-1]
    share_low: float
    share_high: float
    hashrate_ehs: float | None
    hashrate_low_ehs: float | None
    hashrate_high_ehs: float | None
    longest_run_blocks: int | None  # per-block sources
    longest_run_end_height: int | None
    longest_run_p: float | None  # P(a run this long or longer | the pool's share, the window's blocks)
    empty_blocks: int | None  # blocks with one transaction (where block stats exist)
    blocks_with_stats: int | None


class PoolShares(Result):
    """The answer of ``hashlens pools``: one source's shares in one window."""

    source: str
    level: str
    level_pct: float
    coverage: Coverage
    network: NetworkHashrate | None
    network_missing: str | None
    pools: list[PoolShare]
    method: str
    notes: list[str]


class SideBySideRow(Result):
    pool: str
    shares: dict[str, PoolShare | None]  # by source


class SourceComparison(Result):
    """Several sources' shares of one window, side by side (never merged)."""

    level: str
    level_pct: float
    sources: list[str]
    coverage: dict[str, Coverage]
    rows: list[SideBySideRow]
    method: str
    notes: list[str]


class PoolLuck(Result):
    pool: str
    found_blocks: int
    expected_blocks: float
    luck: float | None  # found / expected [-]
    p_low: float  # P(X <= found)
    p_high: float  # P(X >= found)
    p_two_sided: float
    p_adjusted: float  # Holm, across the pools tested (what `flagged` uses)
    q_value: float  # Benjamini–Hochberg false-discovery-rate q, across the pools tested
    flagged: bool  # p_adjusted < alpha
    expected_from: str


class LuckResult(Result):
    source: str
    level: str
    coverage: Coverage
    reference: Coverage | None
    alpha: float
    correction: str
    pools: list[PoolLuck]
    method: str
    notes: list[str]


class Interval(Result):
    value: float
    low: float
    high: float


class ConcentrationResult(Result):
    source: str
    level: str
    level_pct: float
    coverage: Coverage
    top1_share: Interval
    top3_share: Interval
    hhi: Interval
    nakamoto: Interval
    top_pools: list[str]
    longest_run: PoolShare | None
    replicates: int
    seed: int
    method: str


class WeeklyPools(Result):
    """Who mined the report's week: the source covering every day of it (the one with the most
    blocks there) with its shares and concentration, or ``covered`` false and one sentence
    saying what the store covers (:func:`hashlens.pools.days.weekly_pools`)."""

    covered: bool
    source: str | None = None
    start_day: date
    end_day: date
    shares: PoolShares | None = None
    concentration: ConcentrationResult | None = None
    sentence: str


class DominanceSeries(Result):
    source: str
    level: str
    step_days: int
    bin_start: list[date]
    blocks: list[int]
    pools: list[str]  # the named pools, then "other" and "unknown"
    shares: dict[str, list[float | None]]  # pool -> share per bin
    method: str


class ImportResult(Result):
    file: str
    kind: Literal["rules", "labels", "daily"]
    source: str | None
    rows: int
    first: str | None
    last: str | None
    sha256: str
    notes: list[str]
