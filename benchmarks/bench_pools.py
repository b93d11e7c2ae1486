"""Pools: attribution of coinbases and the figures of a whole table, each beside its strongest
peer and beside a Python loop over the same owners.

Run: ``python -m benchmarks.bench_pools [--coinbases N] [--rounds R] [--smoke]``.

1. **Attribution**: N coinbases — the real mainnet ones of ``tests/pool_fixtures.py`` (AntPool,
   BTCC, F2Pool, Foundry USA by address and by tag, an unidentified block), repeated — matched
   against ``mempool-pools-v2.json`` by :func:`hashlens.pools.attribution.attribute`
   (vectorised: output scripts looked up once each, scriptSigs through the tag automaton).
   Peer: the way one writes it without hashlens, leaning on C — a dictionary look-up per output
   script and one compiled regular expression holding every tag (alternatives in pool order
   inside a look-ahead, so every position of the scriptSig is tried and the first pool wins).
   Also beside :func:`~hashlens.pools.attribution.attribute_loop` (block by block, pool by pool,
   the way mempool's matcher walks the rules). All three must give the same pools.
2. **Table figures**: the whole 2018–2023 btl table (236 entities × 2,191 days, 321,825 blocks)
   read from the shared file: every pool's share with its exact Clopper–Pearson interval, HHI,
   top-1/top-3 and Nakamoto coefficient, and every pool's luck in 2023 against its 2022 share
   with exact Poisson p-values and Holm's correction — vectorised (one call of each owner over
   all pools). Peer: pandas (group by pool, sum the years) with SciPy's beta quantiles and
   Poisson tails, Holm in numpy. Also beside the same owners called pool by pool.

Runs are interleaved (the order alternating each round); min / median / max of each and the
ratio of the medians (above 1: hashlens is faster) are printed. ``--smoke`` runs a few seconds'
worth (the test suite runs it).
"""

from __future__ import annotations

import csv
import re
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_pools.py`

import numpy as np

from benchmarks.common import Row, compare, interleave, parser
from hashlens.pools import stats
from hashlens.pools.attribution import attribute, attribute_loop
from hashlens.pools.names import UNKNOWN, pool_of
from hashlens.pools.rules import CompiledRules, compile_rules, fold
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


def attribute_regex(coinbases: list[Coinbase], rules: CompiledRules) -> tuple[list[int], list[str]]:
    """The peer: each block's pool index (-1: none) and method, address first, in plain Python
    over a dictionary and one regular expression (the standard library's C matcher)."""
    by_tag: dict[bytes, int] = {}
    for t, i in rules.tags:  # a tag named by two pools belongs to the first
        by_tag.setdefault(t, i)
    ordered = sorted(by_tag, key=lambda t: by_tag[t])
    # At each position the first alternative that matches is the lowest pool starting there.
    every = re.compile(b"(?=(" + b"|".join(map(re.escape, ordered)) + b"))")
    scripts = rules.script_pool
    pools, methods = [], []
    for c in coinbases:
        addr = min((scripts[o] for o in c.output_scripts if o in scripts), default=-1)
        if addr >= 0:
            pools.append(addr)
            methods.append("address")
            continue
        hits = [by_tag[m.group(1)] for m in every.finditer(fold(c.script_sig))]
        pools.append(min(hits) if hits else -1)
        methods.append("tag" if hits else "none")  # pools.attribution.METHODS' names
    return pools, methods


def bench_attribution(n: int, rounds: int) -> None:
    data = require_data_dir()
    rules = compile_rules(read_rules(data / "pools/mempool-pools-v2.json"))
    base = real_coinbases()
    cbs = (base * (n // len(base) + 1))[:n]
    out: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> Callable[[], float | None]:
        return lambda: out.__setitem__(name, fn())

    contenders = {
        "ours": run("ours", lambda: attribute(cbs, rules)),
        "regex": run("regex", lambda: attribute_regex(cbs, rules)),
        "loop": run("loop", lambda: attribute_loop(cbs, rules)),
    }
    for warm in contenders.values():  # first-call set-up (the tag automaton, the expression) apart
        warm()
    t = interleave(contenders, rounds)
    ours, loop = out["ours"], out["loop"]
    assert ours.pools() == loop.pools() and ours.methods() == loop.methods()
    assert ours.pool_index.tolist() == out["regex"][0], "the regex peer attributes differently"
    assert ours.methods() == out["regex"][1], "the regex peer finds other methods"
    what = f"attribution of {n:,} coinbases ({rules.rules_id}, address-first)"
    peer = "dict per output script + one regular expression of every tag"
    compare(Row(NAME, what, "attribute (vectorised)", peer, t["ours"], t["regex"], 1.0, n, "coinbases"))
    loop_peer = "the same rules, block by block (loop)"
    compare(
        Row(
            NAME,
            what + ", beside a loop",
            "attribute (vectorised)",
            loop_peer,
            t["ours"],
            t["loop"],
            None,
            n,
            "coinbases",
        )
    )


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


def table_figures_scipy(names: list[str], days: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    """The peer: the same figures with pandas and SciPy, as an analyst writes them."""
    import pandas as pd
    from scipy import stats as sps

    df = pd.DataFrame(counts, index=pd.Index(names, name="pool"))
    per_pool = df.groupby(level="pool").sum()
    years = pd.DatetimeIndex(days.astype("datetime64[ns]")).year
    by_year = per_pool.T.groupby(years).sum().T  # pools x years
    known = per_pool.index != UNKNOWN
    total = int(counts.sum())
    k = per_pool.sum(axis=1)[known].to_numpy(dtype=float)
    a = 0.05
    lo = np.where(k > 0, sps.beta.ppf(a / 2, k, total - k + 1), 0.0)
    hi = np.where(k < total, sps.beta.ppf(1 - a / 2, k + 1, total - k), 1.0)
    ref, test = by_year.loc[known, 2022].to_numpy(), by_year.loc[known, 2023].to_numpy()
    keep = ref > 0
    mu = ref[keep] / by_year[2022].sum() * by_year[2023].sum()
    x = test[keep]
    p = np.minimum(1.0, 2.0 * np.minimum(sps.poisson.cdf(x, mu), sps.poisson.sf(x - 1, mu)))
    order = np.argsort(p, kind="stable")
    adj = np.empty(p.size)
    adj[order] = np.minimum(1.0, np.maximum.accumulate((p.size - np.arange(p.size)) * p[order]))
    return {"share_low": lo, "share_high": hi, "hhi": float(((k / total) ** 2).sum()), "p_adjusted": adj}


def bench_table(rounds: int, smoke: bool) -> None:
    names, days, counts = btl_table()
    if smoke:
        days, counts = days[-365 * 2 :], counts[:, -365 * 2 :]
    out: dict[str, Any] = {}
    fns = {"ours": table_figures, "scipy": table_figures_scipy, "loop": table_figures_loop}

    def run(name: str) -> Callable[[], float | None]:
        return lambda: out.__setitem__(name, fns[name](names, days, counts))

    for name in fns:  # once each before timing: imports (pandas, SciPy) and first-call set-up
        run(name)()
    t = interleave({name: run(name) for name in fns}, rounds)
    for peer in ("scipy", "loop"):
        for key in ("share_low", "share_high", "p_adjusted"):
            assert np.allclose(out["ours"][key], out[peer][key], rtol=1e-9, atol=1e-15), (peer, key)
        assert abs(float(out["ours"]["hhi"]) - float(out[peer]["hhi"])) < 1e-12, peer
    pools = len({n for n in names if n != UNKNOWN})
    what = (
        f"shares + intervals, HHI, luck (Holm) of {pools} pools over {counts.shape[1]:,} days "
        f"({int(counts.sum()):,} blocks)"
    )
    ours = "one call of each owner over all pools"
    compare(Row(NAME, what, ours, "pandas group-by + SciPy beta/Poisson", t["ours"], t["scipy"], 1.0))
    compare(
        Row(NAME, what + ", beside a loop", ours, "the same owners, pool by pool (loop)", t["ours"], t["loop"], None)
    )


NAME = "pools"


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--coinbases", type=int, default=120_000)
    args = ap.parse_args()
    n = 6_000 if args.smoke else args.coinbases
    rounds = args.rounds or (2 if args.smoke else 5)
    bench_attribution(n, rounds)
    bench_table(rounds, args.smoke)


if __name__ == "__main__":
    main()
