"""A one-page summary from the store (the main job until the weekly report exists)."""

from __future__ import annotations

from typing import Any

from hashlens.chain.adjustments import adjustment_history, load_periods
from hashlens.chain.clock import ChainClock
from hashlens.chain.halving import halving_outlook
from hashlens.chain.status import network_hashrate, per_block_tip, running_period
from hashlens.consensus import COIN, issued_supply_sat
from hashlens.store import Store
from hashlens.units import iso_utc


def chain_summary(store: Store) -> dict[str, Any]:
    clock = ChainClock.from_store(store)
    periods = load_periods(store, clock)
    tip_h, tip_t = per_block_tip(clock.block_h, clock.block_t)
    # One time frame: the adjustments up to the per-block tip (later ones are known only sparsely).
    history = adjustment_history(periods[: int(clock.period_at(tip_t)) + 1])
    h = halving_outlook(clock, tip_t)
    hr = network_hashrate(store, "1008", tip_h, clock)
    latest = history[-1]
    return {
        "store": store.path,
        "counts": store.counts(),
        "periods": len(periods),
        "latest_adjustment": {
            k: latest.as_dict()[k]
            for k in (
                "height",
                "time",
                "bits",
                "difficulty",
                "change_pct",
                "rank_among_drops",
                "rank_among_rises",
                "streak",
                "lowest_since_height",
                "largest_drop_since_height",
                "source",
            )
        },
        "per_block_tip_height": tip_h,
        "per_block_tip_time": iso_utc(tip_t),
        "hashrate_1008_blocks_ehs": {"estimate": hr.hashrate_ehs, "low": hr.low_ehs, "high": hr.high_ehs},
        "running_period": running_period(store, clock=clock),
        "issued_supply_btc_at_tip": issued_supply_sat(tip_h) / COIN,
        "next_halving": {
            "height": h.next_halving_height,
            "blocks_left": h.blocks_left,
            "subsidy_btc_after": h.next_subsidy_btc,
            "block_interval_s": h.block_interval_s,
            "interval_window": h.interval_window,
            "estimated_time": iso_utc(h.estimated_time),
        },
        "recent_adjustments": [
            {k: a.as_dict()[k] for k in ("height", "time", "difficulty", "change_pct", "streak")} for a in history[-8:]
        ],
    }
