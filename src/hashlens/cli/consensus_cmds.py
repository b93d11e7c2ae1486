"""Commands over pure consensus arithmetic and the shared chain summary."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table, served, state


@app.command()
def bits(
    value: Annotated[str, typer.Argument(help="Compact nBits in hex, e.g. 17023ad4.")],
    as_json: JsonOpt = False,
) -> None:
    """Decode compact nBits: target, difficulty and work per block."""
    from hashlens.chain.bits import decode_bits
    from hashlens.chain.models import BitsRequest

    data = decode_bits(BitsRequest.build(bits=value).value).to_json()
    emit(data, as_json, lambda d: console.print(kv_table(f"bits 0x{d['bits']}", d)))


@app.command()
def halving(
    day: Annotated[
        str | None,
        typer.Option(
            "--as-of", "--date", help="UTC day answered for (default: the report's day, the latest day with data)."
        ),
    ] = None,
    height: Annotated[int | None, typer.Option(help="Tip height (with --tip-time and --interval).")] = None,
    tip_time: Annotated[int | None, typer.Option(help="Tip time [Unix s].")] = None,
    interval: Annotated[float | None, typer.Option(help="Mean block interval [s].")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Next halving: height, blocks left, subsidy now and after, estimated date."""
    from hashlens.chain.halving import halving as halving_of
    from hashlens.chain.halving import halving_from_tip
    from hashlens.chain.models import HalvingRequest

    req = HalvingRequest.build(as_of=day, height=height, tip_time_s=tip_time, interval_s=interval)
    if req.height is not None and req.tip_time_s is not None and req.interval_s is not None:
        out = halving_from_tip(req.height, req.tip_time_s, req.interval_s)  # no store needed
    else:
        from hashlens.cli.stores import ready_store

        with ready_store(as_json) as store:
            out = halving_of(store, req)
    emit(
        out.to_json(),
        as_json,
        lambda x: console.print(
            kv_table(
                "Next halving",
                {
                    "height": f"{x['next_halving_height']:,}",
                    "blocks left": f"{x['blocks_left']:,}",
                    "subsidy": f"{x['current_subsidy_btc']:g} → {x['next_subsidy_btc']:g} BTC",
                    "mean block interval": f"{x['block_interval_s']:.1f} s ({x['interval_window']})",
                    "estimated": x["estimated_time"][:16].replace("T", " ") + " UTC",
                },
            )
        ),
    )


@app.command()
def summary(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="UTC day answered for, at 24:00 UTC (default: the report's day, the latest day with data)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The chain at a glance from the store, as of a day; a fresh store first imports the shared data."""
    answer = served("/v1/summary") if as_of is None else None
    if answer is not None:
        data, via = {"store": str(state.db_path), **answer[0]}, answer[1]
    else:
        from hashlens.chain.models import SummaryRequest
        from hashlens.cli import kept
        from hashlens.cli.stores import ready_store
        from hashlens.weekly.asof import summary_on

        req = SummaryRequest.build(as_of=as_of)
        before = kept.state_key(state.db_path, "summary") if as_json and as_of is None else None
        with ready_store(as_json, prices=True) as store:
            data, via = {"store": str(state.db_path), **summary_on(store, req.as_of).to_json()}, None
        # Kept for the next identical command on this store state, but only where the store holds
        # prices already: on one without, the answer depends on whether a data folder is found
        # (the command fills prices from it), not on the store alone.
        if before is not None and data.get("counts", {}).get("prices"):
            from hashlens.cli.output import json_text

            kept.keep(state.db_path, "summary", json_text(data), before)

    def render(d: dict[str, Any]) -> None:
        a = d["latest_adjustment"]
        rank = (
            f"#{a['rank_among_drops']} largest drop"
            if a["rank_among_drops"]
            else f"#{a['rank_among_rises']} largest rise"
        )
        from hashlens.cli.chain_cmds import next_adjustment_text

        hr = d["hashrate"]
        rp = d["running_period"]
        nh = d["next_halving"]
        console.print(
            kv_table(
                f"hashlens chain summary as of {d['as_of']} (24:00 UTC)",
                {
                    "store": d["store"],
                    "tip": f"height {d['tip_height']:,}"
                    + ("" if d["tip_height_exact"] else " (counted at 600 s per block)"),
                    "latest adjustment": f"height {a['height']}: {a['change_pct']:+.2f}% ({rank}, streak {a['streak']})",
                    "difficulty": f"{a['difficulty']:,.0f}",
                    "bits source": a["source"],
                    "per-block data to": d["per_block_until"] or "none stored",
                    "hashrate": f"{hr['hashrate_ehs']:.1f} EH/s [{hr['low_ehs']:.1f}, {hr['high_ehs']:.1f}] ({hr['method']})"
                    if hr
                    else "unknown",
                    "next adjustment (90% range)": next_adjustment_text(rp.get("estimate"))
                    or f"no estimate: {rp.get('estimate_missing') or 'unknown'}",
                    "mempool.space's method (reference)": f"{rp['mempool']['change_pct']:+.2f}%"
                    if rp.get("mempool")
                    else "needs the running period's block times",
                    "issued supply at the tip": f"{d['issued_supply_btc_at_tip']:,.4f} BTC",
                    "next halving": f"height {nh['next_halving_height']:,}, {nh['blocks_left']:,} blocks left, ~{nh['estimated_date']}",
                },
            )
        )
        from rich.table import Table

        t = Table(title="Recent adjustments")
        for col in ("height", "time", "difficulty", "change", "streak"):
            t.add_column(col, justify="right")
        for r in d["recent_adjustments"]:
            t.add_row(
                str(r["height"]),
                r["time"] or "-",
                f"{r['difficulty']:,.0f}",
                f"{r['change_pct']:+.2f}%",
                str(r["streak"]),
            )
        console.print(t)

    emit(data, as_json, render, via)
