"""A loopback HTTP server that replays real block headers as a Bitcoin Core node (JSON-RPC)
and as an Esplora REST API. No node can run here; the headers it serves are real mainnet
headers from ../shared/data, served at their real heights.

Faults for tests: ``drop_requests`` holds request numbers whose connection is closed without
a reply; ``dead_after`` makes every request after that number fail the same way.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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

    # Esplora REST
    def do_GET(self) -> None:
        if self._fault():
            return
        c = self.chain
        parts = [p for p in self.path.split("/") if p]
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
        return err(-32601, "Method not found")


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
