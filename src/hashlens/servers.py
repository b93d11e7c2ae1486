"""Which ``hashlens serve`` processes answer for a store file.

A server on a DuckDB file leaves ``<store>.server-<pid>`` beside it while it runs
(:class:`ServerMark`): the loopback URL it answers on, a random token it sends back in the
``X-Hashlens-Server`` header of every response, its hashlens version, the host's name and the
store file's device and inode. :func:`servers_of` lists the marks a reading command may trust —
the store is that very file on this host, the process is alive and the mark belongs to this
user or the store's owner, the URL is on loopback, the version is this one — so that the command
can ask the server rather than open the store (:mod:`hashlens.cli.served`), and the command
still checks the token on the answer. A PostgreSQL store has no such files. Imports nothing heavy.
"""

from __future__ import annotations

import glob
import ipaddress
import json
import os
import secrets
import socket
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hashlens import __version__

#: The response header carrying a server's token.
TOKEN_HEADER = "X-Hashlens-Server"


def new_token() -> str:
    return secrets.token_hex(16)


class ServerMark:
    """``<store>.server-<pid>``: this process serves the store file at ``url`` and signs its
    answers with ``token`` (removed by :meth:`close`)."""

    def __init__(self, db_path: str | Path, url: str, token: str) -> None:
        self.path: Path | None = Path(f"{db_path}.server-{os.getpid()}")
        try:
            st = os.stat(db_path)
            info = {
                "pid": os.getpid(),
                "url": url,
                "token": token,
                "version": __version__,
                "host": socket.gethostname(),
                "store": [st.st_dev, st.st_ino],
            }
            self.path.write_text(json.dumps(info))
        except OSError:
            self.path = None  # a read-only folder: commands compute their answers themselves

    def close(self) -> None:
        if self.path is not None:
            with suppress(OSError):
                self.path.unlink()
            self.path = None


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` (a positive number) exists; it may belong to another user."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def loopback_url(url: str) -> bool:
    """Whether ``url`` is ``http://`` to a loopback address with a valid port."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        return (
            parts.scheme == "http"
            and port is not None
            and host is not None
            and (host == "localhost" or ipaddress.ip_address(host).is_loopback)
        )
    except ValueError:
        return False


@dataclass(frozen=True)
class Served:
    url: str
    token: str


def servers_of(db_path: str | Path) -> list[Served]:
    """The trusted marks of running servers on this store file, newest first (none for a
    PostgreSQL store, or a store file that does not exist)."""
    if "://" in str(db_path) or str(db_path).startswith("postgres"):
        return []
    p = Path(db_path)
    try:
        st = p.stat()
    except OSError:
        return []
    me, host = os.getuid(), socket.gethostname()
    found: list[tuple[float, Served]] = []
    for f in p.parent.glob(glob.escape(p.name) + ".server-*"):
        try:
            mark = f.stat()
            info = json.loads(f.read_text())
            pid, url, token = int(info["pid"]), str(info["url"]), str(info["token"])
            trusted = (
                mark.st_uid in (me, st.st_uid)
                and info["version"] == __version__
                and info["host"] == host
                and list(info["store"]) == [st.st_dev, st.st_ino]
                and loopback_url(url)
                and len(token) >= 16
                and process_alive(pid)
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if trusted:
            found.append((mark.st_mtime, Served(url, token)))
    return [s for _, s in sorted(found, key=lambda m: m[0], reverse=True)]


__all__ = ["TOKEN_HEADER", "Served", "ServerMark", "loopback_url", "new_token", "process_alive", "servers_of"]
