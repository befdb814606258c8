"""The fixed suite of mixture pairs and measures shared by ``benchmarks.references`` and ``benchmarks.analytic``.

Every case is a pair (P, Q) of :class:`divergences.GaussianMixture`. The references read only the
public parameters (``weights``, ``means``, ``covs``) of these objects, converted exactly from float64
to mpmath numbers, so both scripts integrate the very same float64 mixtures.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from divergences import GaussianMixture, grid, ring, seed_toy


@dataclass(frozen=True)
class Case:
    name: str
    P: GaussianMixture
    Q: GaussianMixture
    description: str

    @property
    def dim(self) -> int:
        return self.P.dim


@dataclass(frozen=True)
class Measure:
    """One row kind of the table: ``key`` names it in references.json; ``f`` is the generator
    f(u) in the package convention D_f(P||Q) = ∫ q f(p/q) (None for W1)."""

    key: str
    label: str
    alpha: float | None = None


MEASURES: tuple[Measure, ...] = (
    Measure("kl", "KL(P||Q)"),
    Measure("reverse_kl", "KL(Q||P)"),
    Measure("pearson_chi2", "Pearson chi2"),
    Measure("neyman_chi2", "Neyman chi2"),
    Measure("squared_hellinger", "H^2"),
    Measure("jsd", "JSD"),
    Measure("total_variation", "TV"),
    Measure("gan", "GAN (2JSD-log4)"),
    Measure("arimoto_0.5", "Arimoto a=0.5", 0.5),
    Measure("arimoto_2", "Arimoto a=2", 2.0),
    Measure("wasserstein1", "W1"),
)
MEASURE_KEYS = tuple(m.key for m in MEASURES)


def _seven_ring() -> GaussianMixture:
    r = ring()
    return GaussianMixture(np.full(7, 1.0 / 7.0), r.means[1:], r.covs[1:])


def build_cases() -> list[Case]:
    toy = seed_toy()
    thin_p = GaussianMixture([0.5, 0.5], [-3.0, 3.0], [0.01**2, 0.01**2])
    thin_q = GaussianMixture([0.3, 0.7], [-2.9, 3.05], [0.02**2, 0.015**2])
    return [
        Case("toy_right", toy.real, toy.gen_right, "seed toy: P_r vs N(6, 0.3^2)"),
        Case("toy_left", toy.real, toy.gen_left, "seed toy: P_r vs N(-0.5, 0.3^2)"),
        Case("thin_1d", thin_p, thin_q,
             "0.5N(-3,.01^2)+0.5N(3,.01^2) vs 0.3N(-2.9,.02^2)+0.7N(3.05,.015^2)"),
        Case("ring_rot0.01", ring(), ring(phase=0.01), "8-ring (var 1e-4) vs ring rotated by 0.01 rad"),
        Case("ring_rot_pi8", ring(), ring(phase=np.pi / 8), "8-ring vs ring rotated by pi/8 (modes 39 sigma apart)"),
        Case("ring_vs_gauss", ring(), GaussianMixture.gaussian([0.0, 0.0], np.eye(2)), "8-ring vs N(0, I)"),
        Case("ring_vs_7ring", ring(), _seven_ring(), "8-ring vs the same ring without mode 0 (weights 1/7)"),
        Case("grid_shift", grid(), grid().translate([0.03, 0.02]), "5x5 grid (std .05) vs grid shifted by (.03,.02)"),
    ]


def _rotated(s1: float, s2: float, angle: float) -> np.ndarray:
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return R @ np.diag([s1**2, s2**2]) @ R.T


def w1_cases() -> list[Case]:
    """2D pairs for the W1 bracket table besides those of :func:`build_cases` (no point reference: the bracket is
    the result). ``mix3_vs_mix2`` is the shape of the report that started it (3 against 2 full-covariance components,
    0.845 ± 0.235 in 16 s); the grids have 25 components each."""
    P = GaussianMixture([0.3, 0.5, 0.2], [[0.0, 0.0], [1.5, 0.5], [-1.0, 1.0]],
                        [_rotated(0.5, 0.2, 0.3), _rotated(0.4, 0.4, 0.0), _rotated(0.7, 0.3, 1.2)])
    Q = GaussianMixture([0.6, 0.4], [[0.5, 0.2], [-0.5, 1.0]], [_rotated(0.8, 0.3, -0.4), _rotated(0.3, 0.6, 0.8)])
    return [
        Case("mix3_vs_mix2", P, Q, "3 vs 2 full-covariance components, overlapping"),
        Case("grid_spread", grid(), grid(spacing=2.1), "5x5 grid vs the grid spread to spacing 2.1"),
        Case("grid_wider", grid(), grid(var=0.01), "5x5 grid (std .05) vs the same grid with std .1"),
    ]


def fingerprint(cases: list[Case]) -> str:
    """Hash of the exact float64 parameters of every case (references are stale if it changes)."""
    h = hashlib.sha256()
    for c in cases:
        for M in (c.P, c.Q):
            h.update(c.name.encode())
            for arr in (M.weights, M.means, M.covs):
                h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def params(M: GaussianMixture) -> dict:
    """Plain-float parameters (weights, means, isotropic std devs) of a mixture, exactly as stored."""
    covs = np.asarray(M.covs)
    d = M.dim
    for k in range(M.n_components):
        if not np.array_equal(covs[k], covs[k][0, 0] * np.eye(d)):
            raise ValueError("the references handle isotropic components only")
    return {
        "weights": [float(w) for w in M.weights],
        "means": [[float(v) for v in row] for row in M.means],
        "vars": [float(covs[k][0, 0]) for k in range(M.n_components)],
    }


if __name__ == "__main__":
    print(json.dumps({c.name: c.description for c in build_cases()}, indent=1))
