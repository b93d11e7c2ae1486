"""What every benchmark shares: interleaved rounds, min/median/max, the ratio against the
strongest peer, and one row per comparison for ``sh scripts/bench all``'s table.

A benchmark runs as ``python benchmarks/bench_X.py [--smoke]`` (or ``sh scripts/bench X``):
:func:`parser` gives it ``--smoke`` (a seconds-long run) and ``--rounds``; :func:`interleave`
times its contenders round by round, the order alternating, so a busy moment of this shared
machine hits every contender alike; :func:`compare` prints each contender's spread and the
ratio of medians as speed (above 1: hashlens is faster) and, where ``$HASHLENS_BENCH_TABLE``
names a file, appends the row to it as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python benchmarks/bench_X.py` runs from any folder: tests/ and benchmarks/ importable
    sys.path.insert(0, str(ROOT))

#: The file ``scripts/bench all`` collects the rows in (one JSON object a line).
TABLE_ENV = "HASHLENS_BENCH_TABLE"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    ap = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    ap.add_argument("--smoke", action="store_true", help="a seconds-long run (the test suite runs it)")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds of every contender")
    return ap


def interleave(contenders: dict[str, Callable[[], float | None]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each contender per round, run in turn (the order reversed every other round).

    A contender returns the seconds it measured itself (when its set-up must not count) or
    None, and is then timed whole."""
    out: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for i in range(rounds):
        for name in names if i % 2 == 0 else names[::-1]:
            t0 = time.perf_counter()
            own = contenders[name]()
            out[name].append(time.perf_counter() - t0 if own is None else float(own))
    return out


@dataclass
class Row:
    """One comparison: hashlens' and the peer's seconds per round and the speed ratio."""

    benchmark: str
    what: str
    ours: str
    peer: str
    ours_s: list[float]
    peer_s: list[float]
    goal: float | None = None
    work: float = 1.0  # units of work per run (rows, headers, requests), for rates
    unit: str = ""  # of the work, e.g. "headers"

    @property
    def ratio(self) -> float:
        """Peer median time / hashlens median time (above 1: hashlens faster)."""
        return statistics.median(self.peer_s) / statistics.median(self.ours_s)

    @property
    def verdict(self) -> str:
        if self.goal is None:
            return ""
        return "met" if self.ratio >= self.goal else "NOT met"


def _spread(xs: list[float], work: float, unit: str) -> str:
    lo, med, hi = min(xs), statistics.median(xs), max(xs)
    if unit:
        return f"min {work / hi:12,.0f}  median {work / med:12,.0f}  max {work / lo:12,.0f} {unit}/s"
    return f"min {lo * 1e3:9.1f}  median {med * 1e3:9.1f}  max {hi * 1e3:9.1f} ms"


def compare(row: Row) -> Row:
    """Print a comparison (each side's min/median/max and the ratio of medians) and record it."""
    w = max(len(row.ours), len(row.peer))
    print(f"{row.what}:")
    print(f"  hashlens  {row.ours:<{w}}  {_spread(row.ours_s, row.work, row.unit)}")
    print(f"  peer      {row.peer:<{w}}  {_spread(row.peer_s, row.work, row.unit)}")
    worst = min(row.peer_s) / max(row.ours_s)
    best = max(row.peer_s) / min(row.ours_s)
    goal = f"; goal >= {row.goal:g}x: {row.verdict}" if row.goal is not None else ""
    print(f"  ratio {row.ratio:.2f}x median (worst {worst:.2f}x, best {best:.2f}x, {len(row.ours_s)} rounds){goal}")
    record(row)
    return row


def record(row: Row) -> None:
    """Append the row to ``$HASHLENS_BENCH_TABLE`` when that names a file."""
    path = os.environ.get(TABLE_ENV)
    if not path:
        return
    data = asdict(row) | {"ratio": row.ratio}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(data) + "\n")


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs of ``fn`` [s] (for set-up figures, not for ratios)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
