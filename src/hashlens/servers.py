"""Which ``hashlens serve`` processes answer for a store file.

A server on a DuckDB file leaves ``<store>.server-<pid>`` beside it while it runs, naming the
URL it answers on (:class:`ServerMark`); :func:`server_urls` lists the live ones, so that a
reading command in another shell can ask a server rather than open the store
(:mod:`hashlens.cli.served`). A PostgreSQL store has no such files. Imports nothing heavy.
"""

from __future__ import annotations

import glob
import json
import os
from contextlib import suppress
from pathlib import Path


class ServerMark:
    """``<store>.server-<pid>``: this process serves the store at ``url`` (removed by
    :meth:`close`; a file left by a process that ended is ignored)."""

    def __init__(self, db_path: str | Path, url: str) -> None:
        self.path: Path | None = Path(f"{db_path}.server-{os.getpid()}")
        try:
            self.path.write_text(json.dumps({"pid": os.getpid(), "url": url}))
        except OSError:
            self.path = None  # a read-only folder: commands compute their answers themselves

    def close(self) -> None:
        if self.path is not None:
            with suppress(OSError):
                self.path.unlink()
            self.path = None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def server_urls(db_path: str | Path) -> list[str]:
    """URLs of the running ``hashlens serve`` processes on this store file, newest first
    (none for a PostgreSQL store: its servers leave no files)."""
    if "://" in str(db_path) or str(db_path).startswith("postgres"):
        return []
    p = Path(db_path)
    found: list[tuple[float, str]] = []
    for f in p.parent.glob(glob.escape(p.name) + ".server-*"):
        try:
            info = json.loads(f.read_text())
            pid, url, mtime = int(info["pid"]), str(info["url"]), f.stat().st_mtime
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if process_alive(pid):
            found.append((mtime, url))
    return [url for _, url in sorted(found, reverse=True)]


__all__ = ["ServerMark", "process_alive", "server_urls"]
