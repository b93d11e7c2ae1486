"""Assemble the difficulty picture from the store: latest adjustment, the running period's inputs
(tip, blocks in, mempool.space's method as a reference), and hashrate windows. Each answer is a
typed result (:class:`RunningPeriod`,
:class:`~hashlens.chain.hashrate.HashrateEstimate`) of a request in :mod:`hashlens.chain.models`.

The estimate of the next adjustment is not made here: it is the forecast's first row
(:func:`hashlens.sim.forecast.next_adjustment`); the picture as of a day, with that estimate
beside these inputs, is composed by :func:`hashlens.weekly.asof.difficulty_on`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from hashlens.chain.adjustments import Adjustment, adjustment_history, change_pct, load_periods
from hashlens.chain.clock import ChainClock
from hashlens.chain.estimate import MempoolEstimate, mempool_estimate
from hashlens.chain.hashrate import (
    HashrateEstimate,
    hashrate_over_blocks,
    hashrate_over_days,
    hashrate_series,
    period_work_table,
)
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.contracts import Result
from hashlens.errors import HashlensError
from hashlens.store import Store
from hashlens.units import SECONDS_PER_DAY, iso_utc

if TYPE_CHECKING:
    from hashlens.chain.models import EstimateInputs

N = DIFFICULTY_ADJUSTMENT_INTERVAL


class NextAdjustment(Result):
    """The adjustment that ended a period, where the store already knows it."""

    height: int
    bits: str
    change_pct: float = Field(..., description="[%]")
    source: str


class RunningPeriod(Result):
    """The running period at a tip: its inputs, mempool.space's method as a reference and, added by the
    faces, the one estimate of the next adjustment; times ISO-8601 UTC."""

    tip_height: int = Field(..., description="The latest block whose 2016 predecessors' times are stored.")
    tip_time: str
    now: str = Field(..., description="The time the estimates are taken at (default the tip's).")
    period_start_height: int
    period_start_time: str
    blocks_in_period: int
    mempool: MempoolEstimate = Field(..., description="mempool.space's method, a reference method.")
    actual_next_adjustment: NextAdjustment | None = Field(
        ..., description="The real outcome, where the store knows it (never as of a past time)."
    )
    note: str


def block_times(store: Store, clock: ChainClock | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(heights, times) of every block with a stored time; from ``clock`` when given (it holds
    the same arrays, read once)."""
    heights, times = (clock.block_h, clock.block_t) if clock is not None else store.block_times()
    if heights.size == 0:
        raise HashlensError("the store has no block times: run `hashlens sync ../shared/data/chain`")
    return heights, times


def per_block_tip(heights: np.ndarray, times: np.ndarray) -> tuple[int, int]:
    """The highest block whose 2016 predecessors' times are all known (a usable tip)."""
    h = heights
    contiguous = np.flatnonzero((h[N:] - h[:-N]) == N)
    if contiguous.size == 0:
        raise HashlensError("no run of 2017 consecutive blocks with known times in the store")
    i = int(contiguous[-1]) + N
    return int(h[i]), int(times[i])


def running_period(
    store: Store, now: int | None = None, upto_time: int | None = None, clock: ChainClock | None = None
) -> RunningPeriod:
    """The running period at the latest usable tip (or the latest at or before ``upto_time``):
    its inputs, mempool.space's method (a reference method, labelled so by every face), and the
    real outcome if the store already knows it. ``clock``: the store's clock if the caller has
    built it already (else it is read)."""
    clock = clock or ChainClock.from_store(store)
    periods = load_periods(store, clock)
    heights, times = block_times(store, clock)
    if upto_time is not None:
        # The chain at a time: blocks up to the last whose time, or an earlier block's, is not
        # later (block times are not monotone).
        keep = np.maximum.accumulate(times) <= upto_time
        heights, times = heights[keep], times[keep]
    tip_h, tip_t = per_block_tip(heights, times)
    t_at = dict(zip(heights.tolist(), times.tolist(), strict=True))
    p = tip_h // N
    start = p * N
    if start not in t_at:
        raise HashlensError(f"the time of block {start} (the running period's start) is not stored")
    # The adjustment that began this period (its row of the adjustment history, from its owner).
    prev_change = change_pct(periods[p - 1].bits, periods[p].bits) if p > 0 else 0.0
    now_s = tip_t if now is None else now
    n = tip_h - start
    t503 = t_at.get(tip_h - 503)
    mp = mempool_estimate(t_at[start], t503, now_s, tip_h, prev_change, tip_t)
    bits = periods[p].bits
    actual = None
    if p + 1 < len(periods) and upto_time is None:  # as of a past time, the outcome is the future
        nxt = periods[p + 1]
        actual = NextAdjustment(
            height=nxt.start_height, bits=f"{nxt.bits:08x}", change_pct=change_pct(bits, nxt.bits), source=nxt.source
        )
    return RunningPeriod(
        tip_height=tip_h,
        tip_time=iso_utc(tip_t),
        now=iso_utc(now_s),
        period_start_height=start,
        period_start_time=iso_utc(t_at[start]),
        blocks_in_period=n + 1,
        mempool=mp,
        actual_next_adjustment=actual,
        note=(
            "tip = latest block whose previous 2016 block times are stored; now defaults to the tip time; "
            "mempool = mempool.space's method, a reference beside the estimate (hashlens.sim.forecast)"
        ),
    )


def difficulty_history(store: Store, limit: int | None = None) -> list[Adjustment]:
    """Every adjustment (:func:`hashlens.chain.adjustments.adjustment_history`), oldest first;
    the last ``limit`` only if given (:class:`hashlens.chain.models.DifficultyHistoryRequest`)."""
    rows = adjustment_history(load_periods(store))
    return rows[-limit:] if limit else rows


def estimate_from_inputs(inputs: EstimateInputs) -> MempoolEstimate:
    """mempool.space's next-retarget estimate from explicit inputs
    (:func:`hashlens.chain.estimate.mempool_estimate` with the request's fields)."""
    return mempool_estimate(
        inputs.last_retarget_time_s,
        inputs.time_504_blocks_ago_s,
        inputs.now_s,
        inputs.height,
        inputs.previous_change_pct,
        inputs.tip_time_s,
    )


def network_hashrate(
    store: Store, window: str = "1008", height: int | None = None, clock: ChainClock | None = None
) -> HashrateEstimate:
    """Network hashrate over ``window`` (blocks, e.g. ``"1008"``, or days, e.g. ``"7d"``) ending
    at ``height`` (default: the per-block tip): the fields of
    :class:`hashlens.chain.models.HashrateRequest`, whose bounds a request is held to."""
    from hashlens.chain.models import window_of

    try:
        kind, amount = window_of(window)
    except ValueError as exc:
        raise HashlensError(str(exc)) from None
    heights, times = block_times(store, clock)
    work = period_work_table({p.period: p.bits for p in load_periods(store, clock)})
    end_h = height if height is not None else per_block_tip(heights, times)[0]
    idx = int(np.searchsorted(heights, end_h))
    if idx >= len(heights) or heights[idx] != end_h:
        raise HashlensError(f"height {end_h} has no stored block time")
    if kind == "blocks":
        n = int(amount)
        lo = idx - n
        if lo < 0 or heights[idx] - heights[lo] != n:
            raise HashlensError(f"blocks {end_h - n}..{end_h} do not all have stored times")
        return hashrate_over_blocks(heights[lo : idx + 1], times[lo : idx + 1], work)
    # The day window must lie inside one run of stored blocks: every block found in it must be
    # stored, or the count (hence the hashrate) comes out too low.
    start_t = int(times[idx]) - amount * SECONDS_PER_DAY
    run_start = idx
    while run_start > 0 and heights[run_start - 1] == heights[run_start] - 1:
        run_start -= 1
    if times[run_start] > start_t:
        raise HashlensError(
            f"window {window} at height {end_h}: stored block times begin at height {int(heights[run_start]):,} "
            f"({int((times[idx] - times[run_start]) / SECONDS_PER_DAY * 10) / 10:g} days before it), so the window is not covered; "
            "use a shorter window or a block count"
        )
    return hashrate_over_days(heights[run_start : idx + 1], times[run_start : idx + 1], work, int(times[idx]), amount)


def network_hashrate_series(store: Store, window_blocks: int = 1008, step_blocks: int = 144) -> list[HashrateEstimate]:
    """:func:`hashlens.chain.hashrate.hashrate_series` over the stored blocks (the fields of
    :class:`hashlens.chain.models.HashrateSeriesRequest`)."""
    heights, times = block_times(store)
    work = period_work_table({p.period: p.bits for p in load_periods(store)})
    return hashrate_series(heights, times, work, window_blocks, step_blocks)
