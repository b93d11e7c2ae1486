"""Retarget rule against Bitcoin Core's pow tests; subsidy and supply at known heights."""

from __future__ import annotations

import pytest

from hashlens.consensus import (
    COIN,
    POW_TARGET_TIMESPAN,
    block_subsidy_sat,
    calculate_next_work_required,
    clamp_timespan,
    halving_schedule,
    issued_supply_sat,
    next_bits,
    next_halving,
    permitted_difficulty_transition,
    timespan_range_for_bits,
)
from hashlens.errors import HashlensError

# Core src/test/pow_tests.cpp: (first block time, last block time, last bits, expected bits).
CORE_POW_VECTORS = {
    "get_next_work": (1261130161, 1262152739, 0x1D00FFFF, 0x1D00D86A),  # blocks 30240 / 32255
    "pow_limit": (1231006505, 1233061996, 0x1D00FFFF, 0x1D00FFFF),  # blocks 0 / 2015
    "lower_limit_actual": (1279008237, 1279297671, 0x1C05A3F4, 0x1C0168FD),  # 66528 / 68543
    "upper_limit_actual": (1263163443, 1269211443, 0x1C387F6F, 0x1D00E1FD),  # 46367, synthetic
}


@pytest.mark.parametrize("name", sorted(CORE_POW_VECTORS))
def test_core_pow_vectors(name: str) -> None:
    first, last, bits, expected = CORE_POW_VECTORS[name]
    assert calculate_next_work_required(bits, first, last) == expected
    assert permitted_difficulty_transition(2016 * 100, bits, expected)


def test_clamp_and_transition_bounds() -> None:
    assert clamp_timespan(0) == POW_TARGET_TIMESPAN // 4
    assert clamp_timespan(10**9) == POW_TARGET_TIMESPAN * 4
    old = 0x1C387F6F
    quarter = calculate_next_work_required(old, 0, 1)
    four = calculate_next_work_required(old, 0, 10**9)
    assert permitted_difficulty_transition(4032, old, quarter)
    assert permitted_difficulty_transition(4032, old, four)
    # One step past either bound is refused, as is any change off a retarget height.
    assert not permitted_difficulty_transition(4032, old, quarter - 1)
    assert not permitted_difficulty_transition(4032, old, four + 1)
    assert not permitted_difficulty_transition(4033, old, quarter)
    assert permitted_difficulty_transition(4033, old, old)


def test_next_bits_and_timespan_range() -> None:
    assert next_bits(32255, 0x1D00FFFF, None, None) == 0x1D00FFFF
    assert next_bits(32256, 0x1D00FFFF, 1261130161, 1262152739) == 0x1D00D86A
    with pytest.raises(HashlensError, match="32256"):
        next_bits(32256, 0x1D00FFFF, None, None)
    lo, hi = timespan_range_for_bits(0x1D00FFFF, 0x1D00D86A) or (0, 0)
    assert lo <= 1262152739 - 1261130161 <= hi
    assert calculate_next_work_required(0x1D00FFFF, 0, lo) == 0x1D00D86A
    assert calculate_next_work_required(0x1D00FFFF, 0, lo - 1) != 0x1D00D86A
    assert calculate_next_work_required(0x1D00FFFF, 0, hi + 1) != 0x1D00D86A
    assert timespan_range_for_bits(0x1D00FFFF, 0x1B0404CB) is None  # a 16,000x jump


SUBSIDY = {
    0: 50 * COIN,
    209_999: 50 * COIN,
    210_000: 25 * COIN,
    840_000: 3.125 * COIN,
    1_050_000: 1.5625 * COIN,
    6_930_000: 0,
    13_440_000: 0,
    2**40: 0,
}
SUPPLY = {
    0: 50 * COIN,
    209_999: 10_500_000 * COIN,
    210_000: 10_500_025 * COIN,
    840_000: 19_687_503.125 * COIN,
    1_050_000: 20_343_751.5625 * COIN,
    6_930_000: 2_099_999_997_690_000,  # the final supply: 20,999,999.9769 BTC
}


@pytest.mark.parametrize("height", sorted(SUBSIDY))
def test_subsidy_at_known_heights(height: int) -> None:
    assert block_subsidy_sat(height) == SUBSIDY[height]


@pytest.mark.parametrize("height", sorted(SUPPLY))
def test_supply_at_known_heights(height: int) -> None:
    assert issued_supply_sat(height) == SUPPLY[height]
    # The closed form agrees with summing era by era.
    assert issued_supply_sat(height) == issued_supply_sat(height - 1) + block_subsidy_sat(height)


def test_halving_schedule_and_estimate() -> None:
    sched = halving_schedule()
    assert sched[4].height == 840_000 and sched[4].subsidy_sat == 312_500_000
    assert sched[32].subsidy_sat == 1 and sched[33].subsidy_sat == 0
    h = next_halving(934_575, 1769935217, 600.0)
    assert (h.height, h.blocks_left) == (1_050_000, 115_425)
    assert h.estimated_time == 1769935217 + 115_425 * 600
    assert (h.current_subsidy_sat, h.next_subsidy_sat) == (312_500_000, 156_250_000)
    with pytest.raises(HashlensError):
        block_subsidy_sat(-1)
