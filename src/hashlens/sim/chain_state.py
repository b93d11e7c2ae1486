"""Initial simulation state from the store: bits, hashrate and price at a chosen height."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL, block_work
from hashlens.consensus.compact import decode_compact
from hashlens.errors import HashlensError
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL


def chain_state(store: Store, height: int | None = None) -> dict[str, Any]:
    """Bits of the period containing ``height`` (default: the latest period with a known start
    time), the hashrate implied by the previous period (its work per block over its mean
    interval), and the stored USD price on that period's start day."""
    rows = store.rows(
        "SELECT p.period, p.bits, b.time FROM periods p LEFT JOIN blocks b ON b.height = p.start_height ORDER BY p.period"
    )
    if not rows:
        raise HashlensError("the store has no periods: run `hashlens sync ../shared/data/chain`")
    by_p = {int(p): (int(b), None if t is None else int(t)) for p, b, t in rows}
    if height is None:
        known = [p for p, (_, t) in by_p.items() if t is not None and (p - 1) in by_p and by_p[p - 1][1] is not None]
        p = max(known)
    else:
        p = height // N
    if p not in by_p:
        raise HashlensError(f"height {height}: its period {p} is not in the store")
    bits, t = by_p[p]
    prev = by_p.get(p - 1)
    if t is None or prev is None or prev[1] is None:
        raise HashlensError(
            f"height {p * N}: the start times of periods {p - 1} and {p} are needed for the hashrate; "
            "give initial.hashrate_ehs"
        )
    interval = (t - prev[1]) / N
    hashrate = block_work(decode_compact(prev[0])[0]) / interval / 1e18
    day = datetime.fromtimestamp(t, tz=UTC).date()
    price = store.scalar("SELECT price FROM prices WHERE currency = 'USD' AND day = ?", [day])
    return {
        "height": p * N,
        "bits": bits,
        "hashrate_ehs": hashrate,
        "price_usd": None if price is None else float(price),
        "time": t,
        "date": day.isoformat(),
    }


def daily_log_returns(store: Store) -> np.ndarray:
    """Daily log returns of the stored USD price series (for the block bootstrap)."""
    rows = store.rows("SELECT day, price FROM prices WHERE currency = 'USD' ORDER BY day")
    if len(rows) < 60:
        raise HashlensError("price.model bootstrap needs a stored USD series of at least 60 days")
    p = np.array([r[1] for r in rows], dtype=float)
    days = np.array([r[0].toordinal() for r in rows])
    ok = np.diff(days) == 1  # a return only across consecutive days
    return np.diff(np.log(p))[ok]
