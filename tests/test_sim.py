"""The simulator: exact retargets, validation against closed forms, reproducibility, sweeps, backtest."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from hashlens.chain.sync import sync
from hashlens.consensus import calculate_next_work_required, target_to_bits
from hashlens.consensus.compact import decode_compact
from hashlens.consensus.vectorised import retarget
from hashlens.errors import HashlensError
from hashlens.sim import theory
from hashlens.sim.engine import resolve, simulate, summarise
from hashlens.sim.scenario import load_scenario, parse_scenario
from hashlens.store import Store
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples/scenarios"


def test_vectorised_retarget_is_bit_exact() -> None:
    rng = np.random.default_rng(11)
    n = 20000
    e = rng.integers(4, 0x1E, n)
    m = rng.integers(0x8000, 0x800000, n)
    ts = rng.integers(-1000, 6_000_000, n)
    nm, ne = retarget(m, e, ts)
    checked = 0
    for i in range(n):
        bits = int((e[i] << 24) | m[i])
        if decode_compact(bits)[0] > (1 << 224) - 1:
            continue
        assert int((ne[i] << 24) | nm[i]) == calculate_next_work_required(bits, 0, int(ts[i])), hex(bits)
        checked += 1
    assert checked > 15000
    # The powLimit cap: difficulty-1 bits with a slow period stay at 0x1d00ffff.
    m1, e1 = retarget(np.array([0xFFFF]), np.array([0x1D]), np.array([3_000_000]))
    assert (int(e1[0]) << 24 | int(m1[0])) == 0x1D00FFFF


def constant(days: float = 365) -> dict:
    return {
        "name": "c",
        "days": days,
        "initial": {"hashrate_ehs": 900, "price_usd": 80000, "difficulty": "steady-state"},
    }


def test_constant_hashrate_matches_the_exact_equilibrium() -> None:
    r = resolve(parse_scenario(constant()))
    res = simulate(r, 100_000, 7)
    common = int(res.periods_done.min())
    periods = res.period_s[:, 1:common].astype(np.float64) / 2016  # after the first period
    mean, se = periods.mean(), periods.std() / np.sqrt(periods.size)
    assert abs(mean - theory.constant_mean_interval_s()) < 4 * se + 0.002
    assert abs(mean - 1209600 / 2015) > 10 * se  # and it is not the naive 2015-interval figure
    adj = res.adjustments[:, :common].astype(np.float64)
    assert abs(adj.mean() - theory.constant_expected_change_pct()) < 4 * adj.std() / np.sqrt(adj.size)
    s = summarise(r, res)
    assert 0.45 < s["p_next_adjustment_negative"] < 0.55
    print(
        f"\nconstant hashrate: mean interval {mean:.4f} s (theory {theory.constant_mean_interval_s():.4f}), "
        f"mean retarget {adj.mean():+.4f} % (theory {theory.constant_expected_change_pct():+.4f} %)"
    )


def test_growth_matches_the_closed_form() -> None:
    s = load_scenario(EXAMPLES / "growth-10pct-per-14-days.yaml")
    r = resolve(s)
    res = simulate(r, 20_000, 3)
    common = int(res.periods_done.min())
    mean = res.period_s[:, :common].astype(np.float64).mean() / 2016
    g = theory.growth_rate_per_s(10)
    want = theory.growth_mean_interval_s(g)
    assert abs(mean / want - 1) < 0.002  # the Poisson terms the closed form drops are O(1/2015)
    adj = np.nanmedian(res.adjustments[:, :common], axis=0)
    # Each retarget raises difficulty by T/τ - 1 in the steady state.
    assert np.allclose(adj, (1209600 / theory.steady_state_timespan_s(g) - 1) * 100, atol=0.3)
    summary = summarise(r, res)
    assert summary["mean_block_interval_s"] == pytest.approx(mean)
    print(f"\n10 %/14 days growth: mean interval {mean:.3f} s, closed form {want:.3f} s")


def test_reproducible_whatever_the_executor() -> None:
    r = resolve(parse_scenario(constant(60)))
    a = summarise(r, simulate(r, 40_000, 42))
    with ThreadPoolExecutor(2) as pool:
        b = summarise(r, simulate(r, 40_000, 42, map_fn=lambda f, jobs: list(pool.map(f, jobs))))
    assert a == b
    assert summarise(r, simulate(r, 40_000, 43)) != a


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"price": {"model": "gbm", "sigma_annual": -0.2}}, "price.sigma_annual"),
        ({"curtailment": [{"start_day": 1, "days": 2, "share": 1.4}]}, r"curtailment\[0\].share"),
        ({"hashrate": {"model": "fleet", "fleet": [{"model": "S21", "share": 0.5}]}}, "shares add up to 0.5"),
        ({"days": 0}, "scenario.days"),
        ({"price": {"model": "lottery"}}, "price.model"),
        ({"wind": 3}, "unknown field"),
    ],
)
def test_bad_scenarios_name_the_field(patch: dict, field: str) -> None:
    with pytest.raises(HashlensError, match=field):
        parse_scenario(constant() | patch)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Store:
    s = Store(tmp_path_factory.mktemp("sim") / "s.duckdb")
    sync(s, str(data_dir / "chain"))
    return s


def test_backtest_on_real_periods(store: Store) -> None:
    """From each real period's first block, with the hashrate the previous period implied,
    forecast the next retarget; compare with what the chain did."""
    rows = store.rows(
        "SELECT p.period, p.bits, b.time FROM periods p JOIN blocks b ON b.height = p.start_height ORDER BY p.period"
    )
    t = {int(p): int(tm) for p, _, tm in rows}
    bits = dict(store.rows("SELECT period, bits FROM periods"))
    errors, covered = [], 0
    for p in sorted(t):
        if p - 1 not in t or p + 1 not in bits or p < 40:
            continue
        old = decode_compact(int(bits[p - 1]))[0]
        interval = (t[p] - t[p - 1]) / 2016
        h = (2**256 // (old + 1)) / interval / 1e18
        s = parse_scenario(
            {
                "name": "bt",
                "days": 60,
                "record_every_days": 60,
                "initial": {"bits": f"{int(bits[p]):08x}", "hashrate_ehs": h, "price_usd": 1.0},
            }
        )
        res = simulate(resolve(s), 400, p)
        col = res.adjustments[:, 0].astype(np.float64)
        actual = (decode_compact(int(bits[p]))[0] / decode_compact(int(bits[p + 1]))[0] - 1) * 100
        errors.append(np.median(col) - actual)
        lo, hi = np.quantile(col, [0.05, 0.95])
        covered += lo <= actual <= hi
    errors_a = np.abs(errors)
    assert len(errors) > 350
    assert np.median(errors_a) < 6.0
    print(
        f"\nbacktest over {len(errors)} real periods: median abs error {np.median(errors_a):.2f} pp, "
        f"mean {errors_a.mean():.2f} pp; 90 % interval covered {covered}/{len(errors)} "
        "(constant hashrate ignores growth, so coverage is low)"
    )


def test_dask_sweep_on_a_local_cluster() -> None:
    from hashlens.sim.sweep import grid, run_point, run_sweep

    data = constant(40) | {"price": {"model": "gbm", "sigma_annual": 0.5}}
    axes = [("initial.hashrate_ehs", [800, 1000]), ("fees_btc_per_block", [0.0, 0.05])]
    out = run_sweep(data, axes, None, 3000, 5, {}, processes=False)
    assert [o["overrides"] for o in out] == grid(axes)
    keys = [c.spawn_key for c in np.random.SeedSequence(5).spawn(4)]
    again = run_point(data, grid(axes)[2], None, 3000, 5, keys[2], {})
    assert again == out[2]


def test_cli_simulate(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "c.duckdb"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(db, "--data", str(data_dir), *args)

    chart = tmp_path / "fan.png"
    a = cli(
        "simulate",
        str(EXAMPLES / "winter-storm.yaml"),
        "--paths",
        "3000",
        "--seed",
        "9",
        "--json",
        "--chart",
        str(chart),
    )
    assert a.returncode == 0, a.stderr
    d = json.loads(a.stdout)
    assert d["upcoming_adjustments"][0]["change_pct"]["p50"] < -5  # the storm's slow blocks
    assert "mean_block_interval_s" in d and chart.stat().st_size > 10000
    b = cli("simulate", str(EXAMPLES / "winter-storm.yaml"), "--paths", "3000", "--seed", "9", "--json")
    assert {k: v for k, v in json.loads(b.stdout).items() if k != "chart"} == {
        k: v for k, v in d.items() if k != "chart"
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\ninitial: {hashrate_ehs: 900, price_usd: 1, difficulty: steady-state}\n"
        "price: {model: gbm, sigma_annual: -0.1}\n"
    )
    r = cli("simulate", str(bad))
    assert r.returncode != 0 and r.stderr.count("\n") == 1 and "price.sigma_annual" in r.stderr
    for name in ("constant-hashrate", "growth-10pct-per-14-days", "price-crash", "winter-storm", "next-halving"):
        load_scenario(EXAMPLES / f"{name}.yaml")
    _ = target_to_bits  # keep the consensus import honest for readers
