"""Listed companies' quarterly results beside the chain, each analytic derived by hand from the
shared files: the quarterly CSV, the Electrum targets, the period start times (bitcoinj and
chain-extra), the block stats and the USD prices."""

from __future__ import annotations

import base64
import csv
import gzip
import json
import shutil
import struct
from datetime import UTC, date, datetime
from fractions import Fraction
from pathlib import Path

import pytest

from hashlens.consensus import MAX_TARGET
from hashlens.miners.flows import treasury_flows
from hashlens.miners.models import FlowsQuery, ResultsQuery
from hashlens.miners.results import companies_week, quarterly_results
from hashlens.store import Store
from tests.conftest import copy_db
from tests.helpers import run_cli

QUARTERLY = "miners/quarterly-results-2024-2026.csv"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, shared_db: Path) -> Path:
    """The shared chain (with chain-extra), the USD prices and the bundled miners sample."""
    return copy_db(shared_db, tmp_path_factory, "results")


@pytest.fixture(scope="module")
def store(db: Path) -> Store:
    return Store(db, read_only=True)


@pytest.fixture(scope="module")
def csv_rows(data_dir: Path) -> list[dict[str, str]]:
    with open(data_dir / QUARTERLY) as fh:
        return list(csv.DictReader(fh))


def value(rows: list[dict[str, str]], ticker: str, period: str, metric: str) -> float:
    (v,) = [float(r["value"]) for r in rows if (r["ticker"], r["period"], r["metric"]) == (ticker, period, metric)]
    return v


def ts(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


# -- the chain by hand ---------------------------------------------------------------------------
def difficulty(data_dir: Path, period: int) -> Fraction:
    """Electrum's entry i holds the target of period i + 1 (PROVENANCE.md)."""
    electrum = json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())
    return Fraction(MAX_TARGET, int(electrum[period - 1][1]))


def starts_2024(data_dir: Path) -> dict[int, int]:
    """Period start times from bitcoinj's checkpoints: 96 bytes each (12 chainwork, 4 height,
    the 80-byte header, its time at byte 68)."""
    lines = (data_dir / "chain/bitcoinj-mainnet-checkpoints.txt").read_text().splitlines()[3:]
    out = {}
    for line in lines:
        raw = base64.b64decode(line)
        height = int.from_bytes(raw[12:16], "big")
        out[height // 2016] = struct.unpack("<I", raw[16 + 68 : 16 + 72])[0]
    return out


def starts_2025(data_dir: Path) -> dict[int, int]:
    with open(data_dir / "chain-extra/period-boundary-times-2025-2026.csv") as fh:
        return {int(r["period_start"]) // 2016: int(r["start_time"]) for r in csv.DictReader(fh)}


def segments(starts: dict[int, int], t0: int, t1: int) -> list[tuple[int, int]]:
    """(period, seconds of [t0, t1) in it); the last known period runs to t1."""
    ps = sorted(starts)
    out = []
    for i, p in enumerate(ps):
        a = max(starts[p], t0)
        b = min(starts[ps[i + 1]] if i + 1 < len(ps) else t1, t1)
        if b > a:
            out.append((p, b - a))
    return out


def subsidy_sat(height: int) -> int:
    return (50 * 10**8) >> (height // 210_000)


def january_2026_reward(data_dir: Path) -> Fraction:
    """Mean subsidy + fees of the blocks timed in January 2026, from the block stats [BTC]."""
    t0, t1 = ts(date(2026, 1, 1)), ts(date(2026, 2, 1))
    total, n = 0, 0
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as fh:
        for r in csv.DictReader(fh):
            if t0 <= int(r["time"]) < t1:
                total += int(r["subsidy"]) + int(r["totalfee"])
                n += 1
    return Fraction(total, n * 10**8)


# -- the AI pivot ---------------------------------------------------------------------------------
def test_bit_digital_ai_hpc_share_from_its_four_segments(store: Store, csv_rows: list[dict[str, str]]) -> None:
    """Bit Digital Q1 2026: cloud + colocation over the sum of its four segments (no total is a
    fact; the note's consolidated 27.92 includes other revenue)."""
    seg = {
        m: value(csv_rows, "BTBT", "Q1 2026", f"segment_revenue_{m}")
        for m in ("mining", "cloud", "colocation", "eth_staking")
    }
    share = (seg["cloud"] + seg["colocation"]) / sum(seg.values())
    (r,) = quarterly_results(store, ResultsQuery(company="btbt", quarter="Q1 2026")).results
    assert r.revenue_mix is not None
    assert r.revenue_mix.ai_hpc_share == pytest.approx(share, rel=1e-12)
    assert round(share, 4) == 0.7821 and r.revenue_mix.total_basis == "sum of the reported segments"
    assert r.revenue_mix.by_segment_usd_m["ai_hpc"] == pytest.approx(seg["cloud"] + seg["colocation"])
    # TeraWulf's HPC lease over its reported total: the "62 %" its note states.
    (w,) = quarterly_results(store, ResultsQuery(company="TeraWulf")).results
    assert w.revenue_mix is not None and w.revenue_mix.ai_hpc_share == pytest.approx(21 / 34)


def test_pivot_and_the_week_as_of_2026_02_10(store: Store, csv_rows: list[dict[str, str]]) -> None:
    """As of 2026-02-10 only what had been published counts: the quarter to 2025-12-31 counts
    from 2026-02-09 (40 days; no publication day stored), so IREN's, CleanSpark's and Canaan's
    results are the week's; Bit Digital's Q1 2026 (filed 2026-05-15) is not yet known."""
    w = companies_week(store, date(2026, 2, 10))
    assert [(r.ticker, r.period) for r in w.results] == [("CAN", "Q4 2025"), ("CLSK", "FQ1 2026"), ("IREN", "Q2 FY26")]
    assert all(r.published == date(2026, 2, 9) for r in w.results)
    pivot = {t.ticker: t for t in w.pivot}
    assert "BTBT" not in pivot and "WULF" not in pivot
    iren = value(csv_rows, "IREN", "Q2 FY26", "revenue_ai_cloud") / value(csv_rows, "IREN", "Q2 FY26", "revenue_total")
    assert pivot["IREN"].latest.ai_hpc_share == pytest.approx(iren) and pivot["IREN"].previous is None
    # Canaan's segments (machine sales 165 + mining 30.4 of 196.3) cover over 95 % of its
    # revenue with no AI/HPC segment: its share is stated, and it is zero.
    assert pivot["CAN"].latest.ai_hpc_share == 0
    assert {f.ticker for f in w.treasury_changes} == {"CANG", "CLSK", "FUFU", "MARA"}
    assert "40 days after the quarter ends" in w.lag_rule
    later = companies_week(store, date(2026, 5, 20))
    assert [(r.ticker, r.period) for r in later.results] == [("BTBT", "Q1 2026")]


# -- costs against the network -----------------------------------------------------------------
def test_cango_cash_cost_beside_the_network_electricity_cost(
    store: Store, data_dir: Path, csv_rows: list[dict[str, str]]
) -> None:
    """Cango Q1 2026: its average cash cost per BTC beside the network's electricity cost per
    BTC at 21.5 J/TH and $0.05/kWh over the same days = the power bill of 1 TH/s over the
    quarter / the BTC it mines over the quarter's difficulty segments (January at its blocks'
    mean reward from the block stats, February and March at the 3.125 BTC subsidy: no fees
    stored)."""
    eff, price = Fraction(43, 2), Fraction(1, 20)
    t0, t1 = ts(date(2026, 1, 1)), ts(date(2026, 4, 1))
    starts = starts_2025(data_dir)
    rewards = {1: january_2026_reward(data_dir), 2: Fraction(3125, 1000), 3: Fraction(3125, 1000)}
    btc = Fraction(0)
    for m in (1, 2, 3):
        a, b = ts(date(2026, m, 1)), ts(date(2026, m + 1, 1)) if m < 3 else t1
        for p, secs in segments(starts, a, b):
            btc += Fraction(secs) * 10**12 / (difficulty(data_dir, p) * 2**32) * rewards[m]
    network = price * eff * (t1 - t0) / Fraction(3_600_000) / btc
    reported = value(csv_rows, "CANG", "Q1 2026", "avg_cash_cost_per_btc")
    from hashlens.chain.clock import ChainClock

    assert int(ChainClock.from_store(store).period_at(t1 - 1)) == 941_472 // 2016  # in force through March
    (r,) = quarterly_results(store, ResultsQuery(company="CANG", quarter="2026-03-31")).results
    (c,) = r.costs
    assert (c.metric, c.basis, c.reported_usd_per_btc) == ("avg_cash_cost_per_btc", "cash", reported)
    assert c.network_electricity_usd_per_btc == pytest.approx(float(network), rel=1e-9)
    assert c.ratio == pytest.approx(reported / float(network), rel=1e-9)
    assert c.implied_power_price_usd_per_kwh == pytest.approx(0.05 * reported / float(network), rel=1e-9)
    assert 1.3 < c.ratio < 1.4 and not c.fees_known
    # Another machine, another network cost, in proportion (power scales with J/TH).
    (r2,) = quarterly_results(
        store, ResultsQuery(company="CANG", quarter="Q1 2026", efficiency_j_per_th=17.5, power_price_usd_per_kwh=0.04)
    ).results
    assert r2.costs[0].network_electricity_usd_per_btc == pytest.approx(
        float(network * Fraction(35, 43) * Fraction(4, 5))
    )
    # Its revenue per PH/s per day: mining revenue over its period-end hashrate and 90 days.
    assert r.realised is not None and r.realised.days == 90
    mining, hashrate = (
        value(csv_rows, "CANG", "Q1 2026", "revenue_mining"),
        value(csv_rows, "CANG", "Q1 2026", "total_hashrate"),
    )
    assert r.realised.realised_usd_per_ph_day == pytest.approx(mining * 1e6 / (hashrate * 1000 * 90), rel=1e-12)
    assert r.realised.hashrate_basis.startswith("operating at the period's end")


def test_canaan_mining_cost_against_mining_revenue(store: Store, csv_rows: list[dict[str, str]]) -> None:
    """Canaan Q4 2025: cost of mining revenue 37.0 (with 12.1 depreciation of its machines)
    against mining revenue 30.4 [USD m]."""
    rev = value(csv_rows, "CAN", "Q4 2025", "revenue_mining")
    cost = value(csv_rows, "CAN", "Q4 2025", "cost_mining")
    dep = value(csv_rows, "CAN", "Q4 2025", "depreciation_mining_rigs")
    (r,) = quarterly_results(store, ResultsQuery(company="Canaan", quarter="Q4 2025")).results
    m = r.mining_margin
    assert m is not None
    assert m.margin_usd_m == pytest.approx(rev - cost) and round(m.margin_usd_m, 1) == -6.6
    assert m.cost_to_revenue == pytest.approx(cost / rev) and round(m.cost_to_revenue, 3) == 1.217
    assert m.cash_cost_usd_m == pytest.approx(cost - dep) and m.cash_margin_usd_m == pytest.approx(rev - cost + dep)
    assert round(m.cash_margin_usd_m or 0, 1) == 5.5


def test_mara_q2_2024_expected_against_reported(store: Store, data_dir: Path, csv_rows: list[dict[str, str]]) -> None:
    """MARA Q2 2024: 2,058 BTC reported at a 24.0 EH/s average. No per-block data for 2024 is
    stored: the periods are dated by bitcoinj's start times, and each month's reward is the
    mean subsidy of its blocks, the heights at the month's ends counted at 600 s per block
    from the start of the period then in force (April holds the halving at 840,000). Fees are
    not stored, so the expectation is a lower bound and the ratio an upper bound."""
    starts = starts_2024(data_dir)
    ps = sorted(starts)

    def height_at(t: int) -> int:
        p = max(q for q in ps if starts[q] <= t)
        return 2016 * p + min((t - starts[p]) // 600, 2015)

    hashrate = value(csv_rows, "MARA", "Q2 2024", "avg_operational_hashrate") * 10**18
    expected = Fraction(0)
    for m in (4, 5, 6):
        a, b = ts(date(2024, m, 1)), ts(date(2024, m + 1, 1))
        h0, h1 = height_at(a), height_at(b)
        reward = Fraction(sum(subsidy_sat(h) for h in range(h0 + 1, h1 + 1)), (h1 - h0) * 10**8)
        blocks = sum(
            Fraction(secs) * Fraction(hashrate) / (difficulty(data_dir, p) * 2**32)
            for p, secs in segments(starts, a, b)
        )
        expected += blocks * reward
    reported = value(csv_rows, "MARA", "Q2 2024", "btc_produced")
    (r,) = quarterly_results(store, ResultsQuery(company="MARA", quarter="Q2 2024")).results
    p = r.production
    assert p is not None and p.reported_btc == reported == 2058
    assert p.hashrate_basis.startswith("average operating") and p.hashrate_ehs == 24.0
    assert p.expected_btc == pytest.approx(float(expected), rel=1e-9)
    assert p.ratio == pytest.approx(reported / float(expected), rel=1e-9)
    assert round(p.ratio, 2) == 1.05 and not p.fees_known and not p.estimated_boundaries
    assert any("upper bound of the ratio" in n for n in p.notes)
    # Priced at one subsidy, April (6.25 for its first 19 days only) would have overstated the
    # expectation by a tenth.
    assert float(expected) < 0.93 * 2149


# -- treasury flows -------------------------------------------------------------------------------
def test_treasury_flows_by_hand(store: Store, data_dir: Path) -> None:
    """Sold = produced − change in holdings, between published holdings figures."""
    with open(data_dir / "miners/monthly-production-2025-12_2026-01.csv") as fh:
        monthly = {(r["ticker"], r["month"]): r for r in csv.DictReader(fh)}
    with open(data_dir / "miners/treasuries-2026-02.csv") as fh:
        snaps = {r["ticker"]: r for r in csv.DictReader(fh)}
    flows = {f.ticker: f for f in treasury_flows(store, FlowsQuery(as_of=date(2026, 2, 10))).flows}
    # CleanSpark: nearly 13,100 on 2025-12-31 (FQ1 2026 results) -> 13,513 (January); mined 573,
    # sold 158.6 as stated: the implied 160 agrees.
    jan = monthly[("CLSK", "2026-01")]
    clsk = flows["CLSK"]
    implied = float(jan["btc_mined"]) - (float(jan["treasury_btc"]) - 13_100)
    assert clsk.implied_sold_low_btc == clsk.implied_sold_high_btc == pytest.approx(implied) == 160
    assert clsk.stated_sold_btc == float(jan["btc_sold"]) and clsk.agrees and clsk.flag is None
    # Cango: 7,528 at the end of 2025 -> 3,645 on 2026-02-10; January's 496.3 BTC mined and
    # February's first ten days unpublished as of that day: sold at least 4,379, not the 550 stated.
    cang = flows["CANG"]
    dec, jan_c = monthly[("CANG", "2025-12")], monthly[("CANG", "2026-01")]
    change = float(snaps["CANG"]["treasury_btc"]) - float(dec["treasury_btc"])
    assert cang.change_btc == change == -3883
    assert cang.implied_sold_low_btc == pytest.approx(float(jan_c["btc_mined"]) - change)
    assert cang.implied_sold_high_btc is None and cang.agrees is False
    assert cang.flag is not None and "550.0 BTC stated (for 2026-01)" in cang.flag and "4451 BTC" in cang.flag
    # Later, Cango's Q1 2026 total (1,266) bounds February: at most 1,266 - 496.3 in it.
    later = {(f.ticker, f.end.day): f for f in treasury_flows(store, FlowsQuery(company="cango")).flows}
    assert later[("CANG", date(2026, 2, 10))].implied_sold_high_btc == pytest.approx(1266 - change)
    q1 = later[("CANG", date(2026, 3, 31))]
    assert q1.change_btc == 1026 - 3645 and q1.produced_low_btc == 0
    assert q1.produced_high_btc == pytest.approx(1266 - float(jan_c["btc_mined"]))
    # BitFuFu's own production is its self-mined part; cloud output is its customers'.
    fufu = flows["FUFU"]
    assert fufu.produced_low_btc == float(monthly[("FUFU", "2026-01")]["btc_self_mined"]) == 46
    # MARA: no production published between mid-2025 and the snapshot: nothing is inferred.
    mara = flows["MARA"]
    assert mara.change_btc == 53_250 - 49_951 and mara.produced_high_btc is None and mara.flag is None


def test_treasury_table_as_of_2026_02_10_counts_the_day_s_snapshots(store: Store) -> None:
    """The review's case: as of 2026-02-10, MARA's and Cango's snapshots of that day count."""
    from hashlens.miners.analysis import treasuries

    t = {x["ticker"]: x for x in treasuries(store, date(2026, 2, 10))}
    assert t["MARA"]["treasury_btc"] == 53_250 and t["MARA"]["rank"] == 1
    assert t["CANG"]["treasury_btc"] == 3_645 and t["CANG"]["as_of"] == "2026-02-10"
    # A month-end figure counts seven days after the month (it comes with the month's update),
    # quarterly holdings 40 days after the quarter: as of 2026-02-06 January's are not known yet.
    t6 = {x["ticker"]: x for x in treasuries(store, date(2026, 2, 6))}
    assert t6["CANG"]["treasury_btc"] == 7_528 and t6["MARA"]["treasury_btc"] == 49_951
    assert "BTDR" not in t6 and "CLSK" not in t6


# -- the all-in cost ------------------------------------------------------------------------------
def test_all_in_defaults_derived_from_the_companies_results(
    store: Store, data_dir: Path, csv_rows: list[dict[str, str]]
) -> None:
    """The default non-power costs recomputed from the quarterly file and the chain:
    other cash = MARA's Q2 2025 cost per PH/s per day less its energy per BTC × the network's
    BTC per PH/s per day over Q2 2025 (subsidy only: no fees stored); depreciation = the mean
    of Cango's Q2 2025 (all-in − cash) per BTC × that rate, and Canaan's Q4 2025 depreciation
    share of mining revenue × the network's mean USD hashprice over Q4 2025."""
    from hashlens.economics import cost
    from hashlens.economics.daily import hashprice_days

    starts = starts_2025(data_dir)
    t0, t1 = ts(date(2025, 4, 1)), ts(date(2025, 7, 1))
    btc_per_ph_day = sum(
        Fraction(secs) * 10**15 / (difficulty(data_dir, p) * 2**32) * Fraction(3125, 1000)
        for p, secs in segments(starts, t0, t1)
    ) / Fraction(t1 - t0, 86400)
    rate = float(btc_per_ph_day)
    other = (
        value(csv_rows, "MARA", "Q2 2025", "cost_per_ph_day")
        - value(csv_rows, "MARA", "Q2 2025", "purchased_energy_cost_per_btc") * rate
    )
    cango = (
        value(csv_rows, "CANG", "Q2 2025", "all_in_cost_per_btc")
        - value(csv_rows, "CANG", "Q2 2025", "cost_to_mine_per_btc_ex_depreciation")
    ) * rate
    days = [date(2025, 10, 1) + (date(2025, 10, 2) - date(2025, 10, 1)) * i for i in range(92)]
    hp = [d.usd_per_ph_day for d in hashprice_days(store, days)]
    assert all(x is not None for x in hp)
    canaan = value(csv_rows, "CAN", "Q4 2025", "depreciation_mining_rigs") / value(
        csv_rows, "CAN", "Q4 2025", "revenue_mining"
    )
    canaan *= sum(x for x in hp if x is not None) / len(hp)
    assert round(other, 1) == cost.OTHER_CASH_USD_PER_PH_DAY == 11.4
    assert round((cango + canaan) / 2, 1) == cost.DEPRECIATION_USD_PER_PH_DAY == 12.3


def test_cost_json_states_electricity_and_all_in_apart(db: Path, tmp_path: Path, data_dir: Path) -> None:
    """``cost --json`` as of 2026-02-10: electricity by hand at the period's difficulty and the
    subsidy (no fees stored that day); the all-in cost adds the default non-power costs per PH/s
    per day over the BTC 1 PH/s mines that day; never equal to the electricity."""
    copy = tmp_path / "c.duckdb"
    shutil.copy(db, copy)
    r = run_cli(copy, "--data", str(data_dir), "cost", "--date", "2026-02-10", "--efficiency", "21.5", "--json")
    assert r.returncode == 0, r.stderr
    row = json.loads(r.stdout)
    d = difficulty(data_dir, 935_424 // 2016)
    elec = Fraction(1, 20) * Fraction(43, 2) * d * 2**32 / (Fraction(36 * 10**17) * Fraction(3125, 1000))
    btc_per_ph_day = Fraction(86400 * 10**15) / (d * 2**32) * Fraction(3125, 1000)
    all_in = elec + Fraction(237, 10) / btc_per_ph_day
    (c,) = row["costs"]
    assert c["electricity_usd_per_btc"] == pytest.approx(float(elec), rel=1e-12)
    assert c["all_in_cost_usd_per_btc"] == pytest.approx(float(all_in), rel=1e-12)
    assert c["all_in_cost_usd_per_btc"] > 1.5 * c["electricity_usd_per_btc"]
    assert c["cash_cost_usd_per_btc"] == pytest.approx(float(elec + Fraction(114, 10) / btc_per_ph_day), rel=1e-12)
    assert row["terms"]["depreciation_usd_per_ph_day"] == 12.3 and "all-in = electricity" in row["terms"]["method"]
    with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
        price = next(float(x["BTC_USD"]) for x in csv.DictReader(fh) if x["Date"] == "2026-02-11")
    assert row["btc_price_usd"] == price
    assert c["price_above_electricity"] is (price > float(elec)) is True
    assert c["price_above_all_in"] is (price > float(all_in)) is False
    r = run_cli(
        copy, "--data", str(data_dir), "cost", "--date", "2026-02-10", "--depreciation-usd-per-ph-day", "0", "--json"
    )
    assert r.returncode == 0 and json.loads(r.stdout)["terms"]["depreciation_usd_per_ph_day"] == 0


def test_report_compares_the_all_in_cost_with_the_day_s_price(store: Store, tmp_path: Path, data_dir: Path) -> None:
    """As of 2026-02-10 the report's sentence says which costs the price is below, each
    comparison from the two numbers (by hand at the report's efficiencies)."""
    from hashlens.report.build import build_report

    build_report(store, tmp_path / "rep", date(2026, 2, 10), paths=300)
    text = (tmp_path / "rep/report.md").read_text()
    d = difficulty(data_dir, 935_424 // 2016)
    btc_per_ph_day = Fraction(86400 * 10**15) / (d * 2**32) * Fraction(3125, 1000)
    with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
        price = next(float(x["BTC_USD"]) for x in csv.DictReader(fh) if x["Date"] == "2026-02-11")
    below_elec, above_elec = [], []
    for e in (Fraction(35, 2), Fraction(43, 2), Fraction(59, 2)):
        elec = Fraction(1, 20) * e * d * 2**32 / (Fraction(36 * 10**17) * Fraction(3125, 1000))
        all_in = elec + Fraction(237, 10) / btc_per_ph_day
        assert price < float(all_in)  # below the all-in cost at every efficiency
        assert f"**${float(all_in):,.0f}**" in text and f"**${float(elec):,.0f}**" in text
        (below_elec if price < float(elec) else above_elec).append(f"{float(e):g}")
    assert below_elec == ["29.5"] and above_elec == ["17.5", "21.5"]
    assert (
        f"At ${price:,.0f}, the price is below the all-in cost at every efficiency; it is below the electricity cost "
        "at 29.5 J/TH and above it at 17.5 and 21.5 J/TH." in text
    )
    assert "cover their power costs" in text
    # The companies' section and the treasury footnote's lag rule.
    assert "## The companies: results, treasuries, the AI pivot" in text
    assert "Counted as published: a monthly production update 7 days after its month ends" in text
    assert "| MARA Holdings (MARA) | 53,250 | 2026-02-10 |" in text and "| Cango (CANG) | 3,645 | 2026-02-10 |" in text


# -- the miners' notes (the review's three cases) ----------------------------------------------
def test_month_notes_compare_month_ends(store: Store, data_dir: Path) -> None:
    """January 2026: Bitdeer's month-end 55.2 -> 63.2 can explain at most 0.78 -> 0.90;
    Canaan's fell 7.6 -> 6.6, so its ratio at the average is below the month-end one; BitFuFu's
    cloud figures are in both hashrate and output, which cannot lower its 0.57."""
    from hashlens.miners.analysis import expected_vs_reported

    rows = {r["ticker"]: r for r in expected_vs_reported(store, date(2026, 1, 1))}
    b = rows["BTDR"]
    at_prev = b["ratio"] * 63.2 / 55.2
    assert round(b["ratio"], 2) == 0.78 and round(at_prev, 2) == 0.90
    assert any(f"would be {at_prev:.2f}" in f and "55.2 → 63.2" in f for f in b["flags"])
    c = rows["CAN"]
    assert any(
        "fell 7.6 → 6.6" in f and f"between {c['ratio'] * 6.6 / 7.6:.2f} and {c['ratio']:.2f}" in f for f in c["flags"]
    )
    assert not any("grew" in f for f in c["flags"])
    f = rows["FUFU"]
    assert any("does not lower the ratio" in x for x in f["flags"])
    assert any("the rest of the gap is not explained" in x for x in f["flags"])


# -- bad input: one line, exit 2, nothing stored ---------------------------------------------------
HEAD = "ticker,period,period_end,metric,value,unit,source_url,source_kind,note\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("MARA,Q2 2024,2024-06-30,revenue_gpu,1,USD m,https://x.example/a,,\n", "unknown metric 'revenue_gpu'"),
        (
            "MARA,Q2 2024,2024-06-30,revenue_total,145.1,EUR m,https://x.example/a,,\n",
            "unit 'EUR m' is not revenue_total's unit",
        ),
        (
            "MARA,Q2 2024,2024-06-31,revenue_total,145.1,USD m,https://x.example/a,,\n",
            "period_end must be a day as YYYY-MM-DD",
        ),
        (
            "MARA,Q2 2024,mid-2024,revenue_total,145.1,USD m,https://x.example/a,,\n",
            "period_end must be a day as YYYY-MM-DD",
        ),
        (
            "MARA,Q2 2024,2024-06-30,btc_produced,2058,BTC,https://x.example/a,,\n"
            "MARA,Q2 2024,2024-06-30,btc_mined,2100,BTC,https://x.example/b,,\n",
            "line 3: MARA Q2 2024 btc_produced 2,100 BTC differs from line 2 (2,058)",
        ),
        ("MARA,Q2 2024,2024-06-30,btc_produced,-5,BTC,https://x.example/a,,\n", "btc_produced must not be negative"),
        ("MARA,Q2 2024,2024-06-30,btc_holdings,5,BTC,,,\n", "give its source"),
        (
            "MARA,Q3 2024,2024-06-30,btc_holdings,5,BTC,https://x.example/a,,\n",
            "is a calendar quarter ending 2024-09-30",
        ),
    ],
)
def test_bad_results_are_one_error_line_and_nothing_is_stored(
    db: Path, tmp_path: Path, data_dir: Path, body: str, message: str
) -> None:
    copy = tmp_path / "bad.duckdb"
    shutil.copy(db, copy)
    with Store(copy, read_only=True) as s:
        before = s.table_contents("miner_results")
    f = tmp_path / "results.csv"
    f.write_text(HEAD + body)
    r = run_cli(copy, "--data", str(data_dir), "miners", "import", str(f))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, r.stderr
    assert message in r.stderr and "results.csv: line " in r.stderr
    with Store(copy, read_only=True) as s:
        assert s.table_contents("miner_results") == before


@pytest.mark.slow
def test_imports_of_results_and_a_blank_treasury_cell(db: Path, tmp_path: Path, data_dir: Path) -> None:
    """The shared file imports as it is (its ``same`` sources resolved); a stored result with a
    different value is refused unless --replace; a blank treasury_btc cell is an error line."""
    copy = tmp_path / "i.duckdb"
    shutil.copy(db, copy)
    r = run_cli(copy, "--data", str(data_dir), "miners", "import", str(data_dir / QUARTERLY), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["results"] == 68 and out["results_replaced"] == []
    f = tmp_path / "changed.yaml"
    f.write_text(
        "results:\n  - {ticker: MARA, period: Q2 2024, period_end: 2024-06-30, metric: btc_produced, value: 2100,"
        " unit: BTC, source_kind: a later restatement}\n"
    )
    r = run_cli(copy, "--data", str(data_dir), "miners", "import", str(f))
    assert r.returncode == 2 and "stored 2,058 BTC" in r.stderr and "--replace" in r.stderr
    r = run_cli(copy, "--data", str(data_dir), "miners", "import", str(f), "--replace", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["results_replaced"] == ["MARA Q2 2024 btc_produced"]
    blank = tmp_path / "t.csv"
    blank.write_text("company,ticker,exchange,as_of,treasury_btc,note\nCango,CANG,NYSE,2026-02-10, ,\n")
    r = run_cli(copy, "--data", str(data_dir), "miners", "import", str(blank))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "line 2: treasury_btc is required" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.slow
def test_results_and_flows_commands(db: Path, tmp_path: Path, data_dir: Path) -> None:
    copy = tmp_path / "f.duckdb"
    shutil.copy(db, copy)
    r = run_cli(
        copy, "--data", str(data_dir), "miners", "results", "--company", "IREN", "--quarter", "Q2 FY26", "--json"
    )
    assert r.returncode == 0, r.stderr
    (res,) = json.loads(r.stdout)["results"]
    assert (res["period_start"], res["period_end"], res["days"]) == ("2025-10-01", "2025-12-31", 92)
    r = run_cli(copy, "--data", str(data_dir), "miners", "flows", "--as-of", "2026-02-10", "--json")
    assert r.returncode == 0 and {f["ticker"] for f in json.loads(r.stdout)["flows"]} == {
        "CANG",
        "CLSK",
        "FUFU",
        "MARA",
    }
    r = run_cli(copy, "--data", str(data_dir), "miners", "results", "--efficiency", "-3")
    assert r.returncode == 2 and "efficiency_j_per_th must be above 0" in r.stderr
    r = run_cli(copy, "--data", str(data_dir), "miners", "flows")
    assert r.returncode == 0 and "Cango" in r.stdout
