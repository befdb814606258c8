"""Adversarial losses compared on the analytic toys (after Lucic et al. 2018, "Are GANs created equal?", and Kurach
et al. 2019, "A large-scale study of regularization and normalization in GANs").

**Losses** (``--losses``): ``gan.losses`` specs or the named variants of :mod:`studies.toy_losses` (shared with
``studies.mode_coverage``; ``--help`` lists the vocabulary; a named variant brings its own regularizer:
``wgan-clip`` weight clipping c = 0.01, ``wgan-gp`` and ``dragan`` penalties with λ = 10). An extra regularizer of
``--regularizers`` is used only where it is meaningful (:func:`regularizer_applies`): ``none``; ``sn`` = spectral
normalization of D, not with weight clipping; ``gp`` = WGAN-GP penalty λ = 10, not on top of a loss's own penalty or
clipping.

**Problems** (:data:`PROBLEMS`): ``ring``, 8 Gaussians on the unit circle, variance 1e-4 (``divergences.ring()``),
latent N(0, I₂); ``grid``, the 5×5 mixture at {−4, −2, 0, 2, 4}², std 0.05 (``divergences.grid()``), latent N(0, I₂);
``toy1d``, the lecture notes' P = ½N(2, 0.3²) + ½N(5, 0.3²) (``divergences.seed_toy().real``), latent N(0, 1).

**Protocols** (``--protocol``):

* ``factorial``: every setting of the factorial design regularizer × ``--lrs`` × ``--adam-betas`` × ``--n-dis``,
  each on the same ``--seeds`` seeds; per (problem, loss) the setting with the best mean score is ranked on the very
  seeds that chose it (optimistic: Lucic et al.'s "best of grid").
* ``search`` (Lucic et al. 2018, §5: a random search per model and data set, then the best setting re-run on new
  seeds; their wide ranges are compare_gan's ``GetDefaultWideRange``: lr log-uniform in [1e-5, 1e-2], β1 in [0, 1],
  n_dis ∈ {1, 5}): per (problem, loss), ``--search-samples`` settings drawn with ``numpy.random.default_rng`` from
  (``--search-seed``, problem, loss), so the search is reproducible and a loss's draws do not depend on the other
  losses: lr log-uniform in ``--lr-range``, (β1, β2) uniform over ``--adam-betas``, n_dis uniform over ``--n-dis``,
  the regularizer uniform over those of ``--regularizers`` that apply. Each setting trains one seed (seed
  first_seed + j for sample j) and is evaluated at the end. Then (:meth:`LossComparison.followup`, a second stage) the
  best setting per (problem, loss) is trained again, unchanged, on ``--seeds`` new seeds (first_seed +
  search_samples, ...), which the selection never saw, and only these seeds are ranked. The re-run differs from its
  search run only in being evaluated every ``--eval-every`` epochs (evaluation draws no random numbers and changes
  no parameter, so the training is the same to the bit: tested). WGAN-GP's authors' settings (Gulrajani et al. 2017,
  Algorithm 1: n_dis = 5, Adam β = (0, 0.9), λ = 10; their toy code: β = (0.5, 0.9)) lie in the ``cpu`` preset's
  search space.

The training budget is the same for every setting: ``--epochs`` passes over the ``--n-train`` training samples,
i.e. a fixed number of D minibatches (with n_dis = 5 the generator takes a fifth as many steps).

**Score, selection, ranking.** Metrics per run at the last evaluation (``toy.metrics``, rule ``welfert``: a generated
sample is high quality (HQ) within 3σ of its nearest mean; a mode is captured with ≥ 1 HQ sample; ``--n-eval``
samples): modes captured, HQ fraction, reverse KL of the mode histogram. The **score** is the fraction of modes
captured. A setting is chosen by its mean score (ties: higher HQ fraction, then lower mode-histogram KL, then draw
order). Losses are ranked by the mean score of their ranked seeds with a 95% percentile-bootstrap interval
(:func:`studies.stats.bootstrap_mean_ci`, 10,000 resamples); losses whose intervals overlap, directly or through a
chain of overlapping intervals, share a rank group (:func:`tie_groups`): they are reported as tied, not ranked.
Success (every mode captured) is reported with its Clopper–Pearson interval.

**Exact against trained (1D toy).** For ``toy1d`` each seed's generator is fitted by a 2-component Gaussian mixture
Q̂ (``toy.fit``, ``--n-fit`` samples) and scored exactly by ``divergences``: JSD(P, Q̂), W1(P, Q̂), and the L2(M)
distance of the trained D to the closed-form D*(P, Q̂) of the loss's objective where a pointwise D* is probed
(vanilla, α, LSGAN; ``toy.metrics.DStarProbe``). The trained D on a grid of x and Q̂ are kept in the arrays, so the
figure of D against D* is redrawn by ``--plot-only``.

**Runaway generators.** At every evaluation after the start, the empirical W1 between 250 generated samples and 250
fixed data samples (exact optimal transport, POT) is recorded (``w1_data``). A seed whose ``w1_data`` exceeds
``--runaway-factor`` × the RMS distance of the data to its mean, √tr Cov(P), has run away (its generator drifted off
without a NaN); it is flagged as diverged at the iteration (G steps) of the first evaluation where this was seen.
A seed whose losses or parameters became NaN/inf is flagged at the iteration the trainer recorded.

**Outputs** (``results/loss_comparison[_<preset>]/``): ``loss_comparison.csv`` (long: problem, loss, stage, reg, lr,
beta1, beta2, n_dis, config_key, seed, epoch, metric, value; stage is ``factorial``, ``search`` or ``rerun``),
``ranking.csv``/``ranking.md``, the figures of :mod:`studies.loss_comparison_figures` each with a caption ``.md``
beside it, ``loss_comparison_arrays.npz`` (final samples, 1D discriminators and fits) and ``run.json``.
Presets: ``quick`` (factorial, CI-sized), ``cpu`` (the search protocol at toy scale for 2 CPU cores, not the
paper's scale), ``paper`` (the default: the factorial design at the field defaults, sized for a GPU).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd

from divergences import GaussianMixture, jsd, wasserstein1
from studies.common import draw_figures, figure_task, write_atomic, write_csv_atomic
from studies.engine import run_study
from studies.executors import UnitContext, UnitResult
from studies.stats import binomial_ci, bootstrap_mean_ci
from studies.store import Unit, Variant
from studies.toy_losses import canonical, check_variants, label, resolve, variants_help
from studies.toy_problems import PROBLEMS, data_radius, x_grid
from studies.toy_study import ToyStudy, latest

DESCRIPTION = ("Adversarial losses on the ring, the 5x5 grid and the 1D toy: a factorial design or Lucic et al.'s "
               "random search with the best setting re-run on new seeds; ranking with bootstrap intervals and ties")
NAME = "loss_comparison"
TABLE = "loss_comparison.csv"

DEFAULT_LOSSES = ("minimax", "ns", "wgan-clip", "wgan-gp", "lsgan", "hinge", "dragan", "alpha:alpha=0.5",
                  "alpha:alpha=2", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2",
                  "fgan_kl", "fgan_reverse_kl", "fgan_squared_hellinger", "fgan_pearson")
"""The 15 losses of the ``paper`` preset (``gan.losses`` specs and named variants of :mod:`studies.toy_losses`)."""

CPU_LOSSES = ("minimax", "ns", "lsgan", "wgan-gp")
"""The ``cpu`` preset's losses: those of Lucic et al. (2018) that are toy losses here (MM GAN, NS GAN, LSGAN,
WGAN-GP); four, so that the search fits the preset's budget."""

REGULARIZERS: dict[str, dict] = {"none": {}, "sn": {"spectral_norm": True}, "gp": {"penalty": "gp"}}


def regularizer_applies(loss: str, reg: str) -> bool:
    """Whether the extra regularizer ``reg`` is meaningful for the loss variant ``loss`` (see the module docstring)."""
    own = resolve(loss).own
    if reg == "sn":
        return "clip" not in own
    if reg == "gp":
        return not own
    return True


STAGES = ("factorial", "search", "rerun")
"""Table ``stage``: a setting of the factorial design; a search sample (one seed); the re-run of a chosen setting."""
RANKED_STAGES = ("factorial", "rerun")

SEARCH_BETAS = ("0.5/0.999", "0.5/0.9", "0.0/0.9", "0.9/0.999")
"""Adam (β1, β2) choices of the ``cpu`` search: DCGAN's, WGAN-GP's toy code's and Algorithm 1's, Adam's default."""

PRESETS = {
    "quick": dict(seeds=3, problems=("ring", "grid", "toy1d"), regularizers=("none",), lrs=(2e-4, 1e-3),
                  adam_betas=("0.5/0.999",), n_dis=(1,), epochs=4, eval_every=4, n_train=6400, width=64, depth=3,
                  n_eval=2500),
    "cpu": dict(protocol="search", problems=("ring", "grid", "toy1d"), losses=CPU_LOSSES,
                regularizers=("none", "sn", "gp"), adam_betas=SEARCH_BETAS, n_dis=(1, 5), lr_range=(1e-4, 1e-2),
                search_samples=16, seeds=10, epochs=8, eval_every=2, n_train=10_240, batch_size=128, width=64,
                depth=2, n_eval=2500),
    "paper": {},
}
"""``quick``: the factorial design, CI-sized (output in ``results/loss_comparison_quick/``). ``cpu``: the search
protocol at toy scale, sized for 2 CPU cores (``results/loss_comparison_cpu/``). ``paper`` (the default): the
factorial design at the field defaults, sized for a GPU."""

N_W1 = 250
"""Generated and data samples of the runaway check's empirical W1 (exact OT of 250 × 250 points)."""
W1_DATA_SEED = 20_180_101
"""Seed of the fixed data sample the runaway check compares with (the same for every seed and configuration)."""
FIT_LATENT_SEED = 12345
"""Seed of the latents of the 1D mixture fit (the same for every seed and configuration)."""


def parse_betas(text: str) -> tuple[float, float]:
    """``"b1/b2"`` → (b1, b2), each in [0, 1)."""
    try:
        b1, b2 = (float(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"Adam betas must be written 'b1/b2' (e.g. 0.5/0.999); got {text!r}") from None
    if not (0 <= b1 < 1 and 0 <= b2 < 1):
        raise ValueError(f"Adam betas must lie in [0, 1); got {text!r}")
    return b1, b2


@dataclass(frozen=True)
class Setting:
    """A hyper-parameter setting of one loss: extra regularizer, learning rate (G and D), Adam betas, n_dis."""

    reg: str
    lr: float
    beta1: float
    beta2: float
    n_dis: int

    def labels(self) -> dict:
        return {"reg": self.reg, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "n_dis": self.n_dis}


def _positive_ints(cfg: Any, names: tuple[str, ...]) -> None:
    for name in names:
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")


@dataclass(frozen=True)
class LossComparisonConfig:
    """Settings of the study (each field is a ``--field-name`` option)."""

    protocol: Literal["factorial", "search"] = field(default="factorial", metadata={
        "help": "factorial: every setting of regularizers x lrs x adam-betas x n-dis on the same seeds; search: "
                "Lucic et al.'s random search (search-samples settings, 1 seed each), then the best setting per "
                "problem and loss re-run on --seeds new seeds"})
    problems: tuple[str, ...] = field(default=tuple(PROBLEMS), metadata={"help": f"of {list(PROBLEMS)}"})
    losses: tuple[str, ...] = field(default=DEFAULT_LOSSES, metadata={"help": "loss variants (table below)"})
    regularizers: tuple[str, ...] = field(default=tuple(REGULARIZERS), metadata={
        "help": f"of {list(REGULARIZERS)}; the factorial's levels or the search's choices (where they apply)"})
    lrs: tuple[float, ...] = field(default=(1e-4, 1e-3), metadata={
        "help": "factorial: Adam learning rates (G and D)"})
    lr_range: tuple[float, ...] = field(default=(1e-4, 1e-2), metadata={
        "help": "search: learning rates drawn log-uniformly in [LOW, HIGH] (rounded to 3 significant digits)"})
    adam_betas: tuple[str, ...] = field(default=("0.5/0.999", "0.0/0.9"), metadata={
        "help": "Adam betas as b1/b2: the factorial's levels or the search's choices"})
    n_dis: tuple[int, ...] = field(default=(1, 5), metadata={
        "help": "D steps per G step: the factorial's levels or the search's choices"})
    search_samples: int = field(default=16, metadata={"help": "search: settings drawn per problem and loss"})
    search_seed: int = field(default=0, metadata={"help": "search: seed of the draws (with the problem and loss)"})
    seeds: int = field(default=10, metadata={
        "help": "seeds of each factorial setting, or of each re-run of a chosen search setting"})
    first_seed: int = field(default=0, metadata={
        "help": "factorial: seeds first-seed, first-seed + 1, ...; search: sample j trains seed first-seed + j, the "
                "re-runs seeds first-seed + search-samples, ..."})
    epochs: int = field(default=30, metadata={"help": "passes over the training set"})
    eval_every: int = field(default=1, metadata={
        "help": "epochs between evaluations of the ranked runs (traces, runaway check); search samples are "
                "evaluated at the end only"})
    n_train: int = field(default=50_000, metadata={"help": "training samples (drawn once, data seed 0)"})
    batch_size: int = field(default=128, metadata={"help": "minibatch size"})
    width: int = field(default=128, metadata={"help": "hidden width of G and D"})
    depth: int = field(default=3, metadata={"help": "hidden layers of G and D"})
    n_eval: int = field(default=10_000, metadata={"help": "generated samples per seed for the mode metrics"})
    n_fit: int = field(default=5000, metadata={"help": "generator samples for the 1D mixture fit"})
    runaway_factor: float = field(default=10.0, metadata={
        "help": "a generator whose W1 to the data exceeds this many times the data's RMS radius has run away"})
    seed_batch: int = field(default=40, metadata={"help": "seeds trained together"})
    dpi: int = field(default=110, metadata={"help": "PNG resolution"})

    def __post_init__(self) -> None:
        check_variants(self.losses)
        if self.protocol not in ("factorial", "search"):
            raise ValueError(f"protocol must be 'factorial' or 'search'; got {self.protocol!r}")
        for name, known in (("problems", PROBLEMS), ("regularizers", REGULARIZERS)):
            vals = getattr(self, name)
            if not vals or any(v not in known for v in vals):
                raise ValueError(f"{name} must be a non-empty subset of {list(known)}; got {list(vals)}")
        if not self.adam_betas:
            raise ValueError("adam_betas must name at least one b1/b2 pair")
        for b in self.adam_betas:
            parse_betas(b)
        if not self.lrs or any(not (lr > 0) for lr in self.lrs):
            raise ValueError(f"lrs must be positive; got {self.lrs}")
        if len(self.lr_range) != 2 or not (0 < self.lr_range[0] <= self.lr_range[1]):
            raise ValueError(f"lr_range must be two learning rates 0 < LOW <= HIGH; got {self.lr_range}")
        if not self.n_dis or any(isinstance(n, bool) or n < 1 for n in self.n_dis):
            raise ValueError(f"n_dis values must be positive integers; got {self.n_dis}")
        _positive_ints(self, ("seeds", "search_samples", "epochs", "eval_every", "n_train", "batch_size", "width",
                              "depth", "n_eval", "n_fit", "seed_batch", "dpi"))
        for name in ("first_seed", "search_seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
        if isinstance(self.runaway_factor, bool) or not (math.isfinite(self.runaway_factor) and self.runaway_factor > 0):
            raise ValueError(f"runaway_factor must be a positive number; got {self.runaway_factor!r}")
        if self.protocol == "search" and self.eval_every >= self.epochs:
            raise ValueError(f"the search protocol evaluates the re-runs every eval_every epochs and a search run at "
                             f"the end only, so eval_every must be less than epochs; got eval_every="
                             f"{self.eval_every}, epochs={self.epochs}")

    # ------------------------------------------------------------------ settings
    def factorial_settings(self, loss: str) -> list[Setting]:
        """The factorial design's settings of ``loss``: regularizer (where it applies) × lr × betas × n_dis."""
        return [Setting(reg, lr, *parse_betas(b), n) for reg in self.regularizers if regularizer_applies(loss, reg)
                for lr in self.lrs for b in self.adam_betas for n in self.n_dis]

    def search_space(self, loss: str) -> dict:
        """What the search draws from for ``loss``: lr range (log-uniform) and the discrete choices."""
        return {"lr_log_uniform": list(self.lr_range), "adam_betas": [list(parse_betas(b)) for b in self.adam_betas],
                "n_dis": list(self.n_dis),
                "regularizers": [r for r in self.regularizers if regularizer_applies(loss, r)]}

    def search_settings(self, problem: str, loss: str) -> list[Setting]:
        """The ``search_samples`` settings drawn for (problem, loss) from ``default_rng((search_seed, crc32(problem),
        crc32(loss)))``: lr = 10^U(log10 LOW, log10 HIGH) rounded to 3 significant digits, then betas, n_dis and the
        regularizer each uniform over their choices."""
        space = self.search_space(loss)
        rng = np.random.default_rng([self.search_seed, zlib.crc32(problem.encode()),
                                     zlib.crc32(canonical(loss).encode())])
        lo, hi = np.log10(self.lr_range)
        out = []
        for _ in range(self.search_samples):
            lr = float(f"{10 ** rng.uniform(lo, hi):.3g}")
            b1, b2 = space["adam_betas"][rng.integers(len(space["adam_betas"]))]
            n = int(space["n_dis"][rng.integers(len(space["n_dis"]))])
            reg = space["regularizers"][rng.integers(len(space["regularizers"]))]
            out.append(Setting(reg, lr, b1, b2, n))
        return out

    def search_seeds(self) -> list[int]:
        """Seed of search sample j: first_seed + j."""
        return list(range(self.first_seed, self.first_seed + self.search_samples))

    def beta_pairs(self) -> list[tuple[float, float]]:
        """The Adam (β1, β2) pairs of ``adam_betas``, parsed."""
        return [parse_betas(b) for b in self.adam_betas]

    def rerun_seeds(self) -> tuple[int, ...]:
        """The re-runs' seeds, after every search seed (the selection never saw them)."""
        start = self.first_seed + self.search_samples
        return tuple(range(start, start + self.seeds))

    # ------------------------------------------------------------------ variants
    def toy_config(self, problem: str, loss: str, s: Setting, eval_every: int):
        """The :class:`toy.train.ToyConfig` of one setting."""
        from gan.regularizers import TrainOptions
        from toy.train import ToyConfig

        p, lv = PROBLEMS[problem], resolve(loss)
        opts = TrainOptions(lr_d=s.lr, lr_g=s.lr, beta1=s.beta1, beta2=s.beta2, n_dis=s.n_dis, **lv.own,
                            **REGULARIZERS[s.reg])
        return ToyConfig(mixture=p.make(), n_train=self.n_train, latent_dim=p.latent_dim, g_width=self.width,
                         g_depth=self.depth, d_width=self.width, d_depth=self.depth, loss=lv.loss,
                         loss_params=dict(lv.params), options=opts, batch_size=self.batch_size, epochs=self.epochs,
                         eval_every=eval_every, n_eval=self.n_eval)

    def _variant(self, problem: str, loss: str, stage: str, s: Setting, config, seeds=None, name: str = "") -> Variant:
        labels = {"problem": problem, "loss": canonical(loss), "stage": stage, **s.labels()}
        return Variant(labels, config, name, seeds=seeds,
                       options={"n_fit": self.n_fit, "keep_arrays": stage in RANKED_STAGES})

    def variants(self) -> list[Variant]:
        """The first stage: every factorial setting, or every search sample (one seed each)."""
        out = []
        for problem in self.problems:
            for loss in self.losses:
                if self.protocol == "factorial":
                    out += [self._variant(problem, loss, "factorial", s, self.toy_config(problem, loss, s,
                                                                                         self.eval_every))
                            for s in self.factorial_settings(loss)]
                    continue
                for j, (s, seed) in enumerate(zip(self.search_settings(problem, loss), self.search_seeds())):
                    out.append(self._variant(problem, loss, "search", s, self.toy_config(problem, loss, s,
                                                                                         self.epochs),
                                             (seed,), f"{problem}, {canonical(loss)}, search sample {j}"))
        return out

    def rerun_variants(self, table: pd.DataFrame) -> list[Variant]:
        """The second stage of the search: per (problem, loss), the setting whose search run scored best
        (:func:`best_configurations`), unchanged but evaluated every ``eval_every`` epochs, on :meth:`rerun_seeds`."""
        searched = {v.key: v for v in self.variants()}
        fin = final_table(table[table.stage == "search"], self.runaway_factor)
        out = []
        for r in best_configurations(fin).itertuples():
            v = searched[r.config_key]
            config = replace(v.config, eval_every=self.eval_every)
            s = Setting(v.labels["reg"], v.labels["lr"], v.labels["beta1"], v.labels["beta2"], v.labels["n_dis"])
            out.append(self._variant(r.problem, r.loss, "rerun", s, config, self.rerun_seeds(),
                                     f"{r.problem}, {r.loss}, re-run of the chosen setting"))
        return out


# ----------------------------------------------------------------------------- unit measurements
def empirical_w1(x: np.ndarray, y: np.ndarray) -> float:
    """W1 between the uniform empirical measures of x (n, d) and y (m, d): exact optimal transport with Euclidean
    cost (POT's network simplex, ``ot.emd2``); NaN if x has a non-finite value."""
    import ot

    if not np.isfinite(x).all():
        return math.nan
    return float(ot.emd2([], [], ot.dist(x, y, metric="euclidean")))


class W1Probe:
    """The runaway check's measurement: W1 of each seed's generated samples to a fixed data sample.

    ``rows(G, z, seeds, epoch)`` evaluates G at the first :data:`N_W1` latents of each seed (S, n, k) and returns
    ``w1_data`` rows; the data sample is drawn once from ``default_rng(W1_DATA_SEED)``.
    """

    def __init__(self, P: GaussianMixture, n: int = N_W1):
        self.n = n
        self.data = np.asarray(P.sample(n, np.random.default_rng(W1_DATA_SEED)), dtype=float).reshape(n, P.dim)

    def rows(self, G, z, seeds: list[int], epoch: int) -> list[dict]:
        import torch

        with torch.no_grad():
            x = G(z[:, :self.n]).double().cpu().numpy()
        return [{"seed": s, "epoch": epoch, "metric": "w1_data", "value": empirical_w1(x[i], self.data)}
                for i, s in enumerate(seeds)]


def one_d_exact(variant: Variant, result) -> tuple[list[dict], dict]:
    """For 1D problems: rows of JSD and W1 of P against a 2-component mixture fit Q̂ of each seed's generator and the
    L2(M) distance of D to D*(P, Q̂) where the loss's objective has a probed pointwise D* (``d_star_l2_fit``), at the
    last epoch; arrays ``x_grid``, ``seed<k>/d_logits`` (D's raw output on the grid) and ``seed<k>/q_fit`` (rows:
    weights, means, variances of Q̂)."""
    import torch

    from toy.fit import fit_mixture_1d
    from toy.metrics import DStarProbe

    cfg = variant.config
    if cfg.mixture.dim != 1 or result.G is None:
        return [], {}
    G, D, S = result.G, result.D, len(result.seeds)
    dev, dtype = G.weights[0].device, G.weights[0].dtype
    n_fit = variant.options["n_fit"]
    z = torch.randn(S, n_fit, cfg.latent_dim, generator=torch.Generator().manual_seed(FIT_LATENT_SEED),
                    dtype=dtype).to(dev)
    grid_x = x_grid(cfg.mixture)
    with torch.no_grad():
        x = G(z)[..., 0].double().cpu().numpy()  # (S, n_fit)
        logits = D(torch.as_tensor(grid_x, dtype=dtype, device=dev).reshape(1, -1, 1).expand(S, -1, 1))
    ok = [i for i in range(S) if np.isfinite(x[i]).all()]
    values = {m: [math.nan] * S for m in ("jsd_fit", "w1_fit", "d_star_l2_fit")}
    arrays: dict[str, np.ndarray] = {"x_grid": grid_x.astype(np.float32)}
    if ok:
        fits: list[GaussianMixture] = fit_mixture_1d(x[ok], k=2)
        for name, fn in (("jsd_fit", jsd), ("w1_fit", wasserstein1)):
            for i, v in zip(ok, np.atleast_1d(fn(cfg.mixture, fits))):
                values[name][i] = float(v)
        analytic = cfg.build_loss().analytic
        for i, Q in zip(ok, fits):
            arrays[f"seed{result.seeds[i]}/q_fit"] = np.stack([Q.weights, Q.means[:, 0], Q.covs[:, 0, 0]])
            try:
                probe = DStarProbe(cfg.mixture, Q, analytic, n=4000, seed=0, device=dev, dtype=dtype)
            except ValueError:  # no probed pointwise D* for this objective (WGAN, hinge, f-GAN)
                continue
            values["d_star_l2_fit"][i] = float(probe(D)[0][i])
    d = logits[..., 0].float().cpu().numpy()
    arrays.update({f"seed{s}/d_logits": d[i] for i, s in enumerate(result.seeds)})
    rows = [{"seed": s, "epoch": cfg.epochs, "metric": m, "value": v[i]}
            for m, v in values.items() for i, s in enumerate(result.seeds)]
    return rows, arrays


def divergence_rows(result) -> list[dict]:
    """Rows at the last epoch: ``iterations`` (G steps of the run) and ``nan_iteration`` (the iteration whose loss or
    parameters were first non-finite, as :class:`toy.train.Divergence` records it; NaN if none)."""
    epoch = result.config.epochs
    rows = []
    for s in result.seeds:
        div = result.diverged.get(s)
        rows += [{"seed": s, "epoch": epoch, "metric": "iterations", "value": float(result.iterations)},
                 {"seed": s, "epoch": epoch, "metric": "nan_iteration",
                  "value": float(div.iteration) if div is not None else math.nan}]
    return rows


# ----------------------------------------------------------------------------- summaries (from the table only)
LABEL_COLUMNS = ["problem", "loss", "stage", "reg", "lr", "beta1", "beta2", "n_dis"]
SETTING_COLUMNS = ["reg", "lr", "beta1", "beta2", "n_dis"]


def runaway_epochs(table: pd.DataFrame, factor: float) -> pd.Series:
    """Per (config_key, seed): the first evaluation epoch whose ``w1_data`` exceeds ``factor`` × :func:`data_radius`
    of the problem (NaN if none)."""
    w = table[table.metric == "w1_data"]
    bound = w.problem.map({p: factor * data_radius(PROBLEMS[p].make()) for p in PROBLEMS})
    over = w[w.value > bound]
    first = over.groupby(["config_key", "seed"]).epoch.min()
    return first.rename("runaway_epoch")


def final_table(table: pd.DataFrame, runaway_factor: float) -> pd.DataFrame:
    """One row per run (problem, loss, stage, setting, seed) with the last epoch's metrics as columns, plus
    ``n_modes``, ``modes_fraction`` (the score), ``success`` (all modes captured), ``runaway_iteration`` (see
    :func:`runaway_epochs`; the G steps done at that evaluation) and ``diverged_at`` (the first of the NaN and
    runaway iterations; NaN if the seed did neither)."""
    last = table.groupby("config_key").epoch.transform("max")
    t = table[table.epoch == last]
    idx = LABEL_COLUMNS + ["config_key", "seed"]
    wide = t.pivot(index=idx, columns="metric", values="value").reset_index()
    wide.columns.name = None
    epochs = table.groupby("config_key").epoch.max()
    wide["n_modes"] = wide.problem.map({p: PROBLEMS[p].make().n_components for p in PROBLEMS})
    wide["modes_fraction"] = wide.modes_captured / wide.n_modes
    wide["success"] = (wide.modes_captured == wide.n_modes).astype(float)
    run = runaway_epochs(table, runaway_factor)
    ep = pd.Series([run.get((k, s), math.nan) for k, s in zip(wide.config_key, wide.seed)], index=wide.index)
    wide["runaway_iteration"] = ep * wide.iterations / wide.config_key.map(epochs)
    wide["diverged_at"] = wide[["nan_iteration", "runaway_iteration"]].min(axis=1)
    return wide


def best_configurations(fin: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, loss): the config_key with the highest mean score (ties: higher mean HQ fraction, then lower
    mean mode-histogram KL, then the first in table order)."""
    keys = ["problem", "loss", "config_key"]
    means = fin.groupby(keys, sort=False)[["modes_fraction", "hq_fraction", "mode_reverse_kl"]].mean().reset_index()
    means[["modes_fraction", "hq_fraction"]] = means[["modes_fraction", "hq_fraction"]].fillna(-1.0)
    means["mode_reverse_kl"] = means.mode_reverse_kl.fillna(math.inf)
    best = means.sort_values(["modes_fraction", "hq_fraction", "mode_reverse_kl"], ascending=[False, False, True],
                             kind="stable")
    return best.groupby(["problem", "loss"], sort=False).head(1)[keys].reset_index(drop=True)


def ranked_runs(fin: pd.DataFrame) -> pd.DataFrame:
    """The runs a loss is ranked on: its re-runs (search protocol), or the seeds of its best factorial setting."""
    if (fin.stage == "rerun").any():
        return fin[fin.stage == "rerun"]
    fac = fin[fin.stage == "factorial"]
    return fac[fac.config_key.isin(best_configurations(fac).config_key)]


def tie_groups(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Rank groups of intervals [low_i, high_i]: the connected components of the overlap graph (i ~ j when the
    intervals share a point), numbered 1, 2, ... from the highest; a NaN bound counts as unbounded (the interval
    overlaps everything). Two losses in different groups have disjoint intervals (every interval of a better group
    lies above every interval of a worse one); within a group each interval meets another of the group."""
    lo = np.where(np.isnan(low), -np.inf, np.asarray(low, dtype=float))
    hi = np.where(np.isnan(high), np.inf, np.asarray(high, dtype=float))
    order = np.argsort(-hi, kind="stable")
    groups = np.zeros(len(lo), dtype=int)
    g, floor = 0, math.inf
    for i in order:
        if g == 0 or hi[i] < floor:  # the first, or below every interval of the current group: a new group
            g += 1
            floor = lo[i]
        else:
            floor = min(floor, lo[i])
        groups[i] = g
    return groups


def _interval(values: pd.Series) -> tuple[float, float, float]:
    return bootstrap_mean_ci(values.to_numpy(dtype=float))


def ranking(fin: pd.DataFrame) -> pd.DataFrame:
    """Per problem, the losses with their score on the ranked runs (mean fraction of modes, 95% bootstrap interval),
    rank group (:func:`tie_groups`), success rate (Clopper–Pearson), HQ fraction, diverged seeds (and the first
    iteration), the chosen setting and what the other settings scored; for 1D problems the exact scores of the
    fitted generators (mean and bootstrap interval of JSD(P, Q̂), W1(P, Q̂), ‖D − D*‖)."""
    ranked = ranked_runs(fin)
    rows = []
    for (problem, loss), g in ranked.groupby(["problem", "loss"], sort=False):
        cell = g.iloc[0]
        chosen_from = fin[(fin.problem == problem) & (fin.loss == loss) & fin.stage.isin(["search", "factorial"])]
        chosen = chosen_from[chosen_from.config_key.isin(best_configurations(chosen_from).config_key)]
        k, n = int(g.success.sum()), len(g)
        row = {"problem": problem, "loss": loss, "label": label(loss), **{c: cell[c] for c in SETTING_COLUMNS},
               "config_key": cell.config_key, "seeds": n, "seed_list": " ".join(str(int(s)) for s in g.seed)}
        row.update(zip(("score", "score_ci_low", "score_ci_high"), _interval(g.modes_fraction)))
        s_lo, s_hi = binomial_ci(k, n)
        row.update({"success_rate": k / n, "success_ci_low": s_lo, "success_ci_high": s_hi,
                    "hq_fraction": float(g.hq_fraction.mean()), "diverged": int(g.diverged_at.notna().sum()),
                    "first_diverged_at": float(g.diverged_at.min()),
                    "chosen_score": float(chosen.modes_fraction.mean()),
                    "settings_tried": int(chosen_from.config_key.nunique()),
                    "all_settings_score": float(chosen_from.modes_fraction.mean())})
        for m in ("jsd_fit", "w1_fit", "d_star_l2_fit"):
            if m in g and g[m].notna().any():
                row.update(zip((m, f"{m}_ci_low", f"{m}_ci_high"), _interval(g[m])))
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(2, "rank_group", 0)
    for problem, g in out.groupby("problem", sort=False):
        out.loc[g.index, "rank_group"] = tie_groups(g.score_ci_low.to_numpy(), g.score_ci_high.to_numpy())
    order = {p: i for i, p in enumerate(PROBLEMS)}
    out = out.assign(_p=out.problem.map(order)).sort_values(["_p", "rank_group", "score", "hq_fraction"],
                                                            ascending=[True, True, False, False], kind="stable")
    return out.drop(columns="_p").reset_index(drop=True)


def _ci(r, m: str, fmt: str = ".2f") -> str:
    v, lo, hi = getattr(r, m, math.nan), getattr(r, f"{m}_ci_low", math.nan), getattr(r, f"{m}_ci_high", math.nan)
    if v is None or not np.isfinite(v):
        return "—"
    return f"{v:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]" if np.isfinite(lo) else f"{v:{fmt}}"


def ranking_markdown(rank: pd.DataFrame, cfg: LossComparisonConfig) -> str:
    """The ranking as markdown: the protocol, then one table per problem and its tie groups."""
    search = cfg.protocol == "search"
    chosen = ("chosen by a random search of {n} settings (1 seed each), re-ranked on {s} new seeds"
              if search else "chosen among the {n} factorial settings on the same {s} seeds (optimistic)")
    parts = [f"# Loss comparison: ranking ({'random search, then re-runs' if search else 'factorial design'})\n",
             "Score: the fraction of the modes captured at the last evaluation (a mode is captured with at least one "
             f"generated sample within 3σ of it, nearest mean; {cfg.n_eval:,} samples per seed), averaged over the "
             "ranked seeds, with a 95% percentile-bootstrap interval (10,000 resamples). Losses whose intervals "
             "overlap (directly or through a chain) share a rank group and are tied, not ranked. Success: every mode "
             "captured (Clopper–Pearson 95%). Diverged: NaN/inf losses or parameters, or a generator that ran away "
             f"(W1 to the data above {cfg.runaway_factor:g} × the data's RMS radius), with the first iteration "
             "(G steps) it was seen.\n"]
    for problem, g in rank.groupby("problem", sort=False):
        n_set = int(g.settings_tried.max())
        parts.append(f"## {PROBLEMS[problem].title} ({PROBLEMS[problem].make().n_components} modes)\n")
        parts.append("Setting per loss " + chosen.format(n=n_set, s=int(g.seeds.max())) + ".\n")
        one_d = "jsd_fit" in g and g.jsd_fit.notna().any()
        head = ["rank group", "loss", "score [95% CI]", "success [95% CI]", "HQ share", "diverged (first at)",
                "setting: regularizer, lr, β1/β2, D steps", "its search score" if search else "its score",
                f"mean over all {n_set} settings"]
        if one_d:
            head += ["JSD(P, Q̂) [95% CI]", "W1(P, Q̂) [95% CI]", "‖D − D*‖ [95% CI]"]
        parts.append("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
        for r in g.itertuples():
            div = f"{r.diverged}/{r.seeds}" + (f" ({r.first_diverged_at:.0f})" if r.diverged else "")
            cells = [str(r.rank_group), r.label, _ci(r, "score"),
                     f"{100 * r.success_rate:.0f}% [{100 * r.success_ci_low:.0f}, {100 * r.success_ci_high:.0f}]",
                     f"{r.hq_fraction:.3f}", div, f"{r.reg}, {r.lr:.3g}, {r.beta1:g}/{r.beta2:g}, {r.n_dis}",
                     f"{r.chosen_score:.2f}", f"{r.all_settings_score:.2f}"]
            if one_d:
                cells += [_ci(r, "jsd_fit", ".4f"), _ci(r, "w1_fit", ".3f"), _ci(r, "d_star_l2_fit", ".3f")]
            parts.append("| " + " | ".join(cells) + " |")
        ties = [", ".join(gg.label) for _, gg in g.groupby("rank_group") if len(gg) > 1]
        parts.append("\nTied (overlapping intervals): " + ("; ".join(f"{{{t}}}" for t in ties) if ties else "none")
                     + ".\n")
        if one_d:
            parts.append("Exact scores of the 1D generators: a 2-component Gaussian mixture Q̂ fitted to "
                         f"{cfg.n_fit:,} samples of each seed's generator, scored against P by `divergences` "
                         "(JSD in nats, at most log 2 = 0.693); ‖D − D*‖ is the L2(½(P + Q̂)) distance of the trained "
                         "D to the closed-form optimal D*(P, Q̂) of the loss's objective, where one is probed "
                         "(vanilla, α, LSGAN; — otherwise). `toy1d_discriminators.png` draws D against D*.\n")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- the study
def write_outputs(table: pd.DataFrame, cfg: LossComparisonConfig, out, arrays: Mapping[str, np.ndarray],
                  jobs: int = 1) -> pd.DataFrame:
    """Ranking, figures and captions from the long table and the arrays (also the ``--plot-only`` path); the figures
    are drawn ``jobs`` at a time (:func:`studies.common.draw_figures`)."""
    from studies import loss_comparison_figures as figs

    fin = final_table(table, cfg.runaway_factor)
    rank = ranking(fin)
    ranked = ranked_runs(fin)
    write_csv_atomic(rank, out / "ranking.csv")
    write_atomic(out / "ranking.md", ranking_markdown(rank, cfg))
    draw_figures([figure_task(draw, out / f"{name}.png", cfg.dpi, caption, figs.STYLE)
                  for name, draw, caption in figs.figures(fin, table, rank, ranked, cfg, arrays)], jobs)
    return rank


class LossComparison(ToyStudy):
    name = NAME
    description = DESCRIPTION
    config_cls = LossComparisonConfig
    table = TABLE
    presets = PRESETS
    epilog = variants_help()

    def variants(self, cfg: LossComparisonConfig) -> list[Variant]:
        return cfg.variants()

    def seeds(self, cfg: LossComparisonConfig) -> range:
        """The factorial's seeds; none for the search (each search sample and re-run carries its own)."""
        return range(cfg.first_seed, cfg.first_seed + cfg.seeds) if cfg.protocol == "factorial" else range(0)

    def followup(self, cfg: LossComparisonConfig, table: pd.DataFrame) -> list[Variant]:
        """The search's second stage (:meth:`LossComparisonConfig.rerun_variants`), once."""
        if cfg.protocol != "search" or (table.stage == "rerun").any():
            return []
        return cfg.rerun_variants(table)

    def run_unit(self, unit: Unit, ctx: UnitContext) -> UnitResult:
        """:meth:`ToyStudy.run_unit` plus the runaway check's ``w1_data`` rows at every evaluation after the start,
        added to the trainer's rows before each checkpoint is written (so a resumed unit has them all: this method
        writes the checkpoints, after the rows), and the rows and arrays of :func:`divergence_rows`,
        :func:`one_d_exact` and :meth:`ToyStudy.arrays`."""
        from toy.train import train_toy

        cfg, seeds = unit.variant.config, list(unit.seeds)
        probe, ckpt, every = W1Probe(cfg.mixture), ctx.checkpoint(), self.checkpoint_every(unit)

        def on_epoch(tr) -> None:
            e = tr.epochs_done
            if tr.rows and tr.rows[-1]["epoch"] == e:  # the trainer has just evaluated
                tr.rows.extend(probe.rows(tr.G, tr.z_eval, seeds, e))
            if e % every == 0 and e < cfg.epochs:
                ckpt.save(tr.state_dict(), progress={"epoch": f"{e}/{cfg.epochs}"})
            last = latest(tr.rows, "modes_captured", len(seeds))
            ctx.progress(float(len(seeds) * e), f"{unit.variant.title()} | modes "
                                                f"{sum(last) / max(len(last), 1):.2f}/{cfg.mixture.n_components}")

        # checkpoint_every beyond the last epoch: train_toy only resumes from the checkpoint; on_epoch writes it
        res = train_toy(cfg, seeds, ctx.device, checkpoint=ckpt, checkpoint_every=cfg.epochs + 1, on_epoch=on_epoch)
        rows, arrays = one_d_exact(unit.variant, res)
        if unit.variant.options["keep_arrays"]:
            arrays.update(self.arrays(unit, res))
        else:  # a search sample: nothing is drawn from it
            arrays = {}
        return UnitResult(res.rows + divergence_rows(res) + rows, arrays)

    def outputs(self, table: pd.DataFrame, cfg: LossComparisonConfig, out, arrays) -> pd.DataFrame:
        return write_outputs(table, cfg, out, arrays, self.figure_jobs)

    def report(self, summary: pd.DataFrame, cfg: LossComparisonConfig) -> str:
        return ranking_markdown(summary, cfg)

    def extra(self, cfg: LossComparisonConfig, variants) -> dict:
        out = {"protocol": cfg.protocol,
               "configurations": {v.title(): {"config_key": v.key, **({"seeds": list(v.seeds)} if v.seeds else {})}
                                  for v in variants}}
        if cfg.protocol == "search":
            out.update(search_space={canonical(loss): cfg.search_space(loss) for loss in cfg.losses},
                       search_seeds=cfg.search_seeds(), rerun_seeds=list(cfg.rerun_seeds()))
        return out


STUDY = LossComparison()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.loss_comparison", argv)


if __name__ == "__main__":
    raise SystemExit(main())
