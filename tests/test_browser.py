"""A person's view: the dashboard and the weekly report in a real headless Chromium (Debian's
package, installed by .ci/run), driven by Playwright."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

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


def non_blank(png: bytes) -> float:
    """Share of pixels that are not the page background, from a screenshot."""
    import io

    from matplotlib import image

    img = image.imread(io.BytesIO(png), format="png")
    rgb = img[..., :3]
    return float(((rgb < 0.93).any(axis=-1)).mean())


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as r:
        body: dict[str, Any] = json.loads(r.read())
        return body


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


def test_dashboard_draws_one_weekly_response_per_day(browser: Browser, live_server: str, tmp_path: Path) -> None:
    """The page draws /v1/weekly for the one day its picker holds: every figure read back from
    the DOM equals the API's for that day, and no figure is dated after it."""
    page = browser.new_page(viewport={"width": 1100, "height": 1600})
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url.removeprefix(live_server)))
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    days = _get(live_server + "/v1/weekly/days")
    picker = page.locator("#asof-date")
    assert picker.get_attribute("max") == days["latest"] and picker.get_attribute("min") == days["first"]
    assert picker.input_value() == days["latest"] == page.evaluate("document.body.dataset.asof")
    for day, (height, next_height) in IN_FORCE.items():
        picker.fill(day)
        page.wait_for_selector(f"body[data-ready='1'][data-asof='{day}']", timeout=90_000)
        w = _get(f"{live_server}/v1/weekly?as_of={day}")
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
        if rp["hashlens"] is None:  # 2026-02-10 is past the per-block data: the estimate says why
            assert page.inner_text("#next-value") == "n/a"
            assert "n/a — " in page.inner_text("#next-detail")
        else:
            assert page.inner_text("#next-value") == f"{rp['hashlens']['change_pct']:+,.2f} %"
        # no figure from another date
        shown_days = page.evaluate(DAYS_SHOWN)
        assert shown_days and max(shown_days) <= day, (day, sorted(set(shown_days))[-5:])
        # the tables and charts, each from the same response
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
            assert page.locator("#outlook-table tbody tr").count() == len(w["outlook"]["rows"])
        for cid, n in (
            ("chart-adjustments", len(w["difficulty"]["recent"])),
            ("chart-hashrate", len(w["difficulty"]["recent"])),
            ("chart-hashprice", sum(r["usd_per_ph_day"] is not None for r in w["hashprice"]["series"])),
        ):
            drawn = page.evaluate(
                """id => { const c = document.getElementById(id); const d = c.getContext('2d')
                       .getImageData(0, 0, c.width, c.height).data; let n = 0;
                       for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return [n, Number(c.dataset.points)]; }""",
                cid,
            )
            assert drawn[0] > 3000 and drawn[1] == n, (day, cid, drawn)
        shot = page.screenshot(full_page=True)
        (tmp_path / f"dashboard-{day}.png").write_bytes(shot)
        assert non_blank(shot) > 0.05
    # the page asked for nothing but the weekly figures (and its own files)
    api = sorted({u.split("?")[0] for u in requests if u.startswith("/v1/")})
    assert api == ["/v1/weekly", "/v1/weekly/days"], api
    assert not errors, errors
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
    import os
    import time

    from tests.conftest import free_port
    from tests.helpers import run_cli

    db = tmp_path / "snap.duckdb"
    r = run_cli(db, "sync", "snapshot")
    assert r.returncode == 0, r.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(url + "/v1/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
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
        assert w["per_block_until"] is None and w["running_period"]["hashlens"] is None
        assert w["outlook"] is not None and w["outlook"]["basis"] == "period"  # from the period in force
        assert page.inner_text("#next-value") == "n/a"
        assert "n/a — " + w["running_period"]["note"] in page.inner_text("#next-detail")
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
