"""Answers from a running ``hashlens serve`` on the same store.

``hashlens serve`` on a DuckDB file leaves ``<store>.server-<pid>`` beside it, naming the URL
it answers on, while it runs (:mod:`hashlens.servers`). A reading command (``difficulty``,
``hashprice``, ``summary``, ``miners expected``) on that store first asks the server: the answer is the API's,
computed by the same functions from the same store, so the command prints the same numbers
without loading numpy or DuckDB or opening the store (a whole process in about a third of the
time). No server, a file left by a process that ended, a refused connection, anything but a
200 with JSON: the command computes the answer itself, as it always could. ``--no-server``
skips the server.

This module is imported by every command: it imports nothing heavy.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from hashlens.servers import server_urls

#: How long a command waits for a server before computing the answer itself [s].
CONNECT_TIMEOUT_S = 0.5
#: How long it waits for the answer once connected [s] (a cold cache computes it first).
ANSWER_TIMEOUT_S = 30.0


def _get_json(url: str, path: str) -> Any:
    """The JSON of a 200 answer to ``GET path``, else None."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname or parts.port is None:
        return None
    con = http.client.HTTPConnection(parts.hostname, parts.port, timeout=CONNECT_TIMEOUT_S)
    try:
        con.connect()
        if con.sock is not None:
            con.sock.settimeout(ANSWER_TIMEOUT_S)
        con.request("GET", path, headers={"Accept": "application/json"})
        resp = con.getresponse()
        body = resp.read()
        if resp.status != 200 or "json" not in (resp.getheader("Content-Type") or ""):
            return None
        return json.loads(body)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        con.close()


def served_answer(db_path: str | Path, path: str, params: dict[str, Any] | None = None) -> tuple[Any, str] | None:
    """The answer of the first server on this store to ``GET path?params``, and its URL; None
    if no server answers (the command then computes the answer itself)."""
    query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
    full = f"{path}?{query}" if query else path
    for url in server_urls(db_path):
        data = _get_json(url, full)
        if data is not None:
            return data, url
    return None


__all__ = ["served_answer"]
