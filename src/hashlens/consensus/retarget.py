"""Mainnet difficulty retargeting, as Bitcoin Core's ``src/pow.cpp`` does it.

Every 2016 blocks the target is scaled by the time the previous period took. Core
measures that time from the period's first block to its last, which spans only 2015
intervals (the off-by-one in the original client, kept because changing it would fork).
"""

from __future__ import annotations

from hashlens.consensus.compact import decode_compact, encode_compact
from hashlens.consensus.params import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_LIMIT,
    POW_TARGET_TIMESPAN,
)
from hashlens.errors import HashlensError

_MASK256 = (1 << 256) - 1
MIN_TIMESPAN = POW_TARGET_TIMESPAN // 4
MAX_TIMESPAN = POW_TARGET_TIMESPAN * 4


def clamp_timespan(timespan_s: int) -> int:
    """Limit the measured period length to [T/4, 4T] so one retarget moves at most 4x [s]."""
    return min(max(timespan_s, MIN_TIMESPAN), MAX_TIMESPAN)


def calculate_next_work_required(last_bits: int, first_block_time: int, last_block_time: int) -> int:
    """Compact bits of the next period (Core's ``CalculateNextWorkRequired``).

    .. math:: T_{new} = \\min\\left(\\left\\lfloor
              \\frac{T_{old} \\cdot \\mathrm{clamp}(t_{last} - t_{first})}{1209600}
              \\right\\rfloor, \\mathrm{powLimit}\\right)

    Parameters
    ----------
    last_bits : nBits of the period's last block (the whole period shares them).
    first_block_time : time of the period's first block, height 2016k [Unix s].
    last_block_time : time of its last block, height 2016k + 2015 [Unix s].

    Multiplying before dividing keeps the precision Core has; Core's 256-bit product
    cannot overflow on mainnet (targets < 2**224, factor < 2**23), the mask only mirrors it.
    """
    timespan = clamp_timespan(last_block_time - first_block_time)
    target, _, _ = decode_compact(last_bits)
    new = ((target * timespan) & _MASK256) // POW_TARGET_TIMESPAN
    new = min(new, POW_LIMIT)
    return encode_compact(new)


def next_bits(height: int, prev_bits: int, first_block_time: int | None, last_block_time: int | None) -> int:
    """Bits required at ``height`` (Core's ``GetNextWorkRequired`` for mainnet).

    Off retarget heights the bits carry over unchanged (mainnet has no min-difficulty
    rule). At a retarget the period's first and last block times are needed.
    """
    if height % DIFFICULTY_ADJUSTMENT_INTERVAL != 0:
        return prev_bits
    if first_block_time is None or last_block_time is None:
        raise HashlensError(
            f"height {height} is a retarget: the times of blocks {height - 2016} and {height - 1} are needed"
        )
    return calculate_next_work_required(prev_bits, first_block_time, last_block_time)


def permitted_difficulty_transition(height: int, old_bits: int, new_bits: int) -> bool:
    """Headers-sync sanity rule (Core's ``PermittedDifficultyTransition``).

    At a retarget the new target may be at most 4x easier or 4x harder than the old one,
    each bound rounded through compact encoding as a real retarget would be; elsewhere the
    bits must not change.
    """
    if height % DIFFICULTY_ADJUSTMENT_INTERVAL != 0:
        return old_bits == new_bits
    observed, _, _ = decode_compact(new_bits)
    old, _, _ = decode_compact(old_bits)
    largest = min((old * MAX_TIMESPAN) // POW_TARGET_TIMESPAN, POW_LIMIT)
    maximum = decode_compact(encode_compact(largest))[0]
    if observed > maximum:
        return False
    smallest = min((old * MIN_TIMESPAN) // POW_TARGET_TIMESPAN, POW_LIMIT)
    minimum = decode_compact(encode_compact(smallest))[0]
    return observed >= minimum


def timespan_range_for_bits(old_bits: int, new_bits: int) -> tuple[int, int] | None:
    """All clamped timespans [s] that turn ``old_bits`` into ``new_bits``, as (lo, hi).

    The retarget is monotone in the timespan, so the set is an interval; it is found by
    two binary searches over [T/4, 4T]. None if no timespan produces ``new_bits``.
    Used to check a sparse history where only period start times are known. A range
    starting at T/4 (ending at 4T) also covers every shorter (longer) raw timespan, since
    those clamp to the bound.
    """
    new_target = decode_compact(new_bits)[0]

    def produced(ts: int) -> int:
        return decode_compact(calculate_next_work_required(old_bits, 0, ts))[0]

    lo, hi = MIN_TIMESPAN, MAX_TIMESPAN
    while lo < hi:  # first timespan whose target reaches new_target
        mid = (lo + hi) // 2
        if produced(mid) >= new_target:
            hi = mid
        else:
            lo = mid + 1
    if produced(lo) != new_target:
        return None
    first = lo
    lo, hi = first, MAX_TIMESPAN
    while lo < hi:  # last timespan still giving new_target
        mid = (lo + hi + 1) // 2
        if produced(mid) <= new_target:
            lo = mid
        else:
            hi = mid - 1
    return first, lo


def timespan_fits_bits(old_bits: int, new_bits: int, timespan_s: int, tolerance_s: int) -> bool:
    """True if some raw timespan within ``tolerance_s`` of ``timespan_s`` retargets
    ``old_bits`` to exactly ``new_bits`` (the clamp applied as consensus applies it)."""
    span = timespan_range_for_bits(old_bits, new_bits)
    if span is None:
        return False
    lo, hi = span
    lo_raw = -(10**18) if lo == MIN_TIMESPAN else lo
    hi_raw = 10**18 if hi == MAX_TIMESPAN else hi
    return lo_raw <= timespan_s + tolerance_s and hi_raw >= timespan_s - tolerance_s
