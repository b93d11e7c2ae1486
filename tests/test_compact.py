"""Compact encoding edge cases, pinned to Bitcoin Core's arith_uint256 unit-test vectors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hashlens.consensus import (
    MAX_TARGET,
    POW_LIMIT,
    bits_to_target,
    block_proof,
    block_work,
    chain_work,
    decode_compact,
    difficulty_exact,
    difficulty_from_bits,
    encode_compact,
    target_to_bits,
)
from hashlens.errors import HashlensError

# (compact, value, negative, overflow, re-encoded compact) as in Core's
# src/test/arith_uint256_tests.cpp "bignum_SetCompact".
CORE_VECTORS = [
    (0x00000000, 0, False, False, 0),
    (0x00123456, 0, False, False, 0),
    (0x01003456, 0, False, False, 0),
    (0x02000056, 0, False, False, 0),
    (0x03000000, 0, False, False, 0),
    (0x04000000, 0, False, False, 0),
    (0x00923456, 0, False, False, 0),
    (0x01803456, 0, False, False, 0),
    (0x02800056, 0, False, False, 0),
    (0x03800000, 0, False, False, 0),
    (0x04800000, 0, False, False, 0),
    (0x01123456, 0x12, False, False, 0x01120000),
    (0x01FEDCBA, 0x7E, True, False, 0x01FE0000),
    (0x02123456, 0x1234, False, False, 0x02123400),
    (0x03123456, 0x123456, False, False, 0x03123456),
    (0x04123456, 0x12345600, False, False, 0x04123456),
    (0x04923456, 0x12345600, True, False, 0x04923456),
    (0x05009234, 0x92340000, False, False, 0x05009234),
    (0x20123456, 0x123456 << (8 * 29), False, False, 0x20123456),
]


@pytest.mark.parametrize(("compact", "value", "neg", "ovf", "again"), CORE_VECTORS)
def test_core_setcompact_vectors(compact: int, value: int, neg: bool, ovf: bool, again: int) -> None:
    assert decode_compact(compact) == (value, neg, ovf)
    assert encode_compact(value, neg) == again


def test_overflow_and_sign_rules() -> None:
    assert decode_compact(0xFF123456)[2] is True
    assert decode_compact(0x23000001)[2] is True  # size 35: past 256 bits whatever the word
    assert decode_compact(0x22000001)[2] is False  # size 34 fits a one-byte word
    assert decode_compact(0x22000100)[2] is True  # word > 0xff with size 34
    assert decode_compact(0x21010000)[2] is True  # word > 0xffff with size 33
    assert decode_compact(0x21000100)[2] is False
    # 0x80 needs a leading zero byte, or it would read as a sign.
    assert encode_compact(0x80) == 0x02008000
    assert encode_compact(0x800000) == 0x04008000


def test_bits_to_target_rejects_what_core_rejects() -> None:
    for bad in (0x04923456, 0xFF123456, 0x01003456, 0x1E00FFFF, 0x1D010000):
        with pytest.raises(HashlensError):
            bits_to_target(bad)
    with pytest.raises(HashlensError):
        decode_compact(1 << 32)


def test_difficulty_matches_core_double_and_rational() -> None:
    assert difficulty_from_bits(0x1D00FFFF) == 1.0
    # Block 32256 (the first real retarget): Core's RPC prints 16 significant digits.
    assert f"{difficulty_from_bits(0x1D00D86A):.16g}" == "1.182899534312841"
    exact = difficulty_exact(0x1D00D86A)
    assert exact == Fraction(0xFFFF, 0xD86A)
    assert float(exact) == pytest.approx(difficulty_from_bits(0x1D00D86A), rel=1e-15)
    assert MAX_TARGET == 0xFFFF << 208


def test_block_work_is_floor_of_two_pow_256_over_target_plus_one() -> None:
    assert block_work(MAX_TARGET) == 4295032833  # 0x100010001, Core's work for difficulty 1
    assert block_work(0) == 0
    t = bits_to_target(0x17023AD4)
    assert block_work(t) == (1 << 256) // (t + 1)
    # Core's form: ~t / (t + 1) + 1 in 256-bit arithmetic.
    assert block_work(t) == (((1 << 256) - 1 - t) // (t + 1)) + 1


@given(st.integers(min_value=1, max_value=(1 << 256) - 1))
def test_core_block_proof_equals_floor_two_pow_256_over_target_plus_one(target: int) -> None:
    assert block_work(target) == (1 << 256) // (target + 1)


def test_work_comes_from_targets_not_compact_bits() -> None:
    """The review's numbers: bits 0x17020000 and 0x17040000 differ by a factor of two in
    target, so Core's work per block differs by two; the compact numbers themselves differ
    by 1.0003 (what fork choice used to compare)."""
    # By hand: 0x17020000 -> target 0x020000 * 256^(0x17 - 3) = 2^17 * 2^160 = 2^177, and
    # 2^256 / (2^177 + 1) = 2^79 / (1 + 2^-177) lies just below 2^79: its floor is 2^79 - 1.
    assert decode_compact(0x17020000)[0] == 1 << 177 and decode_compact(0x17040000)[0] == 1 << 178
    assert block_proof(0x17020000) == (1 << 79) - 1
    assert block_proof(0x17040000) == (1 << 78) - 1
    assert block_proof(0x17020000) / block_proof(0x17040000) == 2.0
    assert 1.0003 < 0x17040001 / 0x17020001 < 1.0004  # the old comparison: compact numbers as targets
    # A branch's work is the sum over its blocks; a period's blocks can be counted at once.
    assert chain_work([0x17020000] * 3 + [0x17040000] * 5) == 3 * ((1 << 79) - 1) + 5 * ((1 << 78) - 1)
    assert chain_work([0x17040000, 0x17020000], [5, 3]) == chain_work([0x17020000] * 3 + [0x17040000] * 5)
    assert chain_work([]) == 0
    # Regtest's blocks at its pow limit 0x207fffff each prove 2 (Core's chainwork of regtest's
    # genesis is 0x02): target 0x7fffff * 2^232 lies just below 2^255.
    assert block_proof(0x207FFFFF) == 2
    # Bits Core cannot decode to a positive target prove nothing (GetBlockProof returns 0).
    assert block_proof(0x1D80FFFF) == 0 and block_proof(0) == 0 and block_proof(0xFF123456) == 0
    # Difficulty 1 (the genesis bits): 0x100010001 hashes a block, Core's chainwork step.
    assert block_proof(0x1D00FFFF) == 0x100010001


@given(st.integers(min_value=1, max_value=POW_LIMIT))
def test_encode_truncates_to_three_significant_bytes(target: int) -> None:
    bits = target_to_bits(target)
    back = bits_to_target(bits)
    size = bits >> 24
    assert back <= target
    assert target - back < (1 << max(0, 8 * (size - 3)))
    assert target_to_bits(back) == bits  # a decoded target re-encodes to the same bits


@given(st.integers(min_value=0x03008000, max_value=0x1D00FFFF))
def test_normalised_compacts_round_trip(bits: int) -> None:
    value, negative, overflow = decode_compact(bits)
    mantissa = bits & 0xFFFFFF
    normalised = 0x8000 <= mantissa <= 0x7FFFFF
    if normalised and not negative and not overflow:
        assert encode_compact(value) == bits


@given(st.integers(min_value=1, max_value=POW_LIMIT), st.integers(min_value=1, max_value=POW_LIMIT))
def test_encoding_is_monotone(a: int, b: int) -> None:
    lo, hi = min(a, b), max(a, b)
    assert bits_to_target(target_to_bits(lo)) <= bits_to_target(target_to_bits(hi))
