"""Connections bounded before a request exists: how many, how long idle, how large a head.

uvicorn closes a connection that stays idle after an answer (``timeout_keep_alive``), but not
one that never sends a request, nor one that trickles its head a byte at a time, and it
counts idle connections against ``limit_concurrency``, answering every new request 503 once
they fill it (``/v1/health`` included). :class:`GuardedProtocol` is uvicorn's httptools
protocol with these bounds (per server process):

- **Head deadline.** A request's line and headers must arrive within :data:`HEAD_TIMEOUT_S`
  of the connection's start or of the previous answer: past it, a connection that sent part
  of a head is answered 408, one that sent nothing is closed.
- **Idle after an answer** :data:`KEEP_ALIVE_S` (uvicorn's ``timeout_keep_alive``).
- **Head size.** More than :data:`MAX_HEAD_BYTES` before the head ends: 431, closed.
- **How many.** At most :data:`MAX_CONNECTIONS` open connections in total (fewer if the
  process may not open that many files, :func:`connection_cap`) and
  :data:`MAX_PER_CLIENT` from one client address. A new connection past either cap closes the
  oldest *idle* connection (no request in progress: waiting for a head, or kept alive after an
  answer) of the same address, else of any address, and takes its place; only when every
  connection has a request in progress is the new one answered 503 and closed. So a flood of
  idle or slow-header connections cannot keep ``/v1/health`` out, and a request that has
  arrived is never dropped for a newcomer.

Bodies (their size, time and how many large ones at once) are bounded in
:mod:`hashlens.api.middleware`; the work a request may cost in :mod:`hashlens.api.pool`.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: A request's line and headers must arrive within this many seconds [s].
HEAD_TIMEOUT_S = 10.0
#: An idle connection after an answer is closed after this many seconds [s].
KEEP_ALIVE_S = 5
#: Largest request line and headers [bytes] (answered 431 past it).
MAX_HEAD_BYTES = 32 * 1024
#: Open connections per server process, and from one client address.
MAX_CONNECTIONS = 1000
MAX_PER_CLIENT = 256
#: uvicorn's own ``limit_concurrency``: a backstop above the caps, never reached through them.
UVICORN_LIMIT_CONCURRENCY = MAX_CONNECTIONS + 64


class Guard:
    """The open connections of one server process: counts per client, idle ones oldest first."""

    def __init__(self, max_connections: int | None = None, max_per_client: int | None = None) -> None:
        self.max_connections = MAX_CONNECTIONS if max_connections is None else max_connections
        self.max_per_client = MAX_PER_CLIENT if max_per_client is None else max_per_client
        self.open: set[GuardedProtocol] = set()
        self.per_client: dict[str, int] = {}
        self.idle: OrderedDict[GuardedProtocol, None] = OrderedDict()
        self.stats = {"accepted": 0, "evicted": 0, "refused": 0, "head_timeouts": 0, "head_too_large": 0}

    def admit(self, conn: GuardedProtocol) -> bool:
        """Take a new connection, closing an idle one to make room if a cap is reached; False
        if none can be closed (every connection has a request in progress)."""
        ip = conn.client_ip
        while len(self.open) >= self.max_connections or self.per_client.get(ip, 0) >= self.max_per_client:
            same = self.per_client.get(ip, 0) >= self.max_per_client
            victim = next((c for c in self.idle if c.client_ip == ip), None) if same else None
            if victim is None and not same:
                victim = next(iter(self.idle), None)
            if victim is None:
                self.stats["refused"] += 1
                return False
            self.stats["evicted"] += 1
            victim.close_idle()
        self.open.add(conn)
        self.per_client[ip] = self.per_client.get(ip, 0) + 1
        self.idle[conn] = None
        self.stats["accepted"] += 1
        return True

    def remove(self, conn: GuardedProtocol) -> None:
        if conn in self.open:
            self.open.discard(conn)
            n = self.per_client.get(conn.client_ip, 1) - 1
            if n > 0:
                self.per_client[conn.client_ip] = n
            else:
                self.per_client.pop(conn.client_ip, None)
        self.idle.pop(conn, None)

    def busy(self, conn: GuardedProtocol) -> None:
        self.idle.pop(conn, None)

    def idled(self, conn: GuardedProtocol) -> None:
        if conn in self.open:
            self.idle[conn] = None
            self.idle.move_to_end(conn)


def connection_cap() -> int:
    """:data:`MAX_CONNECTIONS`, or fewer where the process may not open that many files (each
    connection is one; 128 are kept for the store, the workers and the libraries). The soft
    limit is first raised to the hard one where it is lower."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = MAX_CONNECTIONS + 128
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return MAX_CONNECTIONS if soft == resource.RLIM_INFINITY else max(16, min(MAX_CONNECTIONS, soft - 128))


def guard_of(server_state: Any) -> Guard:
    """The guard of a uvicorn server (one per process, kept on its shared state)."""
    guard: Guard | None = getattr(server_state, "hashlens_guard", None)
    if guard is None:
        guard = Guard(connection_cap())
        server_state.hashlens_guard = guard
    return guard


def _raw_answer(status: int, reason: str, detail: str, retry_after: int | None = None) -> bytes:
    body = ('{"detail": "' + detail + '"}').encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
    ]
    if retry_after is not None:
        head.append(f"retry-after: {retry_after}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _too_large() -> bytes:
    return _raw_answer(
        431, "Request Header Fields Too Large", f"the request line and headers exceed {MAX_HEAD_BYTES:,} bytes"
    )


class _Refused:
    """Stands for a request refused at its head: the parser's callbacks for its body see an
    answered request and ignore it."""

    response_complete = True
    keep_alive = False
    disconnected = False

    class message_event:  # uvicorn sets the cycle's event when the connection ends
        @staticmethod
        def set() -> None:
            pass


_REFUSED = _Refused()


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a head deadline, a head size limit and connection
    caps (see the module's docstring); pass as ``uvicorn.Config(http=GuardedProtocol)``."""

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.guard = guard_of(server_state)
        self.client_ip = ""
        self._head_timer: asyncio.TimerHandle | None = None
        self._in_request = False
        self._head_bytes = 0  # bytes received while waiting for a head (a head not yet whole)
        self._head_size = 0  # the request line's and headers' size, as parsed

    # -- the connection -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.client_ip = self.client[0] if self.client else ""
        if not self.guard.admit(self):
            transport.write(
                _raw_answer(503, "Service Unavailable", "every connection is busy; retry shortly", retry_after=2)
            )
            transport.close()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard.remove(self)
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._in_request:
            self._head_bytes += len(data)
        super().data_received(data)
        if not self._in_request and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.guard.stats["head_too_large"] += 1
            self._close_with(_too_large())

    # -- the request's head and the answer ----------------------------------------------------
    def on_message_begin(self) -> None:
        self._head_size = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_request = True
        self._cancel_head_timer()
        self.guard.busy(self)
        if self._head_size > MAX_HEAD_BYTES:  # a head that arrived whole in one read
            self.guard.stats["head_too_large"] += 1
            self._close_with(_too_large())
            self.cycle = _REFUSED  # type: ignore[assignment]  # what the parser's later callbacks see
            return
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
            return  # closing, or a pipelined request has started
        self._in_request = False
        self._head_bytes = 0
        self.guard.idled(self)
        self._arm_head_timer()

    # -- deadlines and closing ----------------------------------------------------------------
    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._in_request or self.transport.is_closing():
            return
        self.guard.stats["head_timeouts"] += 1
        if self._head_bytes:
            self._close_with(
                _raw_answer(408, "Request Timeout", f"the request head did not arrive within {HEAD_TIMEOUT_S:g} s")
            )
        else:
            self.transport.close()

    def close_idle(self) -> None:
        """Closed to make room for a new connection (the guard has counted it)."""
        self.guard.remove(self)
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.close()

    def _close_with(self, answer: bytes) -> None:
        self._cancel_head_timer()
        self.guard.remove(self)
        self.transport.write(answer)
        self.transport.close()


__all__ = [
    "HEAD_TIMEOUT_S",
    "KEEP_ALIVE_S",
    "MAX_CONNECTIONS",
    "MAX_HEAD_BYTES",
    "MAX_PER_CLIENT",
    "UVICORN_LIMIT_CONCURRENCY",
    "GuardedProtocol",
    "guard_of",
]
