"""Per-seed metrics of toy GANs: mode coverage on mixtures, and the distance of D to the optimal D*.

Mode coverage (all rules): every generated sample x is assigned to its nearest mode k*(x); it is
*high quality* (HQ) if its distance to that mode, in units of the mode's standard deviation, is
within a threshold (3); a mode is *captured* if at least ``min_count`` HQ samples (and at least a
share ``min_share`` of all n samples) are assigned to it. Named rules (:data:`MODE_RULES`):

* ``welfert`` (default): Euclidean nearest mean, HQ iff ‖x − μ_k*‖ ≤ 3 σ_k*, with
  σ_k = √(tr Σ_k / d) (the per-axis std of an isotropic component); captured iff ≥ 1 HQ sample.
  The rule of Welfert et al. (2023, 2024) and the ISIT 2025 tutorial on the 2D ring.
* ``pacgan`` (alias ``veegan``): the rule of Srivastava et al. (2017, VEEGAN, §5.1: "count a sample
  as high quality if it is within three standard deviations of the nearest mode … the number of
  modes captured [is] the number of mixture components whose mean is nearest to at least one high
  quality sample", 2500 samples per model) as implemented for Lin et al. (2018, PacGAN) in the
  PacGAN reference code (``MetricLogger`` in ``synthetic_data_experiments/PacGAN/pacgan/extensions.py``
  of github.com/fjxmlzn/PacGAN): nearest mode and HQ test by the per-axis standardised distance
  √(Σ_i (x_i − μ_ki)² / Σ_k,ii) < 3 (strict), captured iff ≥ 1 HQ sample, evaluated on 2500 samples.

* ``share``: as ``welfert``, but a mode is captured only if at least 1% of all generated samples are HQ samples
  assigned to it (a rule that ignores a handful of stray samples; with 2,500 samples, 25 of them).

On the ring and the grid (isotropic components of one σ) the first two rules count the same samples
(they differ only on the measure-zero boundary); they differ for anisotropic or unequal components.

Mode histogram KL: with c_k the HQ counts and Q̂_k = (c_k + ε)/(Σ_j c_j + Kε) (ε ≥ 0 a pseudo-count,
default 0), ``mode_reverse_kl`` = KL(Q̂ ‖ w) = Σ_k Q̂_k log(Q̂_k / w_k), the *reverse* KL in the package
convention (generator's histogram first; P's mode distribution is the mixture weights w, uniform on
the ring/grid). Empty modes contribute exactly 0 (0 log 0 = 0), so no ε is needed for finiteness;
it is NaN only when there is no HQ sample at all and ε = 0. Range [0, log(1/min_k w_k)]: 0 for a
histogram equal to w, log K for all HQ mass in one of K equal modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike

from divergences import GaussianMixture, optimal_discriminator


@dataclass(frozen=True)
class ModeRule:
    """A mode-coverage rule (see the module docstring).

    threshold : HQ radius in standard deviations (3 in every cited paper).
    distance : ``"euclidean"`` (‖x − μ_k‖ / σ_k, σ_k = √(tr Σ_k / d)) or ``"standardized"``
        (√Σ_i (x_i − μ_ki)² / Σ_k,ii; nearest mode also chosen by this distance).
    strict : HQ iff distance < threshold (True) or ≤ threshold (False).
    min_count, min_share : a mode is captured iff its HQ count ≥ max(min_count, ⌈min_share · n⌉),
        n the number of generated samples.
    """

    name: str
    threshold: float = 3.0
    distance: str = "euclidean"
    strict: bool = False
    min_count: int = 1
    min_share: float = 0.0

    def __post_init__(self) -> None:
        if not self.threshold > 0:
            raise ValueError(f"threshold must be positive; got {self.threshold!r}")
        if self.distance not in ("euclidean", "standardized"):
            raise ValueError(f"distance must be 'euclidean' or 'standardized'; got {self.distance!r}")
        if not isinstance(self.min_count, int) or self.min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1; got {self.min_count!r}")
        if not 0.0 <= self.min_share <= 1.0:
            raise ValueError(f"min_share must lie in [0, 1]; got {self.min_share!r}")

    def min_hq(self, n: int) -> int:
        """HQ samples a mode needs to count as captured among n generated samples."""
        return max(self.min_count, math.ceil(self.min_share * n))


MODE_RULES: dict[str, ModeRule] = {
    "welfert": ModeRule("welfert"),
    "pacgan": ModeRule("pacgan", distance="standardized", strict=True),
    "share": ModeRule("share", min_share=0.01),
}
MODE_RULES["veegan"] = MODE_RULES["pacgan"]
PACGAN_N_SAMPLES = 2500  # samples per evaluation in VEEGAN and PacGAN


def get_mode_rule(rule: str | ModeRule = "welfert", **overrides) -> ModeRule:
    """A rule by name (``welfert``, ``pacgan``, ``veegan``) with optional field overrides, e.g. ``min_count=20``."""
    if isinstance(rule, ModeRule):
        base = rule
    elif rule in MODE_RULES:
        base = MODE_RULES[rule]
    else:
        raise ValueError(f"unknown mode rule {rule!r}; known: {', '.join(MODE_RULES)}")
    return replace(base, **overrides) if overrides else base


class ModeStats(NamedTuple):
    """Per-seed mode statistics (leading axis S)."""

    counts: torch.Tensor  # (S, K) HQ samples assigned to each mode
    hq_fraction: torch.Tensor  # (S,) HQ samples / all samples
    modes_captured: torch.Tensor  # (S,) number of captured modes
    reverse_kl: torch.Tensor  # (S,) KL(Q̂ || w) of the HQ histogram


class ModeReference(NamedTuple):
    """Mode locations and scales of a mixture, as tensors for :func:`mode_statistics`."""

    means: torch.Tensor  # (K, d)
    sigma: torch.Tensor  # (K,)   √(tr Σ_k / d)
    axis_std: torch.Tensor  # (K, d) √Σ_k,ii
    weights: torch.Tensor  # (K,)

    @classmethod
    def from_mixture(cls, mixture: GaussianMixture, device: torch.device | str = "cpu",
                     dtype: torch.dtype = torch.float64) -> "ModeReference":
        """Read means, scales and weights of ``mixture``."""
        var = np.diagonal(mixture.covs, axis1=1, axis2=2)
        conv = lambda a: torch.tensor(np.asarray(a), dtype=dtype, device=device)
        return cls(conv(mixture.means), conv(np.sqrt(var.mean(axis=1))), conv(np.sqrt(var)), conv(mixture.weights))


def mode_statistics(samples: torch.Tensor, ref: ModeReference, rule: ModeRule, eps: float = 0.0) -> ModeStats:
    """Mode coverage of generated samples, per seed.

    samples : (S, n, d) (or (n, d), treated as S = 1); non-finite samples are never HQ.
    Distances are computed in the dtype of ``ref`` (float64 by default). No Python loop over
    seeds or samples; memory O(S·n·K).
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0; got {eps!r}")
    x = samples if samples.ndim == 3 else samples[None]
    x = x.to(dtype=ref.means.dtype, device=ref.means.device)
    S, n, _ = x.shape
    K = ref.means.shape[0]
    diff = x[:, :, None, :] - ref.means  # (S, n, K, d)
    if rule.distance == "euclidean":
        dist_all = torch.linalg.vector_norm(diff, dim=-1)  # (S, n, K)
        nearest = torch.nan_to_num(dist_all, nan=math.inf).argmin(-1)  # (S, n)
        dist = dist_all.gather(-1, nearest[..., None])[..., 0] / ref.sigma[nearest]
    else:
        z_all = torch.linalg.vector_norm(diff / ref.axis_std, dim=-1)
        nearest = torch.nan_to_num(z_all, nan=math.inf).argmin(-1)
        dist = z_all.gather(-1, nearest[..., None])[..., 0]
    hq = (dist < rule.threshold) if rule.strict else (dist <= rule.threshold)  # NaN compares False
    counts = torch.zeros(S, K, dtype=ref.means.dtype, device=x.device)
    counts.scatter_add_(1, nearest, hq.to(counts.dtype))
    n_hq = counts.sum(1)
    captured = (counts >= rule.min_hq(n)).sum(1)
    q = (counts + eps) / (n_hq + K * eps)[:, None]
    terms = torch.where(q > 0, q * (torch.log(q) - torch.log(ref.weights)), torch.zeros_like(q))
    rkl = terms.sum(1)
    rkl = torch.where(n_hq + K * eps > 0, rkl, torch.full_like(rkl, math.nan))
    return ModeStats(counts, n_hq / n, captured, rkl)


def mode_metrics(samples: ArrayLike | torch.Tensor, mixture: GaussianMixture, rule: str | ModeRule = "welfert",
                 eps: float = 0.0, **overrides) -> dict[str, np.ndarray]:
    """Convenience wrapper: ``{"modes_captured", "hq_fraction", "mode_reverse_kl", "counts"}`` as numpy arrays.

    ``samples``: (n, d) or (S, n, d) (a 1D mixture also accepts (n,)).

    >>> from divergences import ring
    >>> P = ring(4, radius=1.0, var=1e-4)
    >>> m = mode_metrics(np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]), P)
    >>> int(m["modes_captured"][0]), round(float(m["hq_fraction"][0]), 3)
    (2, 0.667)
    """
    x = torch.as_tensor(np.asarray(samples, dtype=float) if not isinstance(samples, torch.Tensor) else samples)
    if mixture.dim == 1 and x.ndim <= 2 and (x.ndim < 2 or x.shape[-1] != 1):
        x = x.reshape(*x.shape, 1) if x.ndim == 2 else x.reshape(-1, 1)
    st = mode_statistics(x, ModeReference.from_mixture(mixture), get_mode_rule(rule, **overrides), eps)
    return {"modes_captured": st.modes_captured.numpy(), "hq_fraction": st.hq_fraction.numpy(),
            "mode_reverse_kl": st.reverse_kl.numpy(), "counts": st.counts.numpy()}


# ----------------------------------------------------------------------------- D vs D*
PROBABILITY_OBJECTIVES = ("vanilla", "alpha")  # D* a probability: compare σ(logit)
CRITIC_OBJECTIVES = ("lsgan",)  # D* in the units of the raw output: compare the output itself


class DStarProbe:
    """L2(M) distance between a trained discriminator and the closed-form D* for a *fixed* generator Q.

    For data P, generator distribution Q (known: G frozen, fakes sampled from Q) and the analytic
    objective of the loss (``AdversarialLoss.analytic``), with D* = ``optimal_discriminator(P, Q, ...)``:

        ‖D − D*‖_{L2(M)} = ( E_{x~M} [D(x) − D*(x)]² )^{1/2},   M = ½(P + Q),

    where D(x) = σ(logit) for probability objectives (vanilla: D* = p/(p+q); α-GAN:
    p^α/(p^α+q^α)) and the raw output for LSGAN (D* = (b p + a q)/(p+q)). M weights the region
    where D is trained (real and fake samples alike) and nothing else: D is unconstrained where
    neither P nor Q has mass. Estimated by stratified Monte Carlo, n/2 points from P and n/2 from
    Q (an unbiased estimate of E_M), drawn once from ``numpy.random.default_rng(seed)`` and shared
    by all seeds and all evaluations (common random numbers). ``standard_error`` is the delta-method
    standard error of the estimate, se(mean sq)/(2·L2).
    """

    def __init__(self, P: GaussianMixture, Q: GaussianMixture, objective: tuple[str, dict], n: int = 20_000,
                 seed: int = 0, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        name, params = objective
        if name in PROBABILITY_OBJECTIVES:
            self.output = "probability"
        elif name in CRITIC_OBJECTIVES:
            self.output = "critic"
        else:
            raise ValueError(f"D* comparison is defined for objectives {PROBABILITY_OBJECTIVES + CRITIC_OBJECTIVES}; "
                             f"got {name!r}")
        if n < 2 or n % 2:
            raise ValueError(f"n must be a positive even integer; got {n!r}")
        rng = np.random.default_rng(seed)
        x = np.concatenate([P.sample(n // 2, rng), Q.sample(n // 2, rng)])
        dstar = optimal_discriminator(P, Q, name, **params)(x)
        self.points = torch.as_tensor(x, dtype=dtype, device=device)  # (n, d)
        self.dstar = torch.as_tensor(np.asarray(dstar, dtype=float), dtype=torch.float64, device=device)  # (n,)
        self.dstar_fn = dstar

    def errors(self, D: torch.nn.Module) -> torch.Tensor:
        """(S, n) pointwise D(x) − D*(x) in float64 for a stacked discriminator (outputs (S, n, 1))."""
        S = D.n_seeds
        with torch.no_grad():
            v = D(self.points.expand(S, *self.points.shape)).squeeze(-1).double()
        out = torch.sigmoid(v) if self.output == "probability" else v
        return out - self.dstar

    def __call__(self, D: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """(L2(M) distance, its standard error), each (S,)."""
        sq = self.errors(D) ** 2
        l2 = sq.mean(1).sqrt()
        se = sq.std(1) / math.sqrt(sq.shape[1]) / (2 * l2.clamp_min(1e-300))
        return l2, se
