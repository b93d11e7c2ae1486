"""Hashprice: the expected revenue of a unit of hashrate for one day.

References
----------
.. [1] Luxor Technology, Hashrate Index: "Hashprice" — expected value of 1 PH/s of hashing
   power per day, from network difficulty, block subsidy, transaction fees and BTC price.
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from hashlens.consensus.rate import block_rate, expected_block_rate_per_s
from hashlens.units import SECONDS_PER_DAY

F = TypeVar("F", float, np.ndarray)

PH = 1e15
TH = 1e12


def hashprice_btc(difficulty: Any, reward_btc: Any) -> Any:
    """BTC earned by 1 PH/s in a day at difficulty D and block reward R, as plain arithmetic
    (floats or arrays) [BTC/(PH/s)/day]: λ(10^15 H/s, D) · 86400 · R.

    The one place the formula is written: :func:`hashprice_btc_per_ph_day` calls it, and the
    simulator's numba kernels compile this same function per path.
    """
    return block_rate(PH, difficulty) * SECONDS_PER_DAY * reward_btc


def hashprice_btc_per_ph_day(difficulty: ArrayLike, subsidy_btc: ArrayLike, fees_btc: ArrayLike) -> Any:
    """Expected BTC earned by 1 PH/s over one day.

    .. math:: HP_{BTC} = \\frac{10^{15} \\cdot 86400}{D \\cdot 2^{32}} (s + f)

    Parameters
    ----------
    difficulty : network difficulty D [-]
    subsidy_btc : block subsidy s [BTC/block]
    fees_btc : mean transaction fees per block f [BTC/block] (Luxor: trailing 144 blocks)

    Returns
    -------
    hashprice [BTC/(PH/s)/day]

    Notes
    -----
    D·2^32 is the expected number of hashes per block used by [1]_; the exact expectation,
    2^256/(target+1), is smaller by a factor 1 - 2^-16 (0.0015 %), below any reported digit.
    """
    d = np.asarray(difficulty, dtype=float)
    if np.any(d <= 0):
        raise ValueError("difficulty must be positive")
    out = np.asarray(hashprice_btc(d, np.asarray(subsidy_btc, float) + np.asarray(fees_btc, float)))
    return float(out) if out.ndim == 0 else out


def hashprice_usd_per_ph_day(
    difficulty: ArrayLike, subsidy_btc: ArrayLike, fees_btc: ArrayLike, price_usd: ArrayLike
) -> Any:
    """Hashprice in fiat [USD/(PH/s)/day] = :func:`hashprice_btc_per_ph_day` × price [USD/BTC] [1]_."""
    out = np.asarray(hashprice_btc_per_ph_day(difficulty, subsidy_btc, fees_btc)) * np.asarray(price_usd, float)
    return float(out) if out.ndim == 0 else out


def hashvalue_sats_per_th_day(difficulty: ArrayLike, subsidy_btc: ArrayLike, fees_btc: ArrayLike) -> Any:
    """ "Hashvalue": expected satoshis earned by 1 TH/s per day [sat/(TH/s)/day] = HP_BTC·1e8/1000."""
    out = np.asarray(hashprice_btc_per_ph_day(difficulty, subsidy_btc, fees_btc)) * 1e8 / 1000
    return float(out) if out.ndim == 0 else out


def expected_btc_per_day(hashrate_ths: ArrayLike, difficulty: ArrayLike, reward_btc: ArrayLike) -> Any:
    r"""Expected BTC mined per day by a hashrate at a difficulty and block reward.

    .. math:: BTC_{day} = \frac{H \cdot 10^{12}}{D \cdot 2^{32}} \cdot 86400 \cdot R

    Parameters
    ----------
    hashrate_ths : hashrate H [TH/s]
    difficulty : difficulty D [-]
    reward_btc : block reward R = subsidy + fees [BTC/block]

    Returns
    -------
    expected production [BTC/day]: the block rate of
    :func:`hashlens.consensus.expected_block_rate_per_s` times a day times the reward.
    """
    rate = expected_block_rate_per_s(np.asarray(hashrate_ths, float) * TH, difficulty)
    out = np.asarray(rate) * SECONDS_PER_DAY * np.asarray(reward_btc, float)
    return float(out) if out.ndim == 0 else out
