"""Live chain sources: Bitcoin Core over JSON-RPC and Esplora-style REST APIs.

Both expose the same small interface (:class:`HeaderSource`): tip height, block hashes by
height and raw headers by hash, fetched in batches. Transient network failures (a dropped
connection, a reset, a timeout) are retried with back-off; a source that keeps failing
raises :class:`HashlensError` and the sync can be rerun to resume.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from hashlens.errors import HashlensError

T = TypeVar("T")
TRANSIENT = (
    ConnectionError,
    http.client.HTTPException,
    TimeoutError,
    urllib.error.URLError,
    OSError,
)


class HeaderSource(Protocol):
    name: str

    def tip_height(self) -> int: ...

    def block_hashes(self, heights: Sequence[int]) -> list[str]: ...

    def raw_headers(self, hashes: Sequence[str]) -> list[bytes]: ...


def with_retries(fn: Callable[[], T], what: str, retries: int = 4, backoff_s: float = 0.2) -> T:
    for attempt in range(retries + 1):
        try:
            return fn()
        except HashlensError:
            raise
        except TRANSIENT as exc:
            if attempt == retries:
                raise HashlensError(
                    f"{what}: connection failed {retries + 1} times ({exc}); rerun the sync to resume"
                ) from None
            time.sleep(backoff_s * (2**attempt))
    raise AssertionError("unreachable")


class BitcoinRPC:
    """Bitcoin Core JSON-RPC client: ``bitcoind://[user:pass@]host:port``, or a cookie file."""

    def __init__(self, url: str, cookie_file: str | Path | None = None, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "bitcoind" or not parts.hostname:
            raise HashlensError(f"{url!r}: expected bitcoind://[user:pass@]host:port")
        self.name = f"bitcoind://{parts.hostname}:{parts.port or 8332}"
        self.endpoint = f"http://{parts.hostname}:{parts.port or 8332}/"
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        if cookie_file:
            try:
                user, _, password = Path(cookie_file).read_text().strip().partition(":")
            except OSError as exc:
                raise HashlensError(f"cannot read RPC cookie file {cookie_file}: {exc.strerror}") from None
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode() if user else None
        self.timeout_s = timeout_s
        self._id = 0

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        req = urllib.request.Request(self.endpoint, data=body, method="POST")
        req.add_header("Content-Type", "application/json")
        if self.auth:
            req.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                raise HashlensError(f"{self.name}: RPC authentication failed (check user:pass or cookie)") from None
            if exc.code in (404, 400, 500):  # Core answers errors as JSON with these codes
                try:
                    return json.loads(exc.read())
                except (ValueError, OSError):
                    pass
            raise HashlensError(f"{self.name}: HTTP {exc.code} {exc.reason}") from None
        except json.JSONDecodeError:
            raise HashlensError(f"{self.name}: reply is not JSON") from None

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Send calls as one JSON-RPC batch; results in call order."""
        if not calls:
            return []
        first = self._id
        payload = [{"jsonrpc": "1.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        self._id += len(calls)
        replies = with_retries(lambda: self._post(payload), f"{self.name} batch of {len(calls)}")
        if not isinstance(replies, list):
            replies = [replies]
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        out = []
        for i, (method, params) in enumerate(calls):
            r = by_id.get(first + i)
            if r is None:
                raise HashlensError(f"{self.name}: no reply to {method}{params}")
            if r.get("error"):
                err = r["error"]
                msg = err.get("message") if isinstance(err, dict) else err
                raise HashlensError(f"{self.name}: {method}{params} failed: {msg}")
            out.append(r.get("result"))
        return out

    def call(self, method: str, *params: Any) -> Any:
        return self.batch([(method, list(params))])[0]

    def tip_height(self) -> int:
        return int(self.call("getblockchaininfo")["blocks"])

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        return [str(h) for h in self.batch([("getblockhash", [h]) for h in heights])]

    def raw_headers(self, hashes: Sequence[str]) -> list[bytes]:
        return [bytes.fromhex(x) for x in self.batch([("getblockheader", [h, False]) for h in hashes])]


class Esplora:
    """Esplora REST client: ``esplora+http(s)://host[:port]/path``."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        if not url.startswith(("esplora+http://", "esplora+https://")):
            raise HashlensError(f"{url!r}: expected esplora+http(s)://host/path")
        self.base = url.removeprefix("esplora+").rstrip("/")
        self.name = url
        self.timeout_s = timeout_s

    def _get(self, path: str) -> str:
        url = f"{self.base}{path}"

        def fetch() -> str:
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                    return str(resp.read().decode().strip())
            except urllib.error.HTTPError as exc:
                raise HashlensError(f"{url}: HTTP {exc.code} {exc.reason}") from None

        return with_retries(fetch, url)

    def tip_height(self) -> int:
        text = self._get("/blocks/tip/height")
        if not text.isdigit():
            raise HashlensError(f"{self.base}/blocks/tip/height: not a height: {text[:40]!r}")
        return int(text)

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        return [self._get(f"/block-height/{h}") for h in heights]

    def raw_headers(self, hashes: Sequence[str]) -> list[bytes]:
        out = []
        for h in hashes:
            text = self._get(f"/block/{h}/header")
            try:
                out.append(bytes.fromhex(text))
            except ValueError:
                raise HashlensError(f"{self.base}/block/{h}/header: not hex") from None
        return out


def open_remote(url: str, cookie_file: str | None = None) -> HeaderSource:
    if url.startswith("bitcoind://"):
        return BitcoinRPC(url, cookie_file)
    if url.startswith("esplora+"):
        return Esplora(url)
    raise HashlensError(f"{url!r}: unknown source scheme (bitcoind:// or esplora+http(s)://)")
