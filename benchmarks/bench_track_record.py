"""The report's forecast track record: kept per chain state beside recomputed every time.

Run: `sh scripts/bench track_record [--runs 5]`. The chain is ../shared/data; the track record
is the one the weekly figures state as of the period from 933,408 (the last 100 forecasts of the
next adjustment from a period start). "recomputed" is what every report did before December
2026 (each point simulated again); "kept" reads the points back from the cache of the same
chain state (:func:`hashlens.sim.backtest.track_record`). Runs are interleaved; the two must
give the same counts.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python benchmarks/bench_track_record.py`

from benchmarks.common import Row, parser, record
from hashlens.chain.clock import ChainClock
from hashlens.chain.sync import sync_shared_data
from hashlens.sim.backtest import track_record
from hashlens.sources.datadir import require_data_dir
from hashlens.store import Store

PERIOD = 463  # the period from 933,408 (2026-01-22)


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--runs", type=int, default=5, help="as --rounds")
    ap.add_argument("--last", type=int, default=100, help="forecasts in the track record")
    args = ap.parse_args()
    args.runs = args.rounds or (1 if args.smoke else args.runs)
    if args.smoke:
        args.last = 5
    tmp = Path(tempfile.mkdtemp())
    with Store(tmp / "b.duckdb") as s:
        sync_shared_data(s, require_data_dir())
        clock = ChainClock.from_store(s)
    kept_dir = tmp / "kept"
    first = track_record(clock, PERIOD, last=args.last, cache=kept_dir)  # fills the cache once
    cold: list[float] = []
    warm: list[float] = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        a = track_record(
            clock, PERIOD, last=args.last, cache=tmp / f"fresh-{i}"
        )  # an empty cache: every point simulated
        cold.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = track_record(clock, PERIOD, last=args.last, cache=kept_dir)
        warm.append(time.perf_counter() - t0)
        assert a == b == first, (a, b, first)

    def mmm(xs: list[float]) -> str:
        return f"min {min(xs) * 1e3:8.1f}  median {statistics.median(xs) * 1e3:8.1f}  max {max(xs) * 1e3:8.1f} ms"

    print(f"track record as of period {PERIOD}: {first.forecasts} forecasts, 90 % range held {first.held_90}")
    print(f"recomputed : {mmm(cold)}")
    print(f"kept       : {mmm(warm)}")
    print(f"speed ratio kept / recomputed (median): {statistics.median(cold) / statistics.median(warm):.0f}x")
    record(
        Row(
            "track_record",
            f"the report's track record ({first.forecasts} forecasts)",
            "kept per chain state",
            "recomputed (what every report did before)",
            warm,
            cold,
            None,
        )
    )


if __name__ == "__main__":
    main()
