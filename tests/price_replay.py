"""A loopback server replaying the shared price files in two public APIs' documented formats:
an exchange's OHLC API (Kraken's ``/0/public/OHLC``) and mempool.space's
``/api/v1/historical-price``. The data are the real shared series; only the wire format is
the API's."""

from __future__ import annotations

import csv
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MEMPOOL_CURRENCIES = ("USD", "EUR", "GBP", "CAD", "CHF", "AUD", "JPY")


def _ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


class PriceData:
    """The shared daily multi-currency file and the hourly USD file, read once."""

    def __init__(self, data_dir: Path) -> None:
        with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
            rows = sorted(csv.DictReader(fh), key=lambda r: r["Date"])
        self.daily = [(date.fromisoformat(r["Date"]), r) for r in rows]
        with open(data_dir / "market/btc-usd-hourly-cryptocompare-2025-05-13_2025-11-22.csv") as fh:
            self.hourly = sorted(csv.DictReader(fh), key=lambda r: int(r["time_unix"]))
        self.tamper: dict[date, float] = {}  # day -> factor, to plant an outlier

    def candles(self, interval: int, currency: str) -> list[list[Any]]:
        if interval == 60:
            return [
                [int(r["time_unix"]), r["open"], r["high"], r["low"], r["close"], r["close"], r["volume_btc"], 1]
                for r in self.hourly
            ]
        out = []
        for d, r in self.daily:
            p = float(r[f"BTC_{currency}"]) * self.tamper.get(d, 1.0)
            s = repr(p)
            out.append([_ts(d), s, s, s, s, s, "0.0", 1])
        return out


class _Handler(BaseHTTPRequestHandler):
    data: PriceData

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, doc: Any, status: int = 200) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/0/public/OHLC":
            pair = q.get("pair", "XBTUSD")
            currency = pair.removeprefix("XBT")
            interval, since = int(q.get("interval", "1")), int(q.get("since", "0"))
            if interval not in (60, 1440) or currency not in ("USD", "EUR"):
                self._send({"error": ["EQuery:Unknown asset pair"], "result": {}})
                return
            later = [c for c in self.data.candles(interval, currency) if c[0] > since]
            page = later[:720]
            # As the exchange does: the last entry is the running interval, `last` the last closed one.
            running = later[720] if len(later) > 720 else None
            candles = page + ([running] if running else [])
            last = page[-2][0] if running is None and len(page) > 1 else (page[-1][0] if page else since)
            self._send({"error": [], "result": {f"X{pair[:3]}Z{currency}": candles, "last": last}})
        elif url.path == "/api/v1/historical-price":
            cur = q.get("currency")
            prices = []
            for d, r in self.data.daily:
                row: dict[str, Any] = {"time": _ts(d)}
                for c in MEMPOOL_CURRENCIES:
                    if cur is None or c == cur:
                        row[c] = round(float(r[f"BTC_{c}"]) * self.data.tamper.get(d, 1.0))
                prices.append(row)
            last = self.data.daily[-1][1]
            rates = {f"USD{c}": float(last[f"BTC_{c}"]) / float(last["BTC_USD"]) for c in MEMPOOL_CURRENCIES[1:]}
            self._send({"prices": prices, "exchangeRates": rates})
        else:
            self._send({"error": ["EGeneral:Unknown method"]}, 404)


@contextmanager
def serve_prices(data: PriceData) -> Iterator[str]:
    """Serve ``data`` on a loopback port; yields the base URL (http://127.0.0.1:PORT)."""
    handler = type("Handler", (_Handler,), {"data": data})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
