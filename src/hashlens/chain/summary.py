"""A one-page summary of the chain data (the main job until the weekly report exists)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hashlens.chain.facts import load_shared_chain
from hashlens.consensus import COIN, issued_supply_sat, next_halving
from hashlens.sources.datadir import require_data_dir


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def chain_summary(data_dir: str | None) -> dict[str, Any]:
    d = require_data_dir(data_dir)
    shared = load_shared_chain(d)
    periods = shared.periods
    stats = shared.stats
    assert stats is not None
    recent = []
    for prev, cur in zip(periods[-6:-1], periods[-5:], strict=True):
        recent.append(
            {
                "height": cur.start_height,
                "time": _iso(cur.start_time),
                "difficulty": cur.difficulty,
                "change_pct": (prev.target / cur.target - 1) * 100,
            }
        )
    tip_h, tip_t = int(stats.height[-1]), int(stats.time[-1])
    interval = float(stats.time[-1] - stats.time[-2017]) / 2016
    h = next_halving(tip_h, tip_t, interval)
    last = periods[-1]
    return {
        "data_dir": str(d),
        "periods": len(periods),
        "period_start_times_known": sum(p.start_time is not None for p in periods),
        "per_block_rows": len(stats.height),
        "latest_period_start_height": last.start_height,
        "latest_bits": f"{last.bits:08x}",
        "latest_difficulty": last.difficulty,
        "latest_change_pct": recent[-1]["change_pct"],
        "block_stats_tip_height": tip_h,
        "block_stats_tip_time": _iso(tip_t),
        "issued_supply_btc_at_tip": issued_supply_sat(tip_h) / COIN,
        "next_halving_height": h.height,
        "next_halving_estimate": _iso(h.estimated_time),
        "recent": recent,
    }
