"""The pool statistics against hand computations: binomial and Poisson sums written out term
by term with math.lgamma / math.exp / factorials, brute-force enumeration, and the real
counts of the shared datasets read here with the csv module."""

from __future__ import annotations

import csv
import itertools
import math
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from hashlens.pools import stats


def _binom_pmf(i: int, n: int, p: float) -> float:
    return math.exp(
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
    )


def _binom_cdf(k: int, n: int, p: float) -> float:
    return math.fsum(_binom_pmf(i, n, p) for i in range(k + 1))


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (57, 1008), (1424, 7883), (3264, 7883)])
def test_clopper_pearson_bounds_solve_the_binomial_tails(k: int, n: int) -> None:
    lo, hi = stats.clopper_pearson(k, n, 0.95)
    if k > 0:
        assert 1 - _binom_cdf(k - 1, n, lo) == pytest.approx(0.025, abs=1e-9)
    else:
        assert lo == 0.0
    if k < n:
        assert _binom_cdf(k, n, hi) == pytest.approx(0.025, abs=1e-9)
    else:
        assert hi == 1.0
    assert lo <= k / n <= hi


def test_clopper_pearson_of_a_small_case_in_closed_form() -> None:
    # k = 0: the upper bound solves (1 − p)^n = α/2 exactly; k = n: p^n = α/2 for the lower.
    for n in (1, 5, 144):
        assert stats.clopper_pearson(0, n)[1] == pytest.approx(1 - 0.025 ** (1 / n), rel=1e-10)
        assert stats.clopper_pearson(n, n)[0] == pytest.approx(0.025 ** (1 / n), rel=1e-10)


def _poisson_cdf(k: int, mu: float) -> float:
    return math.fsum(math.exp(-mu) * mu**i / math.factorial(i) for i in range(k + 1))


def _btl(data_dir: Path) -> tuple[list[date], dict[str, list[int]]]:
    with open(data_dir / "pools/btl-blocks-per-entity-daily-2018-2023.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    days = [datetime.strptime(d.strip(), "%d/%m/%Y").date() for d in rows[0][1:]]
    return days, {r[0]: [int(x) for x in r[1:]] for r in rows[1:]}


@pytest.mark.slow
def test_luck_p_values_agree_with_the_poisson_distribution_by_hand(data_dir: Path) -> None:
    """One pool-window of the btl file: EMCD in the 7 days to 2021-09-30, expected from its
    share in the 7 days before; the p-values summed from the Poisson terms with factorials."""
    from hashlens.pools.analysis import pool_luck
    from hashlens.pools.models import LuckRequest

    days, table = _btl(data_dir)
    test_days = [i for i, d in enumerate(days) if date(2021, 9, 24) <= d <= date(2021, 9, 30)]
    ref_days = [i for i, d in enumerate(days) if date(2021, 9, 17) <= d <= date(2021, 9, 23)]
    found = sum(table["EMCD"][i] for i in test_days)
    n_test = sum(v[i] for v in table.values() for i in test_days)
    n_ref = sum(v[i] for v in table.values() for i in ref_days)
    mu = sum(table["EMCD"][i] for i in ref_days) / n_ref * n_test
    p_low = _poisson_cdf(found, mu)
    p_high = 1 - _poisson_cdf(found - 1, mu)
    got = stats.luck(found, mu)
    assert got["p_low"] == pytest.approx(p_low, rel=1e-10)
    assert got["p_high"] == pytest.approx(p_high, rel=1e-10)
    assert got["p_two_sided"] == pytest.approx(min(1.0, 2 * min(p_low, p_high)), rel=1e-10)
    # the same pool-window through the store and the request model
    store = _store_with_btl(data_dir)
    res = pool_luck(store, LuckRequest.build(source="btl", start="2021-09-24", end="2021-09-30"))
    row = next(r for r in res.pools if r.pool == "EMCDPool")
    assert row.found_blocks == found and row.expected_blocks == pytest.approx(mu, rel=1e-12)
    assert row.p_low == pytest.approx(p_low, rel=1e-10) and row.p_high == pytest.approx(p_high, rel=1e-10)
    # Across the pools tested: Holm's step-down and the Benjamini–Hochberg q by hand from their p-values
    ps = [r.p_two_sided for r in res.pools]
    m, ranked = len(ps), sorted(range(len(ps)), key=lambda i: ps[i])
    holm = [0.0] * m
    running = 0.0
    for rank, i in enumerate(ranked):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        holm[i] = running
    q = [0.0] * m
    smallest = 1.0
    for rank in range(m - 1, -1, -1):
        i = ranked[rank]
        smallest = min(smallest, m * ps[i] / (rank + 1))
        q[i] = smallest
    assert [r.p_adjusted for r in res.pools] == pytest.approx(holm, rel=1e-12)
    assert [r.q_value for r in res.pools] == pytest.approx(q, rel=1e-12)
    store.close()


def _store_with_btl(data_dir: Path):  # type: ignore[no-untyped-def]
    from hashlens.chain.sync import sync
    from hashlens.pools.dataset import import_pool_file
    from hashlens.store import Store

    s = Store(":memory:")
    sync(s, str(data_dir / "chain/electrum-mainnet-checkpoints.json"))
    sync(s, str(data_dir / "chain/bitcoinj-mainnet-checkpoints.txt"))
    import_pool_file(s, data_dir / "pools/btl-blocks-per-entity-daily-2018-2023.csv")
    return s


def test_poisson_tails_for_large_means() -> None:
    for k, mu in ((1281, 1434.0), (0, 3.2), (5, 3.2), (120, 100.0)):
        by_hand = math.fsum(math.exp(-mu + i * math.log(mu) - math.lgamma(i + 1)) for i in range(k + 1))
        assert stats.poisson_cdf(k, mu) == pytest.approx(by_hand, rel=1e-10)
        assert stats.poisson_sf(k + 1, mu) == pytest.approx(1 - by_hand, rel=1e-9, abs=1e-15)


def test_holm_and_benjamini_hochberg_by_hand() -> None:
    p = [0.01, 0.04, 0.03, 0.5]
    # Holm: sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1, running maximum
    assert stats.holm(p).tolist() == pytest.approx([0.04, 0.09, 0.09, 0.5])
    # BH: 4p/rank = 0.04, 0.06, 0.0533, 0.5, running minimum from the top
    assert stats.benjamini_hochberg(p).tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5])


def test_run_probability_by_enumeration() -> None:
    for n, run, p in ((10, 3, 0.5), (12, 4, 0.3), (9, 2, 0.8)):
        total = 0.0
        for seq in itertools.product((0, 1), repeat=n):
            longest = max((len(list(g)) for v, g in itertools.groupby(seq) if v), default=0)
            if longest >= run:
                ones = sum(seq)
                total += p**ones * (1 - p) ** (n - ones)
        assert stats.prob_run_at_least(n, run, p) == pytest.approx(total, rel=1e-12)


def test_longest_runs_on_the_canhui_labels(data_dir: Path) -> None:
    with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
        rows = [(int(r["blockid"]), r["miningpool"]) for r in csv.DictReader(fh)]
    rows = [r for r in rows if 500000 <= r[0] < 510000]
    names = sorted({p for _, p in rows if p != "unknown"})
    codes = np.full(10000, -1)
    for h, p in rows:
        if p != "unknown":
            codes[h - 500000] = names.index(p)
    length, end = stats.longest_runs(codes, len(names))
    # by hand: walk the sequence
    best: dict[int, int] = {}
    cur, run = -1, 0
    for c in codes.tolist():
        run = run + 1 if c == cur and c >= 0 else 1
        cur = c
        if c >= 0:
            best[c] = max(best.get(c, 0), run)
    assert {i: int(x) for i, x in enumerate(length) if x} == best
    i = int(np.argmax(length))
    assert (codes[end[i] - length[i] + 1 : end[i] + 1] == i).all()


def test_pool_hashrate_interval_matches_the_pools_own_poisson_count() -> None:
    """Share (binomial) and network rate (Poisson on n) combined ≈ the exact Garwood interval
    of the pool's own count k over the same work and time."""
    from hashlens.chain.hashrate import rate_interval_from_count

    for k, n in ((1281, 4300), (250, 4300), (40, 1008)):
        s_lo, s_hi = stats.clopper_pearson(k, n)
        net_lo, net_hi = rate_interval_from_count(n, 1.0)
        h, lo, hi = stats.pool_hashrate_ehs(k / n, s_lo, s_hi, float(n), net_lo, net_hi)
        own_lo, own_hi = rate_interval_from_count(k, 1.0)
        assert h == pytest.approx(k)
        assert lo == pytest.approx(own_lo, rel=0.03) and hi == pytest.approx(own_hi, rel=0.03)


def test_concentration_by_hand_on_a_btl_window(data_dir: Path) -> None:
    days, table = _btl(data_dir)
    sel = [i for i, d in enumerate(days) if date(2021, 1, 1) <= d <= date(2021, 1, 31)]
    counts = {k: sum(v[i] for i in sel) for k, v in table.items()}
    total = sum(counts.values())
    named = {k: c for k, c in counts.items() if c and not (k[0] in "13" and len(k) > 25)}
    shares = sorted((c / total for c in named.values()), reverse=True)
    got = stats.concentration(np.array(list(named.values())), total)
    assert got["top1"] == pytest.approx(shares[0])
    assert got["top3"] == pytest.approx(sum(shares[:3]))
    assert got["hhi"] == pytest.approx(sum(s * s for s in shares))
    nak = next(i for i in range(1, len(shares) + 1) if sum(shares[:i]) > 0.5)
    assert got["nakamoto"] == nak
    boot = stats.bootstrap_concentration(np.array(list(named.values())), total, 500, seed=7)
    assert boot == stats.bootstrap_concentration(np.array(list(named.values())), total, 500, seed=7)
    assert boot["hhi"][0] < got["hhi"] < boot["hhi"][1]
