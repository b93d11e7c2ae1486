"""Heavy requests in their own processes: bounded in number, time and memory.

A simulation, a forecast with many paths, a fleet outlook or a week's figures for a new day can
take seconds of CPU and hundreds of MB. They run here, never in the server's own process:

- at most ``workers`` run at once (one per spare core); up to ``queue`` more wait on the event
  loop (no thread held), and beyond that a request is answered 503 with ``Retry-After``; one
  that has waited ``queue_wait_s`` for its turn is answered 503 too, and one whose client has
  gone by its turn is dropped without running;
- each has ``timeout_s``, counted from the moment a ready worker takes it (a worker started to
  replace a killed one imports the heavy modules, :data:`PRELOAD`, before it says it is ready:
  1–2 s under load that are not the request's); past it the worker process is killed — the
  work really stops — and the request is answered 503 naming the limit;
- a watchdog reads the worker's resident memory every 0.1 s and kills it when the request has
  added more than ``memory_mb`` to what the ready worker held,
  so no request raises the server's memory by more than that bound (documented in the README;
  the requests' own ceilings keep legitimate work below it).

The server's event loop, ``/v1/health`` and cached reads are never behind this queue.
"""

from __future__ import annotations

import asyncio
import importlib
import multiprocessing as mp
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import anyio
from fastapi import HTTPException

#: Defaults: one worker (the server keeps the other core), 64 waiting for at most 120 s each,
#: 60 s of work, 512 MB.
WORKERS = 1
QUEUE = 64
QUEUE_WAIT_S = 120.0
TIMEOUT_S = 60.0
MEMORY_MB = 512
#: Modules a worker imports before it is ready (the heavy requests' libraries), so that neither
#: their import time nor their memory counts against a request's limits.
PRELOAD = ("hashlens.api.tasks", "hashlens.sim.engine", "hashlens.sim.fleet_outlook", "hashlens.weekly.figures")
#: Longest a new worker may take to import and say it is ready [s].
START_TIMEOUT_S = 120.0


def _worker_main(conn: Connection, preload: tuple[str, ...] = ()) -> None:
    """A worker: import ``preload``, say it is ready, then call ``module:function`` on plain
    arguments and send back the result or error, one request at a time."""
    from hashlens.errors import HashlensError

    for module in preload:
        importlib.import_module(module)
    conn.send(("ready", os.getpid()))
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        target, args = task
        try:
            module, name = target.split(":")
            out = ("ok", getattr(importlib.import_module(module), name)(*args))
        except HashlensError as exc:
            out = ("bad", str(exc))
        except HTTPException as exc:
            out = ("http", (exc.status_code, exc.detail))
        except MemoryError:
            out = ("memory", "")
        except Exception as exc:  # a bug: reported as a 500 with its type, the worker lives on
            out = ("crash", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(out)
        except OSError:  # the server stopped while this ran (a broken pipe): nobody to answer
            return


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    ready: bool = False

    @classmethod
    def start(cls, preload: tuple[str, ...] = ()) -> _Worker:
        ctx = mp.get_context("spawn")  # no copy of the server's threads, locks or connections
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child, preload), daemon=True, name="hashlens-heavy")
        proc.start()
        child.close()
        return cls(proc, parent)

    def wait_ready(self, timeout_s: float) -> bool:
        """Whether the worker has imported its modules and said so (waiting up to ``timeout_s``)."""
        if not self.ready:
            try:
                self.ready = bool(self.conn.poll(timeout_s)) and self.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                self.ready = False
        return self.ready

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        finally:
            self.conn.close()


class HeavyPool:
    """Bounded worker processes for heavy requests (see the module's docstring)."""

    def __init__(
        self,
        workers: int = WORKERS,
        queue: int = QUEUE,
        timeout_s: float = TIMEOUT_S,
        memory_mb: int = MEMORY_MB,
        queue_wait_s: float = QUEUE_WAIT_S,
        preload: tuple[str, ...] = PRELOAD,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.workers, self.queue, self.timeout_s, self.memory_mb = workers, queue, timeout_s, memory_mb
        self.queue_wait_s = queue_wait_s
        self.preload = tuple(preload)
        self.start_timeout_s = start_timeout_s
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._sem: asyncio.Semaphore | None = None
        self._limiter = anyio.CapacityLimiter(workers)
        self.waiting = 0
        self.running = 0
        self.killed = {"timeout": 0, "memory": 0}
        self.dropped = {"waited_too_long": 0, "client_gone": 0}

    def warm(self) -> None:
        """Start the workers ahead of the first request (they import :data:`PRELOAD`, a second
        or two, and are waited for when a request first takes them)."""
        with self._lock:
            while len(self._idle) < self.workers:
                self._idle.append(_Worker.start(self.preload))

    def stats(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "running": self.running,
            "waiting": self.waiting,
            "queue_limit": self.queue,
            "timeout_s": self.timeout_s,
            "memory_limit_mb": self.memory_mb,
            "killed": dict(self.killed),
            "queue_wait_limit_s": self.queue_wait_s,
            "dropped": dict(self.dropped),
        }

    async def run(self, target: str, *args: Any, gone: Callable[[], Awaitable[bool]] | None = None) -> Any:
        """``module:function(*args)`` in a worker; HashlensError -> 400, limits -> 503.

        ``gone``: asked once the request's turn comes (Starlette's ``request.is_disconnected``):
        a request whose client has left is dropped (499) rather than run for nobody. Only for
        work that no other request shares."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.workers)
        if self.waiting >= self.queue:
            raise HTTPException(
                503, f"busy: {self.queue} heavy requests are waiting; retry later", headers={"Retry-After": "5"}
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), self.queue_wait_s)
        except TimeoutError:
            self.dropped["waited_too_long"] += 1
            raise HTTPException(
                503,
                f"busy: waited {self.queue_wait_s:g} s for a turn, this server's limit; retry later",
                headers={"Retry-After": "30"},
            ) from None
        finally:
            self.waiting -= 1
        if gone is not None and await gone():
            self._sem.release()
            self.dropped["client_gone"] += 1
            raise HTTPException(499, "the client closed the connection before its turn")
        self.running += 1
        try:
            kind, value = await anyio.to_thread.run_sync(self._call, target, args, limiter=self._limiter)
        finally:
            self.running -= 1
            self._sem.release()
        if kind == "ok":
            return value
        if kind == "bad":
            from hashlens.errors import HashlensError

            raise HashlensError(value)
        if kind == "http":
            raise HTTPException(value[0], value[1])
        if kind == "timeout":
            raise HTTPException(
                503, f"stopped after {self.timeout_s:g} s, this server's limit per request: ask for less work"
            )
        if kind == "memory":
            raise HTTPException(
                503, f"stopped at {self.memory_mb} MB, this server's memory limit per request: ask for less work"
            )
        raise HTTPException(500, value)

    def _call(self, target: str, args: tuple[Any, ...]) -> tuple[str, Any]:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is not None and not worker.proc.is_alive():
            worker.kill()  # reap it and close its pipe
            worker = None
        if worker is None:
            worker = _Worker.start(self.preload)
        # A new worker's start-up is not the request's: its time and memory limits start from
        # a ready worker.
        if not worker.wait_ready(self.start_timeout_s):
            worker.kill()
            return ("crash", f"a worker process did not start within {self.start_timeout_s:g} s")
        try:
            worker.conn.send((target, args))
        except (OSError, ValueError):
            worker.kill()
            return ("crash", "the worker process could not take the request")
        deadline = time.monotonic() + self.timeout_s
        # The bound is on what the request adds to the ready worker's resident memory.
        limit = _rss_bytes(worker.proc.pid) + self.memory_mb * 1024 * 1024
        while True:
            if worker.conn.poll(0.1):
                try:
                    out: tuple[str, Any] = worker.conn.recv()
                except (EOFError, OSError):
                    worker.kill()
                    return ("memory", "") if _was_oom(worker) else ("crash", "the worker process died")
                with self._lock:
                    self._idle.append(worker)
                return out
            if not worker.proc.is_alive():
                worker.kill()
                return ("crash", "the worker process died")
            if time.monotonic() > deadline:
                worker.kill()
                self.killed["timeout"] += 1
                return ("timeout", None)
            if _rss_bytes(worker.proc.pid) > limit:
                worker.kill()
                self.killed["memory"] += 1
                return ("memory", None)

    def close(self) -> None:
        with self._lock:
            for w in self._idle:
                w.kill()
            self._idle.clear()


def _rss_bytes(pid: int) -> int:
    """Resident memory of a process [bytes] (0 if it has ended)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _was_oom(worker: _Worker) -> bool:
    return worker.proc.exitcode == -9


__all__ = ["HeavyPool"]
