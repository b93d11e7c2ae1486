"""Forecast endpoint: the next adjustments with calibrated ranges.

``GET /v1/forecast?as_of=D&horizon=3&paths=20000&seed=1`` (or ``height=H`` instead of the day) is
:func:`hashlens.sim.forecast.forecast_adjustments` over the store's clock — the function the CLI
(``hashlens forecast``), the weekly report's next-adjustment and outlook sections and the
dashboard call — as its typed result's JSON (quantiles spelled p05 … p95). Bad input is a 422
naming the bound in the contract's words (:class:`hashlens.sim.forecast.ForecastRequest`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import Field

from hashlens.api.deps import Holder
from hashlens.api.models import ERRORS, MAX_FORECAST_PATHS
from hashlens.sim.forecast import ForecastRequest
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["forecast"], responses=ERRORS)


def _clock(s: Store) -> Any:
    from hashlens.chain.clock import ChainClock

    return ChainClock.from_store(s)


def _day(s: Store, as_of: date | None) -> date:
    """The day answered for: ``as_of``, else the report's day (every face's default)."""
    from hashlens.weekly.asof import as_of_day

    return as_of_day(s, _clock(s), as_of)


class ApiForecastRequest(ForecastRequest):
    """:class:`~hashlens.sim.forecast.ForecastRequest` with the API's own bound on paths (a
    request's work on a shared server)."""

    paths: int = Field(20_000, ge=1, le=MAX_FORECAST_PATHS, description="Simulated paths [-].")


@router.get("/forecast", response_model=dict[str, Any])
async def forecast(request: Request, holder: Holder, q: Annotated[ApiForecastRequest, Query()]) -> Response:
    """The forecast of the next ``horizon`` adjustments a user would have had at 24:00 UTC of
    ``as_of`` (default the report's day) or at ``height`` (:class:`hashlens.sim.forecast.Forecast`
    with the day under ``as_of``): ``{as_of, as_of_height, basis, adjustments: [{height,
    change_pct: {p05, p10, p25, p50, p75, p90, p95}, p_drop, retarget_time_s: {p05 … p95},
    retarget_time_median}], method, …}``; the first adjustment is the next adjustment every
    face shows. Computed in the heavy pool, cached per store version."""
    clock = await holder.compute(_clock)
    day = None if q.height is not None else await holder.compute(_day, q.as_of)
    pool = request.app.state.pool
    return await holder.json_from(
        ("forecast", day, q.height, q.horizon, q.paths, q.seed),
        lambda: pool.run("hashlens.api.tasks:forecast", clock, q, day),
    )
