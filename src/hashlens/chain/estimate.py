"""Next-retarget estimates: mempool.space's method, and hashlens' own with an interval."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_TARGET_SPACING,
    calculate_next_work_required,
)
from hashlens.consensus.vectorised import retarget, split_bits
from hashlens.units import iso_utc

N = DIFFICULTY_ADJUSTMENT_INTERVAL


@dataclass(frozen=True)
class MempoolEstimate:
    progress_pct: float
    change_pct: float
    estimated_retarget_time_ms: int
    estimated_retarget_time: str
    remaining_blocks: int
    remaining_time_ms: int
    previous_change_pct: float
    previous_time: int
    next_retarget_height: int
    time_avg_ms: int
    adjusted_time_avg_ms: int
    expected_blocks: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def mempool_estimate(
    last_retarget_time: int,
    time_504_blocks_ago: int | None,
    now: int,
    height: int,
    previous_change_pct: float,
    tip_time: int | None = None,
) -> MempoolEstimate:
    """mempool.space's difficulty-adjustment estimate (``calcDifficultyAdjustment`` in its
    backend ``api/difficulty-adjustment.ts``), mainnet branch, same float operations.

    Parameters: time of the running period's first block [Unix s]; time of block h-503
    (None to skip the early-period window); now [Unix s]; tip height h; the previous
    adjustment [%]; the tip's time (used at the period's last block, when the change is
    locked in).

    In the first 503 blocks the rate comes from a 504-block window reaching into the
    previous period, whose part is rescaled by the previous change; afterwards from the
    running period alone: change = (600 / (span / (n + 1)) - 1) * 100, clamped to [-75, 300].
    """
    diff_s = max(0, now - last_retarget_time)
    n = height % N if height >= 0 else 0
    progress = n / N * 100 if height >= 0 else 100.0
    remaining = N - n
    next_height = height + remaining if height >= 0 else 0
    expected_blocks = diff_s / POW_TARGET_SPACING
    actual_span = ((tip_time if tip_time is not None else now) if n == 2015 else now) - last_retarget_time
    time_avg = diff_s / n if n else float(POW_TARGET_SPACING)
    adjusted_avg = time_avg
    if time_504_blocks_ago and n < 503:
        time_last_epoch = last_retarget_time - time_504_blocks_ago
        adjusted_last = time_last_epoch * (1 + previous_change_pct / 100)
        adjusted_span = diff_s + adjusted_last
        adjusted_avg = adjusted_span / 503
        change = (POW_TARGET_SPACING / (adjusted_span / 504) - 1) * 100
    else:
        change = (POW_TARGET_SPACING / (actual_span / (n + 1)) - 1) * 100
    change = min(300.0, max(-75.0, change))
    time_avg_ms = math.floor(time_avg * 1000)
    adjusted_ms = math.floor(adjusted_avg * 1000)
    remaining_ms = remaining * adjusted_ms
    eta_ms = remaining_ms + now * 1000
    return MempoolEstimate(
        progress_pct=progress,
        change_pct=change,
        estimated_retarget_time_ms=eta_ms,
        estimated_retarget_time=iso_utc(eta_ms / 1000),
        remaining_blocks=remaining,
        remaining_time_ms=remaining_ms,
        previous_change_pct=previous_change_pct,
        previous_time=last_retarget_time,
        next_retarget_height=next_height,
        time_avg_ms=time_avg_ms,
        adjusted_time_avg_ms=adjusted_ms,
        expected_blocks=expected_blocks,
    )


@dataclass(frozen=True)
class OwnEstimate:
    next_retarget_height: int
    blocks_in_period: int
    change_pct: float
    change_low_pct: float
    change_high_pct: float
    next_bits: str
    p_drop: float
    estimated_retarget_time: str
    window_blocks: int
    method: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def own_estimate(
    period_start_time: int,
    tip_height: int,
    tip_time: int,
    bits: int,
    recent_span_s: float,
    recent_blocks: int,
    draws: int = 20000,
    seed: int = 7,
    level: float = 0.90,
) -> OwnEstimate:
    """hashlens' estimate: the retarget Bitcoin will compute, with an interval.

    The time already spent (first block to tip, n intervals) is known. The 2015 - n
    intervals still to come are Gamma(2015 - n, 1/λ), where the block rate λ is itself
    uncertain: given ``recent_blocks`` intervals spanning ``recent_span_s`` at the current
    difficulty, λ ~ Gamma(recent_blocks, 1/recent_span_s) (a conjugate posterior under a flat
    prior). Each draw's timespan goes through the exact consensus rule (clamp, 256-bit
    arithmetic, compact rounding), and the quantiles of the resulting % change are reported.
    """
    n = tip_height % N
    elapsed = tip_time - period_start_time
    remaining_intervals = (N - 1) - n
    rng = np.random.default_rng(seed)
    lam = rng.gamma(recent_blocks, 1.0 / recent_span_s, size=draws)
    future = rng.gamma(remaining_intervals, 1.0, size=draws) / lam if remaining_intervals > 0 else np.zeros(draws)
    spans = np.rint(elapsed + future).astype(np.int64)
    # Retarget % depends only on the timespan; compute it exactly for the distinct spans, all
    # at once: their new bits by the many-path rule (bit-exact with the scalar one), then the
    # old target over the new. With targets m·256^(e-3) that ratio is m_old/m_new (one
    # rounding, as Python's exact integer division has) times a power of two (exact), so
    # each value equals old_target / new_target of the scalar rule to the last bit.
    uniq, inv = np.unique(spans, return_inverse=True)
    m_old, e_old = split_bits(bits)
    m_new, e_new = retarget(np.full(uniq.size, m_old), np.full(uniq.size, e_old), uniq)
    pct = np.ldexp(m_old / m_new.astype(np.float64), 8 * (e_old - e_new))
    changes = (pct[inv] - 1.0) * 100.0
    mid_span = int(np.median(spans))
    a = (1 - level) / 2
    eta = period_start_time + float(np.median(spans)) + (np.median(1.0 / lam))
    return OwnEstimate(
        next_retarget_height=tip_height + (N - n),
        blocks_in_period=n + 1,
        change_pct=float(np.median(changes)),
        change_low_pct=float(np.quantile(changes, a)),
        change_high_pct=float(np.quantile(changes, 1 - a)),
        next_bits=f"{calculate_next_work_required(bits, 0, mid_span):08x}",
        p_drop=float((changes < 0).mean()),
        estimated_retarget_time=iso_utc(eta),
        window_blocks=recent_blocks,
        method=(
            f"Poisson blocks at a Gamma-uncertain rate from the last {recent_blocks} intervals; "
            f"{draws} draws through the exact retarget rule; {level:.0%} interval"
        ),
    )
