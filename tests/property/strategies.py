"""Hypothesis strategies for Gaussian mixtures.

Every range is bounded so that each drawn case is numerically benign (no component weight
below ~5 %, no standard deviation below 0.2, means within a few dozen σ of each other) but
varied: 1-3 components in 1D, 1-2 in 2D with diagonal or mildly correlated covariances.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from divergences import GaussianMixture

MEAN_1D = (-5.0, 5.0)
STD_1D = (0.2, 2.0)
MEAN_2D = (-3.0, 3.0)
STD_2D = (0.3, 1.5)
MAX_CORR = 0.5

_finite = dict(allow_nan=False, allow_infinity=False)


def _weights(draw, k: int) -> np.ndarray:
    raw = np.array(draw(st.lists(st.floats(0.1, 1.0, **_finite), min_size=k, max_size=k)))
    return raw / raw.sum()


@st.composite
def mixtures_1d(draw, max_components: int = 3, mean_range=MEAN_1D, std_range=STD_1D) -> GaussianMixture:
    """1D mixture: 1-``max_components`` components, means in ``mean_range``, std in ``std_range``."""
    k = draw(st.integers(1, max_components))
    means = draw(st.lists(st.floats(*mean_range, **_finite), min_size=k, max_size=k))
    stds = np.array(draw(st.lists(st.floats(*std_range, **_finite), min_size=k, max_size=k)))
    return GaussianMixture(_weights(draw, k), means, stds**2)


@st.composite
def covariances_2d(draw, std_range=STD_2D, max_corr: float = MAX_CORR) -> np.ndarray:
    """A 2×2 covariance: per-axis std in ``std_range``, correlation 0 or in [−max_corr, max_corr]."""
    sx = draw(st.floats(*std_range, **_finite))
    sy = draw(st.floats(*std_range, **_finite))
    rho = draw(st.one_of(st.just(0.0), st.floats(-max_corr, max_corr, **_finite)))
    return np.array([[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]])


@st.composite
def mixtures_2d(draw, max_components: int = 2, mean_range=MEAN_2D) -> GaussianMixture:
    """2D mixture: 1-``max_components`` components, diagonal or mildly correlated covariances."""
    k = draw(st.integers(1, max_components))
    means = [[draw(st.floats(*mean_range, **_finite)), draw(st.floats(*mean_range, **_finite))] for _ in range(k)]
    covs = np.stack([draw(covariances_2d()) for _ in range(k)])
    return GaussianMixture(_weights(draw, k), means, covs)


@st.composite
def gaussians_1d(draw, mean_range=MEAN_1D, std_range=STD_1D) -> GaussianMixture:
    """A single 1D Gaussian."""
    return GaussianMixture.gaussian(draw(st.floats(*mean_range, **_finite)),
                                    draw(st.floats(*std_range, **_finite)) ** 2)


@st.composite
def gaussians_2d(draw, mean_range=MEAN_2D) -> GaussianMixture:
    """A single 2D Gaussian."""
    mean = [draw(st.floats(*mean_range, **_finite)), draw(st.floats(*mean_range, **_finite))]
    return GaussianMixture.gaussian(mean, draw(covariances_2d()))


@st.composite
def overlapping_pairs_1d(draw, max_shift: float = 0.3) -> tuple[GaussianMixture, GaussianMixture]:
    """(P, Q) with Q = P with every mean moved by at most ``max_shift`` of that component's σ
    and the weights redrawn within a factor 2.

    The log-ratio then grows at most like (shift/σ)·|x − μ|/σ, so over the region where q does
    not underflow (|x − μ| ≲ 38 σ) it stays below ~12: the optimal f-GAN critics T* = f'(p/q)
    stay well inside the domains of the conjugates and p·T*, q·f*(T*) stay far from overflow
    (KL's q·e^{T*−1}, for one, overflows once log p/q > 709 on the mesh).
    """
    P = draw(mixtures_1d())
    sd = np.sqrt(P.covs[:, 0, 0])
    shifts = np.array(draw(st.lists(st.floats(-max_shift, max_shift, **_finite),
                                    min_size=P.n_components, max_size=P.n_components)))
    factors = np.array(draw(st.lists(st.floats(0.5, 2.0, **_finite),
                                     min_size=P.n_components, max_size=P.n_components)))
    w = P.weights * factors
    Q = GaussianMixture(w / w.sum(), P.means[:, 0] + shifts * sd, P.covs[:, 0, 0])
    return P, Q


def permuted(M: GaussianMixture, order) -> GaussianMixture:
    """The same distribution with its components listed in another order."""
    order = np.asarray(order)
    return GaussianMixture(M.weights[order], M.means[order], M.covs[order])


# α of the α-loss / Arimoto family: below 1, above 1, and ∞ (α = 1 is tested on its own).
finite_alphas = st.one_of(st.floats(0.25, 0.9, **_finite), st.floats(1.1, 20.0, **_finite))
alphas = st.one_of(finite_alphas, st.just(math.inf))
lambdas = st.floats(0.05, 0.95, **_finite)
