"""A person's view: the dashboard, the fleet page and the weekly report in a real headless
Chromium (Debian's package, installed by .ci/run), driven by Playwright.

Screenshots at 1400 px and 390 px are kept in ``test-artefacts/`` under the repository root.
``HASHLENS_TEST_SERVER=http://127.0.0.1:PORT`` runs the page tests against a server already
running over a store built as ``full_db`` is (default: ``hashlens serve`` on a loopback port).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Download, Page, Route, sync_playwright

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # the whole module runs in the slow tier (sh scripts/test -m slow)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Browser:  # type: ignore[misc]
    assert Path(CHROMIUM).exists(), "Chromium is required (Debian package 'chromium'; .ci/run installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(request: pytest.FixtureRequest) -> str:
    """The server the page tests drive."""
    given = os.environ.get("HASHLENS_TEST_SERVER")
    return given.rstrip("/") if given else str(request.getfixturevalue("live_server"))


ARTEFACTS = ROOT / "test-artefacts"


def artefact(name: str, png: bytes) -> Path:
    """Keep a screenshot as a test artefact (test-artefacts/NAME under the repository root)."""
    ARTEFACTS.mkdir(exist_ok=True)
    (ARTEFACTS / name).write_bytes(png)
    return ARTEFACTS / name


def wait_until(page: Page, predicate: str, arg: Any = None, timeout: float = 30_000) -> None:
    """Wait until the JavaScript function PREDICATE is true in PAGE.

    It must be a function (``() => ...`` or ``x => ...``). Playwright polls a bare expression by
    string evaluation, which the page's Content-Security-Policy (script-src 'self') forbids, so a
    bare expression only passes when its first check happens to be true already.
    """
    assert re.match(r"\s*(\(?[\w\s,]*\)?\s*=>|function\b)", predicate), f"not a function: {predicate[:60]}"
    page.wait_for_function(predicate, arg=arg, timeout=timeout)


def non_blank(png: bytes) -> float:
    """Share of pixels that are not the page background, from a screenshot."""
    import io

    from matplotlib import image

    img = image.imread(io.BytesIO(png), format="png")
    rgb = img[..., :3]
    return float(((rgb < 0.93).any(axis=-1)).mean())


def _get(url: str) -> Any:
    """The API's JSON at ``url`` (an object, or a list for the history endpoints)."""
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read())


# What the page shows for each figure, formatted as app.js formats it, from /v1/weekly's data.
SHOWN = {
    "#difficulty-value": lambda w: f"{w['difficulty']['latest']['difficulty'] / 1e12:,.2f} T",
    "#difficulty-pct": lambda w: f"{w['difficulty']['latest']['change_pct']:+,.2f} %",
    "#difficulty-height": lambda w: f"{w['difficulty']['latest']['height']:,}",
    "#next-height": lambda w: f"{w['running_period']['next_retarget_height']:,}",
    "#hashrate-value": lambda w: f"{w['hashrate']['hashrate_ehs']:,.0f} EH/s",
    "#hashprice-value": lambda w: f"${w['hashprice']['today']['usd_per_ph_day']:,.2f}/PH/day",
    "#halving-value": lambda w: f"{w['halving']['blocks_left']:,} blocks",
}
# The adjustment in force on the day (the period that began at that height), and the next one.
IN_FORCE = {"2026-01-31": (933_408, 935_424), "2026-02-10": (935_424, 937_440)}

# Every ISO day in the page's figures, leaving out the notes (they compare the data with today)
# and the forecasts (the estimated retarget and halving dates), which are after the day by nature.
DAYS_SHOWN = """() => { const m = document.querySelector('main').cloneNode(true);
    m.querySelectorAll('#notes, .forecast').forEach((e) => e.remove());
    return [...m.textContent.matchAll(/\\b(\\d{4}-\\d{2}-\\d{2})\\b/g)].map((x) => x[1]); }"""


def test_dashboard_draws_one_weekly_response_per_day(browser: Browser, site: str, tmp_path: Path) -> None:
    """The page draws /v1/weekly for the one day its picker holds: every figure read back from
    the DOM equals the API's for that day, every chart holds the points dated up to that day,
    and no figure is dated after it."""
    page = browser.new_page(viewport={"width": 1100, "height": 1600})
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(site + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    days = _get(site + "/v1/weekly/days")
    history = _get(site + "/v1/difficulty/history")
    picker = page.locator("#asof-date")
    assert picker.get_attribute("max") == days["latest"] and picker.get_attribute("min") == days["first"]
    assert picker.input_value() == days["latest"] == page.evaluate("document.body.dataset.asof")
    for day, (height, next_height) in IN_FORCE.items():
        picker.fill(day)
        page.wait_for_selector(f"body[data-ready='1'][data-asof='{day}']", timeout=90_000)
        w = _get(f"{site}/v1/weekly?as_of={day}")
        assert w["as_of"] == day
        # one as-of date for the whole page
        assert page.inner_text("#asof") == f"As of {day} (24:00 UTC)"
        assert page.inner_text("body").count("As of ") == 1
        assert page.locator("#notes li").all_inner_texts() == w["notes"]
        for sel, shown in SHOWN.items():
            assert page.inner_text(sel) == shown(w), (day, sel)
        assert page.inner_text("#difficulty-height") == f"{height:,}"
        assert page.inner_text("#next-height") == f"{next_height:,}"
        latest = w["difficulty"]["latest"]
        assert f"({latest['time_source']})" in page.inner_text("#difficulty-time")
        rp = w["running_period"]
        assert f"({rp['start_time_source']})" in page.inner_text("#next-detail")
        assert page.inner_text("#hashrate-ci").startswith(
            f"95 %: {w['hashrate']['low_ehs']:,.0f}–{w['hashrate']['high_ehs']:,.0f} EH/s"
        )
        e = rp["estimate"]  # the outlook's first row: on 2026-02-10 from the period's start only
        if e is None:
            assert page.inner_text("#next-value") == "n/a"
            assert "n/a — " in page.inner_text("#next-detail")
        else:
            assert e["change_pct"] == w["outlook"]["adjustments"][0]["change_pct"]
            assert page.inner_text("#next-value") == f"{e['change_pct']['p50']:+,.2f} %"
        # no figure from another date
        shown_days = page.evaluate(DAYS_SHOWN)
        assert shown_days and max(shown_days) <= day, (day, sorted(set(shown_days))[-5:])
        # the tables, each from the same response
        assert page.locator("#fleet-table tbody tr").count() == len(w["machines"]["models"])
        assert page.locator("#cost-table tbody tr").count() == len(w["cost"]["rows"][0]["costs"])
        if w["miners"] is None:
            assert page.inner_text("#miners-table tbody").startswith("n/a — " + w["missing"]["miners"][:40])
        else:
            assert page.locator("#miners-table tbody tr").count() == len(w["miners"]["rows"])
            assert page.inner_text("#miners-month") == w["miners"]["month"]
            assert all(t["as_of"] <= day for t in w["miners"]["treasuries"])
        if w["outlook"] is None:
            assert page.inner_text("#outlook-table tbody").startswith("n/a — ")
        else:
            assert page.locator("#outlook-table tbody tr").count() == len(w["outlook"]["adjustments"])
        # the charts: every adjustment up to the one in force on the day (the day's own 26 among
        # them), the hashprice of every day with a price, the next adjustments' quantiles
        heights = {a["height"] for a in history if a["height"] <= latest["height"] and a["time"]}
        heights |= {a["height"] for a in w["difficulty"]["recent"] if a["time"]}
        assert max(heights) == height
        n_outlook = len(w["outlook"]["adjustments"])
        for cid, n, marks in (
            ("chart-adjustments", len(heights), {"bars": len(heights)}),
            ("chart-hashprice", sum(r["usd_per_ph_day"] is not None for r in w["hashprice"]["series"]), {"lines": 1}),
            ("chart-outlook", n_outlook, {"boxes": n_outlook}),
        ):
            drawn = page.evaluate(PLOTTED, cid)
            assert drawn["points"] == n and drawn["svg"], (day, cid, drawn)
            assert {k: drawn[k] for k in marks} == marks, (day, cid, drawn)
        plotted_x = page.evaluate("id => document.getElementById(id).data.flatMap(t => t.x || [])", "chart-hashrate")
        assert plotted_x and max(x[:10] for x in plotted_x) <= day
        shot = page.screenshot(full_page=True)
        (tmp_path / f"dashboard-{day}.png").write_bytes(shot)
        assert non_blank(shot) > 0.05
    # one /v1/weekly response per day drawn; besides it only the charts' histories, the picker's
    # bounds and the live-update poll
    paths = [u.removeprefix(site).split("?")[0] for u in requests if u.startswith(site + "/v1/")]
    assert paths.count("/v1/weekly") == 1 + len(IN_FORCE), paths
    assert set(paths) <= {
        "/v1/weekly",
        "/v1/weekly/days",
        "/v1/difficulty/history",
        "/v1/hashrate/series",
        "/v1/health",
        # the pools panel: the store's pool sources, one source's window and its dominance series
        "/v1/pools/sources",
        "/v1/pools",
        "/v1/pools/dominance",
    }
    assert not [u for u in requests if not u.startswith(site)], "a request left the server"
    assert not errors, errors
    page.close()


# What plotly drew in a chart: its points (the page's count), whether an SVG exists, its bars,
# lines and boxes.
PLOTTED = """id => { const d = document.getElementById(id), q = (s) => d.querySelectorAll('.cartesianlayer ' + s).length;
    return { points: Number(d.dataset.points), svg: !!d.querySelector('svg.main-svg'),
             bars: q('.trace.bars .point path'), lines: q('path.js-line'), boxes: q('path.box') }; }"""


# A strict Content-Security-Policy on the pages (the server's own header may come later): no
# inline script or style; every violation is recorded.
CSP = "default-src 'self'"
RECORD_CSP = """document.addEventListener('securitypolicyviolation', (e) =>
    (window.__csp = window.__csp || []).push(e.violatedDirective + ' ' + (e.sourceFile || '') + ' ' + (e.sample || '')));"""


def _with_csp(page: Page, site: str) -> None:
    def add_header(route: Route) -> None:
        resp = route.fetch()
        route.fulfill(response=resp, headers={**resp.headers, "content-security-policy": CSP})

    page.route(site + "/", add_header)
    page.route(site + "/?*", add_header)
    page.route(site + "/fleet*", add_header)
    page.add_init_script(RECORD_CSP)


def _csv_rows(download: Download) -> list[list[str]]:
    with open(download.path(), newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_dashboard_charts_zoom_and_download_as_csv(browser: Browser, site: str) -> None:
    """A reader's session at 1400 px under a strict CSP: drag-zoom a chart, pick a range preset,
    switch log to linear, and download charts and tables as CSV whose rows equal the API's."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _with_csp(page, site)
    day = "2026-01-31"
    page.goto(f"{site}/?as_of={day}")
    page.wait_for_selector(f"body[data-ready='1'][data-asof='{day}']", timeout=90_000)
    w = _get(f"{site}/v1/weekly?as_of={day}")

    # zoom: drag across the middle third of the hashprice chart's plot area
    xrange = "id => document.getElementById(id).layout.xaxis.range.map(x => Date.parse(String(x).slice(0, 10)))"
    before = page.evaluate(xrange, "chart-hashprice")
    page.locator("#chart-hashprice").scroll_into_view_if_needed()
    box = page.locator("#chart-hashprice .nsewdrag").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, y, steps=8)
    page.mouse.move(box["x"] + 2 * box["width"] / 3, y, steps=8)
    page.mouse.up()
    api_first = next(r["date"] for r in w["hashprice"]["series"] if r["usd_per_ph_day"] is not None)
    wait_until(
        page, f"id => String(document.getElementById(id).layout.xaxis.range[0]) > '{api_first}'", arg="chart-hashprice"
    )
    after = page.evaluate(xrange, "chart-hashprice")
    assert before[0] < after[0] < after[1] < before[1], (before, after)
    assert (after[1] - after[0]) < 0.5 * (before[1] - before[0])
    # range presets: All restores the whole series, then 1Y is the year back to the day
    page.locator("#chart-hashprice .rangeselector .button", has_text="All").click()
    wait_until(
        page,
        f"id => String(document.getElementById(id).layout.xaxis.range[0]).startsWith('{api_first}')",
        arg="chart-hashprice",
    )
    assert page.evaluate(xrange, "chart-hashprice") == before
    page.locator("#chart-hashprice .rangeselector .button", has_text="1Y").click()
    span_days = "id => { const r = document.getElementById(id).layout.xaxis.range.map(x => Date.parse(String(x).slice(0, 10))); return (r[1] - r[0]) / 864e5; }"
    wait_until(page, f"id => ({span_days})(id) < 400", arg="chart-hashprice")
    assert 364 <= page.evaluate(span_days, "chart-hashprice") <= 366
    end = page.evaluate(
        "id => String(document.getElementById(id).layout.xaxis.range[1]).slice(0, 10)", "chart-hashprice"
    )
    assert end == day, end
    # log -> linear
    assert page.evaluate("id => document.getElementById(id).layout.yaxis.type", "chart-hashprice") == "log"
    page.locator("#chart-hashprice .updatemenu-button", has_text="linear").click()
    wait_until(page, "id => document.getElementById(id).layout.yaxis.type === 'linear'", arg="chart-hashprice")
    # ... and the y axis fits the year shown, not the whole history's $10M/PH/day
    year = [
        r["usd_per_ph_day"]
        for r in w["hashprice"]["series"]
        if r["usd_per_ph_day"] is not None
        and date.fromisoformat(day) - timedelta(days=366) <= date.fromisoformat(r["date"])
    ]
    wait_until(
        page, f"id => document.getElementById(id).layout.yaxis.range[1] < {2 * max(year)}", arg="chart-hashprice"
    )
    lo, hi = page.evaluate("id => document.getElementById(id).layout.yaxis.range", "chart-hashprice")
    assert lo <= min(year) and max(year) <= hi < 1.2 * max(year), (lo, hi, min(year), max(year))
    # hover: the value with its unit
    page.locator("#chart-hashprice").hover(position={"x": box["width"] * 0.8, "y": box["height"] / 2})
    hover = page.locator("#chart-hashprice .hoverlayer")
    wait_until(page, "() => document.querySelector('#chart-hashprice .hoverlayer').textContent.includes('/PH/day')")
    assert "/PH/day" in (hover.text_content() or "")

    # CSV: the hashprice chart, day by day, as /v1/weekly gives it
    with page.expect_download() as dl:
        page.locator("button.csv[data-csv='hashprice']").click()
    assert dl.value.suggested_filename == f"hashlens-hashprice-{day}.csv"
    rows = _csv_rows(dl.value)
    assert rows[0] == ["date (UTC)", "hashprice [USD/PH/day]"]
    api = [r for r in w["hashprice"]["series"] if r["usd_per_ph_day"] is not None]
    assert len(rows) - 1 == len(api) > 1000
    assert all(r[0] == a["date"] and float(r[1]) == a["usd_per_ph_day"] for r, a in zip(rows[1:], api, strict=True))
    # the machines table, every model with its figures
    with page.expect_download() as dl:
        page.locator("button.csv[data-csv='machines']").click()
    rows = _csv_rows(dl.value)
    assert rows[0][:3] == ["model", "released", "efficiency [J/TH]"] and "switch-off BTC price [USD]" in rows[0]
    models = w["machines"]["models"]
    assert [r[0] for r in rows[1:]] == [m["model"] for m in models]
    col = rows[0].index("breakeven hashprice [USD/PH/day]")
    assert [float(r[col]) for r in rows[1:]] == [m["breakeven_hashprice_usd_per_ph_day"] for m in models]
    assert [r[-1] for r in rows[1:]] == ["true" if m["pays"] else "false" for m in models]
    # the adjustments chart: heights and changes up to the day
    with page.expect_download() as dl:
        page.locator("button.csv[data-csv='adjustments']").click()
    rows = _csv_rows(dl.value)
    assert rows[0] == ["height", "time (UTC)", "time source", "change [%]", "difficulty"]
    recent = {a["height"]: a for a in w["difficulty"]["recent"]}
    by_height = {int(r[0]): r for r in rows[1:]}
    assert max(by_height) == w["difficulty"]["latest"]["height"]
    assert all(float(by_height[h][3]) == a["change_pct"] and by_height[h][1] == a["time"] for h, a in recent.items())
    history = {a["height"]: a for a in _get(site + "/v1/difficulty/history")}
    assert all(float(r[3]) == history[int(r[0])]["change_pct"] for r in rows[1:])

    artefact("dashboard-1400.png", page.screenshot(full_page=True))
    assert page.evaluate("window.__csp || []") == []
    assert not errors, errors
    page.close()


def test_dashboard_on_a_phone(browser: Browser, site: str) -> None:
    """At 390 px every panel draws and nothing overflows the screen sideways."""
    page = browser.new_page(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(site + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    assert page.evaluate("document.body.dataset.missing") == ""
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for cid in ("chart-adjustments", "chart-hashrate", "chart-hashprice", "chart-outlook"):
        assert page.evaluate(PLOTTED, cid)["svg"], cid
        width = page.evaluate("id => document.getElementById(id).getBoundingClientRect().right", cid)
        assert width <= 390, (cid, width)
    shot = page.screenshot(full_page=True)
    artefact("dashboard-390.png", shot)
    assert non_blank(shot) > 0.05
    assert not errors, errors
    page.close()


# What the test types into the fleet page, and the body it expects the page to send.
FLEET_ROWS = [("S21 XP", 12, 5200), ("S19j Pro", 40, None)]
FLEET_FIELDS = {"#capex_usd_per_machine": "450", "#pool_fee_pct": "1.5", "#uptime_pct": "96", "#pue": "1.1",
                "#hosting_usd_per_kw_month": "3", "#hold_pct": "25", "#discount_rate_pct": "12", "#months": "18",
                "#paths": "3000", "#seed": "7", "#profit_fee_pct": "10"}  # fmt: skip
FLEET_BODY = {
    "machines": [
        {"model": "S21 XP", "count": 12, "machine_price_usd": 5200},
        {"model": "S19j Pro", "count": 40},
    ],
    "capex_usd_per_machine": 450,
    "power_price_usd_per_kwh": 0.05,
    "hosting_usd_per_kwh": 0,
    "hosting_usd_per_kw_month": 3,
    "pool_fee": 0.015,
    "uptime": 0.96,
    "pue": 1.1,
    "depreciation_months": 36,
    "salvage_share": 0,
    "hold_share": 0.25,
    "hold_basis": "net_profit",
    "profit_fee": 0.1,
    "discount_rate_annual": 0.12,
    "months": 18,
    "paths": 3000,
    "seed": 7,
    "price_drift_annual": 0,
}


def test_fleet_page_runs_the_outlook_as_the_api_does(browser: Browser, site: str) -> None:
    """A user enters two models and the terms, runs the outlook, and reads the payback
    probability and the switch-off comparison; both equal POST /v1/outlook's for the same body.
    The page's CSV of the comparison holds the API's numbers; at 390 px nothing overflows."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _with_csp(page, site)
    page.goto(site + "/fleet")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    for i, (model, count, price) in enumerate(FLEET_ROWS, start=1):
        if i > 1:
            page.click("#add-row")
        row = page.locator(f"#fleet-rows tbody tr:nth-child({i})")
        row.locator("input[name=model]").fill(model)
        row.locator("input[name=count]").fill(str(count))
        if price is not None:
            row.locator("input[name=machine_price_usd]").fill(str(price))
    for sel, value in FLEET_FIELDS.items():
        page.fill(sel, value)
    page.select_option("#hold_basis", "net_profit")  # Braiins' HODL ratio
    with page.expect_request(site + "/v1/outlook") as sent:
        page.click("#run")
    page.wait_for_selector("body[data-ready='1'][data-result]", timeout=120_000)
    assert page.evaluate("document.body.dataset.result") == "ok", page.inner_text("#form-error")
    body = sent.value.post_data_json
    assert body == FLEET_BODY  # percent fields sent as fractions, empty ones left to the server

    req = urllib.request.Request(
        site + "/v1/outlook", data=json.dumps(FLEET_BODY).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=300) as r:
        api = json.loads(r.read())
    run_always, switch_off = api["policies"]["run_always"], api["policies"]["switch_off"]
    assert page.inner_text("#payback-probability") == f"{100 * run_always['payback_probability'][-1]:,.1f} %"
    assert f"{100 * switch_off['payback_probability'][-1]:,.1f} % switching off" in page.inner_text("#payback-detail")
    assert page.locator("#machines-table tbody tr").count() == 2
    assert page.evaluate(PLOTTED, "chart-fan")["points"] == api["months"] == 18
    assert page.evaluate(PLOTTED, "chart-payback")["svg"]
    with page.expect_download() as dl:
        page.locator("button.csv[data-csv='comparison']").click()
    rows = _csv_rows(dl.value)
    assert rows[0] == ["figure", "unit", "run always", "switch off"]
    got = {r[0]: (float(r[2]), float(r[3])) for r in rows[1:] if r[2] and r[3]}
    assert got["NPV, median"] == (run_always["npv_usd"]["p50"], switch_off["npv_usd"]["p50"])
    fee = [p["monthly"]["profit_fee_usd"]["p50"][-1] for p in (run_always, switch_off)]
    assert got["profit fee in the last month, median"] == tuple(fee)
    assert got[f"P(payback) by {api['month_ends'][-1]}"] == (
        run_always["payback_probability"][-1],
        switch_off["payback_probability"][-1],
    )
    with page.expect_download() as dl:
        page.locator("button.csv[data-csv='payback']").click()
    rows = _csv_rows(dl.value)
    assert [r[0] for r in rows[1:]] == api["month_ends"]
    assert [float(r[1]) for r in rows[1:]] == run_always["payback_probability"]
    artefact("fleet-1400.png", page.screenshot(full_page=True))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # plotly's responsive resize
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    artefact("fleet-390.png", page.screenshot(full_page=True))
    # a bad input comes back as the API's message naming the field
    page.locator("#fleet-rows tbody tr:nth-child(1) input[name=model]").fill("S99 Imaginary")
    page.click("#run")
    page.wait_for_selector("body[data-ready='1'][data-result='error']", timeout=60_000)
    assert "row 1" in page.inner_text("#form-error") and "S99 Imaginary" in page.inner_text("#form-error")
    assert page.evaluate("window.__csp || []") == []
    assert not errors, errors
    page.close()


def test_live_updates_refetch_when_the_store_changes(browser: Browser, site: str) -> None:
    """The page polls /v1/health: it says whom the server follows and when it last heard from
    it, and a new store version re-fetches the figures, keeping the day the reader picked.
    /v1/health is replayed here with the fields the follower adds (store_version, follow)."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    health = _get(site + "/v1/health")
    state: dict[str, Any] = {"version": 1, "follow": None}

    def fake_health(route: Route) -> None:
        body = {**health, "store_version": state["version"], "follow": state["follow"]}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route(site + "/v1/health", fake_health)
    weekly: list[str] = []
    page.on(
        "request", lambda r: weekly.append(r.url) if "/v1/weekly?" in r.url or r.url.endswith("/v1/weekly") else None
    )
    page.goto(f"{site}/?as_of=2026-01-31&poll_s=1")
    page.wait_for_selector("body[data-ready='1'][data-asof='2026-01-31']", timeout=90_000)
    wait_until(page, "() => document.getElementById('live').textContent.startsWith('not following')")
    loads = int(page.evaluate("document.body.dataset.loads"))
    heard = (datetime.now(UTC) - timedelta(seconds=42)).isoformat().replace("+00:00", "Z")
    state["follow"] = {"source": "node 127.0.0.1:8332", "last_contact_utc": heard, "tip_height": 940_000,
                       "last_error": None, "next_retry_s": 30}  # fmt: skip
    state["version"] = 2
    wait_until(page, f"() => Number(document.body.dataset.loads) > {loads}", timeout=30_000)
    page.wait_for_selector("body[data-ready='1']")
    assert page.evaluate("document.body.dataset.asof") == "2026-01-31"  # the picked day stays
    assert weekly[-1].endswith("/v1/weekly?as_of=2026-01-31")
    live = page.inner_text("#live")
    assert live.startswith("following node 127.0.0.1:8332, last heard 4") and "s ago" in live, live
    state["follow"] = {**state["follow"], "last_error": "connection refused", "next_retry_s": 20}
    wait_until(page, "() => document.getElementById('live').textContent.includes('connection refused')")
    assert "retrying in 20 s" in page.inner_text("#live")
    page.close()


def test_plotly_comes_from_the_installed_package(browser: Browser, site: str) -> None:
    """plotly.js is served from the plotly package's own file (no CDN), cacheable, gzipped on
    request; the page's copy of plotly's global CSS equals what this plotly inserts itself."""
    import gzip
    from importlib import resources

    shipped = resources.files("plotly").joinpath("package_data/plotly.min.js").read_bytes()
    with urllib.request.urlopen(site + "/static/vendor/plotly.min.js", timeout=60) as r:
        assert r.read() == shipped
        assert "max-age=" in r.headers["Cache-Control"] and r.headers["ETag"]
        etag = r.headers["ETag"]
    req = urllib.request.Request(site + "/static/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=60) as r:
        assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(r.read()) == shipped
    req = urllib.request.Request(site + "/static/vendor/plotly.min.js", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as not_modified:
        urllib.request.urlopen(req, timeout=60)
    assert not_modified.value.code == 304
    page = browser.new_page()
    page.goto(site + "/static/style.css")  # same origin, no plotly yet
    page.set_content("<html><head></head><body></body></html>")
    page.add_script_tag(url=site + "/static/vendor/plotly.min.js")
    inserted = page.evaluate(
        "() => [...document.getElementById('plotly.js-style-global').sheet.cssRules].map(r => r.cssText).reverse()"
    )
    with urllib.request.urlopen(site + "/static/plotly-global.css", timeout=60) as r:
        ours = r.read().decode()
    ours_rules = [line for line in ours.split("*/", 1)[1].strip().splitlines() if line]
    assert ours_rules == inserted
    page.close()


def test_api_docs_run_offline_without_inline_script(browser: Browser, site: str) -> None:
    """/docs draws every endpoint from the local Swagger UI files under a CSP that allows no
    inline script; Chromium reports no violation."""
    with urllib.request.urlopen(site + "/docs", timeout=60) as r:
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    with urllib.request.urlopen(site + "/openapi.json", timeout=60) as r:
        paths = json.loads(r.read())["paths"]
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(site + "/docs")
    page.wait_for_selector(".opblock", timeout=60_000)
    shown = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.getAttribute('data-path'))")
    assert sorted(set(shown)) == sorted(paths) and "/v1/summary" in shown
    assert problems == []
    page.close()


def test_report_from_a_fresh_store_and_its_screenshot(browser: Browser, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashlens",
            "--db",
            str(tmp_path / "fresh.duckdb"),
            "--data",
            str(data_dir),
            "report",
            "--out",
            str(out),
            "--paths",
            "2000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    md = (out / "report.md").read_text()
    for section in (
        "## Difficulty",
        "## Hashrate",
        "## Next adjustment",
        "## Hashprice",
        "## Cost to mine one bitcoin",
        "## Which machines still pay",
        "## Listed miners",
        "## Halving countdown",
        "## Outlook",
    ):
        assert section in md, section
    notes = md.count("[^")
    assert notes >= 2 * 12  # every figure's footnote marker and its definition
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto((out / "report.html").as_uri())
    assert page.locator("h2").count() >= 9
    images = page.evaluate("[...document.images].map(i => i.naturalWidth)")
    assert len(images) >= 5 and all(w > 300 for w in images)
    assert page.locator(".footnote li, div.footnote li").count() >= 12
    shot = page.screenshot(full_page=True)
    (out / "report.png").write_bytes(shot)
    assert non_blank(shot) > 0.05
    page.close()


def test_dashboard_in_snapshot_mode_keeps_every_panel(browser: Browser, tmp_path: Path) -> None:
    """A store from the bundled snapshot (no per-block times, no prices): the panels that need
    them say "n/a — <reason>", the others still render, and the page does not go blank."""
    from tests.helpers import run_cli, start_serve

    db = tmp_path / "snap.duckdb"
    r = run_cli(db, "sync", "snapshot")
    assert r.returncode == 0, r.stderr
    proc, url = start_serve(db)
    try:
        page = browser.new_page(viewport={"width": 1100, "height": 1600})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=90_000)
        w = _get(url + "/v1/weekly")
        assert page.inner_text("#asof") == f"As of {w['as_of']} (24:00 UTC)"
        # the period-level figures still show ...
        for sel in ("#difficulty-value", "#difficulty-height", "#next-height", "#halving-value"):
            assert page.inner_text(sel) == SHOWN[sel](w), sel
        # ... and what needs per-block data says why it is missing, the rest of the page intact
        assert w["per_block_until"] is None and w["running_period"]["mempool"] is None
        assert w["outlook"] is not None and w["outlook"]["basis"] == "period"  # from the period in force
        # the next adjustment is the outlook's first row, known from the period's start alone
        e = w["running_period"]["estimate"]
        assert e["basis"] == "period" and e["change_pct"] == w["outlook"]["adjustments"][0]["change_pct"]
        assert page.inner_text("#next-value") == f"{e['change_pct']['p50']:+,.2f} %"
        assert "from the period's start (no per-block data)" in page.inner_text("#next-detail")
        tables = {"machines": "#fleet-table", "miners": "#miners-table", "outlook": "#outlook-table"}
        for section, table in tables.items():
            body = page.inner_text(table + " tbody")
            if w[section] is None:
                assert body == "n/a — " + w["missing"][section][:200], section
            else:
                assert body and "n/a" not in body, section
        if w["hashprice"]["today"]["usd_per_ph_day"] is not None:
            assert page.inner_text("#hashprice-value") == SHOWN["#hashprice-value"](w)
        missing = page.evaluate("document.body.dataset.missing") or ""
        assert "outlook" not in missing.split(", ") and "difficulty" not in missing.split(", "), missing
        assert non_blank(page.screenshot(full_page=True)) > 0.03
        assert not errors, errors
        page.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


# -- the hashrate chart's gaps, resizing, a day without figures --------------------------------
# Pixels of a chart's plot area in one column at a date: how many are the 1008-block line's blue
# or its band's light blue (blue clearly above red; the orange period line and grey grid are not).
BLUE_IN_COLUMN = """([id, day]) => { const d = document.getElementById(id), fl = d._fullLayout;
    return { x: fl._size.l + fl.xaxis.l2p(Date.parse(day)), top: fl._size.t, h: fl._size.h }; }"""


def _blue_pixels(png: bytes, x: float, top: float, h: float) -> int:
    import io

    from matplotlib import image

    img = image.imread(io.BytesIO(png), format="png")[..., :3]
    col = img[int(top) : int(top + h), int(x)]
    return int(((col[:, 2] > col[:, 0] + 0.05) & (col < 0.99).any(axis=1)).sum())


def test_hashrate_chart_breaks_its_line_and_band_at_gaps_in_the_data(browser: Browser, site: str) -> None:
    """The 1008-block windows come in runs (the block-stats file's five windows): the line and
    its 95 % band stop at the end of each run instead of ramping across the missing years."""
    day = "2026-01-31"
    page = browser.new_page(viewport={"width": 1100, "height": 1200})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/?as_of={day}")
    page.wait_for_selector(f"body[data-ready='1'][data-asof='{day}']", timeout=90_000)
    end = datetime(2026, 2, 1, tzinfo=UTC).timestamp()
    from itertools import pairwise

    wins = [r for r in _get(site + "/v1/hashrate/series") if r["end_time_s"] <= end]
    steps = [b["end_height"] - a["end_height"] for a, b in pairwise(wins)]
    step = max(set(steps), key=steps.count)
    gaps = [(a, b) for a, b in pairwise(wins) if b["end_height"] - a["end_height"] > step]
    assert step == 144 and len(gaps) >= 4  # 2009 | 2017-18 | 2021 | 2023 | 2025-26
    line = page.evaluate(
        "id => document.getElementById(id).data.find(t => t.name === 'over 1008 blocks')", "chart-hashrate"
    )
    assert sum(y is None for y in line["y"]) == len(gaps)
    assert [y for y in line["y"] if y is not None] == [r["hashrate_ehs"] for r in wins]
    # Drawn: nothing blue in the middle of the 2023-04 … 2025-08 gap, the line and band beside it.
    page.evaluate(
        "id => Plotly.relayout(document.getElementById(id), {'xaxis.range': ['2022-10-01', '2026-02-15']})",
        "chart-hashrate",
    )
    page.locator("#chart-hashrate").scroll_into_view_if_needed()
    shot = page.locator("#chart-hashrate").screenshot()
    artefact("hashrate-gap.png", shot)
    inside, after = (page.evaluate(BLUE_IN_COLUMN, ["chart-hashrate", d]) for d in ("2024-06-01", "2025-10-15"))
    assert _blue_pixels(shot, inside["x"], inside["top"], inside["h"]) == 0
    assert _blue_pixels(shot, after["x"], after["top"], after["h"]) > 0
    assert not errors, errors
    page.close()


CHART_FITS = """() => [...document.querySelectorAll('.chart')].every((d) => {
    const s = d.querySelector('svg.main-svg'), leg = d.querySelector('.legend');
    if (!s) return true;
    const box = d.getBoundingClientRect(), svg = s.getBoundingClientRect();
    const legOk = !leg || leg.getBoundingClientRect().bottom <= box.bottom;
    return Math.abs(svg.width - d.clientWidth) < 1 && svg.height === d.clientHeight && legOk; })"""


def test_charts_keep_to_their_box_after_a_window_resize(browser: Browser, site: str) -> None:
    """Narrowing the window to a phone's width and back: every chart takes its box's width and
    the height the page sets for that width, with its legend inside (it was left clipped)."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/?as_of=2026-01-31")
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    heights = "() => [...document.querySelectorAll('.chart svg.main-svg')].map((s) => s.getBoundingClientRect().height)"
    assert page.evaluate(CHART_FITS)
    assert set(page.evaluate(heights)) == {340}
    for width, height in ((500, 300), (1300, 340), (800, 340)):
        page.set_viewport_size({"width": width, "height": 1000})
        wait_until(
            page,
            f"() => [...document.querySelectorAll('.chart svg.main-svg')].every((s) => s.getBoundingClientRect().height === {height})"
            f" && ({CHART_FITS})()",
            timeout=30_000,
        )
    page.set_viewport_size({"width": 500, "height": 1000})
    wait_until(
        page,
        f"() => ({CHART_FITS})() && document.querySelector('#chart-hashrate svg').getBoundingClientRect().width < 480",
        timeout=30_000,
    )
    artefact("dashboard-resized-500.png", page.locator("#chart-hashrate").screenshot())
    assert not errors, errors
    page.close()


def test_a_day_without_figures_states_its_reason_once(browser: Browser, site: str) -> None:
    """A day past the store's periods: the API's one reason is on the page once, and every
    panel says "n/a" without repeating it."""
    days = _get(site + "/v1/weekly/days")
    day = (date.fromisoformat(days["latest"]) + timedelta(days=400)).isoformat()
    try:
        _get(f"{site}/v1/weekly?as_of={day}")
        raise AssertionError("the API answered a day past the data")
    except urllib.error.HTTPError as exc:
        reason = json.loads(exc.read())["detail"]
    page = browser.new_page(viewport={"width": 1100, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{site}/?as_of={day}")
    page.wait_for_selector(f"body[data-ready='1'][data-asof='{day}']", timeout=90_000)
    text = page.inner_text("body")
    assert text.count(reason[:60]) == 1, text[:2000]
    assert page.locator("#notes li").all_inner_texts() == ["n/a — " + " ".join(reason.split())[:200]]
    for card in ("difficulty", "hashrate", "hashprice", "next", "halving", "power"):
        assert page.inner_text(f"#{card}-value") == "n/a"
    for table in ("cost-table", "fleet-table", "miners-table", "treasury-table", "outlook-table"):
        assert page.inner_text(f"#{table} tbody") == "n/a"
    assert not errors, errors
    page.close()
