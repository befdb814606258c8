"""Disjoint supports: why JS gives no gradient and W1 does (Arjovsky, Chintala & Bottou 2017, Example 1).

P = δ_0 × U[0, 1] and Q_θ = δ_θ × U[0, 1], two segments on parallel lines. For θ ≠ 0 the supports are disjoint:

    JSD(P, Q_θ) = log 2,   KL(P||Q_θ) = KL(Q_θ||P) = ∞,   TV(P, Q_θ) = 1,   W1(P, Q_θ) = |θ|,

so only W1 changes with θ: a generator trained on JS, KL or TV gets no gradient. **Smoothing** (instance noise):
convolve both with N(0, σ²I). P_σ has density φ_σ(x) r_σ(y) and Q_σ has φ_σ(x − θ) r_σ(y), with the same
second factor r_σ = U[0, 1] * N(0, σ²). For any f-divergence the shared factor integrates out,

    D_f(P_σ||Q_σ) = ∫∫ φ_σ(x−θ) r_σ(y) f(φ_σ(x) r_σ(y) / (φ_σ(x−θ) r_σ(y))) dx dy = D_f(N(0, σ²) || N(θ, σ²)),

and W1 is unchanged, |θ| (a translation: W1 ≥ ‖E_P X − E_Q X‖ = |θ| by Jensen, and moving every point by θ
costs |θ|). So the smoothed curves are exact 1D computations of ``divergences`` (``jsd``, ``kl``,
``total_variation`` and ``wasserstein1`` of the Gaussians N(0, σ²), N(θ, σ²)); KL = θ²/(2σ²), TV = 2Φ(|θ|/2σ) − 1
and JSD → log 2 as σ → 0 for fixed θ ≠ 0 (tested). Their θ-derivatives are central differences (step
``fd_step``) of those exact values.

Trained discriminators: for each D objective (``vanilla`` = the minimax/NS D loss, ``wgan`` with weight clipping,
``wgan-gp``, ``hinge``) and each training noise σ, one batched computation trains a D for every θ of a grid and
every seed (:func:`toy.critic_fit.fit_critics`, slice = (θ, seed)); then the gradient it hands the generator,
∂_θ L_G, is measured by autograd through the trained D (:func:`toy.disjoint.generator_gradient`) for the
generator loss of each variant (vanilla D: ``minimax`` and ``ns``), and compared with the derivative of the exact
divergence that loss follows at the optimal D: minimax 2 dJSD/dθ, ns d/dθ[KL(Q||P) − 2JSD] (Arjovsky & Bottou
2017, Thm 2.5; infinite without noise), wgan and wgan-gp dW1/dθ = sign θ (a clipped critic is K-Lipschitz for an
unknown K: its gradient is compared after a least-squares scale), hinge 2 dTV/dθ.

Outputs (``results/disjoint_supports/``): ``disjoint_supports.csv`` (long: loss, sigma, theta, seed, x, metric,
value), ``disjoint_supports.png`` (exact curves and the trained D along x, after the paper's Figure 1),
``disjoint_gradients.png`` (trained gradient vs exact derivative), each with a caption ``.md``, ``summary.md``,
``run.json``; all drawn from the table alone (``--plot-only``).

Engine (:mod:`studies.engine`): one seedless unit per exact σ (0 included), and one unit per (D objective,
training σ) holding every seed (``--seeds`` of them, one batched computation whose streams are laid out over the
whole θ × seed grid, so the seed count is part of the unit's configuration); stored in
``results/disjoint_supports/runs/``, reused by a rerun. The trained units come first in the table (they carry the
``seed`` column). ``--preset quick`` (``--quick``) is a CI-sized run (``results/disjoint_supports_quick/``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

import divergences
from divergences import GaussianMixture
from studies.common import pyplot, savefig_atomic, write_atomic
from studies.engine import Study, run_study
from studies.store import Unit, Variant

DESCRIPTION = ("Disjoint supports (Arjovsky et al. 2017, Example 1): exact JS/KL/TV/W1 vs theta with and without "
               "instance noise, and the gradient trained discriminators hand the generator (torch, CPU)")
NAME = "disjoint_supports"
TABLE = "disjoint_supports.csv"
COLUMNS = ["loss", "sigma", "theta", "seed", "x", "metric", "value"]
LOG2 = math.log(2.0)
D_OBJECTIVES = {  # D objective -> (gan.losses name, CriticSpec regularizer fields from the config, generator losses)
    "vanilla": ("ns", lambda cfg: {}, ("minimax", "ns")),
    "wgan": ("wgan", lambda cfg: {"clip": cfg.clip}, ("wgan",)),
    "wgan-gp": ("wgan", lambda cfg: {"penalty": "gp", "penalty_weight": cfg.gp_weight}, ("wgan-gp",)),
    "hinge": ("hinge", lambda cfg: {}, ("hinge",)),
}
G_LOSS = {"minimax": "minimax", "ns": "ns", "wgan": "wgan", "wgan-gp": "wgan", "hinge": "hinge"}
"""Generator-loss label -> the ``gan.losses`` objective whose ``g_loss`` is differentiated."""
MEASURES = ("js", "kl", "tv", "w1")


@dataclass(frozen=True)
class DisjointConfig:
    """Every field is a ``--field-name`` option."""

    theta_max: float = field(default=2.0, metadata={"help": "θ range [-theta_max, theta_max]"})
    n_exact: int = field(default=201, metadata={"help": "θ points of the exact curves (odd: includes 0)"})
    exact_sigmas: tuple[float, ...] = field(default=(0.1, 0.3, 1.0), metadata={
        "help": "instance-noise σ of the exact smoothed curves (σ = 0 is always drawn)"})
    fd_step: float = field(default=1e-4, metadata={"help": "central-difference step of the exact derivatives"})
    n_train_theta: int = field(default=17, metadata={"help": "θ grid of the trained discriminators (odd)"})
    train_sigmas: tuple[float, ...] = field(default=(0.0, 0.3), metadata={"help": "instance noise σ of training"})
    objectives: tuple[str, ...] = field(default=tuple(D_OBJECTIVES), metadata={
        "help": f"D objectives, of {', '.join(D_OBJECTIVES)}"})
    seeds: int = field(default=3, metadata={"help": "seeds per θ"})
    n_train: int = field(default=4096, metadata={"help": "training samples per side and slice"})
    n_eval: int = field(default=4096, metadata={"help": "fakes per slice for the generator gradient"})
    width: int = field(default=32, metadata={"help": "D hidden width"})
    depth: int = field(default=2, metadata={"help": "D hidden layers (LeakyReLU 0.2)"})
    steps: int = field(default=1500, metadata={"help": "Adam steps of D"})
    batch_size: int = field(default=128, metadata={"help": "minibatch per side"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate"})
    clip: float = field(default=0.01, metadata={"help": "WGAN weight clipping c (Arjovsky et al.)"})
    gp_weight: float = field(default=10.0, metadata={"help": "WGAN-GP λ (Gulrajani et al.)"})
    profile_theta: float = field(default=1.0, metadata={"help": "θ whose trained D is drawn along x (nearest grid θ)"})
    seed: int = field(default=0, metadata={"help": "base seed"})
    dpi: int = field(default=120, metadata={"help": "PNG resolution"})

    def __post_init__(self) -> None:
        if not (self.theta_max > 0 and math.isfinite(self.theta_max)):
            raise ValueError(f"theta_max must be finite and > 0; got {self.theta_max!r}")
        for name in ("n_exact", "n_train_theta"):
            v = getattr(self, name)
            if v < 3 or v % 2 == 0:
                raise ValueError(f"{name} must be an odd integer >= 3 (the grid holds θ = 0); got {v!r}")
        if any(not (s > 0 and math.isfinite(s)) for s in self.exact_sigmas) or not self.exact_sigmas:
            raise ValueError(f"exact_sigmas must be finite numbers > 0; got {self.exact_sigmas!r}")
        if any(not (s >= 0 and math.isfinite(s)) for s in self.train_sigmas) or not self.train_sigmas:
            raise ValueError(f"train_sigmas must be finite numbers >= 0; got {self.train_sigmas!r}")
        bad = [o for o in self.objectives if o not in D_OBJECTIVES]
        if bad or not self.objectives or len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives must be distinct names of {list(D_OBJECTIVES)}; got {self.objectives}")
        for name in ("seeds", "n_train", "n_eval", "width", "steps", "batch_size", "dpi"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)!r}")
        for name in ("fd_step", "lr", "clip", "gp_weight"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite and > 0; got {getattr(self, name)!r}")
        if self.depth < 0 or self.seed < 0:
            raise ValueError(f"depth and seed must be >= 0; got {self.depth!r}, {self.seed!r}")

    def exact_thetas(self) -> np.ndarray:
        return np.linspace(-self.theta_max, self.theta_max, self.n_exact)

    def train_thetas(self) -> np.ndarray:
        return np.linspace(-self.theta_max, self.theta_max, self.n_train_theta)


# ----------------------------------------------------------------------------- exact curves
def unsmoothed(theta: np.ndarray) -> dict[str, np.ndarray]:
    """The example's exact values and θ-derivatives without noise (σ = 0): JS = log 2, KL = ∞, TV = 1, W1 = |θ| for
    θ ≠ 0 (all 0 at θ = 0, where P = Q); derivatives 0 except dW1/dθ = sign θ and dKL/dθ (undefined: NaN)."""
    t = np.asarray(theta, float)
    off = t != 0
    return {"js": np.where(off, LOG2, 0.0), "kl": np.where(off, np.inf, 0.0), "tv": off.astype(float),
            "w1": np.abs(t), "d_js": np.zeros_like(t), "d_kl": np.where(off, np.nan, 0.0),
            "d_tv": np.zeros_like(t), "d_w1": np.sign(t)}


def smoothed(theta: np.ndarray, sigma: float, fd_step: float) -> dict[str, np.ndarray]:
    """JSD, KL, TV, W1 of N(0, σ²) and N(θ, σ²) (= those of the smoothed example, module docstring) by
    ``divergences``, and their θ-derivatives by central differences of the same exact values."""
    P = GaussianMixture.gaussian(0.0, sigma**2)
    fns = {"js": divergences.jsd, "kl": divergences.kl, "tv": divergences.total_variation}

    def values(ts: np.ndarray) -> dict[str, np.ndarray]:
        Qs = [GaussianMixture.gaussian(float(t), sigma**2) for t in ts]
        out = {k: np.asarray(fn(P, Qs), float) for k, fn in fns.items()}
        out["w1"] = np.array([divergences.wasserstein1(P, Q) for Q in Qs])
        return out

    t = np.asarray(theta, float)
    mid, up, down = values(t), values(t + fd_step), values(t - fd_step)
    mid.update({f"d_{k}": (up[k] - down[k]) / (2 * fd_step) for k in MEASURES})
    return mid


PRESETS = {
    "quick": dict(steps=60, seeds=1, n_train_theta=5, n_train=256, n_eval=256, n_exact=21, width=8,
                  exact_sigmas=(0.3,), dpi=30),
    "paper": {},
}
"""``quick``: CI-sized (a few seconds; ``results/disjoint_supports_quick/``). ``paper`` (the default): the field
defaults (the committed ``results/disjoint_supports/``)."""


# ----------------------------------------------------------------------------- units
def variants(cfg: DisjointConfig) -> list[Variant]:
    """Trained: one unit per (D objective, training σ) holding the seeds 0..seeds−1 (the study's seeds; their count
    is in the config, module docstring). Exact curves: one seedless unit per σ (0 included)."""
    out = []
    for obj in cfg.objectives:
        name, regs, g_losses = D_OBJECTIVES[obj]
        for s in cfg.train_sigmas:
            spec = {"loss": name, "width": cfg.width, "depth": cfg.depth, "steps": cfg.steps,
                    "batch_size": cfg.batch_size, "lr": cfg.lr, "instance_noise": s, **regs(cfg)}
            out.append(Variant({}, {"kind": "trained", "sigma": s, "objective": obj, "spec": spec,
                                    "g_losses": g_losses, "thetas": tuple(cfg.train_thetas()), "n_train": cfg.n_train,
                                    "n_eval": cfg.n_eval, "profile_theta": cfg.profile_theta,
                                    "theta_max": cfg.theta_max, "base_seed": cfg.seed, "n_seeds": cfg.seeds},
                               f"trained {obj}, σ = {s:g}"))
    out += [Variant({}, {"kind": "exact", "sigma": s, "thetas": tuple(cfg.exact_thetas()), "fd_step": cfg.fd_step},
                    f"exact, σ = {s:g}", seeds=()) for s in (0.0, *cfg.exact_sigmas)]
    return out


EXACT_COLUMNS = [c for c in COLUMNS if c != "seed"]


def unit_rows(config: dict, seeds: tuple[int, ...] = (), device: str = "cpu") -> pd.DataFrame:
    """Rows of one unit (module docstring); pure. Exact units have no ``seed`` column (NaN in the table)."""
    c, sigma = config, float(config["sigma"])
    if c["kind"] == "exact":
        rows: list[dict] = []
        th = np.asarray(c["thetas"])
        vals = unsmoothed(th) if sigma == 0 else smoothed(th, sigma, c["fd_step"])
        for metric, arr in vals.items():
            rows += [{"loss": "exact", "sigma": sigma, "theta": float(t), "x": math.nan,
                      "metric": metric, "value": float(v)} for t, v in zip(th, arr)]
        return pd.DataFrame(rows, columns=EXACT_COLUMNS)
    from toy.threads import one_thread

    with one_thread():
        return pd.DataFrame(_trained_rows(c, tuple(seeds), device), columns=COLUMNS)


def _trained_rows(c: dict, seeds: tuple[int, ...], device) -> list[dict]:
    import torch

    from gan.losses import get_loss
    from toy.critic_fit import CriticSpec, fit_critics, outputs
    from toy.data import seed_generators
    from toy.disjoint import generator_gradient, segment_samples

    sigma = float(c["sigma"])
    rows: list[dict] = []
    thetas = np.asarray(c["thetas"])
    grid = [(t, s) for s in seeds for t in thetas]  # slice order: seed-major
    slice_seeds = [c["base_seed"] * 1_000_003 + 1000 * s + i for s in seeds for i in range(len(thetas))]
    theta_t = torch.tensor([t for t, _ in grid], dtype=torch.float32)
    data_gens = seed_generators(slice_seeds, "data")
    real = segment_samples(torch.zeros_like(theta_t), c["n_train"], data_gens)
    fake = segment_samples(theta_t, c["n_train"], data_gens)
    spec = CriticSpec(**c["spec"])
    fit = fit_critics(spec, real, fake, slice_seeds, device)
    eval_gens = seed_generators(slice_seeds, "eval")
    for g_label in c["g_losses"]:
        grads = generator_gradient(fit.D, get_loss(G_LOSS[g_label]), theta_t, c["n_eval"], eval_gens, sigma)
        rows += [{"loss": g_label, "sigma": sigma, "theta": float(t), "seed": s, "x": math.nan, "metric": "grad",
                  "value": float(g)} for (t, s), g in zip(grid, grads.tolist())]
    rows += [{"loss": g_label, "sigma": sigma, "theta": float(t), "seed": s, "x": math.nan, "metric": "diverged",
              "value": float(d)} for g_label in c["g_losses"] for (t, s), d in zip(grid, fit.diverged.tolist())]
    # the trained D of seed 0 at the θ nearest profile_theta, along x at y = 1/2 (after the paper's Figure 1)
    i = int(np.argmin(np.abs(thetas - c["profile_theta"])))
    xs = np.linspace(-0.75 * c["theta_max"], 1.25 * c["theta_max"], 81)
    pts = torch.tensor(np.stack([xs, np.full_like(xs, 0.5)], axis=1), dtype=torch.float32)
    prof = outputs(fit.D, pts)[grid.index((thetas[i], seeds[0]))]
    rows += [{"loss": c["objective"], "sigma": sigma, "theta": float(thetas[i]), "seed": seeds[0], "x": float(x),
              "metric": "d_profile", "value": float(v)} for x, v in zip(xs, prof.tolist())]
    return rows


# ----------------------------------------------------------------------------- analysis (from the table)
def _exact(df: pd.DataFrame, sigma: float, metric: str) -> pd.Series:
    sel = df[(df["loss"] == "exact") & np.isclose(df["sigma"], sigma) & (df["metric"] == metric)]
    return pd.Series(sel["value"].to_numpy(), index=sel["theta"].to_numpy()).sort_index()


def target(df: pd.DataFrame, loss: str, sigma: float) -> pd.Series:
    """The exact derivative the loss's generator gradient follows at the optimal D (module docstring), vs θ."""
    d = {m: _exact(df, sigma, f"d_{m}") for m in MEASURES}
    if loss == "minimax":
        return 2.0 * d["js"]
    if loss == "ns":
        return d["kl"] - 2.0 * d["js"]  # KL(Q||P) = KL(P||Q) for two Gaussians of one variance
    if loss == "hinge":
        return 2.0 * d["tv"]
    return d["w1"]


def trained(df: pd.DataFrame, loss: str, sigma: float) -> pd.DataFrame:
    """Trained generator gradients vs θ: mean, min, max over seeds."""
    sel = df[(df["loss"] == loss) & np.isclose(df["sigma"], sigma) & (df["metric"] == "grad")]
    return sel.groupby("theta")["value"].agg(["mean", "min", "max"])


def clip_scale(df: pd.DataFrame, sigma: float) -> float:
    """Least-squares K with trained WGAN-clip gradients ≈ K·sign θ (a clipped critic is K-Lipschitz)."""
    tr = trained(df, "wgan", sigma)
    s = np.sign(tr.index.to_numpy())
    return float(np.sum(s * tr["mean"].to_numpy()) / max(np.sum(s * s), 1.0))


def summary(df: pd.DataFrame, cfg: DisjointConfig) -> dict:
    """Per generator loss and training σ: the trained gradient's correlation with the exact target and its size."""
    out: dict = {"smoothed_js_gap_at_theta_1": {}}
    for s in cfg.exact_sigmas:
        js = _exact(df, s, "js")
        k = js.index[np.argmin(np.abs(js.index - 1.0))]
        out["smoothed_js_gap_at_theta_1"][f"{s:g}"] = float(LOG2 - js[k])
    rows = {}
    for obj in cfg.objectives:
        for g in D_OBJECTIVES[obj][2]:
            for s in cfg.train_sigmas:
                tr = trained(df, g, s)
                tgt = target(df, g, s if s > 0 else 0.0) if (s == 0 or s in cfg.exact_sigmas) else None
                rec = {"mean_abs_grad": float(tr["mean"].abs().mean())}
                if tgt is not None:
                    want = np.interp(tr.index, tgt.index, tgt.to_numpy())
                    scale = clip_scale(df, s) if g == "wgan" else 1.0
                    ok = np.isfinite(want) & (tr.index.to_numpy() != 0)  # θ = 0: P = Q, no disjointness
                    rec["rms_error"] = float(np.sqrt(np.mean((tr["mean"].to_numpy()[ok] - scale * want[ok]) ** 2))) \
                        if ok.any() else math.nan
                    if g == "wgan":
                        rec["clip_scale_K"] = scale
                rows[f"{g}/sigma={s:g}"] = rec
    out["gradients"] = rows
    return out


# ----------------------------------------------------------------------------- figures
SIGMA_COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
LOSS_TITLES = {"minimax": "minimax: target 2 dJSD/dθ", "ns": "NS: target d[KL(Q‖P) − 2JSD]/dθ",
               "wgan": "WGAN (clip): target K·dW1/dθ", "wgan-gp": "WGAN-GP: target dW1/dθ",
               "hinge": "hinge: target 2 dTV/dθ"}


def supports_figure(df: pd.DataFrame, cfg: DisjointConfig):
    plt = pyplot()
    fig = plt.figure(figsize=(19, 9.5))
    gs = fig.add_gridspec(2, 4, height_ratios=[1, 1.05], hspace=0.38, wspace=0.28)
    titles = {"js": "JSD(P, Q_θ) (nats)", "kl": "KL(P‖Q_θ) (log scale)", "tv": "TV(P, Q_θ)", "w1": "W1(P, Q_θ)"}
    for j, m in enumerate(MEASURES):
        ax = fig.add_subplot(gs[0, j])
        base = _exact(df, 0.0, m)
        finite = np.isfinite(base.to_numpy())
        ax.plot(base.index[finite], base.to_numpy()[finite], color="k", lw=2.4, label="σ = 0 (disjoint)")
        if m == "kl":
            ax.annotate("σ = 0: ∞ for θ ≠ 0", xy=(0.5, 0.92), xycoords="axes fraction", ha="center", fontsize=11)
        for c, s in zip(SIGMA_COLORS[1:], cfg.exact_sigmas):
            e = _exact(df, s, m)
            ax.plot(e.index, e.to_numpy(), color=c, lw=1.6, ls="--", label=f"smoothed, σ = {s:g}")
        if m == "kl":
            ax.set_yscale("log")
            ax.set_ylim(1e-4, 1e4)
        ax.set_title(titles[m], fontsize=13)
        ax.set_xlabel("θ", fontsize=12)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=10)
        if m == "w1":
            ax.legend(fontsize=10, loc="upper center")
    # the trained D along x (Figure 1 of the paper: the GAN discriminator saturates, the critic is a ramp)
    prof = df[df["metric"] == "d_profile"]
    axp = fig.add_subplot(gs[1, 0:2])
    axc = fig.add_subplot(gs[1, 2:4])
    theta_p = float(prof["theta"].iloc[0]) if len(prof) else cfg.profile_theta
    for k, s in enumerate(cfg.train_sigmas):
        p = prof[(prof["loss"] == "vanilla") & np.isclose(prof["sigma"], s)].sort_values("x")
        if len(p):
            axp.plot(p["x"], 1.0 / (1.0 + np.exp(-p["value"].to_numpy())), color=SIGMA_COLORS[k], lw=2,
                     label=f"trained D = σ(logit), noise σ = {s:g}")
    axp.plot([0, 0], [0, 1], color="k", lw=5, alpha=0.25, label="P (x = 0): D* = 1")
    axp.plot([theta_p, theta_p], [0, 1], color="tab:red", lw=5, alpha=0.25, label=f"Q_θ (x = {theta_p:g}): D* = 0")
    axp.set_title(f"GAN discriminator along x (y = ½), θ = {theta_p:g}: saturates between the supports", fontsize=12)
    axp.set_xlabel("x", fontsize=12)
    axp.set_ylim(-0.05, 1.05)
    axp.grid(alpha=0.3)
    axp.legend(fontsize=10, loc="center right")
    styles = {"wgan-gp": "tab:green", "hinge": "tab:purple", "wgan": "tab:brown"}
    s0 = cfg.train_sigmas[0]
    for obj, color in styles.items():
        p = prof[(prof["loss"] == obj) & np.isclose(prof["sigma"], s0)].sort_values("x")
        if not len(p):
            continue
        v = p["value"].to_numpy()
        at0 = np.interp(0.0, p["x"], v)
        scale = 1.0
        if obj == "wgan":  # clipped critic: unknown Lipschitz constant, drawn rescaled to slope 1 between supports
            slope = (np.interp(theta_p, p["x"], v) - at0) / theta_p
            scale = -1.0 / slope if slope != 0 else 1.0
        axc.plot(p["x"], scale * (v - at0), color=color, lw=2,
                 label=f"trained {obj} critic" + (f" × {scale:.3g}" if obj == "wgan" else "") + f", σ = {s0:g}")
    xs = np.linspace(p["x"].min() if len(prof) else -1, p["x"].max() if len(prof) else 2, 3)
    axc.plot(xs, -np.sign(theta_p) * xs, color="k", ls="--", lw=1.5, label="1-Lipschitz optimal critic −x (W1)")
    axc.axvline(0, color="k", lw=5, alpha=0.25)
    axc.axvline(theta_p, color="tab:red", lw=5, alpha=0.25)
    axc.set_title("critics along x (shifted to 0 at x = 0): a ramp with slope ≈ −1 gives θ a gradient", fontsize=12)
    axc.set_xlabel("x", fontsize=12)
    axc.grid(alpha=0.3)
    axc.legend(fontsize=10, loc="lower left")
    fig.suptitle("Disjoint supports P = δ₀ × U[0,1], Q_θ = δ_θ × U[0,1] (Arjovsky et al. 2017, Example 1): "
                 "only W1 moves with θ; noise σ restores a gradient", fontsize=15)
    return fig


def gradients_figure(df: pd.DataFrame, cfg: DisjointConfig):
    plt = pyplot()
    from matplotlib.lines import Line2D

    losses = [g for obj in cfg.objectives for g in D_OBJECTIVES[obj][2]]
    ncol = 3
    nrow = math.ceil((len(losses) + 1) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.0 * ncol, 4.6 * nrow), squeeze=False)
    notes = []
    for ax, g in zip(axes.flat, losses):
        for k, s in enumerate(cfg.train_sigmas):
            tr = trained(df, g, s)
            color = SIGMA_COLORS[k]
            ax.errorbar(tr.index, tr["mean"], yerr=[tr["mean"] - tr["min"], tr["max"] - tr["mean"]], fmt="o",
                        ms=5, color=color, capsize=2)
            if s == 0 or s in cfg.exact_sigmas:
                tgt = target(df, g, s)
                scale = clip_scale(df, s) if g == "wgan" else 1.0
                ok = np.isfinite(tgt.to_numpy())
                if ok[tgt.index != 0].all():
                    ax.plot(tgt.index, scale * tgt.to_numpy(), color=color, lw=1.8)
                else:
                    notes.append(f"{g} at σ = {s:g}: no finite target (KL(Q‖P) = ∞)")
                if g == "wgan":
                    ax.annotate(f"σ = {s:g}: K = {scale:.2g}", xy=(0.03, 0.93 - 0.08 * k), xycoords="axes fraction",
                                fontsize=11, color=color)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_title(LOSS_TITLES[g], fontsize=13)
        ax.set_xlabel("θ", fontsize=12)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=11)
    for row in axes:
        row[0].set_ylabel("∂L_G/∂θ handed to θ", fontsize=12)
    for ax in list(axes.flat)[len(losses):]:
        ax.axis("off")
    handles = []
    for k, s in enumerate(cfg.train_sigmas):
        handles += [Line2D([], [], color=SIGMA_COLORS[k], marker="o", lw=0, ms=6,
                           label=f"trained D, instance noise σ = {s:g} (mean, min-max over seeds)"),
                    Line2D([], [], color=SIGMA_COLORS[k], lw=1.8, label=f"exact derivative at σ = {s:g}")]
    last = list(axes.flat)[-1]
    last.legend(handles=handles, loc="center", fontsize=12, frameon=False)
    if notes:
        last.text(0.5, 0.08, "\n".join(notes), transform=last.transAxes, ha="center", fontsize=12)
    fig.suptitle("Gradient a trained discriminator hands θ vs the θ-derivative of the exact divergence that loss "
                 "follows at the optimal D", fontsize=15)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def _captions(cfg: DisjointConfig) -> dict[str, str]:
    proto = (f"Trained D: MLP {cfg.depth}×{cfg.width} LeakyReLU(0.2), Adam lr {cfg.lr:g} betas (0.5, 0.999), "
             f"{cfg.steps} steps, batch {cfg.batch_size} per side, {cfg.n_train} training samples per side, one D per "
             f"(θ, seed) on a grid of {cfg.n_train_theta} θ in [−{cfg.theta_max:g}, {cfg.theta_max:g}] × {cfg.seeds} "
             f"seeds, all trained as one batched computation (toy.critic_fit); WGAN clipping c = {cfg.clip:g}, "
             f"WGAN-GP λ = {cfg.gp_weight:g}; instance noise σ ∈ {{{', '.join(f'{s:g}' for s in cfg.train_sigmas)}}} "
             f"on D's inputs (and on the fakes of the generator gradient).")
    return {
        "disjoint_supports.png": (
            "Top: exact JSD, KL, TV and W1 between P = δ₀ × U[0,1] and Q_θ = δ_θ × U[0,1] against θ (black, "
            "σ = 0: log 2, ∞, 1 and |θ| for θ ≠ 0) and after convolving both with N(0, σ²I) (dashed; equal to the 1D "
            "Gaussian pair N(0, σ²), N(θ, σ²), computed by divergences; W1 stays |θ|), "
            f"σ ∈ {{{', '.join(f'{s:g}' for s in cfg.exact_sigmas)}}}. Bottom: the trained discriminator (left, "
            "probability σ(logit)) and critics (right, shifted to 0 at x = 0; the clipped critic rescaled to slope "
            f"−1) along x at y = ½ for θ = {cfg.profile_theta:g}, seed 0, after Figure 1 of Arjovsky et al. 2017. "
            + proto),
        "disjoint_gradients.png": (
            "∂L_G/∂θ that the trained discriminator hands the generator (autograd through D, "
            f"{cfg.n_eval} fakes per θ; dots: mean over {cfg.seeds} seeds, bars: min-max) against the θ-derivative "
            "of the exact divergence each generator loss follows at the optimal D (lines): minimax 2 dJSD/dθ, "
            "NS d[KL(Q‖P) − 2JSD]/dθ (Arjovsky & Bottou 2017, Thm 2.5; infinite without noise), WGAN and WGAN-GP "
            "dW1/dθ = sign θ (clipping: times a least-squares K), hinge 2 dTV/dθ; derivatives by central differences "
            f"(step {cfg.fd_step:g}) of the exact values. " + proto),
    }


def write_outputs(table: pd.DataFrame, cfg: DisjointConfig, out: Path) -> dict:
    """Figures, captions and summary.md from the long table only; returns the summary."""
    plt = pyplot()
    for name, fn in (("disjoint_supports.png", supports_figure), ("disjoint_gradients.png", gradients_figure)):
        fig = fn(table, cfg)
        savefig_atomic(fig, out / name, dpi=cfg.dpi)
        plt.close(fig)
    for name, text in _captions(cfg).items():
        write_atomic(out / name.replace(".png", ".md"), f"# {name}\n\n{text}\n")
    summ = summary(table, cfg)
    write_atomic(out / "summary.md", summary_markdown(summ))
    summ["figures"] = ["disjoint_supports.png", "disjoint_gradients.png"]
    return summ


def summary_markdown(summ: dict) -> str:
    """``summary.md`` (also printed at the end of a run) from :func:`summary`."""
    lines = ["# Disjoint supports: summary", "",
             "log 2 − JSD of the smoothed pair at θ = 1: "
             + ", ".join(f"σ = {s}: {v:.3e}" for s, v in summ["smoothed_js_gap_at_theta_1"].items()), "",
             "| generator loss / training σ | mean |∂L_G/∂θ| | rms error vs exact target |", "|---|---|---|"]
    for key, rec in summ["gradients"].items():
        extra = f" (K = {rec['clip_scale_K']:.3g})" if "clip_scale_K" in rec else ""
        lines.append(f"| {key} | {rec['mean_abs_grad']:.4g} | {rec.get('rms_error', math.nan):.4g}{extra} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- entry point
class DisjointSupports(Study):
    """Exact units (seedless) and trained units (all seeds in one batched computation)."""

    name = NAME
    description = DESCRIPTION
    config_cls = DisjointConfig
    table = TABLE
    presets = PRESETS
    key_column = None

    def variants(self, cfg: DisjointConfig) -> list[Variant]:
        return variants(cfg)

    def seeds(self, cfg: DisjointConfig) -> range:
        return range(cfg.seeds)

    def seed_batch(self, cfg: DisjointConfig) -> int:
        return cfg.seeds

    def run_unit(self, unit: Unit, ctx) -> pd.DataFrame:
        return unit_rows(unit.variant.config, unit.seeds, ctx.device)

    def outputs(self, table: pd.DataFrame, cfg: DisjointConfig, out, arrays) -> dict:
        return write_outputs(table, cfg, out)

    def extra(self, cfg: DisjointConfig, variants) -> dict:
        return {**super().extra(cfg, variants), "figures": ["disjoint_supports.png", "disjoint_gradients.png"]}

    def report(self, summ: dict, cfg: DisjointConfig) -> str:
        return summary_markdown(summ)


STUDY = DisjointSupports()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.disjoint_supports", argv)


if __name__ == "__main__":
    sys.exit(main())
