"""The `simulate` command: a scenario file, N paths, a seed; optional sweep on Dask."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table
from hashlens.errors import HashlensError

if TYPE_CHECKING:
    from hashlens.sim.setup import PreparedRun

MAX_PATHS = 1_000_000


def prepare(scenario_path: Path, quiet: bool) -> "PreparedRun":
    """Load the scenario and whatever it needs (:func:`hashlens.sim.setup.prepare_run`),
    opening the store only when the scenario reads from it."""
    from hashlens.sim.scenario import load_scenario
    from hashlens.sim.setup import needs_store, prepare_run

    s = load_scenario(scenario_path)
    if needs_store(s):
        from hashlens.cli.stores import ready_store

        with ready_store(quiet) as store:
            return prepare_run(s, store, base_dir=scenario_path.parent)
    return prepare_run(s, base_dir=scenario_path.parent)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML (see examples/scenarios).")],
    paths: Annotated[int, typer.Option(help="Monte Carlo paths.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same result.")] = 1,
    chart: Annotated[Path | None, typer.Option(help="Write a fan chart (PNG).")] = None,
    sweep: Annotated[list[str] | None, typer.Option(help="Grid axis field=v1,v2,… (repeatable).")] = None,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (default: a local cluster).")] = None,
    workers: Annotated[int, typer.Option(help="Local cluster workers for a sweep.")] = 2,
    as_json: JsonOpt = False,
) -> None:
    """Simulate difficulty, hashrate, hashprice and fleet margins; or sweep a parameter grid."""
    from hashlens.cli.progress import RichProgress
    from hashlens.sim.engine import simulate as run
    from hashlens.sim.results import summarise

    if not 1 <= paths <= MAX_PATHS:
        raise HashlensError(f"--paths must be between 1 and {MAX_PATHS:,}")
    if not 1 <= workers <= 64:
        raise HashlensError("--workers must be between 1 and 64")
    prepared = prepare(scenario, as_json)
    s, r = prepared.scenario, prepared.resolved
    progress = RichProgress(quiet=as_json)
    try:
        if sweep:
            from hashlens.sim.sweep import grid, parse_axis, run_sweep

            axes = [parse_axis(a) for a in sweep]
            progress.start(f"sweep {s.name} ({len(grid(axes))} points)", len(grid(axes)))
            results = run_sweep(
                s.raw, axes, prepared.chain, paths, seed, prepared.inputs, scheduler, workers, progress=progress.advance
            )
            data: Any = {
                "scenario": s.name,
                "paths_per_point": paths,
                "seed": seed,
                "engine": scheduler or f"dask LocalCluster({workers} workers)",
                "points": results,
            }
        else:
            progress.start(f"simulate {s.name}", paths)
            data = summarise(r, run(r, paths, seed, progress.advance))
            data["seed"] = seed
            if chart:
                from hashlens.sim.report import fan_chart

                data["chart"] = str(fan_chart(data, chart))
    except BaseException:
        progress.close(failed=True)
        raise
    progress.close()

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        if "points" in d:
            t = Table(title=f"Sweep of {d['scenario']} ({d['paths_per_point']:,} paths per point)")
            for col in ("point", "P(next<0)", "next adj p50", "P(3 drops)", "hashrate end p50"):
                t.add_column(col)
            for p in d["points"]:
                t.add_row(
                    json.dumps(p["overrides"]),
                    f"{p['p_next_adjustment_negative']:.2f}",
                    f"{p['next_adjustment_p50_pct']:+.2f}%",
                    f"{p['p_consecutive_drops']['3']:.2f}",
                    f"{p['end_median']['hashrate_ehs']:.0f} EH/s",
                )
            console.print(t)
            return
        console.print(
            kv_table(
                f"{d['scenario']}: {d['paths']:,} paths, {d['days']:g} days",
                {
                    "start": d["start"],
                    "P(next adjustment < 0)": d["p_next_adjustment_negative"],
                    "P(k consecutive drops)": d["p_consecutive_drops"],
                    "mean block interval [s]": d["mean_block_interval_s"],
                    "chart": d.get("chart"),
                },
            )
        )
        t = Table(title="Upcoming adjustments (% change)")
        for col in ("#", "day (median)", "p5", "p50", "p95", "P(drop)"):
            t.add_column(col, justify="right")
        for u in d["upcoming_adjustments"][:8]:
            q = u["change_pct"]
            t.add_row(
                str(u["index"]),
                f"{u['day_median']:.1f}",
                f"{q['p5']:+.2f}",
                f"{q['p50']:+.2f}",
                f"{q['p95']:+.2f}",
                f"{u['p_drop']:.2f}",
            )
        console.print(t)

    emit(data, as_json, render)


@app.command()
def forecast(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="UTC day: the forecast at 24:00 UTC of it (default: the report's day, the latest day with data).",
        ),
    ] = None,
    height: Annotated[int | None, typer.Option(help="Forecast as of this height instead (data below it only).")] = None,
    horizon: Annotated[int, typer.Option(help="Adjustments ahead (1 … 60).")] = 3,
    paths: Annotated[int, typer.Option(help="Simulated paths (1 … 1,000,000).")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same result.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """Forecast the next adjustments with calibrated ranges (hashlens.sim.forecast); the first row
    is the next adjustment that `difficulty`, `weekly`, the report and the dashboard show."""
    from hashlens.cli.economics_cmds import parse_day
    from hashlens.cli.stores import ready_store
    from hashlens.sim.forecast import ForecastRequest
    from hashlens.weekly.asof import forecast_on

    req = ForecastRequest.build(
        as_of=parse_day(as_of, "--as-of"), height=height, horizon=horizon, paths=paths, seed=seed
    )
    with ready_store(as_json) as store:
        data = forecast_on(store, req)

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        day = f"{d['as_of']}, " if d["as_of"] else ""
        t = Table(title=f"Forecast as of {day}height {d['as_of_height']:,} ({d['basis']} basis, {d['paths']:,} paths)")
        for col in ("adjustment at", "p05", "p50", "p95", "P(drop)", "date (median)"):
            t.add_column(col, justify="right")
        for a in d["adjustments"]:
            q = a["change_pct"]
            t.add_row(
                f"{a['height']:,}",
                f"{q['p05']:+.2f} %",
                f"{q['p50']:+.2f} %",
                f"{q['p95']:+.2f} %",
                f"{a['p_drop']:.0%}",
                a["retarget_time_median"][:16].replace("T", " "),
            )
        console.print(t)
        console.print(d["method"])

    emit(data, as_json, render)


@app.command()
def backtest(
    paths: Annotated[int, typer.Option(help="Paths per forecast (1 … 100,000).")] = 2000,
    first_period: Annotated[int, typer.Option(help="First period forecast (default 40, early 2010).")] = 40,
    since: Annotated[int, typer.Option(help="Also score the points from this year on (a subset of the table).")] = 2019,
    tune: Annotated[
        bool,
        typer.Option(
            "--tune", help="Also rerun the choice of the model's settings on the periods before 2020 (a few minutes)."
        ),
    ] = False,
    hashprice: Annotated[bool, typer.Option(help="Also backtest the hashprice outlook (weekly points).")] = False,
    chart: Annotated[Path | None, typer.Option(help="Write the reliability diagram and PIT histograms (PNG).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk-forward backtest of the adjustment forecast beside zero change and the mean of the last
    k changes (k = 1 … 6), mempool.space's method and the rate extrapolation inside periods: MAE,
    CRPS, coverage and tail shares over the whole history, before 2020 (tuning), 2020-2026
    (scored) and since --since (hashlens.sim.backtest)."""
    from collections.abc import Callable

    from hashlens.chain.clock import ChainClock
    from hashlens.cli.progress import RichProgress
    from hashlens.cli.stores import ready_store
    from hashlens.sim.backtest import chart as draw
    from hashlens.sim.backtest import format_table, format_tuning, run_backtest
    from hashlens.sim.backtest import tune as run_tuning

    if not 1 <= paths <= 100_000:
        raise HashlensError(f"--paths must be 1 … 100,000 (got {paths:,})")
    if first_period < 20:
        raise HashlensError("--first-period must be at least 20 (the model needs trailing periods)")
    if not 2009 <= since <= 2100:
        raise HashlensError(f"--since must be a year from 2009 (got {since})")
    bar = RichProgress(quiet=as_json)
    started: set[str] = set()

    def step(what: str) -> Callable[[int, int], None]:
        def advance(done: int, total: int) -> None:
            if what not in started:
                started.add(what)
                bar.start(what, total)
            bar.advance(1)

        return advance

    try:
        with ready_store(as_json) as store:
            clock = ChainClock.from_store(store)
            data: dict[str, Any] = run_backtest(
                clock, first=first_period, paths=paths, since_year=since, progress=step("backtest points")
            ).to_json()
            if tune:
                # at the tuning's own paths per point: the choice it made for the defaults
                data["tuning"] = run_tuning(clock, first=first_period, progress=step("settings tuned")).to_json()
            if hashprice:
                from hashlens.sim.hashprice_outlook import backtest_hashprice

                data["hashprice"] = backtest_hashprice(store, clock, paths=min(paths, 2000))
    except BaseException:
        bar.close(failed=True)
        raise
    bar.close()
    if chart:
        from hashlens.sim.backtest import Backtest

        data["chart"] = str(draw(Backtest.model_validate({k: data[k] for k in Backtest.model_fields}), chart))

    def render(d: dict[str, Any]) -> None:
        from hashlens.sim.backtest import Backtest, Tuning

        console.print(f"{d['model']}; {d['points']} forecast points, periods {d['periods']}, {d['paths']:,} paths each")
        typer.echo(format_table(Backtest.model_validate({k: d[k] for k in Backtest.model_fields})))
        if "tuning" in d:
            typer.echo(format_tuning(Tuning.model_validate(d["tuning"])))
        if "hashprice" in d:
            from hashlens.sim.hashprice_outlook import format_hashprice_table

            typer.echo(format_hashprice_table(d["hashprice"]))
        if d.get("chart"):
            console.print(f"chart: {d['chart']}")

    emit(data, as_json, render)
