"""A bounded load on the API over loopback: a fixed number of requests, fixed concurrency,
a mix of the dashboard's calls. Reports throughput and latency percentiles. It only ever
talks to the URL it is given (a server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MIX: list[tuple[str, str, dict | None]] = [
    ("GET", "/v1/difficulty", None),
    ("GET", "/v1/hashrate?window=1008", None),
    ("GET", "/v1/hashrate?window=7d&as_of=2026-01-31", None),  # a day the stored block times cover
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


def _request_bytes(host: str, port: int, method: str, path: str, body: dict | None) -> bytes:
    payload = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {f'[{host}]' if ':' in host else host}:{port}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return (head + "\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """One HTTP/1.1 response: its status and whether the server will close the connection
    (body read whole: by Content-Length, or chunk by chunk)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length, chunked, close = 0, False, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
        elif name == "connection" and value == "close":
            close = True
    if chunked:
        while (size := int((await reader.readline()).split(b";")[0], 16)) > 0:
            await reader.readexactly(size + 2)
        while await reader.readline() not in (b"\r\n", b""):
            pass
    elif length:
        await reader.readexactly(length)
    return status, close


def run_load(
    base_url: str,
    total: int = 2000,
    concurrency: int = 16,
    timeout_s: float = 120.0,
    mix: list[tuple[str, str, dict | None]] | None = None,
) -> LoadResult:
    """``total`` requests over ``concurrency`` keep-alive connections, each with one request
    in flight, the calls of ``mix`` in turn.

    One thread drives every connection with asyncio: a client of 32 threads would time its
    own waits for the interpreter lock (released every 5 ms) as the server's latency.
    """
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port
    if host not in ("127.0.0.1", "localhost", "::1") or port is None:
        raise ValueError("the load test only targets a server on loopback")
    requests = [_request_bytes(host, port, *c) for c in (mix or MIX)]
    latencies: list[float] = []
    errors = 0
    next_i = 0

    async def worker(deadline: float) -> None:
        nonlocal next_i, errors
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while next_i < total and time.perf_counter() < deadline:
            i = next_i
            next_i += 1
            t0 = time.perf_counter()
            ok = False
            try:
                if conn is None:
                    conn = await asyncio.open_connection(host, port)
                conn[1].write(requests[i % len(requests)])
                status, close = await asyncio.wait_for(_read_response(conn[0]), 30)
                ok = status == 200
                if close:
                    conn[1].close()
                    conn = None
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError, TimeoutError):
                if conn is not None:
                    conn[1].close()
                conn = None
            latencies.append(time.perf_counter() - t0)
            errors += not ok
        if conn is not None:
            conn[1].close()

    async def main() -> float:
        t_start = time.perf_counter()
        await asyncio.gather(*(worker(t_start + timeout_s) for _ in range(concurrency)))
        return time.perf_counter() - t_start

    elapsed = asyncio.run(main())
    lat = sorted(latencies)

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

    return LoadResult(len(lat), errors, elapsed, q(0.5), q(0.99), lat[-1] * 1000 if lat else float("nan"))
