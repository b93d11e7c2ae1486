"""Simulator throughput in path-days per second, beside two peers measured in the same run.

Run: `sh scripts/bench sim`.
(a) hashlens' vectorised engine: 100,000 paths x 2 years, constant hashrate and the fleet +
    GBM-price model (capitulation, lagged switch-on).
(b) a plain per-block Python loop: every block an exponential draw, exact retargets with
    hashlens.consensus; 10 paths x 2 years.
(c) blocksimpy 1.5.0 (PyPI), a discrete-event blockchain simulator, with its Bitcoin preset,
    one miner: 1 path x 2 years of blocks.
(d) the draw-only limit: numpy merely drawing the random numbers the same runs need (a
    Gamma(2015) and an exponential per path and period, a normal per path and day for GBM), in
    the engine's chunks: no engine can beat it with these draws.
(e) 1,000,000 paths x 2 years (constant hashrate) in a fresh process: seconds and peak memory.

Engine history (100,000 paths, constant hashrate, 2 cores): 17.7 M path-days/s and 10 KB per
path before issue 11's right-sized arrays written in place and the numba kernels (quiet paths
in one pass, events with numpy's own generator); results are bit-identical to before. Then one
numba pass per chunk between two records (every step's blocks, retargets and GBM draws, the
records with their hashprice) for hashrates the same on every path: 20-24 M (17bb9bd) against
89-124 M path-days/s measured alternately in the same runs, median ratio 5.1x; 1e6 paths in
~9 s and 3.1 GB peak, as before; results bit-identical to the previous engine.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
import sys
import time

from hashlens.consensus import calculate_next_work_required, difficulty_from_bits
from hashlens.sim.engine import resolve, simulate
from hashlens.sim.scenario import parse_scenario

DAYS = 730


def ours(paths: int, fleet: bool) -> float:
    data = {
        "name": "bench",
        "days": DAYS,
        "initial": {"hashrate_ehs": 900, "price_usd": 80000, "difficulty": "steady-state"},
    }
    if fleet:
        data["hashrate"] = {
            "model": "fleet",
            "fleet": [
                {
                    "model": "Antminer S21 XP (270Th)",
                    "share": 0.3,
                    "power_price_median": 0.05,
                    "power_price_sigma": 0.3,
                },
                {"model": "Antminer S21 (200Th)", "share": 0.4, "power_price_median": 0.05, "power_price_sigma": 0.3},
                {
                    "model": "Antminer S19 XP (140Th)",
                    "share": 0.3,
                    "power_price_median": 0.04,
                    "power_price_sigma": 0.4,
                },
            ],
        }
        data["price"] = {"model": "gbm", "sigma_annual": 0.6}
    s = parse_scenario(data)
    effs = {"Antminer S21 XP (270Th)": 13.5, "Antminer S21 (200Th)": 17.5, "Antminer S19 XP (140Th)": 21.5}
    r = resolve(s, None, lambda m: effs[m])
    t0 = time.perf_counter()
    simulate(r, paths, 1)
    return paths * DAYS / (time.perf_counter() - t0)


def draw_only(paths: int, fleet: bool) -> float:
    """Path-days per second if the run did nothing but draw its random numbers."""
    import numpy as np

    from hashlens.sim.engine import CHUNK

    rng = np.random.default_rng(1)
    periods = math.ceil(DAYS / 14) + 1
    t0 = time.perf_counter()
    for start in range(0, paths, CHUNK):
        n = min(CHUNK, paths - start)
        rng.gamma(2015, 1.0, (n, periods))
        rng.exponential(1.0, (n, periods))
        if fleet:
            for _ in range(DAYS):
                rng.standard_normal(n)
    return paths * DAYS / (time.perf_counter() - t0)


def million() -> tuple[float, float]:
    """(seconds, peak RSS in GB) of 1,000,000 constant-hashrate paths in a fresh process."""
    import subprocess

    code = (
        "import resource, sys, time; sys.path.insert(0, '.');"
        "from benchmarks.bench_sim import ours; t = time.perf_counter(); ours(1_000_000, fleet=False);"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def per_block_loop(paths: int) -> float:
    rng = random.Random(1)
    hashrate = 900e18
    t0 = time.perf_counter()
    for _ in range(paths):
        bits = 0x17023AD4
        t, first, height = 0.0, 0.0, 0
        while t < DAYS * 86400:
            lam = hashrate / (difficulty_from_bits(bits) * 2**32)
            t += rng.expovariate(lam)
            height += 1
            if height % 2016 == 2015:
                last = t
            elif height % 2016 == 0:
                bits = calculate_next_work_required(bits, math.floor(first), math.floor(last))
                first = t
    return paths * DAYS / (time.perf_counter() - t0)


def blocksimpy_rate() -> float | None:
    try:
        from blocksimpy.app import main as bs_main
    except ImportError:
        return None
    blocks = DAYS * 144
    argv = sys.argv
    sys.argv = [
        "bsim",
        "--chain",
        "btc",
        "--blocks",
        str(blocks),
        "--miners",
        "1",
        "--nodes",
        "2",
        "--neighbors",
        "1",
        "--wallets",
        "1",
        "--transactions",
        "1",
        "--print",
        str(blocks * 10),
    ]
    out = io.StringIO()
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out):
            bs_main()
    finally:
        sys.argv = argv
    elapsed = time.perf_counter() - t0
    text = out.getvalue()
    days = next((float(line.split("(")[1].split()[0]) for line in text.splitlines() if "Simulated time" in line), DAYS)
    return days / elapsed


def main() -> None:
    ours(2_000, fleet=False)  # compile the numba pass outside the timing
    a1 = ours(100_000, fleet=False)
    a2 = ours(100_000, fleet=True)
    b = per_block_loop(10)
    c = blocksimpy_rate()
    d1, d2 = draw_only(100_000, fleet=False), draw_only(100_000, fleet=True)
    secs, gb = million()
    print(f"path-days per second over {DAYS} days (2 cores):")
    print(f"  hashlens engine, constant hashrate, 100,000 paths: {a1:14,.0f}   ({a1 / d1:.0%} of the draw-only limit)")
    print(f"  hashlens engine, fleet + GBM price, 100,000 paths: {a2:14,.0f}   ({a2 / d2:.0%} of the draw-only limit)")
    print(f"  draw-only limit, constant / fleet + GBM:           {d1:14,.0f} / {d2:,.0f}")
    print(f"  1,000,000 paths, constant hashrate: {secs:.1f} s, peak {gb:.2f} GB")
    print(
        f"  plain per-block Python loop (exact retargets):     {b:14,.0f}   -> hashlens {a1 / b:,.0f}x / {a2 / b:,.0f}x"
    )
    if c is None:
        print("  blocksimpy not installed")
    else:
        print(
            f"  blocksimpy 1.5.0 (discrete-event, BTC preset):     {c:14,.0f}   -> hashlens {a1 / c:,.0f}x / {a2 / c:,.0f}x"
        )


if __name__ == "__main__":
    main()
