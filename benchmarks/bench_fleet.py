"""Fleet economics for 1,000,000 machines x 365 days: vectorised beside a plain Python loop.

Run: `sh scripts/bench fleet [--machines N]`. The hashprice series is the real one of the 365
days to 31 Jan 2026 from the store (chain and prices of ../shared/data); machines are drawn
from the bundled catalogue with power prices between $0.03 and $0.08/kWh (seeded).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.economics.asics import load_catalogue
from hashlens.economics.daily import hashprice_days
from hashlens.economics.fleet import Operating, fleet_over_days
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store


def python_loop(
    h: list[float], w: list[float], p: list[float], hp: list[float], op: Operating
) -> tuple[list[float], list[int], list[float], list[float]]:
    """The same outputs, computed cell by cell: every machine on every day."""
    yf = (1 - op.pool_fee) * (1 - op.stale_rate) * op.uptime
    profit, under = [0.0] * len(h), [0] * len(h)
    day_profit, day_under_h = [0.0] * len(hp), [0.0] * len(hp)
    for i in range(len(h)):
        cost = w[i] / 1000 * op.pue * 24 * op.uptime * (p[i] + op.hosting_usd_per_kwh)
        rate = h[i] / 1000 * yf
        for d, x in enumerate(hp):
            v = rate * x - cost
            profit[i] += v
            day_profit[d] += v
            if v < 0:
                under[i] += 1
                day_under_h[d] += h[i]
    total_h = sum(h)
    return profit, under, day_profit, [u / total_h for u in day_under_h]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=1_000_000)
    args = ap.parse_args()
    data = require_data_dir()
    with Store(Path(tempfile.mkdtemp()) / "b.duckdb") as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        end = date(2026, 1, 31)
        rows = hashprice_days(s, [end - timedelta(days=364 - i) for i in range(365)])
    hp = np.array([r.usd_per_ph_day for r in rows], dtype=float)
    cat = [a for a in load_catalogue() if a.release_date.year >= 2019]
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(cat), args.machines)
    h = np.array([a.hashrate_ths for a in cat])[pick]
    w = np.array([a.power_w for a in cat])[pick]
    p = rng.uniform(0.03, 0.08, args.machines)
    op = Operating(pool_fee=0.02)

    t0 = time.perf_counter()
    res = fleet_over_days(h, w, p, hp, op)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    profit, under_days, day_profit, day_share = python_loop(h.tolist(), w.tolist(), p.tolist(), hp.tolist(), op)
    t_loop = time.perf_counter() - t0
    np.testing.assert_allclose(res["profit_usd"], profit, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(res["fleet_profit_usd"], day_profit, rtol=1e-9)
    np.testing.assert_allclose(res["share_hashrate_under_water"], day_share, atol=1e-9)
    mismatched = int((res["days_under_water"] != np.array(under_days)).sum())
    assert mismatched <= args.machines // 10000, mismatched  # only exact ties at breakeven may differ
    cells = args.machines * len(hp)
    print(
        f"fleet: {args.machines:,} machines x {len(hp)} days = {cells:,} machine-days (real hashprice "
        f"{hp.min():.2f}-{hp.max():.2f} $/PH/day)"
    )
    print(f"  hashlens fleet_over_days (numpy): {t_vec:8.2f} s  {cells / t_vec:14,.0f} machine-days/s")
    print(f"  plain Python loop, same work:     {t_loop:8.2f} s  {cells / t_loop:14,.0f} machine-days/s")
    print(
        f"  ratio: {t_loop / t_vec:,.0f}x; outputs agree (fleet profit ${res['profit_usd'].sum():,.0f} over the year, "
        f"{int(res['days_under_water'].sum()):,} machine-days under water)"
    )


if __name__ == "__main__":
    main()
