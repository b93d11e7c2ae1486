"""Commands over the store: sync, difficulty, hashrate."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, iso, kv_table, served, state
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

    if batch_rows is not None and batch_rows < 1:
        raise HashlensError("--batch-rows must be at least 1")
    progress = RichProgress(quiet=as_json)
    with writer_store() as store:
        try:
            reports = sync(store, source, progress, batch_rows, start_height, periods_only, rpc_cookie)
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


@difficulty_app.callback()
def difficulty(
    ctx: typer.Context,
    now: Annotated[
        int | None, typer.Option(min=0, max=2**32 - 1, help="'Now' for the estimates [Unix s]; default the tip time.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Latest adjustment with rank, streak and records; running period with both estimates."""
    if ctx.invoked_subcommand is not None:
        return
    answer = served("/v1/difficulty") if now is None else None
    if answer is not None:
        data, via = answer
    else:
        from hashlens.chain.status import difficulty_status

        with reader_store() as store:
            data, via = difficulty_status(store, now), None

    def render(d: dict[str, Any]) -> None:
        a = d["latest_adjustment"]
        rank = (
            f"#{a['rank_among_drops']} of {d['drops_total']} drops"
            if a["rank_among_drops"]
            else (f"#{a['rank_among_rises']} of {d['rises_total']} rises" if a["rank_among_rises"] else "no change")
        )
        console.print(
            kv_table(
                f"Latest adjustment (height {a['height']})",
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
        console.print(
            kv_table(
                f"Running period from {r['period_start_height']} (tip {r['tip_height']}, {r['tip_time']})",
                {
                    "mempool.space method": f"{r['mempool']['change_pct']:+.2f}% at {r['mempool']['estimated_retarget_time']}",
                    "hashlens (90% interval)": f"{r['hashlens']['change_pct']:+.2f}% [{r['hashlens']['change_low_pct']:+.2f}, "
                    f"{r['hashlens']['change_high_pct']:+.2f}], P(drop)={r['hashlens']['p_drop']:.2f}",
                    "actual (stored)": f"{r['actual_next_adjustment']['change_pct']:+.2f}%"
                    if r["actual_next_adjustment"]
                    else "not yet known",
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
    from hashlens.chain.adjustments import adjustment_history, load_periods

    if limit is not None and limit < 1:
        raise HashlensError("--limit must be at least 1")
    with reader_store() as store:
        rows = [a.as_dict() for a in adjustment_history(load_periods(store))]
    if limit:
        rows = rows[-limit:]

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


@difficulty_app.command("estimate")
def difficulty_estimate(
    last_retarget_time: Annotated[int, typer.Option(help="Time of the running period's first block [Unix s].")],
    now: Annotated[int, typer.Option(help="Now [Unix s].")],
    height: Annotated[int, typer.Option(help="Tip height.")],
    previous_change_pct: Annotated[float, typer.Option(help="The previous adjustment [%].")],
    time_504_blocks_ago: Annotated[int | None, typer.Option(help="Time of block height-503 [Unix s].")] = None,
    tip_time: Annotated[
        int | None, typer.Option(help="Tip block time [Unix s] (used at the period's last block).")
    ] = None,
    method: Annotated[str, typer.Option(help="Estimation method: mempool.")] = "mempool",
    as_json: JsonOpt = False,
) -> None:
    """The next-retarget estimate from explicit inputs (mempool.space's method)."""
    from hashlens.chain.estimate import mempool_estimate

    if method != "mempool":
        raise HashlensError(
            f"--method {method!r}: only 'mempool' takes explicit inputs; `hashlens difficulty` shows both"
        )
    if height < 0:
        raise HashlensError("--height must not be negative")
    if now < last_retarget_time:
        raise HashlensError(
            f"--now {now} is before --last-retarget-time {last_retarget_time}: the estimate is for the running "
            "period, so now must be at or after its first block"
        )
    est = mempool_estimate(last_retarget_time, time_504_blocks_ago, now, height, previous_change_pct, tip_time)
    emit(est.as_dict(), as_json, lambda d: console.print(kv_table("Next retarget (mempool.space method)", d)))


@app.command()
def hashrate(
    window: Annotated[str, typer.Option(help="Blocks (e.g. 1008) or days (e.g. 7d).")] = "1008",
    height: Annotated[int | None, typer.Option(help="End height (default: latest with a stored time).")] = None,
    series: Annotated[bool, typer.Option("--series", help="Rolling series over all stored block runs.")] = False,
    step: Annotated[int, typer.Option(help="Blocks between series points.")] = 144,
    as_json: JsonOpt = False,
) -> None:
    """Network hashrate (Core's getnetworkhashps method) with a 95% interval."""
    from hashlens.chain.status import network_hashrate, network_hashrate_series, parse_window

    with reader_store() as store:
        if series:
            kind, amount = parse_window(window)
            if kind != "blocks":
                raise HashlensError("--series takes a block-count --window")
            if step < 1:
                raise HashlensError("--step must be at least 1")
            pts = [e.as_dict() for e in network_hashrate_series(store, int(amount), step)]
            for p in pts:
                p["end_time_iso"] = iso(p["end_time"])
            emit(pts, as_json, lambda rs: console.print(f"{len(rs)} points; use --json for the series"))
            return
        est = network_hashrate(store, window, height).as_dict()
    est["end_time_iso"] = iso(est["end_time"])
    emit(est, as_json, lambda d: console.print(kv_table("Network hashrate [EH/s]", d)))
