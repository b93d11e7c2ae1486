"""Consensus arithmetic proven on real mainnet data from ../shared/data."""

from __future__ import annotations

import itertools
from fractions import Fraction

from hashlens.consensus import (
    MAX_TARGET,
    BlockHeader,
    bits_to_target,
    block_work,
    calculate_next_work_required,
    difficulty_exact,
    difficulty_from_bits,
    permitted_difficulty_transition,
    target_to_bits,
    timespan_fits_bits,
    timespan_range_for_bits,
)
from tests.facts import SharedChain

TWO_HOURS = 2 * 60 * 60


def test_every_electrum_target_round_trips(shared_chain: SharedChain) -> None:
    periods = shared_chain.electrum
    assert len(periods) == 474 and periods[0].target == MAX_TARGET
    for p in periods:
        bits = target_to_bits(p.target)
        assert bits_to_target(bits) == p.target, f"period {p.period}"
        assert difficulty_exact(bits) == Fraction(MAX_TARGET, p.target)
        assert abs(difficulty_from_bits(bits) / float(difficulty_exact(bits)) - 1) < 1e-15
    # The record drop of July 2021 (height 689,472) from PROVENANCE.md.
    by_height = {p.start_height: p for p in periods}
    drop = (by_height[687456].target / by_height[689472].target - 1) * 100
    assert round(drop, 2) == -27.94
    print(f"\nchecked {len(periods)} Electrum period targets (compact round trip, difficulty)")


def test_every_bitcoinj_header(shared_chain: SharedChain) -> None:
    targets = {p.period: p.target for p in shared_chain.electrum}
    last_hash = {p.period: p.last_block_hash for p in shared_chain.electrum}
    work_per_period = {p: block_work(t) for p, t in targets.items()}
    for cp in shared_chain.checkpoints:
        period, offset = divmod(cp.height, 2016)
        assert offset == 0
        h = cp.header
        assert h.serialize() == cp.raw_header
        assert BlockHeader.parse(cp.raw_header) == h
        assert h.check_proof_of_work(), f"height {cp.height}"
        assert h.prev_hash_hex == last_hash[period - 1], f"height {cp.height}"
        assert h.bits == target_to_bits(targets[period]), f"height {cp.height}"
        # bitcoinj's chainwork includes the block itself: all earlier periods' blocks plus one.
        expected = sum(2016 * work_per_period[q] for q in range(period)) + work_per_period[period]
        assert cp.chainwork == expected, f"chainwork at {cp.height}"
    print(f"\nchecked {len(shared_chain.checkpoints)} bitcoinj headers (parse, hash, PoW, link, bits, chainwork)")


def test_every_adjustment_obeys_the_retarget_rule(shared_chain: SharedChain) -> None:
    periods = shared_chain.periods
    clamp_checked = window_checked = exact_checked = 0
    for prev, cur in itertools.pairwise(periods):
        assert permitted_difficulty_transition(cur.start_height, prev.bits, cur.bits), cur.start_height
        clamp_checked += 1
        if prev.start_time is not None and cur.start_time is not None:
            gap = cur.start_time - prev.start_time
            assert timespan_range_for_bits(prev.bits, cur.bits) is not None, cur.start_height
            assert timespan_fits_bits(prev.bits, cur.bits, gap, TWO_HOURS), (cur.start_height, gap)
            window_checked += 1
        if prev.start_time is not None and prev.last_time is not None:
            assert calculate_next_work_required(prev.bits, prev.start_time, prev.last_time) == cur.bits
            exact_checked += 1
    assert clamp_checked == 473 and window_checked >= 430 and exact_checked >= 30
    print(
        f"\nchecked {clamp_checked} adjustments within the 4x clamp, {window_checked} against the "
        f"observed start-time gap (+-2 h), {exact_checked} recomputed exactly from first/last block times"
    )


def test_stale_block_headers(data_dir, shared_chain: SharedChain) -> None:  # type: ignore[no-untyped-def]
    """Orphaned blocks: real headers that hash to their id and meet their own target."""
    targets = {p.period: p.target for p in shared_chain.electrum}
    rows = (data_dir / "chain/stale-blocks-head-2026.csv").read_text().splitlines()[1:]
    in_range = 0
    for row in rows:
        height, block_hash, header_hex = row.split(",")
        h = BlockHeader.from_hex(header_hex)
        assert h.hash_hex == block_hash and h.check_proof_of_work()
        period = int(height) // 2016
        if period in targets:
            assert h.bits == target_to_bits(targets[period])
            in_range += 1
    # 16, not the 15 PROVENANCE.md counts: Electrum also gives the target of the period from 953,568.
    assert len(rows) == 36 and in_range == 16
    print(f"\nchecked {len(rows)} stale headers ({in_range} against Electrum targets)")
