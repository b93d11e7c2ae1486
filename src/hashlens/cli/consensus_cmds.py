"""Commands over pure consensus arithmetic and the shared chain summary."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, iso, kv_table, served, state
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
    from hashlens.consensus.compact import bits_to_target, block_work, difficulty_exact, difficulty_from_bits

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
    day: Annotated[str | None, typer.Option("--date", help="UTC day (default: the latest day with data).")] = None,
    height: Annotated[int | None, typer.Option(help="Tip height (with --tip-time and --interval).")] = None,
    tip_time: Annotated[int | None, typer.Option(help="Tip time [Unix s].")] = None,
    interval: Annotated[float | None, typer.Option(help="Mean block interval [s].")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Next halving: height, blocks left, subsidy now and after, estimated date."""
    given = [x is not None for x in (height, tip_time, interval)]
    if any(given):
        if not all(given):
            raise HashlensError("give --height, --tip-time and --interval together, or none (the store's data)")
        assert height is not None and tip_time is not None and interval is not None
        if height < 0:
            raise HashlensError(f"--height {height} must not be negative")
        from hashlens.consensus.params import COIN
        from hashlens.consensus.subsidy import next_halving

        h = next_halving(height, tip_time, interval)
        data: dict[str, Any] = {
            "tip_height": height,
            "tip_time": iso(tip_time),
            "next_halving_height": h.height,
            "blocks_left": h.blocks_left,
            "current_subsidy_btc": h.current_subsidy_sat / COIN,
            "next_subsidy_btc": h.next_subsidy_sat / COIN,
            "block_interval_s": round(h.block_interval_s, 3),
            "estimated_time": iso(h.estimated_time),
            "source": "given on the command line",
        }
    else:
        from hashlens.chain.clock import ChainClock, end_of_day
        from hashlens.chain.halving import halving_outlook
        from hashlens.cli.economics_cmds import parse_day
        from hashlens.cli.stores import ready_store
        from hashlens.economics.daily import latest_day

        with ready_store(as_json) as store:
            clock = ChainClock.from_store(store)
            d = parse_day(day) or latest_day(store, clock)
            out = halving_outlook(clock, end_of_day(d))
        data = out.as_dict() | {
            "as_of": d.isoformat(),
            "tip_time": iso(out.tip_time),
            "estimated_time": iso(out.estimated_time),
            "block_interval_s": round(out.block_interval_s, 3),
        }
    emit(
        data,
        as_json,
        lambda x: console.print(
            kv_table(
                "Next halving",
                {
                    "height": f"{x['next_halving_height']:,}",
                    "blocks left": f"{x['blocks_left']:,}",
                    "subsidy": f"{x['current_subsidy_btc']:g} → {x['next_subsidy_btc']:g} BTC",
                    "mean block interval": f"{x['block_interval_s']:.1f} s"
                    + (f" ({x['interval_window']})" if x.get("interval_window") else ""),
                    "estimated": (x["estimated_time"] or "")[:16].replace("T", " ") + " UTC",
                },
            )
        ),
    )


@app.command()
def summary(as_json: JsonOpt = False) -> None:
    """The chain at a glance from the store; a fresh store first imports the shared data."""
    answer = served("/v1/summary")
    if answer is not None:
        data, via = {"store": str(state.db_path), **answer[0]}, answer[1]
    else:
        from hashlens.chain.clock import ChainClock
        from hashlens.chain.summary import chain_summary
        from hashlens.cli.stores import ready_store
        from hashlens.sim.forecast import with_next_adjustment

        with ready_store(as_json, prices=False) as store:
            data, via = with_next_adjustment(chain_summary(store), ChainClock.from_store(store)), None

    def render(d: dict[str, Any]) -> None:
        a = d["latest_adjustment"]
        rank = (
            f"#{a['rank_among_drops']} largest drop"
            if a["rank_among_drops"]
            else f"#{a['rank_among_rises']} largest rise"
        )
        from hashlens.cli.chain_cmds import next_adjustment_text

        hr = d["hashrate_1008_blocks_ehs"]
        rp = d["running_period"]
        console.print(
            kv_table(
                "hashlens chain summary",
                {
                    "store": d["store"],
                    "latest adjustment": f"height {a['height']}: {a['change_pct']:+.2f}% ({rank}, streak {a['streak']})",
                    "difficulty": f"{a['difficulty']:,.0f}",
                    "bits source": a["source"],
                    "per-block data to": f"height {d['per_block_tip_height']} ({d['per_block_tip_time']})",
                    "hashrate (1008 blocks)": f"{hr['estimate']:.1f} EH/s [{hr['low']:.1f}, {hr['high']:.1f}]",
                    "next adjustment (90% range)": next_adjustment_text(rp.get("next_adjustment"))
                    or f"no estimate: {rp.get('next_adjustment_missing', 'unknown')}",
                    "mempool.space's method (reference)": f"{rp['mempool']['change_pct']:+.2f}%",
                    "issued supply at that tip": f"{d['issued_supply_btc_at_tip']:,.4f} BTC",
                    "next halving": f"height {d['next_halving']['height']}, ~{d['next_halving']['estimated_time']}",
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
