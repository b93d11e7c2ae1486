"""``WeeklyFigures``: every figure of the weekly report, as of one day, each from one library call.

Like pvlib's ``ModelChain``, this object only composes: each section is filled by the one
function that owns its quantity (named in the section's ``method``), and re-derives nothing.
The report words it, ``GET /v1/weekly`` serves it and the dashboard draws it, so the three
agree by construction. As of a day D means the chain and prices at 24:00 UTC of D: no figure
uses data dated after D. Sections whose data the store lacks for D are ``None``, with the reason
in ``missing``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from hashlens.chain.adjustments import Adjustment, adjustment_history, load_periods
from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.chain.halving import HalvingOutlook, halving_outlook
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL
from hashlens.economics.daily import DayHashprice, HashrateOnDay, hashprice_days, hashprice_series, latest_day
from hashlens.errors import HashlensError
from hashlens.store import Store

N = DIFFICULTY_ADJUSTMENT_INTERVAL
POWER_PRICE_USD_PER_KWH = 0.05
POOL_FEE = 0.02
COST_EFFICIENCIES_J_PER_TH = (17.5, 21.5, 29.5)
FAR_FROM_TODAY_DAYS = 30


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class DifficultyFigures:
    latest: Adjustment
    adjustments_total: int
    drops_total: int
    rises_total: int
    recent: list[dict[str, Any]]  # the last 26: height, time, change_pct, the hashrate the period before implied


@dataclass
class RunningPeriodFigures:
    start_height: int
    start_time: str | None
    start_time_source: str
    next_retarget_height: int
    per_block: bool  # estimates need per-block data up to the day
    tip_height: int | None
    blocks_in_period: int | None
    mempool: dict[str, Any] | None
    hashlens: dict[str, Any] | None
    note: str


@dataclass
class HashpriceFigures:
    today: DayHashprice
    all_time_low: dict[str, Any] | None  # over every stored day up to the as-of day
    lowest_since: str | None
    price_instant: str
    series: list[dict[str, Any]]  # date, usd_per_ph_day (every stored day to as_of)


@dataclass
class CostFigures:
    power_price_usd_per_kwh: float
    rows: list[dict[str, Any]]  # economics.cost.cost_per_btc_table for the day
    monthly: list[dict[str, Any]]  # the same on the 1st of each month of the ten years before (chart)


@dataclass
class MachineFigures:
    power_price_usd_per_kwh: float
    pool_fee: float
    models: list[dict[str, Any]]  # economics.fleet.machines_that_pay
    paying: int


@dataclass
class MinerFigures:
    month: str
    rows: list[dict[str, Any]]
    treasuries: list[dict[str, Any]]


@dataclass
class WeeklyFigures:
    """The week's figures as of ``as_of`` (24:00 UTC). Build with :meth:`compute`."""

    as_of: date
    generated: str
    store: str
    per_block_until: str | None
    notes: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    difficulty: DifficultyFigures | None = None
    hashrate: HashrateOnDay | None = None
    running_period: RunningPeriodFigures | None = None
    hashprice: HashpriceFigures | None = None
    cost: CostFigures | None = None
    machines: MachineFigures | None = None
    network_power: Any = None
    miners: MinerFigures | None = None
    halving: HalvingOutlook | None = None
    outlook: Any = None
    pools: dict[str, Any] | None = None  # hashlens.pools.analysis.weekly_pools: who mined the week

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
        if as_of is None:
            as_of = latest_day(store, clock)
        ts = end_of_day(as_of)
        if clock.periods < 2:
            raise HashlensError("the store holds fewer than two difficulty periods: sync more chain data")
        p = clock.require_covered(ts, f"the day {as_of}")
        if p < 1:
            raise HashlensError(
                f"the day {as_of} is before the first difficulty period ended ({str(_iso(float(clock.start_time[1])))[:10]})"
            )
        until = clock.per_block_until()
        fig = cls(
            as_of=as_of,
            generated=datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
            store=str(store.path),
            per_block_until=_iso(until),
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
                f"Per-block data end at {_iso(until)}: the hashrate, the running period's estimates and "
                "fees come from period-level data or are left out."
            )
        fig._difficulty(store, clock, p)
        fig._hashrate(clock)
        fig._running_period(store, clock, p, per_block)
        fig._hashprice(store, clock, price)
        fig._cost(store, clock)
        fig._machines()
        fig._network_power(store, clock)
        fig._miners(store)
        fig.halving = halving_outlook(clock, ts)
        fig._outlook(clock, p, paths, seed)
        fig._pools(store, clock)
        return fig

    # -- sections --------------------------------------------------------------------------
    def _difficulty(self, store: Store, clock: ChainClock, p: int) -> None:
        history = adjustment_history(load_periods(store, clock)[: p + 1])
        self.difficulty = DifficultyFigures(
            latest=history[-1],
            adjustments_total=len(history),
            drops_total=sum(a.change_pct < 0 for a in history),
            rises_total=sum(a.change_pct > 0 for a in history),
            recent=[
                {
                    "height": a.height,
                    "time": a.time,
                    "time_source": a.time_source,
                    "change_pct": a.change_pct,
                    "implied_hashrate_ehs": a.implied_hashrate_ehs,
                }
                for a in history[-26:]
            ],
        )

    def _hashrate(self, clock: ChainClock) -> None:
        from hashlens.economics.daily import network_hashrate_on

        try:
            self.hashrate = network_hashrate_on(clock, self.as_of)
        except HashlensError as exc:
            self.missing["hashrate"] = str(exc)

    def _running_period(self, store: Store, clock: ChainClock, p: int, per_block: bool) -> None:
        from hashlens.chain.status import running_period

        start_source = str(clock.start_source[p])
        rp = RunningPeriodFigures(
            start_height=p * N,
            start_time=_iso(float(clock.start_time[p])),
            start_time_source=start_source,
            next_retarget_height=(p + 1) * N,
            per_block=per_block,
            tip_height=None,
            blocks_in_period=None,
            mempool=None,
            hashlens=None,
            note="estimates need per-block times up to the day; the store has none for it",
        )
        if per_block:
            ts = end_of_day(self.as_of)
            r = running_period(store, now=int(ts), upto_time=int(ts), clock=clock)
            if r["period_start_height"] == p * N:
                rp.tip_height = r["tip_height"]
                rp.blocks_in_period = r["blocks_in_period"]
                rp.mempool, rp.hashlens = r["mempool"], r["hashlens"]
                rp.note = r["note"]
        self.running_period = rp

    def _hashprice(self, store: Store, clock: ChainClock, price: float | None) -> None:
        today = hashprice_days(store, [self.as_of], price, clock=clock)[0]
        series = hashprice_series(store, None, self.as_of, clock)
        rows = series["rows"]
        last = rows[-1] if rows and rows[-1]["date"] == self.as_of.isoformat() else None
        self.hashprice = HashpriceFigures(
            today=today,
            all_time_low=series["all_time_low_usd"],
            lowest_since=last["usd_lowest_since"] if last and price is None else None,
            price_instant=series["price_instant"],
            series=[{"date": r["date"], "usd_per_ph_day": r["usd_per_ph_day"]} for r in rows],
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
            POWER_PRICE_USD_PER_KWH,
            cost_per_btc_table([self.hashprice.today], COST_EFFICIENCIES_J_PER_TH, POWER_PRICE_USD_PER_KWH),
            monthly,
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
        self.machines = MachineFigures(POWER_PRICE_USD_PER_KWH, POOL_FEE, models, sum(m["pays"] for m in models))

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
        self.miners = MinerFigures(f"{month:%Y-%m}", expected_vs_reported(store, month), treasuries(store, self.as_of))

    def _outlook(self, clock: ChainClock, p: int, paths: int, seed: int) -> None:
        from dataclasses import replace

        from hashlens.sim.backtest import recent_coverage
        from hashlens.sim.forecast import forecast_adjustments

        # The one forecast (CLI, API, report, dashboard): as of 24:00 UTC of the day, from the
        # running period's stored blocks where they exist, else from the period in force.
        try:
            fc = forecast_adjustments(clock, as_of_time=end_of_day(self.as_of), horizon=3, paths=paths, seed=seed)
        except HashlensError as exc:
            self.missing["outlook"] = str(exc)
            return
        self.outlook = replace(fc, track_record=recent_coverage(clock, fc.period_start_height // N))

    def _pools(self, store: Store, clock: ChainClock) -> None:
        from hashlens.pools.analysis import weekly_pools

        try:
            self.pools = weekly_pools(store, self.as_of, clock)
        except HashlensError as exc:
            self.missing["pools"] = str(exc)

    # -- output ----------------------------------------------------------------------------
    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (what ``GET /v1/weekly`` returns)."""

        def plain(x: Any) -> Any:
            if x is None:
                return None
            if hasattr(x, "as_dict"):
                return plain(x.as_dict())
            if hasattr(x, "__dataclass_fields__"):
                return plain(asdict(x))
            if isinstance(x, dict):
                return {k: plain(v) for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [plain(v) for v in x]
            if isinstance(x, date):
                return x.isoformat()
            if isinstance(x, np.generic):
                return x.item()
            if isinstance(x, float) and not np.isfinite(x):
                return None
            return x

        out = {
            "as_of": self.as_of.isoformat(),
            "as_of_instant": _iso(end_of_day(self.as_of)),
            "generated": self.generated,
            "store": self.store,
            "per_block_until": self.per_block_until,
            "notes": self.notes,
            "missing": self.missing,
        }
        for name in (
            "difficulty",
            "hashrate",
            "running_period",
            "hashprice",
            "cost",
            "machines",
            "network_power",
            "miners",
            "halving",
            "outlook",
            "pools",
        ):
            out[name] = plain(getattr(self, name))
        return out
