"""One set-up for every simulation: a scenario plus what it reads outside itself.

Every face (the CLI's ``simulate``, the API's ``POST /v1/simulate``, the report's outlook and
the sweep's grid points) calls :func:`prepare_run` and hands its :class:`PreparedRun` to
:func:`hashlens.sim.engine.simulate` (``run.resolved``) or :func:`hashlens.sim.sweep.run_sweep`
(``run.scenario.raw``, ``run.chain``, ``run.inputs``). What the scenario leaves open is filled
here, in one order:

1. fleet efficiencies [J/TH] from the ASIC catalogue (``hashrate.fleet[i].model``);
2. the chain state at ``initial.height`` (bits, implied hashrate, price;
   :func:`hashlens.sim.chain_state.chain_state`) from the store, when the scenario lacks the
   hashrate, the price or a difficulty;
3. daily log returns of the stored USD price (:func:`~hashlens.sim.chain_state.daily_log_returns`)
   for ``price.model: bootstrap``;
4. the price-path file for ``price.model: path``, relative to ``base_dir``;
5. the initial state, :func:`hashlens.sim.resolved.resolve`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hashlens.errors import HashlensError
from hashlens.sim.resolved import Resolved, resolve
from hashlens.sim.scenario import Scenario, load_scenario, parse_scenario

if TYPE_CHECKING:
    from hashlens.economics.asics import Asic
    from hashlens.store import Store


@dataclass(frozen=True)
class RunInputs:
    """What a run reads outside its scenario; small and picklable, so a sweep reads it once
    and sends it to every grid point."""

    efficiencies: dict[str, float] = field(default_factory=dict)  # fleet model -> [J/TH]
    bootstrap_returns: np.ndarray | None = None  # daily log returns of the stored USD price [-]
    price_path: list[float] | None = None  # price of each day of the path model [USD/BTC]


@dataclass
class PreparedRun:
    """A scenario ready to simulate."""

    scenario: Scenario  # with ``bootstrap_returns`` / ``price_path`` attached
    resolved: Resolved  # the engine's input: every initial quantity a number
    chain: dict[str, Any] | None  # the chain state read from the store, None if not needed
    inputs: RunInputs  # efficiencies, returns and price path, for sweep points


def needs_chain(s: Scenario) -> bool:
    """Whether the scenario takes part of its initial state from the store's chain state."""
    return s.hashrate_ehs is None or s.price_usd is None or (s.bits is None and s.difficulty is None)


def needs_store(s: Scenario, chain: dict[str, Any] | None = None, inputs: RunInputs | None = None) -> bool:
    """Whether :func:`prepare_run` would read the store for this scenario (so a caller can
    open it only then)."""
    boot = s.price_model == "bootstrap" and (inputs is None or inputs.bootstrap_returns is None)
    return boot or (chain is None and needs_chain(s))


def _scenario(scenario: Scenario | Mapping[str, Any] | str | Path) -> tuple[Scenario, Path | None]:
    if isinstance(scenario, Scenario):
        return scenario, None
    if isinstance(scenario, Mapping):
        return parse_scenario(dict(scenario), str(scenario.get("name") or "scenario")), None
    p = Path(scenario)
    return load_scenario(p), p.parent


def prepare_run(
    scenario: Scenario | Mapping[str, Any] | str | Path,
    store: Store | None = None,
    base_dir: str | Path | None = None,
    catalogue: list[Asic] | None = None,
    *,
    chain: dict[str, Any] | None = None,
    inputs: RunInputs | None = None,
) -> PreparedRun:
    """Load a scenario and everything it needs from the catalogue, the store and files.

    Parameters
    ----------
    scenario : a parsed :class:`Scenario`, a scenario mapping (as in YAML or a JSON request
        body; validated by :func:`~hashlens.sim.scenario.parse_scenario`), or a YAML file path
    store : read only when needed (:func:`needs_store`): for the chain state and for the
        bootstrap's returns. Without a store such a scenario gets a one-line error naming the
        field to give instead.
    base_dir : directory a relative ``price.file`` is resolved against; default the scenario
        file's directory, else the working directory
    catalogue : ASIC catalogue for the fleet's efficiencies; default the bundled one
        (:func:`hashlens.economics.asics.load_catalogue`), loaded only for a fleet
    chain : a chain state already read (e.g. cached by a server); skips the store for it
    inputs : efficiencies, returns and price path already read (a sweep's grid points reuse
        the base run's); anything missing is read as above

    Returns
    -------
    :class:`PreparedRun`: ``resolved`` for :func:`hashlens.sim.engine.simulate` and
    :func:`~hashlens.sim.results.summarise`; ``scenario.raw``, ``chain`` and ``inputs`` for
    :func:`hashlens.sim.sweep.run_sweep`.

    Raises
    ------
    HashlensError : one line naming the scenario field or the missing data.
    """
    s, file_dir = _scenario(scenario)
    given = inputs or RunInputs()
    effs = dict(given.efficiencies)
    missing = [(i, g.model) for i, g in enumerate(s.fleet) if g.model not in effs]
    if missing:
        from hashlens.economics.asics import find_model, load_catalogue

        cat = catalogue if catalogue is not None else load_catalogue()
        for i, model in missing:
            effs[model] = find_model(cat, model, f"hashrate.fleet[{i}].model: ").efficiency_j_per_th
    if chain is None and needs_chain(s) and store is not None:
        from hashlens.sim.chain_state import chain_state

        chain = chain_state(store, s.height)
    returns = given.bootstrap_returns
    if s.price_model == "bootstrap" and returns is None:
        if store is None:
            raise HashlensError("price.model bootstrap: resamples the stored USD prices, and no store was given")
        from hashlens.sim.chain_state import daily_log_returns

        returns = daily_log_returns(store)
    path = given.price_path
    if s.price_model == "path" and path is None:
        from hashlens.sources.prices import read_prices

        f = Path(s.price_file or "")
        if not f.is_absolute():
            f = Path(base_dir if base_dir is not None else file_dir or Path.cwd()) / f
        path = [float(p.price) for p in read_prices(f)]
        if not path:
            raise HashlensError(f"price.file: {f} holds no prices")
    s.bootstrap_returns, s.price_path = returns, path
    r = resolve(s, chain, effs.__getitem__)
    return PreparedRun(s, r, chain, RunInputs(effs, returns, path))


@dataclass(frozen=True)
class RunSize:
    """What a run of ``paths`` paths costs, known before anything is allocated.

    ``work`` counts path-steps times the generations stepped (at least one): the engine's
    time grows with it. ``record_bytes`` is the recorded arrays (float32: difficulty, hashrate,
    hashprice, price and one margin per generation at every recorded step), its memory.
    """

    paths: int
    steps: int
    records: int
    generations: int
    work: int
    record_bytes: int


def run_size(s: Scenario, paths: int) -> RunSize:
    """The size of a run of scenario ``s`` with ``paths`` paths (see :class:`RunSize`)."""
    from hashlens.sim.engine import make_plan_counts

    steps, records = make_plan_counts(s)
    generations = len(s.fleet)
    work = paths * steps * max(1, generations)
    return RunSize(paths, steps, records, generations, work, records * paths * (4 + generations) * 4)
