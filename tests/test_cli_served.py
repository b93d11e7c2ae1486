"""Reading commands beside a running server ask it: the same numbers, without opening the store.

A real `hashlens serve` on a copy of the shared-data store; each reading command run as a user
runs it, once answered by the server and once computed in its own process (``--no-server``).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port, run_cli, start_serve

QUERIES = [
    ("difficulty",),
    ("hashprice", "--date", "2025-06-01"),
    ("summary",),
    ("miners", "expected", "--month", "2025-12"),
]


@pytest.fixture(scope="module")
def served(
    full_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, str, subprocess.Popen[bytes]]]:
    db = tmp_path_factory.mktemp("served") / "store.duckdb"
    db.write_bytes(full_db.read_bytes())
    proc, url = start_serve(db)
    yield db, url, proc
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=20)


def _json(db: Path, *args: str) -> object:
    r = run_cli(db, *args, "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _mark(db: Path) -> dict[str, object]:
    (mark,) = db.parent.glob(db.name + ".server-*")
    info: dict[str, object] = json.loads(mark.read_text())
    return info


def test_the_server_announces_itself_beside_the_store(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    import socket

    from hashlens import __version__

    db, url, proc = served
    info = _mark(db)
    st = db.stat()
    assert {k: info[k] for k in ("pid", "url", "version", "host", "store")} == {
        "pid": proc.pid,
        "url": url,
        "version": __version__,
        "host": socket.gethostname(),
        "store": [st.st_dev, st.st_ino],
    }
    # Every answer carries the mark's token.
    with urllib.request.urlopen(url + "/v1/health", timeout=30) as r:
        assert r.headers["X-Hashlens-Server"] == info["token"] and len(str(info["token"])) == 32


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES, ids=[" ".join(q) for q in QUERIES])
def test_a_served_answer_is_the_one_computed_here(
    served: tuple[Path, str, subprocess.Popen[bytes]], query: tuple[str, ...]
) -> None:
    db, url, _ = served
    here = _json(db, "--no-server", *query)
    assert _json(db, *query) == here
    shown = run_cli(db, *query)
    assert shown.returncode == 0 and f"answered by `hashlens serve` at {url}" in shown.stdout
    local = run_cli(db, "--no-server", *query)
    assert local.returncode == 0 and "answered by" not in local.stdout
    # The table itself is the same either way.
    assert shown.stdout.split("answered by")[0].rstrip() == local.stdout.rstrip()


@pytest.mark.slow
def test_a_served_answer_loads_no_data_library(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    """What makes it quick: the process answered by the server never imports numpy, DuckDB,
    pyarrow or the store; the one that computes the answer does."""
    from tests.test_cli_basics import imported_modules

    db, _, _ = served
    heavy = {"numpy", "duckdb", "pyarrow", "hashlens.store"}
    for query in QUERIES:
        assert not heavy & imported_modules("--db", str(db), *query), query
    assert {"numpy", "duckdb", "hashlens.store"} <= imported_modules("--db", str(db), "--no-server", "difficulty")


def test_the_served_difficulty_is_the_api_s(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    db, url, _ = served
    with urllib.request.urlopen(url + "/v1/difficulty", timeout=30) as r:
        assert _json(db, "difficulty") == json.loads(r.read())


@pytest.mark.slow
def test_a_mark_that_cannot_be_trusted_is_passed_over(
    served: tuple[Path, str, subprocess.Popen[bytes]], full_db: Path, tmp_path: Path
) -> None:
    """Marks left by a server that died, planted by someone else, or naming another store: the
    command computes the answer itself, without a word about it."""
    db, url, _ = served
    real = _mark(db)
    other = tmp_path / "store.duckdb"
    other.write_bytes(full_db.read_bytes())
    st = other.stat()
    good = {**real, "store": [st.st_dev, st.st_ino]}
    bad = [
        {**good, "url": f"http://127.0.0.1:{free_port()}"},  # nobody listens there
        {**good, "token": "f" * 32},  # the live server answers, without this token
        {**real},  # the live server's own mark, but for the other store file
        {**good, "url": url.replace("127.0.0.1", "192.0.2.1")},  # not loopback
        {**good, "pid": 0},
        {**good, "version": "0.0.0"},
        {**good, "url": "http://127.0.0.1:99999"},  # a port out of range
    ]
    for i, mark in enumerate(bad):
        (tmp_path / f"store.duckdb.server-{i}").write_text(json.dumps(mark))
    (tmp_path / "store.duckdb.server-x").write_text("not json")
    r = run_cli(other, "difficulty")
    assert r.returncode == 0 and "answered by" not in r.stdout and r.stderr == ""
    assert _json(other, "difficulty") == _json(other, "--no-server", "difficulty")
    # The same mark with the server's real token is trusted: the check above was the token's.
    (tmp_path / "store.duckdb.server-ok").write_text(json.dumps(good))
    assert f"answered by `hashlens serve` at {url}" in run_cli(other, "difficulty").stdout


def test_a_stopped_server_takes_its_file_away(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    db, _, proc = served
    proc.terminate()  # SIGTERM, as a service manager stops it
    proc.wait(timeout=20)
    assert list(db.parent.glob(db.name + ".server-*")) == []
    r = run_cli(db, "difficulty")
    assert r.returncode == 0 and "answered by" not in r.stdout
