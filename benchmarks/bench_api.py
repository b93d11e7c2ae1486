"""API load benchmark on loopback: ``python benchmarks/bench_api.py [--smoke] [--rounds R]
[--requests N] [--concurrency C] [--postgresql]`` (or ``sh scripts/bench api``).

Starts ``hashlens serve`` on a free 127.0.0.1 port over a store built from ../shared/data and, in
the same run, the strongest peer: a bare FastAPI app (same uvicorn, one route) that answers
every path with the bytes hashlens gave for it — the framework's floor. Loads, alternating
between the two servers round by round (min/median/max of each, ratio of medians):

- cached mix at 16 connections: /v1/difficulty, /v1/halving, /v1/hashprice (latest) and
  /v1/asics (the ASIC catalogue, 10 KB) — the issue's goal: >= 0.8x the bare app, p99 <= 20 ms;
- mixed: difficulty, hashprice on a random day (5,000 days), a posted fleet and the dashboard
  page, at ``--concurrency`` (default 32), hashlens beside the bare app.
The first request of every default read after start-up is timed too (the cache is warmed at
start-up: none should be cold). The client is the same Python load generator for all, on the
same 2 cores as the servers.

With ``--postgresql`` it also copies the store into a throwaway PostgreSQL cluster (Debian's
binaries, as the tests start it) and runs the mixed load against ``serve --workers 2`` on it,
beside ``serve`` on the DuckDB file (issue: a shared store for teams).
"""

from __future__ import annotations

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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_api.py`

from benchmarks.common import Row, compare, parser
from benchmarks.load import LoadResult, run_load
from hashlens.chain.prices import import_prices
from hashlens.chain.sync import sync
from hashlens.miners.storeio import ensure_sample
from hashlens.sources.datadir import require_data_dir
from hashlens.sources.prices import read_prices
from hashlens.store import Store

Call = tuple[str, str, dict | None]
CACHED: list[Call] = [
    ("GET", "/v1/difficulty", None),
    ("GET", "/v1/halving", None),
    ("GET", "/v1/hashprice", None),
    ("GET", "/v1/asics", None),
]
NAME = "api"
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


def first_requests(url: str) -> dict[str, float]:
    """Seconds of the first request of each default read the server warms at start-up
    (:data:`hashlens.api.app.WARM_PATHS`) [s]; an error answer (a store without pools, say)
    is timed as the answer it is."""
    import urllib.error

    from hashlens.api.app import WARM_PATHS

    out = {}
    for path in WARM_PATHS:
        t0 = time.perf_counter()
        try:
            urllib.request.urlopen(url + path, timeout=120).read()
        except urllib.error.HTTPError as exc:
            exc.read()
        out[path] = time.perf_counter() - t0
    return out


def line(name: str, r: LoadResult) -> str:
    return f"  {name:<34} {r.rps:8,.0f} req/s  p50 {r.p50_ms:6.1f} ms  p99 {r.p99_ms:6.1f} ms  errors {r.errors}"


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--requests", type=int, default=None, help="requests per load (default 20,000; smoke 1,500)")
    ap.add_argument("--concurrency", type=int, default=32, help="connections of the mixed load")
    ap.add_argument("--postgresql", action="store_true", help="also serve --workers 2 on PostgreSQL")
    args = ap.parse_args()
    requests = args.requests or (1500 if args.smoke else 20000)
    rounds = args.rounds or (2 if args.smoke else 5)
    data = require_data_dir()
    tmp = Path(tempfile.mkdtemp(prefix="hashlens-bench-api-"))
    db = tmp / "api.duckdb"
    with Store(db) as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    bare_port = free_port()
    t0 = time.perf_counter()
    proc, url = start_server(str(db))
    up_s = time.perf_counter() - t0
    cached: list[LoadResult] = []
    cached_bare: list[LoadResult] = []
    mixed: list[LoadResult] = []
    mixed_bare: list[LoadResult] = []
    try:
        first = first_requests(url)
        bodies = {p: urllib.request.urlopen(url + p, timeout=60).read().decode() for _, p, _ in CACHED}
        (tmp / "bodies.json").write_text(json.dumps(bodies))
        (tmp / "bare.py").write_text(BARE)
        bare = subprocess.Popen([sys.executable, str(tmp / "bare.py"), str(tmp / "bodies.json"), str(bare_port)])
        bare_url = f"http://127.0.0.1:{bare_port}"
        try:
            wait_up(bare_url + "/v1/difficulty")
            run_load(url, 300, 4, mix=CACHED)
            run_load(bare_url, 300, 4, mix=CACHED)
            mix = mixed_calls(requests)
            for i in range(rounds):  # interleaved: the order alternates every round
                order = [(url, cached, mixed), (bare_url, cached_bare, mixed_bare)]
                for u, c, m in order if i % 2 == 0 else order[::-1]:
                    c.append(run_load(u, requests, 16, mix=CACHED))
                    m.append(run_load(u, requests, args.concurrency, mix=mix))
        finally:
            bare.terminate()
            bare.wait(20)
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    print(f"hashlens serve up in {up_s:.1f} s (its cache warmed); first request of each default read:")
    for path, sec in first.items():
        print(f"  {path:<28} {sec * 1e3:7.1f} ms")
    worst = max(first.values())
    print(f"  slowest first request {worst * 1e3:.1f} ms; goal <= 50 ms: {'met' if worst <= 0.05 else 'NOT met'}")
    print(f"API on loopback, {requests:,} requests per load, {rounds} rounds:")
    for name, mine, theirs in (
        ("cached mix, 16 connections", cached, cached_bare),
        (f"mixed, {args.concurrency} connections", mixed, mixed_bare),
    ):
        print(f"{name}:")
        print(line("hashlens (median round)", sorted(mine, key=lambda r: r.rps)[len(mine) // 2]))
        print(line("bare FastAPI, same bytes", sorted(theirs, key=lambda r: r.rps)[len(theirs) // 2]))
    p99 = sorted(r.p99_ms for r in cached)[len(cached) // 2]
    print(f"cached mix p99 (median round) {p99:.1f} ms; goal <= 20 ms: {'met' if p99 <= 20 else 'NOT met'}")
    compare(
        Row(
            NAME,
            "cached mix (difficulty, halving, hashprice, asics), 16 connections",
            "hashlens serve",
            "bare FastAPI app, same bytes",
            [r.seconds for r in cached],
            [r.seconds for r in cached_bare],
            0.8,
            requests,
            "req",
        )
    )
    compare(
        Row(
            NAME,
            f"mixed (random days, fleet, page), {args.concurrency} connections",
            "hashlens serve",
            "bare FastAPI app, same bytes",
            [r.seconds for r in mixed],
            [r.seconds for r in mixed_bare],
            None,
            requests,
            "req",
        )
    )
    if args.postgresql:
        pg_mixed, pg_cached = postgres_load(db, requests, args.concurrency)
        print("PostgreSQL, serve --workers 2 (same loads):")
        print(line("cached", pg_cached))
        print(line("mixed", pg_mixed))
        print(
            f"  -> PostgreSQL x2 / DuckDB x1: cached {pg_cached.rps / cached[-1].rps:.2f}x, "
            f"mixed {pg_mixed.rps / mixed[-1].rps:.2f}x"
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
