"""Forecast endpoint: the next adjustments with calibrated ranges.

``GET /v1/forecast?as_of=D&horizon=3&paths=20000&seed=1`` (or ``height=H`` instead of the day) is
:func:`hashlens.sim.forecast.forecast_adjustments` over the store's clock — the function the CLI
(``hashlens forecast``), the weekly report's next-adjustment and outlook sections and the
dashboard call — as its typed result's JSON (quantiles spelled p05 … p95). Bad input is a 400
naming the bound.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import Holder
from hashlens.api.models import ERRORS, MAX_FORECAST_PATHS
from hashlens.contracts import Day
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["forecast"], responses=ERRORS)


def _clock(s: Store) -> Any:
    from hashlens.chain.clock import ChainClock

    return ChainClock.from_store(s)


def _day(s: Store, as_of: date | None) -> date:
    """The day answered for: ``as_of``, else the report's day (every face's default)."""
    from hashlens.weekly.asof import as_of_day

    return as_of_day(s, _clock(s), as_of)


@router.get("/forecast", response_model=dict[str, Any])
async def forecast(
    request: Request,
    holder: Holder,
    as_of: Annotated[
        Day | None,
        Query(description="As of 24:00 UTC of this day (default: the report's day, the latest day with data)."),
    ] = None,
    height: Annotated[
        int | None, Query(description="As of this height instead (data below it only); not with as_of.")
    ] = None,
    horizon: Annotated[int, Query(description="Adjustments ahead, 1 … 60.")] = 3,
    paths: Annotated[int, Query(description=f"Simulated paths, 1 … {MAX_FORECAST_PATHS:,}.")] = 20_000,
    seed: Annotated[int, Query(description="Random seed.")] = 1,
) -> Response:
    """The forecast of the next ``horizon`` adjustments a user would have had at 24:00 UTC of
    ``as_of`` (default the report's day) or at ``height`` (:class:`hashlens.sim.forecast.Forecast`
    with the day under ``as_of``): ``{as_of, as_of_height, basis, adjustments: [{height,
    change_pct: {p05, p10, p25, p50, p75, p90, p95}, p_drop, retarget_time_s: {p05 … p95},
    retarget_time_median}], method, …}``; the first adjustment is the next adjustment every
    face shows. Computed in the heavy pool, cached per store version."""
    from hashlens.errors import HashlensError
    from hashlens.sim.forecast import MAX_HORIZON

    if not 1 <= horizon <= MAX_HORIZON:
        raise HashlensError(f"horizon must be 1 … {MAX_HORIZON} adjustments (got {horizon})")
    if not 1 <= paths <= MAX_FORECAST_PATHS:
        raise HashlensError(f"paths must be 1 … {MAX_FORECAST_PATHS:,} per API request (got {paths:,})")
    if not 0 <= seed < 2**63:
        raise HashlensError(f"seed must be 0 … 2^63 - 1 (got {seed})")
    if as_of is not None and height is not None:
        raise HashlensError("give as_of or height, not both")
    clock = await holder.compute(_clock)
    day = None if height is not None else await holder.compute(_day, as_of)
    pool = request.app.state.pool
    return await holder.json_from(
        ("forecast", day, height, horizon, paths, seed),
        lambda: pool.run("hashlens.api.tasks:forecast", clock, height, horizon, paths, seed, day),
    )
