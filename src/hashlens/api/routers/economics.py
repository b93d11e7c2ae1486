"""Economics endpoints: hashprice, ASICs, fleet, network power, cost per BTC. Each takes its
request model from :mod:`hashlens.economics.models` as its query or body and answers the
library's typed result."""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import StoreHolder, holder_of
from hashlens.api.models import ERRORS
from hashlens.economics.asics import Asic
from hashlens.economics.cbeci import NetworkPower
from hashlens.economics.cost import CostDay
from hashlens.economics.daily import DayHashprice, HashpriceSeries
from hashlens.economics.fleet import FleetResult
from hashlens.economics.models import FleetRequest, HashpriceRequest, HashpriceSeriesRequest, PowerDay
from hashlens.errors import HashlensError
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["economics"], responses=ERRORS)


# -- library calls, module-level so their results can be cached ---------------------------------
def _every_day(s: Store) -> dict[date, DayHashprice]:
    """Every stored price day's hashprice row, computed once per store version (one vectorised
    pass, ~0.1 s for 5,000 days): a single day's read is then a look-up."""
    from datetime import timedelta

    from hashlens.economics.daily import hashprice_days, latest_day

    first, last = s.first_price_day(), latest_day(s)
    if first is None or first > last:
        return {}
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return {r_day: row for r_day, row in zip(days, hashprice_days(s, days, None), strict=True)}


def _latest(s: Store) -> date:
    from hashlens.economics.daily import latest_day

    return latest_day(s)


def _one_day(s: Store, day: date, price: float | None, fees_btc: float | None = None) -> DayHashprice:
    from hashlens.economics.daily import hashprice_days

    return hashprice_days(s, [day], price, fees_btc)[0]


def day_row(holder: StoreHolder, day: date | None, price: float | None, fees_btc: float | None = None) -> DayHashprice:
    """The day's hashprice row (default: the latest day with data): a look-up in the rows
    precomputed for this store version when the stored price and fees are used, else computed
    for that day alone. Runs in a worker thread (it may compute)."""
    day = day or holder.cached(_latest)
    if price is None and fees_btc is None:
        row = holder.cached(_every_day).get(day)
        if row is not None:
            return row
    return holder.cached(_one_day, day, price, fees_btc)


def _hashprice_series(s: Store, start: date | None, end: date | None) -> HashpriceSeries:
    from hashlens.economics.daily import hashprice_series, latest_day

    return hashprice_series(s, start, end or latest_day(s))


def _power(s: Store, req: PowerDay) -> NetworkPower:
    """The request's network power on its day (default: the latest day with data), CBECI method."""
    from hashlens.economics.power import network_power

    return network_power(s, req)[0]


@lru_cache(maxsize=1)
def _catalogue_json() -> bytes:
    """The bundled catalogue's answer, encoded once per process (it never changes)."""
    from hashlens.api.deps import encode_json
    from hashlens.economics.asics import load_catalogue

    return encode_json(load_catalogue())


# -- endpoints ----------------------------------------------------------------------------------
@router.get("/hashprice", response_model=DayHashprice)
async def hashprice(request: Request, q: Annotated[HashpriceRequest, Query()]) -> Response:
    """Hashprice on a UTC day in BTC, sats and USD per PH/s (TH/s) per day."""
    holder = holder_of(request)
    key = ("hashprice", q)
    version, (rows, latest) = holder.snapshot((_every_day,), (_latest,))
    day = q.as_of or latest
    if q.btc_price_usd is None and q.fees_btc is None and rows is not None and day in rows:
        row = rows[day]
        return holder.json_now(version, key, lambda: row)  # a look-up in that version's rows: no thread
    return await holder.json_call(key, lambda: day_row(holder, q.as_of, q.btc_price_usd, q.fees_btc))


@router.get("/hashprice/series", response_model=HashpriceSeries)
async def hashprice_series(request: Request, q: Annotated[HashpriceSeriesRequest, Query()]) -> Response:
    """Daily hashprice from ``start`` (default: the first stored price) to ``end`` with its
    all-time low and each day's lowest-since."""
    holder = holder_of(request)
    return await holder.json(_hashprice_series, q.start, q.end)


@router.get("/asics", response_model=list[Asic])
async def asics(request: Request) -> Response:
    """The ASIC catalogue: models, release months, TH/s, W, J/TH and sources (encoded once per
    process and answered on the event loop: no thread for bytes already made)."""
    from hashlens.api.middleware import mark_answer

    mark_answer(holder_of(request).version)  # the bundled catalogue: the same at every version
    return Response(_catalogue_json(), media_type="application/json")


@router.post("/fleet", response_model=FleetResult)
async def fleet(request: Request, req: FleetRequest) -> Response:
    """Unit economics of a posted fleet at a day's hashprice and price (or the given ones);
    the answer for the same fleet and store version is served from the cache."""
    holder = holder_of(request)
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.fleet import fleet_on_day

    def run() -> FleetResult:
        return fleet_on_day(req, day_row(holder, req.as_of, req.btc_price_usd), load_catalogue())

    return await holder.json_call(("fleet", req.model_dump_json()), run)


@router.get("/power", response_model=NetworkPower)
async def power(request: Request, q: Annotated[PowerDay, Query()]) -> Response:
    """Network power and energy by the Cambridge (CBECI) method on a day (``hashlens power
    --start`` gives a monthly series)."""
    holder = holder_of(request)
    return await holder.json(_power, q)


@router.get("/cost", response_model=CostDay)
async def cost(
    request: Request,
    as_of: date | None = None,
    date: Annotated[date | None, Query(deprecated=True, description="The older name of as_of.")] = None,
    power_price: Annotated[float | None, Query(description="Power price [USD/kWh].")] = None,
    efficiency: Annotated[list[float] | None, Query(description="Efficiencies to cost [J/TH], repeatable.")] = None,
    price: Annotated[float | None, Query(description="BTC price [USD] to set the costs beside.")] = None,
    opex_usd_per_day: Annotated[float | None, Query(description="Other cash costs of 1 PH/s [USD/day].")] = None,
    depreciation_usd_per_day: Annotated[float | None, Query(description="Depreciation of 1 PH/s [USD/day].")] = None,
    overhead_usd_per_day: Annotated[float | None, Query(description="Overheads of 1 PH/s [USD/day].")] = None,
    interest_usd_per_day: Annotated[float | None, Query(description="Interest of 1 PH/s [USD/day].")] = None,
) -> Response:
    """Cost to mine one BTC on a day: electricity, cash (+ other cash costs) and all-in (+ depreciation) cost
    by efficiency, and Hayes' model. The query is
    :class:`~hashlens.economics.cost.CostDayRequest` under the API's shorter names, which holds
    every bound: omitted non-power costs take the defaults of
    :class:`~hashlens.economics.cost.CostTerms` (derived from the companies' reported figures), the
    same terms ``hashlens cost`` uses; a value out of its bounds is a 422 in the CLI's words."""
    holder = holder_of(request)
    from hashlens.economics.cost import CostDayRequest, cost_per_btc_table

    if as_of is not None and date is not None and as_of != date:
        raise HashlensError(f"as_of {as_of} and date {date} name two days: give as_of alone")
    req = CostDayRequest.build(
        as_of=as_of if as_of is not None else date,
        btc_price_usd=price,
        power_price_usd_per_kwh=power_price,
        efficiencies_j_per_th=efficiency,
        other_cash_usd_per_ph_day=opex_usd_per_day,
        depreciation_usd_per_ph_day=depreciation_usd_per_day,
        overhead_usd_per_ph_day=overhead_usd_per_day,
        interest_usd_per_ph_day=interest_usd_per_day,
    )

    def make() -> CostDay:
        return CostDay.model_validate(
            cost_per_btc_table([day_row(holder, req.as_of, req.btc_price_usd)], terms=req.terms())[0]
        )

    # the answer for the same request at this store version: from the cache
    return await holder.json_call(("cost", req.model_dump_json()), make)
