"""One as-of day for every face (issue 21.2): every reading command answers, by default, for the
report's day and names it (``as_of``); as of one given day they agree on the tip.

The store is filled as a user's is: a fresh store, the shared data beside the checkout, the
first command filling it. ``pools`` is left out of the default-day check: its sources are
separate datasets with their own days (the shared btl and canhui tables end in 2023), so its
window ends at the source's last day unless ``--as-of`` is given.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_db
from tests.helpers import run_cli

PATHS = "200"  # the outlook's simulation size: the day and tip do not depend on it
DAY = "2026-02-10"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, shared_db: Path) -> Path:
    """The session's store of the automatic fill (chain, chain-extra, chain-2026, prices, sample)."""
    return copy_db(shared_db, tmp_path_factory, "asof")


def answer(db: Path, *args: str) -> dict[str, Any]:
    r = run_cli(db, *args, "--json")
    assert r.returncode == 0, (args, r.stderr)
    out: dict[str, Any] = json.loads(r.stdout)
    return out


@pytest.mark.slow
def test_every_reading_command_defaults_to_the_reports_day(db: Path, tmp_path: Path) -> None:
    day = answer(db, "report", "--out", str(tmp_path / "r"), "--paths", PATHS)["as_of"]
    commands = [
        ("weekly", "--paths", PATHS),
        ("difficulty",),
        ("difficulty", "estimate", "--paths", PATHS),
        ("summary",),
        ("halving",),
        ("forecast", "--paths", PATHS),
        ("hashrate",),
        ("hashprice",),
        ("cost",),
        ("power",),
    ]
    got = {" ".join(c[:2]): answer(db, "--no-server", *c)["as_of"] for c in commands}
    assert got == dict.fromkeys(got, day)


def test_as_of_one_day_the_faces_agree_on_the_tip(db: Path, data_dir: Path) -> None:
    # The tip at 24:00 UTC of the day, by hand: the highest block whose time, or an earlier
    # block's, is not later (block times are not monotone), from the shared per-block file.
    end = datetime(2026, 2, 11, tzinfo=UTC).timestamp()
    tip, running_max = None, 0
    with open(data_dir / "chain-2026/block-times-934576-942199.csv") as fh:
        for row in csv.DictReader(fh):
            running_max = max(running_max, int(row["time"]))
            if running_max > end:
                break
            tip = int(row["height"])
    assert tip is not None
    d = answer(db, "difficulty", "--as-of", DAY)
    s = answer(db, "summary", "--as-of", DAY)
    h = answer(db, "halving", "--as-of", DAY)
    w = answer(db, "weekly", "--as-of", DAY, "--paths", PATHS)
    f = answer(db, "forecast", "--as-of", DAY, "--paths", PATHS)
    assert {x["as_of"] for x in (d, s, h, w, f)} == {DAY}
    assert d["tip_height"] == s["tip_height"] == h["tip_height"] == tip
    assert w["running_period"]["tip_height"] == w["halving"]["tip_height"] == tip
    assert d["running_period"]["tip_height"] == s["running_period"]["tip_height"] == tip
    assert f["as_of_height"] == tip + 1  # the forecast sees the data below it: the tip's block and before
    # blocks to the halving: one number on every face
    assert s["next_halving"]["blocks_left"] == h["blocks_left"] == w["halving"]["blocks_left"] == 1_050_000 - tip
    # the adjustment in force: the storm-week drop at 935,424 (2026-02-07), and one estimate of the next
    assert d["latest_adjustment"]["height"] == s["latest_adjustment"]["height"] == 935_424
    # (difficulty and summary simulate the default 20,000 paths, weekly and forecast 200 here)
    assert d["running_period"]["estimate"] == s["running_period"]["estimate"]
    assert w["running_period"]["estimate"]["change_pct"] == f["adjustments"][0]["change_pct"]


@pytest.mark.slow
def test_a_day_past_the_store_is_one_error_line(db: Path) -> None:
    for cmd in ("difficulty", "summary", "halving", "forecast", "hashrate"):
        r = run_cli(db, "--no-server", cmd, "--as-of", "2030-01-01", "--json")
        assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, (cmd, r.stderr)


def test_the_api_answers_for_the_same_day(db: Path, tmp_path: Path) -> None:
    import shutil

    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app

    copy = tmp_path / "api.duckdb"
    shutil.copy(db, copy)
    with TestClient(create_app(copy)) as c:
        day = c.get("/v1/weekly").json()["as_of"]
        named = {
            path: c.get(path, params=params).json()
            for path, params in (
                ("/v1/difficulty", {}),
                ("/v1/summary", {}),
                ("/v1/halving", {}),
                ("/v1/hashrate", {}),
                ("/v1/forecast", {"paths": PATHS}),
                ("/v1/power", {}),
            )
        }
        assert {p: a["as_of"] for p, a in named.items()} == dict.fromkeys(named, day)
        # hashprice and cost name their day as `date` (one day's row)
        assert c.get("/v1/hashprice").json()["date"] == c.get("/v1/cost").json()["date"] == day
