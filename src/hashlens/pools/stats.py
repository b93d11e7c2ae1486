"""The arithmetic of pool figures: pure vectorised functions, one owner each.

Exact distributions are computed here without a SciPy dependency: binomial and Poisson tails
as sums of their terms (:func:`binom_tail`, :func:`poisson_tail`: the far tail summed from k
outwards, all tails in one ragged numpy pass), the binomial ones inverted by a bracketed Newton
iteration for the Clopper–Pearson bounds; to about 1e-12 relative.

References
----------
.. [1] Clopper, C. J. & Pearson, E. S. (1934), "The use of confidence or fiducial limits
   illustrated in the case of the binomial", Biometrika 26:404-413.
.. [2] Holm, S. (1979), "A simple sequentially rejective multiple test procedure",
   Scand. J. Statist. 6:65-70. Benjamini, Y. & Hochberg, Y. (1995), JRSS B 57:289-300.
.. [3] Herfindahl–Hirschman index: U.S. DoJ/FTC Merger Guidelines (2023), §2.1.
.. [4] Srinivasan, B. & Lee, L. (2017), "Quantifying decentralization" (the Nakamoto
   coefficient).
.. [5] Feller, W. (1968), An Introduction to Probability Theory, vol. 1, XIII.7 (success
   runs).
.. [6] Efron, B. & Tibshirani, R. (1993), An Introduction to the Bootstrap, ch. 13
   (percentile intervals).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

_lgamma = np.frompyfunc(math.lgamma, 1, 1)


def _lg(x: np.ndarray) -> np.ndarray:
    return np.asarray(_lgamma(x), dtype=float)


def _out(x: np.ndarray) -> Any:
    return float(x) if np.ndim(x) == 0 else x


# -- special functions -------------------------------------------------------------------------------
def binom_tail(k: ArrayLike, n: ArrayLike, p: ArrayLike, upper: ArrayLike) -> Any:
    """A binomial tail, exactly: P(X ≥ k) where ``upper`` else P(X ≤ k), X ~ Binomial(n, p).

    The probabilities of the tail's terms are summed from k outwards, each term from the last
    by the ratio of binomial probabilities (one log-gamma per tail), in log space, for as many
    terms as the tail has above 1e-17 of its first (k lies beyond the mean on the tail's side
    wherever this is used: the Clopper–Pearson bounds). All tails are summed in one pass over a
    ragged array, so the cost does not grow with the number of Python steps.

    Parameters
    ----------
    k, n : whole numbers, 0 ≤ k ≤ n [-]; p : success probability in (0, 1) [-]
    upper : True for P(X ≥ k), False for P(X ≤ k)
    """
    k_, n_, p_, up = (
        np.asarray(v)
        for v in np.broadcast_arrays(
            np.asarray(k, dtype=float),
            np.asarray(n, dtype=float),
            np.asarray(p, dtype=float),
            np.asarray(upper, dtype=bool),
        )
    )
    shape = k_.shape
    k_, n_, p_, up = k_.ravel(), n_.ravel(), np.clip(p_.ravel(), 1e-300, 1 - 1e-16), up.ravel()
    sd = np.sqrt(n_ * p_ * (1 - p_))
    room = np.where(up, n_ - k_ + 1, k_ + 1)
    width = np.minimum(room, np.ceil(9 * sd + 24)).astype(np.int64)
    first = _lg(n_ + 1) - _lg(k_ + 1) - _lg(n_ - k_ + 1) + k_ * np.log(p_) + (n_ - k_) * np.log1p(-p_)
    starts = np.concatenate([[0], np.cumsum(width)[:-1]])
    total = int(width.sum())
    seg = np.repeat(np.arange(k_.size), width)
    step = np.arange(total) - np.repeat(starts, width)  # 0, 1, … within each tail
    j = np.repeat(k_, width) + np.where(np.repeat(up, width), step, -step)  # the term's count
    nn, pp, uu = np.repeat(n_, width), np.repeat(p_, width), np.repeat(up, width)
    # log of the ratio of term t to term t − 1 (0 for the first term of each tail)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            uu,
            np.log(nn - j + 1) - np.log(j) + np.log(pp) - np.log1p(-pp),
            np.log(j + 1) - np.log(nn - j) + np.log1p(-pp) - np.log(pp),
        )
    ratio[starts] = 0.0
    ratio = np.where(np.isfinite(ratio), ratio, -np.inf)
    csum = np.cumsum(ratio)
    csum -= np.repeat(csum[starts] - ratio[starts], width)
    terms = np.exp(np.repeat(first, width) + csum)
    out = np.add.reduceat(terms, starts) if total else np.zeros(k_.size)
    del seg
    return _out(np.minimum(out, 1.0).reshape(shape))


def _cp_solve(k: np.ndarray, n: np.ndarray, target: float, upper: np.ndarray) -> np.ndarray:
    """The p at which a binomial tail equals ``target``: P(X ≥ k; n, p) where ``upper``, else
    P(X ≤ k; n, p); by Newton's method from Wilson's score bound inside a bisection bracket,
    each element until the tail is within 1e-11·target of it (the sum's own rounding is about
    1e-13) or the step is below 1e-14 of p. Both bounds of many shares are solved together."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - target)
    phat = k / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    x = np.clip(np.where(upper, centre - half, centre + half), 1e-12, 1 - 1e-12)
    lo, hi = np.zeros(k.shape), np.ones(k.shape)
    lnc = _lg(n + 1) - np.where(upper, _lg(np.maximum(k, 1)) + _lg(n - k + 1), _lg(k + 1) + _lg(np.maximum(n - k, 1)))
    active = np.arange(k.size)
    for _ in range(100):
        if not active.size:
            break
        ka, na, xa, ua = k[active], n[active], x[active], upper[active]
        f = np.asarray(binom_tail(ka, na, xa, ua), dtype=float) - target
        # P(X >= k) rises with p; P(X <= k) falls.
        below = np.where(ua, f < 0, f > 0)
        lo[active] = np.where(below, xa, lo[active])
        hi[active] = np.where(below, hi[active], xa)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
            # d/dp P(X >= k) = n C(n-1, k-1) p^(k-1) (1-p)^(n-k); d/dp P(X <= k) = -n C(n-1, k) p^k (1-p)^(n-k-1)
            slope = np.where(
                ua,
                np.exp(lnc[active] + (ka - 1) * np.log(xa) + (na - ka) * np.log1p(-xa)),
                -np.exp(lnc[active] + ka * np.log(xa) + (na - ka - 1) * np.log1p(-xa)),
            )
            newton = xa - f / slope
        la, ha = lo[active], hi[active]
        ok = np.isfinite(newton) & (newton > la) & (newton < ha)
        x[active] = np.where(ok, newton, 0.5 * (la + ha))
        done = (np.abs(f) <= 1e-11 * target) | (ha - la <= 4e-16 * np.maximum(xa, 1e-300))
        done |= ok & (np.abs(newton - xa) <= 1e-14 * xa)
        x[active[done]] = np.where(ok[done], newton[done], xa[done])
        active = active[~done]
    return x


def poisson_tail(k: ArrayLike, mu: ArrayLike, upper: ArrayLike) -> Any:
    """A Poisson tail, exactly: P(X ≥ k) where ``upper`` else P(X ≤ k), X ~ Poisson(μ).

    Summed term by term from k outwards as :func:`binom_tail` sums (each term from the last by
    the ratio μ/j or j/μ, in log space, in one ragged pass over all tails), for the tail on the
    far side of the mean; the near one is 1 − the far one (including k's own term).
    """
    k_, mu_, up = (
        np.asarray(v)
        for v in np.broadcast_arrays(
            np.asarray(k, dtype=float), np.asarray(mu, dtype=float), np.asarray(upper, dtype=bool)
        )
    )
    shape = k_.shape
    k_, mu_, up = k_.ravel(), np.maximum(mu_.ravel(), 1e-300), up.ravel()
    far_up = k_ >= mu_  # the far tail of k is the upper one
    sd = np.sqrt(mu_)
    width = np.where(far_up, np.ceil(9 * sd + 24), np.minimum(k_ + 1, np.ceil(9 * sd + 24))).astype(np.int64)
    first = k_ * np.log(mu_) - mu_ - _lg(k_ + 1)  # log P(X = k)
    starts = np.concatenate([[0], np.cumsum(width)[:-1]])
    total = int(width.sum())
    step = np.arange(total) - np.repeat(starts, width)
    fu = np.repeat(far_up, width)
    j = np.repeat(k_, width) + np.where(fu, step, -step)
    mm = np.repeat(mu_, width)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(fu, np.log(mm) - np.log(j), np.log(j + 1) - np.log(mm))
    ratio[starts] = 0.0
    ratio = np.where(np.isfinite(ratio), ratio, -np.inf)
    csum = np.cumsum(ratio)
    csum -= np.repeat(csum[starts] - ratio[starts], width)
    far = (
        np.minimum(np.add.reduceat(np.exp(np.repeat(first, width) + csum), starts), 1.0) if total else np.zeros(k_.size)
    )
    own = np.exp(first)
    out = np.where(up == far_up, far, 1.0 - far + own)
    out = np.where(k_ < 0, np.where(up, 1.0, 0.0), np.clip(out, 0.0, 1.0))
    out = np.where(up & (k_ <= 0), 1.0, out)
    return _out(out.reshape(shape))


# -- binomial: a share and its exact interval ---------------------------------------------------------
def share(blocks: ArrayLike, total: ArrayLike) -> Any:
    """Share of blocks k/n [0-1] (NaN where n = 0)."""
    k, n = np.asarray(blocks, dtype=float), np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(np.where(n > 0, k / n, np.nan))


def clopper_pearson(blocks: ArrayLike, total: ArrayLike, level: float = 0.95) -> tuple[Any, Any]:
    """Exact (Clopper–Pearson) interval of a binomial share k/n [0-1].

    .. math:: p_{lo} = B^{-1}\\!\\left(\\tfrac{\\alpha}{2};\\,k,\\,n-k+1\\right), \\qquad
              p_{hi} = B^{-1}\\!\\left(1-\\tfrac{\\alpha}{2};\\,k+1,\\,n-k\\right)

    with B⁻¹ the beta quantile, p_lo = 0 at k = 0 and p_hi = 1 at k = n: the shares p at which
    observing k or more (k or fewer) of n blocks has probability α/2 [1]_, found here by solving
    the binomial tails themselves (:func:`binom_tail`, the identity P(X ≥ k; n, p) =
    I_p(k, n − k + 1)). Its coverage is at least ``level`` for every true share.

    Parameters
    ----------
    blocks : k, blocks found by the pool [-]
    total : n, blocks in the window [-]
    level : confidence level 1 − α [-]

    Returns
    -------
    (low, high) shares [0-1]
    """
    k, n = (np.array(v, dtype=float) for v in np.broadcast_arrays(np.asarray(blocks, float), np.asarray(total, float)))
    shape = k.shape
    k, n = k.ravel(), n.ravel()
    alpha = 1.0 - level
    lo = np.zeros(k.shape)
    hi = np.ones(k.shape)
    m_lo, m_hi = (k > 0) & (n > 0), (k < n) & (n > 0)
    both_k = np.concatenate([k[m_lo], k[m_hi]])
    both_n = np.concatenate([n[m_lo], n[m_hi]])
    upper = np.concatenate([np.ones(int(m_lo.sum()), dtype=bool), np.zeros(int(m_hi.sum()), dtype=bool)])
    if both_k.size:
        x = _cp_solve(both_k, both_n, alpha / 2, upper)
        lo[m_lo], hi[m_hi] = x[: int(m_lo.sum())], x[int(m_lo.sum()) :]
    empty = n <= 0
    lo[empty], hi[empty] = np.nan, np.nan
    return _out(lo.reshape(shape)), _out(hi.reshape(shape))


# -- a pool's hashrate: share × network hashrate -------------------------------------------------------
def pool_hashrate_ehs(
    share_value: ArrayLike,
    share_low: ArrayLike,
    share_high: ArrayLike,
    network_ehs: float,
    network_low_ehs: float,
    network_high_ehs: float,
) -> tuple[Any, Any, Any]:
    """A pool's hashrate from its share and the network's hashrate, with both uncertainties.

    .. math:: \\hat h = \\hat s\\,\\hat H, \\qquad
              h_{lo} = \\hat h\\,\\exp\\!\\left(-\\sqrt{\\ln^2(\\hat s/s_{lo}) + \\ln^2(\\hat H/H_{lo})}\\right)

    (and likewise above): the half-widths of the two intervals on the log scale, added in
    quadrature. That treats the share and the network rate as independent, which holds to first
    order when both come from one window's blocks: under Poisson thinning the count k of a pool
    and the total n give var ln ŝ ≈ (1 − s)/k and var ln n ≈ 1/n, whose sum is exactly 1/k, the
    variance of the pool's own count (checked in ``tests/test_pools_stats.py``). A share of 0
    gives 0 … the upper bound.

    Parameters
    ----------
    share_value, share_low, share_high : the share and its interval [0-1]
    network_ehs, network_low_ehs, network_high_ehs : the network hashrate and its interval [EH/s]

    Returns
    -------
    (hashrate, low, high) [EH/s]
    """
    s, s_lo, s_hi = (np.asarray(v, dtype=float) for v in (share_value, share_low, share_high))
    h = s * network_ehs
    b_lo = math.log(network_ehs / network_low_ehs)
    b_hi = math.log(network_high_ehs / network_ehs)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a_lo = np.log(s / s_lo)
        a_hi = np.log(s_hi / s)
        lo = np.where((s > 0) & (s_lo > 0), h * np.exp(-np.sqrt(a_lo**2 + b_lo**2)), 0.0)
        hi = np.where(s > 0, h * np.exp(np.sqrt(a_hi**2 + b_hi**2)), s_hi * network_high_ehs)
    return _out(h), _out(lo), _out(hi)


# -- concentration ----------------------------------------------------------------------------------
def concentration(counts: ArrayLike, total: ArrayLike | None = None) -> dict[str, Any]:
    """Top-1 and top-3 share, HHI and Nakamoto coefficient of block counts per pool.

    Parameters
    ----------
    counts : blocks per identified pool, along the last axis (one row per replicate or window)
    total : all blocks in the window, unidentified ones included (default: the sum of
        ``counts``); unidentified blocks count in the total but as no pool, i.e. as spread
        over many small miners (the lower bound of concentration)

    Returns
    -------
    ``top1``, ``top3`` [0-1]: the largest and three largest shares; ``hhi`` [0-1]: Σ sᵢ²
    (×10,000 on the antitrust scale, where above 0.18 is "highly concentrated") [3]_;
    ``nakamoto``: the fewest pools whose shares add to more than 50 % (0 when no set of
    identified pools does) [4]_.
    """
    c = np.asarray(counts, dtype=float)
    n = c.sum(axis=-1) if total is None else np.asarray(total, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = c / np.expand_dims(n, -1)
    srt = -np.sort(-s, axis=-1)
    cum = np.cumsum(srt, axis=-1)
    over = cum > 0.5
    nak = np.where(over.any(axis=-1), over.argmax(axis=-1) + 1, 0)
    return {
        "top1": _out(srt[..., 0] if srt.shape[-1] else np.zeros(srt.shape[:-1])),
        "top3": _out(cum[..., min(2, srt.shape[-1] - 1)] if srt.shape[-1] else np.zeros(srt.shape[:-1])),
        "hhi": _out((s**2).sum(axis=-1)),
        "nakamoto": _out(nak),
    }


def bootstrap_concentration(
    counts: ArrayLike, total: int, replicates: int = 2000, level: float = 0.95, seed: int = 1
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of :func:`concentration` [6]_.

    The window's blocks are resampled with replacement: a multinomial draw of ``total`` blocks
    over the pools' shares and the unidentified rest (the same as resampling the blocks one by
    one), ``replicates`` times with a seeded generator.

    Returns
    -------
    {metric: (low, high)} at ``level``.
    """
    c = np.asarray(counts, dtype=float)
    probs = np.append(c, max(total - c.sum(), 0.0)) / total
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(int(total), probs / probs.sum(), size=replicates)[:, :-1]
    reps = concentration(draws, np.full(replicates, float(total)))
    a = (1 - level) / 2
    return {k: (float(np.quantile(v, a)), float(np.quantile(v, 1 - a))) for k, v in reps.items()}


# -- luck: blocks found against blocks expected ----------------------------------------------------
def poisson_cdf(k: ArrayLike, mu: ArrayLike) -> Any:
    """P(X ≤ k) for X ~ Poisson(μ) (:func:`poisson_tail`)."""
    return poisson_tail(k, mu, False)


def poisson_sf(k: ArrayLike, mu: ArrayLike) -> Any:
    """P(X ≥ k) for X ~ Poisson(μ) (:func:`poisson_tail`)."""
    return poisson_tail(k, mu, True)


def luck(found: ArrayLike, expected: ArrayLike) -> dict[str, Any]:
    """Luck of pools: blocks found k against the Poisson mean μ expected.

    Returns
    -------
    ``luck`` [-]: k/μ (1 = as expected); ``p_low`` = P(X ≤ k), ``p_high`` = P(X ≥ k) for
    X ~ Poisson(μ), exact; ``p_two_sided`` = min(1, 2·min(p_low, p_high)), the doubled tail,
    which never falls below either one-sided p.
    """
    k = np.asarray(found, dtype=float)
    mu = np.asarray(expected, dtype=float)
    p_low = np.asarray(poisson_cdf(k, mu), dtype=float)
    p_high = np.asarray(poisson_sf(k, mu), dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(mu > 0, k / mu, np.nan)
    return {
        "luck": _out(ratio),
        "p_low": _out(p_low),
        "p_high": _out(p_high),
        "p_two_sided": _out(np.minimum(1.0, 2.0 * np.minimum(p_low, p_high))),
    }


def holm(p_values: ArrayLike) -> Any:
    """Holm's step-down adjusted p-values [2]_: family-wise error control under any dependence.

    .. math:: \\tilde p_{(i)} = \\max_{j \\le i} \\min\\{1, (m - j + 1)\\, p_{(j)}\\}

    The correction hashlens applies across pools: the pools' counts in a window share one
    total, so they are negatively dependent, outside the positive dependence under which
    Benjamini–Hochberg is proven; Holm needs no assumption on dependence, and a flag on any
    pool then carries the stated error rate for the whole table.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p_values: ArrayLike) -> Any:
    """Benjamini–Hochberg adjusted p-values (false discovery rate) [2]_, for comparison.

    .. math:: \\tilde p_{(i)} = \\min_{j \\ge i} \\min\\{1, m\\,p_{(j)}/j\\}
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = m * p[order] / np.arange(1, m + 1)
    adj = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    out = np.empty(m)
    out[order] = adj
    return out


# -- runs -------------------------------------------------------------------------------------------
def longest_runs(codes: ArrayLike, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """The longest run of consecutive equal codes for each code, and where it ends.

    Parameters
    ----------
    codes : one code per block, in height order (-1: not a pool, ends any run)
    n_codes : number of codes

    Returns
    -------
    (length, end index) per code [blocks, -]; length 0 and end -1 for a code never seen.
    """
    c = np.asarray(codes, dtype=np.int64)
    best = np.zeros(n_codes, dtype=np.int64)
    end = np.full(n_codes, -1, dtype=np.int64)
    if c.size == 0:
        return best, end
    change = np.flatnonzero(np.diff(c) != 0) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [c.size]])
    lengths = stops - starts
    vals = c[starts]
    keep = vals >= 0
    vals, lengths, stops = vals[keep], lengths[keep], stops[keep]
    # The longest run per code: sort by (code, length) and take each code's last.
    order = np.lexsort((lengths, vals))
    last = np.flatnonzero(np.diff(np.append(vals[order], -1)) != 0)
    idx = order[last]
    best[vals[idx]] = lengths[idx]
    end[vals[idx]] = stops[idx] - 1
    return best, end


def prob_run_at_least(blocks: int, run: int, p: ArrayLike) -> Any:
    """Probability of at least one run of ``run`` or more consecutive successes in ``blocks``
    independent trials of success probability p (exact) [5]_.

    A Markov chain on the length of the current run (0 … run − 1, and "a run of ``run`` seen",
    which absorbs), its transition matrix raised to the power ``blocks`` by repeated squaring.

    Parameters
    ----------
    blocks : trials n [blocks]; run : L [blocks]; p : success probability per trial [0-1]

    Returns
    -------
    P(longest run ≥ L) [0-1]
    """
    ps = np.atleast_1d(np.asarray(p, dtype=float))
    out = np.empty(ps.shape)
    if run <= 0:
        out[:] = 1.0
        return _out(out.reshape(np.shape(p)))
    for i, pi in enumerate(ps.ravel()):
        t = np.zeros((run + 1, run + 1))
        t[np.arange(run), 0] = 1.0 - pi
        t[np.arange(run), np.arange(1, run + 1)] = pi
        t[run, run] = 1.0
        out.ravel()[i] = np.linalg.matrix_power(t, int(blocks))[0, run] if blocks >= run else 0.0
    return _out(np.clip(out, 0.0, 1.0).reshape(np.shape(p)))
