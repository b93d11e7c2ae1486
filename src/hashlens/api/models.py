"""The HTTP API's own models (errors, health) and the request and response models not yet
owned by their domain.

Bounds keep every request cheap and every number finite: a request outside them is a 422
naming the field, in the words the CLI and the library use. The chain's and economics'
requests live in :mod:`hashlens.chain.models` and :mod:`hashlens.economics.models`, their
results where they are computed; they are re-exported here for code that imports them from the
API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hashlens.contracts import FIRST_DAY, LAST_DAY, Day
from hashlens.economics.fleet import FleetMachine, FleetResult, FleetTotals
from hashlens.economics.models import FleetRequest, Machine, Operating, PricesImport

__all__ = [
    "AUTH_ERRORS",
    "ERRORS",
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_FORECAST_PATHS",
    "MAX_SIM_DAYS",
    "MAX_SIM_PATHS",
    "MAX_SIM_RECORD_BYTES",
    "MAX_SIM_STEP_WORK",
    "MAX_SIM_WORK",
    "Day",
    "FleetMachine",
    "FleetRequest",
    "FleetResult",
    "FleetTotals",
    "Health",
    "Machine",
    "MinersImport",
    "Operating",
    "PricesImport",
    "Problem",
    "SimulateRequest",
]

MAX_SIM_PATHS = 20_000
MAX_SIM_DAYS = 730
MAX_SIM_WORK = 5_000_000  # paths x days
MAX_SIM_STEP_WORK = 50_000_000  # paths x steps x generations (at least 1): the engine's time
MAX_SIM_RECORD_BYTES = 256 * 2**20  # recorded paths (float32) [bytes]: the run's memory
MAX_FORECAST_PATHS = 100_000  # per API request (the CLI allows 1,000,000)


# -- errors -------------------------------------------------------------------------------------
class Problem(BaseModel):
    detail: Any = Field(..., description="What is wrong, naming the field")


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Bad input, or data the store does not hold: the message says which"},
    422: {"model": Problem, "description": "A parameter fails validation"},
}
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    401: {"model": Problem, "description": "Missing or wrong bearer token"},
    403: {"model": Problem, "description": "Imports are disabled on this server"},
}


# -- requests -----------------------------------------------------------------------------------
class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    scenario: dict[str, Any] = Field(..., description="A scenario as in examples/scenarios (YAML as JSON).")
    paths: int = Field(2000, ge=1, le=MAX_SIM_PATHS)
    seed: int = Field(1, ge=0, le=0xFFFF_FFFF)  # numpy seeds are unsigned 32-bit


class MinersImport(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    reports: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    treasuries: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    source: str = Field("api", max_length=200)


# -- responses ----------------------------------------------------------------------------------
class Health(BaseModel):
    status: str
    version: str
    read_only: bool
    counts: dict[str, int] = Field(..., description="Rows per store table.")
    store_version: int = Field(0, description="Increases with every write this server commits.")
    follow: dict[str, Any] | None = Field(
        None, description="What the follower last heard from each source (null: not following)."
    )
    heavy: dict[str, Any] | None = Field(None, description="The heavy-work pool: running, waiting, limits.")
    pid: int = Field(0, description="The answering server process (several with --workers).")
