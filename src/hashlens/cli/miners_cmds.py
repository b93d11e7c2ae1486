"""Commands for listed miners: import, monthly table, expected vs reported, treasuries."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from pathlib import Path
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, served
from hashlens.cli.stores import ready_store
from hashlens.errors import HashlensError

miners_app = typer.Typer(help="Listed miners: monthly production, expected vs reported, treasuries.")
app.add_typer(miners_app, name="miners")


def parse_month_opt(text: str) -> Any:
    from hashlens.miners.dataset import parse_month

    return parse_month(text, "--month")


def _ready(as_json: bool) -> Any:
    return ready_store(as_json, miners=True)


@miners_app.command("import")
def miners_import(
    file: Annotated[Path, typer.Argument(help="CSV, JSON or YAML of reports, treasuries or press facts.")],
    as_json: JsonOpt = False,
) -> None:
    """Import monthly reports; a malformed row is refused whole, naming the row and field."""
    from hashlens.miners.dataset import read_dataset
    from hashlens.miners.storeio import import_dataset

    ds = read_dataset(file)
    with ready_store(as_json, miners=True, write=True) as store:
        result = import_dataset(store, ds, file.name)

    def render(d: dict[str, Any]) -> None:
        console.print(
            f"imported {d['reports']} reports, {d['treasuries']} treasuries, {d['facts']} facts from {d['source']}"
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
def miners_treasury(as_json: JsonOpt = False) -> None:
    """Latest known BTC treasury of each company, largest first."""
    from hashlens.miners.analysis import treasuries

    with _ready(as_json) as store:
        rows = treasuries(store)
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
