"""Toy problems of the training studies: a data mixture (built on demand), its latent dimension and a title in words,
with the exact RMS radius of a mixture and the 1D grid on which discriminators are kept.

The mixtures come from :mod:`divergences`: the ring of 8 (Metz et al. 2017's layout, radius 1, variance 1e-4), the 5×5
mixture (spacing 2, variance 0.0025) and the 1D toy of the lecture notes (``divergences.seed_toy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from divergences import GaussianMixture, grid, ring, seed_toy


@dataclass(frozen=True)
class Problem:
    """A toy problem: its data mixture (a factory), the latent dimension and a title in words for figures."""

    make: Callable[[], GaussianMixture]
    latent_dim: int
    title: str


PROBLEMS: dict[str, Problem] = {
    "ring": Problem(lambda: ring(8, radius=1.0, var=1e-4), 2, "ring of 8 Gaussians"),
    "grid": Problem(lambda: grid(5, spacing=2.0, var=0.0025), 2, "5×5 mixture of Gaussians"),
    "toy1d": Problem(lambda: seed_toy().real, 1, "1D toy: ½N(2, 0.3²) + ½N(5, 0.3²)"),
}


N_GRID = 301
"""Points of the x grid the 1D discriminators are kept on."""


def data_radius(P: GaussianMixture) -> float:
    """RMS distance of the data to its mean, √tr Cov(P), with Cov(P) = Σ_k w_k (Σ_k + μ_k μ_kᵀ) − μ μᵀ (exact)."""
    mu = P.weights @ P.means
    second = np.einsum("k,kii->", P.weights, P.covs) + np.einsum("k,ki,ki->", P.weights, P.means, P.means)
    return float(np.sqrt(second - mu @ mu))


def x_grid(P: GaussianMixture, n: int = N_GRID) -> np.ndarray:
    """The 1D grid the discriminators are kept on: the data mean ± 4 RMS radii."""
    mu, r = float(P.weights @ P.means[:, 0]), data_radius(P)
    return np.linspace(mu - 4 * r, mu + 4 * r, n)
