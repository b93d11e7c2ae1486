"""Answers of quick reading commands kept per store state: ``hashlens difficulty --json`` and
``hashlens summary --json`` print, for a store whose files have not changed since, the answer
computed last time on it, without loading numpy, the store or the command tree.

The answer of these commands is a function of the store's contents and of the code alone (no
clock, no option but ``--json``; ``summary`` is kept only once the store holds prices, since
before that it fills them from whatever data folder it finds), so it is kept beside the backtest points
(``$HASHLENS_CACHE_DIR``, else the user cache directory) under a digest of: the store file and
its write-ahead log as the file system describes them (device, inode, size, modification time
in ns: every committed write changes one of them), the hashlens version, and the newest
modification of any of hashlens' own source files. Anything else (a PostgreSQL store, another
option, a changed file) computes as before. This module imports nothing beyond the standard
library: it runs before the command line is built.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

#: Commands whose ``--json`` answer, without other options, depends on the store alone.
KEPT_COMMANDS = ("difficulty", "summary")
_PACKAGE = Path(__file__).resolve().parents[1]


def _cache_dir() -> Path:
    env = os.environ.get("HASHLENS_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hashlens", appauthor=False))


def _default_db() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("hashlens", appauthor=False)) / "hashlens.duckdb"


def kept_request(argv: list[str]) -> tuple[Path, str] | None:
    """(store, command) when ``argv`` asks a kept command's ``--json`` answer and nothing else
    (root options ``--db``, ``--no-server``, ``--data``, ``--debug`` allowed), else None."""
    db: str | None = os.environ.get("HASHLENS_DB") or None
    i = 0
    # Root options come before the command, as the command line takes them (after it they are
    # refused there, so they must not be answered here).
    while i < len(argv):
        a = argv[i]
        if a in ("--db", "--data") and i + 1 < len(argv):
            if a == "--db":
                db = argv[i + 1]
            i += 2
        elif a.startswith("--db="):
            db, i = a[5:], i + 1
        elif a.startswith("--data=") or a in ("--no-server", "--debug"):
            i += 1
        else:
            break
    rest = argv[i:]
    if len(rest) != 2 or rest[0] not in KEPT_COMMANDS or rest[1] != "--json":
        return None
    if db is not None and (db.strip() in ("", ":memory:") or "://" in db):
        return None  # in memory, or a server's database: no files to describe
    return (Path(db) if db is not None else _default_db()), rest[0]


def _code_stamp() -> str:
    """The newest modification time of hashlens' source files, and how many there are."""
    newest, count = 0, 0
    for folder, _, files in os.walk(_PACKAGE):
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
                count += 1
    return f"{newest}:{count}"


def state_key(db: Path, command: str) -> str | None:
    """The digest naming ``command``'s kept answer on the store as it is now (None: no store
    file)."""
    from hashlens import __version__

    parts: list[object] = [__version__, command, _code_stamp(), str(db)]  # the summary names the store as given
    for f in (db, db.with_name(db.name + ".wal")):
        try:
            st = os.stat(f)
        except FileNotFoundError:
            if f == db:
                return None
            parts.append(None)
            continue
        parts.append([str(f.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _path(key: str) -> Path:
    return _cache_dir() / "answers" / f"{key}.json"


def answer_kept(argv: list[str]) -> bool:
    """Print the kept answer of ``argv`` if there is one for the store as it is now; True if
    printed (the command is then done)."""
    req = kept_request(argv)
    if req is None:
        return False
    key = state_key(*req)
    if key is None:
        return False
    try:
        text = _path(key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def keep(db: Path, command: str, text: str, before: str | None) -> None:
    """Keep ``text`` (the whole of stdout) as ``command``'s answer on ``db``, if the store's
    files are as they were before the command read it (``before``: :func:`state_key` then)."""
    if before is None or state_key(db, command) != before:
        return  # the store changed while the answer was computed (or was created): not kept
    path = _path(before)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written is computed next time
