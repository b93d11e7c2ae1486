"""Commands over pure consensus arithmetic and the shared chain summary."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from hashlens.cli.app import JsonOpt, app, console, emit, iso, kv_table, state
from hashlens.consensus import (
    COIN,
    bits_to_target,
    block_work,
    difficulty_exact,
    difficulty_from_bits,
    next_halving,
)
from hashlens.errors import HashlensError


def parse_bits(text: str) -> int:
    s = text.strip().lower().removeprefix("0x")
    if not s or len(s) > 8 or any(c not in "0123456789abcdef" for c in s):
        raise HashlensError(f"bits {text!r} must be up to 8 hex digits, e.g. 1d00ffff or 0x17023ad4")
    return int(s, 16)


@app.command()
def bits(
    value: Annotated[str, typer.Argument(help="Compact nBits in hex, e.g. 17023ad4.")],
    as_json: JsonOpt = False,
) -> None:
    """Decode compact nBits: target, difficulty and work per block."""
    b = parse_bits(value)
    target = bits_to_target(b)
    exact = difficulty_exact(b)
    data = {
        "bits": f"{b:08x}",
        "target": f"{target:064x}",
        "difficulty": difficulty_from_bits(b),
        "difficulty_exact": f"{exact.numerator}/{exact.denominator}",
        "work_per_block": str(block_work(target)),
    }
    emit(data, as_json, lambda d: console.print(kv_table(f"bits 0x{d['bits']}", d)))


@app.command()
def halving(
    height: Annotated[int | None, typer.Option(help="Tip height (default: latest in the data).")] = None,
    tip_time: Annotated[int | None, typer.Option(help="Tip time [Unix s].")] = None,
    interval: Annotated[float | None, typer.Option(help="Mean block interval [s] (default: last 2016 blocks).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Next halving: height, blocks left, subsidy now and after, estimated date."""
    from hashlens.chain.tip import latest_tip

    if height is None or tip_time is None or interval is None:
        tip = latest_tip(state.data_dir)
        height = tip.height if height is None else height
        tip_time = tip.time if tip_time is None else tip_time
        interval = tip.recent_interval_s if interval is None else interval
        source = tip.source
    else:
        source = "given on the command line"
    if height < 0:
        raise HashlensError(f"--height {height} must not be negative")
    h = next_halving(height, tip_time, interval)
    data = {
        "tip_height": height,
        "tip_time": iso(tip_time),
        "next_halving_height": h.height,
        "blocks_left": h.blocks_left,
        "current_subsidy_btc": h.current_subsidy_sat / COIN,
        "next_subsidy_btc": h.next_subsidy_sat / COIN,
        "block_interval_s": round(h.block_interval_s, 3),
        "estimated_time": iso(h.estimated_time),
        "source": source,
    }
    emit(data, as_json, lambda d: console.print(kv_table("Next halving", d)))


@app.command()
def summary(as_json: JsonOpt = False) -> None:
    """Summary of the chain data: periods, latest difficulty and adjustment, halving."""
    from hashlens.chain.summary import chain_summary

    data = chain_summary(state.data_dir)

    def render(d: dict[str, Any]) -> None:
        console.print(kv_table("hashlens chain summary", {k: v for k, v in d.items() if k != "recent"}))
        t = Table(title="Recent adjustments")
        for col in ("height", "time", "difficulty", "change_pct"):
            t.add_column(col, justify="right")
        for r in d["recent"]:
            t.add_row(str(r["height"]), r["time"] or "-", f"{r['difficulty']:,.0f}", f"{r['change_pct']:+.2f}%")
        console.print(t)

    emit(data, as_json, render)
