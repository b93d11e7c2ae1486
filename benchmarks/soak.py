"""A flood soak on loopback: does ``/v1/health`` keep answering beside hostile clients?

`sh scripts/bench soak [--idle 1500] [--slow 100] [--large 32] [--seconds 40] [--no-baseline]`

For ``--seconds``, on one asyncio thread against a `hashlens serve` on 127.0.0.1:

- ``idle`` connections that never send a byte (spread over ``--sources`` loopback addresses,
  127.0.0.2 …, so that the total connection cap is met), held until the server closes them;
  with ``--reconnect`` each is opened again :data:`REOPEN_S` after that — a connection-rate
  flood, whose new connections wait in the kernel's accept queue (first in, first out) before
  the server sees them, the probes' too, so that one measures how fast the server accepts;
- ``slow`` senders: half trickle a request head a byte a second, half send a head and then
  trickle a 2,000-byte body a byte a second; each starts again when answered or closed;
- ``large`` clients posting bodies one after another: with ``token``, 1.7 MB to
  ``POST /v1/import/miners`` (5,000 reports and 3,800 treasuries grown from the real miners'
  files: dense records, the costliest JSON to parse; the first report names month 2026-13, so
  the import is refused after the whole body is parsed and nothing is written), else the
  largest public body (512 KiB of machine records) to ``POST /v1/fleet``;
- a prober opening a NEW connection every :data:`PROBE_EVERY_S` for ``GET /v1/health`` (a
  monitor's check: new connections are what a flood keeps out), timing each up to its answer.

It prints the health latency (min / median / p99 / max, and failures), the connections the
server closed (idle and slow ones), the requests it served (by kind and status) and the
server process's resident memory (psutil, where installed; its heavy worker apart). With the
baseline (default in the full run), the same soak runs first against `hashlens serve` of
another git revision's code (``--baseline-rev``, default ``main``: the code before this
branch), on a copy of the same store; both are printed, with how many probes each answered
within 1 s. The smoke version runs in tests/test_load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: A connection the server closed is opened again after this long [s].
REOPEN_S = 2.0
#: Health probes: one new connection this often [s], each waited for at most PROBE_TIMEOUT_S.
PROBE_EVERY_S = 0.25
PROBE_TIMEOUT_S = 10.0
#: Size of a large post [bytes]: an import's limit (with a token), else the public one.
LARGE_BYTES = 2 * 1024 * 1024
PUBLIC_BYTES = 512 * 1024


@dataclass
class SoakResult:
    seconds: float
    health_s: list[float] = field(default_factory=list)  # answered probes' latencies [s]
    health_failed: int = 0  # probes with no 200 within PROBE_TIMEOUT_S
    health_slowest: list[tuple[float, float]] = field(default_factory=list)  # (at [s], latency [s]), worst 5
    idle_opened: int = 0
    idle_open_failed: int = 0
    idle_closed_by_server: int = 0
    slow_opened: int = 0
    slow_closed_by_server: int = 0
    statuses: dict[str, Counter[int]] = field(default_factory=dict)  # kind -> status -> count
    rss_before_mb: float | None = None
    rss_peak_mb: float | None = None
    server_cpu_s: float | None = None  # CPU time the server process used during the soak [s]
    load_avg: tuple[float, float] | None = None  # the machine's 1-minute load before and after

    @property
    def requests_served(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())

    @property
    def connections_closed(self) -> int:
        return self.idle_closed_by_server + self.slow_closed_by_server

    def quantile_s(self, q: float) -> float:
        lat = sorted(self.health_s)
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("inf")

    def as_dict(self) -> dict[str, Any]:
        lat = self.health_s
        return {
            "seconds": round(self.seconds, 1),
            "health_ms": {
                "probes": len(lat) + self.health_failed,
                "failed": self.health_failed,
                "answered_within_1s": sum(t < 1.0 for t in lat),
                "min": round(min(lat) * 1000, 1) if lat else None,
                "median": round(statistics.median(lat) * 1000, 1) if lat else None,
                "p99": round(self.quantile_s(0.99) * 1000, 1) if lat else None,
                "max": round(max(lat) * 1000, 1) if lat else None,
                "slowest_at_s": [[round(a, 1), round(t * 1000)] for a, t in self.health_slowest],
            },
            "connections_closed_by_server": {
                "idle": self.idle_closed_by_server,
                "slow": self.slow_closed_by_server,
            },
            "idle_opened": self.idle_opened,
            "idle_open_failed": self.idle_open_failed,
            "slow_opened": self.slow_opened,
            "requests_served": self.requests_served,
            "statuses": {k: dict(sorted(v.items())) for k, v in self.statuses.items()},
            "server_rss_mb": {"before": self.rss_before_mb, "peak": self.rss_peak_mb},
            "server_cpu_s": self.server_cpu_s,
            "machine_load_1min": self.load_avg,
        }


def _status(data: bytes) -> int | None:
    if data.startswith(b"HTTP/1."):
        try:
            return int(data.split(None, 2)[1])
        except (IndexError, ValueError):
            return None
    return None


def large_body(token: str | None, valid: bool = False, public_bytes: int = PUBLIC_BYTES) -> tuple[str, bytes]:
    """The path and body of a large post: 2 MiB of miners' records to the import (with a
    token), else ``public_bytes`` of machine records to the fleet (default: just under its
    limit)."""
    if token is None:
        one = {"model": "S21 Pro", "count": 1, "power_price_usd_per_kwh": 0.05}
        n = (public_bytes - 64) // (len(json.dumps(one, separators=(",", ":"))) + 1)
        return "/v1/fleet", json.dumps({"machines": [one] * n}, separators=(",", ":")).encode()
    import csv

    from hashlens.sources.datadir import require_data_dir

    miners = require_data_dir() / "miners"
    with open(miners / "monthly-production-2025-12_2026-01.csv", newline="") as fh:
        reports = [{k: v for k, v in r.items() if v} for r in csv.DictReader(fh)]
    with open(miners / "treasuries-2026-02.csv", newline="") as fh:
        treasuries = [{k: v for k, v in r.items() if v} for r in csv.DictReader(fh)]
    doc: dict[str, Any] = {"reports": [reports[i % len(reports)] for i in range(5000)], "treasuries": []}
    if not valid:
        doc["reports"][0] = {**doc["reports"][0], "month": "2026-13"}  # refused once parsed: no writes
    size = len(json.dumps(doc, separators=(",", ":")))
    per = len(json.dumps(treasuries[0], separators=(",", ":"))) + 1
    doc["treasuries"] = [treasuries[i % len(treasuries)] for i in range(min(5000, (LARGE_BYTES - size - 64) // per))]
    body = json.dumps(doc, separators=(",", ":")).encode()
    while len(body) > LARGE_BYTES:
        doc["treasuries"].pop()
        body = json.dumps(doc, separators=(",", ":")).encode()
    return "/v1/import/miners", body


def _cpu_s(pid: int) -> float | None:
    try:
        import psutil

        t = psutil.Process(pid).cpu_times()
    except (ImportError, Exception):
        return None
    return float(t.user + t.system)


def _rss_mb(pid: int, tree: bool = False) -> float | None:
    """Resident memory of the server process (``tree``: with its worker processes) [MB]."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)] if tree else [p]
    except psutil.Error:
        return None
    total = 0
    for q in procs:
        with contextlib.suppress(psutil.Error):
            total += q.memory_info().rss
    return round(total / 2**20, 1)


def run_soak(
    url: str,
    pid: int | None = None,
    idle: int = 1500,
    slow: int = 100,
    large: int = 32,
    seconds: float = 40.0,
    sources: int = 6,
    token: str | None = None,
    reconnect: bool = False,
    valid_imports: bool = False,
    public_bytes: int | None = None,
) -> SoakResult:
    """The soak against the server at ``url`` (loopback only); ``pid``: its process, for
    memory; ``token``: its import token (large posts go to an import, else to the fleet);
    ``reconnect``: idle connections the server closes are opened again; ``valid_imports``: the
    large posts are imports the server carries out (seconds of work each, the parsed body held
    meanwhile; the rows are the real ones, so after the first nothing changes);
    ``public_bytes``: the large posts go to ``POST /v1/fleet`` with this many bytes of machine
    records, token or not (2 MiB: the review's flood, which the server read and parsed
    whole before this round)."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    if host not in ("127.0.0.1", "localhost") or port is None:
        raise ValueError("the soak only targets a server on 127.0.0.1")
    result = SoakResult(seconds)
    result.statuses = {"health": Counter(), "large": Counter(), "slow": Counter()}
    hostline = f"Host: 127.0.0.1:{port}\r\n".encode()
    if public_bytes is not None:
        large_path, body = large_body(None, public_bytes=public_bytes)
    else:
        large_path, body = large_body(token, valid_imports)
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    post = (
        f"POST {large_path} HTTP/1.1\r\n".encode()
        + hostline
        + auth
        + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    health = b"GET /v1/health HTTP/1.1\r\n" + hostline + b"Connection: close\r\n\r\n"
    if pid is not None:
        result.rss_before_mb = result.rss_peak_mb = _rss_mb(pid)

    async def idle_one(i: int, stop: asyncio.Event) -> None:
        src = f"127.0.0.{2 + i % max(1, sources)}"
        while not stop.is_set():
            try:
                r, w = await asyncio.open_connection(host, port, local_addr=(src, 0))
            except OSError:
                result.idle_open_failed += 1
                await asyncio.sleep(REOPEN_S)
                continue
            result.idle_opened += 1
            try:
                await r.read(1024)  # EOF: the server closed it
                if not stop.is_set():
                    result.idle_closed_by_server += 1
            except OSError:
                if not stop.is_set():
                    result.idle_closed_by_server += 1
            finally:
                w.close()
            if not reconnect:
                await stop.wait()
                return
            await asyncio.sleep(REOPEN_S)

    async def slow_one(i: int, stop: asyncio.Event) -> None:
        head_only = i % 2 == 0
        while not stop.is_set():
            try:
                r, w = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(REOPEN_S)
                continue
            result.slow_opened += 1
            if head_only:
                w.write(b"GET /v1/health HTTP/1.1\r\n" + hostline)
            else:
                w.write(
                    b"POST /v1/fleet HTTP/1.1\r\n"
                    + hostline
                    + b"Content-Type: application/json\r\nContent-Length: 2000\r\n\r\n"
                )
            try:
                while not stop.is_set():
                    w.write(b"X-Slow: 1\r\n"[:1] if head_only else b" ")
                    await w.drain()
                    try:
                        data = await asyncio.wait_for(r.read(1024), 1.0)
                    except TimeoutError:
                        continue
                    if data:
                        status = _status(data)
                        if status is not None:
                            result.statuses["slow"][status] += 1
                    result.slow_closed_by_server += 1
                    break
            except OSError:
                if not stop.is_set():
                    result.slow_closed_by_server += 1
            finally:
                w.close()
            await asyncio.sleep(REOPEN_S)

    async def large_one(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                r, w = await asyncio.open_connection(host, port)
                w.write(post)
                await w.drain()
                data = await asyncio.wait_for(r.read(1024), 120)
                status = _status(data)
                result.statuses["large"][status if status is not None else -1] += 1
                w.close()
            except (OSError, TimeoutError):
                result.statuses["large"][-1] += 1
                await asyncio.sleep(0.5)

    async def memory(stop: asyncio.Event) -> None:
        while pid is not None and not stop.is_set():
            mb = await asyncio.to_thread(_rss_mb, pid)
            if mb is not None:
                result.rss_peak_mb = max(result.rss_peak_mb or 0.0, mb)
            await asyncio.sleep(0.5)

    async def main() -> None:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(memory(stop))]
        tasks += [asyncio.create_task(large_one(stop)) for _ in range(large)]
        tasks += [asyncio.create_task(slow_one(i, stop)) for i in range(slow)]
        for i in range(idle):  # in bursts, as a flood arrives
            tasks.append(asyncio.create_task(idle_one(i, stop)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)
        await asyncio.sleep(seconds)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # The prober is a process of its own (a monitor's check), so that the flood's client, on
    # this process's event loop, cannot delay it: its latencies are the server's.
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    prober = ctx.Process(target=_probe, args=(host, port, health, seconds, child), daemon=True)
    prober.start()
    child.close()
    cpu0 = _cpu_s(pid) if pid is not None else None
    load0 = os.getloadavg()[0]
    asyncio.run(main())
    result.load_avg = (round(load0, 1), round(os.getloadavg()[0], 1))
    cpu1 = _cpu_s(pid) if pid is not None else None
    if cpu0 is not None and cpu1 is not None:
        result.server_cpu_s = round(cpu1 - cpu0, 1)
    latencies, statuses, starts = parent.recv()
    prober.join(30)
    for status in statuses:
        result.statuses["health"][status] += 1
    result.health_s = [t for t, st in zip(latencies, statuses, strict=True) if st == 200]
    result.health_slowest = sorted(zip(starts, latencies, strict=True), key=lambda x: -x[1])[:5]
    result.health_failed = sum(st != 200 for st in statuses)
    return result


def _probe(host: str, port: int, request: bytes, seconds: float, out: Any) -> None:
    """Every PROBE_EVERY_S for ``seconds``: a new connection, ``GET /v1/health``, the time to
    its whole answer (-1 status: no answer within PROBE_TIMEOUT_S)."""
    import socket

    latencies: list[float] = []
    statuses: list[int] = []
    starts: list[float] = []
    begin = time.perf_counter()
    end = begin + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        starts.append(t0 - begin)
        status = -1
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as sock:
                sock.sendall(request)
                data = b""
                while chunk := sock.recv(65536):  # Connection: close: the answer ends at EOF
                    data += chunk
                status = _status(data) or -1
        except OSError:
            pass
        took = time.perf_counter() - t0
        latencies.append(took)
        statuses.append(status)
        time.sleep(max(0.0, PROBE_EVERY_S - took))
    out.send((latencies, statuses, starts))


def summary(name: str, r: SoakResult) -> str:
    d = r.as_dict()
    h = d["health_ms"]
    return (
        f"{name}: /v1/health over {d['seconds']:g} s: {h['probes']} probes, {h['failed']} failed; "
        f"min {h['min']} / median {h['median']} / p99 {h['p99']} / max {h['max']} ms "
        f"(slowest at [s, ms]: {h['slowest_at_s']}); "
        f"connections closed by the server: {d['connections_closed_by_server']}; "
        f"requests served: {d['requests_served']} {d['statuses']}; "
        f"server memory {d['server_rss_mb']['before']} -> peak {d['server_rss_mb']['peak']} MB; "
        f"server CPU {d['server_cpu_s']} s; machine load {d['machine_load_1min']} on {os.cpu_count()} cores"
    )


# -- the full run: `sh scripts/bench soak` ---------------------------------------------------------
def _code_of(rev: str, into: Path) -> Path | None:
    """The ``src/`` of git revision ``rev`` of this repository, unpacked under ``into`` (None
    if git cannot give it): the baseline runs that code, imported first through PYTHONPATH."""
    root = Path(__file__).resolve().parents[1]
    try:
        tar = subprocess.run(["git", "-C", str(root), "archive", rev, "src"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(into)], input=tar, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return into / "src"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    for _ in range(400):
        if proc.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url + "/v1/health", timeout=2)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def _store(tmp: Path) -> Path:
    from hashlens.chain.prices import import_prices
    from hashlens.chain.sync import sync
    from hashlens.miners.storeio import ensure_sample
    from hashlens.sources.datadir import require_data_dir
    from hashlens.sources.prices import read_prices
    from hashlens.store import Store

    data = require_data_dir()
    db = tmp / "soak.duckdb"
    with Store(db) as s:
        sync(s, str(data / "chain"))
        f = data / "market/btc-daily-prices-multi-currency.csv"
        import_prices(s, read_prices(f, currency="USD"), f.name)
        ensure_sample(s)
    return db


TOKEN = "soak-token"


def _serve(cmd: list[str], pythonpath: Path | None = None) -> tuple[subprocess.Popen[bytes], str, int]:
    port = _free_port()
    env = {**os.environ, "HASHLENS_API_TOKEN": TOKEN}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    proc = subprocess.Popen([*cmd, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_up(url, proc)
    return proc, url, port


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle", type=int, default=1500)
    ap.add_argument("--slow", type=int, default=100)
    ap.add_argument("--large", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--sources", type=int, default=6, help="loopback source addresses of the idle flood")
    ap.add_argument("--reconnect", action="store_true", help="idle connections closed by the server reconnect")
    ap.add_argument("--valid-imports", action="store_true", help="large posts are imports carried out, not refused")
    ap.add_argument("--public-bytes", type=int, help="large posts: this many bytes to POST /v1/fleet (e.g. 2097152)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the run against the baseline revision")
    ap.add_argument("--baseline-rev", default="main", help="git revision whose code is the baseline (default main)")
    ap.add_argument("--db", help="a store to serve (default: built from ../shared/data)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    db = Path(args.db) if args.db else _store(tmp)
    runs: dict[str, SoakResult] = {}
    serve = ["-m", "hashlens", "--db"]
    setups: list[tuple[str, list[str], Path | None]] = []
    if not args.no_baseline:
        (tmp / "base").mkdir()
        code = _code_of(args.baseline_rev, tmp / "base")
        if code is None:
            raise SystemExit(f"git cannot give revision {args.baseline_rev}: pass --no-baseline")
        copy = tmp / "baseline.duckdb"
        copy.write_bytes(db.read_bytes())
        setups.append((f"before ({args.baseline_rev})", [sys.executable, *serve, str(copy), "serve", "--port"], code))
    setups.append(("hashlens serve", [sys.executable, *serve, str(db), "serve", "--port"], None))
    for name, cmd, pythonpath in setups:
        proc, url, _ = _serve(cmd, pythonpath)
        try:
            time.sleep(2)  # the heavy worker's start-up is not the flood's
            runs[name] = run_soak(
                url,
                proc.pid,
                args.idle,
                args.slow,
                args.large,
                args.seconds,
                args.sources,
                TOKEN,
                args.reconnect,
                args.valid_imports,
                args.public_bytes,
            )
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        print(summary(name, runs[name]), flush=True)
    print(json.dumps({k: v.as_dict() for k, v in runs.items()}, indent=1))
    if len(runs) == 2:
        for name, r in runs.items():
            d = r.as_dict()["health_ms"]
            print(f"{name}: /v1/health answered 200 within 1 s on {d['answered_within_1s']} of {d['probes']} probes")
    now = runs["hashlens serve"]
    ok = now.health_failed == 0 and max(now.health_s, default=float("inf")) < 1.0
    print(f"soak: /v1/health {'< 1 s on every probe' if ok else 'NOT always < 1 s'}")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
