"""Parameter sweeps on Dask distributed: a grid of scenario overrides, one task per point.

Each point's seed is a child of the sweep seed (``SeedSequence.spawn``), and each point runs
its paths in the engine's fixed chunks, so a sweep gives the same numbers on a local cluster,
a remote one or in-process.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from hashlens.errors import HashlensError
from hashlens.sim.engine import simulate
from hashlens.sim.results import summarise
from hashlens.sim.scenario import with_overrides
from hashlens.sim.setup import PreparedRun, RunInputs, prepare_run


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """``price.sigma_annual=0.4,0.6,0.8`` -> ("price.sigma_annual", [0.4, 0.6, 0.8])."""
    if "=" not in text:
        raise HashlensError(f"--sweep {text!r}: use field=value1,value2,…")
    key, _, values = text.partition("=")
    out: list[Any] = []
    for v in values.split(","):
        v = v.strip()
        try:
            out.append(int(v) if v.lstrip("-").isdigit() else float(v))
        except ValueError:
            out.append(v)
    if not out or not key.strip():
        raise HashlensError(f"--sweep {text!r}: no values")
    return key.strip(), out


def grid(axes: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    keys = [k for k, _ in axes]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(v for _, v in axes))]


def prepare_point(
    data: dict[str, Any], overrides: dict[str, Any], chain: dict[str, Any] | None, inputs: RunInputs | None
) -> PreparedRun:
    """The scenario of one grid point, set up by :func:`hashlens.sim.setup.prepare_run` with the
    base run's chain state and inputs (no store: a point reads nothing new but the catalogue)."""
    return prepare_run(with_overrides(data, overrides), chain=chain, inputs=inputs)


def run_point(
    data: dict[str, Any],
    overrides: dict[str, Any],
    chain: dict[str, Any] | None,
    paths: int,
    seed_entropy: int,
    spawn_key: tuple[int, ...],
    inputs: RunInputs | None = None,
) -> dict[str, Any]:
    """One grid point (runs on a Dask worker): rebuild the scenario, simulate, summarise briefly."""
    r = prepare_point(data, overrides, chain, inputs).resolved
    seq = np.random.SeedSequence(seed_entropy, spawn_key=spawn_key)
    summary = summarise(r, simulate(r, paths, int(seq.generate_state(1)[0])))
    first = summary["upcoming_adjustments"][0] if summary["upcoming_adjustments"] else None
    end = {k: summary["series"][k]["p50"][-1] for k in ("difficulty", "hashrate_ehs", "hashprice_usd_per_ph_day")}
    return {
        "overrides": overrides,
        "p_next_adjustment_negative": summary["p_next_adjustment_negative"],
        "next_adjustment_p50_pct": first["change_pct"]["p50"] if first else None,
        "p_consecutive_drops": summary["p_consecutive_drops"],
        "mean_block_interval_s": summary["mean_block_interval_s"],
        "end_median": end,
    }


def run_sweep(
    data: dict[str, Any],
    axes: list[tuple[str, list[Any]]],
    chain: dict[str, Any] | None,
    paths: int,
    seed: int,
    inputs: RunInputs | None = None,
    scheduler: str | None = None,
    local_workers: int = 2,
    processes: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every grid point as a Dask task: on ``scheduler`` (an address such as
    tcp://host:8786) or on a local cluster started here. ``data`` is the base scenario mapping,
    ``chain`` and ``inputs`` what its :func:`~hashlens.sim.setup.prepare_run` read."""
    from dask.distributed import Client, LocalCluster, as_completed

    points = grid(axes)
    # Set up every point before sending anything out: a bad field fails here, in one line.
    point_inputs = [prepare_point(data, p, chain, inputs).inputs for p in points]
    keys = [child.spawn_key for child in np.random.SeedSequence(seed).spawn(len(points))]
    cluster = None
    if scheduler:
        client = Client(scheduler, timeout="10s")
    else:
        cluster = LocalCluster(
            n_workers=local_workers, threads_per_worker=1, processes=processes, dashboard_address=None, silence_logs=40
        )
        client = Client(cluster)
    try:
        futures = [
            client.submit(run_point, data, p, chain, paths, seed, k, i, pure=False)
            for p, k, i in zip(points, keys, point_inputs, strict=True)
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[dict[str, Any] | None] = [None] * len(points)
        for fut in as_completed(futures):
            results[index[fut.key]] = fut.result()
            if progress:
                progress(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [r for r in results if r is not None]
