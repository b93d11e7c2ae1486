"""Limits every request meets before any route's work, and the headers every answer carries.

- A body larger than ``MAX_BODY_BYTES`` is refused with 413 from its ``Content-Length`` before
  a byte of it is read; a body sent without a length (chunked) is counted as it arrives and
  refused the moment it passes the limit — never read whole.
- A body must arrive within ``BODY_TIMEOUT_S``; a client that trickles it is answered 408
  (or, once the route reads it, disconnected).
- Token-gated paths (``/v1/import/…``) check ``Authorization`` (in constant time) before the
  body is read or parsed: an unauthenticated upload costs nothing.
- Security headers on every answer; a strict Content-Security-Policy (scripts and styles from
  this server only) on the dashboard, and one that lets the bundled Swagger UI start on /docs.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from hashlens.servers import TOKEN_HEADER

#: Largest request body [bytes]: 2 MiB holds 20,000 days of prices or 5,000 miners' reports.
MAX_BODY_BYTES = 2 * 1024 * 1024
#: Longest a body may take to arrive [s]: a client trickling bytes (slow-loris) is cut off.
BODY_TIMEOUT_S = 30.0

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


class LimitsMiddleware:
    """Pure ASGI: body size and token before the app; security headers after it."""

    def __init__(
        self, app: Any, token: str | None, max_body_bytes: int = MAX_BODY_BYTES, server_token: str | None = None
    ) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body_bytes
        # The token of this server's mark beside its store (hashlens.servers): commands in other
        # shells take an answer only when it carries it.
        self.extra = ((TOKEN_HEADER.lower().encode(), server_token.encode()),) if server_token else ()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = dict(scope.get("headers") or [])
        send = self._with_headers(send, path)
        if path.startswith("/v1/import"):
            if self.token is None:
                await _answer(send, 403, "imports are disabled: start the server with HASHLENS_API_TOKEN set")
                return
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, f"Bearer {self.token}".encode()):
                await _answer(send, 401, "missing or wrong bearer token")
                return
        length = headers.get(b"content-length")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                await _answer(send, 400, "Content-Length is not a number")
                return
            if n > self.max_body:
                await _answer(send, 413, f"request body of {n:,} bytes; the limit is {self.max_body:,}")
                return
            await self.app(scope, _timed(receive), send)
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        # No length given: read up to the limit here, refuse at the first byte past it.
        chunks: list[bytes] = []
        size = 0
        timed = _timed(receive)
        while True:
            message = await timed()
            if message["type"] == "http.disconnect" and message.get("timed_out"):
                await _answer(send, 408, f"the request body did not arrive within {BODY_TIMEOUT_S:g} s")
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _answer(send, 413, f"request body over the limit of {self.max_body:,} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

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


def _timed(receive: Any) -> Any:
    """``receive`` with the body's deadline: past it, the client counts as gone."""
    import anyio

    deadline: float | None = None

    async def timed() -> dict[str, Any]:
        nonlocal deadline
        if deadline is None:
            deadline = anyio.current_time() + BODY_TIMEOUT_S
        try:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                message: dict[str, Any] = await receive()
                return message
        except TimeoutError:
            return {"type": "http.disconnect", "timed_out": True}

    return timed


async def _answer(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
