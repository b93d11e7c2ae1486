"""The simulator: exact retargets, validation against closed forms, reproducibility, sweeps, backtest."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hashlens.chain.hashrate import implied_hashrate_ehs
from hashlens.consensus import (
    DIFFICULTY_ADJUSTMENT_INTERVAL,
    POW_TARGET_TIMESPAN,
    calculate_next_work_required,
    difficulty_from_bits,
    target_to_bits,
)
from hashlens.consensus.compact import decode_compact
from hashlens.consensus.vectorised import difficulty_change_pct, retarget
from hashlens.errors import HashlensError
from hashlens.sim import theory
from hashlens.sim.engine import simulate
from hashlens.sim.resolved import resolve
from hashlens.sim.results import summarise
from hashlens.sim.scenario import load_scenario, parse_scenario, with_overrides
from hashlens.sim.setup import RunInputs, prepare_run
from hashlens.store import Store
from tests.conftest import copy_db
from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples/scenarios"
N = DIFFICULTY_ADJUSTMENT_INTERVAL
T = POW_TARGET_TIMESPAN


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


@pytest.mark.slow
def test_constant_hashrate_matches_the_exact_equilibrium() -> None:
    r = resolve(parse_scenario(constant()))
    res = simulate(r, 100_000, 7)
    common = int(res.periods_done.min())
    periods = res.period_s[:, 1:common].astype(np.float64) / N  # after the first period
    mean, se = periods.mean(), periods.std() / np.sqrt(periods.size)
    assert abs(mean - theory.constant_mean_interval_s()) < 4 * se + 0.002
    assert abs(mean - T / (N - 1)) > 10 * se  # and it is not the naive 2015-interval figure
    adj = res.adjustments[:, :common].astype(np.float64)
    assert abs(adj.mean() - theory.constant_expected_change_pct()) < 4 * adj.std() / np.sqrt(adj.size)
    s = summarise(r, res)
    assert 0.45 < s["p_next_adjustment_negative"] < 0.55
    print(
        f"\nconstant hashrate: mean interval {mean:.4f} s (theory {theory.constant_mean_interval_s():.4f}), "
        f"mean retarget {adj.mean():+.4f} % (theory {theory.constant_expected_change_pct():+.4f} %)"
    )


@pytest.mark.slow
def test_growth_matches_the_closed_form() -> None:
    s = load_scenario(EXAMPLES / "growth-10pct-per-14-days.yaml")
    r = resolve(s)
    res = simulate(r, 20_000, 3)
    common = int(res.periods_done.min())
    mean = res.period_s[:, :common].astype(np.float64).mean() / N
    g = theory.growth_rate_per_s(10)
    want = theory.growth_mean_interval_s(g)
    assert abs(mean / want - 1) < 0.002  # the Poisson terms the closed form drops are O(1/2015)
    adj = np.nanmedian(res.adjustments[:, :common], axis=0)
    # Each retarget raises difficulty by T/τ - 1 in the steady state.
    assert np.allclose(adj, (T / theory.steady_state_timespan_s(g) - 1) * 100, atol=0.3)
    summary = summarise(r, res)
    assert summary["mean_block_interval_s"] == pytest.approx(mean)
    print(f"\n10 %/14 days growth: mean interval {mean:.3f} s, closed form {want:.3f} s")


@pytest.mark.slow
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


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"initial": {"height": 1e300, "hashrate_ehs": 900, "price_usd": 1}}, "initial.height"),
        ({"days": [1, 2]}, "scenario.days: .* is not a number"),
        ({"days": 10**400}, "scenario.days: must be a finite number"),
        ({"step_days": 1e-6}, "scenario.step_days: .* steps"),
        ({"curtailment": 5}, "curtailment: expected a list"),
        ({"curtailment": [5]}, r"curtailment\[0\]: expected a mapping"),
        ({"price": {"shocks": {"day": 1}}}, "price.shocks: expected a list"),
        ({"hashrate": {"fleet": "S21"}}, "hashrate.fleet: expected a list"),
        ({"price": {"model": "path", "file": ["a.csv"]}}, "price.file"),
        ({"price": {"model": "gbm", "sigma_annual": 1e200}}, "price.sigma_annual"),
        ({"initial": {"hashrate_ehs": 1e300, "price_usd": 1}}, "initial.hashrate_ehs"),
        ({"initial": {"hashrate_ehs": 1e-12, "price_usd": 1}}, "initial.difficulty steady-state"),
        ({"initial": {"hashrate_ehs": 9, "price_usd": 1, "difficulty": 1e300}}, "initial.difficulty"),
        ({"initial": {"hashrate_ehs": 9, "price_usd": 1, "bits": "ffffffffff"}}, "initial.bits"),
        ({"initial": {"hashrate_ehs": 9, "price_usd": 1, "bits": "00000001"}}, "initial.bits: .*zero target"),
        ({"initial": {"hashrate_ehs": 9, "price_usd": 1, "bits": "1e00ffff"}}, "initial.bits: .*powLimit"),
        ({"hashrate": {"model": "growth", "growth_pct_per_14_days": 1e300}}, "hashrate.growth_pct_per_14_days"),
    ],
)
def test_wrong_shapes_and_huge_numbers_are_one_line_errors(patch: dict, field: str) -> None:
    with pytest.raises(HashlensError, match=field) as err:
        resolve(parse_scenario(constant() | patch))
    assert "\n" not in str(err.value)


def test_overrides_name_the_field_they_cannot_set() -> None:
    data = constant() | {"curtailment": [{"start_day": 1, "days": 2, "share": 0.4}]}
    assert with_overrides(data, {"curtailment.0.share": 0.5})["curtailment"][0]["share"] == 0.5
    assert with_overrides(constant(), {"price.sigma_annual": 0.5})["price"] == {"sigma_annual": 0.5}
    assert data["curtailment"][0]["share"] == 0.4  # a copy
    cases: list[tuple[dict[str, Any], str]] = [
        ({"curtailment.5.share": 0.1}, r"curtailment\.5\.share: curtailment has 1 item\(s\), so there is no item 5"),
        ({"price.shocks.0.pct": -10}, r"price\.shocks\.0\.pct: the scenario has no price\.shocks list"),
        ({"curtailment.first.share": 0.1}, "curtailment is a list; 'first' is not an index"),
        ({"days.x": 1}, "days is 365, not a mapping or a list"),
        ({"price..x": 1}, "not a dotted field name"),
    ]
    for overrides, message in cases:
        with pytest.raises(HashlensError, match=message):
            with_overrides(data, overrides)


def test_margins_and_switch_off_use_the_one_breakeven() -> None:
    """Day 0: the recorded margin of the median machine is 1 − breakeven/hashprice, with the
    breakeven of economics.fleet (no pool fee, the scenario's PUE); a generation with no spread
    in power prices is all on below its breakeven and all off above it."""
    from hashlens.consensus import block_subsidy_btc
    from hashlens.economics.fleet import Operating, breakeven_hashprice_usd_per_ph_day
    from hashlens.economics.hashprice import hashprice_usd_per_ph_day

    data = constant(20) | {
        "initial": {"hashrate_ehs": 900, "price_usd": 80000, "difficulty": 1.2e14, "height": 930_000},
        "hashrate": {
            "model": "fleet",
            "pue": 1.2,
            "fleet": [
                {"model": "S21 XP", "share": 0.5, "power_price_median": 0.05, "power_price_sigma": 0},
                {"model": "S19j Pro", "share": 0.5, "power_price_median": 0.08, "power_price_sigma": 0},
            ],
        },
    }
    run = prepare_run(data)
    r = run.resolved
    res = simulate(r, 50, 1)
    d0 = float(res.difficulty[0, 0])
    hp = hashprice_usd_per_ph_day(d0, block_subsidy_btc(r.height // N * N), 0.02, 80000)
    be = breakeven_hashprice_usd_per_ph_day(
        1.0, r.efficiencies, Operating(pool_fee=0.0, pue=1.2), np.array([0.05, 0.08])
    )
    assert be[0] < hp < be[1]  # the S21 XP pays, the S19j Pro does not
    assert res.hashprice_usd[0, 0] == pytest.approx(hp, rel=1e-6)
    assert res.margins[0, :, 0] == pytest.approx(1 - be / hp, rel=1e-5)
    # Only the S21 XP half runs: the hashrate falls to the installed S21 XP capacity (900·0.5 EH/s).
    assert res.hashrate_ehs[0, 0] == pytest.approx(450, rel=1e-6)


def test_prepare_run_fills_fleet_and_price_path(tmp_path: Path) -> None:
    (tmp_path / "path.csv").write_text("date,price\n2026-01-01,90000\n2026-01-02,85000\n2026-01-03,80000\n")
    data = constant(5) | {
        "record_every_days": 1,
        "initial": {"hashrate_ehs": 900, "difficulty": "steady-state"},
        "price": {"model": "path", "file": "path.csv"},
        "hashrate": {"fleet": [{"model": "S21", "share": 1.0}]},
    }
    run = prepare_run(data, base_dir=tmp_path)
    assert run.inputs.price_path == [90000.0, 85000.0, 80000.0]
    assert run.resolved.price_usd == 90000.0  # the path's first day
    assert run.inputs.efficiencies["S21"] == pytest.approx(17.5)
    assert run.chain is None
    res = simulate(run.resolved, 10, 1)
    assert list(res.price_usd[:, 0]) == [90000.0, 85000.0, 80000.0, 80000.0, 80000.0, 80000.0]
    with pytest.raises(HashlensError, match=r"hashrate.fleet\[0\].model"):
        prepare_run(data | {"hashrate": {"fleet": [{"model": "no such miner", "share": 1.0}]}}, base_dir=tmp_path)
    with pytest.raises(HashlensError, match=r"initial\.hashrate_ehs: not given"):
        prepare_run({"name": "x"})  # needs the chain state, and no store was given
    with pytest.raises(HashlensError, match=r"price\.model bootstrap"):
        prepare_run(constant() | {"price": {"model": "bootstrap"}})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, chain_prices_db: Path) -> Store:
    return Store(copy_db(chain_prices_db, tmp_path_factory, "sim"))


def test_backtest_on_real_periods(store: Store) -> None:
    """From each real period's first block, with the hashrate the previous period implied,
    forecast the next retarget; compare with what the chain did."""
    tab = store.period_table()
    t = {int(p): int(tm) for p, tm in zip(tab.period, tab.start_time, strict=True) if not np.isnan(tm)}
    bits = {int(p): int(b) for p, b in zip(tab.period, tab.bits, strict=True)}
    errors, covered = [], 0
    for p in sorted(t):
        if p - 1 not in t or p + 1 not in bits or p < 40:
            continue
        h = implied_hashrate_ehs(bits[p - 1], t[p] - t[p - 1])
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
        actual = difficulty_change_pct(difficulty_from_bits(bits[p]), difficulty_from_bits(bits[p + 1]))
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


def test_chain_state_and_prepare_run_from_the_store(store: Store) -> None:
    run = prepare_run({"name": "from-store", "days": 30, "price": {"model": "bootstrap"}}, store)
    chain = run.chain
    assert chain is not None and chain["height"] % N == 0
    tab = store.period_table()
    p = chain["height"] // N
    assert chain["bits"] == int(tab.bits[p])
    assert chain["hashrate_ehs"] == pytest.approx(
        implied_hashrate_ehs(int(tab.bits[p - 1]), tab.start_time[p] - tab.start_time[p - 1])
    )
    assert run.resolved.height == chain["height"] and run.resolved.hashrate_ehs == chain["hashrate_ehs"]
    assert chain["price_usd"] is not None and chain["price_usd"] == store.price_on(date.fromisoformat(chain["date"]))
    assert run.resolved.price_usd == chain["price_usd"]
    assert run.inputs.bootstrap_returns is not None and run.inputs.bootstrap_returns.size > 100
    with pytest.raises(HashlensError, match="not in the store"):
        prepare_run({"name": "x", "initial": {"height": 10**9}}, store)


def test_dask_sweep_on_a_local_cluster() -> None:
    from hashlens.sim.sweep import grid, run_point, run_sweep

    data = constant(40) | {"price": {"model": "gbm", "sigma_annual": 0.5}}
    axes: list[tuple[str, list[Any]]] = [("initial.hashrate_ehs", [800, 1000]), ("fees_btc_per_block", [0.0, 0.05])]
    out = run_sweep(data, axes, None, 3000, 5, None, processes=False)
    assert [o["overrides"] for o in out] == grid(axes)
    keys = [c.spawn_key for c in np.random.SeedSequence(5).spawn(4)]
    again = run_point(data, grid(axes)[2], None, 3000, 5, keys[2], RunInputs())
    assert again == out[2]
    # A field that is not there fails before any task is sent, in one line naming it.
    with pytest.raises(HashlensError, match=r"curtailment\.5\.share"):
        run_sweep(data, [("curtailment.5.share", [0.1])], None, 10, 5, None, processes=False)


@pytest.mark.slow
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


EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_kernels_equal_the_step_by_step_path(name: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example scenario, run twice from one seed: with the numba kernels (the fused pass
    of the constant and growth models, or the fleet model's fused step), and with no numba at
    all (the step functions on numpy arrays, the event loops and the fleet as plain Python).
    Both must give the same bits in every recorded array. The runner each run took is
    checked, so the comparison cannot be between two runs of one path."""
    from hashlens.sim import engine, kernels

    assert len(EXAMPLE_NAMES) >= 5
    run = prepare_run(EXAMPLES / f"{name}.yaml", store)
    r = run.resolved
    taken: list[str] = []
    ends: list[dict[str, np.ndarray]] = []  # every chunk's final float64 and integer state
    state = ("mantissa", "exponent", "difficulty", "period_start", "need", "acc", "periods", "n_adj", "price")
    for runner in ("_run_fused", "_run_fleet_fused", "_run_stepwise"):
        real = getattr(engine, runner)

        def spy(*a: Any, _real: Any = real, _name: str = runner) -> int:
            taken.append(_name)
            n = int(_real(*a))
            ends.append({k: getattr(a[2], k).copy() for k in state})
            return n

        monkeypatch.setattr(engine, runner, spy)
    fleet = r.scenario.hashrate_model == "fleet"
    paths = 300 if fleet else 1500  # the fleet's plain-Python run is slow
    fast = simulate(r, paths, 21)
    assert taken == ["_run_fleet_fused" if fleet else "_run_fused"]
    assert kernels.steps is not None and hasattr(kernels.quiet_paths, "py_func")  # numba did compile
    monkeypatch.setattr(kernels, "steps", None)
    monkeypatch.setattr(kernels, "record_fast", None)
    monkeypatch.setattr(kernels, "fleet_step", None)
    monkeypatch.setattr(kernels, "all_steps", None)
    monkeypatch.setattr(kernels, "fleet", kernels.fleet_kernel)  # plain Python
    monkeypatch.setattr(kernels, "quiet_paths", kernels.quiet_paths_numpy)
    monkeypatch.setattr(kernels, "event_paths", kernels.event_paths_kernel)  # plain Python
    monkeypatch.setattr(kernels, "apply_events", kernels.apply_events_kernel)
    taken.clear()
    slow = simulate(r, paths, 21)
    assert taken == ["_run_stepwise"]
    # the recorded arrays are float32: the state in float64 shows a difference of one unit
    for k in state:
        assert np.array_equal(ends[0][k], ends[1][k]), k
    assert fast.periods_done.sum() > paths  # every path saw a retarget
    for field in ("record_days", "difficulty", "hashrate_ehs", "hashprice_usd", "price_usd", "margins"):
        assert np.array_equal(getattr(fast, field), getattr(slow, field)), field
    for field in ("adjustments", "adjustment_days", "period_s", "periods_done"):
        assert np.array_equal(getattr(fast, field), getattr(slow, field), equal_nan=True), field


def test_per_period_arrays_are_right_sized() -> None:
    """The per-period arrays hold the columns some path used (grown on demand, never capped
    below the old bound)."""
    from hashlens.sim import engine, results

    s = parse_scenario(
        {
            "name": "nb",
            "days": 300,
            "initial": {"hashrate_ehs": 900, "price_usd": 80000, "difficulty": "steady-state"},
            "hashrate": {"model": "growth", "growth_pct_per_14_days": 40},
        }
    )
    r = resolve(s)
    a = simulate(r, 3000, 9)
    assert a.adjustments.shape[1] == int(a.periods_done.max())
    # a path needing more columns than first allocated grows them (NaN-filled, up to k_max)
    out = engine._empty_result(4, engine.make_plan(r), 0)
    k0 = out.adjustments.shape[1]
    results.ensure_columns(out, k0 + 1)
    assert out.adjustments.shape[1] == min(2 * k0, out.k_max) and np.isnan(out.period_s[:, k0:]).all()
