"""Client of a mempool-style or an Esplora REST API: blocks in pages, the difficulty
adjustments, the tip — what ``hashlens update`` reads to bring the store to the present.

URL forms (the path is the API's root, ``/api`` on both kinds of instance):

- ``mempool+http(s)://host/api`` — a mempool instance, as its REST API reference documents:
  ``GET /v1/blocks/<h>`` gives block ``h`` and the 14 below it, each with its header fields
  and ``extras`` (fees, the coinbase's claim, the pool mempool attributes it to, the raw
  header); ``GET /v1/mining/difficulty-adjustments`` every change of difficulty as
  ``[time, height, difficulty, ratio]``, newest first (one request for the whole history);
  ``GET /blocks/tip/height`` and ``GET /block-height/<h>`` as Esplora has them.
- ``esplora+http(s)://host/api`` — an Esplora instance: ``GET /blocks/<h>`` gives block ``h``
  and the 9 below it with their header fields and no extras; there is no list of
  adjustments, so a period's bits are read from its first block.

What a record proves depends on the fields it carries, and the caller stores only that
(:mod:`hashlens.chain.update`): with ``id`` and all six header fields the 80-byte header is
rebuilt (:meth:`BlockRecord.header`), so it must hash to ``id`` and meet its own target;
with ``id`` but not all header fields only the hash and time are known (no proof of work can
be checked); without ``id`` only the time. Every field is type- and range-checked here; a
reply that is not the documented shape is a one-line :class:`HashlensError`.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hashlens.consensus import MAX_BLOCK_HEIGHT, MAX_TARGET, BlockHeader, difficulty_from_bits, target_to_bits
from hashlens.errors import HashlensError
from hashlens.sources.remote import with_retries

#: Blocks in one page: mempool's ``/v1/blocks/<h>`` and Esplora's ``/blocks/<h>``.
MEMPOOL_PAGE = 15
ESPLORA_PAGE = 10
#: The largest reply read [bytes]: a page is ~30 KB, the whole adjustment list ~40 KB.
MAX_REPLY_BYTES = 16 * 1024 * 1024
#: The largest value of a header's 32-bit fields (time, bits, nonce) and of the counts.
UINT32_MAX = 0xFFFF_FFFF

_HEX64 = re.compile(r"[0-9a-f]{64}")

#: Genesis blocks of the other public chains, to say which one a wrong source is on.
OTHER_GENESIS = {
    "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943": "testnet3",
    "00000000da84f2bafbbc53dee25a72ae507ff4914b867c565be350b0da8bf043": "testnet4",
    "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6": "signet",
    "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206": "regtest",
}


@dataclass(frozen=True)
class PoolTag:
    """The pool a mempool instance attributes a block to (``extras.pool``); its ``id`` and
    ``slug`` are that instance's (its pools list), the name is for people."""

    id: int | None
    name: str
    slug: str | None


@dataclass(frozen=True)
class BlockExtras:
    """A mempool block's ``extras`` as far as hashlens reads them."""

    total_fees_sat: int | None  # [sat] fees of the block's transactions
    reward_sat: int | None  # [sat] what the coinbase claims (subsidy + fees at most)
    pool: PoolTag | None
    coinbase_raw_hex: str | None  # the coinbase input's script, hex
    coinbase_address: str | None  # its first output's address
    coinbase_signature_ascii: str | None  # the script as text (pool tags live here)
    header_hex: str | None  # the raw 80-byte header the instance stored


@dataclass(frozen=True)
class BlockRecord:
    """One block as a page lists it; every field but height and time may be absent."""

    height: int
    hash: str | None  # ``id``, display hex
    time: int  # ``timestamp`` [Unix s], the header's nTime
    bits: int | None
    difficulty: float | None
    version: int | None  # signed 32-bit, as in the header
    prev_hash: str | None  # ``previousblockhash``, display hex
    merkle_root: str | None  # display hex
    nonce: int | None
    mediantime: int | None  # [Unix s] median time of the 11 blocks ending at this one
    tx_count: int | None
    size_bytes: int | None
    weight_wu: int | None
    extras: BlockExtras | None

    @property
    def has_header(self) -> bool:
        """True if all six header fields are given, so the 80-byte header can be rebuilt."""
        return None not in (self.version, self.prev_hash, self.merkle_root, self.bits, self.nonce)

    def header(self) -> BlockHeader | None:
        """The 80-byte header rebuilt from the fields (hashes byte-reversed to wire order),
        or None where a field is missing."""
        if not self.has_header:
            return None
        assert self.prev_hash is not None and self.merkle_root is not None
        assert self.version is not None and self.bits is not None and self.nonce is not None
        return BlockHeader(
            self.version,
            bytes.fromhex(self.prev_hash)[::-1],
            bytes.fromhex(self.merkle_root)[::-1],
            self.time,
            self.bits,
            self.nonce,
        )


@dataclass(frozen=True)
class Adjustment:
    """One entry of mempool's difficulty adjustments: from ``height`` on, ``difficulty``."""

    time: int  # [Unix s] header time of the block at ``height``
    height: int
    difficulty: float  # Core's ``GetDifficulty`` double
    ratio: float  # new / old difficulty, rounded to 6 decimals by the instance [-]


def bits_of_difficulty(difficulty: float) -> int | None:
    """The compact bits whose difficulty (:func:`hashlens.consensus.difficulty_from_bits`,
    Core's double) is exactly ``difficulty``, or None if no bits give it.

    The 3-byte mantissa makes neighbouring bits differ in difficulty by at least 2^-23
    relatively, far above a double's rounding, so at most one bits value matches: the target
    MAX_TARGET / difficulty is encoded and it and its neighbours are tried.
    """
    if not math.isfinite(difficulty) or difficulty <= 0:
        return None
    target = int(Fraction(MAX_TARGET) / Fraction(difficulty))
    tried: set[int] = set()
    for scale in (Fraction(1), Fraction(2**24 + 1, 2**24), Fraction(2**24 - 1, 2**24)):
        base = target_to_bits(max(1, int(target * scale)))
        for step in (0, 1, -1, 2, -2):
            bits = base + step
            if bits in tried or (bits & 0x007FFFFF) == 0 or bits & 0x00800000:
                continue
            tried.add(bits)
            if difficulty_from_bits(bits) == difficulty:
                return bits
    return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


class ChainApi:
    """A mempool-style (``mempool+``) or Esplora (``esplora+``) API over HTTP(S)."""

    def __init__(self, url: str, timeout_s: float = 30.0, retries: int = 4) -> None:
        if url.startswith(("mempool+http://", "mempool+https://")):
            self.kind, self.page_size = "mempool", MEMPOOL_PAGE
        elif url.startswith(("esplora+http://", "esplora+https://")):
            self.kind, self.page_size = "esplora", ESPLORA_PAGE
        else:
            raise HashlensError(
                f"{url!r}: a chain API is mempool+http(s)://host/api (a mempool instance) "
                "or esplora+http(s)://host/api (an Esplora instance)"
            )
        self.name = url
        self.base = url.split("+", 1)[1].rstrip("/")
        self.timeout_s, self.retries = timeout_s, retries
        self.requests = 0

    # -- transport -----------------------------------------------------------------------
    def _get(self, path: str, missing_ok: bool = False) -> bytes | None:
        url = f"{self.base}{path}"

        def fetch() -> bytes | None:
            self.requests += 1
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                    body = bytes(resp.read(MAX_REPLY_BYTES + 1))
            except urllib.error.HTTPError as exc:
                if exc.code == 404 and missing_ok:
                    return None
                if exc.code in (429, 502, 503, 504):  # busy or rate-limited: retried with back-off
                    raise ConnectionError(f"HTTP {exc.code} {exc.reason}") from None
                raise HashlensError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            if len(body) > MAX_REPLY_BYTES:
                raise HashlensError(f"{url}: reply larger than {MAX_REPLY_BYTES // 2**20} MB; not a chain API")
            return body

        return with_retries(fetch, url, self.retries)

    def _json(self, path: str, missing_ok: bool = False) -> Any:
        body = self._get(path, missing_ok)
        if body is None:
            return None
        try:
            return json.loads(body, parse_constant=_reject_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise HashlensError(f"{self.base}{path}: reply is not JSON") from None

    def _text(self, path: str, missing_ok: bool = False) -> str | None:
        body = self._get(path, missing_ok)
        if body is None:
            return None
        try:
            return body.decode("ascii").strip()
        except UnicodeDecodeError:
            raise HashlensError(f"{self.base}{path}: reply is not text") from None

    # -- the API -------------------------------------------------------------------------
    def tip_height(self) -> int:
        text = self._text("/blocks/tip/height") or ""
        if not text.isdigit() or int(text) > MAX_BLOCK_HEIGHT:
            raise HashlensError(f"{self.base}/blocks/tip/height: not a height: {text[:40]!r}")
        return int(text)

    def block_hash(self, height: int) -> str | None:
        """Hash of the block at ``height`` (``/block-height/<h>``), None if the API has none."""
        text = self._text(f"/block-height/{height}", missing_ok=True)
        if text is None:
            return None
        if not _HEX64.fullmatch(text):
            raise HashlensError(f"{self.base}/block-height/{height}: not a block hash: {text[:70]!r}")
        return text

    def adjustments(self) -> list[Adjustment] | None:
        """Every difficulty change the instance lists, by height; None where the API has no
        such endpoint (Esplora)."""
        if self.kind != "mempool":
            return None
        path = "/v1/mining/difficulty-adjustments"
        doc = self._json(path, missing_ok=True)
        if doc is None:
            return None
        where = f"{self.base}{path}"
        if not isinstance(doc, list):
            raise HashlensError(f"{where}: expected a list of [time, height, difficulty, adjustment]")
        out: dict[int, Adjustment] = {}
        for i, row in enumerate(doc):
            at = f"{where} entry {i}"
            if not isinstance(row, list) or len(row) != 4:
                raise HashlensError(f"{at}: expected [time, height, difficulty, adjustment], got {row!r:.60}")
            t = _whole(row[0], f"{at}: time", 0, 2**40)
            h = _whole(row[1], f"{at}: height", 0, MAX_BLOCK_HEIGHT)
            d = _number(row[2], f"{at}: difficulty")
            r = 0.0 if h == 0 and row[3] == 0 else _number(row[3], f"{at}: adjustment")  # genesis: 0
            if h in out:
                raise HashlensError(f"{at}: height {h} is listed twice")
            out[h] = Adjustment(t, h, d, r)
        return [out[h] for h in sorted(out)]

    def page(self, top: int) -> list[BlockRecord]:
        """The records of the page that ends at ``top`` (``top`` and up to ``page_size - 1``
        below), ascending; heights the instance does not list are missing."""
        path = f"/v1/blocks/{top}" if self.kind == "mempool" else f"/blocks/{top}"
        doc = self._json(path)
        where = f"{self.base}{path}"
        if not isinstance(doc, list) or len(doc) > self.page_size:
            raise HashlensError(f"{where}: expected a list of at most {self.page_size} blocks")
        out: dict[int, BlockRecord] = {}
        for i, blk in enumerate(doc):
            rec = parse_block(blk, f"{where} block {i}")
            if not top - self.page_size < rec.height <= top:
                raise HashlensError(
                    f"{where}: block {i} has height {rec.height}, outside {top - self.page_size + 1} … {top}"
                )
            if rec.height in out:
                raise HashlensError(f"{where}: height {rec.height} is listed twice")
            out[rec.height] = rec
        return [out[h] for h in sorted(out)]


def _whole(v: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise HashlensError(f"{where} {v!r:.40} is not a whole number")
    if not lo <= v <= hi:
        raise HashlensError(f"{where} {v} is outside {lo} … {hi}")
    return v


def _number(v: Any, where: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise HashlensError(f"{where} {v!r:.40} is not a positive number")
    return float(v)


def _get_int(d: dict[str, Any], key: str, where: str, lo: int = 0, hi: int = 2**63 - 1) -> int | None:
    v = d.get(key)
    return None if v is None else _whole(v, f"{where}: {key}", lo, hi)


def _get_hash(d: dict[str, Any], key: str, where: str) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or not _HEX64.fullmatch(v):
        raise HashlensError(f"{where}: {key} {v!r:.70} is not 64 lowercase hex digits")
    return v


def _get_text(d: dict[str, Any], key: str, where: str, most: int = 4096) -> str | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or len(v) > most:
        raise HashlensError(f"{where}: {key} is not text of at most {most} characters")
    return v


def parse_block(blk: Any, where: str) -> BlockRecord:
    """One block of a page, its fields type- and range-checked (none is trusted yet)."""
    if not isinstance(blk, dict):
        raise HashlensError(f"{where}: expected an object, got {blk!r:.60}")
    height = _get_int(blk, "height", where, 0, MAX_BLOCK_HEIGHT)
    t = _get_int(blk, "timestamp", where, 0, UINT32_MAX)
    if height is None or t is None:
        raise HashlensError(f"{where}: a block needs its height and timestamp")
    where = f"{where} (height {height})"
    difficulty = blk.get("difficulty")
    if difficulty is not None:
        difficulty = _number(difficulty, f"{where}: difficulty")
    version = _get_int(blk, "version", where, -(2**31), UINT32_MAX)
    if version is not None and version >= 2**31:
        version -= UINT32_MAX + 1  # some instances print the header's int32 unsigned
    extras = None
    if blk.get("extras") is not None:
        extras = _parse_extras(blk["extras"], f"{where}: extras")
    return BlockRecord(
        height=height,
        hash=_get_hash(blk, "id", where),
        time=t,
        bits=_get_int(blk, "bits", where, 0, UINT32_MAX),
        difficulty=difficulty,
        version=version,
        prev_hash=_get_hash(blk, "previousblockhash", where),
        merkle_root=_get_hash(blk, "merkle_root", where),
        nonce=_get_int(blk, "nonce", where, 0, UINT32_MAX),
        mediantime=_get_int(blk, "mediantime", where, 0, UINT32_MAX),
        tx_count=_get_int(blk, "tx_count", where, 0, UINT32_MAX),
        size_bytes=_get_int(blk, "size", where, 0, UINT32_MAX),
        weight_wu=_get_int(blk, "weight", where, 0, UINT32_MAX),
        extras=extras,
    )


def _parse_extras(ex: Any, where: str) -> BlockExtras:
    if not isinstance(ex, dict):
        raise HashlensError(f"{where}: expected an object")
    pool = None
    if ex.get("pool") is not None:
        p = ex["pool"]
        if not isinstance(p, dict):
            raise HashlensError(f"{where}: pool is not an object")
        name = _get_text(p, "name", f"{where}.pool", 200)
        if name is None:
            raise HashlensError(f"{where}.pool: a pool needs its name")
        pool = PoolTag(_get_int(p, "id", f"{where}.pool"), name, _get_text(p, "slug", f"{where}.pool", 200))
    header = _get_text(ex, "header", where, 160)
    if header is not None and not re.fullmatch(r"[0-9a-f]{160}", header):
        raise HashlensError(f"{where}: header is not 80 bytes of lowercase hex")
    return BlockExtras(
        total_fees_sat=_get_int(ex, "totalFees", where, 0, 21 * 10**14),
        reward_sat=_get_int(ex, "reward", where, 0, 21 * 10**14),
        pool=pool,
        coinbase_raw_hex=_get_text(ex, "coinbaseRaw", where),
        coinbase_address=_get_text(ex, "coinbaseAddress", where, 200),
        coinbase_signature_ascii=_get_text(ex, "coinbaseSignatureAscii", where),
        header_hex=header,
    )


def open_chain_api(url: str) -> ChainApi:
    """A client for ``mempool+http(s)://…`` or ``esplora+http(s)://…``."""
    return ChainApi(url)


__all__ = [
    "ESPLORA_PAGE",
    "MEMPOOL_PAGE",
    "OTHER_GENESIS",
    "Adjustment",
    "BlockExtras",
    "BlockRecord",
    "ChainApi",
    "PoolTag",
    "bits_of_difficulty",
    "open_chain_api",
    "parse_block",
]
