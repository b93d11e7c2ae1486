"""Fleet economics for 1,000,000 machines x 365 days, beside its strongest peer: the same
outputs by a plain vectorised numpy variant (cost and breakeven written out, the share of
hashrate under water by ``np.bincount`` of each machine's count of days under water), timed
interleaved in one run; the outputs are checked equal first.

Run: `sh scripts/bench fleet [--machines N] [--rounds N]`, or `--smoke` for a seconds-long run
(20,000 machines, 3 rounds). The hashprice series is the real one of the 365 days to 31 Jan
2026 from the store (chain and prices of ../shared/data); machines are drawn from the bundled
catalogue with power prices between $0.03 and $0.08/kWh (seeded).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np

if not __package__:  # run as a file (python benchmarks/bench_fleet.py): the repository on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.interleave import interleaved, load_average, report
from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.economics.asics import load_catalogue
from hashlens.economics.daily import hashprice_days
from hashlens.economics.fleet import Operating, fleet_over_days
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices


def bincount_peer(h: np.ndarray, w: np.ndarray, p: np.ndarray, hp: np.ndarray, op: Operating) -> dict[str, np.ndarray]:
    """The same outputs, written out in numpy without hashlens: daily cost and revenue rate
    per machine, breakeven = cost / rate, days under water by binary search in the sorted
    series, hashrate under water per day by ``np.bincount`` over those counts."""
    rate = h / 1000 * ((1 - op.pool_fee) * (1 - op.stale_rate) * op.uptime)
    kw = w / 1000 * op.pue
    cost = kw * 24 * op.uptime * (p + op.hosting_usd_per_kwh) + kw * op.hosting_usd_per_kw_month / (365.25 / 12)
    thr = cost / rate
    hs = np.sort(hp)
    under = np.searchsorted(hs, thr, side="left")
    counts = np.bincount(under, weights=h, minlength=hp.size + 1)
    at_least = np.cumsum(counts[::-1])[::-1]
    return {
        "profit_usd": rate * hp.sum() - hp.size * cost,
        "days_under_water": under,
        "fleet_profit_usd": hp * rate.sum() - cost.sum(),
        "share_hashrate_under_water": at_least[np.searchsorted(hs, hp, side="left") + 1] / at_least[0],
    }


def hashprice_year() -> np.ndarray:
    """The real daily hashprice of the 365 days to 31 Jan 2026 [USD/PH/day]."""
    from hashlens.store import Store

    data = require_data_dir()
    with Store(Path(tempfile.mkdtemp()) / "b.duckdb") as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        end = date(2026, 1, 31)
        rows = hashprice_days(s, [end - timedelta(days=364 - i) for i in range(365)])
    return np.array([r.usd_per_ph_day for r in rows], dtype=float)


def run(machines: int, rounds: int) -> float:
    hp = hashprice_year()
    cat = [a for a in load_catalogue() if a.release_date.year >= 2019]
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(cat), machines)
    h = np.array([a.hashrate_ths for a in cat], dtype=float)[pick]
    w = np.array([a.power_w for a in cat], dtype=float)[pick]
    p = rng.uniform(0.03, 0.08, machines)
    op = Operating(pool_fee=0.02, pue=1.05, hosting_usd_per_kw_month=2.0)
    res, peer = fleet_over_days(h, w, p, hp, op), bincount_peer(h, w, p, hp, op)
    for k in ("profit_usd", "fleet_profit_usd", "share_hashrate_under_water"):
        np.testing.assert_allclose(res[k], peer[k], rtol=1e-9, atol=1e-6, err_msg=k)
    mismatched = int((res["days_under_water"] != peer["days_under_water"]).sum())
    assert mismatched <= machines // 10_000, mismatched  # only exact ties at breakeven may differ
    print(
        f"fleet: {machines:,} machines x {hp.size} days = {machines * hp.size:,} machine-days (real hashprice "
        f"{hp.min():.2f}-{hp.max():.2f} $/PH/day); outputs agree; {load_average()}"
    )
    t_ours, t_peer = interleaved(
        lambda: fleet_over_days(h, w, p, hp, op), lambda: bincount_peer(h, w, p, hp, op), rounds
    )
    return report("fleet_over_days", "numpy bincount variant", t_ours, t_peer)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--smoke", action="store_true", help="a seconds-long run (20,000 machines, 3 rounds)")
    args = ap.parse_args()
    if args.smoke:
        run(20_000, 3)
    else:
        run(args.machines, args.rounds)


if __name__ == "__main__":
    main()
