"""The HTTP API as a program uses it: figures, bounded inputs, 4xx never 5xx, token-gated imports."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hashlens.api.app import create_app


@pytest.fixture(scope="module")
def client(full_db: Path, tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    db = tmp_path_factory.mktemp("api") / "api.duckdb"
    db.write_bytes(full_db.read_bytes())
    return TestClient(create_app(db, token="s3cret"))


def test_read_endpoints(client: TestClient) -> None:
    d = client.get("/v1/difficulty").json()
    assert d["latest_adjustment"]["height"] == 965664
    hist = client.get("/v1/difficulty/history").json()
    assert len(hist) == 479 and {"height", "change_pct", "rank_among_drops", "streak"} <= set(hist[0])
    hr = client.get("/v1/hashrate", params={"window": "7d"}).json()
    assert hr["low_ehs"] < hr["hashrate_ehs"] < hr["high_ehs"]
    hp = client.get("/v1/hashprice", params={"date": "2026-01-15", "price": 100000}).json()
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
            "greater than 0",
        ),
        ("post", "/v1/simulate", {"paths": 20000, "scenario": {"name": "x", "days": 730}}, 422, "too large"),
        ("post", "/v1/simulate", {"paths": 10**9, "scenario": {"name": "x"}}, 422, "less than or equal"),
        (
            "post",
            "/v1/simulate",
            {"scenario": {"name": "x", "price": {"model": "gbm", "sigma_annual": -1}}},
            400,
            "price.sigma_annual",
        ),
        ("get", "/v1/hashprice?date=1800-01-01", None, 422, "between"),
        ("get", "/v1/hashprice?price=-3", None, 422, "greater than 0"),
        ("get", "/v1/hashrate?window=nope", None, 422, "pattern"),
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
