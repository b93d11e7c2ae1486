"""Clients for public BTC price APIs a self-hosted user would point hashlens at.

Two documented formats, each read into daily :class:`~hashlens.sources.prices.PricePoint` rows
dated by the UTC day whose opening price they carry (the price at 00:00 UTC of the day, the
same convention as the shared daily USD series, whose price is the first minute's close):

- ``kraken+http(s)://host[/0]`` — an exchange's public OHLC REST API, as Kraken documents it
  (Spot REST API 1.1.0, "Get OHLC Data", ``GET /0/public/OHLC?pair=XBTUSD&interval=1440&since=T``):
  ``{"error": [], "result": {"<pair>": [[time, "open", "high", "low", "close", "vwap", "volume",
  count], …], "last": T}}``. At most 720 candles come per request, the last one the current,
  not yet closed interval (left out here); the client pages with ``since``. Daily candles give
  the day's ``open``; hourly ones (``interval=60``) the open of the 00:00 candle.
- ``mempool+http(s)://host/api`` — mempool.space's ``GET /api/v1/historical-price?currency=USD``
  (its REST API reference, "Historical Price"): ``{"prices": [{"time": T, "USD": p, "EUR": p,
  …}], "exchangeRates": {…}}``, prices as integers of the currency.

Gaps (missing days) and outliers (a price more than 10× off the median of its neighbours)
are found by :func:`screen_prices` and reported; the importer refuses them unless allowed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from hashlens.errors import HashlensError
from hashlens.sources.prices import PricePoint, find_gaps
from hashlens.sources.remote import with_retries

OUTLIER_FACTOR = 10.0
OUTLIER_WINDOW = 3  # neighbours on each side


def _get_json(url: str, timeout_s: float) -> Any:
    def fetch() -> Any:
        try:
            with urllib.request.urlopen(url, timeout=timeout_s) as resp:
                body = resp.read(64 * 1024 * 1024 + 1)
        except urllib.error.HTTPError as exc:
            raise HashlensError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        if len(body) > 64 * 1024 * 1024:
            raise HashlensError(f"{url}: answer larger than 64 MB; not a price API")
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise HashlensError(f"{url}: answer is not JSON") from None

    return with_retries(fetch, url)


def _day(ts: Any, where: str) -> date:
    try:
        return datetime.fromtimestamp(int(ts), tz=UTC).date()
    except (TypeError, ValueError, OverflowError, OSError):
        raise HashlensError(f"{where}: time {ts!r} is not Unix seconds") from None


def _price(v: Any, where: str) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError, OverflowError):
        raise HashlensError(f"{where}: price {v!r} is not a number") from None
    if not np.isfinite(x) or x <= 0:
        raise HashlensError(f"{where}: price {v!r} must be positive")
    return x


@dataclass
class KrakenOHLC:
    """Daily opening prices from an exchange's public OHLC API (Kraken's format)."""

    url: str
    pair: str = "XBTUSD"
    currency: str = "USD"
    interval_min: int = 1440
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("kraken+http://", "kraken+https://")):
            raise HashlensError(f"{self.url!r}: expected kraken+http(s)://host[/0]")
        base = self.url.removeprefix("kraken+").rstrip("/")
        self.base = base if base.endswith("/0") else base + "/0"
        if self.interval_min not in (60, 1440):
            raise HashlensError("the OHLC interval must be 60 (hourly) or 1440 (daily) minutes")

    def _page(self, since: int) -> tuple[list[list[Any]], int]:
        q = urllib.parse.urlencode({"pair": self.pair, "interval": self.interval_min, "since": since})
        url = f"{self.base}/public/OHLC?{q}"
        doc = _get_json(url, self.timeout_s)
        if not isinstance(doc, dict) or doc.get("error"):
            raise HashlensError(f"{url}: the API says {doc.get('error') if isinstance(doc, dict) else doc!r}")
        result = doc.get("result")
        if not isinstance(result, dict):
            raise HashlensError(f"{url}: no 'result' object")
        candles = next((v for k, v in result.items() if k != "last" and isinstance(v, list)), None)
        last = result.get("last")
        if candles is None or not isinstance(last, int):
            raise HashlensError(f"{url}: 'result' has no candle list and 'last' time")
        return candles, last

    def daily_prices(self, since: int = 0, max_pages: int = 1000) -> list[PricePoint]:
        """Every closed candle from ``since`` [Unix s], paged; one price per UTC day."""
        out: dict[date, float] = {}
        for _ in range(max_pages):
            candles, last = self._page(since)
            closed = candles[:-1]  # the last candle is the running interval
            for c in closed:
                where = f"{self.base} candle {c!r:.60}"
                if not isinstance(c, list) or len(c) < 8:
                    raise HashlensError(f"{where}: expected [time, open, high, low, close, vwap, volume, count]")
                t = int(_price(c[0], where))
                if self.interval_min == 1440 or t % 86_400 == 0:
                    out.setdefault(_day(t, where), _price(c[1], where))
            if not closed or last <= since:
                break
            since = last
        return [PricePoint(d, self.currency, p) for d, p in sorted(out.items())]


@dataclass
class MempoolPrices:
    """Daily prices from a mempool-style ``historical-price`` API."""

    url: str
    currency: str = "USD"
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("mempool+http://", "mempool+https://")):
            raise HashlensError(f"{self.url!r}: expected mempool+http(s)://host/api")
        self.base = self.url.removeprefix("mempool+").rstrip("/")

    def daily_prices(self) -> list[PricePoint]:
        q = urllib.parse.urlencode({"currency": self.currency.upper()})
        url = f"{self.base}/v1/historical-price?{q}"
        doc = _get_json(url, self.timeout_s)
        rows = doc.get("prices") if isinstance(doc, dict) else None
        if not isinstance(rows, list):
            raise HashlensError(f"{url}: expected an object with a 'prices' list")
        out: dict[date, float] = {}
        cur = self.currency.upper()
        for i, r in enumerate(rows):
            where = f"{url} prices[{i}]"
            if not isinstance(r, dict) or "time" not in r or cur not in r:
                raise HashlensError(f"{where}: expected {{'time': …, '{cur}': …}}")
            if r[cur] in (0, -1):  # the API's "no price for this currency then"
                continue
            out.setdefault(_day(r["time"], where), _price(r[cur], where))
        return [PricePoint(d, cur, p) for d, p in sorted(out.items())]


@dataclass(frozen=True)
class Screen:
    """What :func:`screen_prices` found in a series."""

    gaps: dict[str, list[date]]
    outliers: list[tuple[date, str, float, float]]  # day, currency, price, neighbours' median


def screen_prices(points: list[PricePoint], factor: float = OUTLIER_FACTOR) -> Screen:
    """Missing days, and prices more than ``factor``× above or below the median of their
    ``OUTLIER_WINDOW`` neighbours on each side (a typo'd or unit-shifted price)."""
    outliers = []
    by_cur: dict[str, list[PricePoint]] = {}
    for p in points:
        by_cur.setdefault(p.currency, []).append(p)
    for cur, pts in by_cur.items():
        pts.sort(key=lambda p: p.day)
        x = np.array([p.price for p in pts])
        for i, p in enumerate(pts):
            nb = np.concatenate([x[max(0, i - OUTLIER_WINDOW) : i], x[i + 1 : i + 1 + OUTLIER_WINDOW]])
            if nb.size:
                med = float(np.median(nb))
                if p.price > factor * med or p.price * factor < med:
                    outliers.append((p.day, cur, p.price, med))
    return Screen(find_gaps(points), outliers)


def open_price_source(url: str, currency: str = "USD", interval_min: int = 1440) -> KrakenOHLC | MempoolPrices:
    """A client for ``kraken+http(s)://…`` or ``mempool+http(s)://…``."""
    if url.startswith("kraken+"):
        pair = {"USD": "XBTUSD", "EUR": "XBTEUR"}.get(currency.upper(), f"XBT{currency.upper()}")
        return KrakenOHLC(url, pair, currency.upper(), interval_min)
    if url.startswith("mempool+"):
        return MempoolPrices(url, currency)
    raise HashlensError(f"{url!r}: a price source is kraken+http(s)://host or mempool+http(s)://host/api")
