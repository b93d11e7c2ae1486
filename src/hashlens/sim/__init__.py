"""Monte Carlo simulation of difficulty, hashrate, hashprice and miner margins.

Two stacks, which import nothing of each other:

- the scenario simulator answers "what if" for a scenario file: :mod:`~hashlens.sim.scenario`
  (the file, validated), :mod:`~hashlens.sim.setup` (one set-up for every face),
  :mod:`~hashlens.sim.resolved` (its starting numbers), :mod:`~hashlens.sim.engine` (paths
  stepped in time, Poisson blocks, the exact retarget, the fleet's switch-off),
  :mod:`~hashlens.sim.results` (what a run recorded and its summary), :mod:`~hashlens.sim.kernels` (its step loops over paths, compiled by numba
  from the owners' arithmetic), :mod:`~hashlens.sim.theory`
  (closed forms it is checked against), :mod:`~hashlens.sim.sweep` (grids on Dask) and
  :mod:`~hashlens.sim.report` (fan chart). Its hashrate is what the scenario says.
- the calibrated forecast stack answers "what next" from the chain: :mod:`~hashlens.sim.forecast`
  (the hashrate model fitted to the chain's periods, its paths and the adjustment forecast),
  :mod:`~hashlens.sim.backtest` (its walk-forward scores and track record),
  :mod:`~hashlens.sim.hashprice_outlook` and the fleet outlook (:mod:`~hashlens.sim.fleet_outlook`
  and its ``outlook_*`` parts). Its hashrate is fitted, never given.

Both draw BTC prices from the one price-path module, :mod:`~hashlens.sim.prices`.
"""
