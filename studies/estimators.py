"""How well do discriminators and sample estimators estimate divergences? Estimates against exact values.

The catalogue (:mod:`toy.catalogue`): the lecture notes' 1D toy (two generators), 1D overlapping and thin-far
Gaussians, the 8-ring against a rotated ring and against a ring with a dropped mode, the shifted 5×5 grid and a
disjoint-looking pair of thin segments; exact KL, reverse KL, JSD, TV, H², Pearson and Neyman χ², Arimoto (α = 2),
W1 and sliced W1, all from :mod:`divergences`.

* **Discriminator-based** (:mod:`toy.critic_fit`, :mod:`toy.estimation`): for each D objective (``--objectives``:
  every f-GAN of the catalogue, the vanilla GAN, the α-GAN α = 2, the WGAN critic with clipping and with GP) and
  each D width, one batched computation trains a D for every (pair, n, seed) of one dimension: n training samples
  per side (``--sizes``), D alone (G is the fixed Q). The variational estimate is the objective at the trained D on
  held-out samples (``n_test`` per side), mapped to its divergence (JSD from the vanilla value, ...); the distance
  ‖D − D*‖ in L2(M), M = ½(P + Q), to the closed-form optimal D (where one exists: not for the 2D WGAN critic).
  A slice whose loss became non-finite is reported (``diverged``) and has no estimate.
* **Sample-based** (:mod:`toy.sample_estimators`, through :func:`toy.catalogue.score_estimator`): empirical W1 by
  exact OT (POT: ``wasserstein_1d`` in 1D, ``emd2`` in 2D up to ``toy.sample_estimators.EMD_MAX`` points),
  sliced W1 (POT, ``n_projections``), and the kNN KL estimator (scipy cKDTree, Wang–Kulkarni–Verdú, k =
  ``knn_k``), on the same samples as the discriminators (the catalogue's streams).

Long table ``estimators.csv``: estimator, divergence, pair, n, width, seed, x, metric, value (metrics: exact,
exact_error, estimate, d_star_l2, diverged, lipschitz, d_profile and d_star_profile along x for 1D pairs and the
widest D).
Figures: ``estimates_vs_exact.png`` (log-log, the diagonal), ``error_vs_n.png`` (relative RMSE vs n per
estimator), ``d_star_l2.png`` (‖D − D*‖ vs n), ``d_vs_dstar_1d.png`` (trained D on D* for the 1D pairs), each with
a caption ``.md``; ``summary.md``, ``run.json``; all drawn from the table alone (``--plot-only``).

Engine (:mod:`studies.engine`): one unit per sample estimator and one per (D objective, width, dimension), each
holding every seed (``--seeds`` of them: the sample sets are consecutive draws of one stream per (pair, n) and the
critics' slices are laid out over the whole (pair, n, seed) grid, so the seed count is part of the unit's
configuration), and one seedless unit of exact values (last in the table: it has no ``seed`` column); stored in
``results/estimators/runs/``, reused by a rerun. ``--preset quick`` (``--quick``) is a CI-sized run
(``results/estimators_quick/``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from studies.common import pyplot, savefig_atomic, write_atomic
from studies.engine import Study, run_study
from studies.store import Unit, Variant

DESCRIPTION = ("Divergence estimators vs exact values: discriminator-based (f-GANs, vanilla, alpha, WGAN clip/GP) "
               "and sample-based (POT OT, sliced W1, kNN KL) on a catalogue of pairs (torch + numpy, CPU)")
NAME = "estimators"
TABLE = "estimators.csv"
COLUMNS = ["estimator", "divergence", "pair", "n", "width", "seed", "x", "metric", "value"]
FGANS = ("kl", "reverse_kl", "pearson", "neyman", "squared_hellinger", "js", "tv")
D_VARIANTS = {  # name -> (gan.losses name, loss parameters, CriticSpec regularizer fields from the config)
    **{f"fgan_{f}": (f"fgan_{f}", {}, lambda cfg: {}) for f in FGANS},
    "vanilla": ("ns", {}, lambda cfg: {}),
    "alpha2": ("alpha", {"alpha": 2.0}, lambda cfg: {}),
    "wgan_clip": ("wgan", {}, lambda cfg: {"clip": cfg.clip}),
    "wgan_gp": ("wgan", {}, lambda cfg: {"penalty": "gp", "penalty_weight": cfg.gp_weight}),
}
SAMPLE = ("w1_ot", "sliced_w1", "knn_kl")
PROFILE_POINTS = 161
TEST_STREAM = 7919  # fourth word of the held-out samples' numpy stream


@dataclass(frozen=True)
class EstimatorsConfig:
    """Every field is a ``--field-name`` option."""

    pairs: tuple[str, ...] = field(default=("toy1d_right", "toy1d_left", "overlap_1d", "thin_far_1d", "ring_rotated",
                                            "ring_dropped", "grid_shift", "disjoint_looking"),
                                   metadata={"help": "catalogue pairs (toy.catalogue.PAIRS)"})
    objectives: tuple[str, ...] = field(default=tuple(D_VARIANTS), metadata={
        "help": f"D objectives, of {', '.join(D_VARIANTS)}"})
    sample_estimators: tuple[str, ...] = field(default=SAMPLE, metadata={"help": f"of {', '.join(SAMPLE)}"})
    sizes: tuple[int, ...] = field(default=(100, 1000, 10000), metadata={"help": "training samples per side"})
    widths: tuple[int, ...] = field(default=(16, 64), metadata={"help": "D hidden widths"})
    depth: int = field(default=2, metadata={"help": "D hidden layers (LeakyReLU 0.2)"})
    seeds: int = field(default=3, metadata={"help": "seeds (independent sample sets and D initialisations)"})
    steps: int = field(default=1000, metadata={"help": "Adam steps of D"})
    batch_size: int = field(default=64, metadata={"help": "minibatch per side (drawn with replacement)"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate (betas 0.5, 0.999)"})
    clip: float = field(default=0.01, metadata={"help": "WGAN weight clipping c"})
    gp_weight: float = field(default=10.0, metadata={"help": "WGAN-GP λ"})
    n_test: int = field(default=10000, metadata={"help": "held-out samples per side"})
    n_projections: int = field(default=200, metadata={"help": "random directions of the sliced W1 estimate"})
    knn_k: int = field(default=5, metadata={"help": "neighbours of the kNN KL estimate"})
    seed: int = field(default=0, metadata={"help": "base seed of the sample streams"})
    dpi: int = field(default=120, metadata={"help": "PNG resolution"})

    def __post_init__(self) -> None:
        from toy.catalogue import PAIRS

        for name, allowed in (("pairs", PAIRS), ("objectives", D_VARIANTS), ("sample_estimators", SAMPLE)):
            vals = getattr(self, name)
            if any(v not in allowed for v in vals) or len(set(vals)) != len(vals):
                raise ValueError(f"{name} must be distinct names of {list(allowed)}; got {vals}")
        if not self.pairs:
            raise ValueError("need at least one pair")
        if not self.sizes or any(n < 10 for n in self.sizes) or list(self.sizes) != sorted(set(self.sizes)):
            raise ValueError(f"sizes must be increasing integers >= 10; got {self.sizes!r}")
        if not self.widths or any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be positive integers; got {self.widths!r}")
        for name in ("seeds", "steps", "batch_size", "n_test", "n_projections", "knn_k", "dpi"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)!r}")
        if self.n_test % 2 or self.depth < 0 or self.seed < 0:
            raise ValueError(f"n_test must be even, depth and seed >= 0; got {self.n_test}, {self.depth}, {self.seed}")
        for name in ("lr", "clip", "gp_weight"):
            if not (getattr(self, name) > 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be finite and > 0; got {getattr(self, name)!r}")


PRESETS = {
    "quick": dict(pairs=("overlap_1d", "grid_shift"), objectives=("vanilla", "fgan_kl", "wgan_clip", "wgan_gp"),
                  sizes=(50, 200), widths=(4, 8), steps=30, seeds=2, n_test=400, n_projections=20, dpi=30),
    "paper": {},
}
"""``quick``: CI-sized (two pairs, four objectives, 30 steps; ``results/estimators_quick/``). ``paper`` (the
default): the field defaults, sized for 2 CPU cores (the committed ``results/estimators/``)."""


# ----------------------------------------------------------------------------- units
def variants(cfg: EstimatorsConfig) -> list[Variant]:
    """One unit per sample estimator, one per (D objective, width, dimension), both holding seeds 0..seeds−1 (their
    count is in the config, module docstring); last, the exact values (one seedless unit)."""
    from toy.catalogue import DIVERGENCES, PAIRS

    common = {"pairs": tuple(cfg.pairs), "sizes": tuple(cfg.sizes), "base_seed": cfg.seed}
    out = [Variant({}, {"kind": "sample", "estimator": name, "n_projections": cfg.n_projections, "knn_k": cfg.knn_k,
                        "n_seeds": cfg.seeds, **common}, name) for name in cfg.sample_estimators]
    for obj in cfg.objectives:
        loss, params, regs = D_VARIANTS[obj]
        for width in cfg.widths:
            for dim in sorted({PAIRS[p].dim for p in cfg.pairs}):
                pairs = tuple(p for p in cfg.pairs if PAIRS[p].dim == dim)
                spec = {"loss": loss, "loss_params": params, "width": width, "depth": cfg.depth, "steps": cfg.steps,
                        "batch_size": cfg.batch_size, "lr": cfg.lr, **regs(cfg)}
                out.append(Variant({}, {"kind": "critic", "estimator": obj, "width": width, "spec": spec,
                                        "n_test": cfg.n_test, **common, "pairs": pairs,
                                        "profiles": width == max(cfg.widths), "n_seeds": cfg.seeds},
                                   f"{obj}, width {width}, {dim}D pairs"))
    out.append(Variant({}, {"kind": "exact", "divergences": tuple(DIVERGENCES), **common}, "exact values", seeds=()))
    return out


def _row(labels: dict, **kw) -> dict:
    base = {"estimator": labels["estimator"], "divergence": "", "pair": "", "n": math.nan, "width": math.nan,
            "seed": math.nan, "x": math.nan}
    return {**base, **{k: v for k, v in labels.items() if k in base}, **kw}


def unit_rows(config: dict, seeds: tuple[int, ...] = (), device="cpu") -> pd.DataFrame:
    """Rows of one unit (module docstring); pure. The exact unit has no ``seed`` column (NaN in the table)."""
    unit = {"config": config, "seeds": tuple(seeds), "labels": {k: config[k] for k in ("estimator", "width")
                                                                 if k in config}}
    kind = config["kind"]
    if kind == "exact":
        return pd.DataFrame(_exact_rows(unit), columns=[c for c in COLUMNS if c != "seed"])
    if kind == "sample":
        return pd.DataFrame(_sample_rows(unit), columns=COLUMNS)
    from toy.threads import one_thread

    with one_thread():
        return pd.DataFrame(_critic_rows(unit, device), columns=COLUMNS)


def _exact_rows(unit: dict) -> list[dict]:
    from toy.catalogue import exact

    c, rows, labels = unit["config"], [], {"estimator": "exact"}
    for pair in c["pairs"]:
        for div in c["divergences"]:
            v, e = exact(pair, div)
            rows.append(_row(labels, divergence=div, pair=pair, metric="exact", value=v))
            rows.append(_row(labels, divergence=div, pair=pair, metric="exact_error", value=e))
    return [{k: v for k, v in r.items() if k != "seed"} for r in rows]


def _sample_rows(unit: dict) -> list[dict]:
    from toy.catalogue import PAIRS, score_estimator
    from toy.sample_estimators import EMD_MAX, SAMPLE_ESTIMATORS

    c, name = unit["config"], unit["labels"]["estimator"]
    div, fn = SAMPLE_ESTIMATORS[name]
    kwargs = {"sliced_w1": {"n_projections": c["n_projections"], "seed": c["base_seed"]},
              "knn_kl": {"k": c["knn_k"]}}.get(name, {})
    rows = []
    for pair in c["pairs"]:
        sizes = [n for n in c["sizes"] if not (name == "w1_ot" and PAIRS[pair].dim > 1 and n > EMD_MAX)]
        scores = score_estimator(lambda x, y: fn(x, y, **kwargs), div, pairs=[pair], sizes=sizes,
                                 repeats=len(unit["seeds"]), seed=c["base_seed"])
        rows += [_row(unit["labels"], divergence=div, pair=pair, n=int(r.n), seed=int(r.repeat), metric="estimate",
                      value=float(r.estimate)) for r in scores.itertuples()]
    return rows


def _test_points(pair: str, n_test: int, base_seed: int) -> tuple[np.ndarray, np.ndarray]:
    from toy.catalogue import PAIRS, sample_pair

    rng = np.random.default_rng([base_seed, list(PAIRS).index(pair), n_test, TEST_STREAM])
    return sample_pair(pair, n_test, rng)


def _critic_rows(unit: dict, device: str) -> list[dict]:
    import torch

    from toy.catalogue import PAIRS, draws
    from toy.critic_fit import CriticSpec, fit_critics, outputs
    from toy.estimation import dstar_at, estimand, l2_distance, lipschitz_estimate, value

    c, labels, seeds = unit["config"], unit["labels"], unit["seeds"]
    spec = CriticSpec(**c["spec"])
    loss = spec.build_loss()
    est = estimand(loss)
    grid = [(p, n, s) for p in c["pairs"] for n in c["sizes"] for s in seeds]
    n_max = max(c["sizes"])
    d = PAIRS[c["pairs"][0]].dim
    real = torch.zeros(len(grid), n_max, d)
    fake = torch.zeros(len(grid), n_max, d)
    samples = {(p, n): list(draws(p, n, len(seeds), c["base_seed"])) for p in c["pairs"] for n in c["sizes"]}
    for i, (p, n, s) in enumerate(grid):
        x, y = samples[(p, n)][seeds.index(s)]
        real[i, :n], fake[i, :n] = torch.as_tensor(x), torch.as_tensor(y)
    slice_seeds = [c["base_seed"] * 1_000_003 + i for i in range(len(grid))]
    fit = fit_critics(spec, real, fake, slice_seeds, device, sizes=[n for _, n, _ in grid])
    D = fit.D
    tests = {p: _test_points(p, c["n_test"], c["base_seed"]) for p in c["pairs"]}
    xt = torch.stack([torch.as_tensor(tests[p][0], dtype=torch.float32) for p, _, _ in grid])
    yt = torch.stack([torch.as_tensor(tests[p][1], dtype=torch.float32) for p, _, _ in grid])
    v_real, v_fake = outputs(D, xt), outputs(D, yt)
    V = value(loss, v_real, v_fake).double()
    scale = torch.ones(len(grid), dtype=torch.float64)
    rows = []
    if spec.clip is not None:  # a clipped critic is K-Lipschitz for an unknown K: divide by its measured gradient
        scale = lipschitz_estimate(D, torch.cat([xt, yt], dim=1)).double()
        rows += [_row(labels, divergence=est.divergence, pair=p, n=n, seed=s, metric="lipschitz", value=float(L))
                 for (p, n, s), L in zip(grid, scale.tolist())]
    half = c["n_test"] // 2
    mixed = {p: np.concatenate([tests[p][0][:half], tests[p][1][:half]]) for p in c["pairs"]}
    dstar = {p: dstar_at(PAIRS[p].P, PAIRS[p].Q, est, mixed[p]) for p in c["pairs"]}
    on_m = outputs(D, torch.stack([torch.as_tensor(mixed[p], dtype=torch.float32) for p, _, _ in grid]))
    comparable = est.output(on_m).double() / scale[:, None] if est.centered else est.output(on_m).double()
    for i, (p, n, s) in enumerate(grid):
        ok = not bool(fit.diverged[i])
        estimate = est.from_value(float(V[i] / scale[i])) if ok else math.nan
        rows.append(_row(labels, divergence=est.divergence, pair=p, n=n, seed=s, metric="estimate", value=estimate))
        rows.append(_row(labels, divergence=est.divergence, pair=p, n=n, seed=s, metric="diverged", value=float(not ok)))
        if dstar[p] is not None:
            l2 = float(l2_distance(comparable[i:i + 1], dstar[p], est.centered)[0]) if ok else math.nan
            rows.append(_row(labels, divergence=est.divergence, pair=p, n=n, seed=s, metric="d_star_l2", value=l2))
    if d == 1 and c["profiles"]:  # trained D (largest n, first seed, widest D) and D* along x
        for p in c["pairs"]:
            P, Q = PAIRS[p].P, PAIRS[p].Q
            lo = min(P.means.min() - 4 * P.scales().max(), Q.means.min() - 4 * Q.scales().max())
            hi = max(P.means.max() + 4 * P.scales().max(), Q.means.max() + 4 * Q.scales().max())
            xs = np.linspace(lo, hi, PROFILE_POINTS)
            i = grid.index((p, n_max, seeds[0]))
            prof = outputs(D, torch.as_tensor(xs[:, None], dtype=torch.float32))[i:i + 1]
            prof = est.output(prof).double()[0] / scale[i]
            ds = dstar_at(P, Q, est, xs[:, None])
            rows += [_row(labels, divergence=est.divergence, pair=p, n=n_max, seed=seeds[0], x=float(x),
                          metric="d_profile", value=float(v)) for x, v in zip(xs, prof.tolist())]
            if ds is not None:
                rows += [_row(labels, divergence=est.divergence, pair=p, n=n_max, seed=seeds[0], x=float(x),
                              metric="d_star_profile", value=float(v)) for x, v in zip(xs, ds)]
    return rows


# ----------------------------------------------------------------------------- analysis (from the table)
def exact_table(df: pd.DataFrame) -> pd.Series:
    sel = df[(df["estimator"] == "exact") & (df["metric"] == "exact")]
    return sel.set_index(["pair", "divergence"])["value"]


def scores(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (estimator, width, pair, n): divergence, exact, mean estimate, bias, sd over seeds, RMSE, relative
    RMSE, diverged seeds. Width is −1 for the sample-based estimators."""
    est = df[df["metric"] == "estimate"].copy()
    est["width"] = est["width"].fillna(-1).astype(int)
    ex = exact_table(df)
    est["exact"] = [ex.get((p, d), math.nan) for p, d in zip(est["pair"], est["divergence"])]
    est["error"] = est["value"] - est["exact"]
    g = est.groupby(["estimator", "width", "pair", "n"], sort=False)
    out = g.agg(divergence=("divergence", "first"), exact=("exact", "first"), mean=("value", "mean"),
                sd=("value", "std"), bias=("error", "mean"),
                rmse=("error", lambda e: float(np.sqrt(np.mean(np.square(e)))) if e.notna().all() else math.nan),
                missing=("value", lambda v: int(v.isna().sum())))
    out["relative_rmse"] = out["rmse"] / out["exact"].abs()
    return out.reset_index()


def d_star_table(df: pd.DataFrame) -> pd.DataFrame:
    sel = df[df["metric"] == "d_star_l2"]
    return sel.groupby(["estimator", "width", "pair", "n"], sort=False)["value"].agg(["mean", "min", "max"]).reset_index()


# ----------------------------------------------------------------------------- figures
MARKERS = ["o", "s", "^", "v", "D", "P", "X", "*"]


def _colors(names):
    plt = pyplot()
    cmap = plt.get_cmap("tab20")
    return {n: cmap(i % 20) for i, n in enumerate(names)}


def estimates_figure(df: pd.DataFrame, cfg: EstimatorsConfig):
    plt = pyplot()
    sc = scores(df)
    n_max = max(cfg.sizes)
    wmax = max(cfg.widths)
    groups = [("discriminator-based (n = {n:,} per side, width {w})", sc[(sc["width"] == wmax)]),
              ("sample-based (largest n available)", sc[sc["width"] == -1])]
    names = list(cfg.objectives) + list(cfg.sample_estimators)
    colors = _colors(names)
    markers = {p: MARKERS[i % len(MARKERS)] for i, p in enumerate(cfg.pairs)}
    fig, axes = plt.subplots(1, 2, figsize=(17, 8))
    for ax, (title, sub) in zip(axes, groups):
        if len(sub) == 0:
            ax.axis("off")
            continue
        sub = sub[sub["n"] == sub.groupby(["estimator", "pair"])["n"].transform("max")]
        if "discriminator" in title:
            sub = sub[sub["n"] == n_max]
        lo, hi = 1e-3, 1e3
        for r in sub.itertuples():
            if not (np.isfinite(r.exact) and r.exact > 0):
                continue
            y = r.mean
            clipped = not (np.isfinite(y) and y > 0)
            yy = min(max(y, lo), hi) if not clipped else lo
            ax.plot(r.exact, yy, marker=markers[r.pair], ls="", ms=8, mfc="none" if clipped else colors[r.estimator],
                    mec=colors[r.estimator], mew=1.5)
        ax.plot([lo, hi], [lo, hi], color="k", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo * 0.7, hi)
        ax.set_xlabel("exact divergence (divergences)", fontsize=13)
        ax.set_ylabel("estimate (mean over seeds)", fontsize=13)
        ax.set_title(title.format(n=n_max, w=wmax), fontsize=13)
        ax.grid(alpha=0.3, which="both")
        ax.tick_params(labelsize=11)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[n], marker="o", ls="", ms=8, label=n) for n in names]
    handles += [Line2D([], [], color="0.3", marker=markers[p], ls="", mfc="none", ms=8, label=p) for p in cfg.pairs]
    fig.legend(handles=handles, loc="center right", fontsize=11, frameon=False)
    fig.suptitle("Estimate vs exact divergence (log-log; open markers at the bottom: estimate ≤ 0 or missing)",
                 fontsize=15)
    fig.tight_layout(rect=(0, 0, 0.84, 0.95))
    return fig


def error_figure(df: pd.DataFrame, cfg: EstimatorsConfig):
    plt = pyplot()
    sc = scores(df)
    names = list(cfg.objectives) + list(cfg.sample_estimators)
    ncol = 4
    nrow = math.ceil((len(names) + 1) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False)
    pcolors = _colors(cfg.pairs)
    styles = {w: ls for w, ls in zip(sorted(cfg.widths), ["--", "-", ":", "-."])}
    for ax, name in zip(axes.flat, names):
        sub = sc[sc["estimator"] == name]
        for (pair, width), g in sub.groupby(["pair", "width"]):
            g = g.sort_values("n")
            ok = np.isfinite(g["relative_rmse"]) & (g["relative_rmse"] > 0)
            if ok.any():
                ax.plot(g["n"][ok], g["relative_rmse"][ok], marker="o", ms=4, color=pcolors[pair],
                        ls=styles.get(width, "-"))
        div = sub["divergence"].iloc[0] if len(sub) else ""
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{name} → {div}", fontsize=12)
        ax.grid(alpha=0.3, which="both")
        ax.set_xlabel("n per side", fontsize=11)
        ax.set_ylabel("RMSE / exact", fontsize=11)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=pcolors[p], lw=2, label=p) for p in cfg.pairs]
    handles += [Line2D([], [], color="0.3", ls=styles[w], label=f"D width {w}") for w in sorted(cfg.widths)]
    list(axes.flat)[-1].legend(handles=handles, loc="center", fontsize=11, frameon=False)
    fig.suptitle(f"Relative RMSE over {cfg.seeds} seeds vs sample size (pairs with a finite exact value)", fontsize=15)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    return fig


def dstar_figure(df: pd.DataFrame, cfg: EstimatorsConfig):
    plt = pyplot()
    t = d_star_table(df)
    names = [o for o in cfg.objectives if o in set(t["estimator"])]
    ncol = 4
    nrow = max(1, math.ceil((len(names) + 1) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False)
    pcolors = _colors(cfg.pairs)
    styles = {w: ls for w, ls in zip(sorted(cfg.widths), ["--", "-", ":", "-."])}
    for ax, name in zip(axes.flat, names):
        for (pair, width), g in t[t["estimator"] == name].groupby(["pair", "width"]):
            g = g.sort_values("n")
            ax.plot(g["n"], g["mean"], marker="o", ms=4, color=pcolors[pair], ls=styles.get(width, "-"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(name, fontsize=12)
        ax.grid(alpha=0.3, which="both")
        ax.set_xlabel("n per side", fontsize=11)
        ax.set_ylabel("‖D − D*‖ in L2(M)", fontsize=11)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=pcolors[p], lw=2, label=p) for p in cfg.pairs]
    handles += [Line2D([], [], color="0.3", ls=styles[w], label=f"D width {w}") for w in sorted(cfg.widths)]
    list(axes.flat)[-1].legend(handles=handles, loc="center", fontsize=11, frameon=False)
    fig.suptitle("Distance of the trained D to the closed-form optimum D*, mean over seeds (compared quantity: σ(logit), "
                 "the f-GAN critic g_f(v), or the centred WGAN critic)", fontsize=14)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


PROFILE_OBJECTIVES = ("vanilla", "alpha2", "fgan_kl", "fgan_reverse_kl", "fgan_squared_hellinger", "wgan_gp")


def profile_figure(df: pd.DataFrame, cfg: EstimatorsConfig):
    plt = pyplot()
    from toy.catalogue import PAIRS

    prof = df[df["metric"].isin(["d_profile", "d_star_profile"])]
    pairs = [p for p in cfg.pairs if PAIRS[p].dim == 1]
    objs = [o for o in PROFILE_OBJECTIVES if o in cfg.objectives] or list(cfg.objectives)[:6]
    if not pairs or prof.empty:
        fig, ax = plt.subplots()
        ax.axis("off")
        return fig
    wmax = max(cfg.widths)
    fig, axes = plt.subplots(len(pairs), len(objs), figsize=(3.6 * len(objs), 2.9 * len(pairs)), squeeze=False)
    for i, p in enumerate(pairs):
        P, Q = PAIRS[p].P, PAIRS[p].Q
        for j, o in enumerate(objs):
            ax = axes[i, j]
            sel = prof[(prof["pair"] == p) & (prof["estimator"] == o) & (prof["width"] == wmax)]
            tr = sel[sel["metric"] == "d_profile"].sort_values("x")
            ds = sel[sel["metric"] == "d_star_profile"].sort_values("x")
            if len(tr):
                xs = tr["x"].to_numpy()
                dens = ax.twinx()
                dens.fill_between(xs, P.pdf(xs), color="k", alpha=0.12, lw=0)
                dens.fill_between(xs, Q.pdf(xs), color="tab:red", alpha=0.12, lw=0)
                dens.set_yticks([])
                a, b = tr["value"].to_numpy(), ds["value"].to_numpy() if len(ds) else None
                if b is not None and o.startswith("wgan"):  # critics: drawn shifted to mean 0 (defined up to a constant)
                    a, b = a - a.mean(), b - b.mean()
                ax.plot(xs, a, color="tab:blue", lw=1.8)
                mass = P.pdf(xs) + Q.pdf(xs)
                where = mass >= 1e-3 * mass.max()  # y-range from where the pair has mass (T* = f'(p/q) explodes outside)
                shown = np.concatenate([a[where], b[where] if b is not None else []])
                shown = shown[np.isfinite(shown)]
                if b is not None:
                    ax.plot(xs, b, color="k", lw=1.4, ls="--")
                if shown.size:
                    lo, hi = shown.min(), shown.max()
                    if hi - lo > 1e3:  # χ² and reverse-KL critics reach e^{|log p/q|} on the support: symlog
                        ax.set_yscale("symlog", linthresh=1.0)
                        top = np.log10(max(abs(lo), abs(hi)))
                        exps = np.unique(np.round(np.linspace(0, top, 4)))[1:]  # ±1e0 would sit on top of 0
                        ticks = sorted({0.0, *(-10.0**exps if lo < 0 else []), *(10.0**exps if hi > 1 else [])})
                        ax.set_yticks(ticks)
                        ax.set_yticklabels(["0" if t == 0 else f"{'−' if t < 0 else ''}1e{int(round(np.log10(abs(t))))}"
                                            for t in ticks])
                    else:
                        pad = 0.08 * (hi - lo) if hi > lo else 1.0
                        ax.set_ylim(lo - pad, hi + pad)
                ax.set_zorder(dens.get_zorder() + 1)
                ax.patch.set_visible(False)
            if i == 0:
                ax.set_title(o, fontsize=12)
            if j == 0:
                ax.set_ylabel(p, fontsize=11)
            ax.tick_params(labelsize=9)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    fig.legend(handles=[Line2D([], [], color="tab:blue", lw=2, label=f"trained D (n = {max(cfg.sizes):,}, width {wmax}, seed 0)"),
                        Line2D([], [], color="k", ls="--", label="closed-form D*"),
                        Patch(color="k", alpha=0.2, label="p (data)"), Patch(color="tab:red", alpha=0.2, label="q")],
               loc="lower center", ncol=4, fontsize=12, frameon=False)
    fig.suptitle("1D pairs: trained discriminator against the optimal one (σ(logit) for vanilla/α, the f-GAN critic "
                 "g_f(v), the centred WGAN critic)", fontsize=14)
    fig.tight_layout(rect=(0, 0.04, 1, 0.96))
    return fig


def _protocol(cfg: EstimatorsConfig) -> str:
    return (f"Pairs: {', '.join(cfg.pairs)} (toy.catalogue); exact values from divergences. Discriminators: MLP "
            f"{cfg.depth} hidden layers of width {' or '.join(map(str, cfg.widths))} (LeakyReLU 0.2), Adam lr {cfg.lr:g} "
            f"betas (0.5, 0.999), {cfg.steps} steps, batch {cfg.batch_size} per side drawn with replacement from n "
            f"training samples per side (n ∈ {{{', '.join(f'{n:,}' for n in cfg.sizes)}}}), {cfg.seeds} seeds "
            f"(independent samples and initialisations); all (pair, n, seed) of one objective, width and dimension "
            f"trained as one batched computation; WGAN clipping c = {cfg.clip:g} (estimate divided by the critic's "
            f"largest held-out gradient norm), WGAN-GP λ = {cfg.gp_weight:g}. Estimates on {cfg.n_test:,} held-out "
            f"samples per side. Sample-based: POT exact OT (wasserstein_1d in 1D, emd2 in 2D up to n = 4,000), POT "
            f"sliced W1 ({cfg.n_projections} projections), kNN KL (Wang–Kulkarni–Verdú, k = {cfg.knn_k}), on the same "
            f"samples.")


CAPTIONS = {
    "estimates_vs_exact.png": "Estimate (mean over seeds) against the exact divergence it estimates, log-log with "
                              "the diagonal; colour: estimator, marker: pair; open markers at the bottom: mean "
                              "estimate ≤ 0 or missing (diverged training). ",
    "error_vs_n.png": "Relative RMSE (over seeds, divided by the exact value) against the number of samples per "
                      "side, one panel per estimator (title: estimator → divergence), one colour per pair, line "
                      "style: D width. ",
    "d_star_l2.png": "‖D − D*‖ in L2(M), M = ½(P + Q), on held-out points, against n per side: the trained "
                     "quantity (σ(logit), the f-GAN critic g_f(v), the mean-centred WGAN critic (1D)) against the "
                     "closed-form optimum (divergences.optimal_discriminator). Where the pair's supports barely "
                     "overlap the χ², reverse-KL and H² critics T* = f'(p/q) take values up to e^{|log p/q|} on M's "
                     "support, which no network output approaches: those distances are the size of T* itself. ",
    "d_vs_dstar_1d.png": "1D pairs (rows): the trained D (blue; largest n, widest D, seed 0) and the closed-form D* "
                         "(dashed) along x, with the two densities shaded; a symmetric-log y axis where the critic "
                         "spans more than 10³ (T* = −q/p of reverse KL reaches −e^{200} on the thin-far pair). ",
}


def write_outputs(table: pd.DataFrame, cfg: EstimatorsConfig, out: Path) -> dict:
    """Figures, captions and summary.md from the long table only; returns the summary."""
    plt = pyplot()
    figs = {"estimates_vs_exact.png": estimates_figure, "error_vs_n.png": error_figure,
            "d_star_l2.png": dstar_figure, "d_vs_dstar_1d.png": profile_figure}
    for name, fn in figs.items():
        fig = fn(table, cfg)
        savefig_atomic(fig, out / name, dpi=cfg.dpi)
        plt.close(fig)
        write_atomic(out / name.replace(".png", ".md"), f"# {name}\n\n{CAPTIONS[name]}{_protocol(cfg)}\n")
    summ = {"figures": list(figs), **summarize(table)}
    write_atomic(out / "summary.md", summary_markdown(summ))
    return summ


def summarize(table: pd.DataFrame) -> dict:
    """Per (estimator, width): the median over pairs (finite exact values) of the relative RMSE at the largest n, and
    the diverged runs there."""
    sc = scores(table)
    top = sc[sc["n"] == sc.groupby(["estimator", "width", "pair"])["n"].transform("max")]
    med = top.groupby(["estimator", "width"])["relative_rmse"].median()
    rows = []
    for (name, width), v in med.items():
        sub = top[(top["estimator"] == name) & (top["width"] == width)]
        rows.append({"estimator": name, "width": int(width), "divergence": sub["divergence"].iloc[0],
                     "median_relative_rmse": float(v), "diverged_runs": int(sub["missing"].sum())})
    return {"median_relative_rmse": {f"{k[0]}/{k[1]}": float(v) for k, v in med.items()}, "at_largest_n": rows}


def summary_markdown(summ: dict) -> str:
    """``summary.md`` (also printed at the end of a run) from :func:`summarize`."""
    lines = ["# Divergence estimators: summary", "",
             "Median over pairs (finite exact values) of the relative RMSE at the largest n:", "",
             "| estimator | width | divergence | median relative RMSE | diverged runs |", "|---|---|---|---|---|"]
    for r in summ["at_largest_n"]:
        lines.append(f"| {r['estimator']} | {'—' if r['width'] < 0 else r['width']} | {r['divergence']} | "
                     f"{r['median_relative_rmse']:.3g} | {r['diverged_runs']} |")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- entry point
FIGURES = ["estimates_vs_exact.png", "error_vs_n.png", "d_star_l2.png", "d_vs_dstar_1d.png"]


class Estimators(Study):
    """Sample-estimator and critic units (all seeds in one computation), then the exact values."""

    name = NAME
    description = DESCRIPTION
    config_cls = EstimatorsConfig
    table = TABLE
    presets = PRESETS
    key_column = None

    def variants(self, cfg: EstimatorsConfig) -> list[Variant]:
        return variants(cfg)

    def seeds(self, cfg: EstimatorsConfig) -> range:
        return range(cfg.seeds)

    def seed_batch(self, cfg: EstimatorsConfig) -> int:
        return cfg.seeds

    def run_unit(self, unit: Unit, ctx) -> pd.DataFrame:
        return unit_rows(unit.variant.config, unit.seeds, ctx.device)

    def outputs(self, table: pd.DataFrame, cfg: EstimatorsConfig, out, arrays) -> dict:
        return write_outputs(table, cfg, out)

    def extra(self, cfg: EstimatorsConfig, variants) -> dict:
        return {**super().extra(cfg, variants), "figures": FIGURES}

    def report(self, summ: dict, cfg: EstimatorsConfig) -> str:
        return summary_markdown(summ)


STUDY = Estimators()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.estimators", argv)


if __name__ == "__main__":
    sys.exit(main())
