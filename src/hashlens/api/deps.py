"""What the routers share: the store holder with its result cache, the heavy-work pool, the token.

The server reads the store through one read-only DuckDB connection (a cursor per thread), so
other processes — ``hashlens difficulty`` in another shell, the heavy-work pool's processes —
read it at the same time. A write (an import, or the follower's batch) waits for the reads in
flight, closes the read connection, commits through a read-write one under the store's writer
lock, and reopens; then every cached result is dropped.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Header, HTTPException, Request, Response

from hashlens.api.middleware import mark_answer
from hashlens.store import Store
from hashlens.store.db import WriterLock

T = TypeVar("T")

#: Threads that compute uncached reads at once; further ones wait (cached reads never do).
READ_THREADS = 4
#: Results kept per store version: at most this many, and encoded answers of at most this
#: many bytes in all (least recently used first out).
CACHE_ENTRIES = 4096
CACHE_BYTES = 256 * 2**20


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before new readers."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


def encode_json(content: Any) -> bytes:
    """The bytes FastAPI's JSONResponse would send for ``content`` (after its encoder); a typed
    result (:class:`hashlens.contracts.Result`), or a list of them, as its own JSON
    (:meth:`~hashlens.contracts.Result.to_json`: NaN and infinities as null)."""
    from fastapi.encoders import jsonable_encoder

    from hashlens.contracts import Result

    if isinstance(content, Result):
        return content.json_bytes()
    if isinstance(content, list) and content and all(isinstance(x, Result) for x in content):
        return b"[" + b",".join(x.json_bytes() for x in content) + b"]"
    return json.dumps(
        jsonable_encoder(content), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


class StoreHolder:
    """The server's store: concurrent reads, one writer at a time, results cached per version.

    Parameters
    ----------
    path : the DuckDB file
    writer : whether this server writes (imports enabled, or a follower): it then holds the
        store's writer lock for its whole life, so other writers are told who writes
    command : how the writer lock names this process
    """

    def __init__(self, path: Path | str, writer: bool, command: str = "hashlens serve") -> None:
        from hashlens.store.backend import is_postgres

        self.path = path
        #: PostgreSQL serves readers and a writer at once, across processes: no connection swap,
        #: and the writer is whichever process wins the follower election (an advisory lock).
        self.postgres = is_postgres(str(path))
        self.can_write = writer
        self.writer_lock = WriterLock(path, command) if writer and not self.postgres else None
        self._write_guard = threading.Lock()
        self._rw = ReadWriteLock()
        self._guard = threading.Lock()
        self._conn: Store | None = None
        self._cursors: list[Store] = []
        self._local = threading.local()
        self._epoch = 0
        self.version = 0
        self.on_change: Callable[[], None] | None = None  # called after the cache is dropped
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_bytes = 0
        self._closed = False
        self._inflight: dict[tuple[Any, ...], Future[Any]] = {}
        self._async_inflight: dict[tuple[Any, ...], asyncio.Future[bytes]] = {}
        self.read_limiter = anyio.CapacityLimiter(READ_THREADS)
        #: Set by a follower: what it last heard from its sources (``/v1/health`` shows it).
        self.follow_status: Callable[[], dict[str, Any]] | None = None
        self._open_reader()
        #: The store's row counts as of the last commit (``/v1/health`` answers from it at once).
        self.counts: dict[str, int] = self.run(Store.counts)

    # -- connections --------------------------------------------------------------------------
    def _open_reader(self) -> None:
        self._conn = Store(self.path, read_only=True)
        self._epoch += 1

    def _close_reader(self) -> None:
        with self._guard:
            for c in self._cursors:
                c.close()
            self._cursors.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _reader(self) -> Store:
        loc = self._local
        if getattr(loc, "epoch", None) != self._epoch:
            assert self._conn is not None
            cur: Store = self._conn.cursor()
            with self._guard:
                self._cursors.append(cur)
            loc.store, loc.epoch = cur, self._epoch
        store: Store = loc.store
        return store

    def run(self, fn: Callable[[Store], T]) -> T:
        """``fn(store)`` under the read lock, in this thread.

        DuckDB: this thread's cursor on the read connection. PostgreSQL: a connection from the
        pool for this call only (threads come and go; holding one each would drain the pool),
        replaced and the read tried once more if it was found broken (the database restarted).
        """
        from hashlens.store.backend import StoreConnectionLost

        with self._rw.read():
            if not self.postgres:
                return fn(self._reader())
            for attempt in (1, 2):
                assert self._conn is not None
                store: Store = self._conn.cursor()
                try:
                    return fn(store)
                except StoreConnectionLost:
                    if attempt == 2:
                        raise
                finally:
                    store.close()
            raise AssertionError("unreachable")

    @contextmanager
    def writing(self) -> Iterator[Store]:
        """The store opened for writing, for one batch: reads in flight finish first, new ones
        wait; on leaving, the read connection reopens and every cached result is dropped."""
        if not self.can_write:
            raise HTTPException(403, "this server only reads its store")
        if self._closed:
            raise HTTPException(503, "the server is stopping")
        if self.postgres:
            with self._write_guard:
                store = Store(self.path)
                try:
                    yield store
                    self.counts = store.counts()
                finally:
                    store.close()
                self.changed()  # only after a commit: a refused batch leaves the cache as it was
            return
        with self._rw.write():
            if self._closed:
                raise HTTPException(503, "the server is stopping")
            self._close_reader()
            try:
                store = Store(self.path, writer=self.writer_lock)
            except BaseException:
                self._open_reader()
                raise
            try:
                yield store
                self.counts = store.counts()
            finally:
                store.close()
                self._open_reader()
            self.changed()

    def watch_commits(self, stop: threading.Event) -> None:
        """Drop the cache whenever another process commits a write (PostgreSQL: LISTEN for the
        store's commit notices), reconnecting when the connection drops; runs until ``stop``."""
        import time

        while not stop.is_set():
            try:
                watcher = Store(self.path, read_only=True)
            except Exception:  # the database is away: try again, and assume the worst
                self.changed()
                stop.wait(2.0)
                continue
            try:
                self.counts = watcher.counts()  # whatever was committed while we were not listening
                self.changed()
                while not stop.is_set():
                    if watcher.wait_for_commit(1.0):
                        self.counts = watcher.counts()
                        self.changed()
            except Exception:
                time.sleep(0.5)  # the connection dropped: reconnect
            finally:
                watcher.close()

    def close(self) -> None:
        self._closed = True
        with self._rw.write():
            self._close_reader()
        if self.writer_lock is not None:
            self.writer_lock.release()

    # -- cached results -----------------------------------------------------------------------
    def changed(self) -> None:
        """Drop every cached result (after a commit), then tell ``on_change`` (the app warms
        the cache again)."""
        with self._guard:
            self.version += 1
            self._cache.clear()
            self._cache_bytes = 0
        if self.on_change is not None:
            self.on_change()

    def _memo(self, key: tuple[Any, ...], make: Callable[[], T]) -> T:
        """``make()`` once per key and store version, however many threads ask at once."""
        with self._guard:
            version = self.version
            full = (version, *key)
            if full in self._cache:
                self._cache.move_to_end(full)
                hit: T = self._cache[full]
                return hit
            fut = self._inflight.get(full)
            owner = fut is None
            if fut is None:
                fut = self._inflight[full] = Future()
        if not owner:
            waited: T = fut.result()
            return waited
        try:
            value = make()
        except BaseException as exc:
            fut.set_exception(exc)
            with self._guard:
                self._inflight.pop(full, None)
            raise
        fut.set_result(value)
        with self._guard:
            self._inflight.pop(full, None)
            if version == self.version:
                self._put(full, value)
        return value

    def _put(self, full: tuple[Any, ...], value: Any) -> None:
        """Cache ``value`` (under the guard), evicting the least recently used entries past
        ``CACHE_ENTRIES`` or, for encoded answers, ``CACHE_BYTES``."""
        self._cache[full] = value
        if isinstance(value, bytes):
            self._cache_bytes += len(value)
        while len(self._cache) > CACHE_ENTRIES or self._cache_bytes > CACHE_BYTES:
            _, old = self._cache.popitem(last=False)
            if isinstance(old, bytes):
                self._cache_bytes -= len(old)

    def cached(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(store, *args)``, from the cache when the same call was made on this version."""
        return self._memo((fn, *args), lambda: self.run(lambda s: fn(s, *args)))

    def peek(self, key: tuple[Any, ...]) -> Any:
        """A cached value without computing it (None when absent)."""
        with self._guard:
            return self._cache.get((self.version, *key))

    async def json(self, fn: Callable[..., Any], *args: Any) -> Response:
        """The JSON response of ``fn(store, *args)``: cached bytes when this version has them
        (answered on the event loop, no thread), else computed by one of ``READ_THREADS``."""
        return await self.json_call((fn, *args), lambda: self.run(lambda s: fn(s, *args)))

    async def json_call(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Response:
        """The JSON response of ``make()`` (run in one of ``READ_THREADS``; it may call
        :meth:`cached`), its bytes cached under ``key`` for this store version."""
        full = ("json", *key)
        with self._guard:
            version = self.version
            body = self._cache.get((version, *full))
        if body is None:
            body = await anyio.to_thread.run_sync(
                lambda: self._memo(full, lambda: encode_json(make())), limiter=self.read_limiter
            )
        mark_answer(version)  # made at this version or later: kept only while it is current
        return Response(body, media_type="application/json")

    def snapshot(self, *keys: tuple[Any, ...]) -> tuple[int, list[Any]]:
        """The store version and the values cached under ``keys`` for it (None where absent),
        read together: a commit cannot fall between them."""
        with self._guard:
            version = self.version
            return version, [self._cache.get((version, *k)) for k in keys]

    def json_now(self, version: int, key: tuple[Any, ...], make: Callable[[], Any]) -> Response:
        """The JSON response of ``make()`` computed on the event loop from values of store
        version ``version`` (:meth:`snapshot`), its bytes cached under ``key`` only while that
        version is current: for a look-up in results already cached (tens of microseconds),
        where handing the work to a thread would cost more than the work."""
        full = (version, "json", *key)
        with self._guard:
            body = self._cache.get(full)
        if body is None:
            body = encode_json(make())
            with self._guard:
                if version == self.version:
                    self._put(full, body)
        mark_answer(version)
        return Response(body, media_type="application/json")

    async def json_from(self, key: tuple[Any, ...], make: Callable[[], Awaitable[Any]], whole: bool = True) -> Response:
        """The JSON response of ``await make()`` (work done elsewhere, e.g. in the heavy pool),
        cached under ``key`` for this store version; concurrent equal requests wait for one.
        ``whole=False`` when ``key`` holds more than the request and the store version (a
        date): the middleware then does not keep the answer for every identical GET."""
        full = ("json", *key)
        with self._guard:
            version = self.version
            body = self._cache.get((version, *full))
        if body is None:
            pending = self._async_inflight.get((version, *full))
            if pending is not None:
                body = await asyncio.shield(pending)
            else:
                fut: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
                self._async_inflight[(version, *full)] = fut
                try:
                    body = encode_json(await make())
                    fut.set_result(body)
                except BaseException as exc:
                    fut.set_exception(exc)
                    fut.exception()  # retrieved: no "never retrieved" warning when nobody waits
                    raise
                finally:
                    self._async_inflight.pop((version, *full), None)
                with self._guard:
                    if version == self.version:
                        self._put((version, *full), body)
        if whole:
            mark_answer(version)
        return Response(body, media_type="application/json")

    async def compute(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(store, *args)`` (cached) off the event loop, in one of ``READ_THREADS``."""
        return await anyio.to_thread.run_sync(lambda: self.cached(fn, *args), limiter=self.read_limiter)


def holder_of(request: Request) -> StoreHolder:
    """The app's store holder (async handlers take it from the request: no dependency to
    resolve on the hot path)."""
    holder: StoreHolder = request.app.state.holder
    return holder


def get_holder(request: Request) -> StoreHolder:
    holder: StoreHolder = request.app.state.holder
    return holder


Holder = Annotated[StoreHolder, Depends(get_holder)]


def require_token(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    """Imports need ``Authorization: Bearer <token>``; no token configured: refused.
    Compared in constant time."""
    import hmac

    token: str | None = request.app.state.token
    if token is None:
        raise HTTPException(403, "imports are disabled: start the server with HASHLENS_API_TOKEN set")
    if not hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode()):
        raise HTTPException(401, "missing or wrong bearer token")
