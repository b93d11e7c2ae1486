"""The retarget rule for many paths at once (numpy), bit-exact with :mod:`hashlens.consensus.retarget`.

A compact target is m·256^(e-3). The new target is floor(m·256^(e-3)·τ/T); only its top three
bytes survive compact encoding, and because flooring twice equals flooring once,

.. math:: \\left\\lfloor \\frac{\\mathrm{new}}{256^{k}} \\right\\rfloor
          = \\left\\lfloor \\frac{m \\, τ \\, 256^{e-3-k}}{T} \\right\\rfloor

so with e-3-k = 2 everything fits a 64-bit integer (m < 2^23, τ < 2^23) and the encoded bits
equal :func:`hashlens.consensus.calculate_next_work_required` exactly (the tests compare them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hashlens.consensus.params import POW_TARGET_TIMESPAN

T = POW_TARGET_TIMESPAN
MIN_SPAN, MAX_SPAN = T // 4, T * 4
POW_LIMIT_BYTES = 28  # powLimit = 2^224 - 1: any target of 29 significant bytes is above it


def retarget_bits(mantissa: Any, exponent: Any, tau: Any) -> tuple[Any, Any]:
    """New (mantissa, exponent) from the old bits and the integer timespan ``tau`` [s], as plain
    integer arithmetic: int64 scalars or int64 arrays in, the same out.

    The one place the rule is written for the simulator: :func:`retarget` calls it on arrays
    and the numba kernels compile this same function per path. Every branch is arithmetic
    (no ``if`` on a value), so arrays and scalars take the same steps.
    """
    tau = np.minimum(np.maximum(tau, MIN_SPAN), MAX_SPAN)
    v = (mantissa * tau * 65536) // T  # new target / 256^(e-5), floored; below 2^62
    size = 0  # significant bytes of v
    for k in range(8):
        size = size + (v >= (1 << (8 * k)))
    total = size + exponent - 5
    capped = total > POW_LIMIT_BYTES  # judged on the value's own length, before sign padding
    shift = 8 * (size - 3)
    m = (v >> np.maximum(shift, 0)) << np.maximum(-shift, 0)
    over = (m & 0x00800000) != 0  # the sign bit would be set: one more byte
    m = m >> (8 * over)
    total = total + over
    return m * (1 - capped) + 0x00FFFF * capped, total * (1 - capped) + 0x1D * capped


def retarget(mantissa: np.ndarray, exponent: np.ndarray, timespan_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New (mantissa, exponent) for each path from its old bits and raw timespan [s]
    (:func:`retarget_bits` on int64 arrays)."""
    m, e = retarget_bits(
        np.asarray(mantissa, dtype=np.int64), np.asarray(exponent, dtype=np.int64), timespan_s.astype(np.int64)
    )
    return np.asarray(m, dtype=np.int64), np.asarray(e, dtype=np.int64)


def difficulty(mantissa: Any, exponent: Any) -> Any:
    """Core's GetDifficulty for each path: 0xffff/m · 256^(29-e) [-]; plain arithmetic (arrays
    or scalars), compiled as is by the simulator's numba kernels."""
    return 65535.0 / mantissa * np.power(256.0, 29 - exponent)


def change_pct(old_difficulty: Any, new_difficulty: Any) -> Any:
    """(D_new/D_old − 1)·100 as plain arithmetic (floats or arrays) [%]; the one place it is
    written: :func:`difficulty_change_pct` calls it, the numba kernels compile it."""
    return (new_difficulty / old_difficulty - 1.0) * 100.0


def difficulty_change_pct(old_difficulty: ArrayLike, new_difficulty: ArrayLike) -> Any:
    """Relative change of difficulty at a retarget [%].

    .. math:: \\Delta = \\left(\\frac{D_{new}}{D_{old}} - 1\\right) \\cdot 100

    Parameters
    ----------
    old_difficulty : difficulty D_old of the period that ends [-]
    new_difficulty : difficulty D_new of the period that begins [-]

    Returns
    -------
    change [%]; positive when mining gets harder. A float for scalar input, else an array.
    Equal to (T_old/T_new − 1)·100 for the targets T, since D ∝ 1/T; it is the figure
    mempool.space and Bitcoin Core users quote per adjustment.
    """
    out = np.asarray(change_pct(np.asarray(old_difficulty, dtype=float), np.asarray(new_difficulty, dtype=float)))
    return float(out) if out.ndim == 0 else out


def split_bits(bits: int) -> tuple[int, int]:
    return bits & 0x007FFFFF, bits >> 24
