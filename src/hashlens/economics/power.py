"""Network power of stored days: the one composition of the CBECI method with the store.

Every face (``hashlens power``, ``GET /v1/power``, the weekly figures and the report) calls
:func:`network_power_on_days`; the method itself is :func:`hashlens.economics.cbeci.network_power_series`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np

from hashlens.chain.clock import ChainClock, day_of
from hashlens.economics.asics import Asic
from hashlens.economics.cbeci import LOOKBACK_DAYS, NetworkPower, network_power_series
from hashlens.economics.models import PowerDay, PowerRequest
from hashlens.errors import HashlensError
from hashlens.store import Store

#: First extension of the look-back when a day has no profitable model in its window [days].
_FIRST_EXTENSION_DAYS = 64


def _runs(days: list[date]) -> list[tuple[date, date, list[date]]]:
    """Group sorted days into spans [first day − 20, last day] that overlap or touch."""
    runs: list[tuple[date, date, list[date]]] = []
    for d in days:
        lo = d - timedelta(days=LOOKBACK_DAYS)
        if runs and lo <= runs[-1][1] + timedelta(days=1):
            a, _, members = runs[-1]
            runs[-1] = (a, d, [*members, d])
        else:
            runs.append((lo, d, [d]))
    return runs


def _span(
    store: Store,
    clock: ChainClock,
    catalogue: Sequence[Asic],
    start: date,
    end: date,
    wanted: set[date],
    power_price_usd_per_kwh: float,
) -> dict[date, NetworkPower]:
    from hashlens.economics.daily import hashprice_days, network_hashrate_on

    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    hp_rows = hashprice_days(store, days, clock=clock)
    hp = np.full(len(days), np.nan)
    hr = np.full(len(days), np.nan)
    how: list[str] = [""] * len(days)
    for i, (d, row) in enumerate(zip(days, hp_rows, strict=True)):
        if row.usd_per_th_day is not None:
            hp[i] = row.usd_per_th_day
        elif d in wanted:
            raise HashlensError(f"network power on {d}: {row.price_source}; import a USD price series")
        try:
            h = network_hashrate_on(clock, d)
        except HashlensError:
            if d in wanted:
                raise
            continue  # a look-back day without a dated period before it: left out of the means
        hr[i], how[i] = h.hashrate_ehs, h.method
    series = network_power_series(catalogue, days, hr, hp, power_price_usd_per_kwh)
    return {
        d: p.model_copy(update={"hashrate_method": how[i]})
        for i, (d, p) in enumerate(zip(days, series, strict=True))
        if d in wanted
    }


def network_power_on_days(
    store: Store,
    days: Sequence[date],
    power_price_usd_per_kwh: float = 0.05,
    catalogue: Sequence[Asic] | None = None,
    clock: ChainClock | None = None,
) -> list[NetworkPower]:
    """Network power [GW] and energy [TWh/yr] of each day by the CBECI method, from the store.

    For each day the inputs of the day and of the 20 days before it (the 14-day threshold
    mean of each of the 7 days the power is averaged over) are built from the one owner of
    each: revenue per TH/s per day [USD/TH/day] from
    :func:`hashlens.economics.daily.hashprice_days` (the chain state at 24:00 UTC priced at that
    instant), hashrate [EH/s] from :func:`hashlens.economics.daily.network_hashrate_on`
    (getnetworkhashps over 1008 blocks where blocks are stored, else the hashrate the last
    ended period implies; ``hashrate_method`` says which), then
    :func:`hashlens.economics.cbeci.network_power_series` runs the method. Days close together
    share one run. If a day has no profitable model in its run, the run reaches further back
    (to the first day with a stored price) to find the values to carry forward, as Cambridge
    carries the last profitable day's values.

    Parameters
    ----------
    store : the store (chain periods, block times and fees, USD prices)
    days : UTC days, any order; the result follows it
    power_price_usd_per_kwh : electricity price [USD/kWh] (Cambridge's default 0.05)
    catalogue : hardware list (default: hashlens' bundled catalogue,
        :func:`hashlens.economics.asics.load_catalogue`)
    clock : the chain's clock, if the caller has one

    Returns
    -------
    One :class:`hashlens.economics.cbeci.NetworkPower` per day.

    Raises
    ------
    HashlensError for a day the store's periods do not reach, with no USD price at its end,
    or with no dated period before it to take the hashrate from.
    """
    if not days:
        return []
    if power_price_usd_per_kwh <= 0:
        raise HashlensError(f"power price must be positive (got {power_price_usd_per_kwh:g} USD/kWh)")
    if catalogue is None:
        from hashlens.economics.asics import load_catalogue

        catalogue = load_catalogue()
    clock = clock or ChainClock.from_store(store)
    first_price = store.first_price_day()
    earliest = day_of(float(clock.start_time[0]))
    if first_price is not None:
        earliest = max(earliest, first_price - timedelta(days=1))  # day D is priced on D + 1
    wanted = sorted(set(days))
    out: dict[date, NetworkPower] = {}
    for lo, hi, members in _runs(wanted):
        # Never start after the first wanted day: a day before the stored prices is then an error.
        start, pad = min(max(lo, earliest), members[0]), _FIRST_EXTENSION_DAYS
        while True:
            got = _span(store, clock, catalogue, start, hi, set(members), power_price_usd_per_kwh)
            unfound = [d for d in members if got[d].profitable_models == 0 and not got[d].carried_forward]
            if not unfound or start <= earliest:
                break
            start, pad = max(start - timedelta(days=pad), earliest), pad * 4
        out.update(got)
    return [out[d] for d in days]


def network_power(store: Store, request: PowerDay, catalogue: Sequence[Asic] | None = None) -> list[NetworkPower]:
    """A request's days by :func:`network_power_on_days`: its ``date`` (default:
    :func:`hashlens.economics.daily.latest_day`), or, for a
    :class:`~hashlens.economics.models.PowerRequest` with a ``start``, the first of each month
    from it to that day."""
    from hashlens.economics.daily import latest_day, monthly_days

    clock = ChainClock.from_store(store)
    end = request.as_of or latest_day(store, clock)
    days = monthly_days(request.start if isinstance(request, PowerRequest) else None, end)
    return network_power_on_days(store, days, request.power_price_usd_per_kwh, catalogue=catalogue, clock=clock)
