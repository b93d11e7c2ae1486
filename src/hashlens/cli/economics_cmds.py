"""Commands for mining economics: prices, hashprice, ASICs, fleets, cost, network power."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table, state
from hashlens.errors import HashlensError
from hashlens.store import Store

prices_app = typer.Typer(help="Daily BTC price series in the store.")
app.add_typer(prices_app, name="prices")


def parse_day(text: str | None, what: str = "--date") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HashlensError(f"{what} {text!r} must be YYYY-MM-DD") from None


def positive(value: float | None, name: str) -> None:
    if value is not None and value <= 0:
        raise HashlensError(f"{name} must be positive (got {value:g})")


def monthly_days(start: str | None, end: date) -> list[date]:
    """``end`` alone, or with ``--start``: the start day and each 1st of a month after it, to ``end``."""
    s = parse_day(start, "--start")
    if s is None:
        return [end]
    if s > end:
        raise HashlensError(f"--start {s} is after {end}")
    days = []
    while s <= end:
        days.append(s)
        s = (s.replace(day=1) + timedelta(days=32)).replace(day=1)
    return days


def ready_store(quiet: bool) -> Store:
    """The store, filled from the shared data on first use (chain and USD prices)."""
    from hashlens.chain.sync import sync
    from hashlens.cli.progress import RichProgress
    from hashlens.economics.daily import import_prices
    from hashlens.sources.datadir import find_data_dir
    from hashlens.sources.prices import read_prices

    store = Store(state.db_path)
    counts = store.counts()
    if counts["periods"] and counts["prices"]:
        return store
    data_dir = find_data_dir(state.data_dir)
    if counts["periods"] == 0:
        progress = RichProgress(quiet=quiet)
        try:
            if data_dir is None:
                # Offline and no shared data: the bundled snapshot of public chain facts.
                print(
                    "hashlens: no shared data found; starting from the bundled chain snapshot "
                    "(sync a node or an Esplora API for per-block data)",
                    file=sys.stderr,
                )
                sync(store, "snapshot", progress)
            else:
                sync(store, str(data_dir / "chain"), progress)
        finally:
            progress.close()
    if counts["prices"] == 0 and data_dir is not None:
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        if f.exists():
            import_prices(store, read_prices(f), f.name)
    return store


@prices_app.command("import")
def prices_import(
    file: Annotated[Path, typer.Argument(help="CSV (long or BTC_XXX wide), JSON or Parquet price file.")],
    currency: Annotated[str | None, typer.Option(help="Currency of a single-series file, or the one to take.")] = None,
    date_column: Annotated[str | None, typer.Option(help="Name of the date column.")] = None,
    price_column: Annotated[str | None, typer.Option(help="Name of the price column.")] = None,
    allow_gaps: Annotated[bool, typer.Option("--allow-gaps", help="Store a series with missing days.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a daily price series; bad rows and (unless allowed) gaps are refused."""
    from hashlens.economics.daily import import_prices
    from hashlens.sources.prices import read_prices

    points = read_prices(file, currency, date_column, price_column)
    with Store(state.db_path) as store:
        result = import_prices(store, points, file.name, allow_gaps)
    emit(result, as_json, lambda d: console.print(kv_table("prices imported", d)))


@app.command()
def hashprice(
    day: Annotated[str | None, typer.Option("--date", help="UTC day (default: last full day of block data).")] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD] instead of the stored series.")] = None,
    fees_btc: Annotated[
        float | None, typer.Option(help="Fees per block [BTC] where no per-block fees are stored.")
    ] = None,
    start: Annotated[str | None, typer.Option(help="Series start day (with --end).")] = None,
    end: Annotated[str | None, typer.Option(help="Series end day.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the series to .csv or .parquet.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Hashprice: expected revenue of 1 PH/s (and 1 TH/s) per day, in BTC, sats and USD."""
    from hashlens.economics.daily import hashprice_days, hashprice_series, latest_day

    positive(price, "--price")
    if fees_btc is not None and fees_btc < 0:
        raise HashlensError("--fees-btc must not be negative")
    with ready_store(as_json) as store:
        if start or end or out:
            s = parse_day(start, "--start") or date(2012, 1, 1)
            e = parse_day(end, "--end") or latest_day(store)
            series = hashprice_series(store, s, e)
            if out:
                _write_table(series["rows"], out)
            emit(
                {
                    "all_time_low_usd": series["all_time_low_usd"],
                    "days": len(series["rows"]),
                    "written": str(out) if out else None,
                    "rows": series["rows"] if as_json and not out else None,
                },
                as_json,
                lambda d: console.print(kv_table("hashprice series", {k: v for k, v in d.items() if k != "rows"})),
            )
            return
        d = parse_day(day) or latest_day(store)
        row = hashprice_days(store, [d], price, fees_btc)[0]
    data = row.as_dict()
    if data["usd_per_ph_day"] is None:
        data["note"] = "no USD price stored for this day: pass --price"
    emit(data, as_json, lambda x: console.print(kv_table(f"Hashprice on {x['date']}", x)))


def _write_table(rows: list[dict[str, Any]], out: Path) -> None:
    import pyarrow as pa

    tbl = pa.Table.from_pylist(rows)
    if out.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(tbl, out)
    elif out.suffix.lower() == ".csv":
        import pyarrow.csv as pacsv

        pacsv.write_csv(tbl, out)
    else:
        raise HashlensError(f"--out {out}: use a .csv or .parquet file name")


@app.command()
def asics(
    file: Annotated[Path | None, typer.Option("--file", help="A CSV of more models (same columns).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The ASIC catalogue: models, release dates, TH/s, W, J/TH and sources."""
    from hashlens.economics.asics import load_catalogue

    rows = [a.as_dict() for a in load_catalogue(file)]

    def render(rs: list[dict[str, Any]]) -> None:
        t = Table(title=f"ASIC catalogue ({len(rs)} models)")
        for col in ("maker", "model", "released", "TH/s", "W", "J/TH"):
            t.add_column(col, justify="right" if col in ("TH/s", "W", "J/TH") else "left")
        for r in rs:
            t.add_row(
                r["maker"],
                r["model"],
                r["release_date"],
                f"{r['hashrate_ths']:g}",
                f"{r['power_w']:g}",
                f"{r['efficiency_j_per_th']:.1f}",
            )
        console.print(t)

    emit(rows, as_json, render)


def _operating(
    power_price: float,
    pool_fee: float,
    stale: float,
    uptime: float,
    pue: float,
    hosting_kwh: float,
    hosting_kw_month: float,
) -> Any:
    from hashlens.economics.fleet import Operating

    op = Operating(power_price, pool_fee, stale, uptime, pue, hosting_kwh, hosting_kw_month)
    op.validate()
    return op


@app.command()
def fleet(
    file: Annotated[Path, typer.Argument(help="CSV or YAML: model,count or hashrate_ths,efficiency_j_per_th,count.")],
    power_price: Annotated[float, typer.Option(help="Power price [USD/kWh].")] = 0.05,
    pool_fee: Annotated[float, typer.Option(help="Pool fee [0-1].")] = 0.02,
    stale: Annotated[float, typer.Option(help="Stale/reject rate [0-1].")] = 0.0,
    uptime: Annotated[float, typer.Option(help="Uptime [0-1].")] = 1.0,
    pue: Annotated[float, typer.Option(help="Facility power / machine power.")] = 1.0,
    hosting_kwh: Annotated[float, typer.Option(help="Hosting fee [USD/kWh].")] = 0.0,
    hosting_kw_month: Annotated[float, typer.Option(help="Hosting fee [USD/kW-month].")] = 0.0,
    day: Annotated[str | None, typer.Option("--date", help="UTC day for hashprice and price.")] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD].")] = None,
    hashprice_usd: Annotated[float | None, typer.Option("--hashprice", help="Hashprice [USD/PH/day] to use.")] = None,
    asic_file: Annotated[Path | None, typer.Option(help="Extra ASIC models (CSV).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fleet profitability: revenue, power, profit, breakevens, switch-off price, share under water."""
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.daily import hashprice_days, latest_day
    from hashlens.economics.fleet import evaluate_fleet, load_fleet

    positive(price, "--price")
    positive(hashprice_usd, "--hashprice")
    if power_price < 0:
        raise HashlensError("--power-price must not be negative")
    op = _operating(power_price, pool_fee, stale, uptime, pue, hosting_kwh, hosting_kw_month)
    groups = load_fleet(file, load_catalogue(asic_file))
    with ready_store(as_json) as store:
        d = parse_day(day) or latest_day(store)
        hp_row = hashprice_days(store, [d], price)[0]
    btc_price = price or hp_row.price_usd
    hp = hashprice_usd or hp_row.usd_per_ph_day
    if btc_price is None or hp is None:
        raise HashlensError(f"no USD price stored for {d}: pass --price")
    data = {"date": d.isoformat()} | evaluate_fleet(groups, op, hp, btc_price)

    def render(x: dict[str, Any]) -> None:
        t = Table(
            title=f"Fleet on {x['date']}: hashprice ${x['hashprice_usd_per_ph_day']:.2f}/PH/day, BTC ${x['btc_price_usd']:,.0f}"
        )
        for col in ("machine", "count", "J/TH", "profit $/day", "margin", "breakeven $/kWh", "switch-off BTC $"):
            t.add_column(col, justify="right")
        for r in x["machines"]:
            t.add_row(
                r["label"],
                str(r["count"]),
                f"{r['efficiency_j_per_th']:.1f}",
                f"{r['profit_usd_per_day']:.2f}",
                f"{(r['margin'] or 0):.0%}",
                f"{r['breakeven_power_price_usd_per_kwh']:.3f}",
                f"{r['shutdown_btc_price_usd']:,.0f}",
            )
        console.print(t)
        console.print(
            kv_table("Fleet totals", x["fleet"] | {"share under water": f"{x['share_of_hashrate_under_water']:.1%}"})
        )

    emit(data, as_json, render)


@app.command()
def cost(
    day: Annotated[str | None, typer.Option("--date", help="UTC day (default: last full day of block data).")] = None,
    power_price: Annotated[float, typer.Option(help="Power price [USD/kWh].")] = 0.05,
    efficiency: Annotated[list[float] | None, typer.Option(help="Efficiencies [J/TH] to cost (repeatable).")] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD] for comparison.")] = None,
    opex_usd_per_day: Annotated[float, typer.Option(help="Other cash operating costs per PH/s per day [USD].")] = 0.0,
    depreciation_usd_per_day: Annotated[float, typer.Option(help="Depreciation per PH/s per day [USD].")] = 0.0,
    overhead_usd_per_day: Annotated[float, typer.Option(help="Overheads (SG&A) per PH/s per day [USD].")] = 0.0,
    interest_usd_per_day: Annotated[float, typer.Option(help="Interest per PH/s per day [USD].")] = 0.0,
    start: Annotated[str | None, typer.Option(help="Monthly series from this day.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cost to mine one BTC: electricity (cash) cost by efficiency, all-in cost, Hayes' model."""
    from hashlens.economics.cost import cost_breakdown_per_btc, electricity_cost_per_btc, hayes_cost_of_production
    from hashlens.economics.daily import hashprice_days, latest_day
    from hashlens.economics.hashprice import expected_btc_per_day

    if power_price < 0:
        raise HashlensError("--power-price must not be negative")
    positive(price, "--price")
    effs = efficiency or [15.0, 17.5, 21.5, 29.5, 38.0]
    for e in effs:
        positive(e, "--efficiency")
    with ready_store(as_json) as store:
        d = parse_day(day) or latest_day(store)
        days = monthly_days(start, d)
        rows = hashprice_days(store, days, price)
    out = []
    for r in rows:
        reward = r.subsidy_btc + r.fees_btc
        per_eff = []
        for e in effs:
            elec = float(electricity_cost_per_btc(power_price, e, r.difficulty, reward))
            btc_day = float(expected_btc_per_day(1000.0, r.difficulty, reward))  # 1 PH/s
            bd = cost_breakdown_per_btc(
                btc_day,
                elec * btc_day,
                opex_usd_per_day,
                depreciation_usd_per_day,
                overhead_usd_per_day,
                interest_usd_per_day,
            )
            per_eff.append(
                {
                    "efficiency_j_per_th": e,
                    "electricity_usd_per_btc": elec,
                    "cash_cost_usd_per_btc": bd.cash_cost_usd_per_btc,
                    "all_in_cost_usd_per_btc": bd.all_in_cost_usd_per_btc,
                    "hayes_usd_per_btc": float(
                        hayes_cost_of_production(power_price, e / 1000, r.difficulty, r.subsidy_btc)
                    ),
                }
            )
        out.append(
            {
                "date": r.date,
                "difficulty": r.difficulty,
                "reward_btc": reward,
                "fee_source": r.fee_source,
                "btc_price_usd": r.price_usd,
                "power_price_usd_per_kwh": power_price,
                "costs": per_eff,
            }
        )
    data: Any = out if start else out[0]

    def render(x: Any) -> None:
        for r in x if isinstance(x, list) else [x]:
            t = Table(title=f"Cost per BTC on {r['date']} at ${power_price}/kWh (BTC ${r['btc_price_usd'] or 0:,.0f})")
            for col in ("J/TH", "electricity", "cash", "all-in", "Hayes"):
                t.add_column(col, justify="right")
            for c in r["costs"]:
                t.add_row(
                    f"{c['efficiency_j_per_th']:g}",
                    f"{c['electricity_usd_per_btc']:,.0f}",
                    f"{c['cash_cost_usd_per_btc']:,.0f}",
                    f"{c['all_in_cost_usd_per_btc']:,.0f}",
                    f"{c['hayes_usd_per_btc']:,.0f}",
                )
            console.print(t)

    emit(data, as_json, render)


@app.command()
def power(
    day: Annotated[str | None, typer.Option("--date", help="UTC day (default: last full day of block data).")] = None,
    power_price: Annotated[float, typer.Option(help="Electricity price [USD/kWh] (CBECI default 0.05).")] = 0.05,
    start: Annotated[str | None, typer.Option(help="Monthly series from this day.")] = None,
    asic_file: Annotated[Path | None, typer.Option(help="Extra ASIC models (CSV).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Network power [GW] and energy [TWh/yr], CBECI method: bounds and best guess."""
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.cbeci import network_power
    from hashlens.economics.daily import ChainCalendar, hashprice_days, latest_day, network_hashrate_ehs_on

    positive(power_price, "--power-price")
    cat = load_catalogue(asic_file)
    with ready_store(as_json) as store:
        d = parse_day(day) or latest_day(store)
        days = monthly_days(start, d)
        cal = ChainCalendar(store)
        rows = hashprice_days(store, days, cal=cal)
    out, prev = [], None
    for r in rows:
        if r.usd_per_th_day is None:
            raise HashlensError(f"no USD price stored for {r.date}: import a price series")
        hr, how = network_hashrate_ehs_on(cal, date.fromisoformat(r.date))
        prev = network_power(cat, date.fromisoformat(r.date), hr, r.usd_per_th_day, power_price, prev)
        out.append(prev.as_dict() | {"hashrate_method": how})
    data: Any = out if start else out[0]
    emit(
        data,
        as_json,
        lambda x: console.print(kv_table("Network power (CBECI method)", x if isinstance(x, dict) else x[-1])),
    )
