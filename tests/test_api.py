"""The HTTP API as a program uses it: figures, bounded inputs, 4xx never 5xx, token-gated imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hashlens.api.app import create_app
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def client(full_db: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    db = tmp_path_factory.mktemp("api") / "api.duckdb"
    db.write_bytes(full_db.read_bytes())
    return TestClient(create_app(db, token="s3cret"))


def test_hashprice_days_are_looked_up_right(client: TestClient, full_db: Path) -> None:
    """Once this version's daily rows exist, a day's answer is a look-up on the event loop:
    each day must still be that day's row from the library, the latest day the default."""
    from datetime import date

    from hashlens.economics.daily import hashprice_days, latest_day
    from hashlens.store import Store

    days = [date(2013, 4, 10), date(2020, 5, 11), date(2024, 4, 19), date(2025, 6, 1)]
    with Store(full_db, read_only=True) as s:
        want = {d.isoformat(): r.to_json() for d, r in zip(days, hashprice_days(s, days), strict=True)}
        latest = hashprice_days(s, [latest_day(s)])[0].to_json()
    client.get("/v1/hashprice", params={"date": "2019-01-01"})  # computes the rows (in a thread)
    for _ in range(2):  # answered, then answered from the cached bytes
        for d, row in want.items():
            assert client.get("/v1/hashprice", params={"date": d}).json() == json.loads(json.dumps(row))
        assert client.get("/v1/hashprice").json() == json.loads(json.dumps(latest))


def test_read_endpoints(client: TestClient) -> None:
    d = client.get("/v1/difficulty").json()
    hist = client.get("/v1/difficulty/history").json()
    assert len(hist) == 479 and {"height", "change_pct", "rank_among_drops", "streak"} <= set(hist[0])
    # as of the report's day (24:00 UTC): the adjustment in force then, nothing dated later
    assert d["as_of"] == client.get("/v1/weekly").json()["as_of"]
    in_force = [a for a in hist if a["time"] and a["time"] <= d["as_of_instant"]]
    assert d["latest_adjustment"]["height"] == in_force[-1]["height"] == d["running_period"]["start_height"]
    jan = client.get("/v1/difficulty", params={"as_of": "2026-01-31"}).json()
    assert jan["as_of"] == "2026-01-31" and jan["latest_adjustment"]["height"] == 933408
    hr = client.get("/v1/hashrate", params={"window": "7d", "as_of": "2026-01-31"}).json()
    assert hr["as_of"] == "2026-01-31" and hr["per_block"]
    assert hr["low_ehs"] < hr["hashrate_ehs"] < hr["high_ehs"]
    hp = client.get("/v1/hashprice", params={"date": "2026-01-15", "btc_price_usd": 100000}).json()
    assert hp["usd_per_ph_day"] == pytest.approx(hp["btc_per_ph_day"] * 100000)
    assert client.get("/v1/hashprice/series", params={"start": "2025-12-01"}).json()["all_time_low_usd"]
    assert len(client.get("/v1/asics").json()) >= 30
    assert client.get("/v1/halving").json()["next_halving_height"] == 1050000
    assert client.get("/v1/power").json()["power_gw_guess"] > 0
    assert client.get("/v1/miners/months").json()[-1] == "2026-01"
    ex = client.get("/v1/miners/2026-01/expected").json()
    assert {"ticker", "reported_btc", "expected_btc", "ratio"} <= set(ex[0])
    assert client.get("/v1/miners/treasury").json()[0]["ticker"] == "MARA"
    assert client.get("/openapi.json").json()["info"]["title"] == "hashlens"
    assert client.get("/").text.startswith("<!doctype html>")


@pytest.mark.slow
def test_fleet_and_simulation(client: TestClient) -> None:
    f = client.post(
        "/v1/fleet",
        json={
            "machines": [
                {"model": "S21 Pro", "count": 100},
                {"hashrate_ths": 100, "efficiency_j_per_th": 38, "count": 50},
            ],
            "power_price_usd_per_kwh": 0.06,
            "date": "2026-01-15",
        },
    ).json()
    assert len(f["machines"]) == 2 and 0 <= f["share_of_hashrate_under_water"] <= 1
    sim = client.post(
        "/v1/simulate",
        json={
            "paths": 500,
            "seed": 3,
            "scenario": {
                "name": "t",
                "days": 60,
                "initial": {"hashrate_ehs": 900, "price_usd": 80000, "difficulty": "steady-state"},
            },
        },
    )
    assert sim.status_code == 200 and sim.json()["upcoming_adjustments"]


@pytest.mark.parametrize(
    ("method", "path", "body", "code", "text"),
    [
        ("post", "/v1/fleet", {"machines": [{"model": "S99 Ultra", "count": 1}]}, 400, "unknown ASIC model"),
        (
            "post",
            "/v1/fleet",
            {"machines": [{"hashrate_ths": -5, "efficiency_j_per_th": 20, "count": 1}]},
            422,
            "machines.0.hashrate_ths must be above 0 (got -5)",
        ),
        ("post", "/v1/simulate", {"paths": 20000, "scenario": {"name": "x", "days": 730}}, 422, "too large"),
        ("post", "/v1/simulate", {"paths": 10**9, "scenario": {"name": "x"}}, 422, "paths must be at most 20000"),
        (
            "post",
            "/v1/simulate",
            {"scenario": {"name": "x", "price": {"model": "gbm", "sigma_annual": -1}}},
            400,
            "price.sigma_annual",
        ),
        ("get", "/v1/hashprice?date=1800-01-01", None, 422, "date must be at least 2009-01-03 (got '1800-01-01')"),
        ("get", "/v1/hashprice?btc_price_usd=-3", None, 422, "btc_price_usd must be above 0 (got -3)"),
        ("get", "/v1/hashprice?price=3", None, 422, "price is not a known field"),
        ("get", "/v1/hashrate?window=nope", None, 422, "window must be text matching"),
        ("get", "/v1/hashrate?height=20000", None, 400, "no stored block time"),
        ("get", "/v1/miners/2026-13/table", None, 400, "YYYY-MM"),
        ("get", "/v1/miners/2019-01/expected", None, 400, "no miner reports"),
    ],
)
def test_bad_requests_get_4xx_with_a_message(
    client: TestClient, method: str, path: str, body: dict | None, code: int, text: str
) -> None:
    r = client.request(method.upper(), path, json=body)
    assert r.status_code == code, r.text
    assert text in r.text


def test_imports_need_the_token(client: TestClient, full_db: Path) -> None:
    body = {"currency": "CHF", "prices": {"2024-01-01": 36000.0, "2024-01-02": 37000.0}}
    assert client.post("/v1/import/prices", json=body).status_code == 401
    assert client.post("/v1/import/prices", json=body, headers={"Authorization": "Bearer wrong"}).status_code == 401
    r = client.post("/v1/import/prices", json=body, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and r.json()["rows"] == 2
    bad = {"reports": [{"company": "A", "ticker": "AA", "month": "2026-01", "btc_mined": -1}]}
    r = client.post("/v1/import/miners", json=bad, headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 400 and "btc_mined" in r.text
    ro = TestClient(create_app(full_db, token=None))
    assert ro.post("/v1/import/prices", json=body).status_code == 403
    ro.app.state.holder.close()  # type: ignore[attr-defined]  # its read connection to the shared store


def _cli_db(full_db: Path, tmp_path: Path) -> Path:
    """The CLI in its own copy of the store (the API clients hold theirs open)."""
    db = tmp_path / "cli.duckdb"
    db.write_bytes(full_db.read_bytes())
    return db


def test_favicon_is_a_plain_204(client: TestClient) -> None:
    r = client.get("/favicon.ico")
    assert r.status_code == 204 and r.content == b""


def test_cli_fleet_and_api_fleet_agree(client: TestClient, full_db: Path, tmp_path: Path) -> None:
    """One fleet reader and one evaluation: the same fleet gives the same numbers on both faces."""
    fleet = tmp_path / "fleet.csv"
    fleet.write_text(
        "model,hashrate_ths,power_w,efficiency_j_per_th,count,power_price_usd_per_kwh,machine_price_usd\n"
        "S21 Pro,,,,100,,4000\n"
        ",100,,38,50,0.04,\n"
        ",200,4000,,7,,\n"
    )
    machines = [
        {"model": "S21 Pro", "count": 100, "machine_price_usd": 4000},
        {"hashrate_ths": 100, "efficiency_j_per_th": 38, "count": 50, "power_price_usd_per_kwh": 0.04},
        {"hashrate_ths": 200, "power_w": 4000, "count": 7},
    ]
    r = run_cli(
        _cli_db(full_db, tmp_path),
        "fleet",
        str(fleet),
        "--date",
        "2026-01-15",
        "--power-price",
        "0.06",
        "--pue",
        "1.1",
        "--uptime",
        "0.97",
        "--hosting-kw-month",
        "2",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    cli_out = json.loads(r.stdout)
    api = client.post(
        "/v1/fleet",
        json={
            "machines": machines,
            "power_price_usd_per_kwh": 0.06,
            "pue": 1.1,
            "uptime": 0.97,
            "hosting_usd_per_kw_month": 2,
            "date": "2026-01-15",
        },
    )
    assert api.status_code == 200, api.text
    assert _same(api.json(), cli_out)
    assert [m["label"] for m in cli_out["machines"]] == ["Bitmain Antminer S21 Pro (234Th)", "row 2", "row 3"]
    assert 0 < cli_out["share_of_hashrate_under_water"] < 1


def _same(a: object, b: object) -> bool:
    """Equal structure, numbers equal to 1e-12 relative (JSON round trips may differ in the last bit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), (sorted(a), sorted(b))
        return all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        assert a == pytest.approx(b, rel=1e-12), (a, b)
        return True
    assert a == b, (a, b)
    return True


def test_cost_endpoint_equals_cli(client: TestClient, full_db: Path, tmp_path: Path) -> None:
    args = {"date": "2026-01-15", "power_price": 0.06, "efficiency": [17.5, 30]}
    api = client.get("/v1/cost", params=args)
    assert api.status_code == 200, api.text
    r = run_cli(
        _cli_db(full_db, tmp_path),
        "cost",
        "--date",
        "2026-01-15",
        "--power-price",
        "0.06",
        "--efficiency",
        "17.5",
        "--efficiency",
        "30",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    here = json.loads(r.stdout)
    assert here.pop("as_of") == here["date"] == "2026-01-15"  # the CLI names the day as every reading command
    assert _same(api.json(), here)
    got = api.json()
    assert got["date"] == "2026-01-15" and [c["efficiency_j_per_th"] for c in got["costs"]] == [17.5, 30.0]
    assert 0 < got["costs"][0]["electricity_usd_per_btc"] < got["costs"][1]["electricity_usd_per_btc"]
    default = client.get("/v1/cost").json()
    assert len(default["costs"]) == 5
    assert client.get("/v1/cost", params={"efficiency": -1}).status_code == 422


def test_review_fleet_is_all_under_water_on_both_faces(client: TestClient, full_db: Path, tmp_path: Path) -> None:
    """200 TH/s machines of 4,000 W (20 J/TH) at $0.05/kWh, PUE 1.2, 2 % pool fee, $25/PH/day:
    each loses 0.2·28.8 − 0.2·25·0.98 = $0.86 a day, so all of the hashrate is under water."""
    fleet = tmp_path / "fleet.csv"
    fleet.write_text("hashrate_ths,power_w,count\n200,4000,10\n")
    r = run_cli(
        _cli_db(full_db, tmp_path),
        "fleet",
        str(fleet),
        "--power-price",
        "0.05",
        "--pue",
        "1.2",
        "--pool-fee",
        "0.02",
        "--hashprice",
        "25",
        "--price",
        "90000",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    body = {
        "machines": [{"hashrate_ths": 200, "power_w": 4000, "count": 10}],
        "power_price_usd_per_kwh": 0.05,
        "pue": 1.2,
        "pool_fee": 0.02,
        "hashprice_usd_per_ph_day": 25,
        "btc_price_usd": 90000,
    }
    api = client.post("/v1/fleet", json=body)
    assert api.status_code == 200, api.text
    for out in (json.loads(r.stdout), api.json()):
        assert out["share_of_hashrate_under_water"] == 1.0
        (m,) = out["machines"]
        assert m["profit_usd_per_day"] == pytest.approx(0.2 * 25 * 0.98 - 0.2 * 28.8)
        assert m["profit_usd_per_day"] == pytest.approx(-0.86)
        assert m["breakeven_hashprice_usd_per_ph_day"] == pytest.approx(5.76 / (0.2 * 0.98))
        assert out["fleet"]["profit_usd_per_day"] == pytest.approx(-8.6)


# -- /v1/weekly: every figure of the weekly report as of one day ---------------------------------
def _real_period_start(data_dir: Path, height: int) -> int:
    """The first block time of the period from ``height`` [unix s], from the shared boundary file."""
    import csv

    with (data_dir / "chain-extra/period-boundary-times-2025-2026.csv").open() as f:
        (row,) = [r for r in csv.DictReader(f) if int(r["period_start"]) == height]
    return int(row["start_time"])


@pytest.mark.slow
def test_weekly_dates_the_period_in_force_past_the_per_block_data(client: TestClient, data_dir: Path) -> None:
    """2026-02-10 is after the per-block data: the adjustment in force is 935,424's, dated by its
    retarget to within 2 h of its real start (2026-02-07 13:56:45 UTC), and says how it was dated."""
    from datetime import datetime

    w = client.get("/v1/weekly", params={"as_of": "2026-02-10"})
    assert w.status_code == 200, w.text
    latest = w.json()["difficulty"]["latest"]
    assert latest["height"] == 935424
    assert latest["time_source"] in ("retarget-implied", "stored")
    real = _real_period_start(data_dir, 935424)
    assert real == 1770472605  # 2026-02-07 13:56:45 UTC
    shown = datetime.fromisoformat(latest["time"].replace("Z", "+00:00")).timestamp()
    assert abs(shown - real) < 2 * 3600, (latest["time"], real)
    rp = w.json()["running_period"]
    assert (rp["start_height"], rp["next_retarget_height"]) == (935424, 937440)
    assert rp["start_time"] == latest["time"] and rp["start_time_source"] == latest["time_source"]
    # 2026-01-31: the period from 933,408 is in force, its start stored
    jan = client.get("/v1/weekly", params={"as_of": "2026-01-31"}).json()
    assert jan["difficulty"]["latest"]["height"] == 933408
    assert jan["running_period"]["next_retarget_height"] == 935424


def test_weekly_beyond_the_data_is_a_one_line_400(client: TestClient) -> None:
    r = client.get("/v1/weekly", params={"as_of": "2099-01-01"})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail and "\n" not in detail
    assert "2099-01-01" in detail
    assert client.get("/v1/weekly", params={"as_of": "2026-02-30"}).status_code == 422


@pytest.mark.slow
def test_a_kept_weekly_answer_counts_the_days_to_the_date_it_is_asked_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's version alone does not fix /v1/weekly: its note counts the days from the
    data's end to today, so an answer kept on one date is not served on the next."""
    import re
    from datetime import UTC, date, datetime, timedelta

    from hashlens.api.routers import weekly

    def asked_on(day: date) -> int:
        class Clock(datetime):
            @classmethod
            def now(cls, tz: object = None) -> datetime:
                return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)

        monkeypatch.setattr(weekly, "datetime", Clock)
        notes = client.get("/v1/weekly", params={"as_of": "2026-02-10"}).json()["notes"]
        (n,) = [int(m[1]) for t in notes if (m := re.search(r"data end (\d+) days before today \((\S+)\)", t))]
        assert f"({day.isoformat()})" in " ".join(notes)
        return n

    first = date(2026, 12, 7)
    # 2026-02-10 to 2026-12-07 is 300 days (18 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 7)
    assert asked_on(first) == 300
    assert asked_on(first) == 300  # kept
    assert asked_on(first + timedelta(days=1)) == 301


@pytest.mark.slow
def test_weekly_days_bound_the_default(client: TestClient) -> None:
    days = client.get("/v1/weekly/days").json()
    assert days["first"] <= days["latest"] == days["default"]
    w = client.get("/v1/weekly").json()
    assert w["as_of"] == days["latest"]
    assert client.get("/v1/weekly", params={"as_of": days["first"]}).status_code == 200


@pytest.mark.slow
def test_weekly_api_equals_the_library_on_a_copy_of_the_store(
    client: TestClient, full_db: Path, tmp_path: Path
) -> None:
    """The API serves WeeklyFigures.compute(...).to_json() as it is (the report's paths and
    seed), so the API, the CLI and the report, which all render it, agree."""
    from datetime import date

    from hashlens.api.routers.weekly import PATHS, SEED
    from hashlens.store import Store
    from hashlens.weekly import WeeklyFigures

    assert (PATHS, SEED) == (20_000, 1)
    with Store(_cli_db(full_db, tmp_path), read_only=True) as s:
        for day in ("2026-01-31", "2026-02-10"):
            lib = WeeklyFigures.compute(s, date.fromisoformat(day), paths=PATHS, seed=SEED).to_json()
            api = client.get("/v1/weekly", params={"as_of": day}).json()
            for volatile in ("generated", "store"):  # when and where it was computed
                lib.pop(volatile), api.pop(volatile)
            assert _same(api, json.loads(json.dumps(lib)))


def test_a_series_too_fine_for_the_store_is_refused_naming_the_step(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hashlens.api.routers import chain

    blocks = client.get("/v1/health").json()["counts"]["blocks"]
    monkeypatch.setattr(chain, "MAX_SERIES_POINTS", 1000)
    r = client.get("/v1/hashrate/series", params={"window": 144, "step": 6})
    assert r.status_code == 400 and f"use step {-(-blocks // 1000)} or more" in r.json()["detail"]


def test_answers_are_warm_at_start_and_kept_per_store_version(full_db: Path, tmp_path: Path) -> None:
    """Started (its lifespan run), the server has every default read cached; a GET answered
    from the holder's cache is kept whole and answered again byte for byte; an import's commit
    drops it, and the next answer is the new one, equal to the library's on the new store."""
    from datetime import date

    from hashlens.api.app import WARM_PATHS
    from hashlens.api.middleware import LimitsMiddleware
    from hashlens.economics.daily import hashprice_days
    from hashlens.store import Store

    db = tmp_path / "kept.duckdb"
    db.write_bytes(full_db.read_bytes())
    app = create_app(db, token="t0ken")
    with TestClient(app) as c:
        holder = app.state.holder
        # warm at start-up: each default read's answer is cached for this version
        mw = app.middleware_stack
        while not isinstance(mw, LimitsMiddleware):
            mw = mw.app
        ok = {k[0] for k in mw.answers}  # the answers the warm-up kept (the store has no pools)
        # /v1/weekly is warm in the holder's cache, keyed by the date too: never kept whole
        assert "/v1/weekly" not in ok
        whole = set(WARM_PATHS) - {"/v1/pools", "/v1/pools/dominance", "/v1/weekly"}
        assert whole <= ok and mw.answers_version == holder.version
        for path in ok:
            assert c.get(path).status_code == 200, path
        url = "/v1/hashprice?date=2024-01-01"
        first = c.get(url)
        assert (url.split("?")[0], b"date=2024-01-01") in mw.answers
        again = c.get(url)
        assert again.content == first.content and again.headers == first.headers
        # a new price for 2024-01-02 (the price at 24:00 UTC of 2024-01-01), committed
        body = {"currency": "USD", "prices": {"2024-01-02": 12345.0}, "replace": True}
        r = c.post("/v1/import/prices", json=body, headers={"Authorization": "Bearer t0ken"})
        assert r.status_code == 200, r.text
        after = c.get(url).json()
        assert after["price_usd"] == 12345.0 != first.json()["price_usd"]
    with Store(db, read_only=True) as s:
        assert after == json.loads(hashprice_days(s, [date(2024, 1, 1)])[0].json_bytes())
