"""A bounded load on the API over loopback: a fixed number of requests, fixed concurrency,
a mix of the dashboard's calls. Reports throughput and latency percentiles. It only ever
talks to the URL it is given (a server on 127.0.0.1)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MIX: list[tuple[str, str, dict | None]] = [
    ("GET", "/v1/difficulty", None),
    ("GET", "/v1/hashrate?window=1008", None),
    ("GET", "/v1/hashrate?window=7d", None),
    ("GET", "/v1/hashprice", None),
    ("GET", "/v1/hashprice?date=2025-06-01", None),
    ("GET", "/v1/difficulty/history?limit=60", None),
    ("GET", "/v1/asics", None),
    ("GET", "/v1/halving", None),
    ("GET", "/v1/miners/2026-01/expected", None),
    ("GET", "/v1/miners/treasury", None),
    ("POST", "/v1/fleet", {"machines": [{"model": "S21", "count": 100}, {"model": "S19 XP", "count": 50}]}),
]


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def run_load(
    base_url: str,
    total: int = 2000,
    concurrency: int = 16,
    timeout_s: float = 120.0,
    mix: list[tuple[str, str, dict | None]] | None = None,
) -> LoadResult:
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the load test only targets a server on loopback")
    calls = mix or MIX
    lock = threading.Lock()
    next_i = 0
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + timeout_s

    def worker() -> None:
        nonlocal next_i, errors
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        while True:
            with lock:
                if next_i >= total or time.perf_counter() > deadline:
                    break
                i = next_i
                next_i += 1
            method, path, body = calls[i % len(calls)]
            t0 = time.perf_counter()
            try:
                payload = json.dumps(body).encode() if body is not None else None
                conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                errors += not ok
        conn.close()

    t_start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t_start
    lat = sorted(latencies)

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return LoadResult(len(lat), errors, elapsed, q(0.5), q(0.99), lat[-1] * 1000 if lat else float("nan"))
