"""Figures of :mod:`studies.loss_comparison`, each with a short caption: drawn from the saved table and arrays only
(so ``--plot-only`` redraws them).

:func:`figures` lists them as (name, draw, caption): ``<name>.png`` and ``<name>.md`` are written side by side.

* ``scores``: the score of every ranked seed per loss (dots), its mean and 95% bootstrap interval, rank groups;
* ``search`` (search protocol): every search sample's learning rate, D steps, regularizer and score, the chosen one
  ringed; ``heatmap_<problem>`` (factorial): the success rate of every loss × setting;
* ``samples_<problem>``: the final generated samples of three ranked seeds per loss over the data's modes (2D) or
  the data's density (1D);
* ``traces``: per seed, the W1 of the generated samples to the data and the fraction of modes against G steps;
* ``toy1d_exact`` and ``toy1d_discriminators`` (1D toy): JSD(P, Q̂), W1(P, Q̂) and ‖D − D*‖ per seed; the trained D
  against the closed-form D*(P, Q̂) of its objective.

Figures use :data:`STYLE` (font sizes readable at the pixel sizes they are saved at), panel titles in words, losses
by their readable labels (:func:`studies.toy_losses.label`), no figure title over the panel titles, legends outside
the axes.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pandas as pd

from studies.common import pyplot
from studies.toy_problems import PROBLEMS, data_radius, x_grid
from studies.toy_losses import label, resolve

STYLE = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10, "ytick.labelsize": 10,
         "legend.fontsize": 10, "figure.constrained_layout.use": True}
"""rcParams of every figure (drawn at ``--dpi``, 110 by default: an 11 pt label is 17 px high)."""

N_SHOW = 3
"""Seeds per loss in the sample scatter plots (at most; see :func:`seeds_shown`) and the discriminator panels."""
MAX_SAMPLE_PANELS = 24
"""Panels of a sample figure at most: with many losses it shows fewer seeds per loss (15 losses: one each)."""


def seeds_shown(n_losses: int) -> int:
    """Seeds per loss in a sample figure: :data:`N_SHOW`, fewer when the losses would need more than
    :data:`MAX_SAMPLE_PANELS` panels (at least one)."""
    return max(1, min(N_SHOW, MAX_SAMPLE_PANELS // max(n_losses, 1)))

Figure = tuple[str, Callable[[], object], str]

LossComparisonConfig = Any
"""A :class:`studies.loss_comparison.LossComparisonConfig` (not imported: that module draws its figures with this one)."""


# ----------------------------------------------------------------------------- captions
def protocol_text(cfg: LossComparisonConfig) -> str:
    """The protocol in words, for every caption."""
    train = (f"Training: {cfg.epochs} epochs of {cfg.n_train:,} samples at batch {cfg.batch_size} (the same number "
             f"of D minibatches for every setting), Adam, G and D MLPs with {cfg.depth} hidden layers of {cfg.width} "
             "units.")
    evaluation = (f"Evaluation: {cfg.n_eval:,} generated samples per seed; a sample is high quality within 3σ of its "
                  "nearest mean, a mode is captured with at least one high-quality sample (rule `welfert`).")
    if cfg.protocol == "search":
        s0, r = cfg.first_seed, cfg.rerun_seeds()
        betas = ", ".join(f"({b1:g}, {b2:g})" for b1, b2 in cfg.beta_pairs())
        how = (f"Protocol (Lucic et al. 2018 at toy scale): per problem and loss a random search of "
               f"{cfg.search_samples} settings (lr log-uniform in [{cfg.lr_range[0]:g}, {cfg.lr_range[1]:g}], Adam "
               f"(β1, β2) from {betas}, D steps per G step from {', '.join(map(str, cfg.n_dis))}, regularizer from "
               f"{', '.join(cfg.regularizers)} where it applies; search seed {cfg.search_seed}), one seed each "
               f"(seeds {s0}–{s0 + cfg.search_samples - 1}); the setting with the best search score re-run unchanged "
               f"on seeds {r[0]}–{r[-1]}, which alone are ranked.")
    else:
        how = (f"Protocol: factorial design (regularizer × lr {', '.join(f'{x:g}' for x in cfg.lrs)} × Adam β "
               f"{', '.join(cfg.adam_betas)} × D steps {', '.join(map(str, cfg.n_dis))}), {cfg.seeds} seeds per "
               f"setting (seeds {cfg.first_seed}–{cfg.first_seed + cfg.seeds - 1}); the best setting per loss is "
               "ranked on the same seeds (optimistic).")
    return f"{how} {train} {evaluation}"


def caption(title: str, what: str, cfg: LossComparisonConfig) -> str:
    return f"# {title}\n\n{what}\n\n{protocol_text(cfg)}\n"


# ----------------------------------------------------------------------------- helpers
def _loss_colors(losses) -> dict[str, tuple]:
    plt = pyplot()
    cmap = plt.get_cmap("tab10")
    return {loss: cmap(i % 10) for i, loss in enumerate(dict.fromkeys(losses))}


def _dots_with_intervals(ax, rows: list[tuple[str, np.ndarray, float, float, float]], xlabel: str,
                         empty_note: str = "") -> None:
    """One row per entry (label, per-seed values, mean, low, high), the first at the top: the values as dots
    (deterministic vertical jitter), the mean as a diamond and the interval as a bar."""
    rng = np.random.default_rng(0)
    n = len(rows)
    for i, (name, values, mean, lo, hi) in enumerate(rows):
        y = n - 1 - i
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            if empty_note:
                ax.text(0.02, y, empty_note, transform=ax.get_yaxis_transform(), va="center", color="0.4")
            continue
        ax.scatter(v, y + rng.uniform(-0.18, 0.18, v.size), s=14, color="0.55", alpha=0.7, linewidths=0, zorder=2)
        if np.isfinite(lo) and np.isfinite(hi):
            ax.hlines(y, lo, hi, color="tab:blue", lw=3, zorder=3)
        ax.scatter([mean], [y], marker="D", s=36, color="black", zorder=4)
    ax.set_yticks(range(n))
    ax.set_yticklabels([r[0] for r in rows][::-1])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)


def _problems(column: pd.Series) -> list[str]:
    """The problems present, in the order of :data:`PROBLEMS`."""
    present = set(column)
    return [p for p in PROBLEMS if p in present]


def _ranked_values(ranked: pd.DataFrame, problem: str, loss: str, metric: str) -> np.ndarray:
    g = ranked[(ranked.problem == problem) & (ranked.loss == loss)]
    return g[metric].to_numpy(dtype=float) if metric in g else np.array([])


# ----------------------------------------------------------------------------- figures
def plot_scores(rank: pd.DataFrame, ranked: pd.DataFrame):
    """Per problem: each loss's per-seed scores, mean and 95% bootstrap interval; ``(k)`` before a label is its rank
    group."""
    plt = pyplot()
    problems = _problems(rank.problem)
    n = int(rank.groupby("problem").size().max())
    fig, axes = plt.subplots(1, len(problems), figsize=(4.8 * len(problems), 1.3 + 0.48 * n), squeeze=False)
    for ax, problem in zip(axes[0], problems):
        g = rank[rank.problem == problem]
        rows = [(f"({r.rank_group}) {r.label}", _ranked_values(ranked, problem, r.loss, "modes_fraction"), r.score,
                 r.score_ci_low, r.score_ci_high) for r in g.itertuples()]
        _dots_with_intervals(ax, rows, "fraction of modes captured")
        ax.set_xlim(-0.04, 1.04)
        ax.set_title(PROBLEMS[problem].title)
    return fig


def plot_exact_1d(rank: pd.DataFrame, ranked: pd.DataFrame):
    """1D toy: JSD(P, Q̂), W1(P, Q̂) and ‖D − D*‖ of every ranked seed per loss, mean and bootstrap interval."""
    plt = pyplot()
    g = rank[rank.problem == "toy1d"]
    panels = (("jsd_fit", "JSD(P, Q̂) in nats"), ("w1_fit", "W1(P, Q̂)"), ("d_star_l2_fit", "‖D − D*‖ in L2(½(P + Q̂))"))
    fig, axes = plt.subplots(1, 3, figsize=(14.4, 1.3 + 0.48 * len(g)), squeeze=False)
    for ax, (metric, xlabel) in zip(axes[0], panels):
        rows = [(r.label, _ranked_values(ranked, "toy1d", r.loss, metric), getattr(r, metric, math.nan),
                 getattr(r, f"{metric}_ci_low", math.nan), getattr(r, f"{metric}_ci_high", math.nan))
                for r in g.itertuples()]
        _dots_with_intervals(ax, rows, xlabel, empty_note="no probed pointwise D*")
        ax.set_xlim(left=0)
    axes[0, 0].set_title("divergence of the fitted generator")
    axes[0, 1].set_title("distance of the fitted generator")
    axes[0, 2].set_title("trained D against the optimal D*")
    return fig


def plot_search(fin: pd.DataFrame, rank: pd.DataFrame, cfg: LossComparisonConfig):
    """Search protocol: per problem, every search sample at its learning rate (x), loss (row, offset by regularizer),
    marker by D steps, colour by its score; the chosen setting ringed."""
    from matplotlib.ticker import NullFormatter

    plt = pyplot()
    problems = _problems(rank.problem)
    search = fin[fin.stage == "search"]
    n = int(rank.groupby("problem").size().max())
    offsets = {reg: (i - (len(cfg.regularizers) - 1) / 2) * 0.22 for i, reg in enumerate(cfg.regularizers)}
    markers = dict(zip(sorted(set(cfg.n_dis)), "os^vPX*"))
    fig, axes = plt.subplots(1, len(problems), figsize=(4.8 * len(problems) + 1.2, 1.9 + 0.55 * n), squeeze=False)
    sc = None
    for ax, problem in zip(axes[0], problems):
        g = rank[rank.problem == problem]
        for i, r in enumerate(g.itertuples()):
            y0 = len(g) - 1 - i
            s = search[(search.problem == problem) & (search.loss == r.loss)]
            for nd, marker in markers.items():
                ss = s[s.n_dis == nd]
                sc = ax.scatter(ss.lr, y0 + ss.reg.map(offsets), c=ss.modes_fraction, cmap="viridis", vmin=0, vmax=1,
                                marker=marker, s=42, edgecolors="0.3", linewidths=0.4, zorder=3)
            best = s[(s.reg == r.reg) & (s.lr == r.lr) & (s.beta1 == r.beta1) & (s.beta2 == r.beta2)
                     & (s.n_dis == r.n_dis)]
            ax.scatter(best.lr, y0 + best.reg.map(offsets), s=190, facecolors="none", edgecolors="crimson",
                       linewidths=1.6, zorder=4)
        ax.set_xscale("log")
        ax.set_xlim(cfg.lr_range[0] / 1.25, cfg.lr_range[1] * 1.25)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks(range(len(g)))
        ax.set_yticklabels(list(g.label)[::-1])
        ax.set_ylim(-0.6, len(g) - 0.4)
        ax.set_xlabel("learning rate (G and D)")
        ax.set_title(PROBLEMS[problem].title)
        ax.grid(axis="x", alpha=0.3)
    fig.colorbar(sc, ax=axes[0, -1], label="fraction of modes (one seed)")
    handles = [plt.Line2D([], [], marker=m, ls="", color="0.5", markersize=8, label=f"{nd} D step{'s' if nd > 1 else ''}")
               for nd, m in markers.items()]
    handles.append(plt.Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor="crimson",
                              markersize=13, markeredgewidth=1.6, label="chosen setting"))
    regs = ", ".join(f"{reg} {'below' if off < 0 else 'above' if off > 0 else 'on'} the line"
                     for reg, off in offsets.items())
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False,
               title=f"regularizer: {regs}")
    return fig


def plot_heatmap(fin: pd.DataFrame, problem: str):
    """Factorial design: success rate per loss (rows) and setting (columns) for one problem."""
    import seaborn as sns

    plt = pyplot()
    g = fin[(fin.problem == problem) & (fin.stage == "factorial")].copy()
    g["setting"] = [f"{r.reg}, lr {r.lr:g}, β {r.beta1:g}/{r.beta2:g}, {int(r.n_dis)} D" for r in g.itertuples()]
    g["label"] = g.loss.map(label)
    mat = g.pivot_table(index="label", columns="setting", values="success", aggfunc="mean")
    mat = mat.reindex([label(x) for x in dict.fromkeys(fin.loss)]).dropna(how="all")
    fig, ax = plt.subplots(figsize=(max(7.0, 4.5 + 0.55 * mat.shape[1]), 4.6 + 0.42 * mat.shape[0]))
    sns.heatmap(mat, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="viridis", ax=ax,
                cbar_kws={"label": f"share of the {g.seed.nunique()} seeds capturing every mode"},
                annot_kws={"fontsize": 9})
    ax.tick_params(axis="x", labelrotation=90)
    ax.tick_params(axis="y", labelrotation=0)
    ax.set_xlabel("setting: regularizer, learning rate, Adam betas, D steps per G step")
    ax.set_ylabel("")
    ax.set_title(f"{PROBLEMS[problem].title}: success rate")
    return fig


def _panel_grid(n_loss: int, n_seed: int):
    """(rows, cols, position(loss index, seed index), losses across): seeds down and losses across for a few losses,
    the transpose for many."""
    if n_loss <= 6:
        return n_seed, n_loss, lambda i, j: (j, i), True
    return n_loss, n_seed, lambda i, j: (i, j), False


def plot_samples(ranked: pd.DataFrame, rank: pd.DataFrame, arrays: Mapping[str, np.ndarray], problem: str):
    """The final samples of the first :data:`N_SHOW` ranked seeds per loss: 2D, a scatter over the modes' means;
    1D, a histogram over the data's density (on the grid of the kept discriminators, samples beyond it in the edge
    bins). Each panel's title gives the modes captured and the samples outside the window."""
    plt = pyplot()
    P = PROBLEMS[problem].make()
    g = rank[rank.problem == problem]
    runs = ranked[ranked.problem == problem]
    seeds = sorted(runs.seed.unique())[:seeds_shown(len(g))]
    nr, nc, pos, across = _panel_grid(len(g), len(seeds))
    fig, axes = plt.subplots(nr, nc, figsize=(2.8 * nc, 2.7 * nr + 0.3), squeeze=False)
    if P.dim == 2:
        centre, radius = P.weights @ P.means, data_radius(P)
        span = np.abs(P.means - centre).max() + 6 * np.sqrt(P.covs.diagonal(axis1=1, axis2=2).max()) + 0.1 * radius
        lo, hi = centre - span, centre + span
    else:
        xs = x_grid(P)
        lo, hi = xs[:1], xs[-1:]
    for i, r in enumerate(g.itertuples()):
        for j, seed in enumerate(seeds):
            ax = axes[pos(i, j)]
            x = arrays.get(f"{r.config_key}/seed{seed}/samples")
            run = runs[(runs.loss == r.loss) & (runs.seed == seed)]
            note = f"seed {seed}: " + (f"{int(run.modes_captured.iloc[0])}/{P.n_components} modes" if len(run) else "")
            if x is None:
                ax.text(0.5, 0.5, "no saved samples", transform=ax.transAxes, ha="center")
            elif P.dim == 2:
                ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.45, color="tab:blue", linewidths=0)
                ax.scatter(P.means[:, 0], P.means[:, 1], s=30, marker="x", color="black", linewidths=1.2)
                ax.set_xlim(lo[0], hi[0])
                ax.set_ylim(lo[1], hi[1])
                ax.set_aspect("equal")
                outside = int((~np.all((x >= lo) & (x <= hi), axis=1)).sum())
            else:
                ax.hist(np.clip(x[:, 0], lo[0], hi[0]), bins=80, range=(lo[0], hi[0]), density=True,
                        color="tab:blue", alpha=0.6)
                ax.plot(xs, P.pdf(xs), color="black", lw=1.2)
                ax.set_xlim(lo[0], hi[0])
                ax.set_yticks([])
                outside = int(((x[:, 0] < lo[0]) | (x[:, 0] > hi[0])).sum())
            if x is not None and outside:
                note += f", {outside} outside"
            ax.tick_params(labelsize=8)
            if across:  # the loss heads its column
                ax.set_title(f"{r.label}\n{note}" if j == 0 else note, fontsize=10)
            else:
                ax.set_title(f"{r.label}, {note}", fontsize=10)
    return fig


def plot_traces(table: pd.DataFrame, ranked: pd.DataFrame, cfg: LossComparisonConfig):
    """Per problem (columns): the W1 of the generated samples to the data (top, log scale, the runaway bound dashed)
    and the fraction of modes captured (bottom) against epochs (the budget every setting shares, whatever its D steps
    per G step); thin lines seeds, bold the median (W1) and mean."""
    plt = pyplot()
    keys = set(ranked.config_key)
    t = table[table.config_key.isin(keys)]
    problems = _problems(ranked.problem)
    colors = _loss_colors(ranked.loss)
    n_modes = {p: PROBLEMS[p].make().n_components for p in problems}
    fig, axes = plt.subplots(2, len(problems), figsize=(4.8 * len(problems), 7.2), squeeze=False, sharex="col")
    for c, problem in enumerate(problems):
        tp = t[t.problem == problem]
        for loss, g in tp.groupby("loss", sort=False):
            for row, (metric, scale, agg) in enumerate((("w1_data", 1.0, "median"),
                                                        ("modes_captured", 1 / n_modes[problem], "mean"))):
                m = g[(g.metric == metric) & np.isfinite(g.value)]
                if metric == "modes_captured":
                    m = m[m.epoch > 0]
                ax = axes[row, c]
                for _, s in m.groupby("seed"):
                    ax.plot(s.epoch, scale * s.value, color=colors[loss], alpha=0.22, lw=0.8)
                central = m.groupby("epoch").value.agg(agg)
                ax.plot(central.index, scale * central.values, color=colors[loss], lw=2.2,
                        label=label(loss) if row == 0 else None)
        bound = cfg.runaway_factor * data_radius(PROBLEMS[problem].make())
        axes[0, c].axhline(bound, color="0.3", ls="--", lw=1.2, label="runaway bound" if c == 0 else None)
        axes[0, c].set_yscale("log")
        axes[0, c].set_title(PROBLEMS[problem].title)
        axes[0, c].set_ylabel("W1 of the samples to the data")
        axes[1, c].set_ylabel("fraction of modes captured")
        axes[1, c].set_ylim(-0.03, 1.03)
        axes[1, c].set_xlabel(f"epoch (pass over the {cfg.n_train:,} training samples)")
        for ax in axes[:, c]:
            ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    for ax in axes[0, 1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=min(len(labels), 6), frameon=False)
    return fig


def d_output(objective, logits: np.ndarray) -> np.ndarray:
    """The trained D's raw output in the units of the objective's D*: σ(v) for probability objectives (vanilla, α),
    the f-GAN activation g_f(v) for f-GANs, v itself for the other critics (LSGAN, hinge, WGAN)."""
    from scipy.special import expit

    if objective.output == "probability":
        return expit(logits)
    if objective.f_record is not None:
        return objective.f_record.g_f(logits)
    return logits


def plot_discriminators(ranked: pd.DataFrame, rank: pd.DataFrame, arrays: Mapping[str, np.ndarray]):
    """1D toy, one panel per loss: the trained D (solid) and D*(P, Q̂) of the same seed (dashed) for the first
    :data:`N_SHOW` ranked seeds, over the data density p (grey) and Q̂'s density (dotted; right axis). The WGAN
    critic and its D* (a Kantorovich potential) are defined up to a constant: both are shown with zero mean under
    ½(P + Q̂) on the grid."""
    from divergences import GaussianMixture, get_objective, optimal_discriminator
    from gan.losses import get_loss

    plt = pyplot()
    P = PROBLEMS["toy1d"].make()
    g = rank[rank.problem == "toy1d"]
    runs = ranked[ranked.problem == "toy1d"]
    seeds = sorted(runs.seed.unique())[:N_SHOW]
    nc = min(len(g), 3)
    nr = math.ceil(len(g) / nc)
    fig, axes = plt.subplots(nr, nc, figsize=(4.6 * nc, 3.4 * nr + 0.4), squeeze=False)
    colors = ("tab:blue", "tab:orange", "tab:green")
    for ax in axes.ravel()[len(g):]:
        ax.set_visible(False)
    for ax, r in zip(axes.ravel(), g.itertuples()):
        lv = resolve(r.loss)
        name, params = get_loss(lv.loss, **lv.params).analytic
        obj = get_objective(name, **params)
        xs = arrays.get(f"{r.config_key}/x_grid")
        dens = ax.twinx()
        dens.set_yticks([])
        if xs is None:
            ax.text(0.5, 0.5, "no saved discriminator", transform=ax.transAxes, ha="center")
            continue
        xs = xs.astype(float)
        dens.fill_between(xs, P.pdf(xs), color="0.85", zorder=0)
        for c, seed in zip(colors, seeds):
            logits, q = arrays.get(f"{r.config_key}/seed{seed}/d_logits"), arrays.get(f"{r.config_key}/seed{seed}/q_fit")
            if logits is None:
                continue
            d = d_output(obj, logits.astype(float))
            ax.plot(xs, d, color=c, lw=1.8, label=f"trained D, seed {seed}")
            if q is None:
                continue
            Q = GaussianMixture(q[0], q[1], q[2])
            dens.plot(xs, Q.pdf(xs), color=c, ls=":", lw=1.0)
            ds = np.asarray(optimal_discriminator(P, Q, name, **params)(xs), dtype=float)
            if name == "wgan":  # both defined up to a constant: zero mean under ½(P + Q̂)
                m = 0.5 * (P.pdf(xs) + Q.pdf(xs))
                d, ds = d - np.sum(m * d) / m.sum(), ds - np.sum(m * ds) / m.sum()
                ax.lines[-1].set_ydata(d)
            ax.plot(xs, ds, color=c, lw=1.4, ls="--", label=f"D*(P, Q̂), seed {seed}")
        ax.set_zorder(dens.get_zorder() + 1)
        ax.patch.set_visible(False)
        l2 = getattr(r, "d_star_l2_fit", math.nan)
        ax.set_title(f"{r.label}" + (f": ‖D − D*‖ = {l2:.3f}" if l2 is not None and np.isfinite(l2) else ""))
        ax.set_ylabel("D(x) = σ(logit)" if obj.output == "probability" else "critic value")
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], color="0.2", lw=1.8, label="trained D"),
               plt.Line2D([], [], color="0.2", lw=1.4, ls="--", label="optimal D*(P, Q̂) of the objective"),
               plt.Line2D([], [], color="0.2", lw=1.0, ls=":", label="density of Q̂ (right axis)"),
               plt.Rectangle((0, 0), 1, 1, color="0.85", label="density of P (right axis)")]
    handles += [plt.Line2D([], [], color=c, lw=3, label=f"seed {s}") for c, s in zip(colors, seeds)]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False)
    return fig


# ----------------------------------------------------------------------------- the list
def figures(fin: pd.DataFrame, table: pd.DataFrame, rank: pd.DataFrame, ranked: pd.DataFrame,
            cfg: LossComparisonConfig, arrays: Mapping[str, np.ndarray]) -> Iterator[Figure]:
    """(name, draw, caption) of every figure the run's table supports; ``ranked`` holds the runs each loss is ranked
    on (:func:`studies.loss_comparison.ranked_runs`)."""
    problems = _problems(rank.problem)
    search = cfg.protocol == "search"
    yield ("scores", lambda: plot_scores(rank, ranked), caption(
        "Scores of the losses",
        "Per problem, each loss's fraction of modes captured at the last evaluation: grey dots are the ranked seeds "
        "(jittered vertically), the black diamond their mean, the blue bar its 95% percentile-bootstrap interval "
        "(10,000 resamples). `(k)` before a loss is its rank group: losses whose intervals overlap, directly or "
        "through a chain, share a group and are tied. Losses are sorted by group, then mean.", cfg))
    if search:
        yield ("search", lambda: plot_search(fin, rank, cfg), caption(
            "The random search",
            "Every search sample (one seed each) at its learning rate (x) and loss (row; offset up or down by its "
            "regularizer, see the legend), its marker the D steps per G step, its colour the fraction of modes it "
            "captured; the red ring marks the setting chosen (best score, then high-quality share, then "
            "mode-histogram KL), which was then re-run on new seeds. Adam betas are listed per loss in `ranking.md`.",
            cfg))
    else:
        for problem in problems:
            yield (f"heatmap_{problem}", lambda p=problem: plot_heatmap(fin, p), caption(
                f"Success rates on the {PROBLEMS[problem].title}",
                "Share of the seeds of each loss (rows) and setting of the factorial design (columns) that captured "
                "every mode at the last evaluation.", cfg))
    for problem in problems:
        two_d = PROBLEMS[problem].make().dim == 2
        n_seeds = seeds_shown(int((rank.problem == problem).sum()))
        yield (f"samples_{problem}", lambda p=problem: plot_samples(ranked, rank, arrays, p), caption(
            f"Generated samples on the {PROBLEMS[problem].title}",
            (f"The final generated samples (the first 500 of the {cfg.n_eval:,} evaluated) of the first "
             f"{n_seeds} ranked seed{'s' if n_seeds > 1 else ''} of each loss (its chosen setting), " +
             ("blue dots over the modes' means (black crosses)" if two_d else
              "as a histogram over the data's density (black line)") +
             "; each panel gives the modes that seed captured and how many samples fall outside the drawn window."),
            cfg))
    yield ("traces", lambda: plot_traces(table, ranked, cfg), caption(
        "Training traces of the ranked runs",
        f"Against G steps, per problem: top, the W1 distance between 250 generated samples and 250 fixed data samples "
        f"(exact optimal transport; log scale), with the runaway bound ({cfg.runaway_factor:g} × the data's RMS "
        "distance to its mean, dashed): a seed above it is flagged as diverged at the first evaluation where it "
        "was seen; bottom, the fraction of modes captured. Thin lines are seeds, bold lines the median (W1) and "
        f"the mean (modes) of each loss. Evaluated every {cfg.eval_every} epoch(s).", cfg))
    if "toy1d" in problems:
        yield ("toy1d_exact", lambda: plot_exact_1d(rank, ranked), caption(
            "Exact scores of the trained 1D generators",
            "For the 1D toy, each ranked seed's generator is fitted by a 2-component Gaussian mixture Q̂ "
            f"({cfg.n_fit:,} samples, EM) and scored exactly against P by `divergences`: JSD(P, Q̂) (nats, at most "
            "log 2), W1(P, Q̂), and the L2(½(P + Q̂)) distance of the trained D to the closed-form optimal D*(P, Q̂) of "
            "the loss's objective where one is probed (vanilla, α, LSGAN). Grey dots are seeds, the diamond their "
            "mean, the bar its 95% bootstrap interval.", cfg))
        yield ("toy1d_discriminators", lambda: plot_discriminators(ranked, rank, arrays), caption(
            "Trained discriminators against the optimal one (1D toy)",
            f"One panel per loss (its chosen setting): for the first {N_SHOW} ranked seeds, the trained D at the end "
            "of training (solid; σ(logit) for probability objectives, the raw critic otherwise, the f-GAN "
            "activation for f-GANs) and the closed-form optimal D*(P, Q̂) of the loss's objective for that seed's "
            "fitted generator Q̂ (dashed, same colour), over the densities of P (grey) and Q̂ (dotted). The WGAN "
            "critic and its D* (a Kantorovich potential) are defined up to a constant and drawn with zero mean "
            "under ½(P + Q̂). The title gives the mean ‖D − D*‖ where it is probed.", cfg))


__all__ = ["N_SHOW", "STYLE", "caption", "d_output", "figures", "plot_discriminators", "plot_exact_1d",
           "plot_heatmap", "plot_samples", "plot_scores", "plot_search", "plot_traces", "protocol_text"]
