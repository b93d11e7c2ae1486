"""The `simulate` command: a scenario file, N paths, a seed; optional sweep on Dask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table
from hashlens.errors import HashlensError

MAX_PATHS = 1_000_000


def prepare(scenario_path: Path, quiet: bool) -> tuple[Any, Any, dict[str, float], dict[str, Any]]:
    """Load the scenario and whatever it needs from the store, the catalogue and files."""
    from hashlens.economics.asics import find_model, load_catalogue
    from hashlens.sim.engine import resolve
    from hashlens.sim.scenario import load_scenario
    from hashlens.sources.prices import read_prices

    s = load_scenario(scenario_path)
    cat = load_catalogue()
    effs = {g.model: find_model(cat, g.model, "hashrate.fleet model: ").efficiency_j_per_th for g in s.fleet}
    needs_chain = s.hashrate_ehs is None or s.price_usd is None or (s.bits is None and s.difficulty is None)
    chain = None
    extras: dict[str, Any] = {"efficiencies": effs}
    if needs_chain or s.price_model == "bootstrap":
        from hashlens.cli.economics_cmds import ready_store
        from hashlens.sim.chain_state import chain_state, daily_log_returns

        with ready_store(quiet) as store:
            if needs_chain:
                chain = chain_state(store, s.height)
            if s.price_model == "bootstrap":
                s.bootstrap_returns = extras["bootstrap_returns"] = daily_log_returns(store)
    if s.price_model == "path":
        f = Path(s.price_file or "")
        if not f.is_absolute():
            f = scenario_path.parent / f
        pts = read_prices(f)
        s.price_path = extras["price_path"] = [p.price for p in pts]
    r = resolve(s, chain, lambda m: effs[m])
    return s, r, effs, {"chain": chain, "extras": extras}


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
    from hashlens.sim.engine import summarise

    if not 1 <= paths <= MAX_PATHS:
        raise HashlensError(f"--paths must be between 1 and {MAX_PATHS:,}")
    if not 1 <= workers <= 64:
        raise HashlensError("--workers must be between 1 and 64")
    s, r, _, ctx = prepare(scenario, as_json)
    progress = RichProgress(quiet=as_json)
    try:
        if sweep:
            from hashlens.sim.sweep import grid, parse_axis, run_sweep

            axes = [parse_axis(a) for a in sweep]
            progress.start(f"sweep {s.name} ({len(grid(axes))} points)", len(grid(axes)))
            results = run_sweep(
                s.raw, axes, ctx["chain"], paths, seed, ctx["extras"], scheduler, workers, progress=progress.advance
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
