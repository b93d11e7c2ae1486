"""Forecast endpoint: the next adjustments with calibrated ranges.

``GET /v1/forecast?height=H&horizon=3&paths=20000&seed=1`` is
:func:`hashlens.sim.forecast.forecast_from_store` — the function the CLI (``hashlens forecast``),
the weekly report's outlook and the dashboard call — as plain data. Bad input is a 400 naming
the bound.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from hashlens.api.deps import Holder
from hashlens.api.models import ERRORS
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["forecast"], responses=ERRORS)


def _forecast(s: Store, height: int | None, horizon: int, paths: int, seed: int) -> dict[str, Any]:
    from hashlens.sim.forecast import forecast_from_store

    out = forecast_from_store(s, height, horizon, paths, seed).as_dict()
    out.pop("rows", None)
    return out


@router.get("/forecast")
def forecast(
    holder: Holder,
    height: Annotated[
        int | None, Query(description="As of this height (data below it only); default: the tip.")
    ] = None,
    horizon: Annotated[int, Query(description="Adjustments ahead, 1 … 60.")] = 3,
    paths: Annotated[int, Query(description="Simulated paths, 1 … 1,000,000.")] = 20_000,
    seed: Annotated[int, Query(description="Random seed.")] = 1,
) -> dict[str, Any]:
    """The forecast of the next ``horizon`` adjustments a user would have had at ``height``:
    ``{as_of_height, adjustments: [{height, change_pct_p05, change_pct_p50, change_pct_p95,
    p_drop, date_p50, …}], …}``."""
    return holder.cached(_forecast, height, horizon, paths, seed)
