"""`hashlens update`: the store brought to the present from public APIs in one command."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table
from hashlens.cli.stores import writer_store

# The defaults, written out here too so that `--help` needs no import of the chain package;
# tests/test_update.py holds them equal to hashlens.chain.update_models'.
CHAIN_DEFAULT = "mempool+https://mempool.space/api"
PRICES_DEFAULT = "mempool+https://mempool.space/api"


@app.command("update")
def update_cmd(
    chain: Annotated[
        str,
        typer.Option(
            envvar="HASHLENS_CHAIN_SOURCE",
            help="Chain API: mempool+http(s)://host/api (blocks with extras, 15 a request; the difficulty "
            "adjustments in one) or esplora+http(s)://host/api (10 blocks a request); 'none' skips the chain.",
        ),
    ] = CHAIN_DEFAULT,
    prices: Annotated[
        str,
        typer.Option(
            envvar="HASHLENS_PRICE_SOURCE",
            help="Price API: mempool+http(s)://host/api (historical-price) or kraken+http(s)://host "
            "(an exchange's OHLC API); 'none' skips prices.",
        ),
    ] = PRICES_DEFAULT,
    currency: Annotated[str, typer.Option(help="Currency of the prices.")] = "USD",
    blocks: Annotated[
        int, typer.Option(help="Heights below the tip that get per-block data (time, hash, fees) where missing.")
    ] = 4032,
    batch_blocks: Annotated[int, typer.Option(help="Heights per committed batch (a rerun resumes at one).")] = 1008,
    as_json: JsonOpt = False,
) -> None:
    """Bring the store to the present: periods, recent blocks and prices from public APIs.

    Every block is checked before it is stored (full headers by proof of work and in their chain
    context); a source on another chain is refused; an interrupted run keeps each whole batch,
    and a rerun fetches only what is still missing."""
    from hashlens.chain.update import update
    from hashlens.chain.update_models import MinedBy, UpdateRequest
    from hashlens.cli.progress import RichProgress
    from hashlens.pools.attribution import store_mined_by

    request = UpdateRequest.build(
        chain=chain, prices=prices, currency=currency, recent_blocks=blocks, batch_blocks=batch_blocks
    )
    progress = RichProgress(quiet=as_json)
    with writer_store() as store:

        def mined_by_sink(mined: Sequence[MinedBy]) -> None:
            # Who mined each new block (the API's extras) goes to the pools package, batch by batch.
            store_mined_by(store, mined)

        try:
            result = update(store, request, progress, on_extras=mined_by_sink)
        except BaseException:
            progress.close(failed=True)
            raise
        progress.close()
        counts = store.counts()
    data = result.to_json() | {"counts": counts}

    def render(d: dict[str, Any]) -> None:
        c, p = d["chain"], d["prices"]
        if c is not None:
            rows = {
                "source": c["source"],
                "tip": f"{c['tip_height']:,} ({c['tip_time_utc']})",
                "periods added": c["periods_added"],
                "period start times added": c["period_start_times_added"],
                "headers added (proof of work checked)": c["headers_added"],
                "blocks added without a header": c["blocks_added"],
                "blocks with fees added": c["block_stats_added"],
                "blocks with a pool tag": c["pool_tags"],
                "requests": c["requests"],
            }
            console.print(kv_table("chain", rows))
            for n in c["notes"]:
                console.print(f"[yellow]note:[/yellow] {n}")
        if p is not None:
            span = f"{p['first_day']} … {p['last_day']}" if p["days_added"] else "none new"
            console.print(kv_table("prices", {"source": p["source"], "currency": p["currency"], "days added": span}))
            for n in p["notes"]:
                console.print(f"[yellow]note:[/yellow] {n}")
        console.print(kv_table(f"store now holds ({d['store']})", d["counts"]))

    emit(data, as_json, render)
