"""Pools: attribution of coinbases and the figures of a whole table, each beside a Python loop.

Run: ``python -m benchmarks.bench_pools [--coinbases N] [--rounds R] [--smoke]``.

1. **Attribution**: N coinbases — the real mainnet ones of ``tests/pool_fixtures.py`` (AntPool,
   BTCC, F2Pool, Foundry USA by address and by tag, an unidentified block), repeated — matched
   against ``mempool-pools-v2.json`` by :func:`hashlens.pools.attribution.attribute`
   (vectorised: output scripts looked up once each, scriptSigs through the tag automaton)
   beside :func:`~hashlens.pools.attribution.attribute_loop` (block by block, pool by pool,
   the way mempool's matcher walks the rules). Both must give the same pools.
2. **Table figures**: the whole 2018–2023 btl table (236 entities × 2,191 days, 321,825 blocks)
   read from the shared file: every pool's share with its exact Clopper–Pearson interval, HHI,
   top-1/top-3 and Nakamoto coefficient, and every pool's luck in 2023 against its 2022 share
   with exact Poisson p-values and Holm's correction — vectorised (one call of each owner over
   all pools) beside the same owners called pool by pool.

Runs are interleaved (vectorised, loop, vectorised, …); min / median / max of each and the
ratio of the medians (above 1: the vectorised path is faster) are printed. ``--smoke`` runs a
few seconds' worth (the test suite runs it).
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_pools.py`

import numpy as np

from benchmarks.common import Row, record
from hashlens.pools import stats
from hashlens.pools.attribution import attribute, attribute_loop
from hashlens.pools.names import UNKNOWN, pool_of
from hashlens.pools.rules import compile_rules
from hashlens.sources.coinbase import Coinbase, coinbase_from_block, coinbase_from_getblock, coinbase_from_tx
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.pool_files import read_rules


def real_coinbases() -> list[Coinbase]:
    from tests import pool_fixtures as fx

    cbs = [
        coinbase_from_block(bytes.fromhex(fx.BLOCK_501728)),
        coinbase_from_block(bytes.fromhex(fx.BLOCK_501726)),
        coinbase_from_block(bytes.fromhex(fx.BLOCK_334720)),
        coinbase_from_tx(fx.COINBASE_481824),
        coinbase_from_tx(fx.COINBASE_779832),
        coinbase_from_getblock({"tx": [fx.GETBLOCK_905349_TX0]}),
    ]
    # the same scriptSigs without their outputs: matched by tag only (the automaton's work)
    cbs += [Coinbase(c.height, None, c.script_sig, ()) for c in cbs]
    return cbs


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def interleave(a: Callable[[], Any], b: Callable[[], Any], rounds: int) -> tuple[list[float], list[float], Any, Any]:
    ta, tb = [], []
    ra = rb = None
    for _ in range(rounds):
        t, ra = timed(a)
        ta.append(t)
        t, rb = timed(b)
        tb.append(t)
    return ta, tb, ra, rb


def report(title: str, unit: str, work: float, ta: list[float], tb: list[float]) -> None:
    def line(name: str, ts: list[float]) -> str:
        med = statistics.median(ts)
        return (
            f"  {name:<11} min {min(ts) * 1e3:9.1f} ms  median {med * 1e3:9.1f} ms  max {max(ts) * 1e3:9.1f} ms"
            f"  ({work / med:,.0f} {unit}/s)"
        )

    print(title)
    print(line("vectorised", ta))
    print(line("loop", tb))
    print(f"  ratio (loop median / vectorised median): {statistics.median(tb) / statistics.median(ta):.1f}x")
    record(Row("pools", title.rstrip(":"), "vectorised owners", "the same owners, item by item (loop)", ta, tb, None))


def bench_attribution(n: int, rounds: int) -> None:
    data = require_data_dir()
    rules = compile_rules(read_rules(data / "pools/mempool-pools-v2.json"))
    base = real_coinbases()
    cbs = (base * (n // len(base) + 1))[:n]
    ta, tb, ra, rb = interleave(lambda: attribute(cbs, rules), lambda: attribute_loop(cbs, rules), rounds)
    assert ra.pools() == rb.pools() and ra.methods() == rb.methods()
    report(f"attribution of {n:,} coinbases ({rules.rules_id}, address-first):", "coinbases", n, ta, tb)


def btl_table() -> tuple[list[str], np.ndarray, np.ndarray]:
    data = require_data_dir()
    with open(data / "pools/btl-blocks-per-entity-daily-2018-2023.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    days = np.array([datetime.strptime(d.strip(), "%d/%m/%Y").date() for d in rows[0][1:]], dtype="datetime64[D]")
    names = [pool_of(r[0]) for r in rows[1:]]
    counts = np.array([[int(x) for x in r[1:]] for r in rows[1:]], dtype=np.int64)
    return names, days, counts


def table_figures(names: list[str], days: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """Every pool's share and interval over the whole table, the concentration figures, and every
    pool's luck in 2023 against its 2022 share (Holm across pools): one call of each owner."""
    pools = sorted({n for n in names if n != UNKNOWN})
    index = np.array([pools.index(n) if n != UNKNOWN else len(pools) for n in names])
    order = np.argsort(index, kind="stable")
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], index[order]])))
    per_pool = np.add.reduceat(counts[order], starts, axis=0)  # rows: pools in order, then unknown
    total = int(counts.sum())
    k = per_pool[:-1].sum(axis=1)
    lo, hi = stats.clopper_pearson(k, np.full(k.shape, total))
    conc = stats.concentration(k, total)
    y22 = (days >= np.datetime64(date(2022, 1, 1))) & (days <= np.datetime64(date(2022, 12, 31)))
    y23 = (days >= np.datetime64(date(2023, 1, 1))) & (days <= np.datetime64(date(2023, 12, 31)))
    ref, test = per_pool[:-1, y22].sum(axis=1), per_pool[:-1, y23].sum(axis=1)
    keep = ref > 0
    mu = ref[keep] / per_pool[:, y22].sum() * per_pool[:, y23].sum()
    luck = stats.luck(test[keep], mu)
    adj = stats.holm(luck["p_two_sided"])
    return {"share_low": lo, "share_high": hi, "hhi": conc["hhi"], "p_adjusted": adj}


def table_figures_loop(names: list[str], days: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """The same, pool by pool: sums in Python and one scalar call of each owner per pool."""
    pools = sorted({n for n in names if n != UNKNOWN})
    totals: dict[str, int] = dict.fromkeys(pools, 0)
    r22: dict[str, int] = dict.fromkeys(pools, 0)
    r23: dict[str, int] = dict.fromkeys(pools, 0)
    y22 = [i for i, d in enumerate(days.astype(object)) if d.year == 2022]
    y23 = [i for i, d in enumerate(days.astype(object)) if d.year == 2023]
    all22 = all23 = total = 0
    for name, row in zip(names, counts.tolist(), strict=True):
        s = sum(row)
        a = sum(row[i] for i in y22)
        b = sum(row[i] for i in y23)
        total, all22, all23 = total + s, all22 + a, all23 + b
        if name != UNKNOWN:
            totals[name] += s
            r22[name] += a
            r23[name] += b
    lo, hi = [], []
    for p in pools:
        x, y = stats.clopper_pearson(totals[p], total)
        lo.append(x)
        hi.append(y)
    hhi = sum((totals[p] / total) ** 2 for p in pools)
    p2 = [stats.luck(r23[p], r22[p] / all22 * all23)["p_two_sided"] for p in pools if r22[p] > 0]
    return {"share_low": np.array(lo), "share_high": np.array(hi), "hhi": hhi, "p_adjusted": stats.holm(p2)}


def bench_table(rounds: int, smoke: bool) -> None:
    names, days, counts = btl_table()
    if smoke:
        days, counts = days[-365 * 2 :], counts[:, -365 * 2 :]
    ta, tb, ra, rb = interleave(
        lambda: table_figures(names, days, counts), lambda: table_figures_loop(names, days, counts), rounds
    )
    for key in ("share_low", "share_high", "p_adjusted"):
        assert np.allclose(ra[key], rb[key], rtol=1e-9, atol=1e-15), key
    assert abs(float(ra["hhi"]) - float(rb["hhi"])) < 1e-12
    pools = len({n for n in names if n != UNKNOWN})
    report(
        f"shares + intervals, HHI, luck (Holm) of {pools} pools over {counts.shape[1]:,} days "
        f"({int(counts.sum()):,} blocks):",
        "tables",
        1,
        ta,
        tb,
    )
    print(f"  vectorised median {statistics.median(ta) * 1e3:.1f} ms (target: 100 ms or less)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coinbases", type=int, default=120_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="a few seconds' worth (the test suite's run)")
    args = ap.parse_args()
    n, rounds = (6_000, 2) if args.smoke else (args.coinbases, args.rounds)
    bench_attribution(n, rounds)
    bench_table(rounds, args.smoke)


if __name__ == "__main__":
    main()
