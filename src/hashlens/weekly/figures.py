"""``WeeklyFigures``: every figure of the weekly report, as of one day, each from one library call.

Like pvlib's ``ModelChain``, this object only composes: each section is filled by the one
function that owns its quantity (named in the section's ``method``), and re-derives nothing.
The report words it, ``GET /v1/weekly`` serves it and the dashboard draws it, so the three
agree by construction. As of a day D means the chain and prices at 24:00 UTC of D: no figure
uses data dated after D. Sections whose data the store lacks for D are ``None``, with the reason
in ``missing``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import numpy as np
from pydantic import ConfigDict, Field, PlainSerializer, PrivateAttr

from hashlens.chain.adjustments import Adjustment, adjustment_history, load_periods, same_sign_of_last
from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.chain.halving import HalvingOutlook, halving_outlook
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.contracts import Result
from hashlens.economics.cbeci import NetworkPower
from hashlens.economics.daily import (
    AllTimeLow,
    DayHashprice,
    HashrateOnDay,
    hashprice_days,
    hashprice_series,
)
from hashlens.economics.fleet import MachineEconomics
from hashlens.errors import HashlensError
from hashlens.miners.models import CompaniesWeek
from hashlens.pools.models import WeeklyPools
from hashlens.sim.forecast import Forecast
from hashlens.store import Store
from hashlens.units import iso_utc
from hashlens.weekly.asof import RunningPeriodFigures, as_of_day, running_period_on

N = DIFFICULTY_ADJUSTMENT_INTERVAL
POWER_PRICE_USD_PER_KWH = 0.05
POOL_FEE = 0.02
COST_EFFICIENCIES_J_PER_TH = (17.5, 21.5, 29.5)
FAR_FROM_TODAY_DAYS = 30


def _plain(x: Any) -> Any:
    """JSON-ready data of a section another domain has not typed yet (its rows as dicts, a
    dataclass, numpy scalars): what ``as_dict`` gave, with NaN and infinities as null."""
    if x is None:
        return None
    if isinstance(x, Result):
        return x.to_json()
    if hasattr(x, "as_dict"):
        return _plain(x.as_dict())
    if hasattr(x, "__dataclass_fields__"):
        return _plain({k: getattr(x, k) for k in x.__dataclass_fields__})
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, np.generic):
        return _plain(x.item())
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


Untyped = Annotated[Any, PlainSerializer(_plain)]
"""A section (or its rows) from a domain that has no typed result for it yet; serialised as plain data."""


class RecentAdjustment(Result):
    """One of the last 26 adjustments, for the chart."""

    height: int
    time: str | None
    time_source: str
    change_pct: float = Field(..., description="[%]")
    implied_hashrate_ehs: float | None = Field(..., description="The hashrate the period before implied [EH/s].")


class DifficultyFigures(Result):
    latest: Adjustment
    adjustments_total: int
    drops_total: int
    rises_total: int
    recent: list[RecentAdjustment] = Field(..., description="The last 26 adjustments.")
    same_sign_count: int = Field(
        0, description="Of the last same_sign_window adjustments, how many went the latest one's way [-]."
    )
    same_sign_window: int = Field(
        0,
        description="The longest window of adjustments ending at the latest with at most one of the other sign "
        "(chain.adjustments.same_sign_of_last) [-].",
    )


class HashpricePoint(Result):
    date: str
    usd_per_ph_day: float | None = Field(..., description="[USD per PH/s per day]; null without a price.")


class HashpriceFigures(Result):
    today: DayHashprice
    all_time_low: AllTimeLow | None = Field(..., description="Over every stored day up to the as-of day.")
    lowest_since: str | None
    price_instant: str
    series: list[HashpricePoint] = Field(..., description="Every stored day to the as-of day.")


class CostFigures(Result):
    power_price_usd_per_kwh: float = Field(..., description="[USD/kWh]")
    rows: Untyped = Field(..., description="economics.cost.cost_per_btc_table for the day.")
    monthly: Untyped = Field(..., description="The same on the 1st of each month of the ten years before (chart).")


class MachineFigures(Result):
    power_price_usd_per_kwh: float = Field(..., description="[USD/kWh]")
    pool_fee: float = Field(..., description="[0-1]")
    models: list[MachineEconomics] = Field(..., description="economics.fleet.machines_that_pay")
    paying: int


class MinerFigures(Result):
    month: str
    rows: Untyped
    treasuries: Untyped


class WeeklyFigures(Result):
    """The week's figures as of ``as_of`` (24:00 UTC), one typed section each. Build with
    :meth:`compute`; :meth:`to_json` is what ``GET /v1/weekly`` and ``hashlens weekly --json``
    give."""

    # Sections are filled one by one by compute()'s section methods.
    model_config = ConfigDict(frozen=False)

    as_of: date
    as_of_instant: str = Field(..., description="24:00 UTC of the day, ISO-8601.")
    generated: str
    store: str
    per_block_until: str | None
    notes: list[str] = Field(default_factory=list)
    missing: dict[str, str] = Field(default_factory=dict, description="Why a section is null.")
    difficulty: DifficultyFigures | None = None
    hashrate: HashrateOnDay | None = None
    running_period: RunningPeriodFigures | None = None
    hashprice: HashpriceFigures | None = None
    cost: CostFigures | None = None
    machines: MachineFigures | None = None
    network_power: NetworkPower | None = None
    miners: MinerFigures | None = None
    companies: CompaniesWeek | None = None  # miners.results.companies_week
    halving: HalvingOutlook | None = None
    outlook: Forecast | None = None  # the forecast with its track record
    _forecast: Forecast | None = PrivateAttr(default=None)  # as of the day; both sections read it
    pools: WeeklyPools | None = None  # hashlens.pools.days.weekly_pools: who mined the week

    @classmethod
    def compute(
        cls,
        store: Store,
        as_of: date | None = None,
        price: float | None = None,
        paths: int = 20_000,
        seed: int = 1,
        today: date | None = None,
    ) -> WeeklyFigures:
        """Every section as of ``as_of`` (default: the latest day with a dated period and a
        price, :func:`hashlens.economics.daily.latest_day`). ``price`` [USD] replaces the
        stored price of the day."""
        clock = ChainClock.from_store(store)
        if clock.periods < 2:
            raise HashlensError("the store holds fewer than two difficulty periods: sync more chain data")
        as_of = as_of_day(store, clock, as_of)  # the one default day of every face
        ts = end_of_day(as_of)
        p = int(clock.period_at(ts))
        until = clock.per_block_until()
        fig = cls(
            as_of=as_of,
            as_of_instant=iso_utc(ts),
            generated=datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
            store=str(store.path),
            per_block_until=iso_utc(until),
        )
        today = today or datetime.now(tz=UTC).date()
        if (today - as_of).days > FAR_FROM_TODAY_DAYS:
            fig.notes.append(
                f"The store's data end {(today - as_of).days} days before today ({today}): "
                "sync newer chain data and prices for current figures."
            )
        per_block = clock.per_block_at(ts)
        if until is not None and not per_block and ts > until:
            fig.notes.append(
                f"Per-block data end at {iso_utc(until)}: the hashrate, the running period's estimates and "
                "fees come from period-level data or are left out."
            )
        fig._difficulty(store, clock, p)
        fig._hashrate(clock)
        fig._forecast_the_day(clock, paths, seed)
        fig._running_period(store, clock)
        fig._hashprice(store, clock, price)
        fig._cost(store, clock)
        fig._machines()
        fig._network_power(store, clock)
        fig._miners(store)
        fig._companies(store, clock)
        fig.halving = halving_outlook(clock, ts).model_copy(update={"as_of": as_of.isoformat()})
        fig._outlook(clock, p, paths, seed)
        fig._pools(store, clock)
        return fig

    # -- sections --------------------------------------------------------------------------
    def _difficulty(self, store: Store, clock: ChainClock, p: int) -> None:
        history = adjustment_history(load_periods(store, clock)[: p + 1])
        k, n = same_sign_of_last(np.array([a.change_pct for a in history]))
        self.difficulty = DifficultyFigures(
            latest=history[-1],
            adjustments_total=len(history),
            drops_total=sum(a.change_pct < 0 for a in history),
            rises_total=sum(a.change_pct > 0 for a in history),
            recent=[
                RecentAdjustment(**a.model_dump(include=set(RecentAdjustment.model_fields))) for a in history[-26:]
            ],
            same_sign_count=k,
            same_sign_window=n,
        )

    def _hashrate(self, clock: ChainClock) -> None:
        from hashlens.economics.daily import network_hashrate_on

        try:
            self.hashrate = network_hashrate_on(clock, self.as_of)
        except HashlensError as exc:
            self.missing["hashrate"] = str(exc)

    def _forecast_the_day(self, clock: ChainClock, paths: int, seed: int) -> None:
        from hashlens.sim.forecast import forecast_adjustments

        # The one forecast (CLI, API, report, dashboard): as of 24:00 UTC of the day, from the
        # running period's stored blocks where they exist, else from the period in force. The
        # next-adjustment section shows its first row, the outlook all three.
        try:
            self._forecast = forecast_adjustments(
                clock, as_of_time=end_of_day(self.as_of), horizon=3, paths=paths, seed=seed
            )
        except HashlensError as exc:
            self.missing["outlook"] = str(exc)

    def _running_period(self, store: Store, clock: ChainClock) -> None:
        self.running_period = running_period_on(store, clock, self.as_of, self._forecast, self.missing.get("outlook"))

    def _hashprice(self, store: Store, clock: ChainClock, price: float | None) -> None:
        today = hashprice_days(store, [self.as_of], price, clock=clock)[0]
        series = hashprice_series(store, None, self.as_of, clock)
        rows = series.rows
        last = rows[-1] if rows and rows[-1].date == self.as_of.isoformat() else None
        self.hashprice = HashpriceFigures(
            today=today,
            all_time_low=series.all_time_low_usd,
            lowest_since=last.usd_lowest_since if last and price is None else None,
            price_instant=series.price_instant,
            series=[HashpricePoint.model_validate({"date": r.date, "usd_per_ph_day": r.usd_per_ph_day}) for r in rows],
        )

    def _cost(self, store: Store, clock: ChainClock) -> None:
        from hashlens.economics.cost import cost_per_btc_table

        assert self.hashprice is not None
        months = [  # the first of each month over the ten years before the day (the chart)
            date(y, m, 1)
            for y in range(self.as_of.year - 10, self.as_of.year + 1)
            for m in range(1, 13)
            if date(self.as_of.year - 10, 1, 1) <= date(y, m, 1) <= self.as_of
            and end_of_day(date(y, m, 1)) > clock.start_time[0]
        ]
        monthly = cost_per_btc_table(
            hashprice_days(store, months, clock=clock), COST_EFFICIENCIES_J_PER_TH, POWER_PRICE_USD_PER_KWH
        )
        self.cost = CostFigures(
            power_price_usd_per_kwh=POWER_PRICE_USD_PER_KWH,
            rows=cost_per_btc_table([self.hashprice.today], COST_EFFICIENCIES_J_PER_TH, POWER_PRICE_USD_PER_KWH),
            monthly=monthly,
        )

    def _machines(self) -> None:
        from hashlens.economics.asics import load_catalogue
        from hashlens.economics.fleet import Operating, machines_that_pay

        assert self.hashprice is not None
        t = self.hashprice.today
        if t.usd_per_ph_day is None or t.price_usd is None:
            self.missing["machines"] = f"no USD price stored at the end of {self.as_of}; give a price"
            return
        models = machines_that_pay(
            load_catalogue(),
            self.as_of,
            t.usd_per_ph_day,
            t.price_usd,
            Operating(power_price_usd_per_kwh=POWER_PRICE_USD_PER_KWH, pool_fee=POOL_FEE),
        )
        self.machines = MachineFigures(
            power_price_usd_per_kwh=POWER_PRICE_USD_PER_KWH,
            pool_fee=POOL_FEE,
            models=models,
            paying=sum(m.pays for m in models),
        )

    def _network_power(self, store: Store, clock: ChainClock) -> None:
        try:
            from hashlens.economics.power import network_power_on_days

            self.network_power = network_power_on_days(store, [self.as_of], POWER_PRICE_USD_PER_KWH, clock=clock)[0]
        except (HashlensError, ImportError) as exc:
            self.missing["network_power"] = str(exc)

    def _miners(self, store: Store) -> None:
        from hashlens.miners.analysis import expected_vs_reported, latest_reported_month, treasuries

        month = latest_reported_month(store, self.as_of)
        if month is None:
            self.missing["miners"] = f"no listed miners' month had ended and been stored by {self.as_of}"
            return
        self.miners = MinerFigures(
            month=f"{month:%Y-%m}", rows=expected_vs_reported(store, month), treasuries=treasuries(store, self.as_of)
        )

    def _companies(self, store: Store, clock: ChainClock) -> None:
        from hashlens.miners.results import companies_week

        try:
            self.companies = companies_week(store, self.as_of, clock=clock)
        except HashlensError as exc:
            self.missing["companies"] = str(exc)

    def _outlook(self, clock: ChainClock, p: int, paths: int, seed: int) -> None:
        from hashlens.sim.backtest import track_record

        fc = self._forecast
        if fc is None:
            return
        # the track record: backtest points kept per chain state (sim.backtest.track_record)
        self.outlook = fc.model_copy(update={"track_record": track_record(clock, fc.period_start_height // N)})

    def _pools(self, store: Store, clock: ChainClock) -> None:
        from hashlens.pools.days import weekly_pools

        try:
            self.pools = weekly_pools(store, self.as_of, clock)
        except HashlensError as exc:
            self.missing["pools"] = str(exc)
