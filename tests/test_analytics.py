"""Difficulty analytics on the real chain: ranks, streaks, records, hashrate, estimates."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hashlens.chain.adjustments import (
    Adjustment,
    adjustment_columns,
    adjustment_history,
    bits_difference_pct,
    change_pct,
    last_earlier_at_or_below,
    load_periods,
    ranks,
    streaks,
)
from hashlens.chain.estimate import mempool_estimate
from hashlens.chain.hashrate import gamma_quantile, hashrate_over_blocks, period_work_table
from hashlens.chain.status import block_times, network_hashrate
from hashlens.chain.sync import sync
from hashlens.errors import HashlensError
from hashlens.store import Store
from hashlens.units import iso_utc
from tests.conftest import copy_db
from tests.facts import SharedChain
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, chain_db: Path) -> Store:
    return Store(copy_db(chain_db, tmp_path_factory, "an"))


def test_rank_streak_records_small() -> None:
    ch = np.array([0.0, -5.0, -1.0, 3.0, -5.0, -7.0, 2.0, 2.0])
    drop, rise = ranks(ch)
    assert drop.tolist() == [0, 2, 4, 0, 2, 1, 0, 0]
    assert rise.tolist() == [0, 0, 0, 1, 0, 0, 2, 2]
    assert streaks(ch).tolist() == [0, -1, -2, 1, -1, -2, 1, 2]
    assert last_earlier_at_or_below(np.array([5, 3, 4, 3, 6, 1])).tolist() == [-1, -1, 1, 1, 3, -1]


def test_history_reads_the_periods_as_the_clock_dates_them(store: Store) -> None:
    """load_periods without a clock (the period table alone) gives the rows the whole clock
    gives, and every change of the history is change_pct of its two bits (the owner)."""
    from hashlens.chain.clock import ChainClock

    alone, via_clock = load_periods(store), load_periods(store, ChainClock.from_store(store))
    assert alone == via_clock
    hist = adjustment_history(alone)
    assert [a.change_pct for a in hist] == [change_pct(a.bits, b.bits) for a, b in itertools.pairwise(alone)]
    cols = adjustment_columns(alone)
    assert list(cols) == list(Adjustment.model_fields)
    for name, values in cols.items():
        assert values == [getattr(a, name) for a in hist], name
    assert [a.time for a in hist] == [None if p.start_time is None else iso_utc(p.start_time) for p in alone[1:]]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60))
def test_last_earlier_at_or_below_is_its_definition(xs: list[int]) -> None:
    """The lifted search gives, for every i, the largest j < i with x[j] <= x[i] (ties and runs included)."""
    want = [max((j for j in range(i) if xs[j] <= xs[i]), default=-1) for i in range(len(xs))]
    assert last_earlier_at_or_below(np.array(xs, dtype=float)).tolist() == want


def test_iso_times_at_once_are_iso_utc_one_by_one() -> None:
    from hashlens.units import iso_utc_many

    ts: list[float | None] = [0, 1231006505, None, 1_700_000_000, 4_102_444_799, 951782400.0, -86_401]
    assert iso_utc_many(ts) == [None if t is None else iso_utc(t) for t in ts]
    assert iso_utc_many([1.5, None]) == [iso_utc(1.5), None]
    assert iso_utc_many([]) == []


def test_the_clock_is_kept_per_store_version(tmp_path: Path, data_dir: Path) -> None:
    """ChainClock.from_store gives the clock it built while the store's data version stands,
    a new one after a committed write, and that one equals a clock read afresh (another
    handle on the store has its own)."""
    from hashlens.chain.clock import ChainClock

    with Store(tmp_path / "clock.duckdb") as s:
        sync(s, str(data_dir / "chain" / "electrum-mainnet-checkpoints.json"))
        sync(s, str(data_dir / "chain" / "bitcoinj-mainnet-checkpoints.txt"))
        first = ChainClock.from_store(s)
        assert ChainClock.from_store(s) is first
        sync(s, str(data_dir / "chain" / "blockstats-btc-rpc-data.csv.gz"))
        kept = ChainClock.from_store(s)
        assert kept is not first and kept.block_h.size > first.block_h.size and kept.fee_h.size > 0
        fresh = ChainClock.from_store(s.cursor())
        assert fresh is not kept
        for name in ("bits", "start_time", "start_source", "start_sd_s", "block_h", "block_t", "fee_h", "fee_sat"):
            np.testing.assert_array_equal(getattr(kept, name), getattr(fresh, name))
        assert kept.period_source == fresh.period_source


def test_history_on_the_real_chain(store: Store) -> None:
    hist = adjustment_history(load_periods(store))
    assert len(hist) == 479
    by_h = {a.height: a for a in hist}
    july21 = by_h[689472]
    assert round(july21.change_pct, 2) == -27.94
    assert july21.rank_among_drops == 1 and july21.rank_among_rises is None
    assert july21.largest_drop_since_height is None  # the largest drop on record
    assert july21.streak == -3  # the third drop in a row during the 2021 China ban
    assert july21.time == "2021-07-03T06:34:06Z"
    # Ranks cover drops and rises exactly once each, 1..n with ties sharing.
    drops = sorted(a.rank_among_drops for a in hist if a.rank_among_drops)
    assert drops[0] == 1 and drops[-1] <= len(drops)
    # Early periods all at difficulty 1: no change, streak 0, no rank.
    assert by_h[2016].change_pct == 0 and by_h[2016].streak == 0 and by_h[2016].rank_among_rises is None
    # lowest-since is an earlier period with difficulty at or below, and none in between.
    for a in hist[-60:]:
        if a.lowest_since_height is not None:
            lower = by_h.get(a.lowest_since_height)
            prev_diff = lower.difficulty if lower else 1.0
            assert prev_diff <= a.difficulty
            between = [b for b in hist if a.lowest_since_height < b.height < a.height]
            assert all(b.difficulty > a.difficulty for b in between)
    # The implied hashrate of the period before July 2021's drop, from real times.
    assert 100 < july21.implied_hashrate_ehs < 106


def test_mempool_bits_difference_matches_exact_change(shared_chain: SharedChain) -> None:
    periods = shared_chain.periods
    checked = 0
    for a, b in itertools.pairwise(periods):
        if (b.bits >> 24) - (a.bits >> 24) in (-1, 0, 1):
            assert bits_difference_pct(a.bits, b.bits) == pytest.approx(change_pct(a.bits, b.bits), abs=1e-9)
            checked += 1
    assert checked == 473
    with pytest.raises(HashlensError):
        bits_difference_pct(0x1D00FFFF, 0x1B0404CB)


def test_mempool_estimate_reproduces_its_own_test_vectors() -> None:
    # mempool.space backend __tests__/api/difficulty-adjustment.test.ts, mainnet vectors.
    v1 = mempool_estimate(1660820820, None, 1660917833, 750134, 0.6280047707459726)
    assert v1.progress_pct == 9.027777777777777
    assert v1.change_pct == 13.180707740199772
    assert v1.estimated_retarget_time_ms == 1661895424692
    assert (v1.remaining_blocks, v1.remaining_time_ms, v1.time_avg_ms) == (1834, 977591692, 533038)
    assert v1.next_retarget_height == 751968 and v1.expected_blocks == 161.68833333333333
    v3 = mempool_estimate(1681984653, None, 1683212049, 788255, 1.7220298879531821, tip_time=1683212066)
    assert v3.change_pct == -1.4512637555574193
    assert v3.estimated_retarget_time_ms == 1683212658129
    assert (v3.remaining_blocks, v3.time_avg_ms, v3.expected_blocks) == (1, 609129, 2045.66)


def test_mempool_early_window_by_hand() -> None:
    # 100 blocks into a period that began 60,000 s ago; block h-503 was 250,000 s before it.
    est = mempool_estimate(1_000_000, 750_000, 1_060_000, 2016 * 400 + 100, -4.0)
    adjusted_span = 60_000 + 250_000 * 0.96
    assert est.change_pct == (600 / (adjusted_span / 504) - 1) * 100
    assert est.adjusted_time_avg_ms == int(adjusted_span / 503 * 1000)
    assert est.time_avg_ms == 600_000


def test_hashrate_equals_chainwork_over_time(store: Store, shared_chain: SharedChain) -> None:
    """getnetworkhashps over the 2016 blocks 681,408 -> 683,424, checked against bitcoinj's
    own chainwork at both ends (an independent source of the work)."""
    heights, times = block_times(store)
    work = period_work_table({p.period: p.bits for p in load_periods(store)})
    sel = (heights >= 681408) & (heights <= 683424)
    est = hashrate_over_blocks(heights[sel], times[sel], work)
    cw = {cp.height: cp.chainwork for cp in shared_chain.checkpoints}
    span = int(times[sel].max() - times[sel].min())
    assert est.hashrate_ehs == pytest.approx((cw[683424] - cw[681408]) / span / 1e18, rel=1e-12)
    assert est.low_ehs < est.hashrate_ehs < est.high_ehs
    assert (est.high_ehs - est.low_ehs) / est.hashrate_ehs == pytest.approx(2 * 1.96 / np.sqrt(2016), rel=0.02)


def test_gamma_quantile_accuracy() -> None:
    # chi-square(df=20) 2.5% and 97.5% points are 9.591 and 34.170 (standard tables).
    assert 2 * gamma_quantile(10, 0.025) == pytest.approx(9.591, rel=2e-3)
    assert 2 * gamma_quantile(10, 0.975) == pytest.approx(34.170, rel=2e-3)


def test_hashrate_windows_and_errors(store: Store) -> None:
    by_blocks = network_hashrate(store, "1008")
    by_days = network_hashrate(store, "7d")
    assert 700 < by_blocks.hashrate_ehs < 1000 and 700 < by_days.hashrate_ehs < 1000
    with pytest.raises(HashlensError, match="block count"):
        network_hashrate(store, "-3")
    with pytest.raises(HashlensError, match="no stored block time"):
        network_hashrate(store, "1008", height=20000)


def test_the_next_adjustment_closes_in_on_the_outcome(store: Store) -> None:
    """With every block of a stored period but the last known, one interval of the retarget's
    timespan is left: the estimate of the next adjustment (the forecast's first row) is a
    fraction of a point wide and within half a point of the change the two periods' bits give.
    At the period's middle its 90 % range is narrower than from the period's start. The rate
    extrapolation the estimate replaced is exact at the last block (nothing left to draw)."""
    from hashlens.chain.clock import ChainClock
    from hashlens.sim.backtest import rate_extrapolation
    from hashlens.sim.forecast import next_adjustment

    clock = ChainClock.from_store(store)
    heights, times = block_times(store)
    t = dict(zip(heights.tolist(), times.tolist(), strict=True))
    periods = load_periods(store)
    checked = 0
    for p in periods[20:-1]:
        s, last = p.start_height, p.start_height + 2015
        if not all(h in t for h in range(s, last + 1)):  # every block of the period stored
            continue
        # the realised change from the two periods' bits, old target over new, exactly
        actual = change_pct(p.bits, periods[p.period + 1].bits)
        e = next_adjustment(clock, last, paths=2000)  # blocks below the last one
        assert e.basis == "per-block" and e.blocks_in_period == 2015 and e.height == s + 2016, (p.period, e)
        q = e.change_pct
        # one interval left: the range is a fraction of a point wide, and the outcome near it (the
        # last block's header time may sit an hour or two off, which the range does not model)
        assert q.p95 - q.p05 < 0.3 and abs(q.p50 - actual) < 0.5, (p.period, q, actual)
        r = rate_extrapolation(t[s], last, t[last], p.bits, float(t[last] - t[s]), 2015, draws=50)
        assert np.allclose(r, actual, atol=1e-9)
        mid, begin = next_adjustment(clock, s + 1008, paths=2000), next_adjustment(clock, s, paths=2000)
        assert mid.change_pct.p95 - mid.change_pct.p05 < begin.change_pct.p95 - begin.change_pct.p05
        checked += 1
    assert checked >= 25


cli = run_cli


@pytest.mark.slow
def test_cli_difficulty_commands(store: Store) -> None:
    db = Path(store.path)
    store.checkpoint()
    store.close()
    try:
        d = json.loads(cli(db, "difficulty", "--as-of", "2026-01-31", "--json").stdout)
        # One time frame, the day's end: the adjustment in force then (933,408, from the stats
        # file's times) is the running period's start, with its tip the day's last stored block.
        assert d["as_of"] == "2026-01-31" and d["tip_height_exact"]
        assert d["latest_adjustment"]["height"] == 933_408 == d["running_period"]["start_height"]
        assert d["running_period"]["tip_height"] == d["tip_height"] < 934_575
        rp = d["running_period"]
        # one estimate (the forecast's first row as of the tip) and mempool.space's method beside it
        assert {"mempool", "estimate"} <= set(rp) and "hashlens" not in rp
        assert rp["estimate"]["as_of_height"] == rp["tip_height"] + 1
        assert rp["estimate"]["height"] == rp["start_height"] + 2016
        h = json.loads(cli(db, "difficulty", "history", "--json").stdout)
        assert len(h) == 479
        for key in ("height", "time", "difficulty", "change_pct", "rank_among_drops", "rank_among_rises", "streak"):
            assert key in h[0]
        r = cli(
            db,
            "difficulty",
            "estimate",
            "--method",
            "mempool",
            "--last-retarget-time",
            "1660820820",
            "--time-504-blocks-ago",
            "1660600000",
            "--now",
            "1660917833",
            "--height",
            "750134",
            "--previous-change-pct",
            "0.63",
            "--json",
        )
        e = json.loads(r.stdout)
        for key in (
            "progress_pct",
            "change_pct",
            "remaining_blocks",
            "next_retarget_height",
            "expected_blocks",
            "estimated_retarget_time",
        ):
            assert key in e
        assert e["estimated_retarget_time"].endswith("Z")
        # hashlens' estimate by default: the forecast's first row (any horizon), as of the same point
        est = json.loads(cli(db, "difficulty", "estimate", "--paths", "3000", "--json").stdout)
        fc = json.loads(cli(db, "forecast", "--paths", "3000", "--json").stdout)
        assert est["as_of_height"] == fc["as_of_height"] and est["height"] == fc["adjustments"][0]["height"]
        assert est["change_pct"] == fc["adjustments"][0]["change_pct"] and est["method"] == fc["method"]
        bad = cli(db, "difficulty", "estimate", "--method", "mempool", "--now", "1660917833")
        assert (
            bad.returncode == 2 and "--last-retarget-time" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
        )
        hr = json.loads(cli(db, "hashrate", "--window", "2016", "--as-of", "2026-01-31", "--json").stdout)
        assert hr["low_ehs"] < hr["hashrate_ehs"] < hr["high_ehs"]
    finally:
        store.__init__(db)  # type: ignore[misc]


def test_block_reads_come_by_height_whatever_the_order_stored() -> None:
    """Rows written out of height order are read back by height (the store sorts them)."""
    with Store(":memory:") as s:
        heights = [5, 3, 9, 1, 7]
        with s.transaction():
            for h in heights:
                s._execute(
                    "INSERT INTO blocks (height, hash, time, source) VALUES (?, ?, ?, 'test')",
                    [h, bytes([h]) * 32, 1_300_000_000 + 600 * h],
                )
                s._execute("INSERT INTO block_stats (height, totalfee_sat) VALUES (?, ?)", [h, 1000 * h])
        h, t = s.block_times()
        assert h.tolist() == sorted(heights) and t.tolist() == [1_300_000_000 + 600 * x for x in sorted(heights)]
        fh, fee = s.block_fees()
        assert fh.tolist() == sorted(heights) and fee.tolist() == [1000 * x for x in sorted(heights)]


def test_block_reads_by_height_are_the_databases_order_by(store: Store) -> None:
    """On the real chain, stored in runs out of height order, the block times and fees come
    back as SQL's ORDER BY gives them, whether the sort packs height and value in one number
    or (a value too large to pack beside the height) gathers by argsort."""
    from hashlens.store.chain import _by_height

    for got, sql in (
        (store.block_times(), "SELECT height, time FROM blocks WHERE time IS NOT NULL ORDER BY height"),
        (store.block_fees(), "SELECT height, totalfee_sat FROM block_stats ORDER BY height"),
    ):
        rows = np.array(store._rows(sql), dtype=np.int64)
        np.testing.assert_array_equal(got[0], rows[:, 0])
        np.testing.assert_array_equal(got[1], rows[:, 1])
    raw = store._numpy("SELECT height, totalfee_sat FROM block_stats")
    h = np.asarray(raw["height"], dtype=np.int64)
    assert not (h[1:] > h[:-1]).all()  # stored out of order: the sort is exercised
    big = np.asarray(raw["totalfee_sat"], dtype=np.int64) + (1 << 62)  # cannot share an int64 with the height
    fh, fee = _by_height(h, big)
    rows = np.array(store._rows("SELECT height, totalfee_sat FROM block_stats ORDER BY height"), dtype=np.int64)
    np.testing.assert_array_equal(fh, rows[:, 0])
    np.testing.assert_array_equal(fee - (1 << 62), rows[:, 1])


def test_period_times_looked_up_in_the_block_times_are_the_joined_ones(store: Store) -> None:
    """The clock's period table, its start and last block times looked up in the block times
    it has read, holds what the SQL join gives: the same times, unstored in the same periods."""
    joined, looked_up = store.period_table(), store.period_table(block_times=store.block_times())
    for name in ("period", "start_height", "bits"):
        np.testing.assert_array_equal(getattr(looked_up, name), getattr(joined, name))
    assert looked_up.source == joined.source
    for name in ("start_time", "last_time"):
        a, b = getattr(looked_up, name), getattr(joined, name)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(a[~np.isnan(a)], b[~np.isnan(b)])
        assert 0 < np.isnan(b).sum() < b.size  # the real chain has both kinds
    with Store(":memory:") as empty:  # no timed block at all: every time unstored
        with empty.transaction():
            empty._execute(
                "INSERT INTO periods (period, start_height, bits, target_hex, source) VALUES (0, 0, ?, '', 'test')",
                [0x1D00FFFF],
            )
        tab = empty.period_table(block_times=empty.block_times())
        assert np.isnan(tab.start_time).all() and np.isnan(tab.last_time).all()


def test_periods_and_prices_stored_out_of_order_are_read_in_order(store: Store, data_dir: Path) -> None:
    """The real periods and a month of real USD prices, written newest first, come back in
    period and day order (the store orders them in numpy, not SQL): as SQL's ORDER BY gives them."""
    from hashlens.sources.prices import read_prices

    periods = store._rows("SELECT period, start_height, bits, target_hex, source FROM periods ORDER BY period")
    points = [p for p in read_prices(data_dir / "market/btc-daily-prices-multi-currency.csv", currency="USD")][:31]
    with Store(":memory:") as s:
        with s.transaction():
            for row in reversed(periods):
                s._execute(
                    "INSERT INTO periods (period, start_height, bits, target_hex, source) VALUES (?, ?, ?, ?, ?)",
                    list(row),
                )
            for pt in reversed(points):
                s._execute(
                    "INSERT INTO prices (day, currency, price, source) VALUES (?, 'USD', ?, 'test')", [pt.day, pt.price]
                )
        tab = s.period_table(block_times=s.block_times())
        assert tab.period.tolist() == [r[0] for r in periods] and tab.bits.tolist() == [r[2] for r in periods]
        assert tab.source == [r[4] for r in periods]
        days, prices = s.price_series("USD")
        assert days.tolist() == sorted(p.day for p in points)
        assert prices.tolist() == [p.price for p in sorted(points, key=lambda p: p.day)]
