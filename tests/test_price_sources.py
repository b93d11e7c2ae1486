"""Price API clients against a loopback server that replays the shared price files in each
API's documented format (tests/price_replay.py)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest

from hashlens.errors import HashlensError
from hashlens.sources.price_apis import KrakenOHLC, MempoolPrices, screen_prices
from hashlens.store import Store
from tests.helpers import run_cli
from tests.price_replay import PriceData, serve_prices


@pytest.fixture(scope="module")
def prices(data_dir: Path) -> PriceData:
    return PriceData(data_dir)


@pytest.fixture(scope="module")
def daily(data_dir: Path) -> dict[date, dict[str, str]]:
    with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
        return {date.fromisoformat(r["Date"]): r for r in csv.DictReader(fh)}


def test_ohlc_api_pages_through_the_whole_daily_series(prices: PriceData, daily: dict[date, dict[str, str]]) -> None:
    """5,348 days come in pages of 720 candles; the last day is the running candle, left out."""
    with serve_prices(prices) as url:
        pts = KrakenOHLC(f"kraken+{url}").daily_prices()
    days = sorted(daily)
    assert [p.day for p in pts] == days[:-1]
    assert all(p.price == float(daily[p.day]["BTC_USD"]) and p.currency == "USD" for p in pts)
    screen = screen_prices(pts)
    assert not screen.gaps and not screen.outliers


def test_hourly_candles_give_the_opening_price_and_flag_the_gap(
    prices: PriceData, daily: dict[date, dict[str, str]], data_dir: Path
) -> None:
    """The 00:00 hourly open of another source agrees with the daily file within 0.25 % (the
    shared files' own cross-check), and the hourly file's 25-hour hole is reported as a gap."""
    with serve_prices(prices) as url:
        pts = KrakenOHLC(f"kraken+{url}", interval_min=60).daily_prices()
    rel = [abs(p.price / float(daily[p.day]["BTC_USD"]) - 1) for p in pts if p.day in daily]
    assert len(rel) >= 180 and max(rel) < 0.0025
    with open(data_dir / "market/btc-usd-hourly-cryptocompare-2025-05-13_2025-11-22.csv") as fh:
        hours = {int(r["time_unix"]) for r in csv.DictReader(fh)}
    midnights = {t // 86400 for t in hours if t % 86400 == 0}
    first, last = min(midnights), max(midnights)
    missing = [date.fromordinal(date(1970, 1, 1).toordinal() + d) for d in range(first, last) if d not in midnights]
    assert screen_prices(pts).gaps == {"USD": missing} and len(missing) >= 1


def test_mempool_historical_price(prices: PriceData, daily: dict[date, dict[str, str]]) -> None:
    with serve_prices(prices) as url:
        pts = MempoolPrices(f"mempool+{url}/api", "EUR").daily_prices()
    assert len(pts) == len(daily)
    assert all(p.price == round(float(daily[p.day]["BTC_EUR"])) for p in pts)


def test_an_outlier_is_refused_and_nothing_is_stored(prices: PriceData, tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    prices.tamper = {date(2024, 3, 5): 10.5}
    try:
        with serve_prices(prices) as url:
            r = run_cli(db, "prices", "sync", f"kraken+{url}")
            assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
            assert "2024-03-05" in r.stderr and "--allow-outliers" in r.stderr
            with Store(db) as s:
                assert s.counts()["prices"] == 0
            pts = MempoolPrices(f"mempool+{url}/api").daily_prices()
            assert [o[0] for o in screen_prices(pts).outliers] == [date(2024, 3, 5)]
    finally:
        prices.tamper = {}


@pytest.mark.slow
def test_cli_sync_stores_the_series(prices: PriceData, daily: dict[date, dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "p.duckdb"
    with serve_prices(prices) as url:
        r = run_cli(db, "prices", "sync", f"kraken+{url}", "--json")
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["rows"] == len(daily) - 1
        bad = run_cli(db, "prices", "sync", f"kraken+{url}", "--currency", "XYZ")
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stderr.count("\n") == 1
    with Store(db) as s:
        d = date(2026, 2, 6)
        assert s.price_on(d) == float(daily[d]["BTC_USD"])


def test_bad_answers_are_one_line_errors() -> None:
    with pytest.raises(HashlensError, match="expected kraken"):
        KrakenOHLC("http://x")
    with pytest.raises(HashlensError, match="expected mempool"):
        MempoolPrices("kraken+http://x")
