"""Inception Score (Salimans et al. 2016) from class probabilities p(y|x).

    IS = exp( E_x KL(p(y|x) ‖ p(y)) ),   p(y) = E_x p(y|x),

computed on each of ``splits`` consecutive, (nearly) equal parts of the samples (with that part's
own marginal p(y)); returned as (mean, std over the parts, ddof = 0). Salimans et al. use 50,000
samples in 10 splits with Inception-v3's 1,008-way softmax; on MNIST the 10-way softmax of the
in-repo classifier (``MnistClassifierExtractor.probs``) plays that role. Range [1, K]: 1 when every
p(y|x) equals the marginal, K when the predictions are one-hot and spread evenly over K classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import check_int, real_array

ROW_SUM_TOL = 1e-4
"""How far a row of probabilities may sum from 1 (float32 softmax outputs sum to 1 within ~1e-6)."""


def inception_score(probs: Any, splits: int = 10) -> tuple[float, float]:
    """(mean, std) of exp(E KL(p(y|x) ‖ p(y))) over ``splits`` parts of (N, K) probabilities (module docstring).

    >>> round(inception_score(np.eye(4), splits=1)[0], 12)       # one-hot, 4 classes evenly: IS = 4
    4.0
    >>> round(inception_score(np.full((6, 3), 1 / 3), splits=2)[0], 12)
    1.0
    """
    p = real_array(probs, "probs")
    if p.ndim != 2 or p.shape[1] < 1:
        raise ValueError(f"probs must have shape (N, K); got {p.shape}")
    splits = check_int("splits", splits, 1)
    if p.shape[0] < splits:
        raise ValueError(f"need at least splits={splits} samples; got {p.shape[0]}")
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise ValueError("probs must be finite and non-negative")
    worst = float(np.max(np.abs(p.sum(axis=1) - 1.0)))
    if worst > ROW_SUM_TOL:
        raise ValueError(f"each row of probs must sum to 1 (within {ROW_SUM_TOL}); the worst row is off by {worst:.3g} "
                         f"(pass softmax probabilities, not logits)")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(part > 0, part * (np.log(part) - np.log(marginal)), 0.0)  # 0 log 0 = 0
        scores.append(np.exp(terms.sum(axis=1).mean()))
    scores = np.asarray(scores)
    return float(scores.mean()), float(scores.std())
