"""The weekly figures checked as numbers: against hand computations from the shared files, and
across the faces (library, CLI, report) for the same day. Also the chain's clock against the
real period boundary times, and one owner per raw chain constant."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from hashlens.chain.clock import IMPLIED, STORED, ChainClock, retarget_timespan_s
from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync, sync_shared_data
from hashlens.consensus import MAX_TARGET, bits_to_target
from hashlens.miners.storeio import ensure_sample
from hashlens.sources.prices import read_prices
from hashlens.store import Store
from hashlens.weekly import WeeklyFigures
from tests.conftest import copy_db
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
PATHS = 2000


def _fill(path: Path, data_dir: Path, extra: bool) -> Path:
    with Store(path) as s:
        if extra:
            sync_shared_data(s, data_dir)
        else:
            sync(s, str(data_dir / "chain"))
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    return path


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, shared_db: Path) -> Path:
    """The shared chain and chain-extra folders, USD prices and the miners sample."""
    return copy_db(shared_db, tmp_path_factory, "weekly")


@pytest.fixture(scope="module")
def chain_only(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Without chain-extra: the periods after the block-stats window are dated by the retarget."""
    return _fill(tmp_path_factory.mktemp("weekly") / "c.duckdb", data_dir, extra=False)


@pytest.fixture(scope="module")
def boundaries(data_dir: Path) -> dict[int, dict[str, str]]:
    with open(data_dir / "chain-extra/period-boundary-times-2025-2026.csv") as fh:
        return {int(r["period_start"]): r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def electrum(data_dir: Path) -> list[list]:  # type: ignore[type-arg]
    return json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())


def target_of(electrum: list[list], period: int) -> int:  # type: ignore[type-arg]
    """Electrum entry i holds the target of period i + 1 (PROVENANCE.md)."""
    return int(electrum[period - 1][1])


def figures(db: Path, day: date) -> dict:  # type: ignore[type-arg]
    with Store(db) as s:
        return WeeklyFigures.compute(s, day, paths=PATHS, today=date(2026, 11, 24)).to_json()


def price_on(data_dir: Path, day: str) -> float:
    with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
        return next(float(r["BTC_USD"]) for r in csv.DictReader(fh) if r["Date"] == day)


# -- the chain's clock -----------------------------------------------------------------------
def test_retarget_implied_timespans_equal_the_real_ones(boundaries: dict[int, dict[str, str]]) -> None:
    """Every period of 2025-26: the timespan its bits and the next bits imply, against the real
    last − first block time. The compact encoding keeps 3 bytes of the new target, so the
    range of timespans giving the same bits is at most ~1.2 M s / 2^15 ≈ 37 s wide."""
    checked = 0
    for r in boundaries.values():
        if not r["next_bits"] or not r["span_s"]:
            continue
        tau = retarget_timespan_s(int(r["bits"], 16), int(r["next_bits"], 16))
        assert tau is not None
        assert abs(tau - int(r["span_s"])) <= 20, r["period_start"]
        checked += 1
    assert checked == sum(1 for r in boundaries.values() if r["next_bits"] and r["span_s"]) >= 30


def test_clock_dates_periods_past_the_block_data(chain_only: Path, boundaries: dict[int, dict[str, str]]) -> None:
    """Without chain-extra, the periods after the last stored start (933,408) are dated by the
    retarget alone. The first is off by one block interval at most (the one interval the bits
    cannot give); the k-th by about 600 s·√k. Compared with the real start times."""
    with Store(chain_only) as s:
        clock = ChainClock.from_store(s)
    last_stored = max(p for p in range(clock.periods) if clock.start_source[p] == STORED)
    assert last_stored * 2016 == 933_408
    errors = []
    for k, p in enumerate(range(last_stored + 1, 941_472 // 2016 + 1), start=1):
        real = int(boundaries[p * 2016]["start_time"])
        assert clock.start_source[p] == IMPLIED
        err = abs(float(clock.start_time[p]) - real)
        errors.append(err)
        assert err <= 3 * 600 * np.sqrt(k), (p * 2016, err)
    assert errors[0] <= 600  # 935,424: began 2026-02-07 13:56:45 UTC
    # Between stored starts the implied run is pinned at both ends: 2025's gap (878,976 .. 911,232).
    # Each is within three of the standard errors the clock states for it (600 s·√(j(k−j)/k)).
    inner = [
        (abs(float(clock.start_time[p]) - int(boundaries[p * 2016]["start_time"])), float(clock.start_sd_s[p]))
        for p in range(878_976 // 2016 + 1, 911_232 // 2016)
        if clock.start_source[p] == IMPLIED
    ]
    assert len(inner) >= 10 and all(err <= 3 * sd for err, sd in inner), inner
    print(
        f"\nimplied starts after the block data: errors {[round(e) for e in errors]} s; in 2025's gap max {max(e for e, _ in inner):.0f} s"
    )


# -- the week's figures, by hand --------------------------------------------------------------
def test_figures_2026_01_31_by_hand(
    db: Path,
    data_dir: Path,
    electrum: list[list],  # type: ignore[type-arg]
    boundaries: dict[int, dict[str, str]],
) -> None:
    f = figures(db, date(2026, 1, 31))
    # Difficulty: the period in force at 24:00 UTC is 933,408 (began 2026-01-22 19:31:22).
    a = f["difficulty"]["latest"]
    assert a["height"] == 933_408 and a["time"] == "2026-01-22T19:31:22Z" and a["time_source"] == "stored"
    t_old, t_new = target_of(electrum, 462), target_of(electrum, 463)
    assert a["difficulty"] == pytest.approx(float(Fraction(MAX_TARGET, t_new)), rel=1e-12)
    assert a["change_pct"] == pytest.approx(float(Fraction(t_old, t_new) - 1) * 100, rel=1e-9)
    # Hashprice at 24:00 UTC: the tip then, the mean fees of its 144 blocks, the price of 1 Feb.
    end = datetime(2026, 2, 1, tzinfo=UTC).timestamp()
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        rows = [r for r in csv.DictReader(fh) if 933_000 <= int(r["height"]) <= 934_575]
    tip = max(int(r["height"]) for r in rows if int(r["time"]) <= end)
    fees = [int(r["totalfee"]) for r in rows if tip - 143 <= int(r["height"]) <= tip]
    reward = Fraction(312_500_000 + Fraction(sum(fees), 144), 10**8)
    d = Fraction(MAX_TARGET, t_new)
    hp_btc = reward * 86400 * 10**15 / (d * 2**32)
    price = price_on(data_dir, "2026-02-01")
    hp = f["hashprice"]["today"]
    assert hp["height"] == tip and hp["btc_per_ph_day"] == pytest.approx(float(hp_btc), rel=1e-12)
    assert hp["usd_per_ph_day"] == pytest.approx(float(hp_btc) * price, rel=1e-12)
    # Cost per BTC at 21.5 J/TH and $0.05/kWh: p·ε·D·2^32 / (3.6e18 · reward).
    row = next(c for c in f["cost"]["rows"][0]["costs"] if c["efficiency_j_per_th"] == 21.5)
    by_hand = Fraction(5, 100) * Fraction(43, 2) * d * 2**32 / (Fraction(36, 10) * 10**18 * reward)
    assert row["electricity_usd_per_btc"] == pytest.approx(float(by_hand), rel=1e-12)
    # Hashrate: getnetworkhashps over the 1008 blocks to the tip (per-block data cover the day).
    assert f["hashrate"]["end_height"] == tip and f["hashrate"]["start_height"] == tip - 1008
    # Listed miners: updates come out in the first week of the next month, so as of 31 January
    # the latest is December 2025. CleanSpark's ratio by hand (reported / expected): its hashrate
    # over the month's seconds in each period (real period starts), at each period's difficulty,
    # times the mean reward of December's blocks (block stats).
    assert f["miners"]["month"] == "2025-12"
    clsk = next(r for r in f["miners"]["rows"] if r["ticker"] == "CLSK")
    assert clsk["reported_btc"] == 622 and clsk["hashrate_ehs"] == 47.2
    t0, t1 = datetime(2025, 12, 1, tzinfo=UTC).timestamp(), datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    starts = sorted((h // 2016, int(r["start_time"])) for h, r in boundaries.items())
    blocks = Fraction(0)
    for (p, start), (_, nxt) in itertools.pairwise(starts):
        seconds = min(t1, nxt) - max(t0, start)
        if seconds > 0:
            blocks += Fraction(47_200_000 * 10**12) * seconds / (Fraction(MAX_TARGET, target_of(electrum, p)) * 2**32)
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        month_rows = [r for r in csv.DictReader(fh) if t0 <= int(r["time"]) < t1]
    mean_reward = Fraction(sum(int(r["subsidy"]) + int(r["totalfee"]) for r in month_rows), len(month_rows) * 10**8)
    expected = blocks * mean_reward
    assert clsk["expected_btc"] == pytest.approx(float(expected), rel=1e-9)
    assert clsk["ratio"] == pytest.approx(622 / float(expected), rel=1e-9)
    # No treasury dated after the day.
    assert all(t["as_of"] <= "2026-01-31" for t in f["miners"]["treasuries"])


def test_figures_2026_02_10_in_the_storm_week(db: Path, data_dir: Path, electrum: list[list]) -> None:  # type: ignore[type-arg]
    """As of 2026-02-10, four days into the period that began with the storm's drop (935,424 at
    2026-02-07 13:56:45 UTC): chain-2026's block times give the running period per-block figures,
    the 1008-block hashrate ends at the day's last block, and hashprice is the subsidy alone (the
    block-times file has no fees) at that period's difficulty with the price at 24:00 UTC."""
    f = figures(db, date(2026, 2, 10))
    a = f["difficulty"]["latest"]
    assert a["height"] == 935_424 and a["time"] == "2026-02-07T13:56:45Z"
    t_old, t_new = target_of(electrum, 463), target_of(electrum, 464)
    assert a["change_pct"] == pytest.approx(float(Fraction(t_old, t_new) - 1) * 100, rel=1e-9)
    assert round(a["change_pct"], 2) == -11.16
    # The day's last block, read from the block-times file: the running period's tip.
    with open(data_dir / "chain-2026/block-times-934576-942199.csv") as fh:
        times = {int(r["height"]): int(r["time"]) for r in csv.DictReader(fh)}
    midnight = datetime(2026, 2, 11, tzinfo=UTC).timestamp()
    tip = max(h for h, t in times.items() if t < midnight)
    rp = f["running_period"]
    assert rp["start_height"] == 935_424 and rp["per_block"] and rp["tip_height"] == tip
    assert rp["blocks_in_period"] == tip - 935_424 + 1
    # the next adjustment: one estimate, conditioned on the period's blocks; mempool's method beside it
    assert rp["estimate"]["basis"] == "per-block" and rp["estimate"]["height"] == 937_440
    assert rp["estimate"]["as_of_height"] == tip + 1
    assert rp["mempool"]["next_retarget_height"] == 937_440
    # mempool's mean interval: from the period's first block to 'now' (24:00 UTC) over the blocks since
    assert rp["mempool"]["time_avg_ms"] == (int(midnight) - times[935_424]) * 1000 // (tip - 935_424)
    assert not any("Per-block data end" in n for n in f["notes"])
    o = f["outlook"]
    assert [r["height"] for r in o["adjustments"]] == [937_440, 939_456, 941_472]
    assert rp["estimate"]["change_pct"] == o["adjustments"][0]["change_pct"]
    hp = f["hashprice"]["today"]
    d = Fraction(MAX_TARGET, t_new)
    by_hand = Fraction(3125, 1000) * 86400 * 10**15 / (d * 2**32) * Fraction(price_on(data_dir, "2026-02-11"))
    assert hp["fees_btc"] == 0 and hp["usd_per_ph_day"] == pytest.approx(float(by_hand), rel=1e-12)
    # Hashrate: Core's getnetworkhashps over the 1008 blocks ending at the tip, whose work spans
    # the storm's retarget (blocks below 935,424 at the old target, the rest at the new one).
    first = tip - 1008
    work = (935_424 - first - 1) * ((1 << 256) // (t_old + 1)) + (tip - 935_424 + 1) * ((1 << 256) // (t_new + 1))
    h = f["hashrate"]
    assert (h["start_height"], h["end_height"]) == (first, tip)
    assert h["hashrate_ehs"] == pytest.approx(work / (times[tip] - times[first]) / 1e18, rel=1e-12)
    assert f["miners"]["month"] == "2026-01"
    assert all(t["as_of"] <= "2026-02-10" for t in f["miners"]["treasuries"])


def test_as_of_means_as_of(db: Path) -> None:
    """Reports of 2012 and 2025 count to the halving from their own tip, not the store's."""
    f = figures(db, date(2012, 1, 1))
    assert 159_264 <= f["halving"]["tip_height"] < 161_280 and f["halving"]["next_halving_height"] == 210_000
    assert f["difficulty"]["latest"]["height"] == 159_264
    g = figures(db, date(2025, 6, 1))
    assert 899_136 <= g["halving"]["tip_height"] < 901_152
    assert all(t["as_of"] <= "2025-06-01" for t in (g["miners"] or {"treasuries": []})["treasuries"])
    with Store(db) as s, pytest.raises(Exception, match="after the last period the store knows"):
        WeeklyFigures.compute(s, date(2026, 10, 1), paths=PATHS)


def test_lows_use_every_stored_day(db: Path, data_dir: Path) -> None:
    """The default as-of is the latest day with a dated period and a price (the price file ends
    2026-08-22, the price at 24:00 UTC of the 21st); the all-time low then is 30 June 2026, not
    the January figure. By hand: the period in force at 24:00 UTC is 955,584 (bits 0x17021a42,
    from the stale blocks forked inside it; it began 2026-06-27, its predecessor's span being
    what the bits imply), no per-block fees, the subsidy alone, priced at 1 July's first minute."""
    with Store(db) as s:
        f = WeeklyFigures.compute(s, paths=PATHS, today=date(2026, 11, 24)).to_json()
    assert f["as_of"] == "2026-08-21"
    atl = f["hashprice"]["all_time_low"]
    d = Fraction(MAX_TARGET, bits_to_target(0x17021A42))
    by_hand = Fraction(3125, 1000) * 86400 * 10**15 / (d * 2**32) * Fraction(price_on(data_dir, "2026-07-01"))
    assert atl["date"] == "2026-06-30" and atl["fees_included"] is False
    assert atl["usd_per_ph_day"] == pytest.approx(float(by_hand), rel=1e-12)
    assert any("days before today" in n for n in f["notes"])


@pytest.mark.slow
@pytest.mark.parametrize("day", [date(2026, 1, 31), date(2026, 2, 10)])
def test_faces_agree(db: Path, tmp_path: Path, day: date) -> None:
    """The CLI (`weekly`, `hashprice`, `halving`), the report and the library give one value per
    figure and day (the API and the dashboard are compared with the same figures in
    test_api.py and test_browser.py)."""
    lib = figures(db, day)
    r = run_cli(db, "weekly", "--as-of", str(day), "--paths", str(PATHS), "--json")
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    for key in ("difficulty", "hashrate", "hashprice", "cost", "machines", "miners", "halving", "outlook"):
        assert cli[key] == lib[key], key
    hp = json.loads(run_cli(db, "hashprice", "--date", str(day), "--json").stdout)
    assert hp["usd_per_ph_day"] == lib["hashprice"]["today"]["usd_per_ph_day"]
    hv = json.loads(run_cli(db, "halving", "--date", str(day), "--json").stdout)
    assert (
        hv["blocks_left"] == lib["halving"]["blocks_left"] and hv["estimated_date"] == lib["halving"]["estimated_date"]
    )
    from hashlens.report.build import build_report

    with Store(db) as s:
        rep = build_report(s, tmp_path / "r", day, paths=PATHS)
    for key in ("difficulty", "hashrate", "hashprice", "cost", "halving", "outlook"):
        assert rep.data[key] == lib[key], key
    text = rep.markdown_path.read_text()
    assert f"**{lib['difficulty']['latest']['change_pct']:+.2f} %**" in text
    assert f"**${lib['hashprice']['today']['usd_per_ph_day']:,.2f}/PH/day**" in text
    assert f"{lib['halving']['blocks_left']:,} blocks to the halving" in text


@pytest.mark.slow
def test_beyond_the_data_is_an_error(db: Path) -> None:
    for args in (
        ["hashprice", "--date", "2026-10-01", "--price", "90000"],
        ["hashprice", "--start", "2026-01-01", "--end", "2099-01-01"],
        ["weekly", "--as-of", "2099-01-01"],
        ["halving", "--date", "2030-01-01"],
    ):
        r = run_cli(db, *args)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, (args, r.stderr)


def test_raw_chain_constants_have_one_home() -> None:
    """Outside consensus/, no raw 2**32, 210000, 2016 or 86400*1e15 in code: named constants or
    the function that owns the formula; outside units.py no 1e18 (H/s per EH/s) and no ISO-time
    format of its own. Read as Python tokens, so prose in docstrings and comments (and SQL of
    released migrations, which never change) does not count."""
    import io
    import tokenize

    hits = []
    for p in (ROOT / "src/hashlens").rglob("*.py"):
        if "consensus" in p.parts or p.name == "units.py":
            continue
        toks = [t for t in tokenize.generate_tokens(io.StringIO(p.read_text()).readline) if t.type != tokenize.NL]
        for i, t in enumerate(toks):
            if t.type == tokenize.STRING and "%Y-%m-%dT%H:%M:%S" in t.string:
                hits.append(f"{p.relative_to(ROOT)}:{t.start[0]}: {t.line.strip()} (use hashlens.units.iso_utc)")
            if t.type != tokenize.NUMBER:
                continue
            value = t.string.replace("_", "")
            nxt = [x.string for x in toks[i + 1 : i + 3]]
            if (
                value in ("2016", "210000")
                or (value == "2" and nxt == ["**", "32"])
                or (value == "86400" and nxt == ["*", "1e15"])
                or value in ("1e18", "1e+18", "1000000000000000000")
                or (value == "10" and nxt == ["**", "18"])
            ):
                hits.append(f"{p.relative_to(ROOT)}:{t.start[0]}: {t.line.strip()}")
    assert not hits, "\n".join(hits)


def test_prices_of_the_instant(db: Path, data_dir: Path) -> None:
    """Luxor's all-time low of November 2025 is on the 22nd; pricing each day's end with the
    next day's first-minute price puts ours there too (the same day's price gives the 23rd)."""
    from hashlens.economics.daily import hashprice_series

    with Store(db) as s:
        atl = hashprice_series(s, date(2025, 9, 1), date(2025, 12, 31)).all_time_low_usd
    assert atl is not None and atl.date == "2025-11-22" and atl.fees_included is True
