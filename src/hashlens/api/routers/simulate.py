"""Bounded simulations of the coming difficulty adjustments.

A request's size is known before any allocation (:func:`hashlens.sim.setup.run_size`) and must
stay under every ceiling below; the run itself goes to the heavy pool (its own process, killed
past its time or memory limit).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from hashlens.api.deps import holder_of
from hashlens.api.models import (
    ERRORS,
    MAX_SIM_DAYS,
    MAX_SIM_RECORD_BYTES,
    MAX_SIM_STEP_WORK,
    MAX_SIM_WORK,
    SimulateRequest,
)
from hashlens.store import Store

router = APIRouter(prefix="/v1", tags=["simulate"], responses=ERRORS)


def _chain_state(s: Store) -> Any:
    from hashlens.sim.chain_state import chain_state

    return chain_state(s)


@router.post("/simulate", response_model=dict[str, Any])
async def simulate(request: Request, req: SimulateRequest) -> Response:
    """A bounded simulation: at most 20,000 paths, 730 days, 5 million path-days, 50 million
    path-steps x generations and 256 MB of recorded paths."""
    holder = holder_of(request)
    from hashlens.sim.scenario import parse_scenario
    from hashlens.sim.setup import needs_chain, run_size

    s = parse_scenario(req.scenario, "api")
    size = run_size(s, req.paths)
    if s.days > MAX_SIM_DAYS or req.paths * s.days > MAX_SIM_WORK:
        raise HTTPException(
            422,
            f"simulation too large: at most {MAX_SIM_DAYS} days and "
            f"{MAX_SIM_WORK:,} path-days per request (got {req.paths} x {s.days:g})",
        )
    if size.work > MAX_SIM_STEP_WORK:
        raise HTTPException(
            422,
            f"simulation too large: {req.paths:,} paths x {size.steps:,} steps x {max(1, size.generations)} "
            f"generation(s) = {size.work:,}; the limit is {MAX_SIM_STEP_WORK:,} (raise step_days or lower paths)",
        )
    if size.record_bytes > MAX_SIM_RECORD_BYTES:
        raise HTTPException(
            422,
            f"simulation too large: {size.record_bytes / 2**20:,.0f} MB of recorded paths; the limit is "
            f"{MAX_SIM_RECORD_BYTES / 2**20:,.0f} MB (raise record_every_days or lower paths)",
        )
    if s.price_model in ("bootstrap", "path"):
        raise HTTPException(422, "price.model bootstrap and path are CLI-only; use gbm or constant here")
    chain = await holder.compute(_chain_state) if needs_chain(s) else None
    out = await request.app.state.pool.run(
        "hashlens.api.tasks:simulate", req.scenario, req.paths, req.seed, chain, gone=request.is_disconnected
    )
    from hashlens.api.deps import encode_json

    return Response(encode_json(out), media_type="application/json")
