"""Adversarial losses compared on the analytic toys over a small hyperparameter grid (after Lucic et al. 2018,
"Are GANs created equal?", and Kurach et al. 2019, "A large-scale study of regularization and normalization in GANs").

Every loss of ``--losses`` (``gan.losses`` specs or the named variants of :mod:`studies.toy_losses`, shared with
``studies.mode_coverage``; ``--help`` lists the vocabulary; a named variant brings its own regularizer:
``wgan-clip`` weight clipping c = 0.01, ``wgan-gp`` and ``dragan`` penalties with λ = 10) is trained with each extra regularizer of
``--regularizers`` where it is meaningful (``none``; ``sn`` = spectral normalization of D, not with weight
clipping; ``gp`` = WGAN-GP penalty λ = 10, not on top of a loss's own penalty or clipping), on every cell of the
grid learning rate × Adam (β1, β2) × n_dis, for S seeds (batched: one computation per configuration), on:

* ``ring``: 8 Gaussians on the unit circle, variance 1e-4 (``divergences.ring()``), latent N(0, I₂);
* ``grid``: 5×5 Gaussians at {−4, −2, 0, 2, 4}², std 0.05 (``divergences.grid()``), latent N(0, I₂);
* ``toy1d``: the 1D toy of the lecture notes this project was made from, P = ½N(2, 0.3²) + ½N(5, 0.3²) (``divergences.seed_toy().real``), latent N(0, 1).

Metrics per run (last epoch; ``toy.metrics``, rule ``welfert``): modes captured (also as a fraction of the
modes), high-quality fraction, reverse KL of the mode histogram; for ``toy1d`` also the analytic
JSD(P, Q̂) and W1(P, Q̂) of a 2-component Gaussian-mixture fit Q̂ of the generator (``toy.fit``,
``divergences``; 5,000 samples) and the L2(M) distance of the trained D to the closed-form D*(P, Q̂)
of the loss's objective where one exists pointwise (vanilla, α, LSGAN; ``toy.metrics.DStarProbe``).
Success = every mode captured.

Outputs in ``results/loss_comparison/``: ``loss_comparison.csv`` (long: problem, loss, reg, lr, beta1, beta2,
n_dis, config_key, seed, epoch, metric, value), ``ranking.csv``/``ranking.md`` (per problem, losses ranked
by the mean fraction of modes of their best configuration, with 95% t-intervals and Clopper–Pearson
intervals of the success rate; the best configuration is chosen on the same seeds, so its score is
optimistic, as in Lucic et al.'s "best of grid"), ``box_best.png`` and ``box_grid.png`` (each metric per loss,
best configuration / whole grid), ``heatmap_<problem>.png`` (success rate per loss × grid cell), ``run.json``.
``--quick`` is CPU-sized; the defaults are the GPU version.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
import numpy as np
import pandas as pd

from divergences import GaussianMixture, grid, jsd, ring, seed_toy, wasserstein1
from studies.common import pyplot, savefig_atomic, write_atomic, write_csv_atomic
from studies.engine import run_study
from studies.store import Unit, Variant
from studies.toy_study import ToyStudy
from studies.stats import binomial_ci, mean_ci
from studies.toy_losses import canonical, check_variants, resolve, variants_help

DESCRIPTION = "Adversarial losses x regularizers x (lr, betas, n_dis) grid on the ring, the 5x5 grid and the 1D toy"
NAME = "loss_comparison"
TABLE = "loss_comparison.csv"

DEFAULT_LOSSES = ("minimax", "ns", "wgan-clip", "wgan-gp", "lsgan", "hinge", "dragan", "alpha:alpha=0.5",
                  "alpha:alpha=2", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2",
                  "fgan_kl", "fgan_reverse_kl", "fgan_squared_hellinger", "fgan_pearson")
"""The 15 losses compared (``gan.losses`` specs and named variants of :mod:`studies.toy_losses`)."""

REGULARIZERS: dict[str, dict] = {"none": {}, "sn": {"spectral_norm": True}, "gp": {"penalty": "gp"}}


def regularizer_applies(loss: str, reg: str) -> bool:
    """Whether the extra regularizer ``reg`` is meaningful for the loss variant ``loss`` (see the module docstring)."""
    own = resolve(loss).own
    if reg == "sn":
        return "clip" not in own
    if reg == "gp":
        return not own
    return True


PROBLEMS: dict[str, tuple] = {
    "ring": (lambda: ring(8, radius=1.0, var=1e-4), 2),
    "grid": (lambda: grid(5, spacing=2.0, var=0.0025), 2),
    "toy1d": (lambda: seed_toy().real, 1),
}
"""Problem → (data mixture factory, latent dimension)."""

PRESETS = {
    "quick": dict(seeds=3, problems=("ring", "grid", "toy1d"), regularizers=("none",), lrs=(2e-4, 1e-3),
                  adam_betas=("0.5/0.999",), n_dis=(1,), epochs=4, n_train=6400, width=64, depth=3, n_eval=2500),
    "paper": {},
}
"""``quick``: CI-sized (a few minutes on 2 cores; output in ``results/loss_comparison_quick/``); ``paper`` (the
default): the field defaults, sized for a GPU."""


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
class LossComparisonConfig:
    """Settings of the study (each field is a ``--field-name`` option)."""

    problems: tuple[str, ...] = field(default=tuple(PROBLEMS), metadata={"help": f"of {list(PROBLEMS)}"})
    losses: tuple[str, ...] = field(default=DEFAULT_LOSSES, metadata={"help": "loss variants (table below)"})
    regularizers: tuple[str, ...] = field(default=tuple(REGULARIZERS), metadata={"help": f"of {list(REGULARIZERS)}"})
    lrs: tuple[float, ...] = field(default=(1e-4, 1e-3), metadata={"help": "Adam learning rates (G and D)"})
    adam_betas: tuple[str, ...] = field(default=("0.5/0.999", "0.0/0.9"), metadata={"help": "Adam betas as b1/b2"})
    n_dis: tuple[int, ...] = field(default=(1, 5), metadata={"help": "D steps per G step"})
    seeds: int = field(default=10, metadata={"help": "seeds per configuration"})
    first_seed: int = field(default=0, metadata={"help": "seeds are first_seed, first_seed + 1, ..."})
    epochs: int = field(default=30, metadata={"help": "passes over the training set"})
    n_train: int = field(default=50_000, metadata={"help": "training samples (drawn once, data seed 0)"})
    batch_size: int = field(default=128, metadata={"help": "minibatch size"})
    width: int = field(default=128, metadata={"help": "hidden width of G and D"})
    depth: int = field(default=3, metadata={"help": "hidden layers of G and D"})
    n_eval: int = field(default=10_000, metadata={"help": "generated samples per seed for the mode metrics"})
    n_fit: int = field(default=5000, metadata={"help": "generator samples for the 1D mixture fit"})
    seed_batch: int = field(default=40, metadata={"help": "seeds trained together"})
    dpi: int = field(default=110, metadata={"help": "PNG resolution"})

    def __post_init__(self) -> None:
        check_variants(self.losses)
        for name, known in (("problems", PROBLEMS), ("regularizers", REGULARIZERS)):
            vals = getattr(self, name)
            if not vals or any(v not in known for v in vals):
                raise ValueError(f"{name} must be a non-empty subset of {list(known)}; got {list(vals)}")
        for b in self.adam_betas:
            parse_betas(b)
        if not self.lrs or any(not (lr > 0) for lr in self.lrs):
            raise ValueError(f"lrs must be positive; got {self.lrs}")
        if not self.n_dis or any(n < 1 for n in self.n_dis):
            raise ValueError(f"n_dis values must be positive integers; got {self.n_dis}")
        for name in ("seeds", "epochs", "n_train", "batch_size", "width", "depth", "n_eval", "n_fit", "seed_batch",
                     "dpi"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)}")
        if self.first_seed < 0:
            raise ValueError(f"first_seed must be non-negative; got {self.first_seed}")

    def variants(self) -> list[Variant]:
        """Every meaningful (problem, loss, regularizer, lr, betas, n_dis) configuration."""
        from gan.regularizers import TrainOptions
        from toy.train import ToyConfig

        out = []
        for problem in self.problems:
            make, latent = PROBLEMS[problem]
            P = make()
            for loss in self.losses:
                lv = resolve(loss)
                for reg in self.regularizers:
                    if not regularizer_applies(loss, reg):
                        continue
                    for lr in self.lrs:
                        for betas_text in self.adam_betas:
                            betas = parse_betas(betas_text)
                            for n_dis in self.n_dis:
                                opts = TrainOptions(lr_d=lr, lr_g=lr, beta1=betas[0], beta2=betas[1], n_dis=n_dis,
                                                    **lv.own, **REGULARIZERS[reg])
                                cfg = ToyConfig(mixture=P, n_train=self.n_train, latent_dim=latent, g_width=self.width,
                                                g_depth=self.depth, d_width=self.width, d_depth=self.depth,
                                                loss=lv.loss, loss_params=dict(lv.params), options=opts,
                                                batch_size=self.batch_size, epochs=self.epochs,
                                                eval_every=self.epochs, n_eval=self.n_eval)
                                labels = {"problem": problem, "loss": canonical(loss), "reg": reg, "lr": lr,
                                          "beta1": betas[0],
                                          "beta2": betas[1], "n_dis": n_dis}
                                out.append(Variant(labels, cfg, options={"n_fit": self.n_fit}))
        return out


# ----------------------------------------------------------------------------- 1D analytic metrics
def fit_metrics(variant: Variant, result, n_fit: int = 5000) -> list[dict]:
    """For 1D problems: JSD and W1 of P against a 2-component mixture fit Q̂ of each seed's generator, and the
    L2(M) distance of D to D*(P, Q̂) where the loss's objective has a pointwise D*; rows at the last epoch."""
    import torch

    from toy.fit import fit_mixture_1d
    from toy.metrics import DStarProbe

    cfg = variant.config
    if cfg.mixture.dim != 1 or result.G is None:
        return []
    G, D = result.G, result.D
    dev, dtype = G.weights[0].device, G.weights[0].dtype
    z = torch.randn(len(result.seeds), n_fit, cfg.latent_dim, generator=torch.Generator().manual_seed(12345),
                    dtype=dtype).to(dev)
    with torch.no_grad():
        x = G(z)[..., 0].double().cpu().numpy()  # (S, n_fit)
    ok = [i for i in range(len(result.seeds)) if np.isfinite(x[i]).all()]
    values = {m: [math.nan] * len(result.seeds) for m in ("jsd_fit", "w1_fit", "d_star_l2_fit")}
    if ok:
        fits: list[GaussianMixture] = fit_mixture_1d(x[ok], k=2)
        for name, fn in (("jsd_fit", jsd), ("w1_fit", wasserstein1)):
            vals = np.atleast_1d(fn(cfg.mixture, fits))
            for i, v in zip(ok, vals):
                values[name][i] = float(v)
        analytic = cfg.build_loss().analytic
        for i, Q in zip(ok, fits):
            try:
                probe = DStarProbe(cfg.mixture, Q, analytic, n=4000, seed=0, device=dev, dtype=dtype)
            except ValueError:  # no pointwise D* for this objective (WGAN, hinge, f-GAN)
                break
            values["d_star_l2_fit"][i] = float(probe(D)[0][i])
    return [{"seed": s, "epoch": cfg.epochs, "metric": m, "value": v[i]}
            for m, v in values.items() for i, s in enumerate(result.seeds)]


# ----------------------------------------------------------------------------- summaries
GRID_COLUMNS = ["reg", "lr", "beta1", "beta2", "n_dis"]
METRICS_SHOWN = ["modes_fraction", "hq_fraction", "mode_reverse_kl"]


def final_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per run (problem, loss, grid cell, seed) with the last epoch's metrics as columns, plus
    ``n_modes``, ``modes_fraction`` = modes_captured / n_modes and ``success`` (all modes captured)."""
    last = table.groupby("config_key").epoch.transform("max")
    t = table[table.epoch == last]
    idx = ["problem", "loss"] + GRID_COLUMNS + ["config_key", "seed"]
    wide = t.pivot(index=idx, columns="metric", values="value").reset_index()
    wide.columns.name = None
    wide["n_modes"] = wide.problem.map({p: PROBLEMS[p][0]().n_components for p in PROBLEMS})
    wide["modes_fraction"] = wide.modes_captured / wide.n_modes
    wide["success"] = (wide.modes_captured == wide.n_modes).astype(float)
    return wide


def best_configurations(fin: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, loss): the config_key with the highest mean modes fraction (ties: higher mean HQ fraction)."""
    means = fin.groupby(["problem", "loss", "config_key"], sort=False)[["modes_fraction", "hq_fraction"]].mean()
    means = means.fillna(-1.0).reset_index()
    best = means.sort_values(["modes_fraction", "hq_fraction"], ascending=False, kind="stable")
    return best.groupby(["problem", "loss"], sort=False).head(1)[["problem", "loss", "config_key"]]


def ranking(fin: pd.DataFrame) -> pd.DataFrame:
    """Per problem, losses ranked by the mean modes fraction of their best configuration (95% t-interval clipped
    to [0, 1]; success rate with its Clopper–Pearson interval)."""
    best = best_configurations(fin)
    rows = []
    for r in best.itertuples():
        g = fin[fin.config_key == r.config_key]
        cell = g.iloc[0]
        m, lo, hi = mean_ci(g.modes_fraction)
        lo, hi = max(lo, 0.0), min(hi, 1.0)  # the t-interval clipped to the possible range
        k, n = int(g.success.sum()), len(g)
        s_lo, s_hi = binomial_ci(k, n)
        grid_all = fin[(fin.problem == r.problem) & (fin.loss == r.loss)]
        rows.append({"problem": r.problem, "loss": r.loss, **{c: cell[c] for c in GRID_COLUMNS},
                     "config_key": r.config_key, "seeds": n, "modes_fraction": m, "modes_fraction_ci_low": lo,
                     "modes_fraction_ci_high": hi, "success_rate": k / n, "success_ci_low": s_lo,
                     "success_ci_high": s_hi, "hq_fraction": float(g.hq_fraction.mean()),
                     "grid_modes_fraction": float(grid_all.modes_fraction.mean()),
                     "grid_success_rate": float(grid_all.success.mean()),
                     "diverged": int(g.diverged.sum())})
    out = pd.DataFrame(rows)
    out = out.sort_values(["problem", "modes_fraction", "hq_fraction"], ascending=[True, False, False], kind="stable")
    out.insert(1, "rank", out.groupby("problem").cumcount() + 1)
    return out.reset_index(drop=True)


def ranking_markdown(rank: pd.DataFrame) -> str:
    """The ranking as markdown, one table per problem."""
    parts = []
    for problem, g in rank.groupby("problem", sort=False):
        parts.append(f"### {problem}\n\n| rank | loss | best cell (reg, lr, β1/β2, n_dis) | modes fraction [95% CI] | "
                     "success [95% CI] | HQ fraction | grid mean modes fraction | grid success |\n"
                     "|---|---|---|---|---|---|---|---|")
        for r in g.itertuples():
            parts.append(f"| {r.rank} | {r.loss} | {r.reg}, {r.lr:g}, {r.beta1:g}/{r.beta2:g}, {r.n_dis} | "
                         f"{r.modes_fraction:.2f} [{r.modes_fraction_ci_low:.2f}, {r.modes_fraction_ci_high:.2f}] | "
                         f"{100 * r.success_rate:.0f}% [{100 * r.success_ci_low:.0f}, {100 * r.success_ci_high:.0f}] | "
                         f"{r.hq_fraction:.3f} | {r.grid_modes_fraction:.2f} | {100 * r.grid_success_rate:.0f}% |")
        parts.append("")
    return "\n".join(parts)


# ----------------------------------------------------------------------------- figures
def plot_boxes(fin: pd.DataFrame, title: str):
    """Box plots of each metric per loss (rows: problems, columns: metrics)."""
    import seaborn as sns

    plt = pyplot()
    problems = list(dict.fromkeys(fin.problem))
    metrics = METRICS_SHOWN + (["jsd_fit", "w1_fit"] if "jsd_fit" in fin else [])
    height = (1.5 + 0.3 * fin.loss.nunique()) * len(problems)
    fig, axes = plt.subplots(len(problems), len(metrics), figsize=(4.2 * len(metrics), height), squeeze=False)
    for i, problem in enumerate(problems):
        g = fin[fin.problem == problem]
        for j, metric in enumerate(metrics):
            ax = axes[i, j]
            if metric not in g or g[metric].isna().all():
                ax.set_visible(False)
                continue
            with warnings.catch_warnings():  # seaborn ≤ 0.13 passes matplotlib's deprecated `vert`
                warnings.simplefilter("ignore", DeprecationWarning)
                sns.boxplot(data=g, x=metric, y="loss", ax=ax, color="#9ecae1", fliersize=2)
            ax.set_title(f"{problem}: {metric}")
            ax.set_xlabel(metric.replace("_", " "))
            ax.set_ylabel("loss" if j == 0 else "")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_heatmap(fin: pd.DataFrame, problem: str):
    """Success rate per loss (rows) and grid cell (columns) for one problem."""
    import seaborn as sns

    plt = pyplot()
    g = fin[fin.problem == problem].copy()
    g["cell"] = g.apply(lambda r: f"{r.reg} lr={r.lr:g} β={r.beta1:g}/{r.beta2:g} nd={int(r.n_dis)}", axis=1)
    mat = g.pivot_table(index="loss", columns="cell", values="success", aggfunc="mean")
    mat = mat.reindex(list(dict.fromkeys(fin.loss)))
    fig, ax = plt.subplots(figsize=(4.0 + 0.9 * mat.shape[1], 3.5 + 0.35 * mat.shape[0]))
    sns.heatmap(mat, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="viridis", ax=ax, cbar_kws={"label": "success rate"})
    ax.set_xlabel("regularizer, learning rate, Adam betas, D steps per G step")
    ax.set_ylabel("loss")
    ax.set_title(f"{problem}: share of seeds capturing every mode ({g.seed.nunique()} seeds per cell)")
    fig.tight_layout()
    return fig


def write_outputs(table: pd.DataFrame, cfg: LossComparisonConfig, out) -> pd.DataFrame:
    """Ranking and figures from the long table (also the ``--plot-only`` path)."""
    fin = final_table(table)
    rank = ranking(fin)
    write_csv_atomic(rank, out / "ranking.csv")
    write_atomic(out / "ranking.md", ranking_markdown(rank))
    plt = pyplot()
    best = fin[fin.config_key.isin(best_configurations(fin).config_key)]
    figs = {"box_best.png": plot_boxes(best, "Best configuration per loss (seeds of that cell)"),
            "box_grid.png": plot_boxes(fin, "Whole hyperparameter grid (every cell and seed)")}
    figs.update({f"heatmap_{p}.png": plot_heatmap(fin, p) for p in dict.fromkeys(fin.problem)})
    for name, fig in figs.items():
        savefig_atomic(fig, out / name, dpi=cfg.dpi)
        plt.close(fig)
    return rank


class LossComparison(ToyStudy):
    name = NAME
    description = DESCRIPTION
    config_cls = LossComparisonConfig
    table = TABLE
    presets = PRESETS
    default_preset = "paper"
    epilog = variants_help()

    def variants(self, cfg: LossComparisonConfig) -> list[Variant]:
        return cfg.variants()

    def extra_rows(self, unit: Unit, result) -> list[dict]:
        return fit_metrics(unit.variant, result, unit.variant.options["n_fit"])

    def outputs(self, table: pd.DataFrame, cfg: LossComparisonConfig, out, arrays) -> pd.DataFrame:
        return write_outputs(table, cfg, out)

    def report(self, summary: pd.DataFrame, cfg: LossComparisonConfig) -> str:
        return ranking_markdown(summary)


STUDY = LossComparison()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.loss_comparison", argv)


if __name__ == "__main__":
    raise SystemExit(main())
