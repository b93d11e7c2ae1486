"""Commands for listed miners: import, monthly table, expected vs reported, treasuries,
quarterly results beside the chain, treasury flows."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from pathlib import Path
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, served
from hashlens.cli.stores import ready_store
from hashlens.errors import HashlensError

miners_app = typer.Typer(
    help="Listed miners: monthly production, expected vs reported, treasuries, quarterly results, treasury flows."
)
app.add_typer(miners_app, name="miners")


def parse_month_opt(text: str) -> Any:
    from hashlens.miners.dataset import parse_month

    return parse_month(text, "--month")


def _ready(as_json: bool) -> Any:
    return ready_store(as_json, miners=True)


def _ready_results(as_json: bool) -> Any:
    """The store with the bundled sample's quarterly results loaded if it holds none yet (a
    store filled before results existed)."""
    store = _ready(as_json)
    if store.miner_result_count() == 0:
        store.close()
        store = ready_store(as_json, miners=True, write=True)
    return store


def _day(text: str | None, what: str) -> Any:
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise HashlensError(f"{what} {text!r} must be YYYY-MM-DD") from None


@miners_app.command("import")
def miners_import(
    file: Annotated[
        Path, typer.Argument(help="CSV, JSON or YAML of monthly reports, treasuries, press facts or quarterly results.")
    ],
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite stored quarterly results that differ (else refused).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Import a file (its kind detected from its columns); a malformed row refuses the whole file,
    naming the row and field, and nothing is stored."""
    from hashlens.miners.dataset import read_dataset
    from hashlens.miners.storeio import import_dataset

    ds = read_dataset(file)
    with ready_store(as_json, miners=True, write=True) as store:
        result = import_dataset(store, ds, file.name, replace=replace)

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"imported {d['reports']} reports, {d['treasuries']} treasuries, {d['facts']} facts, "
            f"{d['results']} results from {d['source']}"
        )
        for w in d["warnings"]:
            console.print(f"[yellow]warning:[/yellow] {w}")

    emit(result, as_json, render)


@miners_app.command("table")
def miners_table(
    month: Annotated[str, typer.Option(help="YYYY-MM.")],
    as_json: JsonOpt = False,
) -> None:
    """The month's production in descending order of BTC mined."""
    from hashlens.miners.analysis import month_table

    m = parse_month_opt(month)
    with _ready(as_json) as store:
        rows = month_table(store, m)

    def render(rs: list[dict[str, Any]]) -> None:
        from rich.table import Table

        t = Table(title=f"Listed miners, {month}: BTC mined")
        for col in ("#", "company", "ticker", "BTC mined", "avg EH/s", "month-end EH/s", "sold", "treasury"):
            t.add_column(col, justify="right" if col not in ("company", "ticker") else "left")

        def f(v: float | None) -> str:
            return "" if v is None else f"{v:,.1f}".removesuffix(".0")

        for i, r in enumerate(rs, start=1):
            t.add_row(
                str(i),
                r["company"],
                r["ticker"],
                f(r["btc_mined"]),
                f(r["hashrate_avg_ehs"]),
                f(r["hashrate_month_end_ehs"]),
                f(r["btc_sold"]),
                f(r["treasury_btc"]),
            )
        console.print(t)

    emit(rows, as_json, render)


@miners_app.command("expected")
def miners_expected(
    month: Annotated[str, typer.Option(help="YYYY-MM.")],
    as_json: JsonOpt = False,
) -> None:
    """Expected BTC from each company's hashrate and the month's real difficulty, vs reported."""
    m = parse_month_opt(month)
    answer = served(f"/v1/miners/{m:%Y-%m}/expected")
    if answer is not None:
        rows, via = answer
    else:
        from hashlens.miners.analysis import expected_vs_reported

        with _ready(as_json) as store:
            rows, via = expected_vs_reported(store, m), None

    def render(rs: list[dict[str, Any]]) -> None:
        from rich.table import Table

        t = Table(title=f"Expected vs reported, {month} ({rs[0]['chain']['reward_source']})")
        for col in ("ticker", "reported", "expected", "ratio", "hashrate", "BTC/EH/day", "flags"):
            t.add_column(col)
        for r in rs:
            t.add_row(
                r["ticker"],
                f"{r['reported_btc'] or 0:,.0f}",
                "" if r["expected_btc"] is None else f"{r['expected_btc']:,.0f} ± {r['expected_sd_btc']:.0f}",
                "" if r["ratio"] is None else f"{r['ratio']:.2f}",
                f"{r['hashrate_ehs'] or 0:g} ({r['hashrate_basis']})",
                "" if r["btc_per_ehs_day"] is None else f"{r['btc_per_ehs_day']:.3f}",
                "; ".join(r["flags"]),
            )
        console.print(t)

    emit(rows, as_json, render, via)


@miners_app.command("treasury")
def miners_treasury(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Only figures published by this day (YYYY-MM-DD).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Latest known BTC treasury of each company, largest first (the publication-lag rule with --as-of)."""
    from hashlens.miners.analysis import treasuries

    day = _day(as_of, "--as-of")
    with _ready_results(as_json) as store:
        rows = treasuries(store, day)
    if not rows:
        raise HashlensError("no treasury figures stored: run `hashlens miners import FILE`")

    def render(rs: list[dict[str, Any]]) -> None:
        from rich.table import Table

        t = Table(title="Miner BTC treasuries")
        for col in ("#", "company", "ticker", "BTC", "as of"):
            t.add_column(col)
        for r in rs:
            t.add_row(str(r["rank"]), r["company"], r["ticker"], f"{r['treasury_btc']:,.0f}", r["as_of"])
        console.print(t)

    emit(rows, as_json, render)


def _usd_m(x: float | None) -> str:
    from hashlens.cli.output import fmt_quantity

    return "" if x is None else fmt_quantity(x, "", 1)


@miners_app.command("results")
def miners_results(
    company: Annotated[str | None, typer.Option(help="Ticker or company name.")] = None,
    quarter: Annotated[
        str | None, typer.Option(help="Period as published (Q4 2025, Q2 FY26) or its last day (YYYY-MM-DD).")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Only results published by this day.")] = None,
    efficiency: Annotated[
        float | None, typer.Option(help="Reference machine for the network's electricity cost [J/TH] (default 21.5).")
    ] = None,
    power_price: Annotated[float | None, typer.Option(help="Reference power price [USD/kWh] (default 0.05).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Quarterly results with the chain beside them: revenue mix and AI/HPC share, revenue per PH/s
    against hashprice, expected vs reported BTC, own cost per BTC against the network's electricity cost."""
    from hashlens.miners.models import ResultsQuery
    from hashlens.miners.results import quarterly_results

    query = ResultsQuery.build(
        company=company,
        quarter=quarter,
        as_of=_day(as_of, "--as-of"),
        efficiency_j_per_th=efficiency,
        power_price_usd_per_kwh=power_price,
    )
    with _ready_results(as_json) as store:
        answer = quarterly_results(store, query)

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        t = Table(title="Quarterly results [USD m] and the chain beside them")
        for col in ("company", "period (ended)", "revenue", "mining", "AI/HPC", "BTC", "exp. ratio"):
            t.add_column(col, justify="left" if col in ("company", "period (ended)") else "right")
        lines = []
        for r in d["results"]:
            facts = {f["metric"]: f["value"] for f in r["facts"]}
            mix, prod = r["revenue_mix"], r["production"]
            ai = "" if not mix or mix["ai_hpc_share"] is None else f"{mix['ai_hpc_share']:.1%}"
            notes = [f"{c['metric']} {c['ratio']:.2f}× the network's electricity cost" for c in r["costs"]]
            if r["realised"] and r["realised"]["ratio"] is not None:
                notes.append(f"mining revenue per PH/s {r['realised']['ratio']:.2f}× the network's hashprice")
            if r["mining_margin"]:
                notes.append(f"mining cost {r['mining_margin']['cost_to_revenue']:.2f}× mining revenue")
            if notes:
                lines.append(f"{r['ticker']} {r['period']}: " + "; ".join(notes))
            t.add_row(
                f"{r['company']} ({r['ticker']})",
                f"{r['period']} ({r['period_end']})",
                _usd_m(facts.get("revenue_total")),
                _usd_m(facts.get("revenue_mining")),
                ai,
                "" if "btc_produced" not in facts else f"{facts['btc_produced']:,.0f}",
                "" if not prod else f"{prod['ratio']:.2f}",
            )
        console.print(t)
        for line in lines:
            console.print(f"- {line}")
        console.print(
            f"Network electricity cost at {d['efficiency_j_per_th']:g} J/TH and ${d['power_price_usd_per_kwh']:g}/kWh. "
            f"{d['lag_rule']} --json for every figure, its source and the method notes."
        )

    emit(answer.to_json(), as_json, render)


@miners_app.command("flows")
def miners_flows(
    company: Annotated[str | None, typer.Option(help="Ticker or company name.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Only figures published by this day.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Treasury flows between published holdings: sold ≈ produced − change in holdings, against stated sales."""
    from hashlens.miners.flows import treasury_flows
    from hashlens.miners.models import FlowsQuery

    query = FlowsQuery.build(company=company, as_of=_day(as_of, "--as-of"))
    with _ready_results(as_json) as store:
        answer = treasury_flows(store, query)
    if not answer.flows and company:
        raise HashlensError(f"no two published holdings figures of {company!r}: no flow between them to show")

    def render(d: dict[str, Any]) -> None:
        from rich.table import Table

        def span(lo: float, hi: float | None) -> str:
            return f"≥ {lo:,.0f}" if hi is None else f"{lo:,.0f}" if abs(hi - lo) < 0.5 else f"{lo:,.0f}–{hi:,.0f}"

        t = Table(title="Treasury flows [BTC]: sold ≈ produced − change in holdings")
        for col in ("company", "span", "holdings", "change", "produced", "implied sold", "stated"):
            t.add_column(col, justify="left" if col in ("company", "span") else "right")
        flags = []
        for f in d["flows"]:
            unknown = f["produced_high_btc"] is None and f["produced_low_btc"] == 0
            t.add_row(
                f["ticker"],
                f"{f['start']['day']} → {f['end']['day']}",
                f"{f['start']['btc']:,.0f} → {f['end']['btc']:,.0f}",
                f"{f['change_btc']:+,.0f}",
                "not published" if unknown else span(f["produced_low_btc"], f["produced_high_btc"]),
                "" if unknown else span(f["implied_sold_low_btc"], f["implied_sold_high_btc"]),
                "" if f["stated_sold_btc"] is None else f"{f['stated_sold_btc']:,.1f}",
            )
            if f["flag"]:
                flags.append(f"{f['company']} ({f['end']['day']}): {f['flag']}")
        console.print(t)
        for line in flags:
            console.print(f"[yellow]flag:[/yellow] {line}")
        console.print(d["lag_rule"])

    emit(answer.to_json(), as_json, render)
