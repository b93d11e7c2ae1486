"""Commands for mining economics: prices, hashprice, ASICs, fleets, cost, network power."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table, served
from hashlens.cli.output import fmt_quantity
from hashlens.cli.stores import ready_store, writer_store
from hashlens.errors import HashlensError

prices_app = typer.Typer(help="Daily BTC price series in the store.")
app.add_typer(prices_app, name="prices")


def parse_day(text: str | None, what: str = "--as-of") -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HashlensError(f"{what} {text!r} must be YYYY-MM-DD") from None


def monthly_days(start: str | None, end: date) -> list[date]:
    """``end`` alone, or with ``--start``: the start day and each 1st of a month after it, to ``end``."""
    from hashlens.economics.daily import monthly_days as days_from

    return days_from(parse_day(start, "--start"), end)


@prices_app.command("import")
def prices_import(
    file: Annotated[Path, typer.Argument(help="CSV (long or BTC_XXX wide), JSON or Parquet price file.")],
    currency: Annotated[str | None, typer.Option(help="Currency of a single-series file, or the one to take.")] = None,
    date_column: Annotated[str | None, typer.Option(help="Name of the date column.")] = None,
    price_column: Annotated[str | None, typer.Option(help="Name of the price column.")] = None,
    allow_gaps: Annotated[bool, typer.Option("--allow-gaps", help="Store a series with missing days.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite stored prices that differ (reported by day).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a daily price series; bad rows, (unless allowed) gaps and (unless --replace)
    prices that differ from stored ones are refused."""
    from hashlens.chain.prices import store_prices
    from hashlens.economics.daily import price_points
    from hashlens.economics.models import PricesImport
    from hashlens.sources.prices import read_prices

    points = read_prices(file, currency, date_column, price_column)
    # Each currency's series is a PricesImport, held to its bounds; all are stored in one batch.
    series: dict[str, dict[date, float]] = {}
    for pt in points:
        series.setdefault(pt.currency, {})[pt.day] = pt.price
    requests = [
        PricesImport.build(currency=cur, prices=prices, allow_gaps=allow_gaps, replace=replace, source=file.name)
        for cur, prices in series.items()
    ]
    with writer_store() as store:
        result = store_prices(store, [p for r in requests for p in price_points(r)], file.name, allow_gaps, replace)
    emit(result.to_json(), as_json, lambda d: console.print(kv_table("prices imported", d)))


@prices_app.command("sync")
def prices_sync(
    source: Annotated[
        str,
        typer.Argument(help="kraken+http(s)://host (an exchange's OHLC API) or mempool+http(s)://host/api."),
    ],
    currency: Annotated[str, typer.Option(help="Currency to fetch.")] = "USD",
    interval: Annotated[int, typer.Option(help="OHLC candle [min]: 1440 daily or 60 hourly (opening hour).")] = 1440,
    since: Annotated[int, typer.Option(help="OHLC API: first candle after this time [Unix s].")] = 0,
    allow_gaps: Annotated[bool, typer.Option("--allow-gaps", help="Store a series with missing days.")] = False,
    allow_outliers: Annotated[
        bool, typer.Option("--allow-outliers", help="Store prices 10x off their neighbours too.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite stored prices that differ (reported by day).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Fetch daily prices from a public price API; gaps, outliers and changes to stored prices
    are refused unless allowed."""
    from hashlens.chain.prices import store_prices
    from hashlens.economics.daily import PricesFetched
    from hashlens.sources.price_apis import KrakenOHLC, open_price_source, screen_prices

    client = open_price_source(source, currency, interval)
    points = client.daily_prices(since) if isinstance(client, KrakenOHLC) else client.daily_prices()
    if not points:
        raise HashlensError(f"{source}: no closed daily prices in the answer")
    screen = screen_prices(points)
    if screen.outliers and not allow_outliers:
        d, cur, px, med = screen.outliers[0]
        raise HashlensError(
            f"{source}: {len(screen.outliers)} price(s) more than 10x off their neighbours, first {d} {cur} "
            f"{px:,.2f} against {med:,.2f}; check the source, or pass --allow-outliers"
        )
    with writer_store() as store:
        stored = store_prices(store, points, source, allow_gaps, replace)
    result = PricesFetched(
        **dict(stored),
        outliers=[f"{d} {cur} {px:,.2f} (neighbours {med:,.2f})" for d, cur, px, med in screen.outliers],
    )
    emit(result.to_json(), as_json, lambda d: console.print(kv_table("prices fetched", d)))


@app.command()
def hashprice(
    day: Annotated[
        str | None,
        typer.Option(
            "--as-of", "--date", help="UTC day answered for (default: the report's day, the latest day with data)."
        ),
    ] = None,
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
    one_day = price is None and fees_btc is None and not (start or end or out)
    answer = served("/v1/hashprice", date=parse_day(day)) if one_day else None
    if answer is not None:
        data, via = answer
    else:
        data, via = _hashprice_here(day, price, fees_btc, start, end, out, as_json), None
        if data is None:
            return
    data = {"as_of": data["date"], **data}  # the day answered for, as every reading command names it
    if data["usd_per_ph_day"] is None:
        data["note"] = "no USD price stored for this day: pass --price"

    def render(x: dict[str, Any]) -> None:
        console.print(
            kv_table(
                f"Hashprice on {x['date']} (24:00 UTC)",
                {
                    "USD per PH/s per day": fmt_quantity(x["usd_per_ph_day"], "USD", 2),
                    "BTC per PH/s per day": fmt_quantity(x["btc_per_ph_day"], "BTC", 6),
                    "sats per TH/s per day": fmt_quantity(x["sats_per_th_day"], "sat", 1),
                    "after the next halving": fmt_quantity(x["after_halving_usd_per_ph_day"], "USD/PH/day", 2),
                    "difficulty": f"{fmt_quantity(x['difficulty'] / 1e12, 'T', 2)} (period from height "
                    f"{x['period_start_height']:,}, start {x['period_start_source']})",
                    "height": f"{x['height']:,}" + ("" if x["height_exact"] else " (interpolated)"),
                    "subsidy + fees": f"{x['subsidy_btc']:g} + {fmt_quantity(x['fees_btc'], 'BTC', 4)} ({x['fee_source']})",
                    "BTC price": f"{fmt_quantity(x['price_usd'], 'USD', 0)} ({x['price_source']})",
                },
            )
        )
        if x.get("note"):
            console.print(f"[yellow]note:[/yellow] {x['note']}")

    emit(data, as_json, render, via)


def _hashprice_here(
    day: str | None,
    price: float | None,
    fees_btc: float | None,
    start: str | None,
    end: str | None,
    out: Path | None,
    as_json: bool,
) -> dict[str, Any] | None:
    """``hashprice`` computed in this process: one day's row, or (printed here, None returned)
    the series summary."""
    from hashlens.economics.daily import hashprice_days, hashprice_series, latest_day, series_table, write_series
    from hashlens.economics.models import HashpriceRequest, HashpriceSeriesRequest

    if start or end or out:
        sreq = HashpriceSeriesRequest.build(start=start, end=end)
        rows: list[dict[str, Any]] = []
        with ready_store(as_json) as store:
            last = sreq.end or latest_day(store)
            if as_json and not out:
                series = hashprice_series(store, sreq.start, last)
                rows, atl, days = [r.to_json() for r in series.rows], series.all_time_low_usd, len(series.rows)
            else:  # the file (or the summary alone) from the columns: no object per day
                table, atl = series_table(store, sreq.start, last)
                days = table.num_rows
        if out:
            write_series(table, out)
        emit(
            {
                "all_time_low_usd": atl.to_json() if atl else None,
                "days": days,
                "written": str(out) if out else None,
                "rows": rows if as_json and not out else None,
            },
            as_json,
            lambda d: console.print(
                kv_table(
                    "Hashprice series",
                    {
                        "days": f"{d['days']:,}",
                        # over the range asked for: the all-time low only when it starts at the first price
                        ("all-time low" if sreq.start is None else f"lowest from {sreq.start}"): (
                            f"{fmt_quantity(d['all_time_low_usd']['usd_per_ph_day'], 'USD/PH/day')} "
                            f"on {d['all_time_low_usd']['date']}"
                        )
                        if d["all_time_low_usd"]
                        else "n/a",
                        "written": d["written"] or "-",
                    },
                )
            ),
        )
        return None
    req = HashpriceRequest.build(as_of=day, btc_price_usd=price, fees_btc=fees_btc)
    with ready_store(as_json) as store:
        d = req.as_of or latest_day(store)
        return hashprice_days(store, [d], req.btc_price_usd, req.fees_btc)[0].to_json()


@app.command()
def asics(
    file: Annotated[Path | None, typer.Option("--file", help="A CSV of more models (same columns).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The ASIC catalogue: models, release dates, TH/s, W, J/TH and sources."""
    from hashlens.economics.asics import load_catalogue

    rows = [a.to_json() for a in load_catalogue(file)]

    def render(rs: list[dict[str, Any]]) -> None:
        from rich.table import Table

        t = Table(title=f"ASIC catalogue ({len(rs)} models)")
        for col in ("maker", "model", "released", "TH/s", "W", "J/TH"):
            t.add_column(col, justify="right" if col in ("TH/s", "W", "J/TH") else "left")
        for r in rs:
            t.add_row(
                r["maker"],
                r["model"],
                r["release_date"],
                fmt_quantity(r["hashrate_ths"], digits=1),
                fmt_quantity(r["power_w"], digits=0),
                fmt_quantity(r["efficiency_j_per_th"], digits=1),
            )
        console.print(t)

    emit(rows, as_json, render)


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
    day: Annotated[
        str | None,
        typer.Option("--as-of", "--date", help="UTC day for hashprice and price (default: the report's day)."),
    ] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD].")] = None,
    hashprice_usd: Annotated[float | None, typer.Option("--hashprice", help="Hashprice [USD/PH/day] to use.")] = None,
    asic_file: Annotated[Path | None, typer.Option(help="Extra ASIC models (CSV).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fleet profitability: revenue, power, profit, breakevens, switch-off price, share under water."""
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.daily import hashprice_days, latest_day
    from hashlens.economics.fleet import fleet_on_day, read_fleet_file
    from hashlens.economics.models import FleetRequest

    req = FleetRequest.build(
        machines=read_fleet_file(file),
        power_price_usd_per_kwh=power_price,
        pool_fee=pool_fee,
        stale_rate=stale,
        uptime=uptime,
        pue=pue,
        hosting_usd_per_kwh=hosting_kwh,
        hosting_usd_per_kw_month=hosting_kw_month,
        as_of=day,
        btc_price_usd=price,
        hashprice_usd_per_ph_day=hashprice_usd,
    )
    catalogue = load_catalogue(asic_file)
    with ready_store(as_json) as store:
        hp_row = hashprice_days(store, [req.as_of or latest_day(store)], req.btc_price_usd)[0]
    data = fleet_on_day(req, hp_row, catalogue).to_json()

    def render(x: dict[str, Any]) -> None:
        from rich import box
        from rich.table import Table

        t = Table(
            title=f"Fleet on {x['date']}: hashprice {fmt_quantity(x['hashprice_usd_per_ph_day'], 'USD/PH/day')}, "
            f"BTC {fmt_quantity(x['btc_price_usd'], 'USD', 0)}",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        t.add_column("machine", min_width=10)
        for col in (
            "count",
            "J/TH",
            "profit\nUSD/day",
            "margin",
            "breakeven\nUSD/PH/day",
            "breakeven\nUSD/kWh",
            "switch-off\nBTC USD",
        ):
            t.add_column(col, justify="right")
        for r in x["machines"]:
            t.add_row(
                r["label"],
                fmt_quantity(r["count"], digits=0),
                fmt_quantity(r["efficiency_j_per_th"], digits=1),
                fmt_quantity(r["profit_usd_per_day"], digits=2),
                fmt_quantity(r["margin"], "%", 0),
                fmt_quantity(r["breakeven_hashprice_usd_per_ph_day"], digits=2),
                fmt_quantity(r["breakeven_power_price_usd_per_kwh"], digits=3),
                fmt_quantity(r["shutdown_btc_price_usd"], digits=0),
            )
        console.print(t)
        f = x["fleet"]
        totals = {
            "hashrate": fmt_quantity(f["hashrate_phs"], "PH/s", 3),
            "power": fmt_quantity(f["power_mw"], "MW", 3),
            "revenue": fmt_quantity(f["revenue_usd_per_day"], "USD/day"),
            "revenue (BTC)": fmt_quantity(f["revenue_btc_per_day"], "BTC/day", 6),
            "power cost": fmt_quantity(f["power_cost_usd_per_day"], "USD/day"),
            "hosting": fmt_quantity(f["hosting_usd_per_day"], "USD/day"),
            "profit": fmt_quantity(f["profit_usd_per_day"], "USD/day"),
            "margin": fmt_quantity(f["margin"], "%", 1),
            "hashrate under water": fmt_quantity(x["share_of_hashrate_under_water"], "%", 1),
        }
        console.print(kv_table("Fleet totals", totals))

    emit(data, as_json, render)


@app.command()
def cost(
    day: Annotated[
        str | None,
        typer.Option(
            "--as-of", "--date", help="UTC day answered for (default: the report's day, the latest day with data)."
        ),
    ] = None,
    power_price: Annotated[float | None, typer.Option(help="Power price [USD/kWh] (default 0.05).")] = None,
    efficiency: Annotated[list[float] | None, typer.Option(help="Efficiencies [J/TH] to cost (repeatable).")] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD] for comparison.")] = None,
    other_cash: Annotated[
        float | None,
        typer.Option(
            "--other-cash-usd-per-ph-day",
            "--opex-usd-per-day",
            help="Other cash costs of mining per PH/s per day [USD] (default: derived from the companies' results).",
        ),
    ] = None,
    depreciation: Annotated[
        float | None,
        typer.Option(
            "--depreciation-usd-per-ph-day",
            "--depreciation-usd-per-day",
            help="Depreciation of the fleet per PH/s per day [USD] (default: derived from the companies' results).",
        ),
    ] = None,
    overhead: Annotated[
        float | None,
        typer.Option(
            "--overhead-usd-per-ph-day", "--overhead-usd-per-day", help="Overheads (SG&A) per PH/s per day [USD]."
        ),
    ] = None,
    interest: Annotated[
        float | None,
        typer.Option("--interest-usd-per-ph-day", "--interest-usd-per-day", help="Interest per PH/s per day [USD]."),
    ] = None,
    start: Annotated[str | None, typer.Option(help="Monthly series from this day.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Cost to mine one BTC by efficiency: electricity, cash (+ other cash costs) and all-in (+ depreciation), Hayes.

    The all-in cost is never the electricity alone: its non-power terms default to figures derived
    from the listed miners' results (see README, "Cost to mine one bitcoin")."""
    from hashlens.economics.cost import CostDay, CostRequest, cost_per_btc_table
    from hashlens.economics.daily import hashprice_days, latest_day
    from hashlens.economics.daily import monthly_days as days_from

    req = CostRequest.build(
        as_of=parse_day(day),
        btc_price_usd=price,
        start=parse_day(start, "--start"),
        power_price_usd_per_kwh=power_price,
        efficiencies_j_per_th=efficiency or None,
        other_cash_usd_per_ph_day=other_cash,
        depreciation_usd_per_ph_day=depreciation,
        overhead_usd_per_ph_day=overhead,
        interest_usd_per_ph_day=interest,
    )
    terms = req.terms()
    with ready_store(as_json) as store:
        days = days_from(req.start, req.as_of or latest_day(store))
        rows = hashprice_days(store, days, req.btc_price_usd)
    out = [CostDay.model_validate(d).to_json() for d in cost_per_btc_table(rows, terms=terms)]
    data: Any = out if start else {"as_of": out[0]["date"], **out[0]}

    def render(x: Any) -> None:
        from rich.table import Table

        days = x if isinstance(x, list) else [x]
        t = Table(
            title=f"Cost to mine one BTC at {fmt_quantity(terms.power_price_usd_per_kwh, 'USD/kWh', 3)} [USD/BTC]"
        )
        t.add_column("date", no_wrap=True)
        for col in ("BTC price", "J/TH", "electricity", "cash", "all-in", "Hayes"):
            t.add_column(col, justify="right", no_wrap=True)
        for r in days:
            for i, c in enumerate(r["costs"]):
                t.add_row(
                    r["date"] if i == 0 else "",
                    fmt_quantity(r["btc_price_usd"], digits=0) if i == 0 else "",
                    fmt_quantity(c["efficiency_j_per_th"], digits=1),
                    fmt_quantity(c["electricity_usd_per_btc"], digits=0),
                    fmt_quantity(c["cash_cost_usd_per_btc"], digits=0),
                    fmt_quantity(c["all_in_cost_usd_per_btc"], digits=0),
                    fmt_quantity(c["hayes_usd_per_btc"], digits=0),
                    end_section=i == len(r["costs"]) - 1,
                )
        console.print(t)
        console.print("electricity: the power alone; cash: + other cash costs; " + days[-1]["terms"]["method"] + ".")
        last = days[-1]
        if last["btc_price_usd"] is not None:
            below = [c["efficiency_j_per_th"] for c in last["costs"] if not c["price_above_all_in"]]
            under = [c["efficiency_j_per_th"] for c in last["costs"] if not c["price_above_electricity"]]

            def effs(xs: list[float]) -> str:
                return (
                    "every efficiency" if len(xs) == len(last["costs"]) else ", ".join(f"{e:g}" for e in xs) + " J/TH"
                )

            console.print(
                f"On {last['date']} the price, {fmt_quantity(last['btc_price_usd'], 'USD', 0)}, is "
                + (f"below the all-in cost at {effs(below)}" if below else "above the all-in cost at every efficiency")
                + (
                    f" and below the electricity cost at {effs(under)}."
                    if under
                    else " and above the electricity cost at every efficiency."
                )
            )

    emit(data, as_json, render)


@app.command()
def power(
    day: Annotated[
        str | None,
        typer.Option(
            "--as-of", "--date", help="UTC day answered for (default: the report's day, the latest day with data)."
        ),
    ] = None,
    power_price: Annotated[float, typer.Option(help="Electricity price [USD/kWh] (CBECI default 0.05).")] = 0.05,
    start: Annotated[str | None, typer.Option(help="Monthly series from this day.")] = None,
    asic_file: Annotated[Path | None, typer.Option(help="Extra ASIC models (CSV).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Network power [GW] and energy [TWh/yr], CBECI method: bounds and best guess."""
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.models import PowerRequest
    from hashlens.economics.power import network_power

    req = PowerRequest.build(as_of=day, start=start, power_price_usd_per_kwh=power_price)
    cat = load_catalogue(asic_file)
    with ready_store(as_json) as store:
        rows = network_power(store, req, catalogue=cat)
    out = [r.to_json() for r in rows]
    data: Any = out if start else out[0]

    def render(x: Any) -> None:
        if isinstance(x, dict):
            rows = {
                "day": x["as_of"],
                "hashrate": f"{fmt_quantity(x['hashrate_ehs'], 'EH/s', 0)} ({x['hashrate_method']})",
                "profitability threshold": fmt_quantity(x["threshold_j_per_th"], "J/TH", 1)
                + f" (14-day mean {fmt_quantity(x['threshold_mean_j_per_th'], 'J/TH', 1)})",
                "profitable models": fmt_quantity(x["profitable_models"], digits=0)
                + (f" (none: carried forward from {x['carried_from']})" if x["carried_forward"] else ""),
                "efficiency lower / guess / upper": " / ".join(
                    fmt_quantity(x[f"{k}_j_per_th"], digits=1) for k in ("lower", "guess", "upper")
                )
                + " J/TH",
                "power lower / guess / upper": " / ".join(
                    fmt_quantity(x[f"power_gw_{k}"], digits=2) for k in ("lower", "guess", "upper")
                )
                + " GW (7-day mean)",
                "energy lower / guess / upper": " / ".join(
                    fmt_quantity(x[f"energy_twh_per_year_{k}"], digits=1) for k in ("lower", "guess", "upper")
                )
                + " TWh/yr",
            } | ({"note": x["note"]} if x["note"] else {})
            console.print(kv_table("Network power (CBECI method)", rows))
            return
        from rich.table import Table

        t = Table(title="Network power (CBECI method)")
        t.add_column("day", no_wrap=True)
        for col in ("EH/s", "J/TH\nguess", "GW\nlower", "GW\nguess", "GW\nupper", "TWh/yr\nguess"):
            t.add_column(col, justify="right", no_wrap=True)
        t.add_column("note")
        for r in x:
            t.add_row(
                r["as_of"],
                fmt_quantity(r["hashrate_ehs"], digits=1),
                fmt_quantity(r["guess_j_per_th"], digits=1),
                fmt_quantity(r["power_gw_lower"], digits=2),
                fmt_quantity(r["power_gw_guess"], digits=2),
                fmt_quantity(r["power_gw_upper"], digits=2),
                fmt_quantity(r["energy_twh_per_year_guess"], digits=1),
                r["note"],
            )
        console.print(t)

    emit(data, as_json, render)
