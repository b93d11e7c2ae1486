"""The calibrated forecast (issue 11): shape, no look-ahead, bad input, one function for every
face, a 40-period slice of the walk-forward backtest and of the hashprice backtest."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pytest

from hashlens.chain.clock import ChainClock, end_of_day
from hashlens.chain.sync import sync_shared_data
from hashlens.consensus import DIFFICULTY_ADJUSTMENT_INTERVAL as N
from hashlens.economics.daily import import_prices
from hashlens.errors import HashlensError
from hashlens.sim.backtest import crps_samples, run_backtest
from hashlens.sim.forecast import MAX_PATHS, forecast_adjustments, store_tip_height
from hashlens.sources.prices import read_prices
from hashlens.store import Store
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("forecast") / "f.duckdb"
    with Store(path) as s:
        sync_shared_data(s, data_dir)
        f = data_dir / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
    return path


@pytest.fixture(scope="module")
def clock(db: Path) -> ChainClock:
    with Store(db, read_only=True) as s:
        return ChainClock.from_store(s)


def test_cli_shape_and_defaults(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "c.duckdb"
    shutil.copy(db, copy)
    r = run_cli(copy, "forecast", "--height", "930000", "--paths", "5000", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["as_of_height"] == 930_000 and d["basis"] == "per-block"
    assert [a["height"] for a in d["adjustments"]] == [931_392, 933_408, 935_424]
    for a in d["adjustments"]:
        assert {"height", "change_pct_p05", "change_pct_p50", "change_pct_p95", "p_drop", "date_p50"} <= set(a)
        assert a["change_pct_p05"] < a["change_pct_p50"] < a["change_pct_p95"] and 0 <= a["p_drop"] <= 1
    # the next adjustment (931,392) came on 2026-01-08: the forecast's date is within a day
    assert d["adjustments"][0]["date_p50"][:10] in ("2026-01-07", "2026-01-08", "2026-01-09")
    r = run_cli(copy, "forecast", "--json", "--paths", "2000")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["as_of_height"] == 479 * N  # the latest dated period start


@pytest.mark.parametrize(
    "args,text",
    [
        (("--height", "99999999"), "beyond the store"),
        (("--height", "4031"), "at least 4,032"),
        (("--horizon", "0"), "--horizon"),
        (("--horizon", "1000"), "--horizon"),
        (("--paths", "0"), "--paths"),
        (("--paths", str(MAX_PATHS + 1)), "--paths"),
    ],
)
def test_bad_input_is_one_line(db: Path, tmp_path: Path, args: tuple[str, ...], text: str) -> None:
    copy = tmp_path / "c.duckdb"
    shutil.copy(db, copy)
    r = run_cli(copy, "forecast", *args)
    assert r.returncode == 2 and text in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_later_data_does_not_leak(clock: ChainClock) -> None:
    """Scrambling everything at or above the forecast height (bits of later periods, their start
    times, block times) leaves the forecast unchanged."""
    for h in (400 * N, 930_000, 460 * N + 700):
        a = forecast_adjustments(clock, h, horizon=3, paths=3000, seed=5)
        p = h // N
        rng = np.random.default_rng(1)
        bits = clock.bits.copy()
        bits[p + 1 :] = bits[p + 1 :][rng.permutation(bits.size - p - 1)]
        start = clock.start_time.copy()
        start[p + 1 :] += rng.integers(-5000, 5000, start.size - p - 1)
        bt = clock.block_t.copy()
        later = clock.block_h >= h
        bt[later] += rng.integers(-300, 300, int(later.sum()))
        other = ChainClock(bits, start, clock.start_source, clock.start_sd_s, clock.block_h, bt)
        b = forecast_adjustments(other, h, horizon=3, paths=3000, seed=5)
        assert a == b, h


def test_weekly_outlook_is_the_forecast(db: Path, clock: ChainClock) -> None:
    from hashlens.weekly import WeeklyFigures

    with Store(db, read_only=True) as s:
        for day in (date(2026, 1, 20), date(2026, 2, 10)):
            w = WeeklyFigures.compute(s, day, paths=2000, seed=3)
            fc = forecast_adjustments(clock, as_of_time=end_of_day(day), horizon=3, paths=2000, seed=3)
            assert w.outlook is not None and replace(w.outlook, track_record=None) == fc
            tr = w.to_json()["outlook"]["track_record"]
            assert tr["forecasts"] == 100 and 80 <= tr["held_90"] <= 100
    assert store_tip_height(clock) == 479 * N


def test_period_level_conditions_on_the_elapsed_time(clock: ChainClock) -> None:
    """Past the per-block data, the running period cannot have ended before the as-of time."""
    p = 470
    t = float(clock.start_time[p + 1]) - 3600  # an hour before the real retarget
    fc = forecast_adjustments(clock, as_of_time=t, horizon=1, paths=4000, seed=2)
    early = forecast_adjustments(clock, p * N, horizon=1, paths=4000, seed=2)
    assert fc.basis == "period" and fc.as_of_height == p * N
    iso = datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fc.adjustments[0].date_p05 >= iso > early.adjustments[0].date_p05
    # a period still running after that long was slow: the adjustment is lower
    assert fc.adjustments[0].change_pct_p50 < early.adjustments[0].change_pct_p50


def test_api_forecast(db: Path, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app

    copy = tmp_path / "a.duckdb"
    shutil.copy(db, copy)
    c = TestClient(create_app(copy))
    r = c.get("/v1/forecast", params={"height": 930_000, "paths": 5000})
    assert r.status_code == 200
    assert r.json()["adjustments"][0]["height"] == 931_392
    clock = ChainClock.from_store(Store(copy, read_only=True))
    same = forecast_adjustments(clock, 930_000, paths=5000).as_dict()
    assert r.json()["adjustments"] == same["adjustments"]
    assert c.get("/v1/forecast", params={"horizon": 0}).status_code == 400


def test_crps_of_samples_matches_the_closed_form() -> None:
    """CRPS of N(0,1) at 0 is (sqrt(2) - 1)/sqrt(pi)."""
    x = np.random.default_rng(0).standard_normal(200_000)
    assert crps_samples(x, 0.0) == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi), abs=3e-3)


def test_backtest_slice_of_40_periods(clock: ChainClock) -> None:
    """A 40-period slice of the walk-forward backtest (2023-2026, with per-block periods): the
    forecast beats the point baselines on CRPS at every horizon, is within 10 % of the old
    simulator's CRPS on these 40 (it beats it over the whole history) and covers far better."""
    r = run_backtest(clock, first=438, last=477, paths=1000, sim_paths=300)
    rows = {(x["phase"], x["horizon"], x["method"]): x for x in r["table"]}
    assert rows[("start", 1, "forecast")]["n"] == 40
    assert 0.75 <= rows[("start", 1, "forecast")]["coverage"]["90"] <= 1.0
    for x in r["crps_ratio_forecast_to_baseline"]:
        if x["phase"] == "start":
            assert x["crps_ratio"] < (1.1 if x["baseline"] == "simulator" else 1.0), x
    for h in (1, 2, 3):
        assert rows[("start", h, "forecast")]["coverage"]["90"] > rows[("start", h, "simulator")]["coverage"]["90"]
    assert ("mid", 1, "mempool.space") in rows


def test_hashprice_backtest_slice(db: Path, clock: ChainClock) -> None:
    from hashlens.sim.hashprice_outlook import backtest_hashprice, hashprice_outlook

    with Store(db, read_only=True) as s:
        r = backtest_hashprice(s, clock, start=date(2024, 1, 1), paths=500, limit=40)
        assert r["points"] == 40
        four = next(x for x in r["rows"] if x["weeks"] == 4)
        assert four["n"] >= 35 and four["coverage"]["90"] >= 0.7 and four["crps_ratio"] < 1.2
        o = hashprice_outlook(s, date(2026, 1, 20), paths=2000)
    q = o["rows"][1]
    assert o["rows"][0]["weeks"] == 1 and q["usd_per_ph_day_p05"] < q["p50"] < q["p95"]


def test_errors_name_the_bound(clock: ChainClock) -> None:
    with pytest.raises(HashlensError, match="beyond the store"):
        forecast_adjustments(clock, 10**8)
