"""`difficulty --json` and `summary --json` kept per store state (hashlens.cli.kept): the kept
answer is the computed one byte for byte, printed without loading numpy, and never outlives a
write to the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.fixture
def store(full_db: Path, tmp_path: Path) -> Path:
    db = tmp_path / "kept.duckdb"
    db.write_bytes(full_db.read_bytes())
    return db


def answers() -> list[Path]:
    return sorted((Path(os.environ["HASHLENS_CACHE_DIR"]) / "answers").glob("*.json"))


def test_a_kept_answer_is_the_computed_one(store: Path) -> None:
    for command in ("difficulty", "summary"):
        before = set(answers())
        computed = run_cli(store, "--no-server", command, "--json")
        assert computed.returncode == 0, computed.stderr
        new = set(answers()) - before
        assert len(new) == 1 and new.pop().read_text() == computed.stdout
        # the next identical command prints it without loading numpy or the store
        again = subprocess.run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "hashlens",
                "--db",
                str(store),
                "--no-server",
                command,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0 and again.stdout == computed.stdout
        imported = {line.split("|")[-1].strip() for line in again.stderr.splitlines() if "|" in line}
        assert "numpy" not in imported and "duckdb" not in imported and "typer" not in imported
    # another spelling of the store's path is another answer (summary names the store as given)
    other = run_cli(Path(os.path.relpath(store)), "--no-server", "summary", "--json")
    assert json.loads(other.stdout)["store"] == os.path.relpath(store)


def test_a_write_to_the_store_retires_the_kept_answer(store: Path, data_dir: Path) -> None:
    first = run_cli(store, "--no-server", "difficulty", "--json")
    assert run_cli(store, "--no-server", "difficulty", "--json").stdout == first.stdout
    # chain-2026's block times reach past the stored per-block data: the answer changes
    r = run_cli(store, "sync", str(data_dir / "chain-2026" / "block-times-934576-942199.csv"))
    assert r.returncode == 0, r.stderr
    after = run_cli(store, "--no-server", "difficulty", "--json")
    assert after.returncode == 0 and after.stdout != first.stdout
    computed = run_cli(store, "--no-server", "difficulty", "--as-of", json.loads(after.stdout)["as_of"], "--json")
    assert json.loads(computed.stdout) == json.loads(after.stdout)  # the same day asked for: computed afresh
    # and the answer now kept is that one
    assert run_cli(store, "--no-server", "difficulty", "--json").stdout == after.stdout


def test_other_options_are_computed(store: Path) -> None:
    from hashlens.cli.kept import kept_request

    assert kept_request(["--db", str(store), "difficulty", "--json"]) == (store, "difficulty")
    assert kept_request(["--db", str(store), "--no-server", "summary", "--json"]) == (store, "summary")
    for argv in (
        ["--db", str(store), "difficulty"],
        ["--db", str(store), "difficulty", "--json", "--now", "1700000000"],
        ["--db", str(store), "difficulty", "history", "--json"],
        ["--db", ":memory:", "difficulty", "--json"],
        ["--db", "postgresql://u@h/db", "summary", "--json"],
        ["--db", str(store), "hashprice", "--json"],
        ["difficulty", "--json", "--db", str(store)],  # a root option after the command: the CLI refuses it
        ["--db", str(store), "summary", "--json", "--no-server"],
    ):
        assert kept_request(argv) is None, argv
