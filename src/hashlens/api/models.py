"""Request and response models of the HTTP API, with their bounds.

Bounds keep every request cheap and every number finite: a request outside them is a 422
naming the field. Responses whose shape belongs to a library function that is still growing
(difficulty, hashrate, hashprice, power, miners, simulation) are returned as that function's
plain data; the others are typed here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from hashlens.economics.fleet import Operating

FIRST_DAY = date(2009, 1, 3)
LAST_DAY = date(2100, 1, 1)
MAX_SIM_PATHS = 20_000
MAX_SIM_DAYS = 730
MAX_SIM_WORK = 5_000_000  # paths x days
MAX_SIM_STEP_WORK = 50_000_000  # paths x steps x generations (at least 1): the engine's time
MAX_SIM_RECORD_BYTES = 256 * 2**20  # recorded paths (float32) [bytes]: the run's memory
MAX_FORECAST_PATHS = 100_000  # per API request (the CLI allows 1,000,000)


def _in_range(v: date) -> date:
    if not FIRST_DAY <= v <= LAST_DAY:
        raise ValueError(f"date must be between {FIRST_DAY} and {LAST_DAY}")
    return v


Day = Annotated[date, AfterValidator(_in_range)]
"""A UTC day between the genesis block and 2100."""


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
class Machine(BaseModel):
    """One group of identical machines: a catalogue model, or hashrate with efficiency or power."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: str | None = Field(None, min_length=1, max_length=80, description="Catalogue model, e.g. 'S21 Pro'.")
    label: str | None = Field(None, min_length=1, max_length=80, description="Name of a custom machine.")
    hashrate_ths: float | None = Field(None, gt=0, le=1e6, description="Per machine [TH/s].")
    efficiency_j_per_th: float | None = Field(None, gt=0, le=1e5, description="[J/TH].")
    power_w: float | None = Field(None, gt=0, le=1e7, description="Per machine, at the wall [W].")
    count: int = Field(..., ge=0, le=10_000_000)
    power_price_usd_per_kwh: float | None = Field(None, ge=0, le=10, description="This group's power price.")
    machine_price_usd: float | None = Field(None, ge=0, le=1e8, description="Price of one machine, for payback.")

    @model_validator(mode="after")
    def one_way_to_say_it(self) -> Machine:
        if not self.model and self.hashrate_ths is None:
            raise ValueError("give a catalogue model, or hashrate_ths with efficiency_j_per_th or power_w")
        if not self.model and self.efficiency_j_per_th is None and self.power_w is None:
            raise ValueError("give efficiency_j_per_th or power_w with hashrate_ths")
        return self


class FleetRequest(Operating):
    """A fleet and how it runs (the bounds of :class:`~hashlens.economics.fleet.Operating`)."""

    machines: list[Machine] = Field(..., min_length=1, max_length=1000)
    date: Day | None = None
    btc_price_usd: float | None = Field(None, gt=0, le=1e9)
    hashprice_usd_per_ph_day: float | None = Field(None, gt=0, le=1e7)


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    scenario: dict[str, Any] = Field(..., description="A scenario as in examples/scenarios (YAML as JSON).")
    paths: int = Field(2000, ge=1, le=MAX_SIM_PATHS)
    seed: int = Field(1, ge=0, le=0xFFFF_FFFF)  # numpy seeds are unsigned 32-bit


class PricesImport(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    currency: str = Field("USD", min_length=3, max_length=3)
    prices: dict[date, float] = Field(..., min_length=1, max_length=20000)
    allow_gaps: bool = False
    replace: bool = Field(False, description="Overwrite stored prices that differ (the answer lists the days).")
    source: str = Field("api", max_length=200)


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


class Halving(BaseModel):
    tip_height: int
    next_halving_height: int
    blocks_left: int
    current_subsidy_btc: float = Field(..., description="[BTC/block]")
    next_subsidy_btc: float = Field(..., description="[BTC/block]")
    block_interval_s: float = Field(..., description="Mean interval the estimate uses [s].")
    estimated_time: float = Field(..., description="Estimated time of the halving [Unix s].")


class OperatingOut(BaseModel):
    power_price_usd_per_kwh: float
    pool_fee: float
    stale_rate: float
    uptime: float
    pue: float
    hosting_usd_per_kwh: float
    hosting_usd_per_kw_month: float


class FleetMachine(BaseModel):
    """One group's unit economics per machine (None where not finite, e.g. no payback)."""

    label: str
    count: int
    hashrate_ths: float
    power_w: float
    efficiency_j_per_th: float
    power_price_usd_per_kwh: float
    revenue_usd_per_day: float | None
    revenue_btc_per_day: float | None
    energy_kwh_per_day: float | None
    power_cost_usd_per_day: float | None
    hosting_usd_per_day: float | None
    profit_usd_per_day: float | None
    margin: float | None
    breakeven_power_price_usd_per_kwh: float | None
    breakeven_hashprice_usd_per_ph_day: float | None
    shutdown_btc_price_usd: float | None
    payback_days: float | None


class FleetTotals(BaseModel):
    revenue_usd_per_day: float
    power_cost_usd_per_day: float
    hosting_usd_per_day: float
    profit_usd_per_day: float
    revenue_btc_per_day: float
    hashrate_phs: float
    power_mw: float
    margin: float | None


class FleetResult(BaseModel):
    """What :func:`hashlens.economics.fleet.fleet_on_day` returns (as ``hashlens fleet --json``)."""

    date: str
    hashprice_usd_per_ph_day: float = Field(..., description="[USD/PH/day]")
    btc_price_usd: float = Field(..., description="[USD/BTC]")
    operating: OperatingOut
    machines: list[FleetMachine]
    fleet: FleetTotals
    share_of_hashrate_under_water: float = Field(..., description="Share of hashrate losing money [0-1].")
