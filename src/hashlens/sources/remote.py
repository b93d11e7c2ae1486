"""Live chain sources: Bitcoin Core (REST and JSON-RPC) and Esplora-style REST APIs.

URL forms:

- ``bitcoind://[user:pass@]host:port`` (or a cookie file): Bitcoin Core. Headers come over
  Core's REST interface (``/rest/headers``, 2,000 raw headers a request) when the node runs
  with ``-rest`` (probed once with ``/rest/chaininfo.json``), else over batched JSON-RPC
  (``getblockhash`` + ``getblockheader``); per-block fees over batched ``getblockstats``.
- ``bitcoind+rest://host:port``: Core's REST interface only (no credentials); headers as
  above, no fees (``getblockstats`` is RPC only).
- ``esplora+http(s)://host[:port]/path``: an Esplora API; headers one by one; fees from a
  mempool-style instance's ``/v1/blocks/<height>`` (``extras.totalFees``), where offered.

All expose :class:`HeaderSource`: tip height, block hashes by height, raw headers by hash,
a run of consecutive raw headers (:class:`HeaderRun`), per-block fees (:class:`BlockFees`) and
a block's coinbase (:class:`hashlens.sources.coinbase.Coinbase`, for pool attribution: Core's
REST ``/rest/block/<hash>.bin`` where served, else ``getblock <hash> 2``; an Esplora source has
none to give).
Transient network failures (a dropped connection, a reset, a timeout) are retried with
back-off; a source that keeps failing raises :class:`HashlensError` and the sync can be rerun
to resume.
"""

from __future__ import annotations

import base64
import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from hashlens.consensus.subsidy import block_subsidy_sat
from hashlens.errors import HashlensError

if TYPE_CHECKING:
    from hashlens.sources.coinbase import Coinbase

T = TypeVar("T")
TRANSIENT = (
    ConnectionError,
    http.client.HTTPException,
    TimeoutError,
    urllib.error.URLError,
    OSError,
)


@dataclass(frozen=True)
class HeaderRun:
    """Consecutive raw headers from a source: ``raw`` holds the headers at heights
    ``height0`` … as concatenated 80-byte headers; ``named`` the (height, hash) pairs the
    source named apart from the bytes, which the headers must hash to."""

    height0: int
    raw: bytes
    named: list[tuple[int, str]]


@dataclass(frozen=True)
class BlockFees:
    """One block's statistics as a source reports them (Core's ``getblockstats`` names)."""

    height: int
    blockhash: str  # display hex
    time: int  # [Unix s]
    mediantime: int  # [Unix s]; 0 where the source does not give it
    subsidy_sat: int  # [sat]
    totalfee_sat: int  # [sat]
    txs: int  # [-]
    total_weight: int  # [WU]


class BlockUnavailable(HashlensError):
    """The source cannot give a block it was asked for (a pruned node's old blocks, a block it
    does not have, a source that serves no blocks): the caller notes it and goes on."""


class HeaderSource(Protocol):
    name: str
    transport: str  # how headers travel, for the sync report

    def tip_height(self) -> int: ...

    def block_hashes(self, heights: Sequence[int]) -> list[str]: ...

    def raw_headers(self, hashes: Sequence[str]) -> list[bytes]: ...

    def header_run(self, height0: int, count: int) -> HeaderRun: ...

    def block_fees(self, heights: Sequence[int]) -> tuple[list[BlockFees], str | None]:
        """Statistics of the blocks at ``heights`` the source has, and a note on any it lacks."""
        ...

    def block_coinbase(self, block_hash: str, height: int) -> Coinbase:
        """The coinbase of block ``block_hash`` (at ``height``), which must hash to it;
        :class:`BlockUnavailable` where the source cannot give the block."""
        ...


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


@dataclass(frozen=True)
class RpcFailure:
    """A JSON-RPC call of a tolerant batch that failed, with Core's message."""

    message: str


#: Calls a JSON-RPC batch of the sync carries (Core takes any number; this bounds a reply).
RPC_BATCH_CALLS = 2000
#: ``getblockstats`` fields the fee sync asks for.
STATS_FIELDS = ["height", "blockhash", "time", "mediantime", "subsidy", "totalfee", "txs", "total_weight"]


class BitcoinRPC:
    """Bitcoin Core client: ``bitcoind://[user:pass@]host:port``, or a cookie file.

    JSON-RPC for the tip, hashes and block statistics; header runs over Core's REST interface
    where the node has ``-rest`` (probed once), else over batched JSON-RPC.
    """

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
        self._rest: Any = None  # CoreRest once probed and available; False if the node has no -rest
        self.transport = "JSON-RPC"
        self.use_rest = True  # False: headers over batched JSON-RPC even where REST is served

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

    def batch(self, calls: Sequence[tuple[str, list[Any]]], tolerate: bool = False) -> list[Any]:
        """Send calls as one JSON-RPC batch; results in call order. ``tolerate``: a call that
        fails gives ``RpcFailure(message)`` in its place instead of raising."""
        if not calls:
            return []
        first = self._id
        payload = [{"jsonrpc": "1.0", "id": first + i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        self._id += len(calls)
        replies = with_retries(lambda: self._post(payload), f"{self.name} batch of {len(calls)}")
        if not isinstance(replies, list):
            replies = [replies]
        by_id = {r.get("id"): r for r in replies if isinstance(r, dict)}
        out: list[Any] = []
        for i, (method, params) in enumerate(calls):
            r = by_id.get(first + i)
            if r is None:
                raise HashlensError(f"{self.name}: no reply to {method}{params}")
            if r.get("error"):
                err = r["error"]
                msg = err.get("message") if isinstance(err, dict) else err
                if tolerate:
                    out.append(RpcFailure(str(msg)))
                    continue
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
        out = []
        for x in self.batch([("getblockheader", [h, False]) for h in hashes]):
            try:
                out.append(bytes.fromhex(str(x)))
            except ValueError:
                raise HashlensError(f"{self.name}: getblockheader returned something that is not hex") from None
        return out

    def rest(self) -> Any:
        """The node's REST interface (a :class:`hashlens.sources.core_rest.CoreRest`), or None
        where it runs without ``-rest``; probed once."""
        if self._rest is None:
            from hashlens.sources.core_rest import CoreRest

            rest = CoreRest(self.endpoint, self.name, self.timeout_s)
            self._rest = rest if self.use_rest and rest.available() else False
            self.transport = rest.transport if self._rest else "batched JSON-RPC (the node has no -rest)"
        return self._rest or None

    def header_run(self, height0: int, count: int) -> HeaderRun:
        rest = self.rest()
        if rest is not None:
            run: HeaderRun = rest.header_run(height0, count)
            return run
        raws: list[bytes] = []
        named: list[tuple[int, str]] = []
        for lo in range(height0, height0 + count, RPC_BATCH_CALLS):
            heights = range(lo, min(lo + RPC_BATCH_CALLS, height0 + count))
            hashes = self.block_hashes(heights)
            raws += self.raw_headers(hashes)
            named += zip(heights, hashes, strict=True)
        return HeaderRun(height0, b"".join(raws), named)

    def block_fees(self, heights: Sequence[int]) -> tuple[list[BlockFees], str | None]:
        """``getblockstats`` of each height, batched; heights the node cannot serve (pruned)
        are left out and counted in the note."""
        out: list[BlockFees] = []
        missing: list[tuple[int, str]] = []
        for lo in range(0, len(heights), RPC_BATCH_CALLS):
            hs = list(heights[lo : lo + RPC_BATCH_CALLS])
            replies = self.batch([("getblockstats", [h, STATS_FIELDS]) for h in hs], tolerate=True)
            for h, r in zip(hs, replies, strict=True):
                if isinstance(r, RpcFailure):
                    missing.append((h, r.message))
                    continue
                out.append(_core_block_fees(self.name, h, r))
        note = None
        if missing:
            note = (
                f"fees: {self.name} gave no getblockstats for {len(missing)} height(s) "
                f"(first {missing[0][0]}: {missing[0][1]})"
            )
        return out, note

    def block_coinbase(self, block_hash: str, height: int) -> Coinbase:
        """A block's coinbase: from the raw block over REST where the node serves it (the
        header and the first transaction are read), else ``getblock <hash> 2`` (every
        transaction as JSON: many times the bytes). A block the node cannot give (pruned, or
        not known) raises :class:`BlockUnavailable` with Core's message."""
        from hashlens.sources.coinbase import coinbase_from_rpc

        rest = self.rest()
        if rest is not None:
            cb: Coinbase = rest.block_coinbase(block_hash, height)
            return cb

        def call(method: str, params: list[Any]) -> Any:
            reply = self.batch([(method, params)], tolerate=True)[0]
            if isinstance(reply, RpcFailure):
                raise BlockUnavailable(f"{self.name}: {method} {block_hash}: {reply.message}")
            return reply

        cb = coinbase_from_rpc(call, block_hash)
        if cb.height is not None and cb.height != height:
            raise HashlensError(f"{self.name}: getblock {block_hash} answered height {cb.height}, not {height}")
        return cb


def _core_block_fees(name: str, height: int, r: Any) -> BlockFees:
    """One ``getblockstats`` reply as :class:`BlockFees`; a reply lacking a field is an error."""
    try:
        if int(r["height"]) != height:
            raise HashlensError(f"{name}: getblockstats for height {height} answered height {r['height']}")
        return BlockFees(
            height,
            str(r["blockhash"]),
            int(r["time"]),
            int(r.get("mediantime") or 0),
            int(r["subsidy"]),
            int(r["totalfee"]),
            int(r["txs"]),
            int(r["total_weight"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HashlensError(f"{name}: getblockstats for height {height}: missing or bad field {exc}") from None


#: Blocks in one reply of mempool's ``/api/v1/blocks/<height>`` (that height and the 14 below).
MEMPOOL_BLOCKS_PER_PAGE = 15


class Esplora:
    """Esplora REST client: ``esplora+http(s)://host[:port]/path``."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        if not url.startswith(("esplora+http://", "esplora+https://")):
            raise HashlensError(f"{url!r}: expected esplora+http(s)://host/path")
        self.base = url.removeprefix("esplora+").rstrip("/")
        self.name = url
        self.timeout_s = timeout_s
        self.transport = "Esplora, one header a request"

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

    def header_run(self, height0: int, count: int) -> HeaderRun:
        heights = range(height0, height0 + count)
        hashes = self.block_hashes(heights)
        return HeaderRun(height0, b"".join(self.raw_headers(hashes)), list(zip(heights, hashes, strict=True)))

    def block_fees(self, heights: Sequence[int]) -> tuple[list[BlockFees], str | None]:
        """Fees from a mempool-style instance: ``/v1/blocks/<h>`` returns block ``h`` and the
        14 below it, each with ``extras.totalFees`` [sat] (mempool's documented format).
        Plain Esplora has no such path: no fees, and a note saying so."""
        want = set(heights)
        out: dict[int, BlockFees] = {}
        remaining = sorted(want, reverse=True)
        while remaining:
            page = remaining[0]
            url = f"{self.base}/v1/blocks/{page}"
            try:
                blocks = json.loads(self._get(f"/v1/blocks/{page}"))
            except HashlensError as exc:
                if "HTTP 404" in str(exc):
                    return list(out.values()), f"fees: {self.base} has no /v1/blocks (not a mempool-style Esplora)"
                raise
            except ValueError:
                raise HashlensError(f"{url}: reply is not JSON") from None
            for blk in blocks if isinstance(blocks, list) else []:
                fees = _mempool_block_fees(url, blk)
                if fees is not None and fees.height in want:
                    out[fees.height] = fees
            # One page covers its height and the 14 below it.
            remaining = [h for h in remaining if h <= page - MEMPOOL_BLOCKS_PER_PAGE]
        got = sorted(out.values(), key=lambda f: f.height)
        lacking = len(want) - len(got)
        return got, (f"fees: {self.base} gave no fee extras for {lacking} height(s)" if lacking else None)

    def block_coinbase(self, block_hash: str, height: int) -> Coinbase:
        """Coinbases for pool attribution come from a node (``bitcoind://``) or a chain
        API's pools (``hashlens update``); an Esplora sync has none."""
        raise BlockUnavailable(
            f"{self.name}: an Esplora sync reads no coinbases (sync from bitcoind://…, or `hashlens update` "
            "from a mempool-style API for its pools)"
        )


def _mempool_block_fees(url: str, b: Any) -> BlockFees | None:
    """One block of mempool's ``/v1/blocks`` reply; None for a block without ``extras``.

    The subsidy is the consensus subsidy of the height (mempool's ``extras.reward`` is the
    coinbase's claim, subsidy plus fees, which a miner may leave short)."""
    if not isinstance(b, dict) or not isinstance(b.get("extras"), dict) or "totalFees" not in b["extras"]:
        return None
    try:
        height = int(b["height"])
        return BlockFees(
            height,
            str(b["id"]),
            int(b["timestamp"]),
            int(b.get("mediantime") or 0),
            block_subsidy_sat(height),
            int(b["extras"]["totalFees"]),
            int(b["tx_count"]),
            int(b["weight"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HashlensError(f"{url}: block without a valid {exc} field") from None


def open_remote(url: str, cookie_file: str | None = None) -> HeaderSource:
    if url.startswith("bitcoind://"):
        return BitcoinRPC(url, cookie_file)
    if url.startswith("bitcoind+rest://"):
        from hashlens.sources.core_rest import CoreRest

        parts = urlsplit(url)
        if not parts.hostname:
            raise HashlensError(f"{url!r}: expected bitcoind+rest://host:port")
        name = f"bitcoind+rest://{parts.hostname}:{parts.port or 8332}"
        rest = CoreRest(f"http://{parts.hostname}:{parts.port or 8332}", name)
        if not rest.available():
            raise HashlensError(
                f"{name}: the node runs without -rest; start it with -rest or use bitcoind://user:pass@…"
            )
        return rest
    if url.startswith("esplora+"):
        return Esplora(url)
    raise HashlensError(f"{url!r}: unknown source scheme (bitcoind://, bitcoind+rest:// or esplora+http(s)://)")
