"""A one-page summary from the store (``hashlens summary``, ``GET /v1/summary``)."""

from __future__ import annotations

from pydantic import Field

from hashlens.chain.adjustments import adjustment_history, load_periods
from hashlens.chain.clock import ChainClock
from hashlens.chain.halving import halving_outlook
from hashlens.chain.status import RunningPeriod, network_hashrate, per_block_tip, running_period
from hashlens.consensus import COIN, issued_supply_sat
from hashlens.contracts import Result
from hashlens.store import Store
from hashlens.units import iso_utc


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


class HashrateRangeEhs(Result):
    """A hashrate and its 95 % interval, all in EH/s (the holder's name says so)."""

    estimate: float
    low: float
    high: float


class NextHalving(Result):
    """The next halving as the summary shows it (see :class:`hashlens.chain.halving.HalvingOutlook`)."""

    height: int
    blocks_left: int
    subsidy_btc_after: float = Field(..., description="[BTC/block]")
    block_interval_s: float = Field(..., description="Mean block interval the date assumes [s].")
    interval_window: str
    estimated_time: str = Field(..., description="ISO-8601 UTC.")


class RecentAdjustment(Result):
    height: int
    time: str | None
    difficulty: float
    change_pct: float = Field(..., description="[%]")
    streak: int


class ChainSummary(Result):
    """The chain at a glance as of the per-block tip: row counts, the latest adjustment, the
    hashrate, the next retarget's two estimates, issued supply, the next halving."""

    counts: dict[str, int] = Field(..., description="Rows per store table.")
    periods: int
    latest_adjustment: SummaryAdjustment
    per_block_tip_height: int
    per_block_tip_time: str
    hashrate_1008_blocks_ehs: HashrateRangeEhs
    running_period: RunningPeriod
    issued_supply_btc_at_tip: float = Field(..., description="[BTC]")
    next_halving: NextHalving
    recent_adjustments: list[RecentAdjustment]


def chain_summary(store: Store) -> ChainSummary:
    """The store's chain at a glance (everything ``hashlens summary`` shows but the store's path,
    which the CLI adds: ``GET /v1/summary`` serves the same)."""
    clock = ChainClock.from_store(store)
    periods = load_periods(store, clock)
    tip_h, tip_t = per_block_tip(clock.block_h, clock.block_t)
    # One time frame: the adjustments up to the per-block tip (later ones are known only sparsely).
    history = adjustment_history(periods[: int(clock.period_at(tip_t)) + 1])
    h = halving_outlook(clock, tip_t)
    hr = network_hashrate(store, "1008", tip_h, clock)
    latest = history[-1]
    return ChainSummary(
        counts=store.counts(),
        periods=len(periods),
        latest_adjustment=SummaryAdjustment(**latest.model_dump(include=set(SummaryAdjustment.model_fields))),
        per_block_tip_height=tip_h,
        per_block_tip_time=iso_utc(tip_t),
        hashrate_1008_blocks_ehs=HashrateRangeEhs(estimate=hr.hashrate_ehs, low=hr.low_ehs, high=hr.high_ehs),
        running_period=running_period(store, clock=clock),
        issued_supply_btc_at_tip=issued_supply_sat(tip_h) / COIN,
        next_halving=NextHalving(
            height=h.next_halving_height,
            blocks_left=h.blocks_left,
            subsidy_btc_after=h.next_subsidy_btc,
            block_interval_s=h.block_interval_s,
            interval_window=h.interval_window,
            estimated_time=h.estimated_time,
        ),
        recent_adjustments=[
            RecentAdjustment(**a.model_dump(include=set(RecentAdjustment.model_fields))) for a in history[-8:]
        ],
    )
