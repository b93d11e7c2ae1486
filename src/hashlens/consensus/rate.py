"""Hashes, blocks and time: the expected-block rate of a hashrate at a difficulty, and back.

Proof of work makes a hash succeed with probability (target + 1)/2^256. At difficulty
D = target(0x1d00ffff)/target that is 1/(D·2^32·(1 + 2^-16)), so one block takes D·2^32 hashes
on average to within 0.0015 % — the convention of Bitcoin Core's ``getnetworkhashps``'s
users, mempool.space and Luxor's hashprice. :func:`hashlens.consensus.block_work` is the exact
count; these functions are the one place the D·2^32 convention is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

#: Expected hashes per block per unit of difficulty (the D·2^32 convention) [hashes].
HASHES_PER_DIFFICULTY = float(2**32)


def _out(x: np.ndarray) -> Any:
    return float(x) if x.ndim == 0 else x


def block_rate(hashrate_hs: Any, difficulty: Any) -> Any:
    """λ = H/(D·2^32) as plain arithmetic: floats or float arrays in, the same out [blocks/s].

    The one place the formula is written. :func:`expected_block_rate_per_s` calls it on arrays;
    the simulator's numba kernels compile this same function (``numba.extending.register_jitable``)
    and call it per path, so both give the same bits.
    """
    return hashrate_hs / (difficulty * HASHES_PER_DIFFICULTY)


def expected_block_rate_per_s(hashrate_hs: ArrayLike, difficulty: ArrayLike) -> Any:
    """Expected blocks found per second by ``hashrate_hs`` at ``difficulty``.

    .. math:: \\lambda = \\frac{H}{D \\cdot 2^{32}}

    Parameters
    ----------
    hashrate_hs : hashrate H [H/s]
    difficulty : difficulty D [-]

    Returns
    -------
    block rate λ [blocks/s]; a Poisson process while H and D are constant.

    References
    ----------
    .. [1] Nakamoto (2008), section 11; Bitcoin Core ``GetDifficulty`` for D.
    """
    return _out(np.asarray(block_rate(np.asarray(hashrate_hs, dtype=float), np.asarray(difficulty, dtype=float))))


def hashrate_hs_for_block_rate(block_rate_per_s: ArrayLike, difficulty: ArrayLike) -> Any:
    """Hashrate that finds blocks at a given rate, the inverse of :func:`expected_block_rate_per_s`.

    .. math:: H = \\lambda \\cdot D \\cdot 2^{32}

    Parameters
    ----------
    block_rate_per_s : block rate λ [blocks/s]
    difficulty : difficulty D [-]

    Returns
    -------
    hashrate H [H/s]

    References
    ----------
    .. [1] Bitcoin Core ``rpc/mining.cpp: GetNetworkHashPS`` (work over time).
    """
    return _out(np.asarray(block_rate_per_s, dtype=float) * np.asarray(difficulty, dtype=float) * HASHES_PER_DIFFICULTY)


def expected_blocks(hashrate_hs: ArrayLike, difficulty: ArrayLike, seconds: ArrayLike) -> Any:
    """Expected blocks found by a hashrate at a difficulty in a time.

    .. math:: E[n] = \\lambda t = \\frac{H t}{D \\cdot 2^{32}}

    Parameters
    ----------
    hashrate_hs : H [H/s]; difficulty : D [-]; seconds : t [s]

    Returns
    -------
    expected block count [blocks]; the count is Poisson with this mean while H and D hold.
    """
    return _out(np.asarray(expected_block_rate_per_s(hashrate_hs, difficulty)) * np.asarray(seconds, dtype=float))
