"""Bitcoin Core's REST interface (``-rest``): chain info, block hashes and headers in bulk.

Core serves ``/rest/headers/<hash>.bin?count=N`` (up to 2,000 consecutive headers of its best
chain, from ``<hash>`` upwards, as raw 80-byte headers; the older path form
``/rest/headers/<N>/<hash>.bin`` is deprecated since 24.0 and used only when a node refuses
the query form), ``/rest/blockhashbyheight/<h>.bin`` (the 32-byte hash, internal byte order)
``/rest/chaininfo.json`` (``getblockchaininfo``) and ``/rest/block/<hash>.bin`` (a raw block,
read for its coinbase; 404 where the node has pruned it). A node without ``-rest`` answers 404
(403 where a proxy forbids it): :meth:`CoreRest.available` is False and the caller falls back
to JSON-RPC. Unauthenticated, on the RPC port.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from hashlens.errors import HashlensError
from hashlens.sources.coinbase import Coinbase, coinbase_from_block, coinbase_from_rest
from hashlens.sources.remote import BlockFees, BlockUnavailable, HeaderRun, with_retries

#: Bytes read at a time from a raw block until its coinbase is whole (a coinbase is rarely
#: over a few kB; a block is up to 4 MB).
PREFIX_READ_BYTES = 64 * 1024
#: Core's ``MAX_REST_HEADERS_RESULTS``: headers one request may return.
MAX_REST_HEADERS = 2000
HEADER_SIZE = 80


class RestUnavailable(HashlensError):
    """The node answered 404 or 403 to a REST path: it runs without ``-rest``."""


class RestStatus(HashlensError):
    """The node answered a REST request with an HTTP status other than 200."""

    def __init__(self, message: str, status: int, body: bytes = b"") -> None:
        super().__init__(message)
        self.status, self.body = status, body


def _read_until(resp: http.client.HTTPResponse, enough: Callable[[bytes], bool]) -> bytes:
    """A reply's body up to the first piece after which ``enough`` holds, or all of it."""
    data = bytearray()
    while True:
        piece = resp.read(PREFIX_READ_BYTES)
        if not piece:
            return bytes(data)
        data += piece
        if enough(bytes(data)):
            return bytes(data)


def _holds_coinbase(data: bytes) -> bool:
    """Whether the bytes of a block so far hold its header and whole coinbase."""
    try:
        coinbase_from_block(data)
    except HashlensError:
        return False
    return True


class CoreRest:
    """REST client for ``http://host:port`` (no credentials: Core's REST is unauthenticated)."""

    def __init__(self, base_url: str, name: str | None = None, timeout_s: float = 30.0) -> None:
        self.base = base_url.rstrip("/")
        self.name = name or self.base
        self.timeout_s = timeout_s
        self.transport = "REST /rest/headers (2,000 a request)"
        self._query_form = True  # /rest/headers/<hash>.bin?count=N, Core 24.0 and later
        self._last: tuple[int, bytes] | None = None  # height and raw bytes of the last header served
        parts = urlsplit(self.base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise HashlensError(f"{self.base}: expected http(s)://host:port for Core's REST interface")
        self._https, self._host, self._port = parts.scheme == "https", parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        # One kept-alive connection per thread (the sync fetches in a worker thread): a new
        # connection per 2,000 headers cost as much as serving them.
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        con: http.client.HTTPConnection | None = getattr(self._local, "con", None)
        if con is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            con = cls(self._host, self._port, timeout=self.timeout_s)
            self._local.con = con
        return con

    def _drop_connection(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    def _get(self, path: str, enough: Callable[[bytes], bool] | None = None) -> bytes:
        """The body of ``GET path``; with ``enough``, only its first bytes: read in pieces of
        :data:`PREFIX_READ_BYTES` until ``enough(bytes so far)`` (the rest is never read, and
        the connection is closed, as it cannot carry another request)."""
        url = f"{self.base}{path}"

        def fetch() -> bytes:
            con = self._connection()
            try:
                con.request("GET", self._prefix + path)
                resp = con.getresponse()
                body = resp.read() if enough is None or resp.status != 200 else _read_until(resp, enough)
            except BaseException:
                self._drop_connection()  # half a reply or none: the next try starts afresh
                raise
            if resp.will_close or not resp.isclosed():
                self._drop_connection()
            if resp.status in (403, 404) and path.startswith("/rest/chaininfo"):
                raise RestUnavailable(f"{url}: HTTP {resp.status}; the node runs without -rest")
            if resp.status != 200:
                raise RestStatus(f"{url}: HTTP {resp.status} {resp.reason}", resp.status, bytes(body))
            return bytes(body)

        return with_retries(fetch, url)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        self._drop_connection()

    def available(self) -> bool:
        """Whether the node serves REST (one request to ``/rest/chaininfo.json``)."""
        try:
            self.chain_info()
        except RestUnavailable:
            return False
        return True

    def chain_info(self) -> dict[str, Any]:
        body = self._get("/rest/chaininfo.json")
        try:
            info = json.loads(body)
        except ValueError:
            raise HashlensError(f"{self.base}/rest/chaininfo.json: reply is not JSON") from None
        if not isinstance(info, dict) or not isinstance(info.get("blocks"), int):
            raise HashlensError(f"{self.base}/rest/chaininfo.json: no 'blocks' height in the reply")
        return info

    def tip_height(self) -> int:
        return int(self.chain_info()["blocks"])

    def block_hash(self, height: int) -> str:
        body = self._get(f"/rest/blockhashbyheight/{height}.bin")
        if len(body) != 32:
            raise HashlensError(
                f"{self.base}/rest/blockhashbyheight/{height}.bin: {len(body)} bytes, not a 32-byte block hash"
            )
        return body[::-1].hex()

    def block_hashes(self, heights: Sequence[int]) -> list[str]:
        return [self.block_hash(h) for h in heights]

    def headers_from(self, block_hash: str, count: int) -> bytes:
        """Up to ``count`` raw headers of the node's best chain from ``block_hash`` upwards."""
        if self._query_form:
            try:
                return self._headers_checked(f"/rest/headers/{block_hash}.bin?count={count}")
            except HashlensError as exc:
                if "HTTP 400" not in str(exc) and "HTTP 404" not in str(exc):
                    raise
                self._query_form = False  # a node before 24.0: the path form
        return self._headers_checked(f"/rest/headers/{count}/{block_hash}.bin")

    def _headers_checked(self, path: str) -> bytes:
        body = self._get(path)
        if len(body) % HEADER_SIZE:
            raise HashlensError(
                f"{self.base}{path}: reply of {len(body)} bytes is not a whole number of 80-byte headers; "
                "the node or a proxy cut it short: rerun the sync"
            )
        return body

    def raw_headers(self, hashes: Sequence[str]) -> list[bytes]:
        out = []
        for h in hashes:
            body = self.headers_from(h, 1)
            if len(body) != HEADER_SIZE:
                raise HashlensError(f"{self.base}/rest/headers/{h}.bin: no header (the block is not in the best chain)")
            out.append(body)
        return out

    def header_run(self, height0: int, count: int) -> HeaderRun:
        """Headers at heights ``height0`` … ``height0 + count - 1``, 2,000 a request.

        The first request starts from the hash the node names for ``height0``; each later one
        starts from the last header already received and must return it again first, so the
        run is one piece of the node's best chain even if it reorganises between requests.
        """
        parts: list[bytes] = []
        named: list[tuple[int, str]] = []
        h, end = height0, height0 + count
        while h < end:
            last = self._last
            if last is not None and last[0] == h - 1:
                want = min(MAX_REST_HEADERS - 1, end - h)
                sha = hashlib.sha256
                start_hash = sha(sha(last[1]).digest()).digest()[::-1].hex()
                body = self.headers_from(start_hash, want + 1)
                if body[:HEADER_SIZE] != last[1]:
                    raise HashlensError(
                        f"{self.name}: the node no longer has block {h - 1} ({start_hash}) in its best chain; "
                        "it reorganised during the sync: rerun the sync"
                    )
                body = body[HEADER_SIZE:]
            else:
                want = min(MAX_REST_HEADERS, end - h)
                start_hash = self.block_hash(h)
                named.append((h, start_hash))
                body = self.headers_from(start_hash, want)
            if len(body) != want * HEADER_SIZE:
                raise HashlensError(
                    f"{self.name}: {len(body) // HEADER_SIZE} header(s) from height {h} where {want} were asked; "
                    "the node's best chain changed during the sync: rerun the sync"
                )
            parts.append(body)
            self._last = (h + want - 1, body[-HEADER_SIZE:])
            h += want
        return HeaderRun(height0, b"".join(parts), named)

    def block_fees(self, heights: Sequence[int]) -> tuple[list[BlockFees], str | None]:
        """Core's REST has no block statistics (``getblockstats`` is RPC only)."""
        if not heights:
            return [], None
        return [], f"fees: {self.name} is REST only; give bitcoind://user:pass@host:port for getblockstats"

    def block_coinbase(self, block_hash: str, height: int) -> Coinbase:
        """A block's coinbase from ``/rest/block/<hash>.bin`` (the raw block, read only as far
        as its coinbase's end; its header must hash to ``block_hash``). Core answers 404 for a block it does not have or has pruned:
        :class:`~hashlens.sources.remote.BlockUnavailable`."""

        def fetch(url: str) -> bytes:
            try:
                # The header and the coinbase come first: the rest of the block (up to 4 MB)
                # is left unread.
                return self._get(url[len(self.base) :], enough=_holds_coinbase)
            except RestStatus as exc:
                if exc.status in (404, 400):
                    # Core's reason in its own words ("<hash> not available (pruned data)").
                    why = " ".join(exc.body[:200].decode("utf-8", "replace").split())
                    raise BlockUnavailable(f"{exc}{': ' + why if why else ''}") from None
                raise

        return coinbase_from_rest(fetch, self.base, block_hash, height)
