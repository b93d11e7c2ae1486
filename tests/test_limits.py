"""No request can take the server down: bounded work, bounded bodies, the token before the
body, heavy work beside the event loop, offline docs and security headers. Against a real
`hashlens serve` process, as a user starts it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hashlens.api.middleware import MAX_BODY_BYTES, MAX_PUBLIC_BODY_BYTES
from hashlens.api.models import MAX_SIM_DAYS, MAX_SIM_PATHS, MAX_SIM_STEP_WORK, MAX_SIM_WORK
from tests.conftest import free_port

pytestmark = pytest.mark.slow  # the whole module runs in the slow tier (sh scripts/test -m slow)

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "s3cret-token"


def _tree_rss_mb(pid: int) -> float:
    import psutil

    p = psutil.Process(pid)
    procs = [p, *p.children(recursive=True)]
    total = 0
    for q in procs:
        with contextlib.suppress(psutil.Error):
            total += q.memory_info().rss
    return total / 2**20


@pytest.fixture(scope="module")
def server(full_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    db = tmp_path_factory.mktemp("limits") / "s.duckdb"
    db.write_bytes(full_db.read_bytes())
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hashlens", "--db", str(db), "serve", "--port", str(port), "--heavy-timeout", "20s"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "HASHLENS_API_TOKEN": TOKEN},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/v1/health", timeout=2) as r:
                if json.loads(r.read())["heavy"]["workers"]:
                    break
        except OSError:
            time.sleep(0.3)
    try:
        yield url, proc.pid
    finally:
        proc.kill()
        proc.wait(30)


def _post(url: str, body: Any, timeout: float = 600) -> int:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return -1


def _raw(port: int, head: bytes, body_chunks: list[bytes], pause_s: float = 0.0) -> tuple[int, float]:
    """Send a request by hand; (status, seconds until the status line arrived)."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head)
        try:
            for c in body_chunks:
                s.sendall(c)
                time.sleep(pause_s)
        except OSError:
            pass  # the server closed the connection: it refused the body
        data = s.recv(4096)
    return int(data.split()[1]), time.perf_counter() - t0


def worst_case_simulation() -> dict[str, Any]:
    """The largest simulation the API accepts: every ceiling reached at once."""
    scenario = yaml.safe_load((ROOT / "examples/scenarios/constant-hashrate.yaml").read_text())
    paths = MAX_SIM_PATHS
    days = min(MAX_SIM_DAYS, MAX_SIM_WORK // paths)
    steps = MAX_SIM_STEP_WORK // paths
    scenario.update(days=days, step_days=days / steps)
    return {"scenario": scenario, "paths": paths, "seed": 1}


def test_41_worst_case_simulations_leave_health_fast_and_memory_bounded(server: tuple[str, int]) -> None:
    url, pid = server
    body = worst_case_simulation()
    # Just over the ceiling is refused before any work, naming the limit.
    over = {**body, "scenario": {**body["scenario"], "step_days": body["scenario"]["step_days"] / 2}}
    assert _post(url + "/v1/simulate", over) == 422
    base_mb = _tree_rss_mb(pid)
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(_post(url + "/v1/simulate", body)), daemon=True)
        for _ in range(41)
    ]
    for t in threads:
        t.start()
    time.sleep(1)
    latencies, peak_mb, heavy = [], base_mb, []
    for _ in range(15):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url + "/v1/health", timeout=10) as r:
            health = json.loads(r.read())
        latencies.append(time.perf_counter() - t0)
        heavy.append(health["heavy"])
        peak_mb = max(peak_mb, _tree_rss_mb(pid))
        time.sleep(0.3)
    # One worker runs them one at a time and the rest wait: health was asked while a queue of
    # at least 30 stood (how fast the queue then drains is the simulator's speed, not asserted).
    assert all(h["running"] <= 1 for h in heavy), heavy
    assert max(h["waiting"] for h in heavy) >= 30, heavy
    loaded = [t for t, h in zip(latencies, heavy, strict=True) if h["waiting"] > 0]
    assert len(loaded) >= 3 and max(latencies) < 1.0, (latencies, heavy)
    # A cached read is not behind the queue either (the first computes it, in a thread).
    urllib.request.urlopen(url + "/v1/difficulty", timeout=30).read()
    t0 = time.perf_counter()
    urllib.request.urlopen(url + "/v1/difficulty", timeout=10).read()
    assert time.perf_counter() - t0 < 1.0
    assert peak_mb - base_mb <= 512, (base_mb, peak_mb)
    print(
        f"\nhealth under 41 worst-case simulations: max {max(latencies) * 1000:.0f} ms; memory +{peak_mb - base_mb:.0f} MB; "
        f"waiting at each probe {[h['waiting'] for h in heavy]}"
    )


def test_a_50_mb_body_is_refused_before_it_is_read(server: tuple[str, int]) -> None:
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    n = 50 * 2**20
    head = (
        f"POST /v1/simulate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n"
    ).encode()
    status, took = _raw(port, head, [b"{" + b" " * 65535])
    assert status == 413 and took < 2
    # Without a length (chunked): refused as soon as it passes the limit, not after 50 MB.
    chunk = b" " * 2**20
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    head = b"POST /v1/simulate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, _ = _raw(port, head, [framed] * (MAX_PUBLIC_BODY_BYTES // len(chunk) + 2))
    assert status == 413
    # An import without the token: refused before its body is read.
    head = (
        f"POST /v1/import/prices HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {n}\r\n\r\n"
    ).encode()
    status, took = _raw(port, head, [b"{"])
    assert status == 401 and took < 2
    # Each path's limit: public bodies 512 KiB, the token's imports 2 MiB.
    for path, n, auth, refused in (
        ("/v1/fleet", MAX_PUBLIC_BODY_BYTES + 1, "", True),
        ("/v1/import/prices", MAX_PUBLIC_BODY_BYTES + 1, f"Authorization: Bearer {TOKEN}\r\n", False),
        ("/v1/import/prices", MAX_BODY_BYTES + 1, f"Authorization: Bearer {TOKEN}\r\n", True),
    ):
        head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Length: {n}\r\n\r\n".encode()
        if refused:
            status, took = _raw(port, head, [b"{"])
            assert status == 413 and took < 2, (path, n)
        else:  # read whole (then refused as JSON, 422): not a size refusal
            status, _ = _raw(port, head, [b"{" + b" " * (n - 1)])
            assert status == 422, (path, n, status)


def test_docs_offline_and_security_headers(server: tuple[str, int]) -> None:
    url, _ = server
    with urllib.request.urlopen(url + "/docs", timeout=10) as r:
        page = r.read().decode()
    assert "/docs-assets/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    from importlib import resources

    with urllib.request.urlopen(url + "/docs-assets/swagger-ui-bundle.js", timeout=10) as r:
        assert r.read() == resources.files("fastapi_offline").joinpath("static/swagger-ui-bundle.js").read_bytes()
    with urllib.request.urlopen(url + "/", timeout=10) as r:
        h = r.headers
    assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
    csp = h["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp


# -- the heavy pool itself: its limits really stop the work -------------------------------------
def test_the_pool_kills_work_past_its_time_and_memory_limits() -> None:
    import asyncio

    from fastapi import HTTPException

    from hashlens.api.pool import HeavyPool

    pool = HeavyPool(workers=1, queue=2, timeout_s=1.0, memory_mb=200)

    async def run(target: str, *args: Any) -> Any:
        return await pool.run(target, *args)

    try:
        pool.warm()
        pid = pool._idle[0].proc.pid
        t0 = time.perf_counter()
        with pytest.raises(HTTPException) as e:
            asyncio.run(run("time:sleep", 30))
        assert e.value.status_code == 503 and "stopped after 1 s" in e.value.detail
        assert time.perf_counter() - t0 < 10
        assert not _alive(pid) and pool.killed["timeout"] == 1  # the process is gone, not just left
        # The pool lives on: the next request gets a fresh worker.
        assert asyncio.run(run("math:hypot", 3.0, 4.0)) == 5.0
    finally:
        pool.close()
    # 1.6 GB asked for and touched: stopped at +200 MB (a time limit the allocation never meets).
    roomy = HeavyPool(workers=1, queue=2, timeout_s=120.0, memory_mb=200)
    try:
        with pytest.raises(HTTPException) as e:
            asyncio.run(roomy.run("numpy:ones", 200_000_000))
        assert e.value.status_code == 503 and "200 MB" in e.value.detail and roomy.killed["memory"] == 1
    finally:
        roomy.close()


def test_the_pool_bounds_the_wait_and_drops_a_departed_client() -> None:
    """A request that waits past the queue's limit is refused; one whose client left by its
    turn never runs (a sleep that would hold the worker 30 s is dropped at once)."""
    import asyncio

    from fastapi import HTTPException

    from hashlens.api.pool import HeavyPool

    pool = HeavyPool(workers=1, queue=4, timeout_s=30.0, queue_wait_s=1.0)

    async def long_then_waiting() -> tuple[Any, ...]:
        first = asyncio.ensure_future(pool.run("time:sleep", 3))
        await asyncio.sleep(0.2)  # the first holds the worker
        t0 = time.perf_counter()
        with pytest.raises(HTTPException) as e:
            await pool.run("math:hypot", 3.0, 4.0)
        waited = time.perf_counter() - t0
        await first
        return e.value.status_code, e.value.detail, waited

    async def departed() -> Any:
        async def gone() -> bool:
            return True

        return await pool.run("time:sleep", 30, gone=gone)

    try:
        pool.warm()
        status, detail, waited = asyncio.run(long_then_waiting())
        assert status == 503 and "waited 1 s for a turn" in detail and 0.9 < waited < 2.5
        assert pool.dropped["waited_too_long"] == 1 and pool.waiting == 0
        t0 = time.perf_counter()
        with pytest.raises(HTTPException) as e:
            asyncio.run(departed())
        assert e.value.status_code == 499 and time.perf_counter() - t0 < 2 and pool.dropped["client_gone"] == 1
        # The worker was released both times: the pool still answers.
        assert asyncio.run(pool.run("math:hypot", 3.0, 4.0)) == 5.0
    finally:
        pool.close()


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_the_pool_deadline_starts_when_a_worker_is_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's start-up (its imports; 1.3-1.7 s under load) is not the request's: with a
    1 s limit and a worker whose imports take 2 s, a request that needs no time succeeds, on a
    cold pool and on the worker started to replace a killed one."""
    import asyncio

    from fastapi import HTTPException

    from hashlens.api.pool import HeavyPool

    (tmp_path / "slow_start.py").write_text("import time\ntime.sleep(2.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # the spawned worker gets this process's sys.path
    pool = HeavyPool(workers=1, queue=2, timeout_s=1.0, memory_mb=200, preload=("slow_start",))
    try:
        assert asyncio.run(pool.run("math:hypot", 3.0, 4.0)) == 5.0  # cold: the worker starts now
        with pytest.raises(HTTPException) as e:
            asyncio.run(pool.run("time:sleep", 30))
        assert e.value.status_code == 503 and pool.killed["timeout"] == 1
        assert asyncio.run(pool.run("math:hypot", 6.0, 8.0)) == 10.0  # its replacement, 2 s to start
        assert pool.killed["timeout"] == 1
    finally:
        pool.close()


# -- connections: idle, slow, too many, too large, wrong host --------------------------------------
@contextlib.contextmanager
def guarded_server(db: Path, **limits: float) -> Iterator[int]:
    """The app under uvicorn with hashlens serve's connection guard, in a thread of this
    process, with some limits shortened (``module.NAME=value`` of api.connections/middleware)."""
    import uvicorn

    from hashlens.api import connections, middleware
    from hashlens.api.app import create_app
    from hashlens.api.pool import HeavyPool
    from hashlens.cli.serve_cmds import listening_socket

    saved = {}
    for name, value in limits.items():
        module = connections if hasattr(connections, name) else middleware
        saved[(module, name)] = getattr(module, name)
        setattr(module, name, value)
    app = create_app(db, pool=HeavyPool(workers=1, preload=()), allowed_hosts=["127.0.0.1"])
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="critical",
        http=connections.GuardedProtocol,
        timeout_keep_alive=connections.KEEP_ALIVE_S,
        limit_concurrency=connections.UVICORN_LIMIT_CONCURRENCY,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.05)
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        for (module, name), value in saved.items():
            setattr(module, name, value)


def _status_within(sock: socket.socket, timeout_s: float) -> tuple[int | None, float]:
    """(status of the answer, or None when the server closed without one; seconds waited)."""
    t0 = time.perf_counter()
    sock.settimeout(timeout_s)
    data = sock.recv(4096)
    took = time.perf_counter() - t0
    return (int(data.split()[1]) if data.startswith(b"HTTP/") else None), took


def test_idle_slow_and_surplus_connections_are_closed_and_health_still_answers(full_db: Path, tmp_path: Path) -> None:
    """With the caps at 40 connections (30 from one address) and 1 s / 1.5 s deadlines: 60
    idle connections from other loopback addresses take the whole total, yet a health check
    gets in (an idle one is closed for it) and answers; a half-sent head is answered 408, a
    trickled body 408 (not 400), every idle connection is closed by the server."""
    db = tmp_path / "s.duckdb"
    db.write_bytes(full_db.read_bytes())
    health = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with guarded_server(db, MAX_CONNECTIONS=40, MAX_PER_CLIENT=30, HEAD_TIMEOUT_S=1.0, BODY_TIMEOUT_S=1.5) as port:
        idle = [
            socket.create_connection(("127.0.0.1", port), source_address=(f"127.0.0.{2 + i % 3}", 0)) for i in range(60)
        ]
        try:
            time.sleep(0.3)  # let the server accept them all (the newest 40 stay)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as h:
                h.sendall(health)
                status, took = _status_within(h, 5)
            assert status == 200 and took < 2
            with socket.create_connection(("127.0.0.1", port), timeout=10) as half:
                half.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                status, took = _status_within(half, 10)
            assert status == 408 and took < 5
            with socket.create_connection(("127.0.0.1", port), timeout=10) as slow:
                slow.sendall(
                    b"POST /v1/fleet HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100\r\n\r\n{"
                )
                status, took = _status_within(slow, 10)
            assert status == 408 and took < 6
            closed = 0
            for c in idle:  # each ends without an answer: by eviction or at the head deadline
                status, took = _status_within(c, 10)
                closed += status is None
            assert closed == len(idle)
        finally:
            for c in idle:
                c.close()


def test_when_every_connection_is_busy_a_new_one_is_told_503(full_db: Path, tmp_path: Path) -> None:
    """No idle connection to close: the newcomer gets a 503 with Retry-After, at once."""
    db = tmp_path / "s.duckdb"
    db.write_bytes(full_db.read_bytes())
    with guarded_server(db, MAX_CONNECTIONS=5, MAX_PER_CLIENT=5, BODY_TIMEOUT_S=20.0) as port:
        busy = []
        try:
            for _ in range(5):  # requests in progress: heads complete, bodies still coming
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(b"POST /v1/fleet HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 50\r\n\r\n{")
                busy.append(c)
            time.sleep(0.3)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
                extra.settimeout(5)
                answer = extra.recv(4096)
            assert answer.startswith(b"HTTP/1.1 503") and b"retry-after: 2" in answer.lower()
        finally:
            for c in busy:
                c.close()


def test_a_huge_request_head_and_a_foreign_host_are_refused(server: tuple[str, int]) -> None:
    url, _ = server
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:100]
    for host, status in (("evil.example", 421), (f"localhost:{port}", 200), (f"127.0.0.1:{port}", 200)):
        head = f"GET /v1/health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(head)
            assert int(s.recv(4096).split()[1]) == status, host


def test_a_bug_is_a_500_with_its_traceback_in_the_log_and_bad_input_a_400(
    full_db: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No ValueError -> 400: an exception that is not a HashlensError is the server's fault."""
    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app
    from hashlens.api.pool import HeavyPool
    from hashlens.errors import HashlensError

    db = tmp_path / "s.duckdb"
    db.write_bytes(full_db.read_bytes())
    app = create_app(db, pool=HeavyPool(workers=1, preload=()))

    def value_error() -> None:
        raise ValueError("a library guard clause")

    def bad_input() -> None:
        raise HashlensError("--date: 2026-02-30 is not a day")

    app.add_api_route("/test/value-error", value_error)
    app.add_api_route("/test/bad-input", bad_input)
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level("ERROR", "hashlens.api"):
        r = client.get("/test/value-error")
        assert r.status_code == 500 and "a bug in hashlens (ValueError)" in r.json()["detail"]
        assert "a library guard clause" not in r.text  # the client gets no internals
        assert any("ValueError: a library guard clause" in (rec.exc_text or "") for rec in caplog.records)
        r = client.get("/test/bad-input")
        assert r.status_code == 400 and r.json()["detail"] == "--date: 2026-02-30 is not a day"


def test_a_price_for_a_future_day_is_refused(full_db: Path, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient

    from hashlens.api.app import create_app
    from hashlens.api.pool import HeavyPool

    db = tmp_path / "s.duckdb"
    db.write_bytes(full_db.read_bytes())
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    auth = {"Authorization": "Bearer t0ken"}
    with TestClient(create_app(db, token="t0ken", pool=HeavyPool(workers=1, preload=()))) as client:
        before = client.get("/v1/health").json()["counts"]["prices"]
        for day in ("2030-01-01", tomorrow):
            r = client.post("/v1/import/prices", json={"prices": {day: 1.0}, "allow_gaps": True}, headers=auth)
            # Refused by the import's contract (economics.models.PricesImport): 422, its words.
            detail = r.json()["detail"]
            assert r.status_code == 422 and f"first {day}: a price cannot be known yet" in detail, r.text
        assert client.get("/v1/health").json()["counts"]["prices"] == before
