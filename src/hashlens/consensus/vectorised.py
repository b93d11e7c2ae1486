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


def _byte_length(v: np.ndarray) -> np.ndarray:
    """Significant bytes of positive int64 values."""
    bits = np.floor(np.log2(np.maximum(v, 1).astype(np.float64))).astype(np.int64) + 1
    # log2 of large int64 may round up at exact powers of two: correct by checking.
    bits = np.where((v >> np.clip(bits - 1, 0, 62)) == 0, bits - 1, bits)
    bits = np.where((bits < 63) & ((v >> np.clip(bits, 0, 62)) > 0), bits + 1, bits)
    size: np.ndarray = (bits + 7) // 8
    return size


def retarget(mantissa: np.ndarray, exponent: np.ndarray, timespan_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """New (mantissa, exponent) for each path from its old bits and raw timespan [s]."""
    tau = np.clip(timespan_s.astype(np.int64), MIN_SPAN, MAX_SPAN)
    v = (mantissa.astype(np.int64) * tau * 65536) // T  # new target / 256^(e-5), floored
    size = _byte_length(v)
    total = size + exponent - 5
    capped = total > POW_LIMIT_BYTES  # judged on the value's own length, before sign padding
    shift = 8 * (size - 3)
    m = np.where(shift >= 0, v >> np.maximum(shift, 0), v << np.maximum(-shift, 0))
    over = (m & 0x00800000) != 0
    m = np.where(over, m >> 8, m)
    total = np.where(over, total + 1, total)
    return np.where(capped, 0x00FFFF, m), np.where(capped, 0x1D, total)


def difficulty(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """Core's GetDifficulty for each path: 0xffff/m · 256^(29-e) [-]."""
    value: np.ndarray = 65535.0 / mantissa * np.power(256.0, 29 - exponent)
    return value


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
    out = (np.asarray(new_difficulty, dtype=float) / np.asarray(old_difficulty, dtype=float) - 1.0) * 100.0
    return float(out) if out.ndim == 0 else out


def split_bits(bits: int) -> tuple[int, int]:
    return bits & 0x007FFFFF, bits >> 24
