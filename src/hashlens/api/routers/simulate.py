"""Bounded simulations of the coming difficulty adjustments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from hashlens.api.deps import Holder
from hashlens.api.models import ERRORS, MAX_SIM_DAYS, MAX_SIM_WORK, SimulateRequest
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["simulate"], responses=ERRORS)


def _chain_state(s: Store) -> Any:
    from hashlens.sim.chain_state import chain_state

    return chain_state(s)


@router.post("/simulate")
def simulate(holder: Holder, req: SimulateRequest) -> dict[str, Any]:
    """A bounded simulation: at most 20,000 paths, 730 days and 5 million path-days."""
    from hashlens.sim.engine import simulate as run
    from hashlens.sim.engine import summarise
    from hashlens.sim.scenario import parse_scenario
    from hashlens.sim.setup import needs_chain, prepare_run

    s = parse_scenario(req.scenario, "api")
    if s.days > MAX_SIM_DAYS or req.paths * s.days > MAX_SIM_WORK:
        raise HTTPException(
            422,
            f"simulation too large: at most {MAX_SIM_DAYS} days and "
            f"{MAX_SIM_WORK:,} path-days per request (got {req.paths} x {s.days:g})",
        )
    if s.price_model in ("bootstrap", "path"):
        raise HTTPException(422, "price.model bootstrap and path are CLI-only; use gbm or constant here")
    run_ = prepare_run(s, chain=holder.cached(_chain_state) if needs_chain(s) else None)
    out: dict[str, Any] = summarise(run_.resolved, run(run_.resolved, req.paths, req.seed))
    out["seed"] = req.seed
    return out
