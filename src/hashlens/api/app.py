"""FastAPI application: thin handlers that validate, call the library and return its data.

Read-only by default. Imports (POST /v1/import/…) need ``Authorization: Bearer <token>`` where
the token is set by ``HASHLENS_API_TOKEN`` (no token set: imports are refused). Results are
cached per request parameters and the cache is dropped after every import.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import date
from datetime import date as Date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi import Path as FPath
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hashlens import __version__
from hashlens.errors import HashlensError
from hashlens.store import Store

T = TypeVar("T")
FIRST_DAY = date(2009, 1, 3)
LAST_DAY = date(2100, 1, 1)
MAX_SIM_PATHS = 20_000
MAX_SIM_DAYS = 730
MAX_SIM_WORK = 5_000_000  # paths x days


class Settings:
    def __init__(self, db_path: Path, token: str | None) -> None:
        self.db_path = db_path
        self.token = token


class StoreHolder:
    """One DuckDB connection shared by the handlers, used under a lock (a connection is not
    meant for concurrent queries); cached results make most requests skip it."""

    def __init__(self, path: Path, read_only: bool) -> None:
        self.store = Store(path, read_only=read_only)
        self.lock = threading.RLock()
        self.version = 0

    def run(self, fn: Callable[[Store], T]) -> T:
        with self.lock:
            return fn(self.store)


def _cached(holder: StoreHolder) -> Callable[..., Any]:
    @lru_cache(maxsize=512)
    def call(version: int, name: str, *args: Any) -> Any:
        return holder.run(lambda s: HANDLERS[name](s, *args))

    return call


# -- library calls, by name so they can be cached ----------------------------------------------
def _difficulty(s: Store) -> Any:
    from hashlens.chain.status import difficulty_status

    return difficulty_status(s)


def _history(s: Store, limit: int) -> Any:
    from hashlens.chain.adjustments import adjustment_history, load_periods

    return [a.as_dict() for a in adjustment_history(load_periods(s))][-limit:]


def _hashrate(s: Store, window: str, height: int | None) -> Any:
    from hashlens.chain.status import network_hashrate

    return network_hashrate(s, window, height).as_dict()


def _hashrate_series(s: Store, window: int, step: int) -> Any:
    from hashlens.chain.status import network_hashrate_series

    return [e.as_dict() for e in network_hashrate_series(s, window, step)]


def _hashprice(s: Store, day: date | None, price: float | None) -> Any:
    from hashlens.economics.daily import hashprice_days, latest_day

    return hashprice_days(s, [day or latest_day(s)], price)[0].as_dict()


def _hashprice_series(s: Store, start: date, end: date | None) -> Any:
    from hashlens.economics.daily import hashprice_series, latest_day

    return hashprice_series(s, start, end or latest_day(s))


def _latest_day(s: Store) -> Any:
    from hashlens.economics.daily import latest_day

    return latest_day(s)


def _miners_months(s: Store) -> Any:
    return [m.strftime("%Y-%m") for (m,) in s.rows("SELECT DISTINCT month FROM miner_reports ORDER BY month")]


def _miners_table(s: Store, month: date) -> Any:
    from hashlens.miners.analysis import month_table

    return month_table(s, month)


def _miners_expected(s: Store, month: date) -> Any:
    from hashlens.miners.analysis import expected_vs_reported

    return expected_vs_reported(s, month)


def _treasury(s: Store) -> Any:
    from hashlens.miners.analysis import treasuries

    return treasuries(s)


def _halving(s: Store) -> Any:
    from hashlens.chain.tip import store_tip
    from hashlens.consensus import COIN, next_halving

    tip = store_tip(s)
    if tip is None:
        raise HashlensError("the store has no run of 2017 block times to date the halving")
    h = next_halving(tip.height, tip.time, tip.recent_interval_s)
    return {
        "tip_height": tip.height,
        "next_halving_height": h.height,
        "blocks_left": h.blocks_left,
        "current_subsidy_btc": h.current_subsidy_sat / COIN,
        "next_subsidy_btc": h.next_subsidy_sat / COIN,
        "block_interval_s": h.block_interval_s,
        "estimated_time": h.estimated_time,
    }


def _power(s: Store, day: date | None, power_price: float) -> Any:
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.cbeci import network_power
    from hashlens.economics.daily import ChainCalendar, hashprice_days, latest_day, network_hashrate_ehs_on

    d = day or latest_day(s)
    cal = ChainCalendar(s)
    row = hashprice_days(s, [d], cal=cal)[0]
    if row.usd_per_th_day is None:
        raise HashlensError(f"no USD price stored for {d}")
    hr, how = network_hashrate_ehs_on(cal, d)
    return network_power(load_catalogue(), d, hr, row.usd_per_th_day, power_price).as_dict() | {"hashrate_method": how}


def _chain_state(s: Store) -> Any:
    from hashlens.sim.chain_state import chain_state

    return chain_state(s)


HANDLERS: dict[str, Callable[..., Any]] = {
    "difficulty": _difficulty,
    "history": _history,
    "hashrate": _hashrate,
    "hashrate_series": _hashrate_series,
    "hashprice": _hashprice,
    "hashprice_series": _hashprice_series,
    "latest_day": _latest_day,
    "miners_months": _miners_months,
    "miners_table": _miners_table,
    "miners_expected": _miners_expected,
    "treasury": _treasury,
    "halving": _halving,
    "power": _power,
    "chain_state": _chain_state,
}


# -- request models ---------------------------------------------------------------------------
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


class Machine(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    model: str | None = Field(None, min_length=1, max_length=80, description="Catalogue model, e.g. 'S21 Pro'.")
    hashrate_ths: float | None = Field(None, gt=0, le=1e6, description="Per machine [TH/s].")
    efficiency_j_per_th: float | None = Field(None, gt=0, le=1e5)
    power_w: float | None = Field(None, gt=0, le=1e7)
    count: int = Field(..., ge=0, le=10_000_000)
    power_price_usd_per_kwh: float | None = Field(None, ge=0, le=10)
    machine_price_usd: float | None = Field(None, ge=0, le=1e8)

    @model_validator(mode="after")
    def one_way_to_say_it(self) -> Machine:
        if not self.model and self.hashrate_ths is None:
            raise ValueError("give a catalogue model, or hashrate_ths with efficiency_j_per_th or power_w")
        if not self.model and self.efficiency_j_per_th is None and self.power_w is None:
            raise ValueError("give efficiency_j_per_th or power_w with hashrate_ths")
        return self


class FleetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    machines: list[Machine] = Field(..., min_length=1, max_length=1000)
    power_price_usd_per_kwh: float = Field(0.05, ge=0, le=10)
    pool_fee: float = Field(0.02, ge=0, le=1)
    stale_rate: float = Field(0.0, ge=0, le=1)
    uptime: float = Field(1.0, ge=0, le=1)
    pue: float = Field(1.0, ge=1, le=5)
    hosting_usd_per_kwh: float = Field(0.0, ge=0, le=10)
    hosting_usd_per_kw_month: float = Field(0.0, ge=0, le=10_000)
    date: Date | None = None
    btc_price_usd: float | None = Field(None, gt=0, le=1e9)
    hashprice_usd_per_ph_day: float | None = Field(None, gt=0, le=1e7)

    @field_validator("date")
    @classmethod
    def in_range(cls, v: Date | None) -> Date | None:
        if v is not None and not FIRST_DAY <= v <= LAST_DAY:
            raise ValueError(f"date must be between {FIRST_DAY} and {LAST_DAY}")
        return v


class SimulateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    scenario: dict[str, Any] = Field(..., description="A scenario as in examples/scenarios (YAML as JSON).")
    paths: int = Field(2000, ge=1, le=MAX_SIM_PATHS)
    seed: int = Field(1, ge=0, le=2**32 - 1)


class PricesImport(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    currency: str = Field("USD", min_length=3, max_length=3)
    prices: dict[date, float] = Field(..., min_length=1, max_length=20000)
    allow_gaps: bool = False
    source: str = Field("api", max_length=200)


class MinersImport(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    reports: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    treasuries: list[dict[str, Any]] = Field(default_factory=list, max_length=5000)
    source: str = Field("api", max_length=200)


def _day_param(v: date | None, name: str) -> date | None:
    if v is not None and not FIRST_DAY <= v <= LAST_DAY:
        raise HTTPException(422, f"{name} must be between {FIRST_DAY} and {LAST_DAY}")
    return v


# -- the app ------------------------------------------------------------------------------------
def create_app(db_path: str | Path | None = None, token: str | None = None) -> FastAPI:
    path = Path(db_path or os.environ.get("HASHLENS_DB") or "hashlens.duckdb")
    token = token if token is not None else os.environ.get("HASHLENS_API_TOKEN") or None
    if not path.exists():
        Store(path).close()  # create and migrate, so a read-only open works
    holder = StoreHolder(path, read_only=token is None)
    cached = _cached(holder)
    app = FastAPI(
        title="hashlens",
        version=__version__,
        description="Bitcoin mining economics computed from the chain itself. Read-only unless a token is set.",
    )

    def call(name: str, *args: Any) -> Any:
        return cached(holder.version, name, *args)

    @app.exception_handler(HashlensError)
    async def bad_input(_: Request, exc: HashlensError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

    def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        if token is None:
            raise HTTPException(403, "imports are disabled: start the server with HASHLENS_API_TOKEN set")
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "missing or wrong bearer token")

    @app.get("/v1/health", responses=ERRORS)
    def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "read_only": token is None,
            "counts": holder.run(lambda s: s.counts()),
        }

    @app.get("/v1/difficulty", responses=ERRORS)
    def difficulty() -> dict[str, Any]:
        """Latest adjustment (rank, streak, records) and the running period's two estimates."""
        return call("difficulty")

    @app.get("/v1/difficulty/history", responses=ERRORS)
    def difficulty_history(limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> list[dict[str, Any]]:
        return call("history", limit)

    @app.get("/v1/hashrate", responses=ERRORS)
    def hashrate(
        window: Annotated[str, Query(pattern=r"^(\d{1,6}|\d{1,3}(\.\d+)?d)$")] = "1008",
        height: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    ) -> dict[str, Any]:
        """Network hashrate over a block window (e.g. 1008) or days (e.g. 7d), with a 95 % interval."""
        return call("hashrate", window, height)

    @app.get("/v1/hashrate/series", responses=ERRORS)
    def hashrate_series(
        window: Annotated[int, Query(ge=10, le=20160)] = 1008, step: Annotated[int, Query(ge=6, le=20160)] = 144
    ) -> list[dict[str, Any]]:
        return call("hashrate_series", window, step)

    @app.get("/v1/hashprice", responses=ERRORS)
    def hashprice(
        date: date | None = None, price: Annotated[float | None, Query(gt=0, le=1e9)] = None
    ) -> dict[str, Any]:
        """Hashprice on a UTC day in BTC, sats and USD per PH/s (TH/s) per day."""
        return call("hashprice", _day_param(date, "date"), price)

    @app.get("/v1/hashprice/series", responses=ERRORS)
    def hashprice_series(start: date = date(2012, 1, 1), end: date | None = None) -> dict[str, Any]:
        _day_param(start, "start")
        _day_param(end, "end")
        return call("hashprice_series", start, end)

    @app.get("/v1/asics", responses=ERRORS)
    def asics() -> list[dict[str, Any]]:
        from hashlens.economics.asics import load_catalogue

        return [a.as_dict() for a in load_catalogue()]

    @app.post("/v1/fleet", responses=ERRORS)
    def fleet(req: FleetRequest) -> dict[str, Any]:
        """Unit economics of a posted fleet at a day's hashprice and price (or the given ones)."""
        from hashlens.economics.asics import find_model, load_catalogue
        from hashlens.economics.fleet import FleetGroup, Operating, evaluate_fleet

        cat = load_catalogue()
        groups = []
        for i, m in enumerate(req.machines):
            where = f"machines[{i}]: "
            if m.model:
                a = find_model(cat, m.model, where)
                ths, w, label = m.hashrate_ths or a.hashrate_ths, m.power_w or a.power_w, a.name
            else:
                assert m.hashrate_ths is not None
                ths = m.hashrate_ths
                w = m.power_w if m.power_w is not None else ths * float(m.efficiency_j_per_th or 0)
                label = f"machines[{i}]"
            if m.efficiency_j_per_th and m.power_w and abs(m.efficiency_j_per_th - w / ths) / (w / ths) > 0.03:
                raise HashlensError(f"{where}efficiency_j_per_th is inconsistent with power_w / hashrate_ths")
            groups.append(FleetGroup(label, m.count, ths, w, m.power_price_usd_per_kwh, m.machine_price_usd))
        op = Operating(
            req.power_price_usd_per_kwh,
            req.pool_fee,
            req.stale_rate,
            req.uptime,
            req.pue,
            req.hosting_usd_per_kwh,
            req.hosting_usd_per_kw_month,
        )
        day = req.date or call("latest_day")
        row = call("hashprice", day, req.btc_price_usd)
        price = req.btc_price_usd or row["price_usd"]
        hp = req.hashprice_usd_per_ph_day or row["usd_per_ph_day"]
        if price is None or hp is None:
            raise HashlensError(f"no USD price stored for {day}: give btc_price_usd")
        return {"date": str(day)} | evaluate_fleet(groups, op, hp, price)

    @app.get("/v1/power", responses=ERRORS)
    def power(
        date: date | None = None, power_price: Annotated[float, Query(ge=0.0001, le=10)] = 0.05
    ) -> dict[str, Any]:
        """Network power and energy by the Cambridge (CBECI) method."""
        return call("power", _day_param(date, "date"), power_price)

    @app.get("/v1/halving", responses=ERRORS)
    def halving() -> dict[str, Any]:
        return call("halving")

    @app.get("/v1/miners/months", responses=ERRORS)
    def miner_months() -> list[str]:
        return call("miners_months")

    def month_param(month: str) -> date:
        from hashlens.miners.dataset import parse_month

        d = parse_month(month, "month")
        if not FIRST_DAY <= d <= LAST_DAY:
            raise HTTPException(422, "month out of range")
        return d

    @app.get("/v1/miners/{month}/table", responses=ERRORS)
    def miner_table(month: Annotated[str, FPath(pattern=r"^\d{4}-\d{2}$")]) -> list[dict[str, Any]]:
        """The month's reports in descending order of BTC mined."""
        return call("miners_table", month_param(month))

    @app.get("/v1/miners/{month}/expected", responses=ERRORS)
    def miner_expected(month: Annotated[str, FPath(pattern=r"^\d{4}-\d{2}$")]) -> list[dict[str, Any]]:
        """Expected BTC from each company's hashrate and the month's real difficulty, vs reported."""
        return call("miners_expected", month_param(month))

    @app.get("/v1/miners/treasury", responses=ERRORS)
    def miner_treasury() -> list[dict[str, Any]]:
        return call("treasury")

    @app.post("/v1/simulate", responses=ERRORS)
    def simulate(req: SimulateRequest) -> dict[str, Any]:
        """A bounded simulation: at most 20,000 paths, 730 days and 5 million path-days."""
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
        chain = call("chain_state") if s.hashrate_ehs is None or s.price_usd is None or s.bits is None else None
        r = resolve(s, chain, lambda m: effs[m])
        out = summarise(r, run(r, req.paths, req.seed))
        out["seed"] = req.seed
        return out

    @app.post("/v1/import/prices", dependencies=[Depends(require_token)], responses=AUTH_ERRORS)
    def import_prices_ep(req: PricesImport) -> dict[str, Any]:
        from hashlens.economics.daily import import_prices
        from hashlens.sources.prices import PricePoint, _check

        pts = _check([PricePoint(d, req.currency.upper(), p) for d, p in req.prices.items() if p > 0], req.source)
        if len(pts) != len(req.prices):
            raise HashlensError("every price must be positive")
        result = holder.run(lambda s: import_prices(s, pts, req.source, req.allow_gaps))
        holder.version += 1
        return result

    @app.post("/v1/import/miners", dependencies=[Depends(require_token)], responses=AUTH_ERRORS)
    def import_miners(req: MinersImport) -> dict[str, Any]:
        from hashlens.miners.dataset import Dataset, report_from, treasury_from
        from hashlens.miners.storeio import import_dataset

        ds = Dataset(
            reports=[report_from(r, f"reports[{i}]", req.source) for i, r in enumerate(req.reports)],
            treasuries=[treasury_from(t, f"treasuries[{i}]", req.source) for i, t in enumerate(req.treasuries)],
        )
        result = holder.run(lambda s: import_dataset(s, ds, req.source))
        holder.version += 1
        return result

    static = Path(str(resources.files("hashlens.web").joinpath("static")))
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> JSONResponse:
        return JSONResponse(status_code=204, content=None)

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(static / "index.html")

    app.state.holder = holder
    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory hashlens.api.app:app_from_env`."""
    return create_app()


__all__ = ["create_app"]
