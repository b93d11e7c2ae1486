"""API load benchmark on loopback: `sh scripts/bench api [--requests N] [--concurrency C]`.

Starts `hashlens serve` on a free 127.0.0.1 port over a store built from ../shared/data, warms
it, then sends a bounded mix of the dashboard's requests. The baseline is the same request mix
sent one at a time (concurrency 1), measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.load import run_load
from hashlens.chain.sync import sync
from hashlens.economics.daily import import_prices
from hashlens.miners.storeio import ensure_sample
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    data = require_data_dir()
    db = Path(tempfile.mkdtemp()) / "api.duckdb"
    with Store(db) as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", str(db), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/v1/health", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        run_load(url, 200, 4)  # warm the caches
        serial = run_load(url, min(1000, args.requests), 1)
        load = run_load(url, args.requests, args.concurrency)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print(f"API on loopback, {load.requests:,} requests of a {11}-call mix, concurrency {args.concurrency}:")
    print(
        f"  {load.rps:8,.0f} req/s  p50 {load.p50_ms:6.1f} ms  p99 {load.p99_ms:6.1f} ms  max {load.max_ms:6.1f} ms  "
        f"errors {load.errors}"
    )
    print(
        f"  baseline, one at a time: {serial.rps:8,.0f} req/s  p99 {serial.p99_ms:6.1f} ms  "
        f"-> concurrency gives {load.rps / serial.rps:.2f}x"
    )


if __name__ == "__main__":
    main()
