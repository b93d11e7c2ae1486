"""DuckDB's one-writer rule made visible: who holds a store file, and the writer's lock.

DuckDB lets several processes open a file read-only at once, or one process read-write, never
both. hashlens adds, beside the store:

* ``<store>.holder``       the writer's lock: an exclusive flock held for the writer's whole
  life (a ``serve --follow`` holds it even while its connection is read-only), with the
  writer's pid and command in it;
* ``<store>.reader-<pid>`` one per process that has the store open read-only, so that a writer
  refused by DuckDB can name who is reading.

A reader waits (up to ``wait_s``) while a writer's batch holds the file; the server's follower
takes the file for one batch at a time, so readers in other shells get through between batches.
PostgreSQL needs none of this: its server arbitrates, and a follower is elected by an advisory
lock (:meth:`hashlens.store.db.Database.try_follower_lock`).
"""

from __future__ import annotations

import glob
import json
import os
import sys
from contextlib import suppress
from pathlib import Path

from hashlens.errors import HashlensError
from hashlens.servers import process_alive


class StoreLocked(HashlensError):
    """The store file is held by another process (named, where its lock-info files say)."""


#: How long a reader waits for a writer's batch, and a writer for readers, before naming the
#: holder [s] (a batch may take seconds; a reader's query far less).
READER_WAIT_S = 10.0
WRITER_WAIT_S = 3.0


def holder_path(db_path: str) -> Path:
    """The writer's lock-info file beside a store."""
    return Path(db_path + ".holder")


def _process_text(path: Path) -> str | None:
    """'process 123 (`hashlens sync …`)' from a lock-info file, None if unreadable or ended."""
    try:
        info = json.loads(path.read_text())
        pid, command = int(info["pid"]), str(info["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not process_alive(pid):
        return None
    return f"process {pid} (`{command}`)"


def holder_text(db_path: str) -> str:
    """Who holds the store: its writer, else its readers, else a plain phrase."""
    writer = _process_text(holder_path(db_path))
    if writer is not None:
        return writer
    readers = [
        t
        for f in sorted(Path(db_path).parent.glob(glob.escape(Path(db_path).name) + ".reader-*"))
        if (t := _process_text(f))
    ]
    if readers:
        return ", ".join(readers)
    return "another process"


def command_line() -> str:
    args = [a for a in sys.argv[1:] if not a.startswith("-")][:2]
    return " ".join(["hashlens", *args]) if args else os.path.basename(sys.argv[0] or "python")


class WriterLock:
    """The store's one writer, for as long as this object is held (``release`` or process exit).

    Raises :class:`StoreLocked` naming the current writer when another process holds it. In a
    folder where the lock file cannot be written (read-only), DuckDB's own lock still holds and
    this lock is a no-op.
    """

    def __init__(self, db_path: str | Path, command: str | None = None) -> None:
        import fcntl

        self.path = holder_path(str(db_path))
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StoreLocked(
                f"the store {db_path} is in use by {holder_text(str(db_path))}, its writer; "
                "wait for it to finish, stop it, or use another --db"
            ) from None
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command or command_line()}).encode(), 0)
        except OSError:
            pass  # a full disk: the lock still holds, the holder just goes unnamed

    def release(self) -> None:
        if self._fd is None:
            return
        with suppress(OSError):
            os.ftruncate(self._fd, 0)
        os.close(self._fd)  # closing the descriptor releases the flock
        self._fd = None
