"""``hashlens outlook``: a fleet's months ahead over the forecast's paths (hashlens.sim.fleet_outlook)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table
from hashlens.cli.output import fmt_quantity
from hashlens.errors import HashlensError


def read_scenario(path: Path) -> dict[str, Any]:
    """A YAML mapping of outlook settings (the keys of ``POST /v1/outlook``'s body)."""
    from hashlens.sources.reader import read_tree

    data = read_tree(path, "scenario file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise HashlensError(f"{path}: expected a mapping of outlook settings (capex_usd_per_machine: …, loan: …)")
    if "machines" in data:
        raise HashlensError(f"{path}: machines belong in the FLEET file, not the scenario")
    return data


def fleet_records(file: Path, asic_file: Path | None) -> list[dict[str, Any]]:
    """The fleet file as plain rows (each row's TH/s and W resolved from the catalogue), the
    form ``POST /v1/outlook`` takes."""
    from hashlens.economics.asics import load_catalogue
    from hashlens.economics.fleet import load_fleet

    rows = []
    for g in load_fleet(file, load_catalogue(asic_file)):
        row: dict[str, Any] = {"label": g.label, "count": g.count, "hashrate_ths": g.hashrate_ths, "power_w": g.power_w}
        if g.power_price_usd_per_kwh is not None:
            row["power_price_usd_per_kwh"] = g.power_price_usd_per_kwh
        if g.machine_price_usd is not None:
            row["machine_price_usd"] = g.machine_price_usd
        rows.append(row)
    return rows


@app.command()
def outlook(
    file: Annotated[
        Path, typer.Argument(help="Fleet CSV or YAML: model,count or hashrate_ths,efficiency_j_per_th,count.")
    ],
    months: Annotated[int | None, typer.Option(help="Months ahead (1 … 60; default 24).")] = None,
    paths: Annotated[int | None, typer.Option(help="Simulated paths (1 … 100,000; default 10,000).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: the same seed gives the same result.")] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            help="YAML of the other settings (the keys of POST /v1/outlook): capex, loan, depreciation, hold "
            "share and basis, profit fee, price, difficulty growth or increment, halving drop."
        ),
    ] = None,
    power_price: Annotated[float | None, typer.Option(help="Power price [USD/kWh] (default 0.05).")] = None,
    pool_fee: Annotated[float | None, typer.Option(help="Pool fee [0-1] (default 0.02).")] = None,
    stale: Annotated[float | None, typer.Option(help="Stale/reject rate [0-1].")] = None,
    uptime: Annotated[float | None, typer.Option(help="Uptime [0-1].")] = None,
    pue: Annotated[float | None, typer.Option(help="Facility power / machine power.")] = None,
    hosting_kwh: Annotated[float | None, typer.Option(help="Hosting fee [USD/kWh].")] = None,
    hosting_kw_month: Annotated[float | None, typer.Option(help="Hosting fee [USD/kW-month].")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", "--date", help="As of this UTC day (default: the latest with data).")
    ] = None,
    price: Annotated[float | None, typer.Option(help="Starting BTC price [USD] instead of the stored one.")] = None,
    difficulty_increment: Annotated[
        float | None,
        typer.Option(
            help="Deterministic difficulty growth [%/year] (Braiins' Difficulty Increment), compounded over "
            "adjustments of one expected period each; not with difficulty_growth_pct_per_adjustment."
        ),
    ] = None,
    halving_drop: Annotated[
        float | None,
        typer.Option(
            help="One-off difficulty drop at the first adjustment after a halving [%] (Braiins' Halving "
            "Difficulty Drop; default 0)."
        ),
    ] = None,
    profit_fee: Annotated[
        float | None,
        typer.Option(
            help="Share of each month's positive profit paid away, e.g. a hosting profit share [0-1] "
            "(Braiins' Profit Fees; default 0)."
        ),
    ] = None,
    hold_basis: Annotated[
        str | None,
        typer.Option(
            help="What the held share is of: btc_mined (default; kept as mined) or net_profit (Braiins' HODL "
            "ratio: that share of each month's profit bought in BTC at the month-end price)."
        ),
    ] = None,
    asic_file: Annotated[Path | None, typer.Option(help="Extra ASIC models (CSV).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Fleet outlook: monthly quantiles of revenue, costs, profit, cash and BTC held; payback,
    NPV and IRR; run-always beside switching off when under water."""
    from hashlens.cli.economics_cmds import parse_day, ready_store
    from hashlens.sim.fleet_outlook import fleet_outlook_from_store, parse_request

    request: dict[str, Any] = read_scenario(scenario) if scenario else {}
    given = {
        "months": months,
        "paths": paths,
        "seed": seed,
        "power_price_usd_per_kwh": power_price,
        "pool_fee": pool_fee,
        "stale_rate": stale,
        "uptime": uptime,
        "pue": pue,
        "hosting_usd_per_kwh": hosting_kwh,
        "hosting_usd_per_kw_month": hosting_kw_month,
        "as_of": parse_day(as_of, "--as-of"),
        "btc_price_usd": price,
        "difficulty_increment_pct_per_year": difficulty_increment,
        "halving_difficulty_drop_pct": halving_drop,
        "profit_fee": profit_fee,
        "hold_basis": hold_basis,
    }
    request |= {k: v for k, v in given.items() if v is not None}
    request["machines"] = fleet_records(file, asic_file)
    parse_request(request)  # bad input is refused before the store is opened
    with ready_store(as_json) as store:
        data = fleet_outlook_from_store(store, request)
    emit(data, as_json, render)


def _band(q: dict[str, list[float]], i: int, digits: int = 0) -> str:
    return f"{fmt_quantity(q['p50'][i], digits=digits)} ({fmt_quantity(q['p05'][i], digits=digits)} … {fmt_quantity(q['p95'][i], digits=digits)})"


def render(d: dict[str, Any]) -> None:
    s, h = d["start"], d["halving"]
    console.print(
        kv_table(
            f"Fleet outlook as of {d['as_of']}: {d['months']} months, {d['paths']:,} paths (seed {d['seed']})",
            {
                "start": f"height {s['height']:,}, difficulty {fmt_quantity(s['difficulty'] / 1e12, 'T', 2)}, "
                f"BTC {fmt_quantity(s['btc_price_usd'], 'USD', 0)}, hashprice "
                f"{fmt_quantity(s['hashprice_usd_per_ph_day'], 'USD/PH/day', 2)}",
                "capex": fmt_quantity(d["inputs"]["capex_usd"], "USD", 0),
                "halving": f"height {h['height']:,} ({h['subsidy_before_btc']:g} → {h['subsidy_after_btc']:g} BTC): "
                + (
                    f"{h['probability_in_horizon']:.0%} inside the horizon, median {h['date_p50']}"
                    if h.get("date_p50")
                    else "beyond the horizon"
                ),
                "value of switching off (NPV)": _scalar_band(d["switch_off_value_usd"]),
            },
        )
    )
    from rich import box
    from rich.table import Table

    t = Table(title="Per month: median (5 % … 95 %) [USD]", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("month to", "profit, run always", "profit, switch off", "position, run always", "P(paid back)"):
        t.add_column(col, justify="right", no_wrap=True)
    ra, so = d["policies"]["run_always"], d["policies"]["switch_off"]
    for i, end in enumerate(d["month_ends"]):
        t.add_row(
            end,
            _band(ra["monthly"]["profit_usd"], i),
            _band(so["monthly"]["profit_usd"], i),
            _band(ra["monthly"]["position_usd"], i),
            f"{ra['payback_probability'][i]:.0%} / {so['payback_probability'][i]:.0%}",
        )
    console.print(t)
    t = Table(title="Over the horizon", box=box.SIMPLE_HEAD, pad_edge=False)
    for col in ("policy", "NPV [USD] median (5 % … 95 %)", "IRR median (5 % … 95 %)", "machine-days off"):
        t.add_column(col, justify="right")
    for name, p in d["policies"].items():
        irr = p["irr_annual"]
        t.add_row(
            name.replace("_", " "),
            _scalar_band(p["npv_usd"]),
            "n/a"
            if irr["p50"] is None
            else f"{irr['p50']:.0%} ({irr['p05']:.0%} … {irr['p95']:.0%})"
            + (f", defined on {irr['share_defined']:.0%}" if irr["share_defined"] < 1 else ""),
            f"{p['machine_days_off_share']:.1%}",
        )
    console.print(t)
    for line in d["method"]:
        console.print(f"[dim]- {line}[/dim]")


def _scalar_band(q: dict[str, float]) -> str:
    return (
        f"{fmt_quantity(q['p50'], digits=0)} ({fmt_quantity(q['p05'], digits=0)} … {fmt_quantity(q['p95'], digits=0)})"
    )
