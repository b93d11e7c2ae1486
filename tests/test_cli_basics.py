"""The CLI as a user runs it: real processes, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from tests.facts import chain_folder_counts, extra_folder_heights


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


@pytest.mark.slow
def test_halving_json(data_dir: Path) -> None:
    r = run("--data", str(data_dir), "halving", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["next_halving_height"] == 1_050_000
    assert d["blocks_left"] == 1_050_000 - d["tip_height"]
    assert d["current_subsidy_btc"] == 3.125 and d["next_subsidy_btc"] == 1.5625
    assert d["estimated_time"].startswith("2028-")


@pytest.mark.slow
def test_summary_json_imports_into_a_fresh_store(data_dir: Path, tmp_path: Path) -> None:
    r = run("--db", str(tmp_path / "s.duckdb"), "--data", str(data_dir), "summary", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    # Counted from the files (tests/facts.py): the chain folder's periods (the other folders of
    # the fill name heights inside them only) and block-stats rows (80,118: PROVENANCE.md).
    counted = chain_folder_counts(data_dir)
    assert {h // 2016 for h in extra_folder_heights(data_dir)} <= counted.periods_set
    assert d["periods"] == counted.periods and d["counts"]["block_stats"] == counted.block_stats == 80118
    # Per-block data run to the last row of chain-2026's block times (the stats file ends at 934,575).
    last = (data_dir / "chain-2026" / "block-times-934576-942199.csv").read_text().split()[-1].split(",")
    assert int(last[0]) == 942199
    assert d["per_block_until"] == datetime.fromtimestamp(int(last[1]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Answered as of the report's day (a day's end is priced by the next day's first minute: the
    # day before the price file's newest row), with the adjustment in force at its tip.
    newest = (data_dir / "market/btc-daily-prices-multi-currency.csv").read_text().split()[1].split(",")[0]
    assert d["as_of"] == (date.fromisoformat(newest) - timedelta(days=1)).isoformat()
    a = d["latest_adjustment"]["height"]
    assert a % 2016 == 0 and a <= d["tip_height"] < a + 2016


@pytest.mark.slow
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

    for exc, code, words in (
        (duckdb.IOException("the disk read failed"), 2, "could not be read or written: the disk read failed"),
        (StoreLocked("held by `hashlens serve`"), 5, "held by `hashlens serve`"),
        (OSError(28, "No space left on device"), 3, "disk full"),
        (OSError(30, "Read-only file system"), 4, "read-only"),
    ):

        def broken(*args: object, raised: BaseException = exc, **kwargs: object) -> None:
            raise raised

        monkeypatch.setattr(stores, "ready_store", broken)
        with pytest.raises(SystemExit) as stop:
            cli_app.main(["summary", "--json"])
        assert stop.value.code == code
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err


# -- a bug is a bug report, never "bad input" ------------------------------------------------------
@pytest.mark.parametrize("raised", [ValueError("a library guard"), ZeroDivisionError("float division by zero")])
def test_an_unexpected_exception_is_a_bug_report_with_exit_1(
    raised: Exception, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ValueError is not "bad input" (exit 2) just by its type: anything but a HashlensError
    is a bug — exit 1, one line saying so and where to report it, the traceback only with
    --debug or HASHLENS_DEBUG=1."""
    from hashlens.cli import app as cli_app
    from hashlens.cli import stores

    def broken(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(stores, "ready_store", broken)
    monkeypatch.delenv("HASHLENS_DEBUG", raising=False)
    with pytest.raises(SystemExit) as stop:
        cli_app.main(["summary", "--json"])
    err = capsys.readouterr().err
    assert stop.value.code == 1 and err.count("\n") == 1, err
    assert err.startswith("error: bug in hashlens") and type(raised).__name__ in err and str(raised) in err
    assert "report it" in err and "--debug" in err and "Traceback" not in err
    # --debug: the traceback for the report, then the same line
    for argv, env in ((["--debug", "summary", "--json"], None), (["summary", "--json"], "1")):
        if env:
            monkeypatch.setenv("HASHLENS_DEBUG", env)
        with pytest.raises(SystemExit) as stop:
            cli_app.main(argv)
        err = capsys.readouterr().err
        assert stop.value.code == 1 and err.startswith("Traceback (most recent call last):"), err
        assert "in broken" in err and err.rstrip().splitlines()[-1].startswith("error: bug in hashlens")
    cli_app.state.debug = False


def test_the_exit_codes_are_the_readmes() -> None:
    """One meaning per code, and the README's table says the same."""
    from hashlens.cli import app as cli_app

    codes = {
        cli_app.EXIT_BUG: 1,
        cli_app.EXIT_BAD_INPUT: 2,
        cli_app.EXIT_DISK_FULL: 3,
        cli_app.EXIT_READ_ONLY: 4,
        cli_app.EXIT_LOCKED: 5,
        cli_app.EXIT_INTERRUPTED: 130,
    }
    assert all(k == v for k, v in codes.items()) and len(set(codes)) == 6
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("### Exit codes") :].split("\n\n", 2)[1]
    rows = {int(r.split("|")[1]): r.split("|")[2].strip() for r in table.splitlines()[2:]}
    assert sorted(rows) == [0, 1, 2, 3, 4, 5, 130], rows
    assert "bug" in rows[1] and "bad input" in rows[2] and "disk full" in rows[3]
    assert "read-only" in rows[4] and "another process" in rows[5] and "interrupted" in rows[130].lower()


# -- messages that name the real cause -------------------------------------------------------------
@pytest.mark.slow
def test_a_damaged_store_file_says_so_at_once(full_db: Path, tmp_path: Path) -> None:
    """A store whose bytes were changed is "damaged", naming the file, within seconds — not a
    13 s wait and "in use by another process" (DuckDB's checksum message names a "block")."""
    import time

    data = bytearray(full_db.read_bytes())
    for off in range(4096 + 100, len(data), 50_000):
        data[off] ^= 0xFF
    cases = {
        "flipped.duckdb": bytes(data),
        "foreign.duckdb": b"not a database" * 1000,
        # cut short: a tenth left (a half can hold every live block: the file's tail may be free blocks)
        "cut.duckdb": full_db.read_bytes()[: full_db.stat().st_size // 10],
    }
    for name, content in cases.items():
        db = tmp_path / name
        db.write_bytes(content)
        t0 = time.perf_counter()
        r = run("--db", str(db), "summary", "--json")
        took = time.perf_counter() - t0
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (name, r.stderr)
        assert f"the store file {db} is damaged" in r.stderr and "in use" not in r.stderr, r.stderr
        assert took < 8, (name, took)  # the lock wait is 10 s; nothing waits for it


@pytest.mark.slow
def test_empty_paths_are_bad_input(tmp_path: Path) -> None:
    for args in (
        ["store", "copy", "", "postgresql://127.0.0.1:1/x"],
        ["store", "copy", str(tmp_path / "a.duckdb"), ""],
        ["--db", "", "summary"],
        ["prices", "import", ""],
    ):
        r = run(*args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "empty" in r.stderr and "read-only" not in r.stderr, (args, r.stderr)


@pytest.mark.slow
def test_report_out_onto_a_file_is_one_line(tmp_path: Path) -> None:
    f = tmp_path / "taken"
    f.write_text("x")
    for out in (f, f / "inside"):
        r = run("--db", str(tmp_path / "s.duckdb"), "report", "--out", str(out))
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Errno" not in r.stderr, r.stderr
        assert r.stderr.startswith(f"error: --out {out} ") and "give a folder" in r.stderr


@pytest.mark.slow
def test_serve_on_a_busy_port_is_one_line(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("--db", str(tmp_path / "s.duckdb"), "serve", "--port", str(port))
    assert (
        r.returncode == 2
        and r.stderr
        == f"error: 127.0.0.1:{port} is already in use by another program: stop it, or pass another --port\n"
    )
    r = run("--db", str(tmp_path / "s.duckdb"), "serve", "--host", "192.0.2.1")  # TEST-NET-1: not ours
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not an address of this machine" in r.stderr
