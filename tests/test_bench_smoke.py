"""Every benchmark runs: ``python benchmarks/bench_X.py --smoke`` for each file, a seconds-long
run of the real comparison (issue 23: no benchmark left to rot, like bench_store did)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


def test_every_benchmark_is_listed() -> None:
    assert {"bench_store.py", "bench_api.py", "bench_cli.py", "bench_headers.py", "bench_series.py"} <= {
        f.name for f in BENCHMARKS
    }


@pytest.mark.slow
@pytest.mark.parametrize("bench", BENCHMARKS, ids=[f.stem for f in BENCHMARKS])
def test_benchmark_smoke(bench: Path, tmp_path: Path) -> None:
    rows_file = tmp_path / "rows.jsonl"
    # Run as a file from another folder, as the interface says (not as a module from the root).
    proc = subprocess.run(
        [sys.executable, str(bench), "--smoke"],
        cwd=tmp_path,
        env=dict(os.environ, HASHLENS_BENCH_TABLE=str(rows_file)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()] if rows_file.exists() else []
    # A ratio against a peer measured in the same run: recorded for the table, or at least printed.
    assert rows or "ratio" in proc.stdout.lower(), proc.stdout[-2000:]
    for r in rows:
        assert r["ours_s"] and len(r["ours_s"]) == len(r["peer_s"]), r
        assert min(r["ours_s"]) > 0 and min(r["peer_s"]) > 0, r
        assert math.isfinite(r["ratio"]) and r["ratio"] > 0, r
        assert r["peer"] and r["ours"] and r["benchmark"] == bench.stem.removeprefix("bench_"), r
    # Issue 23: no benchmark compares against a Python loop alone.
    assert not rows or any("loop" not in r["peer"] for r in rows), [r["peer"] for r in rows]
