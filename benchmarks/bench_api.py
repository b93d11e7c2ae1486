"""API load benchmark on loopback: `sh scripts/bench api [--requests N] [--concurrency C]`.

Starts `hashlens serve` on a free 127.0.0.1 port over a store built from ../shared/data and, in
the same run, a bare FastAPI app (same uvicorn) that answers every path with the bytes hashlens
gave for it — the floor of the framework. Three loads, each beside its baselines:

- cached: /v1/difficulty, /v1/halving, /v1/hashprice (latest) — hashlens vs the bare app;
- mixed: difficulty, hashprice on a random day (5,000 days, mostly uncached), a posted fleet and
  the dashboard page — hashlens at concurrency C vs the same mix one request at a time and vs
  the bare app; the mix of the service issue (20,000 requests, concurrency 32 by default).
The client is the same Python load generator for all, on the same 2 cores as the servers.

With ``--postgresql`` it also copies the store into a throwaway PostgreSQL cluster (Debian's
binaries, as the tests start it) and runs the mixed load against ``serve --workers 2`` on it,
beside ``serve`` on the DuckDB file (issue: a shared store for teams).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from benchmarks.load import LoadResult, run_load
from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.miners.storeio import ensure_sample
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store

Call = tuple[str, str, dict | None]
CACHED: list[Call] = [("GET", "/v1/difficulty", None), ("GET", "/v1/halving", None), ("GET", "/v1/hashprice", None)]
FLEET = {"machines": [{"model": "S21", "count": 100}, {"model": "S19 XP", "count": 50}]}


def mixed_calls(n: int, seed: int = 1) -> list[Call]:
    rng = random.Random(seed)
    first = date(2012, 1, 2)
    out: list[Call] = []
    for i in range(n):
        k = i % 4
        if k == 0:
            out.append(("GET", "/v1/difficulty", None))
        elif k == 1:
            d = first + timedelta(days=rng.randrange(5000))
            out.append(("GET", f"/v1/hashprice?date={d.isoformat()}", None))
        elif k == 2:
            out.append(("POST", "/v1/fleet", FLEET))
        else:
            out.append(("GET", "/", None))
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: str, *args: str) -> tuple[subprocess.Popen[bytes], str]:
    """`hashlens --db DB serve` on a free loopback port, up and answering; (process, URL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", db, "serve", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    url = f"http://127.0.0.1:{port}"
    wait_up(url + "/v1/health")
    return proc, url


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


BARE = textwrap.dedent(
    """
    import json, sys, uvicorn
    from fastapi import FastAPI, Request, Response
    bodies = json.load(open(sys.argv[1]))
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def any_path(request: Request, path: str) -> Response:
        await request.body()
        body = bodies.get("/" + path) or bodies["/v1/difficulty"]
        return Response(body.encode(), media_type="application/json")

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    """
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--postgresql", action="store_true", help="also serve --workers 2 on PostgreSQL")
    args = ap.parse_args()
    data = require_data_dir()
    tmp = Path(tempfile.mkdtemp())
    db = tmp / "api.duckdb"
    with Store(db) as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    bare_port = free_port()
    proc, url = start_server(str(db))
    try:
        bodies = {p: urllib.request.urlopen(url + p, timeout=60).read().decode() for _, p, _ in CACHED}
        (tmp / "bodies.json").write_text(json.dumps(bodies))
        (tmp / "bare.py").write_text(BARE)
        bare = subprocess.Popen([sys.executable, str(tmp / "bare.py"), str(tmp / "bodies.json"), str(bare_port)])
        bare_url = f"http://127.0.0.1:{bare_port}"
        try:
            wait_up(bare_url + "/v1/difficulty")
            run_load(url, 300, 4, mix=CACHED)
            run_load(bare_url, 300, 4, mix=CACHED)
            cached = run_load(url, args.requests, args.concurrency, mix=CACHED)
            cached_bare = run_load(bare_url, args.requests, args.concurrency, mix=CACHED)
            mix = mixed_calls(args.requests)
            mixed_serial = run_load(url, min(2000, args.requests), 1, mix=mixed_calls(2000, seed=2))
            mixed = run_load(url, args.requests, args.concurrency, mix=mix)
            mixed_bare = run_load(bare_url, args.requests, args.concurrency, mix=mix)
        finally:
            bare.terminate()
            bare.wait(20)
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    def line(name: str, r: LoadResult) -> str:
        return f"  {name:<34} {r.rps:8,.0f} req/s  p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  errors {r.errors}"

    print(f"API on loopback, {args.requests:,} requests per load, concurrency {args.concurrency}:")
    print("cached reads (difficulty, halving, hashprice):")
    print(line("hashlens", cached))
    print(line("bare FastAPI, same bytes", cached_bare))
    print(f"  -> hashlens / bare FastAPI: {cached.rps / cached_bare.rps:.2f}x")
    print("mixed (difficulty, hashprice on random days, fleet, dashboard page):")
    print(line("hashlens", mixed))
    print(line("hashlens, one at a time", mixed_serial))
    print(line("bare FastAPI, same paths", mixed_bare))
    print(
        f"  -> concurrency gives {mixed.rps / mixed_serial.rps:.2f}x; hashlens / bare FastAPI: "
        f"{mixed.rps / mixed_bare.rps:.2f}x"
    )
    if args.postgresql:
        pg_mixed, pg_cached = postgres_load(db, args.requests, args.concurrency)
        print("PostgreSQL, serve --workers 2 (same loads):")
        print(line("cached", pg_cached))
        print(line("mixed", pg_mixed))
        print(
            f"  -> PostgreSQL x2 / DuckDB x1: cached {pg_cached.rps / cached.rps:.2f}x, "
            f"mixed {pg_mixed.rps / mixed.rps:.2f}x"
        )


def postgres_load(db: Path, requests: int, concurrency: int) -> tuple[LoadResult, LoadResult]:
    """The same loads against `serve --workers 2` on a PostgreSQL copy of the store."""
    from tests.pg import own_server_with, pg_bindir

    if pg_bindir() is None:
        raise SystemExit("--postgresql needs PostgreSQL's server binaries (Debian: apt-get install postgresql)")
    with own_server_with(db, "bench") as (_, url):
        proc, base = start_server(url, "--workers", "2")
        try:
            run_load(base, 600, 8, mix=CACHED)
            run_load(base, 600, 8, mix=mixed_calls(600, seed=3))
            cached = run_load(base, requests, concurrency, mix=CACHED)
            mixed = run_load(base, requests, concurrency, mix=mixed_calls(requests))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return mixed, cached


if __name__ == "__main__":
    main()
