"""Price paths, the one module both simulators draw BTC prices from.

The scenario simulator (:mod:`hashlens.sim.engine`, driven by a scenario file) moves each
path's price step by step with :func:`gbm_step` and :func:`gbm_log_steps` (or a block bootstrap
of stored returns, or a given path); the calibrated forecast stack (:mod:`hashlens.sim.forecast`
with :mod:`hashlens.sim.hashprice_outlook` and the fleet outlook) draws whole horizons with
:func:`gbm_prices` or :func:`price_paths`. The geometric Brownian motion is written once:

.. math:: \\ln P_{t+Δ} - \\ln P_t = (μ - σ^2/2)\\,Δ + σ\\sqrt{Δ}\\,Z, \\qquad E[P_{t+Δ}] = P_t e^{μΔ}

Price model of the outlooks, chosen by the backtest (711 weekly points 2013-2026): GBM with
zero drift and the volatility of the trailing 365 daily log returns (see
:mod:`hashlens.sim.hashprice_outlook`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from hashlens.errors import HashlensError


def gbm_step(mu: float, sigma: float, step: float, unit: float) -> tuple[float, float]:
    """Log drift and volatility of one GBM step of length ``step`` for a drift ``mu`` and a
    volatility ``sigma`` quoted per ``unit`` of time (a year for the scenarios, a day for the
    outlooks) [-]: ((μ − σ²/2)·Δ, σ·√Δ) with Δ = step/unit."""
    return (mu - 0.5 * sigma**2) * step / unit, sigma * math.sqrt(step / unit)


def gbm_log_steps(z: np.ndarray, drift: float, vol: float) -> np.ndarray:
    """Log price changes of GBM steps from standard normals ``z``: drift + vol·z [-]."""
    out: np.ndarray = drift + vol * z
    return out


@dataclass(frozen=True)
class PriceModel:
    kind: str = "gbm"  # "gbm" or "bootstrap"
    vol_days: int = 365
    block_days: int = 7


DEFAULT_PRICE_MODEL = PriceModel()


def price_history(days: np.ndarray, prices: np.ndarray, as_of: date) -> tuple[np.ndarray, float]:
    """Daily log returns up to the price at 24:00 UTC of ``as_of`` (the stored price of the
    next day), and that price."""
    last = np.datetime64(as_of + timedelta(days=1), "D")
    keep = days <= last
    d, p = days[keep], prices[keep]
    if d.size < 60 or d[-1] != last:
        raise HashlensError(
            f"the hashprice outlook as of {as_of} needs the USD price at its 24:00 UTC and 60 days before"
        )
    consecutive = np.diff(d).astype(int) == 1
    r = np.diff(np.log(p))[consecutive]
    return r, float(p[-1])


def price_paths(
    returns: np.ndarray, p0: float, days_ahead: np.ndarray, paths: int, rng: np.random.Generator, model: PriceModel
) -> np.ndarray:
    """(paths, len(days_ahead)) prices."""
    horizon = int(days_ahead.max())
    r = returns[-model.vol_days :]
    if model.kind == "gbm":
        return gbm_prices(p0, trailing_volatility(returns, model), 0.0, days_ahead, paths, rng)
    else:
        # stationary bootstrap: blocks of geometric length (mean block_days), demeaned returns
        r = r - r.mean()
        starts = rng.integers(0, r.size, (paths, horizon))
        new = rng.random((paths, horizon)) < 1.0 / model.block_days
        new[:, 0] = True
        idx = np.empty((paths, horizon), dtype=np.int64)
        cur = starts[:, 0]
        for k in range(horizon):
            cur = np.where(new[:, k], starts[:, k], (cur + 1) % r.size)
            idx[:, k] = cur
        steps = r[idx]
    cum = np.cumsum(steps, axis=1)
    return p0 * np.exp(cum[:, days_ahead - 1])


def trailing_volatility(returns: np.ndarray, model: PriceModel = DEFAULT_PRICE_MODEL) -> float:
    """Daily volatility of log price: the sample standard deviation of the ``model.vol_days``
    trailing daily log returns [1/day^0.5]."""
    return float(returns[-model.vol_days :].std(ddof=1))


def gbm_prices(
    p0: float, sigma: float, mu: float, days_ahead: np.ndarray, paths: int, rng: np.random.Generator
) -> np.ndarray:
    """(paths, len(days_ahead)) prices of a geometric Brownian motion [USD/BTC].

    .. math:: \\ln P_{d} = \\ln P_0 + \\sum_{k \\le d} \\left(\\mu - \\sigma^2/2 + \\sigma Z_k\\right)

    Parameters
    ----------
    p0 : price at day 0 [USD/BTC]
    sigma : daily volatility of log price [-]; 0 gives the deterministic path p0·e^{μd}
    mu : daily drift of the expected price [1/day]: E[P_d] = p0·e^{μd}
    days_ahead : days whose prices are returned (1 = the first day after day 0)
    paths, rng : number of paths; the generator (one standard normal per path and day drawn)
    """
    horizon = int(days_ahead.max())
    drift, vol = gbm_step(mu, sigma, 1.0, 1.0)
    cum = np.cumsum(gbm_log_steps(rng.standard_normal((paths, horizon)), drift, vol), axis=1)
    return p0 * np.exp(cum[:, days_ahead - 1])
