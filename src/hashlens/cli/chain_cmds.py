"""Commands over the store: sync, difficulty, hashrate."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table, served, state
from hashlens.cli.stores import reader_store, writer_store
from hashlens.errors import HashlensError


@app.command("sync")
def sync_cmd(
    source: Annotated[
        str,
        typer.Argument(
            help="A file or folder of chain data (format detected from content), "
            "bitcoind://[user:pass@]host:port, or esplora+http(s)://host/path."
        ),
    ],
    start_height: Annotated[int | None, typer.Option(help="Height of the first header (raw files, remote).")] = None,
    periods_only: Annotated[
        bool, typer.Option("--periods-only", help="From a node: only each period's first header (fast).")
    ] = False,
    rpc_cookie: Annotated[str | None, typer.Option(help="Bitcoin Core .cookie file for RPC auth.")] = None,
    batch_rows: Annotated[int | None, typer.Option(help="Rows per committed batch.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Import chain data into the store, validating every header; reruns resume."""
    from hashlens.chain.sync import sync
    from hashlens.cli.progress import RichProgress
    from hashlens.pools.attribution import attribute_node_blocks

    if batch_rows is not None and batch_rows < 1:
        raise HashlensError("--batch-rows must be at least 1")
    progress = RichProgress(quiet=as_json)
    with writer_store() as store:
        try:
            # A node's recent blocks are attributed to their pools from their coinbases
            # (with the store's rules file) by the pools package.
            reports = sync(
                store,
                source,
                progress,
                batch_rows,
                start_height,
                periods_only,
                rpc_cookie,
                on_blocks=attribute_node_blocks,
            )
        except BaseException:
            progress.close(failed=True)
            raise
        progress.close()
        counts = store.counts()
    data = {"store": str(state.db_path), "imports": [r.as_dict() for r in reports], "counts": counts}

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        t = Table(title=f"sync into {d['store']}")
        for col in ("source", "kind", "added", "skipped", "notes"):
            t.add_column(col)
        for r in d["imports"]:
            t.add_row(r["source"], r["kind"], str(r["added"]), str(r["skipped"]), "; ".join(r["notes"]))
        console.print(t)
        console.print(kv_table("store now holds", d["counts"]))

    emit(data, as_json, render)


difficulty_app = typer.Typer(help="Difficulty: latest adjustment, history, next retarget.", invoke_without_command=True)
app.add_typer(difficulty_app, name="difficulty")


AS_OF_HELP = "UTC day answered for, at 24:00 UTC (default: the report's day, the latest day with data)."


@difficulty_app.callback()
def difficulty(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)] = None,
    now: Annotated[
        int | None,
        typer.Option(help="'Now' for mempool.space's method [Unix s]; default the day's end."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Latest adjustment with rank, streak and records; the running period with the next
    adjustment (the forecast's first row) and mempool.space's method beside it, as of a day."""
    if ctx.invoked_subcommand is not None:
        return
    answer = served("/v1/difficulty") if now is None and as_of is None else None
    if answer is not None:
        data, via = answer
    else:
        from hashlens.chain.models import DifficultyRequest
        from hashlens.cli import kept
        from hashlens.weekly.asof import difficulty_on

        req = DifficultyRequest.build(as_of=as_of, now_s=now)
        # The default answer (the report's day, a function of the store alone) is kept per store
        # state: the next identical command prints it before anything heavy loads.
        before = kept.state_key(state.db_path, "difficulty") if as_json and now is None and as_of is None else None
        with reader_store() as store:
            data, via = difficulty_on(store, req.as_of, req.now_s).to_json(), None
        if before is not None:
            from hashlens.cli.output import json_text

            kept.keep(state.db_path, "difficulty", json_text(data), before)

    def render(d: dict[str, Any]) -> None:
        a = d["latest_adjustment"]
        rank = (
            f"#{a['rank_among_drops']} of {d['drops_total']} drops"
            if a["rank_among_drops"]
            else (f"#{a['rank_among_rises']} of {d['rises_total']} rises" if a["rank_among_rises"] else "no change")
        )
        console.print(
            kv_table(
                f"Latest adjustment as of {d['as_of']} (height {a['height']})",
                {
                    "time": a["time"] or "unknown",
                    "difficulty": f"{a['difficulty']:,.0f}",
                    "change": f"{a['change_pct']:+.2f}%",
                    "rank": rank,
                    "streak": a["streak"],
                    "lowest since height": a["lowest_since_height"],
                    "largest drop since height": a["largest_drop_since_height"],
                    "source": a["source"],
                },
            )
        )
        r = d["running_period"]
        tip = f"tip {d['tip_height']:,}" + ("" if d["tip_height_exact"] else " (counted at 600 s per block)")
        mp = r.get("mempool")
        console.print(
            kv_table(
                f"Running period from {r['start_height']:,} ({tip}, {d['as_of_instant']})",
                {
                    "next adjustment (90% range)": next_adjustment_text(r.get("estimate"))
                    or f"no estimate: {r.get('estimate_missing') or 'unknown'}",
                    "mempool.space's method (reference)": f"{mp['change_pct']:+.2f}% at {mp['estimated_retarget_time']}"
                    if mp
                    else "needs the running period's block times (not stored for the day)",
                },
            )
        )

    emit(data, as_json, render, via)


@difficulty_app.command("history")
def difficulty_history(
    limit: Annotated[int | None, typer.Option(help="Only the last N adjustments.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every adjustment: height, time, difficulty, change, ranks, streak, records."""
    from hashlens.chain.models import DifficultyHistoryRequest
    from hashlens.chain.status import difficulty_history

    req = DifficultyHistoryRequest.build(limit=limit)
    with reader_store() as store:
        rows = [a.to_json() for a in difficulty_history(store, req.limit)]

    def render(rs: list[dict[str, Any]]) -> None:
        from rich.table import Table

        t = Table(title="Difficulty adjustments")
        for col in ("height", "time", "difficulty", "change", "drop rank", "rise rank", "streak"):
            t.add_column(col, justify="right")
        for r in rs:
            t.add_row(
                str(r["height"]),
                r["time"] or "-",
                f"{r['difficulty']:,.0f}",
                f"{r['change_pct']:+.2f}%",
                str(r["rank_among_drops"] or ""),
                str(r["rank_among_rises"] or ""),
                str(r["streak"]),
            )
        console.print(t)

    emit(rows, as_json, render)


def next_adjustment_text(e: dict[str, Any] | None) -> str | None:
    """One line for the next adjustment (sim.forecast.NextAdjustment as JSON)."""
    if not e:
        return None
    q = e["change_pct"]
    return (
        f"{q['p50']:+.2f}% [{q['p05']:+.2f}, {q['p95']:+.2f}], P(drop)={e['p_drop']:.2f}, "
        f"~{e['retarget_time_median'][:16].replace('T', ' ')} UTC ({e['basis']} basis)"
    )


@difficulty_app.command("estimate")
def difficulty_estimate(
    height: Annotated[
        int | None,
        typer.Option(
            help="The estimate: as of this height (data below it) instead of --as-of. mempool: the tip height."
        ),
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="The estimate: " + AS_OF_HELP)] = None,
    method: Annotated[
        str,
        typer.Option(
            help="forecast: hashlens' estimate with its range from the store (the one every face shows); "
            "mempool: mempool.space's method from the explicit inputs below (a reference method)."
        ),
    ] = "forecast",
    paths: Annotated[int, typer.Option(help="forecast: simulated paths (1 … 1,000,000).")] = 20_000,
    seed: Annotated[int, typer.Option(help="forecast: random seed.")] = 1,
    last_retarget_time: Annotated[
        int | None, typer.Option(help="mempool: time of the running period's first block [Unix s].")
    ] = None,
    now: Annotated[int | None, typer.Option(help="mempool: now [Unix s].")] = None,
    previous_change_pct: Annotated[float | None, typer.Option(help="mempool: the previous adjustment [%].")] = None,
    time_504_blocks_ago: Annotated[int | None, typer.Option(help="mempool: time of block height-503 [Unix s].")] = None,
    tip_time: Annotated[
        int | None, typer.Option(help="mempool: tip block time [Unix s] (used at the period's last block).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The next adjustment: hashlens' estimate with its 90 % range from the store (default, the
    forecast's first row: the same numbers `forecast`, `weekly` and the report show), or
    mempool.space's method from explicit inputs (--method mempool)."""
    if method == "forecast":
        from hashlens.cli.economics_cmds import parse_day
        from hashlens.cli.stores import ready_store
        from hashlens.sim.forecast import ForecastRequest
        from hashlens.weekly.asof import forecast_of_day

        fq = ForecastRequest.build(as_of=parse_day(as_of, "--as-of"), height=height, horizon=1, paths=paths, seed=seed)
        with ready_store(as_json) as store:
            day, fc = forecast_of_day(store, fq)
        est = {"as_of": day.isoformat() if day else None, **fc.next_adjustment().to_json()}

        def render(d: dict[str, Any]) -> None:
            console.print(
                kv_table(
                    f"Next adjustment at height {d['height']:,} (as of height {d['as_of_height']:,})",
                    {"estimate (90% range)": next_adjustment_text(d), "method": d["method"]},
                )
            )

        emit(est, as_json, render)
        return
    from hashlens.chain.models import EstimateInputs
    from hashlens.chain.status import estimate_from_inputs

    needed: dict[str, float | None] = {"--last-retarget-time": last_retarget_time, "--now": now, "--height": height}
    needed["--previous-change-pct"] = previous_change_pct
    if missing := [name for name, value in needed.items() if value is None]:
        raise HashlensError(f"--method mempool needs {', '.join(missing)} (its explicit inputs; see --help)")
    req = EstimateInputs.build(
        last_retarget_time_s=last_retarget_time,
        now_s=now,
        height=height,
        previous_change_pct=previous_change_pct,
        time_504_blocks_ago_s=time_504_blocks_ago,
        tip_time_s=tip_time,
        method=method,
    )
    from hashlens.contracts import jsonable

    emit(
        jsonable(estimate_from_inputs(req)),
        as_json,
        lambda d: console.print(kv_table("Next retarget by mempool.space's method (a reference method)", d)),
    )


@app.command()
def hashrate(
    window: Annotated[str, typer.Option(help="Blocks (e.g. 1008) or days (e.g. 7d).")] = "1008",
    height: Annotated[int | None, typer.Option(help="End height (instead of --as-of).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP + " The window ends at its tip.")] = None,
    series: Annotated[bool, typer.Option("--series", help="Rolling series over all stored block runs.")] = False,
    step: Annotated[int, typer.Option(help="Blocks between series points.")] = 144,
    as_json: JsonOpt = False,
) -> None:
    """Network hashrate (Core's getnetworkhashps method) with a 95% interval."""
    from hashlens.chain.models import HashrateRequest, HashrateSeriesRequest
    from hashlens.chain.status import network_hashrate_series

    if series:
        if height is not None or as_of is not None:
            raise HashlensError("--series covers every stored run of blocks: leave out --height and --as-of")
        sreq = HashrateSeriesRequest.build(window=window, step=step)
        with reader_store() as store:
            pts = [e.to_json() for e in network_hashrate_series(store, sreq.window, sreq.step)]
        emit(pts, as_json, lambda rs: console.print(f"{len(rs)} points; use --json for the series"))
        return
    from hashlens.weekly.asof import hashrate_on

    req = HashrateRequest.build(window=window, height=height, as_of=as_of)
    with reader_store() as store:
        est = hashrate_on(store, req).to_json()
    emit(est, as_json, lambda d: console.print(kv_table(f"Network hashrate [EH/s] as of {d['as_of']}", d)))
