"""Answers from a running ``hashlens serve`` on the same store.

``hashlens serve`` on a DuckDB file leaves ``<store>.server-<pid>`` beside it while it runs
(:mod:`hashlens.servers`). A reading command (``difficulty``, ``hashprice`` for one day,
``summary``, ``miners expected``) on that store first asks the server: the answer is the API's,
computed by the same functions from the same store, so the command prints the same numbers
without loading numpy or DuckDB or opening the store (a whole process in less than half the
time: ``sh scripts/bench cli``). Only a mark that :func:`hashlens.servers.servers_of` trusts
is used, and only an answer carrying its token; no such server, a refused connection, no answer within
``ANSWER_TIMEOUT_S``, anything but a 200 with JSON: the command computes the answer itself, as
it always could. ``--no-server`` skips the server.

This module is imported by every command: it imports nothing heavy.
"""

from __future__ import annotations

import hmac
import http.client
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from hashlens.servers import TOKEN_HEADER, Served, servers_of

#: How long a command waits for a server to accept the connection [s].
CONNECT_TIMEOUT_S = 0.5
#: How long it waits for the whole answer before computing it itself [s] (a server's cold
#: cache computes first; a stopped server that still accepts connections costs this once).
ANSWER_TIMEOUT_S = 5.0


def _get_json(server: Served, path: str) -> Any:
    """The JSON of a 200 answer to ``GET path`` signed with the server's token, else None."""
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    parts = urlsplit(server.url)
    try:
        con = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=CONNECT_TIMEOUT_S)
    except ValueError:
        return None
    try:
        con.connect()
        sock = con.sock
        if sock is None:
            return None
        sock.settimeout(ANSWER_TIMEOUT_S)
        con.request("GET", path, headers={"Accept": "application/json"})
        resp = con.getresponse()
        chunks: list[bytes] = []
        while chunk := resp.read(1 << 16):  # each read waits at most what is left of the deadline
            chunks.append(chunk)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            sock.settimeout(left)
        body = b"".join(chunks)
        if resp.status != 200:
            return None
        signed = resp.getheader(TOKEN_HEADER) or ""
        if not hmac.compare_digest(signed.encode(), server.token.encode()):
            return None
        if "json" not in (resp.getheader("Content-Type") or ""):
            return None
        return json.loads(body)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        con.close()


def served_answer(db_path: str | Path, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str] | None:
    """The answer of the first trusted server on this store to ``GET path?params``, and its URL;
    None if none answers (the command then computes the answer itself)."""
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
    full = f"{path}?{query}" if query else path
    for server in servers_of(db_path):
        data = _get_json(server, full)
        if data is not None:
            return data, server.url
    return None


__all__ = ["served_answer"]
