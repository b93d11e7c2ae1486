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
    # TODO(issue 10): the set-up (scenario, catalogue, chain state, resolve) is copied in the
    # CLI, the report and the sweep; one library function in sim/ should own it.
    from hashlens.economics.asics import find_model, load_catalogue
    from hashlens.sim.engine import resolve, summarise
    from hashlens.sim.engine import simulate as run
    from hashlens.sim.scenario import parse_scenario

    s = parse_scenario(req.scenario, "api")
    if s.days > MAX_SIM_DAYS or req.paths * s.days > MAX_SIM_WORK:
        raise HTTPException(
            422,
            f"simulation too large: at most {MAX_SIM_DAYS} days and "
            f"{MAX_SIM_WORK:,} path-days per request (got {req.paths} x {s.days:g})",
        )
    if s.price_model in ("bootstrap", "path"):
        raise HTTPException(422, "price.model bootstrap and path are CLI-only; use gbm or constant here")
    cat = load_catalogue()
    effs = {g.model: find_model(cat, g.model, "hashrate.fleet: ").efficiency_j_per_th for g in s.fleet}
    chain = holder.cached(_chain_state) if s.hashrate_ehs is None or s.price_usd is None or s.bits is None else None
    r = resolve(s, chain, lambda m: effs[m])
    out: dict[str, Any] = summarise(r, run(r, req.paths, req.seed))
    out["seed"] = req.seed
    return out
