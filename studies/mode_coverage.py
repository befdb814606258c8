"""Mode coverage across seeds on the 8-mode 2D ring: NS, minimax (saturating) and (α_D, α_G) GANs, Adam β2 = 0.99
vs 0.999.

The experiment of the ISIT 2025 tutorial on GAN losses (in the lecture notes this project was made from), after
Welfert, Otstot, Kurri & Sankar (2023, "(α_D, α_G)-GANs: addressing GAN training instabilities via dual
objectives"; 2024, "Addressing GAN training instabilities via tunable classification losses"), run with the
seed-parallel trainer (``toy.train``):

* data P: 8 equal-weight Gaussians on the unit circle, variance 1e-4 (``divergences.ring()``); 50,000
  training samples drawn once (``data_seed``); the run seed only changes initialisation, minibatch
  order and latents;
* G: Linear(2→400)+ReLU, 3×[Linear(400→400)+ReLU], Linear(400→2), z ~ N(0, I₂); D: the same with width
  200 and LeakyReLU(0.2), sigmoid output (a logit into the loss); batch 128; Adam lr 1e-4, β1 = 0.9,
  β2 ∈ {0.99, 0.999}; 400 epochs; one D step then one G step per minibatch;
* metric (Welfert et al.; ``toy.metrics``, rule ``welfert``): 25,000 generated samples per seed (fixed
  evaluation latents), each assigned to its nearest mean; a mode is captured if at least one sample
  assigned to it lies within 3σ of it; high-quality fraction = share of samples within 3σ of their
  nearest mean; success = 8/8 modes captured, failure = 0/8.

Losses (``--losses``: ``gan.losses`` specs or the named variants of :mod:`studies.toy_losses`, shared with
``studies.loss_comparison``; ``--help`` lists the vocabulary): by default ``ns`` (non-saturating), ``minimax`` (the
saturating GAN) and the (α_D, α_G)-GANs ``alpha_d_alpha_g:alpha_d=0.3,alpha_g=1``, ``...:alpha_d=0.5,alpha_g=1.2``
and ``...:alpha_d=1,alpha_g=1`` (the non-saturating α_G form, ``gan.losses.alpha_d_alpha_g``; (1, 1) is NS, run as a
check that the two implementations agree).

Outputs in ``results/mode_coverage/`` (or ``--out``): ``mode_coverage.csv`` (long: loss, beta2,
config_key, seed, epoch, metric, value), ``summary.csv``/``summary.md`` (success and failure rates with
Clopper–Pearson 95% intervals, mean modes and HQ fraction at the last epoch), ``modes_histogram.png``
(modes captured at the last epoch across seeds, per loss and β2), ``modes_vs_epoch.png`` (mean modes
captured with a 95% t-band versus epochs), ``run.json``. ``--quick`` is a CPU-sized version (smaller
networks, fewer seeds and epochs); ``--seeds 200`` is the paper's sample size. Re-running resumes
(:mod:`studies.engine`); ``--fresh`` starts over; ``--plot-only`` redraws from the CSV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from divergences import ring
from studies.common import draw_figures, figure_task, pyplot, write_atomic, write_csv_atomic
from studies.engine import run_study
from studies.store import Variant
from studies.toy_study import ToyStudy, plot_sample_grid
from studies.stats import binomial_ci, mean_ci
from studies.toy_losses import canonical, check_variants, label, resolve, variants_help

DESCRIPTION = "Modes captured across seeds on the 8-mode ring: NS / minimax / (alpha_D, alpha_G) GANs, Adam beta2"
NAME = "mode_coverage"
TABLE = "mode_coverage.csv"

DEFAULT_LOSSES = ("ns", "minimax", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2",
                  "alpha_d_alpha_g:alpha_d=1,alpha_g=1")
"""The paper's losses (``gan.losses`` specs; (α_D, α_G) = (1, 1) is NS, run as a check of the implementation)."""

CPU_PRESET = dict(losses=("ns", "minimax", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2"),
                  seeds=40, epochs=100, eval_every=5, n_train=25_000, g_width=64, d_width=64, depth=3, n_eval=25_000,
                  lr=5e-4, lr_schedule="cosine")
"""``cpu``: the paper's question (β2 0.99 vs 0.999; NS, minimax and (α_D, α_G) = (0.5, 1.2); (1, 1) is NS and
(0.3, 1) is left out for time) with 40 seeds per cell on networks and a schedule sized for 2 CPU cores: G and D 3
hidden layers of 64 (the paper's: 4 × 400 and 4 × 200), lr 5e-4 annealed to 0 on a cosine (the paper's: 1e-4,
constant), 100 epochs of 25,000 samples (the paper's: 400 of 50,000), the paper's 25,000 evaluation samples and latent
scheme. Not the paper's scale. At a constant rate (``--lr-schedule constant``, committed in
``results/mode_coverage_cpu_constant_lr/``) only 57-62% of the NS and (0.5, 1.2) seeds kept one count over epochs
80-100: a mode held by a handful of samples gains and loses its last one, so the count oscillates and no number of
epochs settles it; the cosine decay ends the run at a rate near 0, where the answer is read. The six cells took
1,999 s (33 minutes) with ``--jobs 2`` on an idle 2-core machine (one cell, 40 seeds as one batched computation: about
8 s an epoch on an idle core)."""

PRESETS = {
    "quick": dict(seeds=6, epochs=10, eval_every=1, n_train=25_000, g_width=64, d_width=64, depth=3, n_eval=5000,
                  lr=1e-3, latents="fresh", g_latents="fresh"),
    "cpu": CPU_PRESET,
    "paper": {},
}
"""``quick``: CI-sized (about 2 minutes on 2 cores; narrower networks, a 10× larger learning rate, 10 epochs of
25,000 samples, fresh latents at every step; output in ``results/mode_coverage_quick/``). ``cpu``: a real answer on
2 CPU cores (see :data:`CPU_PRESET`). ``paper`` (the default): the field defaults, the published setting and the
authors' latent scheme (sized for a GPU)."""


@dataclass(frozen=True)
class ModeCoverageConfig:
    """Settings of the study (each field is a ``--field-name`` option; defaults are the paper's)."""

    losses: tuple[str, ...] = field(default=DEFAULT_LOSSES, metadata={"help": "loss variants (table below)"})
    beta2s: tuple[float, ...] = field(default=(0.99, 0.999), metadata={"help": "Adam beta2 values compared"})
    beta1: float = field(default=0.9, metadata={"help": "Adam beta1 (G and D)"})
    lr: float = field(default=1e-4, metadata={"help": "Adam learning rate (G and D)"})
    lr_schedule: Literal["constant", "linear", "cosine"] = field(default="constant", metadata={
        "help": "the rate over the run (gan.schedules): constant (the paper's), linear (to 0) or cosine (to 0)"})
    seeds: int = field(default=40, metadata={"help": "number of run seeds (200: the paper's sample size)"})
    first_seed: int = field(default=0, metadata={"help": "seeds are first_seed, first_seed + 1, ..."})
    epochs: int = field(default=400, metadata={"help": "passes over the training set"})
    eval_every: int = field(default=10, metadata={"help": "epochs between evaluations"})
    n_modes: int = field(default=8, metadata={"help": "modes on the unit circle"})
    variance: float = field(default=1e-4, metadata={"help": "variance of every mode"})
    n_train: int = field(default=50_000, metadata={"help": "training samples (drawn once)"})
    data_seed: int = field(default=0, metadata={"help": "seed of the training set"})
    n_eval: int = field(default=25_000, metadata={"help": "generated samples per seed and evaluation"})
    batch_size: int = field(default=128, metadata={"help": "minibatch size"})
    g_width: int = field(default=400, metadata={"help": "generator hidden width"})
    d_width: int = field(default=200, metadata={"help": "discriminator hidden width"})
    depth: int = field(default=4, metadata={"help": "hidden layers of G and D"})
    seed_batch: int = field(default=40, metadata={"help": "seeds trained together as one batched computation"})
    checkpoint_every: int = field(default=0, metadata={"help": "epochs between checkpoints (0: epochs // 10)"})
    dtype: Literal["float32", "float64"] = field(default="float32", metadata={"help": "training precision"})
    latents: Literal["fixed", "fresh"] = field(default="fixed", metadata={
        "help": "fixed: n_train latents drawn once per seed, paired with the samples and reshuffled with them every "
                "epoch (the authors' code); fresh: new latents at every step"})
    g_latents: Literal["reuse", "fresh"] = field(default="reuse", metadata={
        "help": "reuse: the G step reuses the D step's latents against the just-updated D (the authors' code); "
                "fresh: the G step draws its own"})
    mode_rule: Literal["welfert", "pacgan", "veegan", "share"] = field(default="welfert", metadata={
        "help": "mode rule (toy.metrics): welfert (>= 1 HQ sample within 3 sigma of its nearest mean; Welfert et al. "
                "2023), pacgan / veegan (the same with the per-axis standardised distance, strict; Lin et al. 2018, "
                "Srivastava et al. 2017), share (>= 1%% of the samples)"})
    dpi: int = field(default=130, metadata={"help": "PNG resolution"})

    def __post_init__(self) -> None:
        check_variants(self.losses)
        if not self.beta2s or any(not 0 <= b < 1 for b in self.beta2s):
            raise ValueError(f"beta2s must be non-empty values in [0, 1); got {self.beta2s}")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must lie in [0, 1); got {self.beta1}")
        for name in ("seeds", "epochs", "eval_every", "n_modes", "n_train", "n_eval", "batch_size", "g_width",
                     "d_width", "depth", "seed_batch", "dpi"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer; got {getattr(self, name)}")
        if self.first_seed < 0 or self.checkpoint_every < 0:
            raise ValueError("first_seed and checkpoint_every must be non-negative")
        if not (self.variance > 0 and self.lr > 0):
            raise ValueError(f"variance and lr must be positive; got {self.variance}, {self.lr}")

    def variants(self) -> list[Variant]:
        """One toy configuration per (loss, β2)."""
        from gan.regularizers import TrainOptions
        from toy.train import ToyConfig

        P = ring(self.n_modes, radius=1.0, var=self.variance)
        out = []
        for name in self.losses:
            lv = resolve(name)
            for b2 in self.beta2s:
                opts = TrainOptions(lr_d=self.lr, lr_g=self.lr, beta1=self.beta1, beta2=b2, lr_schedule=self.lr_schedule,
                                    **lv.own)
                cfg = ToyConfig(mixture=P, n_train=self.n_train, data_seed=self.data_seed, latent_dim=2,
                                g_width=self.g_width, g_depth=self.depth, d_width=self.d_width, d_depth=self.depth,
                                loss=lv.loss, loss_params=dict(lv.params), options=opts, batch_size=self.batch_size,
                                epochs=self.epochs, eval_every=self.eval_every, n_eval=self.n_eval,
                                mode_rule=self.mode_rule, dtype=self.dtype, latents=self.latents,
                                g_latents=self.g_latents)
                out.append(Variant({"loss": canonical(name), "beta2": b2, "mode_rule": self.mode_rule}, cfg,
                                   f"{lv.label}, β2={b2:g}", options={"checkpoint_every": self.checkpoint_every}))
        return out


# ----------------------------------------------------------------------------- summaries
def final_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Metrics at the last evaluated epoch, one row per (loss, beta2, seed), metrics as columns."""
    last = table.groupby(["loss", "beta2"]).epoch.transform("max")
    t = table[table.epoch == last]
    return t.pivot_table(index=["loss", "beta2", "seed"], columns="metric", values="value").reset_index()


def summarize(table: pd.DataFrame, n_modes: int) -> pd.DataFrame:
    """Per (loss, β2), in the run's order: seeds, success (all modes) and failure (no mode) counts and rates with
    Clopper–Pearson 95% intervals, mean modes captured and mean HQ fraction (95% t-intervals clipped to [0, n_modes] and
    [0, 1]), diverged seeds."""
    fin = final_rows(table)
    rows = []
    for loss, b2 in table[["loss", "beta2"]].drop_duplicates().itertuples(index=False):  # the run's variant order
        g = fin[(fin.loss == loss) & (fin.beta2 == b2)]
        n = len(g)
        succ, fail = int((g.modes_captured == n_modes).sum()), int((g.modes_captured == 0).sum())
        m, lo, hi = mean_ci(g.modes_captured)
        lo, hi = max(lo, 0.0), min(hi, float(n_modes))  # the t-interval clipped to the possible range
        hq, hq_lo, hq_hi = mean_ci(g.hq_fraction)
        s_lo, s_hi = binomial_ci(succ, n)
        f_lo, f_hi = binomial_ci(fail, n)
        cell = table[(table.loss == loss) & (table.beta2 == b2)]
        rows.append({"loss": loss, "beta2": b2, "epoch": int(cell.epoch.max()),
                     "seeds": n, "success": succ, "success_rate": succ / n, "success_ci_low": s_lo,
                     "success_ci_high": s_hi, "failure": fail, "failure_rate": fail / n, "failure_ci_low": f_lo,
                     "failure_ci_high": f_hi, "modes_mean": m, "modes_ci_low": lo, "modes_ci_high": hi,
                     "hq_fraction_mean": hq, "hq_ci_low": max(hq_lo, 0.0), "hq_ci_high": min(hq_hi, 1.0),
                     "diverged": int(g.diverged.sum()),
                     "stable_fraction": stable_fraction(cell)})
    return pd.DataFrame(rows)


def stable_fraction(cell: pd.DataFrame, tail: float = 0.2) -> float:
    """Share of a configuration's seeds whose number of modes captured is the same at every evaluation of the last
    ``tail`` of the epochs (the run has converged for them: the answer stops changing)."""
    modes = cell[cell.metric == "modes_captured"]
    last = modes.epoch.max()
    late = modes[modes.epoch >= (1 - tail) * last]
    per_seed = late.groupby("seed").value.nunique()
    return float((per_seed == 1).mean()) if len(per_seed) else math.nan


def summary_markdown(summary: pd.DataFrame, n_modes: int) -> str:
    """The summary as a markdown table (rates in %, 95% Clopper–Pearson intervals in brackets)."""
    pct = lambda v: f"{100 * v:.0f}"
    lines = [f"| loss | β2 | epoch | seeds | success ({n_modes}/{n_modes}) | failure (0/{n_modes}) | mean modes | "
             "mean HQ fraction | diverged | converged seeds |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        lines.append(
            f"| {label(r.loss)} | {r.beta2:g} | {r.epoch} | {r.seeds} | {pct(r.success_rate)}% "
            f"[{pct(r.success_ci_low)}, {pct(r.success_ci_high)}] | {pct(r.failure_rate)}% "
            f"[{pct(r.failure_ci_low)}, {pct(r.failure_ci_high)}] | {r.modes_mean:.2f} "
            f"[{r.modes_ci_low:.2f}, {r.modes_ci_high:.2f}] | {r.hq_fraction_mean:.3f} "
            f"[{r.hq_ci_low:.3f}, {r.hq_ci_high:.3f}] | {r.diverged} | "
            f"{pct(r.stable_fraction)}% |")
    lines.append("")
    lines.append("Intervals: 95% Clopper–Pearson for rates, 95% t-intervals (clipped to the possible range) for the "
                 "means; converged seeds: the share whose number of modes is constant over the evaluations of the "
                 "last 20% of the epochs.")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- figures
FONT = {"axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11, "ytick.labelsize": 11,
        "legend.fontsize": 11}


def _panel_title(loss: str) -> str:
    """A panel's title: the loss's label; (α_D, α_G) = (1, 1) is NS itself, drawn as a check of the implementation."""
    text = label(loss)
    return text + "  [= NS: a check]" if loss == "alpha_d_alpha_g:alpha_d=1,alpha_g=1" else text


def _panels(n: int):
    plt = pyplot()
    plt.rcParams.update(FONT)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.9 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, axes.flat


def _beta_colors(table: pd.DataFrame) -> dict:
    return dict(zip(sorted(table.beta2.unique()), ("tab:blue", "tab:orange", "tab:green", "tab:red")))


def _legend_below(fig, axes, n_cols: int) -> None:
    """One legend for the figure, below the panels, so it covers no data."""
    handles, labels = next(iter(axes)).get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=n_cols, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))


def plot_histogram(table: pd.DataFrame, n_modes: int, dpi: int):
    """Seeds by the number of modes captured at the last epoch: one panel per loss, bars per β2."""
    fin = final_rows(table)
    losses = list(dict.fromkeys(fin.loss))
    colors = _beta_colors(table)
    plt, fig, axes = _panels(len(losses))
    axes = list(axes)
    width = 0.8 / max(len(colors), 1)
    for ax, loss in zip(axes, losses):
        g = fin[fin.loss == loss]
        for i, (b2, color) in enumerate(colors.items()):
            counts = g[g.beta2 == b2].modes_captured.round().astype(int).value_counts()
            k = np.arange(n_modes + 1)
            ax.bar(k + (i - (len(colors) - 1) / 2) * width, counts.reindex(k, fill_value=0).to_numpy(), width,
                   color=color, label=f"Adam β2 = {b2:g}")
        ax.set_xticks(range(n_modes + 1))
        ax.yaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.set_xlabel("modes captured at the last epoch")
        ax.set_ylabel("number of seeds")
        ax.set_title(_panel_title(loss))
    _legend_below(fig, axes, len(colors))
    return fig


def plot_modes_vs_epoch(table: pd.DataFrame, n_modes: int, dpi: int):
    """Modes captured against epochs: each seed a thin line (slightly jittered so overlapping seeds show), the mean
    bold with its 95% t-band; one panel per loss, a colour per β2."""
    t = table[table.metric == "modes_captured"]
    losses = list(dict.fromkeys(t.loss))
    colors = _beta_colors(table)
    plt, fig, axes = _panels(len(losses))
    axes = list(axes)
    for ax, loss in zip(axes, losses):
        for b2, g in t[t.loss == loss].groupby("beta2"):
            color = colors[b2]
            jitter = {s: 0.12 * (i / max(g.seed.nunique() - 1, 1) - 0.5) for i, s in enumerate(sorted(g.seed.unique()))}
            for seed, sg in g.groupby("seed"):
                ax.plot(sg.epoch, sg.value + jitter[seed], color=color, alpha=0.15, lw=0.7)
            stats = g.groupby("epoch").value.apply(lambda v: pd.Series(mean_ci(v), index=["m", "lo", "hi"])).unstack()
            ax.plot(stats.index, stats.m, color=color, lw=2.5, label=f"Adam β2 = {b2:g} (mean, 95% band)")
            ax.fill_between(stats.index, stats.lo.clip(0, n_modes), stats.hi.clip(0, n_modes), color=color, alpha=0.2)
        ax.set_ylim(-0.3, n_modes + 0.3)
        ax.set_yticks(range(0, n_modes + 1, 2))
        ax.set_xlabel("epoch")
        ax.set_ylabel("modes captured")
        ax.set_title(_panel_title(loss))
    _legend_below(fig, axes, len(colors))
    return fig


def plot_samples(table: pd.DataFrame, arrays, cfg: ModeCoverageConfig, n_show: int = 3):
    """Final samples of the first seeds of each (loss, β2) over the ring's means, with their modes captured."""
    pyplot().rcParams.update(FONT)
    keys = table[["loss", "beta2", "config_key"]].drop_duplicates()
    means = ring(cfg.n_modes, radius=1.0, var=cfg.variance).means
    modes = table[table.metric == "modes_captured"]
    modes = modes[modes.epoch == modes.groupby("config_key").epoch.transform("max")]
    modes = modes.set_index(["config_key", "seed"]).value
    rows = [(r.config_key, f"{label(r.loss)}, β2 {r.beta2:g}", means, 1.6) for r in keys.itertuples()]
    return plot_sample_grid(table, arrays, rows, n_show, lambda key, seed: f"{int(modes[(key, seed)])} modes")


CAPTIONS = {
    "modes_vs_epoch.png": "Modes captured (of {n}) against epochs, one panel per loss: thin lines are the seeds "
                          "(jittered by ±0.06 so that overlapping seeds show), bold the mean over seeds with its 95% "
                          "t-band, a colour per Adam β2.",
    "modes_histogram.png": "Number of seeds (of {seeds}) by the modes they capture at the last epoch, one panel per "
                           "loss, bars per Adam β2.",
    "samples.png": "The last evaluation's generated samples (first {keep} of {n_eval}) of the first three seeds of "
                   "each configuration (blue) over the ring's means (black x); the title gives the modes captured.",
}


def write_captions(cfg: ModeCoverageConfig, out, n_seeds: int) -> None:
    """``captions.md``: what each figure plots and the protocol."""
    protocol = (f"Protocol: {cfg.n_modes}-mode ring (variance {cfg.variance:g}); {n_seeds} seeds per configuration; "
                f"G and D {cfg.depth} hidden layers of {cfg.g_width} / {cfg.d_width}; Adam lr {cfg.lr:g} "
                f"({cfg.lr_schedule} schedule), β1 "
                f"{cfg.beta1:g}; {cfg.epochs} epochs of {cfg.n_train:,} samples at batch {cfg.batch_size}; latents "
                f"{cfg.latents}, G step latents {cfg.g_latents}; evaluated every {cfg.eval_every} epochs on "
                f"{cfg.n_eval:,} samples from fixed latents; mode rule `{cfg.mode_rule}` (toy.metrics).")
    lines = ["# Figures of this run", ""]
    for name, text in CAPTIONS.items():
        lines += [f"* `{name}`: " + text.format(n=cfg.n_modes, seeds=n_seeds, keep=STUDY.keep_samples,
                                                 n_eval=cfg.n_eval), ""]
    write_atomic(out / "captions.md", "\n".join(lines + [protocol, ""]))


def write_outputs(table: pd.DataFrame, cfg: ModeCoverageConfig, out, arrays=None, jobs: int = 1) -> pd.DataFrame:
    """Summary tables, figures and captions from the long table and the kept samples (also ``--plot-only``); the
    figures are drawn ``jobs`` at a time (:func:`studies.common.draw_figures`)."""
    summary = summarize(table, cfg.n_modes)
    write_csv_atomic(summary, out / "summary.csv")
    write_atomic(out / "summary.md", summary_markdown(summary, cfg.n_modes))
    figs = {"modes_histogram.png": lambda: plot_histogram(table, cfg.n_modes, cfg.dpi),
            "modes_vs_epoch.png": lambda: plot_modes_vs_epoch(table, cfg.n_modes, cfg.dpi)}
    if arrays:
        figs["samples.png"] = lambda: plot_samples(table, arrays, cfg)
    draw_figures([figure_task(draw, out / name, cfg.dpi) for name, draw in figs.items()], jobs)
    write_captions(cfg, out, int(table.seed.nunique()))
    return summary


class ModeCoverage(ToyStudy):
    name = NAME
    description = DESCRIPTION
    config_cls = ModeCoverageConfig
    table = TABLE
    presets = PRESETS
    epilog = variants_help()

    def variants(self, cfg: ModeCoverageConfig) -> list[Variant]:
        return cfg.variants()

    def outputs(self, table: pd.DataFrame, cfg: ModeCoverageConfig, out, arrays) -> pd.DataFrame:
        return write_outputs(table, cfg, out, arrays, self.figure_jobs)

    def report(self, summary: pd.DataFrame, cfg: ModeCoverageConfig) -> str:
        return summary_markdown(summary, cfg.n_modes)


STUDY = ModeCoverage()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.mode_coverage", argv)


if __name__ == "__main__":
    raise SystemExit(main())
