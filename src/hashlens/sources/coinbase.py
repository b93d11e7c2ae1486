"""Coinbase transactions: what a block's first transaction says about who mined it.

Readers for the three ways a block reaches hashlens, each giving a :class:`Coinbase` (the
coinbase's scriptSig, its output scripts and txid, the block's height and hash):

- raw block bytes, as Bitcoin Core's REST interface serves them (``/rest/block/<hash>.bin``):
  :func:`coinbase_from_block`, which parses the 80-byte header and the first transaction only;
- a raw transaction (hex or bytes), segwit or not: :func:`coinbase_from_tx`;
- ``getblock <hash> 2`` (JSON-RPC verbosity 2, transactions as objects):
  :func:`coinbase_from_getblock`.

And the pool a mempool-style API has already named for a block (``GET /api/v1/blocks/<h>``,
``extras.pool``): :func:`api_pools_from_blocks`. The clients take a ``fetch`` callable (URL →
bytes) or an RPC ``call`` (method, params → result), so any transport (the sync's keep-alive
connection, a test's loopback server) can carry them.

Wire format: Bitcoin Core ``primitives/transaction.h`` (``SerializeTransaction``: version,
the BIP 144 marker and flag when witnesses follow, inputs, outputs, witnesses, lock time) and
``primitives/block.h``; the txid is SHA-256d of the serialization without witnesses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from hashlens.errors import HashlensError
from hashlens.sources.addresses import sha256d

HEADER_SIZE = 80
#: Consensus bounds of a coinbase scriptSig (Core ``CheckTransaction``: bad-cb-length) [bytes].
COINBASE_SCRIPT_MIN, COINBASE_SCRIPT_MAX = 2, 100


@dataclass(frozen=True)
class Coinbase:
    """A block's coinbase transaction, as pool attribution reads it."""

    height: int | None  # the block's height (given by the source, else BIP 34's, else None)
    block_hash: str | None  # display hex
    script_sig: bytes  # the coinbase input's scriptSig (where pools write their tags)
    output_scripts: tuple[bytes, ...]  # every output's scriptPubKey, in order
    txid: str | None = None  # display hex

    @property
    def tag_text(self) -> str:
        """The scriptSig as mempool shows it (each byte as one Latin-1 character)."""
        return self.script_sig.decode("latin-1")


class _Reader:
    """A cursor over wire bytes that names the place it ran out."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.pos, self.what = data, 0, what

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise HashlensError(
                f"{self.what}: ends at byte {len(self.data)}, {n} more bytes expected at byte {self.pos} "
                "(a truncated or damaged block?)"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def varint(self) -> int:
        first = self.take(1)[0]
        if first < 0xFD:
            return first
        size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
        return int.from_bytes(self.take(size), "little")


def bip34_height(script_sig: bytes) -> int | None:
    """The height a scriptSig's first push states (BIP 34, blocks from 227,931), or None."""
    if not script_sig:
        return None
    n = script_sig[0]
    if 1 <= n <= 8 and len(script_sig) > n:
        return int.from_bytes(script_sig[1 : 1 + n], "little")
    if 0x51 <= n <= 0x60:  # OP_1 … OP_16 (heights 1-16 in regtest-like chains)
        return n - 0x50
    return None


def _parse_coinbase_tx(r: _Reader) -> tuple[bytes, tuple[bytes, ...], str]:
    """scriptSig, output scripts and txid of the transaction at the reader's position."""
    start = r.pos
    version = r.take(4)
    segwit = r.data[r.pos : r.pos + 2] == b"\x00\x01"
    if segwit:
        r.take(2)
    after_marker = r.pos
    n_in = r.varint()
    if n_in != 1:
        raise HashlensError(f"{r.what}: a coinbase has one input, this transaction has {n_in}")
    prevout = r.take(36)
    if prevout != b"\0" * 32 + b"\xff\xff\xff\xff":
        raise HashlensError(f"{r.what}: the first transaction does not spend the null outpoint (not a coinbase)")
    script_sig = r.take(r.varint())
    r.take(4)  # sequence
    outputs = []
    for _ in range(r.varint()):
        r.take(8)  # value [sat]
        outputs.append(r.take(r.varint()))
    before_witness = r.pos
    if segwit:
        for _ in range(r.varint()):
            r.take(r.varint())
    locktime = r.take(4)
    body = r.data[after_marker:before_witness] if segwit else r.data[start + 4 : before_witness]
    txid = sha256d(version + body + locktime)[::-1].hex()
    return script_sig, tuple(outputs), txid


def coinbase_from_tx(raw: bytes | str, height: int | None = None, block_hash: str | None = None) -> Coinbase:
    """The :class:`Coinbase` of one raw coinbase transaction (bytes or hex)."""
    data = bytes.fromhex(raw) if isinstance(raw, str) else bytes(raw)
    r = _Reader(data, "coinbase transaction")
    script_sig, outputs, txid = _parse_coinbase_tx(r)
    if r.pos != len(data):
        raise HashlensError(f"coinbase transaction: {len(data) - r.pos} bytes left after the lock time")
    return Coinbase(height if height is not None else bip34_height(script_sig), block_hash, script_sig, outputs, txid)


def coinbase_from_block(raw: bytes, height: int | None = None) -> Coinbase:
    """The :class:`Coinbase` of a raw block (header, transaction count, first transaction);
    the rest of the block is not read. The block hash is SHA-256d of the header."""
    r = _Reader(bytes(raw), "block")
    header = r.take(HEADER_SIZE)
    if r.varint() < 1:
        raise HashlensError("block: it holds no transaction (a block starts with its coinbase)")
    script_sig, outputs, txid = _parse_coinbase_tx(r)
    block_hash = sha256d(header)[::-1].hex()
    return Coinbase(height if height is not None else bip34_height(script_sig), block_hash, script_sig, outputs, txid)


def coinbase_from_bytes(raw: bytes, what: str = "input") -> Coinbase:
    """A raw coinbase transaction or a raw block, whichever the bytes are (a block's fifth
    byte begins its parent's hash; a transaction's is its input count or segwit marker)."""
    try:
        return coinbase_from_tx(raw)
    except HashlensError:
        pass
    try:
        return coinbase_from_block(raw)
    except HashlensError as exc:
        raise HashlensError(f"{what}: neither a raw coinbase transaction nor a raw block ({exc})") from None


def coinbase_from_getblock(block: dict[str, Any]) -> Coinbase:
    """The :class:`Coinbase` of ``getblock <hash> 2``'s answer (the first entry of ``tx``:
    ``vin[0].coinbase`` is the scriptSig in hex, ``vout[i].scriptPubKey.hex`` the scripts)."""
    try:
        tx = block["tx"][0]
        if not isinstance(tx, dict):
            raise TypeError
        script_sig = bytes.fromhex(tx["vin"][0]["coinbase"])
        outputs = tuple(bytes.fromhex(o["scriptPubKey"]["hex"]) for o in tx["vout"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise HashlensError(
            "getblock answer: expected verbosity 2 (tx[0] an object with vin[0].coinbase and "
            "vout[].scriptPubKey.hex); ask getblock <hash> 2"
        ) from None
    height = block.get("height")
    return Coinbase(
        int(height) if height is not None else bip34_height(script_sig),
        block.get("hash"),
        script_sig,
        outputs,
        tx.get("txid"),
    )


def encode_outputs(scripts: Sequence[bytes]) -> bytes:
    """Output scripts as one byte string (each a 2-byte little-endian length, then the script;
    consensus caps a script at 10,000 bytes), as the store keeps a coinbase's outputs."""
    return b"".join(len(s).to_bytes(2, "little") + s for s in scripts)


def decode_outputs(data: bytes) -> tuple[bytes, ...]:
    """The output scripts :func:`encode_outputs` wrote."""
    out, pos = [], 0
    while pos < len(data):
        n = int.from_bytes(data[pos : pos + 2], "little")
        out.append(data[pos + 2 : pos + 2 + n])
        pos += 2 + n
    return tuple(out)


# -- clients ----------------------------------------------------------------------------------------
Fetch = Callable[[str], bytes]
RpcCall = Callable[[str, list[Any]], Any]


def coinbase_from_rest(fetch: Fetch, base_url: str, block_hash: str, height: int | None = None) -> Coinbase:
    """A block's coinbase from Core's REST interface: ``GET /rest/block/<hash>.bin``.

    Checks that the block served hashes to ``block_hash`` (a node or proxy answering for
    another block is refused, naming both)."""
    raw = fetch(f"{base_url.rstrip('/')}/rest/block/{block_hash}.bin")
    cb = coinbase_from_block(raw, height)
    if cb.block_hash != block_hash:
        raise HashlensError(f"{base_url}: asked for block {block_hash}, got one hashing to {cb.block_hash}")
    return cb


def coinbase_from_rpc(call: RpcCall, block_hash: str) -> Coinbase:
    """A block's coinbase from Core's JSON-RPC: ``getblock <hash> 2``."""
    cb = coinbase_from_getblock(call("getblock", [block_hash, 2]))
    if cb.block_hash is not None and cb.block_hash != block_hash:
        raise HashlensError(f"getblock {block_hash}: the node answered for block {cb.block_hash}")
    return cb


@dataclass(frozen=True)
class ApiPool:
    """The pool a mempool-style API names for a block (``extras.pool``)."""

    height: int
    block_hash: str
    pool: str  # extras.pool.name
    slug: str | None  # extras.pool.slug
    pool_id: int | None  # extras.pool.id (the API's own numbering)
    coinbase: Coinbase | None  # from extras.coinbaseRaw (the scriptSig) where given


def api_pools_from_blocks(blocks: Iterable[dict[str, Any]], source: str = "mempool API") -> list[ApiPool]:
    """``extras.pool`` of every block in a ``/api/v1/blocks`` answer (a list of blocks, or
    one block). A block without ``extras.pool`` is refused, naming its height."""
    out = []
    for b in blocks:
        try:
            height, block_hash = int(b["height"]), str(b["id"])
            extras = b.get("extras") or {}
            pool = extras["pool"]
            name = str(pool["name"])
        except (KeyError, TypeError, ValueError):
            where = b.get("height", "?") if isinstance(b, dict) else "?"
            raise HashlensError(
                f"{source}: block {where} has no extras.pool.name; ask a mempool-style API's /api/v1/blocks"
            ) from None
        raw = extras.get("coinbaseRaw")
        cb = None
        if isinstance(raw, str) and raw:
            try:
                cb = Coinbase(height, block_hash, bytes.fromhex(raw), (), None)
            except ValueError:
                raise HashlensError(f"{source}: block {height}: extras.coinbaseRaw is not hex") from None
        slug = pool.get("slug")
        pid = pool.get("id")
        out.append(
            ApiPool(
                height, block_hash, name, None if slug is None else str(slug), None if pid is None else int(pid), cb
            )
        )
    return out


def api_pools_from_json(payload: bytes | str, source: str = "mempool API") -> list[ApiPool]:
    """:func:`api_pools_from_blocks` of a JSON answer (a list of blocks or one block)."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HashlensError(f"{source}: the answer is not JSON ({exc})") from None
    return api_pools_from_blocks([data] if isinstance(data, dict) else data, source)


def fetch_api_pools(fetch: Fetch, base_url: str, heights: Sequence[int]) -> list[ApiPool]:
    """``extras.pool`` of the given heights from a mempool-style API: ``GET
    /api/v1/blocks/<h>`` answers the block at h and the ones below it (15 on mempool.space),
    so one request covers a run of heights. Returns one entry per height asked, oldest first;
    a height the API did not answer is refused."""
    want = sorted(set(int(h) for h in heights))
    got: dict[int, ApiPool] = {}
    base = base_url.rstrip("/")
    pending = list(reversed(want))
    while pending:
        top = pending[0]
        answer = api_pools_from_json(fetch(f"{base}/v1/blocks/{top}"), base)
        new = {p.height: p for p in answer if p.height not in got}
        if top not in new:
            raise HashlensError(f"{base}: /v1/blocks/{top} did not include block {top}")
        got.update(new)
        pending = [h for h in pending if h not in got]
    return [got[h] for h in want]
