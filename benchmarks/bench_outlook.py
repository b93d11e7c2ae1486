"""Fleet outlook: 1,000 machine rows x 10,000 paths x 24 months, vectorised beside a per-path
Python loop.

Run: `sh scripts/bench outlook [--rows N] [--paths N] [--months N] [--loop-paths N]`. The chain
and prices are the real ones of ../shared/data (the latest day with data); rows are drawn from
the bundled catalogue with power prices of $0.03-0.08/kWh and capex of $500-6,000 (seeded).
The loop does the same work path by path, day by day and row by row (the period in force, the
height, the subsidy and the hashprice by the library's scalar functions, each row's on/off
decision), on ``--loop-paths`` paths whose monthly sums must equal the vectorised ones; its
time is scaled to all paths. Peak memory is the process's maximum resident set.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.consensus import block_subsidy_btc
from hashlens.economics.asics import load_catalogue
from hashlens.economics.hashprice import hashprice_btc_per_ph_day
from hashlens.sim.fleet_outlook import (
    _start,
    add_months,
    fleet_arrays,
    fleet_outlook,
    market_from_store,
    parse_request,
    simulate_months,
)
from hashlens.sim.hashprice_outlook import DAY_S
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store


def python_loop(fa, start, starts, difficulty, prices, times, first):  # type: ignore[no-untyped-def]
    """Monthly revenue [USD] under both policies for one path, cell by cell."""
    rate, thr, power = fa.rate_ph.tolist(), fa.threshold_usd_per_ph_day.tolist(), fa.power_usd.tolist()
    n_months = len(first)
    bounds = [*first.tolist(), len(times)]
    run = [0.0] * n_months
    off = [0.0] * n_months
    off_power = [0.0] * n_months
    s, d = starts.tolist(), difficulty.tolist()
    j = 0
    for m in range(n_months):
        for i in range(bounds[m], bounds[m + 1]):
            t = times[i]
            while j + 2 < len(s) and s[j + 1] <= t:
                j += 1
            frac = min(max((t - s[j]) / (s[j + 1] - s[j]), 0.0), 1.0)
            height = (start.hist.period + j) * 2016 + int(frac * 2016)
            hp_btc = hashprice_btc_per_ph_day(d[j], block_subsidy_btc(height), start.fees_btc)
            hp = float(hp_btc) * prices[i]
            for r in range(len(rate)):
                v = rate[r] * hp
                run[m] += v
                if hp >= thr[r]:
                    off[m] += v
                    off_power[m] += power[r]
    return run, off, off_power


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--loop-paths", type=int, default=3)
    args = ap.parse_args()
    data = require_data_dir()
    with Store(Path(tempfile.mkdtemp()) / "b.duckdb") as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        t0 = time.perf_counter()
        market = market_from_store(s)
        t_market = time.perf_counter() - t0
    cat = [a for a in load_catalogue() if a.release_date.year >= 2019]
    rng = np.random.default_rng(1)
    rows = [
        {
            "hashrate_ths": cat[i].hashrate_ths,
            "power_w": cat[i].power_w,
            "count": int(rng.integers(1, 500)),
            "power_price_usd_per_kwh": float(rng.uniform(0.03, 0.08)),
            "machine_price_usd": float(rng.uniform(500, 6000)),
        }
        for i in rng.integers(0, len(cat), args.rows)
    ]
    req = {"machines": rows, "paths": args.paths, "months": args.months, "hold_share": 0.2}

    t0 = time.perf_counter()
    out = fleet_outlook(market, req)
    t_vec = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The loop, on the first paths of the same run (same chain and price paths).
    spec = parse_request(req)
    as_of = market.latest_day
    start = _start(market, spec, as_of)
    fa = fleet_arrays(spec.groups, spec.op)
    monthly, sim, starts = simulate_months(fa, start, spec, as_of)
    ends = [add_months(as_of, m) for m in range(1, spec.months + 1)]
    n_days = (ends[-1] - as_of).days
    times = [start.t0 + a * DAY_S for a in range(1, n_days + 1)]
    first = np.array([0] + [(e - as_of).days for e in ends[:-1]])
    # the vectorised run's daily prices of path p: rebuild them from its chunk's generator
    from hashlens.sim.hashprice_outlook import gbm_prices

    chunk_prices = gbm_prices(
        start.price_usd,
        start.sigma_daily,
        start.mu_daily,
        np.arange(1, n_days + 1),
        min(2048, spec.paths),
        np.random.default_rng([spec.seed, 1, 0]),
    )
    t0 = time.perf_counter()
    for p in range(args.loop_paths):
        run, off, off_power = python_loop(
            fa, start, starts[p], sim.difficulty[p], chunk_prices[p].tolist(), times, first
        )
        np.testing.assert_allclose(run, monthly.usd["run_always"][p], rtol=1e-9)
        np.testing.assert_allclose(off, monthly.usd["switch_off"][p], rtol=1e-9)
        np.testing.assert_allclose(off_power, monthly.power_usd["switch_off"][p], rtol=1e-9)
    t_loop = (time.perf_counter() - t0) / args.loop_paths * args.paths

    cells = args.rows * args.paths * args.months
    print(
        f"outlook: {args.rows:,} rows x {args.paths:,} paths x {args.months} months = {cells:,} row-path-months "
        f"({n_days} days; as of {as_of}, to {as_of + timedelta(days=n_days)})"
    )
    print(f"  reading the store (clock, prices):      {t_market:8.2f} s")
    print(f"  hashlens fleet_outlook (numpy, chunks): {t_vec:8.2f} s  peak RSS {peak_mb:,.0f} MB")
    print(
        f"  per-path Python loop, same work:        {t_loop:8.0f} s  (measured on {args.loop_paths} paths, "
        "scaled; monthly sums agree to 1e-9)"
    )
    npv = out["policies"]["run_always"]["npv_usd"]
    print(f"  ratio: {t_loop / t_vec:,.0f}x; NPV run-always p50 {npv['p50']:,.0f} USD")


if __name__ == "__main__":
    main()
