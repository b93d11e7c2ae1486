"""Limits every request meets before any route's work, and the headers every answer carries.

- ``Host`` must name this server (:data:`LOOPBACK_HOSTS` and the hosts it is told to answer
  to, ``serve --allowed-host``), else 421: a web page on another site cannot reach a server
  on this machine through a name of its own (DNS rebinding).
- Token-gated paths (``/v1/import/…``) check ``Authorization`` (in constant time) before the
  body is read or parsed: an unauthenticated upload costs nothing.
- A body larger than its path's limit — ``MAX_BODY_BYTES`` for the token-gated imports,
  ``MAX_PUBLIC_BODY_BYTES`` elsewhere — is refused with 413 from its ``Content-Length`` before
  a byte of it is read; a body sent without a length (chunked) is counted as it arrives and
  refused the moment it passes the limit — never read whole. (Parsing JSON holds the
  interpreter lock, ~0.1 µs a byte of dense records: a public body costs the event loop at most
  about 50 ms, an authenticated import's 2 MiB about 0.2 s.)
- Every body is read here, whole, before the route runs, and must arrive within
  ``BODY_TIMEOUT_S`` of its first read: a client that trickles it is answered 408 and
  disconnected.
- At most ``LARGE_IN_FLIGHT`` requests with a body over ``LARGE_BODY_BYTES`` are in progress
  at once (from reading the body to the end of the answer); the others wait unread (their
  bytes stay in the kernel's buffers, so the server's memory does not grow with them) for up
  to ``LARGE_BODY_WAIT_S``, then 503 with ``Retry-After``.
- Bodies over ``PARSE_TURN_BYTES`` are handed to the app one at a time, and after each the
  next waits twice as long as the app's synchronous JSON parse and validation of it took (that
  work holds the interpreter lock, so a thread would not help): a stream of uploads takes at
  most a third of the event loop's time, and ``/v1/health`` waits for one parse at most.
- An exception no handler turned into an answer is a bug: answered 500 with a short message,
  its traceback in the server's log (logger ``hashlens.api``), never a 400.
- Security headers on every answer; a strict Content-Security-Policy (scripts and styles from
  this server only) on the dashboard, and one that lets the bundled Swagger UI start on /docs.

Connections themselves (idle and slow ones, header size, how many per client) are bounded
before a request exists, in :mod:`hashlens.api.connections`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any

from hashlens.servers import TOKEN_HEADER

#: Largest request body of the token-gated imports [bytes]: 2 MiB holds 20,000 days of prices
#: or 5,000 miners' reports.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Largest body of the other requests [bytes]: 1,000 fleet rows with every field take ~300 KiB.
MAX_PUBLIC_BODY_BYTES = 512 * 1024
#: Longest a body may take to arrive, from its first read [s]: a client trickling bytes
#: (slow-loris) is answered 408 and cut off.
BODY_TIMEOUT_S = 30.0
#: A body above this size [bytes] is "large": at most LARGE_IN_FLIGHT requests with one are
#: in progress at once.
LARGE_BODY_BYTES = 64 * 1024
LARGE_IN_FLIGHT = 2
#: How long a large body waits for its turn before 503 [s].
LARGE_BODY_WAIT_S = 30.0
#: Bodies above this size [bytes] are parsed one at a time, each turn followed by a rest of
#: PARSE_REST_FACTOR times as long as the parse took (at most PARSE_REST_MAX_S): parsing takes
#: at most a third of the event loop's time.
PARSE_TURN_BYTES = 16 * 1024
PARSE_REST_FACTOR = 2.0
PARSE_REST_MAX_S = 1.0
#: Host names a server always answers to (with any port).
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

log = logging.getLogger("hashlens.api")

#: The request in progress's mark: the store holder sets ``"version"`` when the answer is its
#: cached result of that store version (:func:`mark_answer`), and only such an answer is kept
#: whole by :class:`LimitsMiddleware` for the next identical GET.
ANSWER_SLOT: ContextVar[dict[str, int] | None] = ContextVar("hashlens_answer_slot", default=None)
#: Whole answers kept (each the same GET's, at the current store version): at most this many,
#: of at most ANSWERS_BYTES together.
ANSWERS_KEPT = 4096
ANSWERS_BYTES = 64 * 1024 * 1024


def mark_answer(version: int) -> None:
    """Say that the answer being made is the one every identical GET gets at store version
    ``version`` (a result of the per-version cache): the middleware may keep it whole."""
    slot = ANSWER_SLOT.get()
    if slot is not None:
        slot["version"] = version


Scope = dict[str, Any]

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
# Plotly styles through element properties (which CSP allows); its global sheet is a file of
# ours (web/static/plotly-global.css), so the dashboard needs nothing inline.
_CSP_PAGE = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Swagger UI's scripts are files (its start too: /docs/start.js); its React views set style
# attributes, which need 'unsafe-inline' for styles only.
_CSP_DOCS = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def host_name(value: bytes) -> str:
    """The name in a ``Host`` header, lower-case, without its port (``[::1]:8000`` -> ``::1``)."""
    text = value.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:].split("]", 1)[0]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class LimitsMiddleware:
    """Pure ASGI: host, token, body size, time and turn before the app; security headers and
    the bug answer after it.

    Parameters
    ----------
    app : the ASGI app
    token : the import token (None: imports refused)
    max_body_bytes : the body limit of the imports [bytes] (other paths: at most
        ``MAX_PUBLIC_BODY_BYTES``)
    server_token : the token of this server's mark beside its store (:mod:`hashlens.servers`):
        commands in other shells take an answer only when it carries it
    allowed_hosts : host names answered besides :data:`LOOPBACK_HOSTS` (``"*"``: any); None:
        no check (an app embedded behind a host check of its own)
    store_version : the store holder's version now (None: no answers kept): a GET whose
        answer was marked (:func:`mark_answer`) is answered again, byte for byte, from here,
        after the host check and before any routing, while that version stands
    """

    def __init__(
        self,
        app: Any,
        token: str | None,
        max_body_bytes: int = MAX_BODY_BYTES,
        server_token: str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        store_version: Callable[[], int] | None = None,
    ) -> None:
        self.app = app
        self.store_version = store_version
        # (path, query) -> (version, start message, body message), least recently used first
        self.answers: OrderedDict[tuple[str, bytes], tuple[int, dict[str, Any], dict[str, Any]]] = OrderedDict()
        self.answers_bytes = 0
        self.answers_version = -1
        self.token = token
        self.max_body = max_body_bytes
        self.extra = ((TOKEN_HEADER.lower().encode(), server_token.encode()),) if server_token else ()
        hosts = None if allowed_hosts is None else {h.strip().lower().strip("[]") for h in allowed_hosts}
        self.hosts = None if hosts is None or "*" in hosts else frozenset(LOOPBACK_HOSTS | hosts)
        # Made in the server's event loop, at first use: the places of large bodies in progress,
        # and the turn to be parsed.
        self.large: Any = None
        self.parse_turn: Any = None
        self.stats = {"bugs": 0, "body_timeouts": 0, "large_body_waits_refused": 0, "wrong_host": 0}

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        raw_send = send
        send = _Tracked(self._with_headers(send, path))
        limit = self.max_body if path.startswith("/v1/import") else min(self.max_body, MAX_PUBLIC_BODY_BYTES)
        if self.hosts is not None and b"host" in headers and host_name(headers[b"host"]) not in self.hosts:
            self.stats["wrong_host"] += 1
            await _answer(
                send,
                421,
                "this server does not answer to that Host name; start it with --allowed-host NAME to add one",
            )
            return
        if path.startswith("/v1/import"):
            if self.token is None:
                await _answer(send, 403, "imports are disabled: start the server with HASHLENS_API_TOKEN set")
                return
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, f"Bearer {self.token}".encode()):
                await _answer(send, 401, "missing or wrong bearer token")
                return
        length: int | None = None
        if b"content-length" in headers:
            try:
                length = int(headers[b"content-length"])
            except ValueError:
                await _answer(send, 400, "Content-Length is not a number")
                return
            if length < 0:
                await _answer(send, 400, "Content-Length is negative")
                return
            if length > limit:
                await _answer(send, 413, f"request body of {length:,} bytes; the limit here is {limit:,}")
                return
        chunked = b"transfer-encoding" in headers
        if not length and not chunked:
            if (
                self.store_version is not None
                and scope.get("method") == "GET"
                and (path == "/" or path.startswith("/v1/"))
            ):
                await self._kept_or_run(scope, receive, raw_send, path)
                return
            await self._run(scope, receive, send)
            return
        if length is not None and length <= LARGE_BODY_BYTES and not chunked:
            await self._with_body(scope, receive, send, limit)
            return
        import anyio

        # A large body (or one of unknown length): wait for a place before reading it.
        if self.large is None:
            self.large = anyio.Semaphore(LARGE_IN_FLIGHT)
        with anyio.move_on_after(LARGE_BODY_WAIT_S) as waited:
            await self.large.acquire()
        if waited.cancelled_caught:
            self.stats["large_body_waits_refused"] += 1
            await _answer(
                send,
                503,
                f"busy: {LARGE_IN_FLIGHT} requests with large bodies are in progress and this one waited "
                f"{LARGE_BODY_WAIT_S:g} s for its turn; retry later",
                retry_after=5,
            )
            return
        try:
            await self._with_body(scope, receive, send, limit)
        finally:
            self.large.release()

    async def _with_body(self, scope: Scope, receive: Any, send: _Tracked, limit: int) -> None:
        """Read the whole body (up to the limit, within the time), then run the app on it."""
        import anyio

        chunks: list[bytes] = []
        size = 0
        with anyio.move_on_after(BODY_TIMEOUT_S) as timer:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client left: nobody to answer
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    await _answer(send, 413, f"request body over the limit here of {limit:,} bytes")
                    return
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        if timer.cancelled_caught:
            self.stats["body_timeouts"] += 1
            await _answer(send, 408, f"the request body did not arrive within {BODY_TIMEOUT_S:g} s")
            return
        body = b"".join(chunks)
        del chunks
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                if len(body) > PARSE_TURN_BYTES:
                    await self._take_parse_turn()
                return {"type": "http.request", "body": body, "more_body": False}
            message: dict[str, Any] = await receive()
            return message

        await self._run(scope, replay, send)

    async def _kept_or_run(self, scope: Scope, receive: Any, raw_send: Any, path: str) -> None:
        """A GET without a body: its kept answer at this store version, else the app's, kept
        when the store holder marked it as its cached result."""
        assert self.store_version is not None
        version = self.store_version()
        if version != self.answers_version:  # a commit: every kept answer is stale
            self.answers.clear()
            self.answers_bytes = 0
            self.answers_version = version
        key = (path, bytes(scope.get("query_string", b"")))
        hit = self.answers.get(key)
        if hit is not None and hit[0] == version:
            self.answers.move_to_end(key)
            await raw_send(hit[1])
            await raw_send(hit[2])
            return
        slot: dict[str, int] = {}
        token = ANSWER_SLOT.set(slot)
        messages: list[dict[str, Any]] = []

        async def keeping(message: dict[str, Any]) -> None:
            messages.append(message)
            await raw_send(message)

        try:
            await self._run(scope, receive, _Tracked(self._with_headers(keeping, path)))
        finally:
            ANSWER_SLOT.reset(token)
        if (
            slot.get("version") == version == self.store_version()
            and len(messages) == 2
            and messages[0].get("status") == 200
            and not messages[1].get("more_body", False)
        ):
            body = messages[1].get("body", b"")
            before = self.answers.pop(key, None)  # two requests for it were answered at once
            if before is not None:
                self.answers_bytes -= len(before[2].get("body", b""))
            self.answers[key] = (version, messages[0], messages[1])
            self.answers_bytes += len(body)
            while len(self.answers) > ANSWERS_KEPT or self.answers_bytes > ANSWERS_BYTES:
                _, old = self.answers.popitem(last=False)
                self.answers_bytes -= len(old[2].get("body", b""))

    async def _take_parse_turn(self) -> None:
        """Wait for the turn to hand a body to the app. The app parses and validates it right
        after, without yielding; the loop's next round measures how long that took, and the
        turn goes back after twice as long: parsing takes at most a third of the loop's time."""
        import anyio

        if self.parse_turn is None:
            self.parse_turn = anyio.Semaphore(1)
        await self.parse_turn.acquire()
        loop = asyncio.get_running_loop()
        handed = loop.time()
        turn = self.parse_turn

        def parsed() -> None:
            loop.call_later(min(PARSE_REST_FACTOR * (loop.time() - handed), PARSE_REST_MAX_S), turn.release)

        loop.call_soon(parsed)

    async def _run(self, scope: Scope, receive: Any, send: _Tracked) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            self.stats["bugs"] += 1
            log.exception("bug: %s %s raised %s", scope.get("method"), scope.get("path"), type(exc).__name__)
            if send.started:
                raise  # the answer is under way: the server cuts the connection
            await _answer(
                send,
                500,
                f"internal error: a bug in hashlens ({type(exc).__name__}); the server's log has its "
                "traceback; please report it",
            )

    def _with_headers(self, send: Any, path: str) -> Any:
        csp = _CSP_DOCS if path.startswith("/docs") else _CSP_PAGE
        extra = self.extra

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    *_COMMON,
                    (b"content-security-policy", csp),
                    *extra,
                ]
            await send(message)

        return wrapped


class _Tracked:
    """``send`` that remembers whether the answer has started."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


async def _answer(send: Any, status: int, detail: str, retry_after: int | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status in (408, 413, 421):
        headers.append((b"connection", b"close"))
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
