"""Reading commands beside a running server ask it: the same numbers, without opening the store.

A real `hashlens serve` on a copy of the shared-data store; each reading command run as a user
runs it, once answered by the server and once computed in its own process (``--no-server``).
"""

from __future__ import annotations

import json
import os
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


def test_the_server_announces_itself_beside_the_store(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    db, url, proc = served
    marks = list(db.parent.glob(db.name + ".server-*"))
    assert [json.loads(m.read_text()) for m in marks] == [{"pid": proc.pid, "url": url}]


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


def test_the_served_difficulty_is_the_api_s(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    db, url, _ = served
    with urllib.request.urlopen(url + "/v1/difficulty", timeout=30) as r:
        assert _json(db, "difficulty") == json.loads(r.read())


def test_a_file_naming_no_server_is_passed_over(full_db: Path, tmp_path: Path) -> None:
    """A live pid whose URL refuses connections (a server that died and a pid reused):
    the command computes the answer itself, without a word about it."""
    db = tmp_path / "store.duckdb"
    db.write_bytes(full_db.read_bytes())
    (tmp_path / "store.duckdb.server-1").write_text(
        json.dumps({"pid": os.getpid(), "url": f"http://127.0.0.1:{free_port()}"})
    )
    (tmp_path / "store.duckdb.server-2").write_text("not json")
    r = run_cli(db, "difficulty")
    assert r.returncode == 0 and "answered by" not in r.stdout and r.stderr == ""
    assert _json(db, "difficulty") == _json(db, "--no-server", "difficulty")


def test_a_stopped_server_takes_its_file_away(served: tuple[Path, str, subprocess.Popen[bytes]]) -> None:
    db, _, proc = served
    proc.terminate()  # SIGTERM, as a service manager stops it
    proc.wait(timeout=20)
    assert list(db.parent.glob(db.name + ".server-*")) == []
    r = run_cli(db, "difficulty")
    assert r.returncode == 0 and "answered by" not in r.stdout
