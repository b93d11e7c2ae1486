"""The faces as commands: the weekly report and the week's figures."""

# Annotations stay objects (no `from __future__ import annotations`): Typer reads every
# command's annotations to build the command tree, and strings would be compiled one by one.

from pathlib import Path
from typing import Annotated, Any

import typer

from hashlens.cli.app import JsonOpt, app, console, emit, kv_table
from hashlens.cli.stores import ready_store
from hashlens.errors import HashlensError


def week(as_of: str | None, price: float | None, paths: int, seed: int, quiet: bool) -> Any:
    """The store's WeeklyFigures for the options the report and `weekly` share."""
    from hashlens.weekly import WeeklyFigures
    from hashlens.weekly.models import WeeklyRequest

    req = WeeklyRequest.build(as_of=as_of, btc_price_usd=price, paths=paths, seed=seed)
    with ready_store(quiet, miners=True) as store:
        return WeeklyFigures.compute(store, req.as_of, req.btc_price_usd, req.paths, req.seed)


def check_out_dir(out: Path) -> None:
    """``--out`` names a folder, or a place where one can be made: not a file, nor inside one
    (checked before the figures are computed)."""
    for p in (out, *out.parents):
        if p.exists():
            if not p.is_dir():
                what = "is a file" if p == out else f"is inside {p}, a file"
                raise HashlensError(
                    f"--out {out} {what}; give a folder for report.md, report.html and charts/ (made if missing)"
                )
            return


@app.command()
def report(
    out: Annotated[Path, typer.Option(help="Folder for report.md, report.html and charts/.")] = Path("report"),
    as_of: Annotated[
        str | None, typer.Option(help="UTC day the report is as of (default: the latest day with data).")
    ] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD] for today's figures.")] = None,
    paths: Annotated[int, typer.Option(help="Simulated paths for the outlook.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the outlook simulation.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """The weekly mining report (Markdown and HTML with charts), every figure footnoted."""
    from hashlens.report.build import write_report

    check_out_dir(out)
    figures = week(as_of, price, paths, seed, as_json)
    try:
        r = write_report(figures, out)
    except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        raise HashlensError(f"--out {out}: cannot write {exc.filename}: {exc.strerror}; give a folder") from None
    data: dict[str, Any] = {
        "markdown": str(r.markdown_path),
        "html": str(r.html_path),
        "charts": [str(c) for c in r.charts],
        "as_of": r.figures.as_of.isoformat(),
    }
    emit(data, as_json, lambda d: console.print(kv_table("Weekly report written", d)))


@app.command()
def weekly(
    as_of: Annotated[
        str | None, typer.Option(help="UTC day the figures are as of (default: the latest day with data).")
    ] = None,
    price: Annotated[float | None, typer.Option(help="BTC price [USD] for the day's figures.")] = None,
    paths: Annotated[int, typer.Option(help="Simulated paths for the outlook.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the outlook simulation.")] = 1,
    as_json: JsonOpt = False,
) -> None:
    """The week's figures (what the report words and the dashboard draws), as of one day."""
    data = week(as_of, price, paths, seed, as_json).to_json()

    def render(d: dict[str, Any]) -> None:
        a = d["difficulty"]["latest"]
        hr, hp, hv = d["hashrate"], d["hashprice"]["today"], d["halving"]
        rows = {
            "as of": f"{d['as_of']} (24:00 UTC)",
            "difficulty": f"{a['difficulty'] / 1e12:,.2f} T ({a['change_pct']:+.2f} % at height {a['height']:,})",
            "hashrate": f"{hr['hashrate_ehs']:,.0f} EH/s ({hr['low_ehs']:,.0f}–{hr['high_ehs']:,.0f})" if hr else "n/a",
            "hashprice": f"${hp['usd_per_ph_day']:,.2f}/PH/day" if hp["usd_per_ph_day"] is not None else "n/a",
            "halving": f"{hv['blocks_left']:,} blocks, ~{hv['estimated_date']}",
        }
        console.print(kv_table("Weekly figures", rows))
        for n in d["notes"]:
            console.print(f"[yellow]note:[/yellow] {n}")

    emit(data, as_json, render)
