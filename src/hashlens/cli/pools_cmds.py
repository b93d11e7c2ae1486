"""Commands for mining pools: shares with intervals, luck, concentration, imports, checks.

``hashlens pools`` prints each pool's share of a window's blocks in one source (several
sources, comma-separated, side by side); ``luck``, ``concentration``, ``dominance``,
``import``, ``sources``, ``check`` and ``attribute`` are its subcommands. Every command builds
the request model of :mod:`hashlens.pools.models` from its options, as the API does.
"""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads them.

from pathlib import Path
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, state
from hashlens.errors import HashlensError

pools_app = typer.Typer(help="Mining pools: who found the blocks, shares with exact intervals, luck, concentration.")
app.add_typer(pools_app, name="pools")

AsOf = Annotated[
    str | None, typer.Option("--as-of", help="The window's last day (YYYY-MM-DD); default: the source's last.")
]
Window = Annotated[str | None, typer.Option("--window", help="7d, 30d (days to --as-of) or a block count (1008).")]
Start = Annotated[str | None, typer.Option("--start", help="First day (YYYY-MM-DD), with --end.")]
End = Annotated[str | None, typer.Option("--end", help="Last day, inclusive.")]
Source = Annotated[
    str | None,
    typer.Option("--source", help="coinbase, mempool-api, canhui, btl, …; several comma-separated: side by side."),
]
Level = Annotated[str | None, typer.Option("--level", help="pool (default) or cluster (owners: btl's Bitmain).")]


def _store(as_json: bool) -> Any:
    """The store, filled on first use with the chain and, when the store has no pool data
    yet, the shared data's pool datasets."""
    from hashlens.cli.stores import ready_store

    store = ready_store(as_json)
    if store.pool_sources():
        return store
    from hashlens.sources.datadir import find_data_dir

    data = find_data_dir(state.data_dir)
    if data is None or not (data / "pools").is_dir():
        return store
    store.close()
    from hashlens.cli.stores import writer_store
    from hashlens.pools.dataset import import_shared

    with writer_store() as w:
        if not w.pool_sources():
            import sys

            print("hashlens: importing the shared pool datasets (canhui, btl) into the store", file=sys.stderr)
            import_shared(w, data)
    return ready_store(as_json)


def _fmt_pct(x: float | None, digits: int = 2) -> str:
    return "n/a" if x is None else f"{100 * x:.{digits}f} %"


def _coverage_line(c: dict[str, Any]) -> str:
    if c["kind"] == "days":
        return f"{c['source']}: {c['blocks']:,} blocks on {c['days_covered']} of {c['days_in_window']} days ({c['start_day']} … {c['end_day']})"
    return (
        f"{c['source']}: {c['blocks']:,} blocks, heights {c['start_height']:,} … {c['end_height']:,} "
        f"({c['heights_basis']}; {c['unknown_blocks']:,} unidentified)"
    )


@pools_app.callback(invoke_without_command=True)
def pools_main(
    ctx: typer.Context,
    as_of: AsOf = None,
    window: Window = None,
    start: Start = None,
    end: End = None,
    source: Source = None,
    level: Level = None,
    as_json: JsonOpt = False,
) -> None:
    """Each pool's share of the window's blocks with its exact interval and hashrate."""
    if ctx.invoked_subcommand is not None:
        return
    from hashlens.pools.analysis import compare_sources, pool_shares
    from hashlens.pools.models import PoolsRequest

    req = PoolsRequest.build(as_of=as_of, window=window, start=start, end=end, source=source, level=level)
    with _store(as_json) as store:
        several = len(req.sources() or []) > 1
        result = compare_sources(store, req) if several else pool_shares(store, req)
    data = result.to_json()

    def render_one(d: dict[str, Any]) -> None:
        from rich.table import Table

        c = d["coverage"]
        t = Table(title=f"Pools, {c['start_day']} … {c['end_day']} — source {d['source']} ({d['level']} level)")
        for col in ("pool", "blocks", "share", f"{d['level_pct']:g} %", "EH/s", "run", "P(run)", "empty"):
            t.add_column(col, justify="left" if col == "pool" else "right")
        for p in d["pools"]:
            t.add_row(
                p["pool"],
                f"{p['blocks']:,}",
                _fmt_pct(p["share"]),
                f"{100 * p['share_low']:.2f}–{100 * p['share_high']:.2f} %",
                ""
                if p["hashrate_ehs"] is None
                else f"{p['hashrate_ehs']:,.2f} ({p['hashrate_low_ehs']:,.2f}–{p['hashrate_high_ehs']:,.2f})",
                "" if p["longest_run_blocks"] is None else str(p["longest_run_blocks"]),
                "" if p["longest_run_p"] is None else f"{p['longest_run_p']:.3f}",
                "" if p["empty_blocks"] is None else f"{p['empty_blocks']}/{p['blocks_with_stats']}",
            )
        console.print(t)
        console.print(_coverage_line(c))
        net = d["network"]
        console.print(
            f"network: {net['hashrate_ehs']:,.2f} EH/s ({net['low_ehs']:,.2f}–{net['high_ehs']:,.2f}; {net['method']})"
            if net
            else f"network hashrate: n/a — {d['network_missing']}"
        )
        for n in d["notes"]:
            console.print(f"[dim]{n}[/dim]")

    def render_many(d: dict[str, Any]) -> None:
        from rich.table import Table

        first = next(iter(d["coverage"].values()))
        t = Table(
            title=f"Pools side by side, {first['start_day']} … {first['end_day']} ({d['level']} level, never merged)"
        )
        t.add_column("pool")
        for s in d["sources"]:
            t.add_column(f"{s} blocks", justify="right")
            t.add_column(f"{s} share ({d['level_pct']:g} %)", justify="right")
        for r in d["rows"]:
            cells = [r["pool"]]
            for s in d["sources"]:
                x = r["shares"].get(s)
                cells += (
                    ["", ""]
                    if x is None
                    else [
                        f"{x['blocks']:,}",
                        f"{100 * x['share']:.2f} ({100 * x['share_low']:.2f}–{100 * x['share_high']:.2f}) %",
                    ]
                )
            t.add_row(*cells)
        console.print(t)
        for c in d["coverage"].values():
            console.print(_coverage_line(c))
        for n in d["notes"]:
            console.print(f"[dim]{n}[/dim]")

    emit(data, as_json, render_many if several else render_one)


@pools_app.command("luck")
def pools_luck(
    as_of: AsOf = None,
    window: Window = None,
    start: Start = None,
    end: End = None,
    source: Source = None,
    level: Level = None,
    reference_start: Annotated[
        str | None, typer.Option(help="Reference window's first day (default: the window before).")
    ] = None,
    reference_end: Annotated[str | None, typer.Option(help="Reference window's last day.")] = None,
    pool: Annotated[str | None, typer.Option(help="A pool whose hashrate you state (with --hashrate-ehs).")] = None,
    hashrate_ehs: Annotated[float | None, typer.Option(help="The pool's hashrate [EH/s].")] = None,
    alpha: Annotated[float | None, typer.Option(help="Family-wise error rate of the flags (Holm).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Luck per pool: blocks found vs expected, exact Poisson p-values, Holm across pools."""
    from hashlens.pools.analysis import pool_luck
    from hashlens.pools.models import LuckRequest

    req = LuckRequest.build(
        as_of=as_of,
        window=window,
        start=start,
        end=end,
        source=source,
        level=level,
        reference_start=reference_start,
        reference_end=reference_end,
        pool=pool,
        hashrate_ehs=hashrate_ehs,
        alpha=alpha,
    )
    with _store(as_json) as store:
        result = pool_luck(store, req)

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        c = d["coverage"]
        t = Table(title=f"Luck, {c['start_day']} … {c['end_day']} — source {d['source']}")
        for col in ("pool", "found", "expected", "luck", "P(≤)", "P(≥)", "p two-sided", "p Holm", "flag"):
            t.add_column(col, justify="left" if col == "pool" else "right")
        for p in d["pools"]:
            t.add_row(
                p["pool"],
                f"{p['found_blocks']:,}",
                f"{p['expected_blocks']:,.1f}",
                "" if p["luck"] is None else f"{100 * p['luck']:.1f} %",
                f"{p['p_low']:.4g}",
                f"{p['p_high']:.4g}",
                f"{p['p_two_sided']:.4g}",
                f"{p['p_adjusted']:.4g}",
                "yes" if p["flagged"] else "",
            )
        console.print(t)
        ref = d["reference"]
        if ref:
            console.print(
                f"expected from the shares in {ref['start_day']} … {ref['end_day']} ({ref['blocks']:,} blocks)"
            )
        console.print(f"[dim]{d['correction']}; {d['method']}[/dim]")
        for n in d["notes"]:
            console.print(f"[dim]{n}[/dim]")

    emit(result.to_json(), as_json, render)


@pools_app.command("concentration")
def pools_concentration(
    as_of: AsOf = None,
    window: Window = None,
    start: Start = None,
    end: End = None,
    source: Source = None,
    level: Level = None,
    replicates: Annotated[int | None, typer.Option(help="Bootstrap replicates.")] = None,
    seed: Annotated[int | None, typer.Option(help="Bootstrap seed.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Top-1/top-3 share, HHI and the Nakamoto coefficient, with bootstrap intervals."""
    from hashlens.pools.analysis import pool_concentration
    from hashlens.pools.models import ConcentrationRequest

    req = ConcentrationRequest.build(
        as_of=as_of, window=window, start=start, end=end, source=source, level=level, replicates=replicates, seed=seed
    )
    with _store(as_json) as store:
        result = pool_concentration(store, req)

    def render(d: dict[str, Any]) -> None:
        c = d["coverage"]
        console.print(f"Concentration, {c['start_day']} … {c['end_day']} — source {d['source']} ({d['level']} level)")
        for key, label, pct in (
            ("top1_share", "top-1 share", True),
            ("top3_share", "top-3 share", True),
            ("hhi", "HHI (0-1)", False),
            ("nakamoto", "Nakamoto coefficient", False),
        ):
            v = d[key]
            text = (
                f"{_fmt_pct(v['value'])} ({_fmt_pct(v['low'])}–{_fmt_pct(v['high'])})"
                if pct
                else f"{v['value']:.4g} ({v['low']:.4g}–{v['high']:.4g})"
            )
            console.print(f"  {label}: {text}")
        console.print(f"  largest: {', '.join(d['top_pools'])}")
        r = d["longest_run"]
        if r:
            console.print(
                f"  longest run: {r['longest_run_blocks']} blocks by {r['pool']} to height {r['longest_run_end_height']:,} "
                f"(P = {r['longest_run_p']:.3f} at its share)"
            )
        console.print(
            f"[dim]{d['level_pct']:g} % intervals; {d['replicates']} replicates, seed {d['seed']}; {d['method']}[/dim]"
        )

    emit(result.to_json(), as_json, render)


@pools_app.command("dominance")
def pools_dominance(
    source: Annotated[str | None, typer.Option("--source", help="The source.")] = None,
    start: Start = None,
    end: End = None,
    step_days: Annotated[int | None, typer.Option(help="Days per bin.")] = None,
    top: Annotated[int | None, typer.Option(help="Pools shown by name.")] = None,
    level: Level = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the series as CSV.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Shares per pool over time (the dashboard's stacked area), optionally as CSV."""
    from hashlens.pools.analysis import dominance
    from hashlens.pools.models import DominanceRequest

    req = DominanceRequest.build(source=source, start=start, end=end, step_days=step_days, top=top, level=level)
    with _store(as_json) as store:
        result = dominance(store, req)
    d = result.to_json()
    if out is not None:
        import csv

        if out.exists():
            raise HashlensError(f"{out} exists; choose another file or remove it")
        with out.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["bin_start", "blocks", *[f"{p} share" for p in d["pools"]]])
            for i, day in enumerate(d["bin_start"]):
                w.writerow(
                    [day, d["blocks"][i], *["" if d["shares"][p][i] is None else d["shares"][p][i] for p in d["pools"]]]
                )

    def render(x: dict[str, Any]) -> None:
        console.print(
            f"{len(x['bin_start'])} bins of {x['step_days']} days, {x['bin_start'][0]} … {x['bin_start'][-1]}, "
            f"source {x['source']}: {', '.join(x['pools'])}" + (f"; written to {out}" if out else "")
        )

    emit(d, as_json, render)


@pools_app.command("import")
def pools_import(
    file: Annotated[
        Path | None, typer.Argument(help="Rules JSON, per-block labels or per-day counts (detected).")
    ] = None,
    source: Annotated[str | None, typer.Option("--source", help="Keep the rows under this source name.")] = None,
    shared: Annotated[bool, typer.Option("--shared", help="Import the shared data's pools folder.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import pool data, each file under its source name (a rules file re-attributes stored blocks)."""
    from hashlens.cli.stores import writer_store
    from hashlens.pools.dataset import import_pool_file, import_shared
    from hashlens.sources.datadir import require_data_dir

    if (file is None) == (not shared):
        raise HashlensError("give a FILE or --shared (the shared data's pools folder), not both")
    if shared and source:
        raise HashlensError("--source names one file's rows; the shared files keep their own names (canhui, btl)")
    if file is not None and not file.exists():
        raise HashlensError(f"{file}: no such file")
    if file is not None:
        from hashlens.sources.pool_files import detect_pool_file

        detect_pool_file(file)  # refuse a file of no known kind before opening the store for writing
    with writer_store() as store:
        if file is None:
            results = import_shared(store, require_data_dir(state.data_dir))
        else:
            results = [import_pool_file(store, file, source)]

    def render(rs: list[dict[str, Any]]) -> None:
        for r in rs:
            where = f" as source {r['source']}" if r["source"] else ""
            console.print(
                f"imported {r['rows']:,} {r['kind']} rows from {r['file']}{where} ({r['first']} … {r['last']})"
            )
            for n in r["notes"]:
                console.print(f"  {n}")

    emit([r.to_json() for r in results], as_json, render)


@pools_app.command("sources")
def pools_sources(as_json: JsonOpt = False) -> None:
    """What each pool source in the store covers."""
    from hashlens.pools.analysis import coverage_summary

    with _store(as_json) as store:
        rows = coverage_summary(store)

    def render(rs: list[dict[str, Any]]) -> None:
        from rich.table import Table

        t = Table(title="Pool sources in the store")
        for col in ("source", "kind", "first day", "last day", "rows", "from"):
            t.add_column(col)
        for r in rs:
            t.add_row(r["source"], r["kind"], r["first_day"], r["last_day"], f"{r['rows']:,}", r["origin"])
        console.print(t)

    emit(rows, as_json, render)


@pools_app.command("check")
def pools_check(
    source: Annotated[str, typer.Option("--source", help="A per-day source (btl).")] = "btl",
    as_json: JsonOpt = False,
) -> None:
    """A per-day source's blocks per day against the store's blocks per whole UTC day."""
    from hashlens.pools.days import daily_totals_check

    with _store(as_json) as store:
        result = daily_totals_check(store, source)

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"{d['source']}: {d['days_compared']} whole UTC days in both; {d['days_differing']} differ from the store's blocks per day"
        )

    emit(result, as_json, render)


@pools_app.command("attribute")
def pools_attribute(
    files: Annotated[list[Path], typer.Argument(help="Raw blocks (.bin, or hex) or raw coinbase transactions (hex).")],
    rules: Annotated[Path, typer.Option("--rules", help="The rules file (mempool-pools-v2.json or pool-list.json).")],
    order: Annotated[str, typer.Option(help="address-first or mempool.")] = "address-first",
    as_json: JsonOpt = False,
) -> None:
    """Attribute blocks from their coinbases (printed, not stored)."""
    from hashlens.pools.attribution import attribute
    from hashlens.pools.rules import compile_rules
    from hashlens.sources.addresses import script_to_address
    from hashlens.sources.coinbase import coinbase_from_bytes
    from hashlens.sources.pool_files import read_rules

    compiled = compile_rules(read_rules(rules))
    coinbases = []
    for f in files:
        if not f.exists():
            raise HashlensError(f"{f}: no such file")
        raw = f.read_bytes()
        text = raw.strip()
        if text and all(c in b"0123456789abcdefABCDEF" for c in text):
            raw = bytes.fromhex(text.decode())
        coinbases.append(coinbase_from_bytes(raw, f.name))
    att = attribute(coinbases, compiled, order)
    rows = [
        {
            "file": f.name,
            "height": c.height,
            "block_hash": c.block_hash,
            "pool": p,
            "method": m,
            "addresses": [a for a in (script_to_address(s) for s in c.output_scripts) if a],
            "rules": compiled.rules_id,
        }
        for f, c, p, m in zip(files, coinbases, att.pools(), att.methods(), strict=True)
    ]

    def render(rs: list[dict[str, Any]]) -> None:
        for r in rs:
            console.print(f"{r['file']}: height {r['height']} → {r['pool']} (by {r['method']}; {r['rules']})")

    emit(rows, as_json, render)
