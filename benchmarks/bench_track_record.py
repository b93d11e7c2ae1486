"""The report's forecast track record: kept per chain state beside recomputed every time.

Run: `sh scripts/bench track_record [--runs 5]`. The chain is ../shared/data; the track record
is the one the weekly figures state as of the period from 933,408 (the last 100 forecasts of the
next adjustment from a period start). "recomputed" is what every report did before December
2026 (each point simulated again); "kept" reads the points back from the cache of the same
chain state (:func:`hashlens.sim.backtest.track_record`). Runs are interleaved; the two must
give the same counts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from hashlens.chain.clock import ChainClock
from hashlens.chain.sync import sync_shared_data
from hashlens.sim.backtest import track_record
from hashlens.sources.datadir import require_data_dir
from hashlens.store import Store

PERIOD = 463  # the period from 933,408 (2026-01-22)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    with Store(tmp / "b.duckdb") as s:
        sync_shared_data(s, require_data_dir())
        clock = ChainClock.from_store(s)
    kept_dir = tmp / "kept"
    first = track_record(clock, PERIOD, cache=kept_dir)  # fills the cache once
    cold: list[float] = []
    warm: list[float] = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        a = track_record(clock, PERIOD, cache=tmp / f"fresh-{i}")  # an empty cache: every point simulated
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = track_record(clock, PERIOD, cache=kept_dir)
        warm.append(time.perf_counter() - t0)
        assert a == b == first, (a, b, first)

    def mmm(xs: list[float]) -> str:
        return f"min {min(xs) * 1e3:8.1f}  median {statistics.median(xs) * 1e3:8.1f}  max {max(xs) * 1e3:8.1f} ms"

    print(f"track record as of period {PERIOD}: {first.forecasts} forecasts, 90 % range held {first.held_90}")
    print(f"recomputed : {mmm(cold)}")
    print(f"kept       : {mmm(warm)}")
    print(f"speed ratio kept / recomputed (median): {statistics.median(cold) / statistics.median(warm):.0f}x")


if __name__ == "__main__":
    main()
