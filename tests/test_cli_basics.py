"""The CLI as a user runs it: real processes, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, env_db: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "hashlens", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_version() -> None:
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("hashlens ")


def test_no_command_prints_the_help_and_exits_0() -> None:
    """`hashlens` alone shows its help: Typer's NoArgsIsHelpError, caught without importing
    Typer's private click copy (hashlens.cli.typer_compat)."""
    from hashlens.cli.typer_compat import NoArgsIsHelpError

    assert NoArgsIsHelpError.__name__ == "NoArgsIsHelpError"
    r = run()
    assert r.returncode == 0 and "Usage:" in r.stdout and r.stderr == "", r.stderr


def test_bits_json() -> None:
    r = run("bits", "0x17023ad4", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["target"] == "0000000000000000000" + "23ad4" + "0" * 40
    assert d["difficulty"] > 1.2e14


def test_halving_json(data_dir: Path) -> None:
    r = run("--data", str(data_dir), "halving", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["next_halving_height"] == 1_050_000
    assert d["blocks_left"] == 1_050_000 - d["tip_height"]
    assert d["current_subsidy_btc"] == 3.125 and d["next_subsidy_btc"] == 1.5625
    assert d["estimated_time"].startswith("2028-")


def test_summary_json_imports_into_a_fresh_store(data_dir: Path, tmp_path: Path) -> None:
    r = run("--db", str(tmp_path / "s.duckdb"), "--data", str(data_dir), "summary", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["periods"] == 480 and d["counts"]["block_stats"] == 80118
    assert d["per_block_tip_height"] == 934575 and d["latest_adjustment"]["height"] == 934575 // 2016 * 2016


def test_errors_are_one_line_without_traceback() -> None:
    for args in (["bits", "xyz"], ["bits", "01800000"], ["halving", "--height", "abc"], ["no-such"]):
        r = run(*args)
        assert r.returncode != 0
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
        assert "Traceback" not in r.stderr and r.stdout == ""


def imported_modules(*args: str) -> set[str]:
    """Every module a whole `hashlens ARGS` process imports (``python -X importtime``)."""
    cmd = [sys.executable, "-X", "importtime", "-m", "hashlens", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.startswith("import time:") and "|" in x]
    assert len(lines) > 50, r.stderr[:500]  # the listing is there: the test can see imports
    return {x.rsplit("|", 1)[1].strip() for x in lines}


def test_help_imports_no_heavy_library() -> None:
    """Building the command tree imports no data library: each command imports what it needs
    when it runs, so `--help` (and every quick query) does not pay for the others."""
    mods = imported_modules("--help")
    assert "typer" in mods and "hashlens.cli.chain_cmds" in mods  # the commands were registered
    heavy = {"duckdb", "numpy", "pandas", "pyarrow", "matplotlib", "scipy", "numba", "hashlens.store"}
    assert not heavy & mods, sorted(heavy & mods)
    # and a JSON answer that needs no store prints without Rich's console or numpy
    mods = imported_modules("--version")
    assert not ({"numpy", "duckdb", "rich.console"} & mods), sorted({"numpy", "duckdb", "rich.console"} & mods)


def test_store_and_duckdb_errors_still_map_to_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`main` matches DuckDB's and the store's exceptions without importing them up front."""
    import duckdb

    from hashlens.cli import app as cli_app
    from hashlens.cli import stores
    from hashlens.store.db import StoreLocked

    for exc, code in ((duckdb.IOException("the disk read failed"), 2), (StoreLocked("held by `hashlens serve`"), 5)):

        def broken(*args: object, raised: BaseException = exc, **kwargs: object) -> None:
            raise raised

        monkeypatch.setattr(stores, "ready_store", broken)
        with pytest.raises(SystemExit) as stop:
            cli_app.main(["summary", "--json"])
        assert stop.value.code == code
        assert capsys.readouterr().err == f"error: {exc}\n"
