"""Initial simulation state from the store: bits, hashrate and price at a chosen height."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np

from hashlens.chain.hashrate import implied_hashrate_ehs
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.errors import HashlensError
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL
MIN_BOOTSTRAP_DAYS = 60


def chain_state(store: Store, height: int | None = None) -> dict[str, Any]:
    """The chain at the first block of a period, as the simulator starts from it.

    Parameters
    ----------
    store : the store (its :meth:`period_table` and :meth:`price_on`)
    height : any height in the period to start from; default the latest period whose start
        time and its predecessor's are stored

    Returns
    -------
    ``height`` (the period's first block), ``bits`` (its compact target), ``hashrate_ehs``
    (the hashrate the previous period implies,
    :func:`hashlens.chain.hashrate.implied_hashrate_ehs` [EH/s]), ``price_usd`` (the stored
    USD price on the period's start day, or None [USD/BTC]), ``time`` [Unix s] and ``date``.
    """
    tab = store.period_table()
    known = ~np.isnan(tab.start_time)
    if height is None:
        both = np.flatnonzero(known[1:] & known[:-1]) + 1
        if not both.size:
            raise HashlensError(
                "the store has no two consecutive periods with stored start times; give initial.hashrate_ehs"
            )
        p = int(both[-1])
    else:
        p = height // N
    if not 0 <= p < len(tab):
        raise HashlensError(f"height {height}: its period {p} is not in the store")
    if p == 0 or not (known[p] and known[p - 1]):
        raise HashlensError(
            f"height {p * N}: the start times of periods {p - 1} and {p} are needed for the hashrate; "
            "give initial.hashrate_ehs"
        )
    t, t_prev = float(tab.start_time[p]), float(tab.start_time[p - 1])
    hashrate = implied_hashrate_ehs(int(tab.bits[p - 1]), t - t_prev)
    day = datetime.fromtimestamp(t, tz=UTC).date()
    return {
        "height": int(tab.start_height[p]),
        "bits": int(tab.bits[p]),
        "hashrate_ehs": float(hashrate),
        "price_usd": store.price_on(day, "USD"),
        "time": int(t),
        "date": day.isoformat(),
    }


def daily_log_returns(store: Store) -> np.ndarray:
    """Daily log returns ln(P_d / P_{d-1}) of the stored USD price series, for the block
    bootstrap [-]; only across consecutive stored days."""
    days, prices = store.price_series("USD")
    if prices.size < MIN_BOOTSTRAP_DAYS:
        raise HashlensError(f"price.model bootstrap needs a stored USD series of at least {MIN_BOOTSTRAP_DAYS} days")
    ok = np.diff(days) == np.timedelta64(1, "D")  # a return only across consecutive days
    return np.diff(np.log(prices))[ok]
