"""The weekly report: words and charts over :class:`hashlens.weekly.WeeklyFigures`.

Each section is one function from its part of the figures to Markdown lines (and a chart);
none computes a figure. Every number carries a footnote naming its data and method.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from hashlens.report import charts
from hashlens.store import Store
from hashlens.weekly import WeeklyFigures


@dataclass
class Notes:
    items: list[str] = field(default_factory=list)

    def cite(self, text: str) -> str:
        self.items.append(text)
        return f"[^{len(self.items)}]"

    def markdown(self) -> str:
        return "\n".join(f"[^{i}]: {t}" for i, t in enumerate(self.items, start=1))


@dataclass
class Report:
    markdown_path: Path
    html_path: Path
    charts: list[Path]
    figures: WeeklyFigures

    @cached_property
    def data(self) -> dict[str, Any]:
        """The figures as plain data (:meth:`WeeklyFigures.as_dict`), made when first asked for:
        writing the report does not need them."""
        return self.figures.as_dict()


@dataclass
class Page:
    """What the section functions write into: Markdown lines, footnotes and chart files."""

    chart_dir: Path
    notes: Notes = field(default_factory=Notes)
    md: list[str] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)

    def chart(self, path: Path, alt: str) -> None:
        self.charts.append(path)
        self.md += ["", f"![{alt}](charts/{path.name})", ""]


def _fmt(x: float | None, digits: int = 2, unit: str = "") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:,.{digits}f}{unit}"


def _src(source: str | None) -> str:
    return "" if source in (None, "stored") else f" ({source})"


def build_report(
    store: Store,
    out_dir: Path,
    as_of: date | None = None,
    price: float | None = None,
    paths: int = 20_000,
    seed: int = 1,
) -> Report:
    """Compute the week's figures and write report.md, report.html and charts/."""
    fig = WeeklyFigures.compute(store, as_of, price, paths, seed)
    return write_report(fig, out_dir)


def write_report(fig: WeeklyFigures, out_dir: Path) -> Report:
    out_dir.mkdir(parents=True, exist_ok=True)
    page = Page(out_dir / "charts")
    page.chart_dir.mkdir(exist_ok=True)
    header(fig, page)
    sections: list[Callable[[WeeklyFigures, Page], None]] = [
        difficulty_section,
        hashrate_section,
        running_period_section,
        hashprice_section,
        cost_section,
        machines_section,
        miners_section,
        pools_section,
        halving_section,
        outlook_section,
    ]
    for section in sections:
        section(fig, page)
    page.md += ["---", "", page.notes.markdown(), ""]
    text = "\n".join(page.md)
    md_path = out_dir / "report.md"
    md_path.write_text(text)
    html_path = out_dir / "report.html"
    html_path.write_text(to_html(text, out_dir, f"hashlens weekly mining report — {fig.as_of}"))
    return Report(md_path, html_path, page.charts, fig)


# -- sections ---------------------------------------------------------------------------------
def header(fig: WeeklyFigures, page: Page) -> None:
    blocks = (
        f"per-block data to {fig.per_block_until[:16].replace('T', ' ')} UTC"
        if fig.per_block_until
        else "no per-block data (period starts only)"
    )
    page.md += [
        "# hashlens weekly mining report",
        "",
        f"*As of {fig.as_of} (24:00 UTC). Generated {fig.generated} from the store `{Path(fig.store).name}`; "
        f"{blocks}.*",
        "",
    ]
    page.md += [f"*{n}*" for n in fig.notes]
    if fig.notes:
        page.md.append("")


def difficulty_section(fig: WeeklyFigures, page: Page) -> None:
    d = fig.difficulty
    assert d is not None
    a = d.latest

    def ranked(r: int, total: int, what: str) -> str:
        return f"the largest {what} of {total}" if r == 1 else f"the {_ordinal(r)} largest {what} of {total}"

    if a.rank_among_drops:
        rank = ranked(a.rank_among_drops, d.drops_total, "drop")
    elif a.rank_among_rises:
        rank = ranked(a.rank_among_rises, d.rises_total, "rise")
    else:
        rank = "no change"
    n = abs(a.streak)
    streak = f"{n} {'drop' if a.streak < 0 else 'rise'}{'s' if n != 1 else ''} in a row" if n else "no streak"
    if a.change_pct > 0:
        low = "not a new low"
    elif a.lowest_since_height is not None:
        low = f"the lowest since the period from height {a.lowest_since_height:,} ({(a.lowest_since_time or '?')[:10]})"
    else:
        low = "the lowest on record"
    src_bits = page.notes.cite(
        f"Compact bits of each period from {a.source}; difficulty as Bitcoin Core's GetDifficulty computes it; "
        "change = old target / new target − 1 (hashlens.chain.adjustments)."
    )
    src_rank = page.notes.cite(
        f"Ranked among all {d.adjustments_total} adjustments since 2009 up to {fig.as_of}; streak = consecutive "
        "adjustments of the same sign; 'lowest since' = the last earlier period with difficulty at or below this one."
    )
    src_time = page.notes.cite(
        "Period start times: stored block times, else implied by the retarget (the timespan two consecutive "
        "periods' bits encode, plus one block interval), else estimated at 600 s per block (hashlens.chain.clock)."
    )
    when = f"{(a.time or 'unknown')[:16].replace('T', ' ')} UTC{_src(a.time_source)}"
    page.md += [
        "## Difficulty",
        "",
        f"The latest adjustment, at height {a.height:,} on {when}{src_time}, moved difficulty "
        f"**{a.change_pct:+.2f} %** to **{_difficulty_text(a.difficulty)}**{src_bits}: {rank}, {streak}, {low}{src_rank}.",
    ]
    if a.largest_drop_since_height and a.change_pct < 0:
        page.md.append(f"It is the largest drop since the adjustment at height {a.largest_drop_since_height:,}.")
    page.chart(
        charts.adjustments_chart(
            page.chart_dir / "adjustments.png",
            [str(r["height"]) for r in d.recent],
            [r["change_pct"] for r in d.recent],
            "Last 26 difficulty adjustments",
        ),
        "Last 26 difficulty adjustments",
    )


def hashrate_section(fig: WeeklyFigures, page: Page) -> None:
    page.md += ["## Hashrate", ""]
    h = fig.hashrate
    if h is None:
        page.md += [f"n/a — {fig.missing.get('hashrate', 'no data')}", ""]
        return
    src = page.notes.cite(
        f"{h.method} (Bitcoin Core's getnetworkhashps: chain work over time; hashlens.chain.hashrate)."
    )
    page.md.append(
        f"At the end of {fig.as_of} the network ran at **{_hashrate_text(h.hashrate_ehs)}** "
        f"(95 %: {_hashrate_text(h.low_ehs)} – {_hashrate_text(h.high_ehs)}){src}."
    )
    assert fig.difficulty is not None
    pts = [
        (date.fromisoformat(r["time"][:10]), r["implied_hashrate_ehs"])
        for r in fig.difficulty.recent
        if r["time"] and r["implied_hashrate_ehs"]
    ]
    if len(pts) > 1:
        page.chart(
            charts.line_chart(
                page.chart_dir / "hashrate.png",
                "Hashrate each period implied (work / mean interval)",
                "EH/s",
                [("implied", [x for x, _ in pts], [y for _, y in pts])],
            ),
            "Network hashrate by period",
        )


def running_period_section(fig: WeeklyFigures, page: Page) -> None:
    rp = fig.running_period
    assert rp is not None
    page.md += ["## Next adjustment", ""]
    start = f"{(rp.start_time or 'unknown')[:16].replace('T', ' ')} UTC{_src(rp.start_time_source)}"
    if rp.hashlens is None or rp.mempool is None:
        page.md += [
            f"The period in force began at height {rp.start_height:,} ({start}); the next adjustment comes at "
            f"height {rp.next_retarget_height:,}. No estimate: {rp.note}.",
            "",
        ]
        return
    m, o = rp.mempool, rp.hashlens
    src = page.notes.cite(
        "mempool.space's difficulty-adjustment method (its calcDifficultyAdjustment, reproduced exactly); hashlens' "
        "estimate draws the remaining blocks as a Poisson process at a Gamma-uncertain rate and applies the exact "
        "retarget rule (hashlens.chain.estimate)."
    )
    page.md += [
        f"The running period began at height {rp.start_height:,} ({start}); {rp.blocks_in_period:,} of 2,016 blocks "
        f"are in. mempool.space's method expects **{m['change_pct']:+.2f} %** around "
        f"{m['estimated_retarget_time'][:16].replace('T', ' ')} UTC; hashlens expects **{o['change_pct']:+.2f} %** "
        f"(90 %: {o['change_low_pct']:+.2f} to {o['change_high_pct']:+.2f}; P(drop) = {o['p_drop']:.0%}){src}.",
        "",
    ]


def hashprice_section(fig: WeeklyFigures, page: Page) -> None:
    hp = fig.hashprice
    assert hp is not None
    t = hp.today
    src = page.notes.cite(
        "Hashprice (Luxor's definition) = (subsidy + fees) · 86,400 · 10^15 / (difficulty · 2^32) BTC per PH/s per "
        f"day, taken at {hp.price_instant}; fees: {t.fee_source}; price: {t.price_source} "
        "(hashlens.economics.hashprice)."
    )
    usd = (
        f"**${t.usd_per_ph_day:,.2f}/PH/day** at ${t.price_usd:,.0f}"
        if t.usd_per_ph_day is not None and t.price_usd is not None
        else "no USD figure (no price stored at the day's end; pass --price)"
    )
    page.md += [
        "## Hashprice",
        "",
        f"On {fig.as_of} one PH/s earned {usd} — **{t.btc_per_ph_day:.6f} BTC** ({t.sats_per_th_day:,.1f} "
        f"sats/TH/day){src}.",
    ]
    atl = hp.all_time_low
    if atl and t.usd_per_ph_day is not None:
        src_atl = page.notes.cite(
            f"Every stored day up to {fig.as_of}; days without per-block fees use the subsidy only, which understates "
            "hashprice by the fee share."
        )
        if atl["date"] == fig.as_of.isoformat():
            verdict = "today's value is a new all-time low."
        elif hp.lowest_since:
            verdict = f"today's value is the lowest since {hp.lowest_since}."
        else:
            verdict = "today's value is above it."
        basis = "" if atl.get("fees_included", True) else " (subsidy only: no per-block fees stored for that day)"
        page.md.append(f"The all-time low is ${atl['usd_per_ph_day']:,.2f} on {atl['date']}{basis}{src_atl}; {verdict}")
    page.md.append(
        f"After the next halving, all else equal, it would be {_fmt(t.after_halving_usd_per_ph_day, 2)} USD/PH/day "
        f"({t.after_halving_btc_per_ph_day:.6f} BTC)."
    )
    pts = [(date.fromisoformat(r["date"]), r["usd_per_ph_day"]) for r in hp.series if r["usd_per_ph_day"]]
    if pts:
        marks = [(date.fromisoformat(atl["date"]), atl["usd_per_ph_day"], "all-time low")] if atl else []
        page.chart(
            charts.line_chart(
                page.chart_dir / "hashprice.png",
                "Hashprice",
                "USD per PH/s per day",
                [("hashprice", [x for x, _ in pts], [y for _, y in pts])],
                log=True,
                marks=marks,
            ),
            "Hashprice",
        )


def cost_section(fig: WeeklyFigures, page: Page) -> None:
    c = fig.cost
    assert c is not None and fig.hashprice is not None
    today = c.rows[0]
    src = page.notes.cite(
        "Electricity cost per BTC = $/kWh · J/TH · difficulty · 2^32 / (3.6·10^18 · (subsidy + fees)); Hayes (2017) "
        "is the same marginal cost with the subsidy alone (hashlens.economics.cost)."
    )
    costs = ", ".join(
        f"**${x['electricity_usd_per_btc']:,.0f}** at {x['efficiency_j_per_th']:g} J/TH" for x in today["costs"]
    )
    mid = today["costs"][len(today["costs"]) // 2]
    price = fig.hashprice.today.price_usd
    page.md += [
        "## Cost to mine one bitcoin",
        "",
        f"At ${c.power_price_usd_per_kwh}/kWh, the electricity to mine one BTC costs {costs}{src} (Hayes' model at "
        f"{mid['efficiency_j_per_th']:g} J/TH: ${mid['hayes_usd_per_btc']:,.0f})"
        + (f", against a price of ${price:,.0f}." if price else "."),
    ]
    if c.monthly:
        xs = [date.fromisoformat(r["date"]) for r in c.monthly]
        effs = [x["efficiency_j_per_th"] for x in c.monthly[0]["costs"]]
        lines = [("BTC price", xs, [r["btc_price_usd"] or float("nan") for r in c.monthly])]
        lines += [
            (f"{e:g} J/TH", xs, [r["costs"][i]["electricity_usd_per_btc"] for r in c.monthly])
            for i, e in enumerate(effs)
        ]
        page.chart(
            charts.line_chart(
                page.chart_dir / "cost.png",
                f"Electricity cost per BTC at ${c.power_price_usd_per_kwh}/kWh vs price",
                "USD",
                lines,
                log=True,
            ),
            "Cost of production",
        )


def machines_section(fig: WeeklyFigures, page: Page) -> None:
    page.md += ["## Which machines still pay", ""]
    m = fig.machines
    if m is None:
        page.md += [f"n/a — {fig.missing.get('machines', 'no data')}", ""]
        return
    src = page.notes.cite(
        f"Per machine: revenue = TH/s / 1000 · hashprice · (1 − {m.pool_fee:.0%} pool fee); cost = W · 24 h · "
        f"${m.power_price_usd_per_kwh}/kWh; breakeven hashprice = full daily cost / (TH/s / 1000 · (1 − fee)); "
        "switch-off price = the BTC price where revenue equals the power cost (hashlens.economics.fleet). Makers' "
        "rated specifications (bundled catalogue), models released in the six years before the day."
    )
    page.md += [
        f"At the day's hashprice and ${m.power_price_usd_per_kwh}/kWh, {m.paying} of {len(m.models)} models from the "
        f"last six years cover their costs{src}.",
        "",
        "| model | J/TH | margin | breakeven $/PH/day | switch-off BTC price |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in m.models:
        page.md.append(
            f"| {r['model']} | {r['efficiency_j_per_th']:.1f} | {100 * r['margin']:+.0f} % | "
            f"{r['breakeven_hashprice_usd_per_ph_day']:,.2f} | {r['shutdown_btc_price_usd']:,.0f} |"
        )
    if m.models:
        page.chart(
            charts.bar_chart(
                page.chart_dir / "fleet.png",
                f"Margin at the day's hashprice, ${m.power_price_usd_per_kwh}/kWh",
                [r["model"] for r in m.models],
                [100 * r["margin"] for r in m.models],
                "% of revenue",
                ["tab:red" if r["margin"] < 0 else "tab:green" for r in m.models],
            ),
            "Fleet margins",
        )
    npow = fig.network_power
    if npow is not None:
        src_c = page.notes.cite(
            f"Cambridge (CBECI) method at ${m.power_price_usd_per_kwh}/kWh: profitable hardware under five years old, "
            "bounds with PUE 1.01/1.20, best guess the plain mean efficiency with PUE 1.10 (hashlens.economics.cbeci)."
        )
        page.md += [
            f"Network power by the Cambridge method: **{npow.power_gw_guess:.1f} GW** ({npow.power_gw_lower:.1f}–"
            f"{npow.power_gw_upper:.1f}), {npow.energy_twh_per_year_guess:.0f} TWh a year{src_c}.",
            "",
        ]


def miners_section(fig: WeeklyFigures, page: Page) -> None:
    m = fig.miners
    if m is None:
        page.md += ["## Listed miners", "", f"n/a — {fig.missing.get('miners', 'no data')}", ""]
        return
    rows = m.rows
    src = page.notes.cite(
        f"Companies' monthly production updates ({rows[0]['source']} and peers). Expected BTC = hashrate · Σ seconds in "
        "each period / (difficulty · 2^32) · mean block reward of the month "
        f"({rows[0]['chain']['reward_source']}) (hashlens.miners.expected)."
    )
    page.md += [
        f"## Listed miners, {date.fromisoformat(m.month + '-01'):%B %Y}",
        "",
        f"Production in descending order, with what each company's reported hashrate should have mined{src}:",
        "",
        "| # | company | BTC mined | hashrate EH/s | expected BTC | reported/expected | notes |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        page.md.append(
            f"| {r.get('rank_by_production', '')} | {r['company']} ({r['ticker']}) | {_fmt(r['reported_btc'], 1)} | "
            f"{_fmt(r['hashrate_ehs'], 1)} ({r['hashrate_basis']}) | {_fmt(r['expected_btc'], 0)} | "
            f"{_fmt(r['ratio'], 2)} | {'; '.join(r['flags'])} |"
        )
    src_t = page.notes.cite(f"Latest treasury each company published on or before {fig.as_of}.")
    page.md += [
        "",
        f"Largest bitcoin treasuries held by listed miners{src_t}:",
        "",
        "| # | company | BTC | as of |",
        "|---:|---|---:|---|",
    ]
    page.md += [
        f"| {t['rank']} | {t['company']} ({t['ticker']}) | {t['treasury_btc']:,.0f} | {t['as_of']} |"
        for t in m.treasuries
    ]
    page.md.append("")


def pools_section(fig: WeeklyFigures, page: Page) -> None:
    """Who mined the week: each pool's share with its interval where the store's attribution
    covers the week, else one sentence saying what it covers."""
    page.md += ["## Who mined", ""]
    w = fig.pools
    if w is None:
        page.md += [f"n/a — {fig.missing.get('pools', 'no data')}", ""]
        return
    if not w["covered"]:
        page.md += [f"No pool attribution covers {w['start_day']} … {w['end_day']}. {w['sentence']}", ""]
        return
    sh, co = w["shares"], w["concentration"]
    src = page.notes.cite(
        f"Source {w['source']} ({sh['coverage']['blocks']:,} blocks, {sh['coverage']['unknown_blocks']:,} unidentified); "
        f"{sh['method']}; concentration: {co['method']}."
    )
    first, hhi, nak = sh["pools"][0], co["hhi"], co["nakamoto"]
    page.md += [
        f"From {w['start_day']} to {w['end_day']}, {first['pool']} found the most blocks, {first['blocks']:,} of "
        f"{sh['coverage']['blocks']:,} ({100 * first['share']:.1f} %, 95 %: {100 * first['share_low']:.1f}–"
        f"{100 * first['share_high']:.1f} %); HHI "
        f"{hhi['value']:.3f} ({hhi['low']:.3f}–{hhi['high']:.3f}), Nakamoto coefficient {nak['value']:.0f}{src}.",
        "",
        "| pool | blocks | share | 95 % | hashrate EH/s |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in sh["pools"][:10]:
        rate = "n/a" if p["hashrate_ehs"] is None else f"{p['hashrate_ehs']:,.1f}"
        page.md.append(
            f"| {p['pool']} | {p['blocks']:,} | {100 * p['share']:.1f} % | "
            f"{100 * p['share_low']:.1f}–{100 * p['share_high']:.1f} % | {rate} |"
        )
    page.md.append("")


def halving_section(fig: WeeklyFigures, page: Page) -> None:
    h = fig.halving
    assert h is not None
    src = page.notes.cite(
        f"Subsidy halves every 210,000 blocks; date = tip time + blocks left × the mean block interval, "
        f"{h.block_interval_s:.1f} s ({h.interval_window}); the tip at height {h.tip_height:,} is "
        + ("the last stored block." if h.tip_height_exact else "interpolated in the period in force.")
    )
    page.md += [
        "## Halving countdown",
        "",
        f"{h.blocks_left:,} blocks to the halving at height {h.next_halving_height:,} (subsidy {h.current_subsidy_btc:g} → "
        f"{h.next_subsidy_btc:g} BTC), expected around **{h.estimated_date}**{src}.",
        "",
    ]


def outlook_section(fig: WeeklyFigures, page: Page) -> None:
    page.md += ["## Outlook: the next three adjustments", ""]
    o = fig.outlook
    if o is None:
        page.md += [f"n/a — {fig.missing.get('outlook', 'no data')}", ""]
        return
    src = page.notes.cite(o.method + " (hashlens.sim.forecast).")
    page.md += ["| adjustment | median | 90 % range | P(drop) |", "|---|---:|---:|---:|"]
    for r in o.rows:
        where = f" (height {r.height:,})" if r.height else ""
        page.md.append(
            f"| {r.label}{where} | {r.change_pct_p50:+.2f} % | {r.change_pct_p05:+.2f} to {r.change_pct_p95:+.2f} % | "
            f"{r.p_drop:.0%} |"
        )
    tr = getattr(o, "track_record", None)
    if tr and tr.get("forecasts"):
        page.md += [
            "",
            f"Of the last {tr['forecasts']} forecasts of the next adjustment from a period start, the 90 % range "
            f"held {tr['held_90']} (walk-forward backtest, hashlens.sim.backtest).",
        ]
    page.md += ["", f"Sources and methods{src}.", ""]


def _difficulty_text(d: float) -> str:
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6)):
        if d >= scale:
            return f"{d / scale:,.2f} {unit}"
    return f"{d:,.2f}"


def _hashrate_text(ehs: float) -> str:
    hs = ehs * 1e18
    for unit, scale in (("EH/s", 1e18), ("PH/s", 1e15), ("TH/s", 1e12), ("GH/s", 1e9), ("MH/s", 1e6)):
        if hs >= scale:
            return f"{hs / scale:,.1f} {unit}"
    return f"{hs:,.0f} H/s"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


CSS = """
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; max-width: 980px; margin: 2em auto;
       padding: 0 1em; color: #1d232a; line-height: 1.5; }
h1 { border-bottom: 3px solid #f7931a; padding-bottom: .3em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .9em; margin: .8em 0; }
th, td { border: 1px solid #ddd; padding: .3em .6em; }
th { background: #f6f6f6; }
img { max-width: 100%; }
.footnote { font-size: .85em; color: #444; }
"""


def to_html(text: str, base: Path, title: str) -> str:
    """Markdown to a standalone HTML page: charts embedded, footnotes kept."""
    import markdown

    body = markdown.markdown(text, extensions=["tables", "footnotes"])

    def embed(m: re.Match[str]) -> str:
        p = base / m.group(1)
        data = base64.b64encode(p.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    body = re.sub(r'src="(charts/[^"]+\.png)"', embed, body)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{CSS}</style></head><body>{body}</body></html>"
    )
