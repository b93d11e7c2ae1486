"""mempool.space's method for the running period's retarget: a reference method shown beside the
estimate, never a second answer.

hashlens' estimate of the next adjustment (with its range) is the forecast's first row,
:func:`hashlens.sim.forecast.next_adjustment`; the faces label this one "mempool.space's method".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, POW_TARGET_SPACING
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
