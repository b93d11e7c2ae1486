"""A person's view: the dashboard and the weekly report in a real headless Chromium (Debian's
package, installed by .ci/run), driven by Playwright."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

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


def test_dashboard_renders_real_numbers(browser: Browser, live_server: str, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1600})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=90_000)
    api = json.loads(urllib.request.urlopen(live_server + "/v1/difficulty").read())
    shown = page.inner_text("#difficulty-value")
    assert shown == f"{api['latest_adjustment']['difficulty'] / 1e12:,.2f} T"
    hp = json.loads(urllib.request.urlopen(live_server + "/v1/hashprice").read())
    assert page.inner_text("#hashprice-value") == f"${hp['usd_per_ph_day']:,.2f}/PH/day"
    for cid in ("chart-adjustments", "chart-hashrate", "chart-hashprice"):
        drawn = page.evaluate(
            """id => { const c = document.getElementById(id); const d = c.getContext('2d')
                   .getImageData(0, 0, c.width, c.height).data; let n = 0;
                   for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return [n, Number(c.dataset.points)]; }""",
            cid,
        )
        assert drawn[0] > 5000 and drawn[1] > 10, cid
    assert page.locator("#fleet-table tbody tr").count() >= 20
    assert page.locator("#miners-table tbody tr").count() == 6
    assert page.locator("#outlook-table tbody tr").count() == 3
    shot = page.screenshot(full_page=True)
    (tmp_path / "dashboard.png").write_bytes(shot)
    assert non_blank(shot) > 0.05
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
