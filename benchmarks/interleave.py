"""The two-contender form of :mod:`benchmarks.common` that ``bench_sim``, ``bench_outlook`` and
``bench_fleet`` use: hashlens beside its peer, interleaved round by round in one run, printed
as min / median / max with the ratio of medians (above 1, hashlens is faster), and recorded as
a row of ``sh scripts/bench all``'s table."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from benchmarks.common import Row, compare, interleave


def interleaved(ours: Callable[[], object], peer: Callable[[], object], rounds: int) -> tuple[list[float], list[float]]:
    """Seconds of ``rounds`` runs of each, alternating which goes first."""

    def timed(fn: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            fn()

        return run

    times = interleave({"hashlens": timed(ours), "peer": timed(peer)}, rounds)
    return times["hashlens"], times["peer"]


def report(what: str, peer: str, t_ours: list[float], t_peer: list[float], goal: float = 1.0) -> float:
    """Print both timings and the ratio of medians, record the row; returns the ratio."""
    name = Path(sys.argv[0]).stem.removeprefix("bench_") or "bench"
    return compare(Row(name, what, "hashlens", peer, t_ours, t_peer, goal)).ratio


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
