"""Economics requests: each question economics answers, its fields and their bounds, in one place.

``hashlens hashprice``, ``fleet``, ``power`` and ``prices import`` build these from their options
(``Model.build(**options)``; a fleet's rows from its file); ``GET /v1/hashprice``,
``/v1/hashprice/series``, ``/v1/power``, ``POST /v1/fleet`` and ``/v1/import/prices`` take them
as their query or body; the library functions take them or their fields. A value outside a
bound is refused in the same words on every face (:mod:`hashlens.contracts`). The results are
typed where they are computed (:class:`hashlens.economics.daily.DayHashprice`,
:class:`hashlens.economics.cbeci.NetworkPower`, :class:`hashlens.economics.fleet.FleetResult`,
:class:`hashlens.economics.asics.Asic`, :class:`hashlens.economics.daily.PricesImported`).

Nothing here imports the store; :class:`Operating` (how machines run) is shared with the fleet
outlook and the cost of production.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Self

from pydantic import Field, field_validator, model_validator

from hashlens.contracts import Day, Request, as_of_field

__all__ = [
    "MAX_FLEET_ROWS",
    "MAX_PRICE",
    "MAX_PRICE_DAYS",
    "BtcPrice",
    "FleetRequest",
    "HashpriceRequest",
    "HashpriceSeriesRequest",
    "Machine",
    "Operating",
    "PowerDay",
    "PowerRequest",
    "PricesImport",
]

#: Machine rows one fleet may have [-].
MAX_FLEET_ROWS = 1000
#: Days one price import may carry per currency (55 years) [-].
MAX_PRICE_DAYS = 20_000
#: The highest price of one BTC a series may hold [currency units]: room for currencies of many
#: units (one BTC is about 2·10^12 Vietnamese dong), none for an overflow.
MAX_PRICE = 1e15

BtcPrice = Annotated[float, Field(gt=0, le=1e9, description="BTC price [USD].")]
"""A BTC price [USD]: above 0, at most a billion."""


class Operating(Request):
    """How a fleet is run: fees, losses and facility costs, with their bounds (the one contract
    that ``hashlens fleet``, ``POST /v1/fleet``, the fleet outlook and the library share)."""

    power_price_usd_per_kwh: float = Field(0.05, ge=0, le=10, description="Power price [USD/kWh].")
    pool_fee: float = Field(0.02, ge=0, le=1, description="Share of revenue paid to the pool [0-1].")
    stale_rate: float = Field(0.0, ge=0, le=1, description="Share of work lost as stale or rejected [0-1].")
    uptime: float = Field(1.0, ge=0, le=1, description="Share of the day running [0-1].")
    pue: float = Field(1.0, ge=1, le=5, description="Facility power / machine power [-], at least 1.")
    hosting_usd_per_kwh: float = Field(0.0, ge=0, le=10, description="Hosting fee per kWh [USD/kWh].")
    hosting_usd_per_kw_month: float = Field(
        0.0, ge=0, le=10_000, description="Hosting fee per kW of machine power and month [USD/kW/month]."
    )

    def operating(self) -> Operating:
        """Only the operating terms (of a request that adds more fields to them)."""
        return Operating.model_construct(**{k: getattr(self, k) for k in Operating.model_fields})


class Machine(Request):
    """One group of identical machines (a row of a fleet file, an item of ``machines``): a
    catalogue model, or hashrate with efficiency or power."""

    model: str | None = Field(None, min_length=1, max_length=80, description="Catalogue model, e.g. 'S21 Pro'.")
    label: str | None = Field(None, min_length=1, max_length=80, description="Name of a custom machine.")
    hashrate_ths: float | None = Field(None, gt=0, le=1e6, description="Per machine [TH/s].")
    efficiency_j_per_th: float | None = Field(None, gt=0, le=1e5, description="[J/TH].")
    power_w: float | None = Field(None, gt=0, le=1e7, description="Per machine, at the wall [W].")
    count: int = Field(..., ge=0, le=10_000_000, description="Machines in the group [-].")
    power_price_usd_per_kwh: float | None = Field(None, ge=0, le=10, description="This group's power price.")
    machine_price_usd: float | None = Field(None, ge=0, le=1e8, description="Price of one machine, for payback.")

    @model_validator(mode="after")
    def _one_way_to_say_it(self) -> Self:
        if not self.model and self.hashrate_ths is None:
            raise ValueError("give a catalogue model, or hashrate_ths with efficiency_j_per_th or power_w")
        if not self.model and self.efficiency_j_per_th is None and self.power_w is None:
            raise ValueError(f"give efficiency_j_per_th or power_w for {self.hashrate_ths:g} TH/s")
        return self


class FleetRequest(Operating):
    """A fleet and how it runs (the bounds of :class:`Operating`), priced on a day (``hashlens
    fleet``, ``POST /v1/fleet``)."""

    machines: list[Machine] = Field(..., min_length=1, max_length=MAX_FLEET_ROWS)
    as_of: Day | None = as_of_field("UTC day for hashprice and price (default: the latest day with data).")
    btc_price_usd: BtcPrice | None = Field(None, description="BTC price [USD] (default: the day's stored one).")
    hashprice_usd_per_ph_day: float | None = Field(
        None, gt=0, le=1e7, description="Hashprice [USD/PH/day] (default: the day's at its price)."
    )


class HashpriceRequest(Request):
    """Hashprice on a UTC day in BTC, sats and USD per PH/s (TH/s) per day."""

    as_of: Day | None = as_of_field("UTC day (default: the latest day with data).")
    btc_price_usd: BtcPrice | None = Field(None, description="BTC price [USD] instead of the stored series.")
    fees_btc: float | None = Field(
        None, ge=0, le=1000, description="Fees per block [BTC] where no per-block fees are stored."
    )


class HashpriceSeriesRequest(Request):
    """Daily hashprice from ``start`` to ``end`` with its all-time low and each day's lowest-since."""

    start: Day | None = Field(None, description="First day (default: the first stored price).")
    end: Day | None = Field(None, description="Last day (default: the latest day with data).")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the series' end {self.end} is before its start {self.start}")
        return self


class PowerDay(Request):
    """Network power and energy by the Cambridge (CBECI) method on a day (``GET /v1/power``)."""

    as_of: Day | None = as_of_field("UTC day (default: the latest day with data).")
    power_price_usd_per_kwh: float = Field(
        0.05, gt=0, le=10, description="Electricity price [USD/kWh] (Cambridge's default 0.05)."
    )


class PowerRequest(PowerDay):
    """The same on the first of each month from ``start`` to ``as_of`` (``hashlens power
    --start``; each month is a run of the method over three weeks of days, seconds for years of
    months, so the API answers one day)."""

    start: Day | None = Field(None, description="A monthly series from this day to ``as_of``.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        check_start(self.start, self.as_of)
        return self


def check_start(start: date | None, as_of: date | None) -> None:
    """A monthly series' start must not be after its as-of day (``--start`` of ``power`` and
    ``cost``)."""
    if start is not None and as_of is not None and start > as_of:
        raise ValueError(f"start {start} is after the as-of day {as_of}")


class PricesImport(Request):
    """A daily BTC price series in one currency, to store (``POST /v1/import/prices``; ``hashlens
    prices import`` builds one per currency of its file)."""

    currency: str = Field("USD", pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD.")
    prices: dict[Day, Annotated[float, Field(gt=0, le=MAX_PRICE)]] = Field(
        ..., min_length=1, max_length=MAX_PRICE_DAYS, description="Price of one BTC [currency] by UTC day."
    )
    allow_gaps: bool = Field(False, description="Store a series with missing days (left as gaps, never filled).")
    replace: bool = Field(False, description="Overwrite stored prices that differ (the answer lists the days).")
    source: str = Field("api", min_length=1, max_length=200, description="Where the prices come from.")

    @field_validator("currency")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()

    @field_validator("prices")
    @classmethod
    def _known_by_now(cls, v: dict[date, float]) -> dict[date, float]:
        # A day's price is its first-minute close: it exists once that minute has passed (UTC).
        today = datetime.now(tz=UTC).date()
        late = sorted(d for d in v if d > today)
        if late:
            raise ValueError(f"{len(late)} day(s) after today ({today}), first {late[0]}: a price cannot be known yet")
        return v
