"""A loopback server replaying the shared real chain and price data as a mempool instance's
REST API (and as an Esplora instance's), in the formats their API references document.

The replay is the chain as it stood when block ``tip`` (default 942,199, the last block of
``chain-2026/block-times-934576-942199.csv``, 2026-03-25 20:32:28 UTC) was the newest: nothing
above the tip is served, and prices only up to the tip's UTC day. A record carries only the
fields the shared files hold for its height; nothing is made up:

- ``id``, ``timestamp``, ``mediantime``, ``tx_count``, ``size``, ``weight`` and
  ``extras.totalFees``: ``chain/blockstats-btc-rpc-data.csv.gz`` (five windows of heights);
- ``previousblockhash``: the hash of the block below, where a file holds it (the row below,
  a full header, Electrum's last block of a period);
- ``version``, ``merkle_root``, ``nonce`` and ``extras.header``: full 80-byte headers
  (bitcoinj's period starts, the verified headers) — the only heights where a page's record
  rebuilds to a header;
- ``timestamp`` alone: ``chain-2026/block-times-…`` and the period boundary times (no hash);
- ``bits`` and ``difficulty``: the period's target in the Electrum checkpoints, encoded and
  turned into Core's ``GetDifficulty`` double here (own code, not hashlens');
- ``extras.pool`` (``id``, ``name``): the per-block pool label of
  ``pools/canhui-pool-label-per-block-400000-546235.csv`` where ``pools/mempool-pools-v2.json``
  has a pool of that name.

Endpoints (all under ``/api``): ``/blocks/tip/height``, ``/block-height/<h>``,
``/v1/blocks[/<h>]`` (15 blocks from ``h`` down, with ``extras``), ``/blocks[/<h>]`` (10,
Esplora's, without), ``/v1/mining/difficulty-adjustments`` (``[time, height, difficulty,
adjustment]`` of every period whose difficulty changed, newest first, the adjustment rounded
to 6 decimals as mempool's indexer does; times from bitcoinj, the boundary-times file and
the block rows), ``/v1/historical-price?currency=X`` (the daily multi-currency file, prices as
integers of the currency, as mempool sends them). ``esplora=True`` answers every ``/v1/``
path 404, as a plain Esplora does.

Faults for tests: ``delay_s`` before each answer; ``genesis`` replaces block 0's hash;
``tamper`` replaces fields of one height's record; ``price_body`` replaces the price answer;
``price_factor`` scales one day's prices; ``adjust_tamper`` replaces adjustment entries.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import math
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

N = 2016
CURRENCIES = ("USD", "EUR", "GBP", "CAD", "CHF", "AUD", "JPY")
#: The last height of chain-2026/block-times-934576-942199.csv.
DEFAULT_TIP = 942_199


def compact(target: int) -> int:
    """Core's GetCompact of a non-negative target (written here, independently of hashlens)."""
    size = (target.bit_length() + 7) // 8
    mantissa = target << (8 * (3 - size)) if size <= 3 else target >> (8 * (size - 3))
    if mantissa & 0x00800000:
        mantissa >>= 8
        size += 1
    return (size << 24) | mantissa


def core_difficulty(bits: int) -> float:
    """Core's GetDifficulty: 0xffff / mantissa scaled by 256 per exponent step from 29."""
    shift = (bits >> 24) & 0xFF
    d = 65535.0 / float(bits & 0x00FFFFFF)
    while shift < 29:
        d *= 256.0
        shift += 1
    while shift > 29:
        d /= 256.0
        shift -= 1
    return d


def header_fields(raw: bytes) -> dict[str, Any]:
    """A raw 80-byte header as mempool's block fields."""
    version, prev, merkle, t, bits, nonce = struct.unpack("<i32s32sIII", raw)
    digest = hashlib.sha256(hashlib.sha256(raw).digest()).digest()
    return {
        "id": digest[::-1].hex(),
        "version": version,
        "timestamp": t,
        "bits": bits,
        "nonce": nonce,
        "merkle_root": merkle[::-1].hex(),
        "previousblockhash": prev[::-1].hex(),
    }


def _day_ts(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


class ChainFiles:
    """The shared files, read once (a session fixture): records by height, bits by period,
    period start times, prices by day."""

    def __init__(self, data_dir: Path) -> None:
        chain, extra, c26 = data_dir / "chain", data_dir / "chain-extra", data_dir / "chain-2026"
        electrum = json.loads((chain / "electrum-mainnet-checkpoints.json").read_text())
        self.bits = {0: 0x1D00FFFF} | {i + 1: compact(int(t)) for i, (_, t) in enumerate(electrum)}
        self.last_hash = {i: h for i, (h, _) in enumerate(electrum)}  # period -> hash of block 2016i+2015
        self.blocks: dict[int, dict[str, Any]] = {}
        self.headers: dict[int, bytes] = {}
        lines = (chain / "bitcoinj-mainnet-checkpoints.txt").read_text().splitlines()
        for line in filter(None, lines[3:]):
            raw = base64.b64decode(line)
            self.headers[int.from_bytes(raw[12:16], "big")] = raw[16:96]
        for f in (extra / "verified-mainnet-headers-2025-2026.csv", c26 / "mainnet-headers-2026-09.csv"):
            with open(f) as fh:
                for row in csv.DictReader(fh):
                    self.headers[int(row["height"])] = bytes.fromhex(row["header_hex"])
        self.times: dict[int, int] = {}
        with open(extra / "period-boundary-times-2025-2026.csv") as fh:
            for row in csv.DictReader(fh):
                self.times[int(row["period_start"])] = int(row["start_time"])
                if row["last_height"] and row["last_time"]:
                    self.times[int(row["last_height"])] = int(row["last_time"])
        with open(c26 / "block-times-934576-942199.csv") as fh:
            for row in csv.DictReader(fh):
                self.times[int(row["height"])] = int(row["time"])
        self.stats: dict[int, dict[str, Any]] = {}
        with gzip.open(chain / "blockstats-btc-rpc-data.csv.gz", "rt", newline="") as fh:
            for row in csv.DictReader(fh):
                h = int(row["height"])
                self.stats[h] = {
                    "id": row["blockhash"],
                    "timestamp": int(float(row["time"])),
                    "mediantime": int(float(row["mediantime"])),
                    "tx_count": int(float(row["txs"])),
                    "size": int(float(row["total_size"])),
                    "weight": int(float(row["total_weight"])),
                    "totalFees": int(float(row["totalfee"])),
                }
        pools = json.loads((data_dir / "pools/mempool-pools-v2.json").read_text())
        by_name = {p["name"].lower(): p for p in pools}
        self.pool: dict[int, dict[str, Any]] = {}
        with open(data_dir / "pools/canhui-pool-label-per-block-400000-546235.csv") as fh:
            for row in csv.DictReader(fh):
                p = by_name.get(row["miningpool"].lower())
                if p is not None:
                    self.pool[int(row["blockid"])] = {"id": p["id"], "name": p["name"]}
        with open(data_dir / "market/btc-daily-prices-multi-currency.csv") as fh:
            self.prices = sorted(((date.fromisoformat(r["Date"]), r) for r in csv.DictReader(fh)), key=lambda x: x[0])
        self._build()

    def hash_at(self, h: int) -> str | None:
        if h in self.headers:
            return str(header_fields(self.headers[h])["id"])
        if h in self.stats:
            return str(self.stats[h]["id"])
        if (h + 1) % N == 0 and h // N in self.last_hash:
            return self.last_hash[h // N]
        return None

    def _build(self) -> None:
        heights = set(self.stats) | set(self.headers) | set(self.times)
        for h in sorted(heights):
            if h // N not in self.bits:
                continue  # no target for the period in the files: not served
            rec: dict[str, Any] = {"height": h}
            extras: dict[str, Any] = {}
            s = self.stats.get(h)
            if s is not None:
                rec |= {k: s[k] for k in ("id", "timestamp", "mediantime", "tx_count", "size", "weight")}
                extras["totalFees"] = s["totalFees"]
            if h in self.headers:
                rec |= header_fields(self.headers[h])
                extras["header"] = self.headers[h].hex()
            elif "timestamp" not in rec:
                rec["timestamp"] = self.times[h]
            if "previousblockhash" not in rec and "id" in rec and h > 0:
                below = self.hash_at(h - 1)
                if below is not None:
                    rec["previousblockhash"] = below
            rec["bits"] = self.bits[h // N]
            rec["difficulty"] = core_difficulty(rec["bits"])
            if h in self.pool and "id" in rec:
                extras["pool"] = self.pool[h]
            if extras and "id" in rec:
                rec["extras"] = extras
            self.blocks[h] = rec

    def start_time(self, p: int) -> int | None:
        h = p * N
        if h in self.headers:
            return int(header_fields(self.headers[h])["timestamp"])
        if h in self.stats:
            return int(self.stats[h]["timestamp"])
        return self.times.get(h)


@dataclass
class MempoolReplay:
    """The served world: ``files`` up to ``tip``, and the faults a test sets."""

    files: ChainFiles
    tip: int = DEFAULT_TIP
    esplora: bool = False
    delay_s: float = 0.0
    genesis: str | None = None
    tamper: dict[int, dict[str, Any]] = field(default_factory=dict)
    price_body: bytes | None = None
    price_factor: dict[date, float] = field(default_factory=dict)
    adjust_tamper: dict[int, list[Any]] = field(default_factory=dict)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def present(self) -> int:
        """The tip's time [Unix s]: the replay's now."""
        return int(self.files.blocks[self.tip]["timestamp"])

    @property
    def last_day(self) -> date:
        """The tip's UTC day: the last day the replay has a price for."""
        return datetime.fromtimestamp(self.present, UTC).date()

    def record(self, h: int, extras: bool) -> dict[str, Any] | None:
        rec = self.files.blocks.get(h)
        if rec is None or h > self.tip:
            return None
        out = dict(rec) | self.tamper.get(h, {})
        if not extras:
            out.pop("extras", None)
        return out

    def page(self, top: int, size: int, extras: bool) -> list[dict[str, Any]]:
        top = min(top, self.tip)
        recs = (self.record(h, extras) for h in range(top, max(-1, top - size), -1))
        return [r for r in recs if r is not None]

    def adjustments(self) -> list[list[Any]]:
        out: list[list[Any]] = []
        prev_d: float | None = None
        prev_bits: int | None = None
        for p in range(self.tip // N + 1):
            bits = self.files.bits.get(p)
            if bits is None:
                break
            if bits != prev_bits:
                t = self.files.start_time(p)
                d = core_difficulty(bits)
                if t is not None:
                    ratio = 0.0 if prev_d is None else math.floor(d / prev_d * 1e6 + 0.5) / 1e6
                    out.append(self.adjust_tamper.get(p * N, [t, p * N, d, ratio]))
                prev_d, prev_bits = d, bits
        return out[::-1]

    def prices(self, currency: str | None) -> dict[str, Any]:
        rows = []
        for d, r in self.files.prices:
            if d > self.last_day:
                break
            row: dict[str, Any] = {"time": _day_ts(d)}
            for c in CURRENCIES:
                if currency is None or c == currency:
                    row[c] = round(float(r[f"BTC_{c}"]) * self.price_factor.get(d, 1.0))
            rows.append(row)
        last = next(r for d, r in reversed(self.files.prices) if d <= self.last_day)
        rates = {f"USD{c}": float(last[f"BTC_{c}"]) / float(last["BTC_USD"]) for c in CURRENCIES[1:]}
        return {"prices": rows, "exchangeRates": rates}


class _Handler(BaseHTTPRequestHandler):
    replay: MempoolReplay
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        r = self.replay
        with r.lock:
            r.requests += 1
        if r.delay_s:
            time.sleep(r.delay_s)
        url = urllib.parse.urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts[:1] != ["api"]:
            return self._send(404, b"Not found", "text/plain")
        parts = parts[1:]
        if parts[:1] == ["v1"] and r.esplora:
            return self._send(404, b"Not found", "text/plain")
        if parts == ["blocks", "tip", "height"]:
            return self._send(200, str(r.tip).encode(), "text/plain")
        if len(parts) == 2 and parts[0] == "block-height" and parts[1].isdigit():
            h = int(parts[1])
            x = r.genesis if h == 0 and r.genesis else (r.record(h, False) or {}).get("id")
            return self._send(200, x.encode(), "text/plain") if x else self._send(404, b"Block not found", "text/plain")
        if parts[:2] == ["v1", "blocks"] and len(parts) <= 3:
            top = int(parts[2]) if len(parts) == 3 and parts[2].isdigit() else r.tip
            return self._send(200, json.dumps(r.page(top, 15, True)).encode())
        if parts[:1] == ["blocks"] and len(parts) <= 2:
            top = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else r.tip
            return self._send(200, json.dumps(r.page(top, 10, False)).encode())
        if parts == ["v1", "mining", "difficulty-adjustments"]:
            return self._send(200, json.dumps(r.adjustments()).encode())
        if parts == ["v1", "historical-price"]:
            if r.price_body is not None:
                return self._send(200, r.price_body)
            q = dict(urllib.parse.parse_qsl(url.query))
            return self._send(200, json.dumps(r.prices(q.get("currency"))).encode())
        return self._send(404, b"Not found", "text/plain")


@contextmanager
def serve_mempool(replay: MempoolReplay) -> Iterator[str]:
    """Serve ``replay`` on a loopback port; yields the API's root, http://127.0.0.1:PORT/api."""
    handler = type("Handler", (_Handler,), {"replay": replay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
