"""Assemble the difficulty picture from the store: latest adjustment, running period,
both next-retarget estimates, and hashrate windows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from hashlens.chain.adjustments import adjustment_history, change_pct, load_periods
from hashlens.chain.clock import ChainClock
from hashlens.chain.estimate import mempool_estimate, own_estimate
from hashlens.chain.hashrate import (
    HashrateEstimate,
    hashrate_over_blocks,
    hashrate_over_days,
    hashrate_series,
    period_work_table,
)
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.consensus.compact import decode_compact
from hashlens.errors import HashlensError
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
) -> dict[str, Any]:
    """The running period at the latest usable tip (or the latest at or before ``upto_time``)
    with both next-retarget estimates, and the real outcome if the store already knows it.
    ``clock``: the store's clock if the caller has built it already (else it is read)."""
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
    # Window for our own rate: the running period, or the last 504 intervals when the period
    # is young, with the previous period's time rescaled to the current difficulty.
    if n >= 503:
        span, blocks = float(tip_t - t_at[start]), n
    else:
        old_t, new_t = decode_compact(periods[p - 1].bits)[0], decode_compact(bits)[0]
        span = (t_at[start] - t_at[tip_h - 504 + 1 - 1]) * (old_t / new_t) + (tip_t - t_at[start])
        blocks = 504 - 1 if n == 0 else 504
        span = max(span, 1.0)
    own = own_estimate(t_at[start], tip_h, tip_t, bits, span, max(blocks, 1))
    actual = None
    if p + 1 < len(periods) and upto_time is None:  # as of a past time, the outcome is the future
        nxt = periods[p + 1]
        actual = {
            "height": nxt.start_height,
            "bits": f"{nxt.bits:08x}",
            "change_pct": change_pct(bits, nxt.bits),
            "source": nxt.source,
        }
    return {
        "tip_height": tip_h,
        "tip_time": _iso(tip_t),
        "now": _iso(now_s),
        "period_start_height": start,
        "period_start_time": _iso(t_at[start]),
        "blocks_in_period": n + 1,
        "mempool": mp.as_dict(),
        "hashlens": own.as_dict(),
        "actual_next_adjustment": actual,
        "note": "tip = latest block whose previous 2016 block times are stored; now defaults to the tip time",
    }


def difficulty_status(store: Store, now: int | None = None) -> dict[str, Any]:
    """The latest adjustment and the running period, both as of the per-block tip (one time
    frame); periods the store knows beyond it (from sparse sources) are listed apart."""
    clock = ChainClock.from_store(store)
    periods = load_periods(store, clock)
    heights, times = block_times(store, clock)
    _, tip_t = per_block_tip(heights, times)
    p = (
        int(np.searchsorted([r.start_time if r.start_time is not None else np.inf for r in periods], tip_t, "right"))
        - 1
    )
    history = adjustment_history(periods[: p + 1])
    later = adjustment_history(periods)[len(history) :]
    return {
        "as_of": _iso(tip_t),
        "latest_adjustment": history[-1].as_dict(),
        "adjustments_total": len(history),
        "drops_total": sum(a.change_pct < 0 for a in history),
        "rises_total": sum(a.change_pct > 0 for a in history),
        "running_period": running_period(store, now, clock=clock),
        "later_adjustments_known": [
            {k: a.as_dict()[k] for k in ("height", "time", "time_source", "change_pct", "source")} for a in later
        ],
    }


def parse_window(window: str) -> tuple[str, float]:
    w = window.strip().lower()
    try:
        if w.endswith("d"):
            days = float(w[:-1])
            if days <= 0:
                raise ValueError
            return "days", days
        blocks = int(w.removesuffix("b"))
        if blocks < 2:
            raise ValueError
        return "blocks", float(blocks)
    except (ValueError, OverflowError):
        raise HashlensError(f"--window {window!r}: give a block count (e.g. 1008) or days (e.g. 7d)") from None


def network_hashrate(
    store: Store, window: str = "1008", height: int | None = None, clock: ChainClock | None = None
) -> HashrateEstimate:
    kind, amount = parse_window(window)
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
    start_t = int(times[idx]) - amount * 86400
    run_start = idx
    while run_start > 0 and heights[run_start - 1] == heights[run_start] - 1:
        run_start -= 1
    if times[run_start] > start_t:
        raise HashlensError(
            f"--window {window} at height {end_h}: stored block times begin at height {int(heights[run_start]):,} "
            f"({int((times[idx] - times[run_start]) / 86400 * 10) / 10:g} days before it), so the window is not covered; "
            "use a shorter window or a block count"
        )
    return hashrate_over_days(heights[run_start : idx + 1], times[run_start : idx + 1], work, int(times[idx]), amount)


def network_hashrate_series(store: Store, window_blocks: int = 1008, step_blocks: int = 144) -> list[HashrateEstimate]:
    heights, times = block_times(store)
    work = period_work_table({p.period: p.bits for p in load_periods(store)})
    return hashrate_series(heights, times, work, window_blocks, step_blocks)
