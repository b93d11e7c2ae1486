"""The companies page (/companies) in a real headless Chromium: a table per company, the revenue
mix chart and the CSV downloads, each read back against the API's answer."""

from __future__ import annotations

import csv
import json
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

pytestmark = pytest.mark.slow  # the whole module runs in the slow tier (sh scripts/test -m slow)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Browser:  # type: ignore[misc]
    assert Path(CHROMIUM).exists(), "Chromium is required (Debian package 'chromium'; .ci/run installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.loads(r.read())


def test_companies_page_draws_the_api_s_results(browser: Browser, live_server: str) -> None:
    results = _get(live_server + "/v1/miners/results")["results"]
    flows = _get(live_server + "/v1/miners/flows")["flows"]
    page = browser.new_page(viewport={"width": 1300, "height": 1200}, accept_downloads=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/companies")
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    assert page.evaluate("document.body.dataset.missing") == ""
    # One table per company, one row per period, in the API's order.
    tickers = sorted({r["ticker"] for r in results})
    assert page.eval_on_selector_all("section.company", "s => s.map(x => x.dataset.ticker)") == tickers
    for t in tickers:
        rows = page.locator(f"section.company[data-ticker='{t}'] tbody tr")
        assert rows.count() == sum(r["ticker"] == t for r in results)
    btbt = page.inner_text("section.company[data-ticker='BTBT'] tbody")
    share = next(r for r in results if r["ticker"] == "BTBT")["revenue_mix"]["ai_hpc_share"]
    assert f"({100 * share:.1f} %)" in btbt
    # The revenue mix: a bar per period with a split, stacked.
    with_mix = [r for r in results if r["revenue_mix"]]
    assert page.evaluate("document.getElementById('chart-mix').dataset.points") == str(len(with_mix))
    assert page.evaluate("document.getElementById('chart-mix').layout.barmode") == "stack"
    assert page.locator("#flows-table tbody tr").count() == len(flows)
    # Every figure with its source, as CSV: one row per stored fact.
    with page.expect_download() as dl:
        page.click("button[data-csv='facts']")
    with open(dl.value.path(), newline="", encoding="utf-8") as fh:
        table = list(csv.reader(fh))
    assert table[0][:6] == ["ticker", "company", "period", "period end", "metric", "value"]
    assert len(table) - 1 == sum(len(r["facts"]) for r in results) == 68
    # As of a day: only what had been published (the lag rule), the API's answer for that day.
    page.goto(live_server + "/companies?as_of=2026-02-10")
    page.wait_for_selector("body[data-ready='1'][data-asof='2026-02-10']", timeout=90_000)
    feb = _get(live_server + "/v1/miners/results?as_of=2026-02-10")["results"]
    assert page.locator("section.company tbody tr").count() == len(feb) < len(results)
    assert "BTBT" not in page.eval_on_selector_all("section.company", "s => s.map(x => x.dataset.ticker)")
    assert not errors, errors
    page.close()
