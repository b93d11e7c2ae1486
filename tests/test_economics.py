"""Economics formulas checked against independent hand computations on real shared data."""

from __future__ import annotations

import csv
import gzip
import json
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashlens.chain.prices import import_prices
from hashlens.consensus import MAX_TARGET, bits_to_target
from hashlens.economics.asics import find_model, load_catalogue, parse_catalogue
from hashlens.economics.cbeci import network_power_series, profitable_set, threshold_j_per_th
from hashlens.economics.cost import cost_breakdown_per_btc, electricity_cost_per_btc, hayes_cost_of_production
from hashlens.economics.daily import HashpriceDay, hashprice_days, hashprice_series
from hashlens.economics.fleet import (
    Operating,
    breakeven_hashprice_usd_per_ph_day,
    evaluate_fleet,
    fleet_groups,
    load_fleet,
    share_under_water,
    unit_economics,
)
from hashlens.economics.hashprice import hashprice_btc_per_ph_day, hashprice_usd_per_ph_day
from hashlens.errors import HashlensError
from hashlens.sources.prices import read_prices
from hashlens.store import Store
from tests.conftest import copy_db
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, chain_prices_db: Path) -> Store:
    return Store(copy_db(chain_prices_db, tmp_path_factory, "econ"))


def shared_rows(data_dir: Path, lo: int, hi: int) -> list[dict[str, str]]:
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        return [r for r in csv.DictReader(fh) if lo <= int(r["height"]) <= hi]


def test_hashprice_by_hand_on_a_real_day(store: Store, data_dir: Path) -> None:
    """31 Jan 2026: the tip at the end of the day, its period's exact difficulty, the mean
    fees of the 144 blocks up to it (read straight from the file), priced at 24:00 UTC: the
    first-minute price of 1 Feb (the price file's convention), as Luxor dates its days."""
    day = date(2026, 1, 31)
    end = datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC).timestamp()
    rows = shared_rows(data_dir, 934000, 934575)
    tip = max(int(r["height"]) for r in rows if int(r["time"]) <= end)
    fees = [int(r["totalfee"]) for r in rows if tip - 143 <= int(r["height"]) <= tip]
    assert len(fees) == 144
    bits = store.period_bits(tip // 2016)
    assert bits is not None
    difficulty = Fraction(MAX_TARGET, bits_to_target(bits))
    reward = Fraction(312_500_000 + Fraction(sum(fees), 144), 10**8)
    expected_btc = reward * 86400 * 10**15 / (difficulty * 2**32)
    with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
        price = next(float(r["BTC_USD"]) for r in csv.DictReader(fh) if r["Date"] == "2026-02-01")
    got = hashprice_days(store, [day])[0]
    assert got.height == tip and got.height_exact
    assert got.btc_per_ph_day == pytest.approx(float(expected_btc), rel=1e-12)
    assert got.usd_per_ph_day == pytest.approx(float(expected_btc) * price, rel=1e-12)
    assert got.sats_per_th_day == pytest.approx(float(expected_btc) * 1e5, rel=1e-12)
    assert got.after_halving_btc_per_ph_day == pytest.approx(
        float((reward - Fraction(3125, 2000)) * 86400 * 10**15 / (difficulty * 2**32)), rel=1e-12
    )
    assert got.usd_per_ph_day is not None and 30 < got.usd_per_ph_day < 45  # the published range of that week


def test_hashprice_vectorised_and_series(store: Store) -> None:
    d = np.array([1e14, 2e14])
    np.testing.assert_allclose(hashprice_btc_per_ph_day(d, 3.125, 0.0) * d, 3.125 * 86400e15 / 2**32)
    assert hashprice_usd_per_ph_day(1e14, 3.125, 0.0, 100000.0) == pytest.approx(62.86, abs=0.01)
    with pytest.raises(ValueError):
        hashprice_btc_per_ph_day(0.0, 3.125, 0.0)
    s = hashprice_series(store, date(2025, 12, 1), date(2026, 1, 31))
    assert len(s.rows) == 62 and s.all_time_low_usd is not None
    low = s.all_time_low_usd
    assert all(r.usd_per_ph_day is not None and r.usd_per_ph_day >= low.usd_per_ph_day for r in s.rows)


def test_series_table_is_the_series_rows(store: Store, tmp_path: Path) -> None:
    """The Arrow table `hashprice --out` writes from the columns holds, value for value, the
    typed rows of the series (days without a price included), and a day-by-day call gives
    the same rows as the series."""
    import pyarrow as pa

    from hashlens.economics.daily import series_table

    start, end = date(2011, 12, 20), date(2026, 1, 31)  # the USD series begins in 2012
    series = hashprice_series(store, start, end)
    table, atl = series_table(store, start, end)
    assert table.to_pylist() == [r.to_json() for r in series.rows]
    assert table.schema == pa.Table.from_pylist([r.to_json() for r in series.rows[-40:]]).schema
    assert atl == series.all_time_low_usd
    assert any(r.price_usd is None for r in series.rows) and any(r.price_usd is not None for r in series.rows)
    days = [date(2012, 1, 1), date(2024, 4, 19), date(2024, 4, 20), date(2026, 1, 31)]
    by_day = {r.date: r for r in series.rows}
    for row in hashprice_days(store, days):
        assert row.model_dump() == {k: v for k, v in by_day[row.date].model_dump().items() if k != "usd_lowest_since"}


def test_a_store_without_prices_has_an_empty_series(chain_db: Path) -> None:
    """With no stored price the series from the first price is empty: no rows, no low, and a
    table of no rows with the rows' columns."""
    from hashlens.economics.daily import series_table

    with Store(chain_db, read_only=True) as s:
        series = hashprice_series(s, None, date(2026, 1, 31))
        table, atl = series_table(s, None, date(2026, 1, 31))
    assert series.rows == [] and series.all_time_low_usd is None and atl is None
    assert table.num_rows == 0 and table.column_names == list(HashpriceDay.model_fields)


def test_the_written_series_reads_back_as_built(store: Store, tmp_path: Path) -> None:
    """`hashprice --out x.parquet` (write_series) keeps every value and type of the table; the
    repeated texts are dictionary pages, the dates and numbers plain; CSV has a row per day."""
    import pyarrow.parquet as pq

    from hashlens.economics.daily import series_table, write_series

    table, _ = series_table(store, date(2011, 12, 20), date(2026, 1, 31))
    write_series(table, tmp_path / "s.parquet")
    back = pq.read_table(tmp_path / "s.parquet")
    assert back.schema == table.schema and back.to_pylist() == table.to_pylist()
    meta = pq.ParquetFile(tmp_path / "s.parquet").metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" in encodings["fee_source"] and "RLE_DICTIONARY" in encodings["usd_lowest_since"]
    assert "RLE_DICTIONARY" not in encodings["date"] and "RLE_DICTIONARY" not in encodings["btc_per_ph_day"]
    write_series(table, tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text().count("\n") == table.num_rows + 1
    with pytest.raises(HashlensError, match=r"use a \.csv or \.parquet"):
        write_series(table, tmp_path / "s.xlsx")


def test_catalogue_and_cross_checks(data_dir: Path) -> None:
    cat = load_catalogue()
    assert len(cat) >= 30 and len({a.maker for a in cat}) >= 4
    assert all(a.source for a in cat)
    # CBECI hardware list (J/GH): every model named the same way agrees within 2 %.
    by_name = {a.name: a for a in cat}
    matched = 0
    with open(data_dir / "asics/cbeci-hardware-2024.csv") as fh:
        for r in csv.DictReader(fh):
            a = by_name.get(r["Miner_name"])
            if a:
                assert a.efficiency_j_per_th == pytest.approx(float(r["Efficiency_J_Gh"]) * 1000, rel=0.02), a.name
                matched += 1
    # F2Pool's 2020 list (TH/s, W): the same model and revision (release year within one, rated
    # hashrate within 5 %) agrees on power within 10 % (makers quote +-10 % on power).
    f2 = 0
    with open(data_dir / "asics/f2pool-mining-devices-2020-03.csv", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            try:
                a = find_model(cat, r["Device"].strip())
            except HashlensError:
                continue
            same_rev = abs(int(r["Year Released"]) - a.release_date.year) <= 1
            if same_rev and abs(a.hashrate_ths - float(r["Hashrate (T)"])) / a.hashrate_ths < 0.05:
                assert a.power_w == pytest.approx(float(r["Power Consumption (W)"]), rel=0.10), a.name
                f2 += 1
    assert matched >= 10 and f2 >= 5
    print(f"\nASIC catalogue: {len(cat)} models; {matched} cross-checked with CBECI, {f2} with F2Pool")


def test_catalogue_validation_names_the_line() -> None:
    head = "maker,model,release_date,hashrate_ths,power_w,efficiency_j_per_th\n"
    with pytest.raises(HashlensError, match=r"line 2 .*power_w must be positive"):
        parse_catalogue(head + "X,Y,2024-01,100,0,\n", "user.csv")
    with pytest.raises(HashlensError, match=r"line 3 .*inconsistent with 3000 W / 100 TH/s"):
        parse_catalogue(head + "X,A,2024-01,100,3000,30\nX,B,2024-01,100,3000,20\n", "user.csv")


def test_unit_economics_by_hand() -> None:
    op = Operating(
        power_price_usd_per_kwh=0.06,
        pool_fee=0.02,
        stale_rate=0.01,
        uptime=0.95,
        pue=1.1,
        hosting_usd_per_kwh=0.005,
        hosting_usd_per_kw_month=3.0,
    )
    ue = unit_economics(200.0, 3500.0, 40.0, 80000.0, op, machine_price_usd=3000.0)
    revenue = 0.2 * 40 * 0.98 * 0.99 * 0.95
    energy = 3.5 * 24 * 0.95 * 1.1
    fixed = 3.5 * 1.1 * 3.0 / (365.25 / 12)
    cost = energy * (0.06 + 0.005) + fixed
    assert float(ue["revenue_usd_per_day"]) == pytest.approx(revenue)
    assert float(ue["profit_usd_per_day"]) == pytest.approx(revenue - cost)
    assert float(ue["breakeven_power_price_usd_per_kwh"]) == pytest.approx((revenue - fixed) / energy - 0.005)
    assert float(ue["breakeven_hashprice_usd_per_ph_day"]) == pytest.approx(cost / (0.2 * 0.98 * 0.99 * 0.95))
    assert float(ue["shutdown_btc_price_usd"]) == pytest.approx(energy * 0.065 / (revenue / 80000))
    assert float(ue["payback_days"]) == pytest.approx(3000 / (revenue - cost))
    # The Luxor rule of thumb: 24·ε·p with no fees, PUE 1, full uptime (1 PH/s at 17.5 J/TH).
    assert breakeven_hashprice_usd_per_ph_day(
        1000.0, 17500.0, Operating(power_price_usd_per_kwh=0.05, pool_fee=0.0)
    ) == pytest.approx(21.0)
    plain = unit_economics(200.0, 3500.0, 21.0, 80000.0, Operating(power_price_usd_per_kwh=0.05, pool_fee=0.0))
    assert float(plain["profit_usd_per_day"]) == pytest.approx(0.0, abs=1e-9)


def test_share_under_water() -> None:
    # 10% of the hashrate on 38 J/TH machines at $0.05, no fees: breakeven $45.6/PH/day > $30.
    h = np.array([900.0, 100.0])
    w = h * np.array([17.5, 38.0])
    plain = Operating(power_price_usd_per_kwh=0.05, pool_fee=0.0)
    assert share_under_water(h, w, 30.0, plain) == pytest.approx(0.10)
    assert share_under_water(h, w, 50.0, plain) == 0.0


def test_review_fleet_loses_money_on_every_machine() -> None:
    """The review's case by hand: 200 TH/s machines of 4,000 W (20 J/TH) at $0.05/kWh, PUE 1.2,
    2 % pool fee, hashprice $25/PH/day. Cost 4 kW·24 h·1.2·$0.05 = $5.76/day; revenue
    0.2 PH/s·$25·0.98 = $4.90/day; each machine loses $0.86/day, so all its hashrate is under water."""
    op = Operating(power_price_usd_per_kwh=0.05, pool_fee=0.02, pue=1.2)
    cost, revenue = 4.0 * 24 * 1.2 * 0.05, 0.2 * 25 * 0.98
    assert (cost, revenue) == pytest.approx((5.76, 4.90))
    ue = unit_economics(200.0, 4000.0, 25.0, 90000.0, op)
    assert float(ue["power_cost_usd_per_day"]) == pytest.approx(cost)
    assert float(ue["revenue_usd_per_day"]) == pytest.approx(revenue)
    assert float(ue["profit_usd_per_day"]) == pytest.approx(-0.86)
    assert breakeven_hashprice_usd_per_ph_day(200.0, 4000.0, op) == pytest.approx(cost / (0.2 * 0.98))
    assert share_under_water(np.array([200.0 * 10]), np.array([4000.0 * 10]), 25.0, op) == 1.0
    groups = fleet_groups([{"hashrate_ths": 200, "power_w": 4000, "count": 10}], load_catalogue(), "test")
    got = evaluate_fleet(groups, op, 25.0, 90000.0)
    assert got.share_of_hashrate_under_water == 1.0
    assert got.machines[0].profit_usd_per_day == pytest.approx(-0.86)
    assert got.fleet.profit_usd_per_day == pytest.approx(-8.6)
    # Just above the breakeven hashprice nothing is under water.
    be = cost / (0.2 * 0.98)
    assert evaluate_fleet(groups, op, be * 1.001, 90000.0).share_of_hashrate_under_water == 0.0


def test_fleet_files(tmp_path: Path) -> None:
    cat = load_catalogue()
    good = tmp_path / "f.yaml"
    good.write_text(
        "machines:\n  - {model: S21 Pro, count: 10}\n  - {hashrate_ths: 100, efficiency_j_per_th: 30, count: 5}\n"
    )
    groups = load_fleet(good, cat)
    assert groups[0].label == "Bitmain Antminer S21 Pro (234Th)" and groups[1].power_w == 3000
    bad = {
        "model,count\nS99 Ultra,3\n": "row 1: unknown ASIC model 'S99 Ultra'",
        "model,count\nS21 Pro,2\nS19 XP,-4\n": "row 2: count must be at least 0 \\(got -4\\)",
        # An unknown column is refused, not ignored (a misspelt power price was once left at $0.05).
        "model,count,power_price\nS21 Pro,2,0.1\n": "line 1: unknown column .power_price. \\(did you mean power_price_usd_per_kwh\\?\\)",
        "hashrate_ths,power_w,efficiency_j_per_th,count\n100,3000,20,1\n": "row 1: efficiency_j_per_th 20 is inconsistent",
    }
    for i, (text, msg) in enumerate(bad.items()):
        f = tmp_path / f"bad{i}.csv"
        f.write_text(text)
        with pytest.raises(HashlensError, match=msg):
            load_fleet(f, cat)


def test_fleet_groups_one_reader_for_files_and_the_api() -> None:
    cat = load_catalogue()
    records: list[dict[str, Any]] = [
        {"model": "S21 Pro", "count": 2},
        {"hashrate_ths": 100, "efficiency_j_per_th": 30, "count": 5, "power_price_usd_per_kwh": 0.04},
        {"Hashrate_THs": "200", "power_w": "4000", "count": "3", "label": "hosted", "machine_price_usd": ""},
    ]
    g = fleet_groups(records, cat, "machines")
    assert [x.label for x in g] == ["Bitmain Antminer S21 Pro (234Th)", "row 2", "hosted"]
    assert (g[1].power_w, g[1].power_price_usd_per_kwh, g[2].efficiency_j_per_th, g[2].count) == (3000, 0.04, 20, 3)
    assert g[2].machine_price_usd is None
    bad: list[tuple[Any, str]] = [
        ([], "machines: no machines"),
        ([{"model": "S21 Pro"}], "machines: row 1: count is required"),
        ([{"model": "S21 Pro", "count": 1}, {"hashrate_ths": 100, "count": 1}], "row 2: give efficiency_j_per_th"),
        ([{"hashrate_ths": float("inf"), "power_w": 1, "count": 1}], "row 1: hashrate_ths must be a finite number"),
        ([{"hashrate_ths": "1e999", "power_w": 1, "count": 1}], "row 1: hashrate_ths must be a finite number"),
        ([{"hashrate_ths": [1], "power_w": 1, "count": 1}], r"row 1: hashrate_ths must be a number"),
        (
            [{"hashrate_ths": 2e6, "power_w": 1, "count": 1}],
            r"row 1: hashrate_ths must be at most 1000000 \(got 2000000\)",
        ),
        ([{"model": "S21 Pro", "count": 1.5}], "row 1: count must be a whole number"),
        (["S21 Pro"], "row 1: expected a mapping"),
    ]
    for recs, msg in bad:
        with pytest.raises(HashlensError, match=msg):
            fleet_groups(recs, cat, "machines")


def test_cost_of_production_by_hand() -> None:
    d, reward = 1.4e14, 3.125 + 0.02
    hashes = d * 2**32
    joules = hashes * 17.5 / 1e12
    by_hand = joules / 3.6e6 * 0.05 / reward
    assert electricity_cost_per_btc(0.05, 17.5, d, reward) == pytest.approx(by_hand, rel=1e-12)
    # Hayes' model is the same marginal cost with the subsidy alone and J/GH.
    assert hayes_cost_of_production(0.05, 0.0175, d, 3.125) == pytest.approx(
        electricity_cost_per_btc(0.05, 17.5, d, 3.125), rel=1e-12
    )
    bd = cost_breakdown_per_btc(0.5, 20000.0, 2000.0, 8000.0, 1000.0, 500.0)
    assert (bd.cash_cost_usd_per_btc, bd.all_in_cost_usd_per_btc) == (44000.0, 63000.0)


def test_cbeci_network_power(store: Store) -> None:
    """The Cambridge method by hand on a small catalogue: 14-day threshold mean, plain-mean
    best guess, PUE 1.01 / 1.10 / 1.20, 7-day power mean, carry-forward when nothing pays."""
    from datetime import timedelta

    from hashlens.economics.asics import Asic
    from hashlens.errors import HashlensError

    cat = load_catalogue()
    # ε* = revenue per TH·s / price per J: $0.04/TH/day at $0.05/kWh is 33.33 J/TH.
    assert threshold_j_per_th(0.04, 0.05) == pytest.approx(0.04 / 86400 / (0.05 / 3.6e6))
    as_of = date(2026, 1, 31)
    chosen = profitable_set(cat, as_of, 30.0)
    assert chosen and all(a.efficiency_j_per_th < 30 for a in chosen)
    assert all(a.release_date <= as_of < a.release_date.replace(year=a.release_date.year + 5) for a in chosen)

    def m(name: str, released: date, eff: float) -> Asic:
        return Asic(
            maker="T",
            model=name,
            release_date=released,
            hashrate_ths=1.0,
            power_w=eff,
            efficiency_j_per_th=eff,
            cooling="air",
            source="test",
        )

    # A: 20 J/TH, B: 30 J/TH, C: 50 J/TH, D: 10 J/TH but over five years old, E: released on day 27.
    mini = [
        m("A", date(2023, 1, 1), 20.0),
        m("B", date(2022, 6, 1), 30.0),
        m("C", date(2021, 3, 1), 50.0),
        m("D", date(2019, 12, 31), 10.0),
        m("E", date(2025, 1, 28), 5.0),
    ]
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(30)]
    # ε* [J/TH] = HP / 86400 / (p / 3.6e6); HP giving ε* = 40 and 60 J/TH at $0.05/kWh:
    per_j = 86400 * 0.05 / 3.6e6
    eps = np.array([40.0] * 6 + [60.0] * 6 + [1.0] * 14 + [40.0] * 4)
    hr = np.full(30, 800.0)
    out = network_power_series(mini, days, hr, eps * per_j, 0.05)
    thr_mean = np.array([eps[max(0, i - 13) : i + 1].mean() for i in range(30)])
    assert [o.threshold_mean_j_per_th for o in out] == pytest.approx(thr_mean)
    assert [o.threshold_days for o in out][:3] == [1, 2, 3] and out[13].threshold_days == 14
    # Day by day, the set under the mean threshold (D is too old, E unreleased until 02-01).
    guess_day: list[tuple[float, float, float, int]] = []
    carried: list[bool] = []
    last: tuple[float, float, float, int] | None = None
    for i, t in enumerate(thr_mean):
        effs = [e for e in (20.0, 30.0, 50.0) if e < t] + ([5.0] if days[i] >= date(2025, 1, 28) and t > 5 else [])
        if effs:
            last = (min(effs), sum(effs) / len(effs), max(effs), i)
        assert last is not None  # something pays on the first day (A, B under 40 J/TH)
        guess_day.append(last)
        carried.append(not effs)
    for i, o in enumerate(out):
        lo, g, up, src = guess_day[i]
        assert (o.lower_j_per_th, o.guess_j_per_th, o.upper_j_per_th) == pytest.approx((lo, g, up))
        assert o.carried_forward == carried[i]
        assert o.carried_from == (days[src].isoformat() if carried[i] else None)
    # Power [GW] = ε [J/TH] · H [TH/s] · PUE / 1e9, then the trailing 7-day mean.
    gw = np.array([[r[k] * 800e6 * pue / 1e9 for k, pue in ((0, 1.01), (1, 1.10), (2, 1.20))] for r in guess_day])
    for i, o in enumerate(out):
        want = gw[max(0, i - 6) : i + 1].mean(axis=0)
        assert (o.power_gw_lower, o.power_gw_guess, o.power_gw_upper) == pytest.approx(tuple(want))
        assert o.energy_twh_per_year_guess == pytest.approx(want[1] * 8766 / 1000)
    assert any(carried) and "carried forward from" in out[carried.index(True)].note
    assert out[27].profitable_models == 1 and out[27].guess_j_per_th == 5.0  # E alone, on its release day
    with pytest.raises(HashlensError, match="consecutive"):
        network_power_series(mini, [days[0], days[2]], hr[:2], eps[:2] * per_j)


def test_price_import_rules(tmp_path: Path, data_dir: Path) -> None:
    with Store() as s:
        eur = data_dir / "market/bitfinex-btc-eur-daily.json"
        with pytest.raises(HashlensError, match=r"missing day.*first EUR 2017-05-20"):
            import_prices(s, read_prices(eur, currency="EUR"), eur.name)
        assert s.counts()["prices"] == 0
        res = import_prices(s, read_prices(eur, currency="EUR"), eur.name, allow_gaps=True)
        assert res["gaps"]["EUR"][0] == "2017-05-20"
    with pytest.raises(HashlensError, match="does not say its currency"):
        read_prices(data_dir / "market/bitfinex-btc-eur-daily.json")
    bad = tmp_path / "p.csv"
    bad.write_text("day,close\n2024-01-01,42000\n2024-01-02,-5\n")
    with pytest.raises(HashlensError, match="line 3: price '-5' must be positive"):
        read_prices(bad)
    mapped = tmp_path / "m.csv"
    mapped.write_text("when,eur_close\n2024-01-01,40000\n2024-01-02,41000\n")
    pts = read_prices(mapped, currency="EUR", date_column="when", price_column="eur_close")
    assert [p.price for p in pts] == [40000.0, 41000.0] and pts[0].currency == "EUR"


cli = run_cli


@pytest.mark.slow
def test_cli_economics(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "cli.duckdb"
    r = cli(db, "--data", str(data_dir), "hashprice", "--date", "2026-01-15", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("date", "usd_per_ph_day", "btc_per_ph_day", "sats_per_th_day"):
        assert key in d
    r = cli(db, "hashprice", "--date", "2026-01-15", "--price", "100000", "--json")
    assert json.loads(r.stdout)["usd_per_ph_day"] == pytest.approx(d["btc_per_ph_day"] * 100000)
    out = tmp_path / "hp.csv"
    r = cli(db, "hashprice", "--start", "2026-01-01", "--end", "2026-01-31", "--out", str(out), "--json")
    assert r.returncode == 0 and out.read_text().count("\n") == 32
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("model,count\nS21,10\nM30S,4\n")
    r = cli(db, "fleet", str(fleet), "--power-price", "0.06", "--date", "2026-01-15", "--json")
    f = json.loads(r.stdout)
    assert 0 <= f["share_of_hashrate_under_water"] <= 1 and len(f["machines"]) == 2
    for cmd in (["cost", "--json"], ["power", "--json"], ["asics", "--json"]):
        r = cli(db, *cmd)
        assert r.returncode == 0, r.stderr
        json.loads(r.stdout)
    fleet.write_text("model,count\nS21,10\nS99,4\n")
    r = cli(db, "fleet", str(fleet))
    assert r.returncode != 0 and r.stderr.startswith("error: ") and "row 2" in r.stderr and r.stderr.count("\n") == 1
    r = cli(db, "hashprice", "--price", "-3")
    assert r.returncode == 2 and "btc_price_usd must be above 0 (got -3)" in r.stderr


def test_fleet_over_days_matches_brute_force() -> None:
    from hashlens.economics.fleet import fleet_over_days

    rng = np.random.default_rng(3)
    h = rng.uniform(50, 300, 400)
    w = h * rng.uniform(12, 40, 400)
    p = rng.uniform(0.02, 0.09, 400)
    hp = rng.uniform(25, 60, 90)
    op = Operating(pool_fee=0.015, uptime=0.97, pue=1.05, hosting_usd_per_kw_month=2.0)
    got = fleet_over_days(h, w, p, hp, op)
    daily = np.stack([unit_economics(h, w, x, 1.0, op, p)["profit_usd_per_day"] for x in hp], axis=1)
    np.testing.assert_allclose(got["profit_usd"], daily.sum(axis=1), rtol=1e-9)
    assert (got["days_under_water"] == (daily < 0).sum(axis=1)).all()
    np.testing.assert_allclose(got["fleet_profit_usd"], daily.sum(axis=0), rtol=1e-9)
    np.testing.assert_allclose(got["share_hashrate_under_water"], ((daily < 0) * h[:, None]).sum(axis=0) / h.sum())


def test_cost_per_btc_table_by_hand() -> None:
    from types import SimpleNamespace

    from hashlens.economics.cost import cost_per_btc_table

    day: Any = SimpleNamespace(
        date="2026-01-15", difficulty=1.4e14, subsidy_btc=3.125, fees_btc=0.02, fee_source="block stats", price_usd=9e4
    )
    (row,) = cost_per_btc_table([day], [17.5, 30.0], 0.05, opex_usd_per_ph_day=10.0, depreciation_usd_per_ph_day=20.0)
    assert (row["date"], row["reward_btc"], row["btc_price_usd"]) == ("2026-01-15", 3.145, 9e4)
    btc_per_ph_day = 1000e12 * 86400 / (1.4e14 * 2**32) * 3.145
    for c, eff in zip(row["costs"], [17.5, 30.0], strict=True):
        elec = 1.4e14 * 2**32 * eff / 1e12 / 3.6e6 * 0.05 / 3.145  # joules per block -> kWh -> USD, per BTC
        assert c["efficiency_j_per_th"] == eff
        assert c["electricity_usd_per_btc"] == pytest.approx(elec, rel=1e-12)
        assert c["cash_cost_usd_per_btc"] == pytest.approx(elec + 10.0 / btc_per_ph_day, rel=1e-12)
        assert c["all_in_cost_usd_per_btc"] == pytest.approx(elec + 30.0 / btc_per_ph_day, rel=1e-12)
        assert c["hayes_usd_per_btc"] == pytest.approx(elec * 3.145 / 3.125, rel=1e-12)
    with pytest.raises(HashlensError, match="efficiency must be positive"):
        cost_per_btc_table([day], [0.0])


@pytest.mark.slow
def test_cli_human_output_rounds_with_units(full_db: Path, tmp_path: Path) -> None:
    import re

    from hashlens.cli.output import fmt_quantity

    assert fmt_quantity(1234.5678, "USD/day") == "1,234.57 USD/day"
    assert fmt_quantity(0.1234, "%", 1) == "12.3 %"
    assert fmt_quantity(-0.001, "", 2) == "0.00"
    assert fmt_quantity(None, "W") == fmt_quantity(float("inf"), "W") == "n/a"
    db = tmp_path / "h.duckdb"
    db.write_bytes(full_db.read_bytes())
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("model,count\nS21,10\nM30S,4\n")
    long_float = re.compile(r"\d\.\d{7,}")  # more than 6 decimals
    outputs = {
        "fleet": cli(db, "fleet", str(fleet), "--date", "2026-01-15"),
        "cost": cli(db, "cost", "--date", "2026-01-31", "--start", "2025-01-15"),
        "power": cli(db, "power", "--date", "2026-01-15"),
        "power series": cli(db, "power", "--date", "2026-01-15", "--start", "2025-10-01"),
        "asics": cli(db, "asics"),
    }
    for name, r in outputs.items():
        assert r.returncode == 0, (name, r.stderr)
        assert not long_float.search(r.stdout), (name, r.stdout)
        assert "{'" not in r.stdout and "np.float" not in r.stdout, (name, r.stdout)
    cost_out = outputs["cost"].stdout
    assert cost_out.count("Cost to mine one BTC") == 1  # one table for the whole series
    assert "2025-01-15" in cost_out and "2026-01-01" in cost_out
    assert "GW" in outputs["power"].stdout and "EH/s" in outputs["power"].stdout
    assert "USD/day" in outputs["fleet"].stdout and "%" in outputs["fleet"].stdout


def test_price_import_over_stored_prices_reports_and_needs_replace(data_dir: Path) -> None:
    # Two real EUR series for the same days: Bitfinex's and the multi-currency file's (USD x FX).
    bitfinex = data_dir / "market/bitfinex-btc-eur-daily.json"
    multi = data_dir / "market/btc-daily-prices-multi-currency.csv"
    first, second = read_prices(bitfinex, currency="EUR"), read_prices(multi, currency="EUR")
    stored = {p.day: p.price for p in first}
    differ = sorted(p.day for p in second if p.day in stored and stored[p.day] != p.price)
    same = [p.day for p in second if p.day in stored and stored[p.day] == p.price]
    assert differ
    with Store() as s:
        import_prices(s, first, bitfinex.name, allow_gaps=True)
        before = s.table_contents("prices")
        with pytest.raises(
            HashlensError, match=rf"{len(differ)} stored price\(s\) differ.*first EUR {differ[0]}.*--replace"
        ):
            import_prices(s, second, multi.name)
        assert s.table_contents("prices") == before
        res = import_prices(s, second, multi.name, replace=True)
        assert res["replaced"] == len(differ) and res["unchanged"] == len(same)
        assert res["replaced_days"][0] == f"{differ[0].isoformat()} EUR"
        assert res["new"] == len(second) - len(differ) - len(same)
        assert s.price_on(differ[0], "EUR") == next(p.price for p in second if p.day == differ[0])
        # The same file again: every price unchanged, nothing to replace.
        again = import_prices(s, second, multi.name)
        assert (again["replaced"], again["unchanged"], again["new"]) == (0, len(second), 0)


@pytest.mark.slow
def test_operating_terms_are_refused_alike_by_the_library_the_cli_and_the_api(tmp_path: Path) -> None:
    """One contract for how machines run: a PUE of 50 or $100/kWh is refused in the same words
    by a library call, `hashlens fleet` and `POST /v1/fleet` (the review found the CLI took them)."""
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app
    from hashlens.errors import HashlensError

    fleet = tmp_path / "fleet.csv"
    fleet.write_text("model,count\nS21 Pro,10\n")
    app = create_app(tmp_path / "api.duckdb")
    cases = [
        ("pue", "--pue", 50, "pue must be at most 5 (got 50"),
        ("power_price_usd_per_kwh", "--power-price", 100, "power_price_usd_per_kwh must be at most 10 (got 100"),
    ]
    with TestClient(app) as client:
        for field, option, value, words in cases:
            with pytest.raises(HashlensError) as lib:
                Operating(**{field: value})
            assert str(lib.value).startswith(words)
            cli = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "hashlens",
                    "--db",
                    str(tmp_path / "cli.duckdb"),
                    "fleet",
                    str(fleet),
                    option,
                    str(value),
                ],
                capture_output=True,
                text=True,
            )
            assert cli.returncode == 2 and cli.stderr.startswith("error: " + words), cli.stderr
            r = client.post("/v1/fleet", json={"machines": [{"model": "S21 Pro", "count": 10}], field: value})
            assert r.status_code == 422 and r.json()["detail"].startswith(words), r.json()


def test_count_below_is_searchsorted_exactly() -> None:
    """The grid lookup behind fleet_over_days' days under water (and the outlook's rows that
    run) gives np.searchsorted's counts on either side: values, their neighbours one unit
    away, ties, infinities, NaN."""
    from hashlens.economics.fleet import count_below

    rng = np.random.default_rng(5)
    for trial in range(6):
        v = np.sort(rng.uniform(30, 70, 365 if trial < 4 else 1000))
        if trial % 2:
            v = np.sort(np.round(v))  # ties, as a rounded price series has
        x = np.concatenate(
            [
                rng.uniform(20, 80, 600_000),
                v,
                np.nextafter(v, np.inf),
                np.nextafter(v, -np.inf),
                [np.inf, -np.inf, 1e300, -1e300],
            ]
        )
        assert np.array_equal(count_below(v, x), np.searchsorted(v, x, side="left")), trial
        assert np.array_equal(count_below(v, x, "right"), np.searchsorted(v, x, side="right")), trial
    x[7] = np.nan
    assert np.array_equal(count_below(v, x), np.searchsorted(v, x, side="left"))
