"""The heavy requests' work, as module-level functions of plain arguments, run by the
:class:`~hashlens.api.pool.HeavyPool`'s worker processes (``"hashlens.api.tasks:simulate"``).

Each calls the one library function the CLI and the report call; the worker opens the store
read-only itself where it needs it (beside the server's own read connection).
"""

from __future__ import annotations

from datetime import date
from typing import Any


def simulate(scenario: dict[str, Any], paths: int, seed: int, chain: dict[str, Any] | None) -> dict[str, Any]:
    """``POST /v1/simulate``: the scenario's summary, as ``hashlens simulate --json``."""
    from hashlens.sim.engine import simulate as run
    from hashlens.sim.results import summarise
    from hashlens.sim.scenario import parse_scenario
    from hashlens.sim.setup import prepare_run

    run_ = prepare_run(parse_scenario(scenario, "api"), chain=chain)
    out: dict[str, Any] = summarise(run_.resolved, run(run_.resolved, paths, seed))
    out["seed"] = seed
    return out


def forecast(clock: Any, request: Any, day: date | None) -> dict[str, Any]:
    """``GET /v1/forecast``: :func:`hashlens.weekly.asof.forecast_for_day` over the clock for the
    request (:class:`hashlens.sim.forecast.ForecastRequest`), its day resolved (None: as of its
    height), as :func:`~hashlens.weekly.asof.forecast_answer`'s JSON."""
    from hashlens.weekly.asof import forecast_answer, forecast_for_day

    return forecast_answer(day, forecast_for_day(clock, request, day))


def weekly(db_path: str, as_of: date, paths: int, seed: int, today: date | None = None) -> dict[str, Any]:
    """``GET /v1/weekly``: :meth:`hashlens.weekly.WeeklyFigures.compute` for one day, its notes
    dated ``today`` (default the UTC date now)."""
    from hashlens.store import Store
    from hashlens.weekly import WeeklyFigures

    with Store(db_path, read_only=True) as s:
        return WeeklyFigures.compute(s, as_of, paths=paths, seed=seed, today=today).to_json()


def outlook(market: Any, request: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/outlook``: :func:`hashlens.sim.fleet_outlook.fleet_outlook`; a bad field comes
    back as a 422 naming it."""
    from fastapi import HTTPException

    from hashlens.sim.fleet_outlook import OutlookInputError, fleet_outlook

    try:
        return fleet_outlook(market, request)
    except OutlookInputError as exc:
        raise HTTPException(422, str(exc)) from None
