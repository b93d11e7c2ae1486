"""A loopback HTTP server that replays real block headers as a Bitcoin Core node (JSON-RPC and
the ``-rest`` interface) and as an Esplora REST API (with mempool's ``/api/v1/blocks`` fee
extras). No node can run here; the headers it serves are real mainnet headers from
../shared/data, served at their real heights (the sync benchmark also replays a regtest chain
it mines itself).

Core's REST, in its documented formats: ``/rest/chaininfo.json``, ``/rest/headers/<hash>.bin
?count=N`` and the older ``/rest/headers/<N>/<hash>.bin`` (at most 2,000 headers of the best
chain from ``<hash>`` up; empty if the hash is not in it; ``.hex`` too), and
``/rest/blockhashbyheight/<h>.bin|.hex|.json``. ``rest=False`` answers every ``/rest/`` path
404, as a node started without ``-rest`` does. ``getblockstats`` answers from ``stats``, real
rows of the shared block-stats file, for blocks whose hash is the chain's at that height; other
blocks answer as a pruned node does. Whole blocks: ``blocks`` holds real raw blocks by hash
(tests/pool_fixtures.py), served as Core serves them, ``/rest/block/<hash>.bin|.hex`` and
``getblock <hash> 0|1|2`` (verbosity 2 decodes the transactions here, in Core's field names,
by a parser of this file's own); a block the chain knows only by its header answers as a pruned
node does (REST 404, RPC error -1), an unknown hash as Core does (404, -5).

The chain is mutable: raise ``tip``, replace ``hashes`` (a reorganisation) and the next request
sees it. Faults for tests: ``drop_requests`` holds request numbers whose connection is closed
without a reply; ``dead_after`` makes every request after that number fail the same way;
``rest_body`` replaces every REST headers body (a malformed reply).
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import json
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class ReplayChain:
    hashes: dict[int, str]  # height -> block hash (display hex)
    headers: dict[str, bytes]  # block hash -> raw 80-byte header
    tip: int
    user: str = "hashlens"
    password: str = "replay"
    drop_requests: set[int] = field(default_factory=set)
    dead_after: int | None = None
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    rest: bool = True
    stats: dict[int, dict[str, Any]] = field(default_factory=dict)  # height -> getblockstats row
    rest_body: bytes | None = None
    blocks: dict[str, bytes] = field(default_factory=dict)  # block hash -> real raw whole block
    frozen: bool = False  # the chain never changes and has every height from its lowest to its
    # tip: REST headers are slices of one buffer (the node-sync benchmark's chain)
    _index: dict[str, int] = field(default_factory=dict)
    _flat: bytes | None = None
    _flat_lo: int = 0

    def height_of(self, block_hash: str) -> int | None:
        """Height of ``block_hash`` in the current best chain (up to the tip), else None."""
        h = self._index.get(block_hash)
        if h is None or self.hashes.get(h) != block_hash:
            self._index = {x: k for k, x in self.hashes.items()}
            h = self._index.get(block_hash)
        return h if h is not None and h <= self.tip and self.hashes.get(h) == block_hash else None

    def best_headers(self, block_hash: str, count: int) -> bytes:
        """Core's REST headers: up to ``count`` (at most 2,000) headers of the best chain from
        ``block_hash`` up; nothing if it is not in the best chain."""
        h = self.height_of(block_hash)
        if self.frozen and h is not None:
            # As a node serves them from its block index: no Python work per header (the
            # benchmark measures the sync, not this server).
            if self._flat is None:
                self._flat_lo = min(self.hashes)
                self._flat = b"".join(self.headers[self.hashes[k]] for k in range(self._flat_lo, self.tip + 1))
            end = min(h + min(count, 2000), self.tip + 1)
            return self._flat[80 * (h - self._flat_lo) : 80 * (end - self._flat_lo)]
        out: list[bytes] = []
        while h is not None and h <= self.tip and h in self.hashes and len(out) < min(count, 2000):
            out.append(self.headers[self.hashes[h]])
            h += 1
        return b"".join(out)

    def block_extras(self, h: int) -> dict[str, Any]:
        """A block as mempool's ``/api/v1/blocks`` lists it, with ``extras`` from ``stats``."""
        raw = self.headers[self.hashes[h]]
        version, prev, merkle, t, bits, nonce = struct.unpack("<i32s32sIII", raw)
        out: dict[str, Any] = {
            "id": self.hashes[h],
            "height": h,
            "version": version,
            "timestamp": t,
            "bits": bits,
            "nonce": nonce,
            "merkle_root": merkle[::-1].hex(),
            "previousblockhash": prev[::-1].hex(),
        }
        row = self.stats.get(h)
        if row is not None and row["blockhash"] == self.hashes[h]:
            out |= {"tx_count": row["txs"], "weight": row["total_weight"], "mediantime": row["mediantime"]}
            out["extras"] = {"totalFees": row["totalfee"], "reward": row["subsidy"] + row["totalfee"]}
        return out


class _Handler(BaseHTTPRequestHandler):
    chain: ReplayChain
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def _fault(self) -> bool:
        c = self.chain
        with c.lock:
            c.requests += 1
            n = c.requests
        if n in c.drop_requests or (c.dead_after is not None and n > c.dead_after):
            self.close_connection = True
            self.connection.close()  # drop without a reply, as a crashed peer would
            return True
        return False

    def _send(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # Esplora REST, Core's REST
    def do_GET(self) -> None:
        if self._fault():
            return
        c = self.chain
        path, _, query = self.path.partition("?")
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["rest"]:
            return self._rest(parts[1:], query)
        if parts[:1] == ["api"]:
            parts = parts[1:]  # mempool serves Esplora's paths under /api
        if len(parts) == 3 and parts[:2] == ["v1", "blocks"] and parts[2].isdigit():
            top = min(int(parts[2]), c.tip)
            blocks = [c.block_extras(h) for h in range(top, top - 15, -1) if c.hashes.get(h) in c.headers]
            return self._send(200, json.dumps(blocks).encode(), "application/json")
        if parts == ["blocks", "tip", "height"]:
            return self._send(200, str(c.tip).encode(), "text/plain")
        if len(parts) == 2 and parts[0] == "block-height" and parts[1].isdigit():
            h = int(parts[1])
            if h <= c.tip and h in c.hashes:
                return self._send(200, c.hashes[h].encode(), "text/plain")
            return self._send(404, b"Block not found", "text/plain")
        if len(parts) == 3 and parts[0] == "block" and parts[2] == "header" and parts[1] in c.headers:
            return self._send(200, c.headers[parts[1]].hex().encode(), "text/plain")
        return self._send(404, b"not found", "text/plain")

    def _rest(self, parts: list[str], query: str) -> None:
        c = self.chain
        if not c.rest:
            return self._send(404, b"", "text/html")  # no -rest: no handler for the path
        if parts == ["chaininfo.json"]:
            info = {"chain": "main", "blocks": c.tip, "headers": c.tip, "bestblockhash": c.hashes.get(c.tip)}
            return self._send(200, json.dumps(info).encode(), "application/json")
        if len(parts) == 2 and parts[0] == "blockhashbyheight":
            height, _, ext = parts[1].partition(".")
            if not height.isdigit() or int(height) > c.tip or int(height) not in c.hashes:
                return self._send(404, b"Block height out of range\r\n", "text/plain")
            x = c.hashes[int(height)]
            if ext == "bin":
                return self._send(200, bytes.fromhex(x)[::-1], "application/octet-stream")
            if ext == "hex":
                return self._send(200, (x + "\n").encode(), "text/plain")
            return self._send(200, json.dumps({"blockhash": x}).encode(), "application/json")
        if len(parts) == 2 and parts[0] == "block":
            block_hash, _, ext = parts[1].partition(".")
            raw = c.blocks.get(block_hash)
            if raw is None:
                why = "not available (pruned data)" if block_hash in c.headers else "not found"
                return self._send(404, f"{block_hash} {why}\r\n".encode(), "text/plain")
            if ext == "hex":
                return self._send(200, (raw.hex() + "\n").encode(), "text/plain")
            return self._send(200, raw, "application/octet-stream")
        if parts[:1] == ["headers"] and len(parts) in (2, 3):
            if len(parts) == 3:  # deprecated path form /rest/headers/<count>/<hash>.<ext>
                count_s, (block_hash, _, ext) = parts[1], parts[2].partition(".")
            else:
                block_hash, _, ext = parts[1].partition(".")
                count_s = dict(kv.partition("=")[::2] for kv in query.split("&") if kv).get("count", "5")
            if not count_s.isdigit() or not 1 <= int(count_s) <= 2000:
                return self._send(
                    400,
                    f"Header count is invalid or out of acceptable range (1-2000): {count_s}\r\n".encode(),
                    "text/plain",
                )
            body = c.rest_body if c.rest_body is not None else c.best_headers(block_hash, int(count_s))
            if ext == "hex":
                return self._send(200, (body.hex() + "\n").encode(), "text/plain")
            return self._send(200, body, "application/octet-stream")
        return self._send(404, b"", "text/plain")

    # Bitcoin Core JSON-RPC
    def do_POST(self) -> None:
        if self._fault():
            return
        c = self.chain
        expected = "Basic " + base64.b64encode(f"{c.user}:{c.password}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, b"", "text/plain")
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        calls = body if isinstance(body, list) else [body]
        replies = [self._rpc(x) for x in calls]
        out = replies if isinstance(body, list) else replies[0]
        self._send(200, json.dumps(out).encode(), "application/json")

    def _rpc(self, call: dict[str, Any]) -> dict[str, Any]:
        c = self.chain
        method, params, rid = call.get("method"), call.get("params") or [], call.get("id")

        def err(code: int, msg: str) -> dict[str, Any]:
            return {"result": None, "error": {"code": code, "message": msg}, "id": rid}

        if method == "getblockchaininfo":
            return {"result": {"chain": "main", "blocks": c.tip, "headers": c.tip}, "error": None, "id": rid}
        if method == "getblockhash":
            h = params[0]
            if not isinstance(h, int) or h > c.tip or h not in c.hashes:
                return err(-8, "Block height out of range")
            return {"result": c.hashes[h], "error": None, "id": rid}
        if method == "getblockheader":
            raw = c.headers.get(params[0])
            if raw is None:
                return err(-5, "Block not found")
            return {"result": raw.hex(), "error": None, "id": rid}
        if method == "getblockstats":
            h = params[0]
            if not isinstance(h, int) or h > c.tip or h not in c.hashes:
                return err(-8, f"Target block height {h} after current tip {c.tip}")
            row = c.stats.get(h)
            if row is None or row["blockhash"] != c.hashes[h]:
                return err(-1, "Block not available (pruned data)")
            fields = params[1] if len(params) > 1 and params[1] else list(row)
            return {"result": {k: row[k] for k in fields if k in row}, "error": None, "id": rid}
        if method == "getblock":
            block_hash, verbosity = params[0], params[1] if len(params) > 1 else 1
            raw = c.blocks.get(block_hash)
            if raw is None:
                if block_hash in c.headers:
                    return err(-1, "Block not available (pruned data)")
                return err(-5, "Block not found")
            if verbosity == 0:
                return {"result": raw.hex(), "error": None, "id": rid}
            txs = decode_block_txs(raw)
            out = {"hash": block_hash, "height": c.height_of(block_hash), "nTx": len(txs)}
            out["tx"] = txs if verbosity >= 2 else [t["txid"] for t in txs]
            return {"result": out, "error": None, "id": rid}
        return err(-32601, "Method not found")


def _varint(b: bytes, i: int) -> tuple[int, int]:
    n = b[i]
    if n < 0xFD:
        return n, i + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[n]
    return int.from_bytes(b[i + 1 : i + 1 + size], "little"), i + 1 + size


def decode_block_txs(raw: bytes) -> list[dict[str, Any]]:
    """A raw block's transactions as ``getblock <hash> 2`` writes them (txid, hash, version,
    vin with ``coinbase`` or ``txid``/``vout``/``scriptSig.hex``, ``txinwitness``, vout with
    ``value`` in BTC and ``scriptPubKey.hex``, locktime, hex): BIP 144 serialisation, the txid
    SHA-256d of the serialisation without witnesses."""
    sha = hashlib.sha256
    n, i = _varint(raw, 80)
    txs = []
    for _ in range(n):
        start = i
        version = raw[i : i + 4]
        i += 4
        segwit = raw[i : i + 2] == b"\x00\x01"
        if segwit:
            i += 2
        body_start = i
        n_in, i = _varint(raw, i)
        vin: list[dict[str, Any]] = []
        for _ in range(n_in):
            prev, i = raw[i : i + 36], i + 36
            size, i = _varint(raw, i)
            script, i = raw[i : i + size], i + size
            seq, i = int.from_bytes(raw[i : i + 4], "little"), i + 4
            if prev == bytes(32) + b"\xff\xff\xff\xff":
                vin.append({"coinbase": script.hex(), "sequence": seq})
            else:
                vin.append(
                    {
                        "txid": prev[:32][::-1].hex(),
                        "vout": int.from_bytes(prev[32:], "little"),
                        "scriptSig": {"hex": script.hex()},
                        "sequence": seq,
                    }
                )
        n_out, i = _varint(raw, i)
        vout = []
        for k in range(n_out):
            value, i = int.from_bytes(raw[i : i + 8], "little"), i + 8
            size, i = _varint(raw, i)
            vout.append({"value": value / 1e8, "n": k, "scriptPubKey": {"hex": raw[i : i + size].hex()}})
            i += size
        body_end = i
        if segwit:
            for v in vin:
                items, i = _varint(raw, i)
                stack = []
                for _ in range(items):
                    size, i = _varint(raw, i)
                    stack.append(raw[i : i + size].hex())
                    i += size
                v["txinwitness"] = stack
        locktime, i = raw[i : i + 4], i + 4
        stripped = version + raw[body_start:body_end] + locktime
        whole = raw[start:i]
        txs.append(
            {
                "txid": sha(sha(stripped).digest()).digest()[::-1].hex(),
                "hash": sha(sha(whole).digest()).digest()[::-1].hex(),
                "version": int.from_bytes(version, "little", signed=True),
                "locktime": int.from_bytes(locktime, "little"),
                "vin": vin,
                "vout": vout,
                "hex": whole.hex(),
            }
        )
    return txs


class ReplayServer:
    def __init__(self, chain: ReplayChain) -> None:
        handler = type("Handler", (_Handler,), {"chain": chain})
        self.chain = chain
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def rpc_url(self) -> str:
        return f"bitcoind://{self.chain.user}:{self.chain.password}@127.0.0.1:{self.port}"

    @property
    def esplora_url(self) -> str:
        return f"esplora+http://127.0.0.1:{self.port}"


#: getblockstats fields the replay serves, as Core names them (integers in the file).
STATS_INT_FIELDS = ("height", "time", "mediantime", "subsidy", "totalfee", "txs", "total_weight")


def read_stats_rows(path: Path, heights: set[int] | None = None) -> dict[int, dict[str, Any]]:
    """Rows of the shared block-stats file (Core's ``getblockstats`` output) by height."""
    out: dict[int, dict[str, Any]] = {}
    with gzip.open(path, "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            h = int(row["height"])
            if heights is None or h in heights:
                rec: dict[str, Any] = {k: int(float(row[k])) for k in STATS_INT_FIELDS}
                rec["blockhash"] = row["blockhash"]
                out[h] = rec
    return out


#: Core's regtest genesis header (``CreateGenesisBlock(1296688602, 2, 0x207fffff, 1, 50 * COIN)``).
REGTEST_GENESIS = struct.pack(
    "<i32s32sIII",
    1,
    bytes(32),
    bytes.fromhex("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b")[::-1],
    1296688602,
    0x207FFFFF,
    2,
)


def mine_regtest_chain(n: int, spacing_s: int = 1) -> list[bytes]:
    """``n`` linked headers (genesis and n - 1 above it) under Core's regtest rules, mined
    here: bits 0x207fffff (about one hash in two meets its target), version 0x20000000, times
    ``spacing_s`` apart from the genesis time. Proof of work is real for regtest's pow limit."""
    from hashlens.consensus.header import pow_target

    sha = hashlib.sha256
    target = pow_target(0x207FFFFF, (1 << 255) - 1)
    assert target is not None
    out = [REGTEST_GENESIS]
    prev = sha(sha(REGTEST_GENESIS).digest()).digest()
    pack = struct.Struct("<i32s32sIII").pack
    for h in range(1, n):
        merkle = sha(h.to_bytes(8, "little")).digest()  # stands in for a coinbase-only block's root
        t = 1296688602 + spacing_s * h
        nonce = 0
        while True:
            raw = pack(0x20000000, prev, merkle, t, 0x207FFFFF, nonce)
            digest = sha(sha(raw).digest()).digest()
            if int.from_bytes(digest, "little") <= target:
                break
            nonce += 1
        out.append(raw)
        prev = digest
    return out


def chain_of(raws: list[bytes], height0: int = 0) -> ReplayChain:
    """A replay chain of consecutive raw headers, the first at ``height0``."""
    sha = hashlib.sha256
    hashes = {height0 + i: sha(sha(r).digest()).digest()[::-1].hex() for i, r in enumerate(raws)}
    return ReplayChain(
        hashes=hashes, headers={hashes[height0 + i]: r for i, r in enumerate(raws)}, tip=height0 + len(raws) - 1
    )
