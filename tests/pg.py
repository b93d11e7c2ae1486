"""A real PostgreSQL server for the store tests: Debian's binaries, started by the suite itself.

``initdb`` + ``pg_ctl start`` in a temporary folder, listening on a Unix socket there and on a
free loopback port (for the password tests), with durability switched off (a test server: no
fsync, no synchronous commit). As root, the server runs as the ``postgres`` user the package
creates (PostgreSQL refuses to run as root). Each test gets its own database; a copy of a
filled store is ``CREATE DATABASE … TEMPLATE`` (a file copy).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUPERUSER = "postgres"
#: The superuser's password over TCP (the Unix socket trusts the test's own processes).
PASSWORD = "hashlens-test"
_numbers = itertools.count()


def pg_bindir() -> Path | None:
    """The PostgreSQL server binaries: ``pg_config --bindir`` if it has initdb, else the newest
    /usr/lib/postgresql/*/bin (Debian puts pg_ctl there only)."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists() and (Path(out) / "pg_ctl").exists():
            return Path(out)
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name.split(".")[0]))
    for d in reversed(dirs):
        if (Path(d) / "initdb").exists() and (Path(d) / "pg_ctl").exists():
            return Path(d)
    return None


def _users(*names: str) -> list[pwd.struct_passwd]:
    known = {u.pw_name: u for u in pwd.getpwall()}
    return [known[n] for n in names if n in known]


class PgServer:
    """One throwaway PostgreSQL cluster."""

    def __init__(self, bindir: Path, port: int) -> None:
        self.bindir = bindir
        self.port = port
        self.root = Path(tempfile.mkdtemp(prefix="hlpg-"))  # short: a socket path has ~100 bytes
        self.data = self.root / "data"
        self._as: list[str] = []
        self._uid: int | None = None
        if os.geteuid() == 0:
            # PostgreSQL will not run as root: run it as the package's postgres user (else nobody).
            user = next((u for u in _users(SUPERUSER, "nobody")), None)
            if user is None:
                raise RuntimeError("running as root with neither a postgres nor a nobody user to run PostgreSQL as")
            self._uid = user.pw_uid
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--init-groups"]

    def _run(self, *args: str) -> None:
        proc = subprocess.run([*self._as, *args], capture_output=True, text=True, cwd=self.root)
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {proc.stdout}{proc.stderr}")

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._uid is not None:
            os.chown(pwfile, self._uid, -1)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        self.start_again()

    def start_again(self) -> None:
        """Start the initialised cluster (again)."""
        opts = (
            f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"
        )

    def stop_only(self) -> None:
        """Stop the server, every session cut, keeping its data (``start_again`` brings it back)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        subprocess.run(
            [*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db: str, user: str = SUPERUSER) -> str:
        """A URL reaching ``db`` over the Unix socket (trusted)."""
        return f"postgresql://{user}@/{db}?host={self.root}&port={self.port}"

    def tcp_url(self, db: str, user: str = SUPERUSER, password: str = PASSWORD) -> str:
        """A URL reaching ``db`` over loopback TCP (password checked)."""
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{db}"

    def sql(self, statement: str, db: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(db), autocommit=True) as con:
            con.execute(statement)

    def new_db(self, template: str | None = None) -> str:
        """A new database (empty, or a file copy of ``template``, which must have no sessions)."""
        name = f"t{os.getpid()}_{next(_numbers)}"
        # FILE_COPY: a plain file copy, about 3x faster than WAL_LOG here (fsync is off).
        tail = f" TEMPLATE {template or 'template1'} STRATEGY FILE_COPY"
        self.sql(f"CREATE DATABASE {name}{tail}")
        return name


@contextmanager
def own_server_with(store: Path, name: str) -> Iterator[tuple[PgServer, str]]:
    """A PostgreSQL cluster of its own (to stop or restart at will) whose database ``name``
    holds a copy of the DuckDB store ``store``: the server and that database's URL; the
    server is stopped afterwards."""
    from hashlens.store.copy import copy_store
    from tests.helpers import free_port

    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server binaries are missing (Debian: apt-get install postgresql)")
    server = PgServer(bindir, free_port())
    server.start()
    try:
        server.sql(f"CREATE DATABASE {name}")
        url = server.url(name)
        copy_store(store, url)
        yield server, url
    finally:
        server.stop()


class Stores:
    """Where a test's stores live: DuckDB files in its temporary folder, or databases on the
    session's PostgreSQL server. Targets are what ``--db`` and ``Store(...)`` take."""

    def __init__(self, backend: str, tmp: Path, server: PgServer | None) -> None:
        self.backend = backend
        self.tmp = tmp
        self.server = server

    def new(self, name: str = "s") -> str:
        if self.server is None:
            self.tmp.mkdir(parents=True, exist_ok=True)
            return str(self.tmp / f"{name}-{next(_numbers)}.duckdb")
        return self.server.url(self.server.new_db())

    def clone(self, target: str) -> str:
        """A copy of a closed store."""
        if self.server is None:
            dst = self.tmp / f"copy-{next(_numbers)}.duckdb"
            dst.write_bytes(Path(target).read_bytes())
            return str(dst)
        return self.server.url(self.server.new_db(template=db_name(target)))


def db_name(url: str) -> str:
    """The database of a test URL (``postgresql://user@/name?host=…``)."""
    return url.split("/")[3].split("?")[0]
