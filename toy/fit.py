"""Gaussian-mixture fit of 1D generator samples (EM), so the analytic layer can score a trained generator.

A trained generator's law Q_θ has no closed form; fitting a K-component 1D Gaussian mixture Q̂ to
its samples by maximum likelihood (EM; Dempster, Laird & Rubin 1977; Bishop 2006, §9.2) gives a
Q̂ on which ``divergences`` computes JSD(P, Q̂), W1(P, Q̂) and the closed-form D* exactly. The
fit, not the integral, is the approximation: its error is that of a K-component MLE on n samples.

EM in log space (responsibilities by log-sum-exp), vectorised over seeds: for samples x_{s,i},

    r_{s,i,k} = softmax_k(log w_{s,k} + log N(x_{s,i}; μ_{s,k}, σ²_{s,k}))
    w_{s,k} = mean_i r,   μ_{s,k} = Σ_i r x / Σ_i r,   σ²_{s,k} = Σ_i r (x − μ)² / Σ_i r + floor

started from the k/(K+1) quantiles with the overall variance; ``var_floor`` (default 1e-6 times
the sample variance, at least 1e-12) keeps a collapsed component finite (a point mass would make
D* and the divergences degenerate). Stops after ``iterations`` steps or when the mean
log-likelihood changes by less than ``tol``.
"""

from __future__ import annotations

import numpy as np

from divergences import GaussianMixture


def _logsumexp_last(a: np.ndarray) -> np.ndarray:
    """log Σ_k exp(a_k) over the last axis (kept), as ``scipy.special.logsumexp`` computes it (entries finite or
    −inf): with M the maximum and m the number of entries equal to it, M + log m + log1p(Σ_{a_k < M} exp(a_k − M) / m).

    Computed on the K columns laid out contiguously (reductions over a short last axis are numpy's slow case): the
    maximum and the count are exact, and numpy adds fewer than 8 terms in order, so for K < 8 (the fits here use
    K = 2) the result equals scipy's bit for bit (tested); from K = 8 numpy's pairwise sum orders the terms
    differently and the two may differ in the last bit. Not :func:`divergences._numerics.logsumexp`: that one takes
    ``logaddexp`` for two terms and differs from scipy's in the last bits, so the committed fits would change."""
    cols = np.ascontiguousarray(np.moveaxis(a, -1, 0))  # (K, ...)
    top = np.maximum.reduce(cols, axis=0)
    is_top = cols == top
    m = np.add.reduce(is_top, axis=0, dtype=a.dtype)
    shift = np.where(np.isfinite(top), top, 0.0)  # a row of −inf: s = 0 and the result −inf, as scipy's
    s = np.add.reduce(np.exp(np.where(is_top, -np.inf, cols) - shift), axis=0)
    s = np.where(s == 0, s, s / m)
    return (np.log1p(s) + np.log(m) + top)[..., None]


def fit_mixture_1d(samples: np.ndarray, k: int = 2, iterations: int = 200, tol: float = 1e-8,
                   var_floor: float | None = None) -> list[GaussianMixture]:
    """Fit a K-component 1D Gaussian mixture to each row of ``samples`` (S, n) (or one sample (n,)).

    Returns S mixtures. Raises ValueError for non-finite samples (fit only the finite seeds), k < 1
    or fewer than k samples per row.

    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(-3, 0.5, 4000), rng.normal(2, 1.0, 6000)])
    >>> (Q,) = fit_mixture_1d(x, k=2)
    >>> np.round(Q.weights, 2).tolist(), np.round(Q.means[:, 0], 1).tolist()
    ([0.4, 0.6], [-3.0, 2.0])
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"samples must have shape (n,) or (S, n); got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("samples contain NaN or inf; fit only the seeds whose samples are finite")
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer; got {k!r}")
    S, n = x.shape
    if n < k:
        raise ValueError(f"need at least k = {k} samples per row; got {n}")
    var_all = x.var(axis=1, keepdims=True)  # (S, 1)
    floor = np.maximum(1e-6 * var_all, 1e-12) if var_floor is None else np.full((S, 1), float(var_floor))
    mu = np.quantile(x, np.arange(1, k + 1) / (k + 1), axis=1).T  # (S, k)
    var = np.repeat(np.maximum(var_all, floor), k, axis=1)
    logw = np.full((S, k), -np.log(k))
    prev = -np.inf
    sq = (x[:, :, None] - mu[:, None, :]) ** 2  # (S, n, k), at the current means
    for _ in range(iterations):
        logp = logw[:, None, :] - 0.5 * (np.log(2 * np.pi * var)[:, None, :] + sq / var[:, None, :])  # (S, n, k)
        norm = _logsumexp_last(logp)
        r = np.exp(logp - norm)
        nk = r.sum(axis=1) + 1e-300  # (S, k)
        logw = np.log(nk / n)
        mu = np.einsum("snk,sn->sk", r, x) / nk
        sq = (x[:, :, None] - mu[:, None, :]) ** 2
        var = np.einsum("snk,snk->sk", r, sq) / nk + floor
        ll = float(norm.mean())
        if abs(ll - prev) < tol:
            break
        prev = ll
    w = np.exp(logw)
    w /= w.sum(axis=1, keepdims=True)
    return [GaussianMixture(w[s], mu[s][:, None], var[s][:, None, None]) for s in range(S)]
