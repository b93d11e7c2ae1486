"""Forecast endpoint: the next adjustments with calibrated ranges.

``GET /v1/forecast?height=H&horizon=3&paths=20000&seed=1`` is
:func:`hashlens.sim.forecast.forecast_adjustments` over the store's clock — the function the CLI
(``hashlens forecast``), the weekly report's next-adjustment and outlook sections and the
dashboard call — as its typed result's JSON (quantiles spelled p05 … p95). Bad input is a 400
naming the bound.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hashlens.api.deps import Holder
from hashlens.api.models import ERRORS, MAX_FORECAST_PATHS
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["forecast"], responses=ERRORS)


def _clock(s: Store) -> Any:
    from hashlens.chain.clock import ChainClock

    return ChainClock.from_store(s)


@router.get("/forecast", response_model=dict[str, Any])
async def forecast(
    request: Request,
    holder: Holder,
    height: Annotated[
        int | None, Query(description="As of this height (data below it only); default: the tip.")
    ] = None,
    horizon: Annotated[int, Query(description="Adjustments ahead, 1 … 60.")] = 3,
    paths: Annotated[int, Query(description=f"Simulated paths, 1 … {MAX_FORECAST_PATHS:,}.")] = 20_000,
    seed: Annotated[int, Query(description="Random seed.")] = 1,
) -> Response:
    """The forecast of the next ``horizon`` adjustments a user would have had at ``height``
    (:class:`hashlens.sim.forecast.Forecast`): ``{as_of_height, basis, adjustments: [{height,
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
    clock = await holder.compute(_clock)
    pool = request.app.state.pool
    return await holder.json_from(
        ("forecast", height, horizon, paths, seed),
        lambda: pool.run("hashlens.api.tasks:forecast", clock, height, horizon, paths, seed),
    )
