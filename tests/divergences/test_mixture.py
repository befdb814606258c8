"""Unit tests for divergences.mixture: GaussianMixture, ring, grid, seed_toy."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, stats

from divergences import GaussianMixture, SeedToy, grid, ring, seed_toy
from tests.helpers import assert_close
from tests.reference import cdf_ref, logpdf_ref, pdf_ref, sf_ref

P1 = GaussianMixture([0.2, 0.5, 0.3], [-2.0, 0.5, 3.0], [0.25, 1.0, 2.25])
P2 = GaussianMixture([0.4, 0.6], [[0.0, 0.0], [1.0, 2.0]], [np.eye(2), [[1.0, 0.3], [0.3, 0.5]]])


# ----------------------------------------------------------------------------- construction and attributes
def test_attributes_and_shapes():
    assert (P1.dim, P1.n_components) == (1, 3)
    assert P1.means.shape == (3, 1) and P1.covs.shape == (3, 1, 1)
    assert (P2.dim, P2.n_components) == (2, 2)
    assert P2.means.shape == (2, 2) and P2.covs.shape == (2, 2, 2)
    np.testing.assert_array_equal(P1.covs[:, 0, 0], [0.25, 1.0, 2.25])
    np.testing.assert_array_equal(P1.scales()[:, 0], [0.5, 1.0, 1.5])


def test_isotropic_variances_in_2d():
    M = GaussianMixture([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [0.5, 2.0])
    np.testing.assert_array_equal(M.covs, [0.5 * np.eye(2), 2.0 * np.eye(2)])


def test_gaussian_constructor():
    G = GaussianMixture.gaussian([1.0, -1.0], [[2.0, 0.5], [0.5, 1.0]])
    assert (G.dim, G.n_components) == (2, 1)
    np.testing.assert_array_equal(G.means, [[1.0, -1.0]])
    G1 = GaussianMixture.gaussian(3.0, 4.0)
    assert G1.dim == 1
    np.testing.assert_array_equal(G1.covs, [[[4.0]]])


def test_zero_weight_components_are_dropped_and_weights_renormalised():
    M = GaussianMixture([0.5, 0.0, 0.5 + 5e-10], [0.0, 100.0, 1.0], [1.0, 1.0, 1.0])
    assert M.n_components == 2
    np.testing.assert_array_equal(M.means[:, 0], [0.0, 1.0])
    # renormalised: the 5e-10 excess (inside the 1e-9 tolerance) is divided out
    assert_close(float(M.weights.sum()), 1.0, 2e-16, "weights sum")


def test_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        P1.weights = np.array([1.0])
    with pytest.raises(ValueError):
        P1.means[0, 0] = 5.0  # read-only array


def test_repr_mentions_size():
    assert "k=3" in repr(P1) and "d=1" in repr(P1)


# ----------------------------------------------------------------------------- densities
@pytest.mark.parametrize("shape", ["flat", "column"])
def test_pdf_1d_accepts_flat_and_column_points(shape):
    x = np.linspace(-6, 8, 29)
    pts = x if shape == "flat" else x[:, None]
    got = P1.pdf(pts)
    assert got.shape == (29,)
    # scipy.stats reference; both are a logsumexp of a handful of terms: ~1e-15 relative
    np.testing.assert_allclose(got, pdf_ref(P1, x), rtol=1e-13, atol=0)
    np.testing.assert_allclose(P1.logpdf(pts), logpdf_ref(P1, x), rtol=1e-13, atol=1e-13)


def test_pdf_scalar_point_1d():
    got = P1.pdf(0.5)
    assert got.shape == (1,)
    np.testing.assert_allclose(got, pdf_ref(P1, [0.5]), rtol=1e-13)


def test_pdf_2d_points_and_single_point():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 2)) * 2.0
    got = P2.pdf(x)
    assert got.shape == (50,)
    np.testing.assert_allclose(got, pdf_ref(P2, x), rtol=1e-12)
    one = P2.pdf(x[7])  # shape (2,) is one point
    assert one.shape == (1,)
    np.testing.assert_allclose(one, got[7:8], rtol=1e-15)


def test_component_logpdf_shape_and_sum():
    x = np.linspace(-3, 3, 7)
    comp = P1.component_logpdf(x)
    assert comp.shape == (7, 3)
    np.testing.assert_allclose(np.log(np.exp(comp).sum(axis=1)), P1.logpdf(x), rtol=1e-14)


def test_logpdf_far_tail_is_finite():
    # logsumexp form: finite where the density itself underflows
    lp = P1.logpdf([1e4, -1e4])
    assert np.all(np.isfinite(lp))
    np.testing.assert_allclose(lp, logpdf_ref(P1, [1e4, -1e4]), rtol=1e-12)


def test_wrong_point_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        P1.pdf(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="shape"):
        P2.pdf(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        P2.pdf(np.zeros(5))


def test_pdf_integrates_to_one_1d():
    edges = np.concatenate([[-40.0], np.sort(P1.means[:, 0]), [40.0]])
    total = sum(integrate.quad(lambda t: float(P1.pdf(t)[0]), a, b, epsabs=1e-13, epsrel=1e-13, limit=200)[0]
                for a, b in zip(edges[:-1], edges[1:]))
    # quad's own error at these settings is ≲ 1e-13 per piece
    assert_close(total, 1.0, 1e-12, "∫ p")


def test_pdf_integrates_to_one_2d():
    f = lambda y, x: float(P2.pdf(np.array([[x, y]]))[0])
    total, err = integrate.dblquad(f, -12, 13, -12, 14, epsabs=1e-10, epsrel=1e-10)
    # box covers ≥ 10 σ of every component (mass outside < 1e-20); dblquad tolerance 1e-10
    assert_close(total, 1.0, 1e-9, "∬ p")


# ----------------------------------------------------------------------------- cdf / sf
def test_cdf_matches_integral_of_pdf_and_reference():
    for x in (-3.0, 0.0, 0.7, 4.0):
        num = integrate.quad(lambda t: float(P1.pdf(t)[0]), -40.0, x, points=[-2.0, 0.5, 3.0] if x > 3 else None,
                             epsabs=1e-13, limit=200)[0]
        assert_close(float(P1.cdf(x)[0]), num, 1e-12, f"cdf({x}) vs ∫pdf")
    x = np.linspace(-10, 12, 45)
    np.testing.assert_allclose(P1.cdf(x), cdf_ref(P1, x), rtol=1e-14, atol=1e-16)


def test_cdf_plus_sf_is_one_and_monotone():
    x = np.linspace(-10, 12, 201)
    F, S = P1.cdf(x), P1.sf(x)
    np.testing.assert_allclose(F + S, 1.0, rtol=0, atol=2e-16 * 4)  # sum of 3 rounded Φ terms each
    assert np.all(np.diff(F) >= 0) and np.all(np.diff(S) <= 0)


def test_sf_accurate_in_right_tail_and_cdf_in_left_tail():
    right = np.array([10.0, 20.0, 40.0])
    left = np.array([-10.0, -20.0, -30.0])
    # tail probabilities down to 1e-200: relative accuracy, not absolute
    np.testing.assert_allclose(P1.sf(right), sf_ref(P1, right), rtol=1e-12)
    np.testing.assert_allclose(P1.cdf(left), cdf_ref(P1, left), rtol=1e-12)
    assert np.all(P1.sf(right) > 0)


def test_cdf_sf_require_1d():
    with pytest.raises(ValueError, match="1D"):
        P2.cdf(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="1D"):
        P2.sf(np.zeros((3, 2)))


# ----------------------------------------------------------------------------- moments and sampling
def test_mean_and_cov_closed_form():
    # hand-computed: E = Σ w μ; Var = Σ w (σ² + μ²) − E²
    w, mu, var = np.array([0.2, 0.5, 0.3]), np.array([-2.0, 0.5, 3.0]), np.array([0.25, 1.0, 2.25])
    mean = float(w @ mu)
    assert_close(float(P1.mean()[0]), mean, 1e-15, "mean")
    assert_close(float(P1.cov()[0, 0]), float(w @ (var + mu**2)) - mean**2, 1e-14, "variance")
    m2 = 0.4 * np.zeros(2) + 0.6 * np.array([1.0, 2.0])
    np.testing.assert_allclose(P2.mean(), m2, rtol=0, atol=1e-15)
    second = 0.4 * np.eye(2) + 0.6 * (np.array([[1.0, 0.3], [0.3, 0.5]]) + np.outer([1.0, 2.0], [1.0, 2.0]))
    np.testing.assert_allclose(P2.cov(), second - np.outer(m2, m2), rtol=0, atol=1e-15)


@pytest.mark.parametrize("M", [P1, P2], ids=["1d", "2d"])
def test_sample_moments(M):
    n = 200_000
    x = M.sample(n, rng=np.random.default_rng(12345))
    assert x.shape == (n, M.dim)
    # 5 standard errors: a correct sampler fails this with probability ~6e-7 per entry (and the
    # seed is fixed, so the outcome is deterministic). SE of the mean = sqrt(diag Σ / n); SE of a
    # covariance entry from the sample's own fourth moments, sqrt(Var[(x_i − μ_i)(x_j − μ_j)] / n).
    se_mean = np.sqrt(np.diag(M.cov()) / n)
    assert np.all(np.abs(x.mean(axis=0) - M.mean()) <= 5 * se_mean)
    c = x - M.mean()
    prods = c[:, :, None] * c[:, None, :]
    se_cov = prods.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(axis=0) - M.cov()) <= 5 * se_cov)


def test_sample_component_frequencies():
    M = GaussianMixture([0.1, 0.9], [-50.0, 50.0], [1.0, 1.0])
    n = 100_000
    x = M.sample(n, rng=7)
    frac = float(np.mean(x[:, 0] < 0))
    # binomial: SE = sqrt(0.1·0.9/n) ≈ 9.5e-4; 5 SE
    assert abs(frac - 0.1) <= 5 * math.sqrt(0.09 / n)


def test_same_seed_same_samples():
    a = P2.sample(100, rng=42)
    b = P2.sample(100, rng=42)
    c = P2.sample(100, rng=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, P2.sample(100, rng=43))


def test_sample_advances_a_passed_generator():
    g = np.random.default_rng(0)
    a, b = P1.sample(10, rng=g), P1.sample(10, rng=g)
    assert not np.array_equal(a, b)


def test_sample_zero_and_bad_n():
    assert P2.sample(0, rng=0).shape == (0, 2)
    with pytest.raises(ValueError, match="non-negative integer"):
        P1.sample(-1, rng=0)
    with pytest.raises(TypeError, match="non-negative integer"):
        P1.sample(2.5, rng=0)
    with pytest.raises(TypeError, match="rng"):
        P1.sample(3, rng="seed")


def test_translate():
    T = P2.translate([1.5, -2.0])
    np.testing.assert_array_equal(T.means, P2.means + [1.5, -2.0])
    np.testing.assert_array_equal(T.covs, P2.covs)
    np.testing.assert_array_equal(T.weights, P2.weights)
    np.testing.assert_allclose(T.pdf([[1.5, -2.0]]), P2.pdf([[0.0, 0.0]]), rtol=1e-14)
    np.testing.assert_array_equal(P1.translate(2.0).means[:, 0], P1.means[:, 0] + 2.0)
    with pytest.raises(ValueError, match="shift"):
        P2.translate([1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- standard examples
def test_ring_default_matches_documentation():
    R = ring()
    assert (R.dim, R.n_components) == (2, 8)
    np.testing.assert_allclose(R.weights, np.full(8, 1 / 8), rtol=0, atol=1e-16)
    theta = 2 * np.pi * np.arange(8) / 8
    np.testing.assert_allclose(R.means, np.c_[np.cos(theta), np.sin(theta)], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(R.covs, np.repeat(1e-4 * np.eye(2)[None], 8, axis=0))


def test_ring_parameters():
    R = ring(k=5, radius=3.0, var=0.01, phase=0.3)
    theta = 0.3 + 2 * np.pi * np.arange(5) / 5
    np.testing.assert_allclose(R.means, 3.0 * np.c_[np.cos(theta), np.sin(theta)], rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.linalg.norm(R.means, axis=1), 3.0, rtol=1e-15)
    np.testing.assert_array_equal(R.covs[:, 0, 0], np.full(5, 0.01))


def test_grid_default_matches_documentation():
    G = grid()
    assert (G.dim, G.n_components) == (2, 25)
    np.testing.assert_allclose(G.weights, np.full(25, 1 / 25), rtol=0, atol=1e-16)
    ticks = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    want = {(a, b) for a in ticks for b in ticks}
    assert {tuple(m) for m in G.means.tolist()} == want
    # std 0.05 (PacGAN / VEEGAN)
    np.testing.assert_allclose(np.sqrt(G.covs[:, 0, 0]), 0.05, rtol=1e-15)
    np.testing.assert_array_equal(G.covs[:, 0, 1], 0.0)
    np.testing.assert_allclose(G.mean(), [0.0, 0.0], atol=1e-15)


def test_grid_parameters():
    G = grid(n=3, spacing=1.5, var=0.1)
    assert G.n_components == 9
    assert sorted(set(G.means[:, 0].tolist())) == [-1.5, 0.0, 1.5]


def test_seed_toy_matches_documentation():
    toy = seed_toy()
    assert isinstance(toy, SeedToy)
    np.testing.assert_array_equal(toy.real.weights, [0.5, 0.5])
    np.testing.assert_array_equal(toy.real.means[:, 0], [2.0, 5.0])
    np.testing.assert_allclose(np.sqrt(toy.real.covs[:, 0, 0]), [0.3, 0.3], rtol=1e-15)
    np.testing.assert_array_equal(toy.gen_right.means[:, 0], [6.0])
    np.testing.assert_array_equal(toy.gen_left.means[:, 0], [-0.5])
    np.testing.assert_allclose(np.sqrt(toy.gen_right.covs[:, 0, 0]), [0.3], rtol=1e-15)
    np.testing.assert_allclose(np.sqrt(toy.gen_left.covs[:, 0, 0]), [0.3], rtol=1e-15)


def test_docstring_example_density():
    # 0.5 N(2; 2, 0.09) + 0.5 N(2; 5, 0.09) = 0.5/(0.3√(2π)) + 0.5 φ(10)/0.3, computed here by hand
    want = 0.5 / (0.3 * math.sqrt(2 * math.pi)) + 0.5 * stats.norm.pdf(10.0) / 0.3
    P = GaussianMixture([0.5, 0.5], [2.0, 5.0], [0.09, 0.09])
    assert_close(float(P.pdf([2.0])[0]), want, 1e-15, "docstring pdf")
    assert round(want, 6) == 0.664904


@pytest.mark.parametrize("call", [lambda: ring(k=0), lambda: ring(radius=0.0), lambda: ring(var=-1.0),
                                  lambda: grid(n=0), lambda: grid(spacing=-1.0), lambda: grid(var=0.0)])
def test_standard_examples_validate(call):
    with pytest.raises(ValueError, match="positive"):
        call()
