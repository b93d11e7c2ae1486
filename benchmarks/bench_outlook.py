"""Fleet outlook: 1,000 machine rows x 10,000 paths x 24 months, beside its strongest peer: the
same outputs by a plain vectorised numpy baseline, timed interleaved in one run.

Run: `sh scripts/bench outlook [--rows N] [--paths N] [--months N] [--rounds N]`, or `--smoke`
for a seconds-long run (100 rows x 500 paths x 12 months). The chain and prices are the real
ones of ../shared/data (the latest day with data); rows are drawn from the bundled catalogue
with power prices of $0.03-0.08/kWh and capex of $500-6,000 (seeded).

The baseline takes the model's inputs from hashlens (the request, the start state, the fleet's
rates, costs and switch-off thresholds, the calibrated difficulty paths: the same work on both
sides) and does the rest as one would in numpy over all paths at once: the period in force
per path by ``np.searchsorted``, height, subsidy and hashprice written out, the GBM prices
(the same draws, so the outputs can be compared), the rows that run by ``np.searchsorted``,
monthly sums by ``np.add.reduceat``, cash flows, NPV, the IRR by bisection with Horner's rule,
and the quantiles. Its NPVs and IRRs are checked against hashlens' before timing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

if not __package__:  # run as a file (python benchmarks/bench_outlook.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.interleave import interleaved, load_average, report
from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.economics.asics import load_catalogue
from hashlens.sim.fleet_outlook import Market, fleet_outlook, market_from_store, parse_request
from hashlens.sim.hashprice_outlook import DAY_S, period_starts
from hashlens.sim.outlook_market import add_months, start_state
from hashlens.sim.outlook_paths import CHUNK_PATHS, difficulty_paths, fleet_arrays
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def irr_horner(flows: np.ndarray, iterations: int = 64) -> np.ndarray:
    """Annual IRR per row by bisection on the monthly rate, NPV by Horner's rule."""

    def npv(r: np.ndarray) -> np.ndarray:
        x = 1 / (1 + r)
        acc = flows[:, -1].copy()
        for m in range(flows.shape[1] - 2, -1, -1):
            acc = acc * x + flows[:, m]
        return acc

    lo, hi = np.full(flows.shape[0], -0.99), np.full(flows.shape[0], 10.0)
    s_lo = np.sign(npv(lo))
    ok = s_lo * np.sign(npv(hi)) < 0
    for _ in range(iterations):
        mid = (lo + hi) / 2
        left = np.sign(npv(mid)) == s_lo
        lo, hi = np.where(left, mid, lo), np.where(left, hi, mid)
    return np.where(ok, (1 + (lo + hi) / 2) ** 12 - 1, np.nan)


def numpy_baseline(market: Market, req: dict[str, Any]) -> dict[str, Any]:
    """The outlook's per-policy NPV, IRR and monthly quantiles, in plain numpy (see the module's
    words); only for the benchmark's request (no loan, hold share of the BTC mined, no profit
    fee, no halving drop)."""
    spec = parse_request(req)
    as_of = market.latest_day
    start = start_state(market, spec, as_of)
    fa = fleet_arrays(spec.groups, spec.op)
    ends = [add_months(as_of, m) for m in range(1, spec.months + 1)]
    n_days = (ends[-1] - as_of).days
    day = np.arange(1, n_days + 1)
    times = start.t0 + day * DAY_S
    first = np.array([0] + [(e - as_of).days for e in ends[:-1]])
    sim = difficulty_paths(start, spec, n_days // 10 + 3)
    starts = period_starts(start.hist, sim)
    paths, k = starts.shape
    j = np.empty((paths, n_days), dtype=np.int64)
    for p in range(paths):
        j[p] = np.searchsorted(starts[p], times, side="right") - 1
    np.clip(j, 0, k - 2, out=j)
    s0 = np.take_along_axis(starts, j, axis=1)
    s1 = np.take_along_axis(starts, j + 1, axis=1)
    height = (start.hist.period + j) * 2016 + np.floor(np.clip((times - s0) / (s1 - s0), 0, 1) * 2016).astype(np.int64)
    del s0, s1
    subsidy = (5_000_000_000 >> (height // 210_000)) / 1e8
    hp_btc = 1e15 * 86400 / (np.take_along_axis(sim.difficulty, j, axis=1) * 2.0**32) * (subsidy + start.fees_btc)
    del j, height, subsidy
    # the same GBM draws as hashlens (one generator per chunk of paths), so the outputs compare
    price = np.empty((paths, n_days))
    drift = start.mu_daily - start.sigma_daily**2 / 2
    for c, lo in enumerate(range(0, paths, CHUNK_PATHS)):
        hi = min(lo + CHUNK_PATHS, paths)
        z = np.random.default_rng([spec.seed, 1, c]).standard_normal((hi - lo, n_days))
        price[lo:hi] = start.price_usd * np.exp(np.cumsum(z * start.sigma_daily + drift, axis=1))
    hp_usd = hp_btc * price
    days_in = np.diff(np.append(first, n_days))
    price_end = price[:, np.append(first[1:], n_days) - 1]
    rate = fa.rate_ph.sum()
    on = np.searchsorted(fa.threshold_usd_per_ph_day, hp_usd, side="right")
    cum = {k: np.concatenate([[0.0], np.cumsum(v)]) for k, v in (("r", fa.rate_ph), ("p", fa.power_usd))}
    cum_h = np.concatenate([[0.0], np.cumsum(fa.hosting_kwh_usd)])
    fixed = fa.hosting_fixed_usd.sum()
    monthly = {
        "run_always": (
            np.add.reduceat(hp_usd, first, axis=1) * rate,
            np.add.reduceat(hp_btc, first, axis=1) * rate,
            np.broadcast_to(days_in * fa.power_usd.sum(), (paths, spec.months)),
            np.broadcast_to(days_in * (fa.hosting_kwh_usd.sum() + fixed), (paths, spec.months)),
        ),
        "switch_off": (
            np.add.reduceat(hp_usd * cum["r"][on], first, axis=1),
            np.add.reduceat(hp_btc * cum["r"][on], first, axis=1),
            np.add.reduceat(cum["p"][on], first, axis=1),
            np.add.reduceat(cum_h[on], first, axis=1) + days_in * fixed,
        ),
    }
    capex = float((spec.capex_usd * np.array([g.count for g in spec.groups])).sum())
    dep = np.zeros(spec.months)
    dep[: spec.depreciation_months] = capex * (1 - spec.salvage_share) / spec.depreciation_months
    disc = (1 + spec.discount_rate_annual) ** -(np.arange(1, spec.months + 1) / 12)
    out: dict[str, Any] = {}
    for policy, (rev, btc, power, hosting) in monthly.items():
        cf = (1 - spec.hold_share) * rev - power - hosting
        held = spec.hold_share * np.cumsum(btc, axis=1)
        cum_cash = -capex + np.cumsum(cf, axis=1)
        position = cum_cash + held * price_end
        terminal = held[:, -1] * price_end[:, -1] + capex - dep.sum()
        npv = -capex + cf @ disc + terminal * disc[-1]
        flows = np.concatenate([np.full((paths, 1), -capex), cf], axis=1)
        flows[:, -1] += terminal
        irr = irr_horner(flows)
        series = (
            rev,
            btc,
            power,
            hosting,
            rev - power - hosting,
            rev - power - hosting - dep,
            cf,
            cum_cash,
            held,
            position,
        )
        out[policy] = {
            "npv": npv,
            "irr": irr,
            "monthly": [np.quantile(s, QUANTILES, axis=0) for s in series],
            "payback": np.maximum.accumulate(position >= 0, axis=1).mean(axis=0),
            "npv_q": np.quantile(npv, QUANTILES),
            "irr_q": np.quantile(irr[np.isfinite(irr)], QUANTILES),
        }
    out["hashprice"] = np.quantile(np.add.reduceat(hp_usd, first, axis=1) / days_in, QUANTILES, axis=0)
    return out


def make_market() -> Market:
    data = require_data_dir()
    with Store(Path(tempfile.mkdtemp()) / "b.duckdb") as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        return market_from_store(s)


def make_request(rows: int, paths: int, months: int) -> dict[str, Any]:
    cat = [a for a in load_catalogue() if a.release_date.year >= 2019]
    rng = np.random.default_rng(1)
    machines = [
        {
            "hashrate_ths": cat[i].hashrate_ths,
            "power_w": cat[i].power_w,
            "count": int(rng.integers(1, 500)),
            "power_price_usd_per_kwh": float(rng.uniform(0.03, 0.08)),
            "machine_price_usd": float(rng.uniform(500, 6000)),
        }
        for i in rng.integers(0, len(cat), rows)
    ]
    return {"machines": machines, "paths": paths, "months": months, "hold_share": 0.2}


def run(rows: int, paths: int, months: int, rounds: int) -> float:
    market = make_market()
    req = make_request(rows, paths, months)
    ours, peer = fleet_outlook(market, req), numpy_baseline(market, req)
    for p in ("run_always", "switch_off"):
        for name, q in (("npv", "npv_usd"), ("irr", "irr_annual")):
            got = [ours["policies"][p][q][k] for k in ("p05", "p25", "p50", "p75", "p95")]
            np.testing.assert_allclose(got, peer[p][f"{name}_q"], rtol=1e-9, err_msg=f"{p} {name}")
    as_of: date = market.latest_day
    print(
        f"outlook: {rows:,} rows x {paths:,} paths x {months} months = {rows * paths * months:,} row-path-months "
        f"(as of {as_of}); NPV and IRR quantiles agree; {load_average()}"
    )
    t_ours, t_peer = interleaved(lambda: fleet_outlook(market, req), lambda: numpy_baseline(market, req), rounds)
    print(f"  goal: hashlens <= 5 s at 1,000 x 10,000 x 24; median here {sorted(t_ours)[len(t_ours) // 2]:.2f} s")
    return report("fleet_outlook", "vectorised numpy baseline with Horner IRR", t_ours, t_peer)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="a seconds-long run (100 rows x 500 paths x 12 months)")
    args = ap.parse_args()
    if args.smoke:
        run(100, 500, 12, 3)
    else:
        run(args.rows, args.paths, args.months, args.rounds)


if __name__ == "__main__":
    main()
