"""Timing of hashlens beside its peer, interleaved in one run (``bench_sim``, ``bench_outlook``,
``bench_fleet``): each round runs both, in alternating order, so a busy moment of the machine
hits both alike; the ratio is taken per round (peer time / hashlens time: above 1, hashlens is
faster) and printed as min / median / max with the load average of the run."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def interleaved(ours: Callable[[], object], peer: Callable[[], object], rounds: int) -> tuple[list[float], list[float]]:
    """Seconds of ``rounds`` runs of each, alternating which goes first."""
    t_ours: list[float] = []
    t_peer: list[float] = []
    for i in range(rounds):
        pair = [(ours, t_ours), (peer, t_peer)]
        for fn, out in pair if i % 2 == 0 else pair[::-1]:
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return t_ours, t_peer


def spread(xs: list[float], unit: str = "s") -> str:
    return f"min {min(xs):.4g}  median {statistics.median(xs):.4g}  max {max(xs):.4g} {unit}"


def report(what: str, peer: str, t_ours: list[float], t_peer: list[float], goal: float = 1.0) -> float:
    """Print both timings and the per-round speed ratio; returns its median."""
    ratios = [p / o for o, p in zip(t_ours, t_peer, strict=True)]
    med = statistics.median(ratios)
    print(f"  hashlens {what}: {spread(t_ours)}")
    print(f"  peer, {peer}: {spread(t_peer)}")
    print(
        f"  ratio (speed, above 1 = hashlens faster), {len(ratios)} interleaved rounds: min {min(ratios):.2f}x  "
        f"median {med:.2f}x  max {max(ratios):.2f}x; goal >= {goal:g}x: " + ("met" if med >= goal else "NOT met")
    )
    return med


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
