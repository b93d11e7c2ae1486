"""The fleet outlook (issue 14): deterministic parity with a hand computation month by month
from the shared files, one answer for the CLI and the API, bad input, and the stochastic
outlook's own invariants."""

from __future__ import annotations

import csv
import gzip
import json
import math
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashlens.sim.fleet_outlook import MAX_WORK, fleet_outlook, market_from_store
from hashlens.store import Store
from tests.helpers import run_cli

AS_OF = date(2026, 1, 20)
MONTHS = 30  # to 2028-07-20: the 2028 halving falls inside
ROWS = [
    # an efficient row and one that goes under water, with their own power prices and capex
    {"label": "new", "hashrate_ths": 270, "power_w": 3645, "count": 10, "power_price_usd_per_kwh": 0.05,
     "machine_price_usd": 5000},
    {"label": "old", "hashrate_ths": 100, "power_w": 3250, "count": 20, "power_price_usd_per_kwh": 0.06,
     "machine_price_usd": 500},
]  # fmt: skip
TERMS: dict[str, Any] = {
    "date": AS_OF.isoformat(),
    "months": MONTHS,
    "paths": 64,
    "seed": 3,
    "pool_fee": 0.02,
    "uptime": 0.97,
    "pue": 1.05,
    "hosting_usd_per_kw_month": 4.0,
    "depreciation_months": 24,
    "salvage_share": 0.1,
    "hold_share": 0.3,
    "loan": {"principal_usd": 50_000, "rate_annual": 0.10, "term_months": 12},
    "discount_rate_annual": 0.12,
    "btc_price_usd": 90_000,
    "price_volatility_annual": 0.0,
    "price_drift_annual": 0.3,
    "difficulty_growth_pct_per_adjustment": 1.5,
    "fees_btc_per_block": 0.025,
}


# -- the chain at the as-of day, read from the shared files ---------------------------------------
def _block_times(data_dir: Path) -> dict[int, int]:
    with gzip.open(data_dir / "chain/blockstats-btc-rpc-data.csv.gz", "rt") as f:
        return {int(r["height"]): int(r["time"]) for r in csv.DictReader(f) if int(r["height"]) >= 900_000}


def _chain_at(data_dir: Path, t0: int) -> tuple[int, int, int, float]:
    """(tip + 1, running period P, start time of P, difficulty of P) at ``t0``."""
    times = _block_times(data_dir)
    tip = max(h for h, t in times.items() if t <= t0)  # no later block has an earlier time here
    period = (tip + 1) // 2016
    electrum = json.loads((data_dir / "chain/electrum-mainnet-checkpoints.json").read_text())
    target = int(electrum[period - 1][1])  # entry i holds the target of period i + 1
    return tip + 1, period, times[period * 2016], (0xFFFF << 208) / target


def _month_ends(n: int) -> list[date]:
    return [
        date(AS_OF.year + (AS_OF.month - 1 + m) // 12, (AS_OF.month - 1 + m) % 12 + 1, AS_OF.day)
        for m in range(1, n + 1)
    ]


def by_hand(data_dir: Path) -> dict[str, Any]:
    """Every day from the as-of day's 24:00 UTC: difficulty, height, hashprice, each row's
    revenue and costs; summed per calendar month; the cash flows of the terms."""
    t0 = int(datetime(2026, 1, 21, tzinfo=UTC).timestamp())  # 24:00 UTC of 2026-01-20
    _, period, start, d0 = _chain_at(data_dir, t0)
    spacing = 2016 * 600
    ends = _month_ends(MONTHS)
    n_days = (ends[-1] - AS_OF).days
    mu = math.log(1.3) / 365.25
    keep = (1 - 0.02) * 0.97
    rows = []
    for r in ROWS:
        kw = r["power_w"] / 1000
        rows.append(
            {
                "rate_ph": r["count"] * r["hashrate_ths"] / 1000 * keep,
                "power_usd": r["count"] * kw * 24 * 0.97 * 1.05 * r["power_price_usd_per_kwh"],
                "fixed_usd": r["count"] * kw * 1.05 * 4.0 / (365.25 / 12),
            }
        )
    per_day: dict[str, list[float]] = {k: [] for k in ("btc", "usd", "power", "btc_off", "usd_off", "power_off")}
    halving_day = None
    for a in range(1, n_days + 1):
        e = t0 + a * 86400 - start
        k = e // spacing
        height = (period + k) * 2016 + (e - k * spacing) // 600
        subsidy = 50 / 2 ** (height // 210_000)
        if halving_day is None and subsidy < 3.125:
            halving_day = a
        difficulty = d0 * 1.015**k
        hp_btc = 1e15 * 86400 * (subsidy + 0.025) / (difficulty * 2**32)
        price = 90_000 * math.exp(mu * a)
        on = [r for r in rows if r["rate_ph"] * hp_btc * price >= r["power_usd"]]
        per_day["btc"].append(sum(r["rate_ph"] for r in rows) * hp_btc)
        per_day["usd"].append(sum(r["rate_ph"] for r in rows) * hp_btc * price)
        per_day["power"].append(sum(r["power_usd"] for r in rows))
        per_day["btc_off"].append(sum(r["rate_ph"] for r in on) * hp_btc)
        per_day["usd_off"].append(sum(r["rate_ph"] for r in on) * hp_btc * price)
        per_day["power_off"].append(sum(r["power_usd"] for r in on))
    fixed = sum(r["fixed_usd"] for r in rows)
    bounds = [0] + [(e - AS_OF).days for e in ends]
    month = {k: [sum(v[bounds[m] : bounds[m + 1]]) for m in range(MONTHS)] for k, v in per_day.items()}
    days_in = [bounds[m + 1] - bounds[m] for m in range(MONTHS)]
    price_end = [90_000 * math.exp(mu * bounds[m + 1]) for m in range(MONTHS)]
    # the loan: 12 equal payments at 10 %/12 a month
    i = 0.10 / 12
    pay = 50_000 * i / (1 - (1 + i) ** -12)
    capex = 10 * 5000 + 20 * 500
    out: dict[str, Any] = {"halving_day": halving_day, "month_ends": [e.isoformat() for e in ends]}
    for name, suffix in (("run_always", ""), ("switch_off", "_off")):
        cash, held, balance = 50_000 - capex, 0.0, 50_000.0
        npv, disc = 50_000 - capex, 1.0
        s: dict[str, list[float]] = {k: [] for k in ("revenue", "profit", "cum", "held", "position")}
        for m in range(MONTHS):
            rev, power = month["usd" + suffix][m], month["power" + suffix][m]
            hosting = fixed * days_in[m]
            p = pay if m < 12 else 0.0
            balance = balance * (1 + i) - p if m < 11 else 0.0
            cf = 0.7 * rev - power - hosting - p
            cash += cf
            held += 0.3 * month["btc" + suffix][m]
            disc = 1.12 ** (-(m + 1) / 12)
            npv += cf * disc
            s["revenue"].append(rev)
            s["profit"].append(rev - power - hosting)
            s["cum"].append(cash)
            s["held"].append(held)
            s["position"].append(cash + held * price_end[m] - balance)
        book = capex - capex * 0.9
        npv += (held * price_end[-1] + book) * disc
        out[name] = s | {"npv": npv}
    return out


@pytest.fixture(scope="module")
def market(full_db: Path) -> Any:
    with Store(full_db, read_only=True) as s:
        return market_from_store(s)


def test_deterministic_parity_with_a_hand_computation(market: Any, data_dir: Path) -> None:
    got = fleet_outlook(market, {"machines": ROWS} | TERMS)
    want = by_hand(data_dir)
    assert got["month_ends"] == want["month_ends"]
    for policy in ("run_always", "switch_off"):
        p, w = got["policies"][policy], want[policy]
        for key, hand in (
            ("revenue_usd", "revenue"),
            ("profit_usd", "profit"),
            ("cumulative_cash_usd", "cum"),
            ("btc_held", "held"),
            ("position_usd", "position"),
        ):
            q = p["monthly"][key]
            assert q["p05"] == q["p50"] == q["p95"], (policy, key)  # one path: the quantiles collapse
            np.testing.assert_allclose(q["p50"], w[hand], rtol=1e-9, atol=1e-6, err_msg=f"{policy} {key}")
        assert p["npv_usd"]["p05"] == p["npv_usd"]["p95"]
        assert p["npv_usd"]["p50"] == pytest.approx(w["npv"], rel=1e-9)
    # the old row goes dark as difficulty climbs: switching off is worth something
    assert got["policies"]["switch_off"]["machine_days_off_share"] > 0
    assert got["switch_off_value_usd"]["p50"] > 0
    run, off = (np.array(got["policies"][k]["monthly"]["revenue_usd"]["p50"]) for k in ("run_always", "switch_off"))
    assert np.all(off <= run) and np.any(off < run)
    h = got["halving"]
    assert h["height"] == 1_050_000 and h["probability_in_horizon"] == 1.0
    # the day the hand computation first sees 1.5625 BTC, within the day (24:00 UTC sampling)
    assert (date.fromisoformat(h["date_p50"]) - AS_OF).days in (want["halving_day"] - 1, want["halving_day"])


@pytest.mark.slow
def test_cli_and_api_give_the_same_answer(full_db: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app

    db = tmp_path / "o.duckdb"
    shutil.copy(full_db, db)
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("model,count,machine_price_usd\nS21 XP,12,5200\nS19j Pro,40,450\n")
    terms = {"months": 6, "paths": 300, "seed": 7, "hold_share": 0.2, "capex_usd_per_machine": 1000}
    terms |= {"hold_basis": "net_profit", "profit_fee": 0.1}  # Braiins' inputs, in the scenario file and the body
    scenario = tmp_path / "s.yaml"
    scenario.write_text("".join(f"{k}: {v}\n" for k, v in terms.items() if k not in ("months", "paths", "seed")))
    r = run_cli(
        db,
        "outlook",
        str(fleet),
        "--months",
        "6",
        "--paths",
        "300",
        "--seed",
        "7",
        "--scenario",
        str(scenario),
        "--json",
    )
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    body = {
        "machines": [
            {"model": "S21 XP", "count": 12, "machine_price_usd": 5200},
            {"model": "S19j Pro", "count": 40, "machine_price_usd": 450},
        ]
    } | terms
    with TestClient(create_app(db)) as c:
        res = c.post("/v1/outlook", json=body)
    assert res.status_code == 200, res.text
    api = res.json()
    assert api == cli
    assert api["inputs"]["hold_basis"] == "net_profit" and api["inputs"]["profit_fee"] == 0.1
    q = api["policies"]["run_always"]["monthly"]["revenue_usd"]
    assert all(a < b < c for a, b, c in zip(q["p05"], q["p50"], q["p95"], strict=True))


def test_stochastic_invariants(market: Any) -> None:
    req = {"machines": ROWS, "months": 24, "paths": 3000, "seed": 5, "date": "2026-01-20", "capex_usd_per_machine": 0}
    a = fleet_outlook(market, req)
    assert a == fleet_outlook(market, req)  # the seed fixes the answer
    for p in a["policies"].values():
        pay = np.array(p["payback_probability"])
        assert np.all(np.diff(pay) >= 0) and 0 <= pay[0] <= pay[-1] <= 1
        for q in p["monthly"].values():
            assert np.all(np.array(q["p05"]) <= np.array(q["p50"])) and np.all(np.array(q["p50"]) <= np.array(q["p95"]))
    # selling all BTC as mined, switching off when under water can only add: its NPV gain is
    # never negative on any path
    assert a["switch_off_value_usd"]["p05"] >= -1e-6
    hp = a["hashprice_usd_per_ph_day"]
    assert hp["p95"][-1] - hp["p05"][-1] > hp["p95"][0] - hp["p05"][0]  # the fan widens


BAD = [
    ({"capex_usd_per_machine": -100}, "capex_usd_per_machine"),
    ({"months": 6, "loan": {"principal_usd": 1000, "rate_annual": 0.1, "term_months": 12}}, "loan.term_months"),
    ({"months": 0}, "months"),
    ({"months": 600}, "months"),
    ({"paths": 100_001}, "paths"),
]


@pytest.mark.parametrize(("terms", "field"), BAD)
def test_bad_input_cli_one_line(full_db: Path, tmp_path: Path, terms: dict[str, Any], field: str) -> None:
    db = tmp_path / "b.duckdb"
    shutil.copy(full_db, db)
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("model,count\nS21,10\n")
    scenario = tmp_path / "s.json"  # JSON is YAML
    scenario.write_text(json.dumps(terms))
    r = run_cli(db, "outlook", str(fleet), "--scenario", str(scenario))
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and field in lines[0], r.stderr


@pytest.mark.slow
def test_bad_input_unknown_model_and_work_ceiling(full_db: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app

    db = tmp_path / "u.duckdb"
    shutil.copy(full_db, db)
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("model,count\nS99 Ultra,10\n")
    r = run_cli(db, "outlook", str(fleet))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "S99 Ultra" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    one = {"model": "S21", "count": 1}
    with TestClient(create_app(db)) as c:
        for body, loc in [
            ({"machines": [{"model": "S99 Ultra", "count": 10}]}, ["machines"]),
            ({"machines": [one], "capex_usd_per_machine": -1}, ["capex_usd_per_machine"]),
            ({"machines": [one], "months": 0}, ["months"]),
            ({"machines": [one], "months": 600}, ["months"]),
            ({"machines": [one], "paths": 100_001}, ["paths"]),
        ]:
            res = c.post("/v1/outlook", json=body)
            assert res.status_code == 422 and res.json()["detail"].startswith(loc[0]), res.text
        for body, field in [
            ({"machines": [one], "months": 6, "loan": {"principal_usd": 1, "term_months": 7}}, "loan.term_months"),
            ({"machines": [one] * 1000, "paths": MAX_WORK // 24_000 + 1}, "paths"),
        ]:
            res = c.post("/v1/outlook", json=body)
            assert res.status_code == 422 and field in res.json()["detail"], res.text


def test_irr_by_horner_on_flows_with_known_rates() -> None:
    """IRRs worked out by hand: 1000 grown at 1 % a month for 24 months (12.68 % a year); a
    24-month annuity of 50 on 1000 (r from the annuity formula, solved here by bisection on
    the closed form); 500 back on 1000 after 24 months (2^-1/2 − 1); no sign change: NaN."""
    from hashlens.sim.outlook_finance import irr_annual, npv_monthly

    f = np.zeros((4, 25))
    f[:, 0] = -1000.0
    f[0, -1] = 1000 * 1.01**24
    f[1, 1:] = 50.0
    f[2, -1] = 500.0
    f[3, 0] = 10.0  # all flows positive
    lo, hi = 0.001, 0.1  # the annuity's monthly rate, from 50·(1 − (1+r)^-24)/r = 1000
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 50 * (1 - (1 + mid) ** -24) / mid > 1000 else (lo, mid)
    irr = irr_annual(f)
    assert irr[0] == pytest.approx(1.01**12 - 1, rel=1e-12)
    assert irr[1] == pytest.approx((1 + lo) ** 12 - 1, rel=1e-12)
    assert irr[2] == pytest.approx(2**-0.5 - 1, rel=1e-12)
    assert math.isnan(irr[3])
    # Horner's NPV is the sum of discounted flows
    r = np.array([0.01, 0.02, -0.5, 3.0])
    direct = (f * (1 + r[:, None]) ** -np.arange(25)).sum(axis=1)
    np.testing.assert_allclose(npv_monthly(f, r), direct, rtol=1e-12)
