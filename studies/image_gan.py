"""Image GANs on MNIST-type data: metric curves against a real-vs-real reference, sample grids, loss comparisons.

One configuration (data set, architecture, loss, options), or several that differ only in the loss (``--compare``),
trained for every seed with :class:`gan.train.ImageTrainer`, evaluated at 0, every ``eval_every`` iterations and at
the end on ``n_eval`` images of the EMA generator (fixed latents per seed) against ``min(n_eval, N)`` training images
*A* (drawn without replacement with a fixed seed, the same for every run):

| data set | metrics (``gan.metrics``) |
|---|---|
| ``mnist5k``, ``mnist`` | FID, KID (mean over 100 subsets of 1,000, and their std; with ≤ 1,000 images one subset, the whole sets, and no std), precision, recall (k = 3), density, coverage (k = 5), all on the 128 penultimate features of the in-repo MNIST classifier (``get_extractor("mnist_classifier")``; not Inception: the values are not comparable with published Inception FIDs). KID is the raw unbiased MMD² with the cubic kernel (x·y/128 + 1)³ (no ×10³ scaling) |
| ``stacked_mnist`` | modes covered of 1,000 and KL(Q̂ ‖ uniform) in nats (``stacked_mnist_modes``; Metz et al. 2017) |
| others (``fashion_mnist``, ``cifar10``, ``image_folder``) | losses only (no in-repo feature network fits them) |

**Real-vs-real reference.** The same evaluator applied to real images only: *A* against *B*, ``|A|`` further training
images disjoint from *A* (draws 0, 1, 2 of *B*, each a unit of its own, computed once per output directory); when the
data set holds fewer than ``2|A|`` images, two disjoint halves of it (the counts are in the table as ``n_real_a``,
``n_real_b``). It is the floor a perfect generator reaches with these sample counts (FID's bias at finite n), drawn as
a dashed line on every curve. Its rows carry ``arch = "-"``, ``loss = "real-vs-real"``, ``step = 0`` and the draw as
``seed``.

**Stopping when the curve flattens** (``--stop-metric fid --patience k --min-delta δ``): a seed stops at the first
evaluation where none of its last k values of the metric improves on the best value before them by more than the
fraction δ (:func:`stopped_improving`); the iteration is recorded as ``stopped_at``, and ``steps`` is the budget.

**Comparing losses** (``--compare SPEC ...``): every spec is trained with the same settings and seeds; the final
value of each metric per seed (a seed's last evaluation) is compared between ``--loss`` and each other loss with
Welch's two-sided t-test and the Mann–Whitney U test, with 95% Student-t intervals of the means
(``comparison.md``, ``comparison.png``).

Outputs in ``results/image_gan_<run name>[_<preset>]/`` (or ``--out``): ``metrics.csv`` (long: dataset, arch, loss,
conditional, config_key, seed, step, metric, value; nothing machine-dependent), ``metrics_arrays.npz`` (each seed's
8×8 grid of final EMA samples at fixed latents, uint8, and one grid of real images), and, all redrawn from those two
with ``--plot-only``: ``curves.png``, ``losses.png``, ``samples.png`` (and ``samples_seed<k>.png`` for a single
configuration), ``truncation.png`` (with ``--truncations``), ``comparison.png`` (with ``--compare``), each with a
caption ``<figure>.md`` beside it. ``run.json`` holds the config, the preset, the summary and, under
``summary.machine``, each seed's wall time, threads, device and images per second (machine-dependent: never in the
table).

Each seed is one unit of the study engine (:mod:`studies.engine`): its checkpoint (every ``checkpoint_every``
iterations and at each evaluation) holds the trainer and the metric rows so far, so re-running the same command
skips finished seeds and resumes an interrupted one bit for bit, on any executor (``--executor ray`` runs the seeds
as Ray tasks). The config key hashes every setting that changes the numbers.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from studies.common import pyplot, savefig_atomic, write_atomic
from studies.engine import Study, run_study
from studies.executors import UnitContext, UnitResult
from studies.image_run import ImageRunConfig, load_data
from studies.store import RunStore, Unit, Variant

DESCRIPTION = ("Image GANs on MNIST-type data: FID/KID/PR or Stacked-MNIST modes against a real-vs-real reference, "
               "sample grids, loss comparisons")
NAME = "image_gan"
TABLE = "metrics.csv"
LABELS = ["dataset", "arch", "loss", "conditional", "config_key"]
COLUMNS = [*LABELS, "seed", "step", "metric", "value"]
LOSS_METRICS = ("d_loss", "g_loss")
REFERENCE = "real-vs-real"
"""The ``loss`` label of the real-vs-real reference rows."""
REFERENCE_DRAWS = (0, 1, 2)
"""Draws of the second real set B (the reference's seeds)."""
REAL_SEED = 20_260_505
"""Seed of the permutation that picks the evaluation reals A (the same for every run)."""
MAX_GRID_SEEDS = 5
"""Seeds per configuration shown in samples.png."""

PRESETS = {
    "quick": {"steps": 400, "batch_size": 64, "widths": "small", "eval_every": 200, "n_eval": 1000, "log_every": 50},
    "cpu": {"dataset": "mnist5k", "arch": "dcgan", "loss": "ns", "widths": "small", "batch_size": 64, "steps": 6000,
            "eval_every": 250, "n_eval": 2000, "seeds": 4, "stop_metric": "fid", "patience": 4, "min_delta": 0.02,
            "log_every": 50},
    "cpu-stacked": {"dataset": "stacked_mnist", "arch": "dcgan", "loss": "ns",
                    "compare": ("alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2",), "widths": "small", "batch_size": 64,
                    "steps": 2000, "eval_every": 500, "n_eval": 10_000, "seeds": 5, "log_every": 50},
    "paper": {},
}
"""``quick``: CI-sized (about 30 s on 2 idle cores for mnist5k/dcgan): 400 iterations at batch 64 with the
architecture's ``small`` widths (DCGAN: half width), evaluated at 0, 200, 400 on 1,000 samples; the newer
architectures are slower per iteration (add ``--steps 100 --batch-size 32 --eval-every 50``). ``cpu``: DCGAN (half
width) on the embedded MNIST digits, 4 seeds, each trained until its FID stops improving (patience 4 evaluations of
250 iterations, δ = 2%; at most 6,000 iterations), evaluated on 2,000 samples; run it with ``--jobs 2``.
``cpu-stacked``: Stacked MNIST, NS against (α_D, α_G) = (0.5, 1.2), 5 seeds each, 2,000 iterations, modes and KL on
10,000 samples every 500; run it with ``--jobs 2``. ``paper`` (the default): the field defaults."""

_RUN_ONLY = {"seeds": 1, "first_seed": 0, "compile": False, "checkpoint_every": 1000, "dpi": 100, "compare": ()}
"""Fields that do not change a seed's numbers: set to their defaults in the variant's config (so they stay out of
its key)."""

STOP_METRICS = {"fid": "lower", "kid": "lower", "kl": "lower", "modes": "higher"}
"""Metrics ``--stop-metric`` may watch, and which direction is an improvement."""


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class ImageGanConfig(ImageRunConfig):
    """The study's settings: one image run (:class:`studies.image_run.ImageRunConfig`, shared with
    ``python -m studies.train_gan``) trained for several seeds (and, with ``compare``, several losses) and evaluated
    along the way (every field is a ``--field-name`` option)."""

    seeds: int = field(default=1, metadata=_help("number of training seeds"))
    first_seed: int = field(default=0, metadata=_help("seeds are first_seed, first_seed + 1, ..."))
    compare: tuple[str, ...] = field(default=(), metadata=_help(
        "further gan.losses specs trained with the same settings and seeds and compared with --loss (Welch t and "
        "Mann-Whitney tests on each seed's final metrics; default: none)"))
    eval_every: int = field(default=5000, metadata=_help("iterations between evaluations"))
    truncations: tuple[float, ...] = field(default=(), metadata=_help(
        "truncation thresholds also evaluated at the last iteration (z resampled where |z_i| > t; psi in W for "
        "stylegan2): the fidelity/diversity trade-off, metrics named <metric>@t<t>"))
    n_eval: int = field(default=10_000, metadata=_help("generated (and at most as many real) images per evaluation"))
    stop_metric: str | None = field(default=None, metadata=_help(
        "stop a seed once this metric (fid, kid, kl or modes) stops improving (see --patience, --min-delta; none: "
        "train all --steps)"))
    patience: int = field(default=4, metadata=_help(
        "--stop-metric: evaluations without an improvement larger than --min-delta before a seed stops"))
    min_delta: float = field(default=0.02, metadata=_help(
        "--stop-metric: smallest improvement that counts, as a fraction of the best value so far"))
    checkpoint_every: int = field(default=1000, metadata=_help("iterations between checkpoints (and at every "
                                                                "evaluation)"))
    dpi: int = field(default=100, metadata=_help("PNG resolution of the figures (dots per inch)"))

    def __post_init__(self) -> None:
        from gan.losses import format_loss_spec, parse_loss_spec

        super().__post_init__()
        for name in ("eval_every", "n_eval", "dpi", "seeds", "checkpoint_every", "patience"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
        if isinstance(self.first_seed, bool) or not isinstance(self.first_seed, int) or self.first_seed < 0:
            raise ValueError(f"first_seed must be a non-negative integer; got {self.first_seed!r}")
        if isinstance(self.min_delta, bool) or not isinstance(self.min_delta, (int, float)) or \
                not 0 <= self.min_delta < 1:
            raise ValueError(f"min_delta must be a number in [0, 1); got {self.min_delta!r}")
        if self.stop_metric is not None and self.stop_metric not in STOP_METRICS:
            raise ValueError(f"stop_metric must be one of {', '.join(STOP_METRICS)} or None; got {self.stop_metric!r}")
        if any(isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0 for t in self.truncations):
            raise ValueError(f"truncations must be positive numbers; got {self.truncations}")
        if self.arch == "stylegan2" and any(t > 1 for t in self.truncations):
            raise ValueError(f"truncations: stylegan2 truncates in W with psi in (0, 1]; got {self.truncations}")
        canonical = tuple(format_loss_spec(*parse_loss_spec(s)) for s in self.compare)
        object.__setattr__(self, "compare", canonical)
        specs = [self.loss_spec, *canonical]
        if len(set(specs)) != len(specs):
            raise ValueError(f"compare must name losses other than --loss and each other; got loss {self.loss_spec!r}, "
                             f"compare {list(canonical)}")
        for spec in canonical:  # each compared loss must make a valid configuration
            replace(self, loss=spec, compare=())

    def losses(self) -> list[str]:
        """The loss specs trained: ``loss`` (or the architecture's), then ``compare``."""
        return [self.loss_spec, *self.compare]

    def run_name(self) -> str:
        """``<dataset>_<arch>_<loss>[_vs_<loss>...][_cond]``: names the default output
        ``results/image_gan_<run name>[_<preset>]``."""
        loss = "_vs_".join(s.replace(":", "_").replace(",", "_") for s in self.losses())
        return f"{self.dataset}_{self.arch}_{loss}{'_cond' if self.conditional else ''}"

    def keyed(self) -> "ImageGanConfig":
        """This config with the fields that do not change a seed's numbers at their defaults (the variant's config,
        hashed into the store's key)."""
        return replace(self, **_RUN_ONLY)


@dataclass(frozen=True)
class RealVsReal:
    """The real-vs-real reference of a run: its data (data set, root, size, resolution and the architecture that
    fixes the training resolution) and the evaluation size."""

    data: ImageRunConfig
    n_eval: int


# ----------------------------------------------------------------------------- evaluation
def _mnist_features(real, fake, device) -> dict[str, float]:
    from gan.metrics import DEFAULT_METRICS, compute_metrics, get_extractor

    ext = get_extractor("mnist_classifier", device=device)
    n = min(len(real), len(fake))
    size = min(1000, n)  # with subsets as large as the sets, every subset is the same: one is enough (no std)
    names = (*DEFAULT_METRICS, "kid_std") if size < n else DEFAULT_METRICS
    out = compute_metrics(real, fake, ext, names=names,
                          options={"kid": {"subset_size": size, "n_subsets": 100 if size < n else 1}})
    return {k: float(v) for k, v in out.items()}


def _stacked_modes(real, fake, device) -> dict[str, float]:
    from gan.metrics import stacked_mnist_modes

    r = stacked_mnist_modes(fake)
    return {"modes": float(r["modes"]), "kl": float(r["kl"])}


EVALUATORS: dict[str, Callable[[Any, Any, Any], dict[str, float]]] = {
    "mnist5k": _mnist_features,
    "mnist": _mnist_features,
    "stacked_mnist": _stacked_modes,
}
"""Data set → evaluator (real images, fake float images, device) → {metric: value}."""

EVALUATOR_METRICS = {"mnist5k": ("fid", "kid", "precision", "recall", "density", "coverage"),
                     "mnist": ("fid", "kid", "precision", "recall", "density", "coverage"),
                     "stacked_mnist": ("modes", "kl")}
"""The metrics each evaluator reports (in figure order; ``kid_std`` is kept in the table, not plotted)."""

TITLES = {
    "fid": "FID ↓", "kid": "KID (unbiased MMD²) ↓", "precision": "precision (k = 3) ↑", "recall": "recall (k = 3) ↑",
    "density": "density (k = 5) ↑", "coverage": "coverage (k = 5) ↑", "modes": "modes covered (of 1,000) ↑",
    "kl": r"KL($\hat{Q}$ ‖ uniform), nats ↓", "d_loss": "D loss", "g_loss": "G loss",
}


def _permutation(n: int, seed: int):
    import torch

    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def real_reference(data, n: int):
    """The evaluation reals A: ``min(n, N)`` training images (uint8), drawn without replacement with the fixed seed
    :data:`REAL_SEED` (the same for every run)."""
    return data.images[_permutation(data.images.shape[0], REAL_SEED)[:n]]


def real_pair(data, n: int, draw: int):
    """(A, B): two disjoint sets of real images for the real-vs-real reference. A is :func:`real_reference` and B
    ``|A|`` of the remaining images drawn with seed ``draw``, when the data set holds ``2|A|`` images; else A and B
    are the two halves (``N // 2`` each) of a permutation drawn with seed ``draw``."""
    import torch

    total = data.images.shape[0]
    perm = _permutation(total, REAL_SEED)
    n_a = min(n, total)
    if total - n_a >= n_a:
        rest = perm[n_a:]
        pick = torch.randperm(len(rest), generator=torch.Generator().manual_seed(draw))[:n_a]
        return data.images[perm[:n_a]], data.images[rest[pick]]
    if total < 4:
        raise ValueError(f"the real-vs-real reference needs at least 4 images; the data set holds {total}")
    halves = _permutation(total, draw)
    return data.images[halves[:total // 2]], data.images[halves[total // 2:2 * (total // 2)]]


def stopped_improving(values: Sequence[float], patience: int, min_delta: float, direction: str = "lower") -> bool:
    """Whether a curve has stopped improving: none of its last ``patience`` values improves on the best value before
    them by more than the fraction ``min_delta`` of that value's magnitude.

    With b the best of ``values[:-patience]`` (the minimum for ``direction="lower"``, the maximum for ``"higher"``)
    and w the best of the last ``patience`` values: stopped ⟺ w ≥ b − δ|b| (lower) or w ≤ b + δ|b| (higher).
    Fewer than ``patience + 1`` values: not stopped (nothing to compare with). This is early stopping with a
    patience and a relative ``min_delta`` (e.g. Prechelt 1998, "Early stopping — but when?").

    >>> stopped_improving([100, 50, 30, 29.9, 29.5, 29.8, 30.2], patience=4, min_delta=0.02)
    True
    >>> stopped_improving([100, 50, 30, 29.9, 29.5, 28.0, 30.2], patience=4, min_delta=0.02)
    False
    """
    if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
        raise ValueError(f"patience must be an integer >= 1; got {patience!r}")
    if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not 0 <= min_delta < 1:
        raise ValueError(f"min_delta must be a number in [0, 1); got {min_delta!r}")
    if direction not in ("lower", "higher"):
        raise ValueError(f"direction must be 'lower' or 'higher'; got {direction!r}")
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or not np.isfinite(v).all():
        raise ValueError(f"values must be a 1-D sequence of finite numbers; got {values!r}")
    if len(v) <= patience:
        return False
    before, last = v[:-patience], v[-patience:]
    if direction == "lower":
        b = before.min()
        return bool(last.min() >= b - min_delta * abs(b))
    b = before.max()
    return bool(last.max() <= b + min_delta * abs(b))


def _grid_uint8(images) -> np.ndarray:
    """An 8-column grid of float images in [−1, 1] as a uint8 array (H, W, C)."""
    from gan.train import image_grid

    return image_grid(images, nrow=8).permute(1, 2, 0).numpy().astype(np.uint8)


def _final_grid(trainer, seed: int):
    """64 samples of the final EMA generator at the fixed "grid" latents; a conditional model shows class r in row r
    (rows 0-7)."""
    import torch

    from gan.train import stream_seed

    if not trainer.cfg.conditional:
        return trainer.grid_samples(64)
    gen = torch.Generator(device=trainer.device).manual_seed(stream_seed(seed, "grid"))
    labels = (torch.arange(64) // 8) % trainer.num_classes
    return trainer.sample(64, gen, labels=labels.to(trainer.device))


# ----------------------------------------------------------------------------- one unit
def train_seed(cfg: ImageGanConfig, seed: int, ctx: UnitContext) -> UnitResult:
    """Train (or resume) one seed, evaluating at 0, every ``eval_every`` and at the end and checkpointing every
    ``checkpoint_every`` iterations and at each evaluation; stops early once ``stop_metric`` stops improving
    (:func:`stopped_improving`). Returns its rows and its final sample grid."""
    import torch

    from gan.train import ImageTrainer

    data = load_data(cfg)
    evaluate = EVALUATORS.get(cfg.dataset)
    real = real_reference(data, cfg.n_eval) if evaluate is not None else None
    trainer = ImageTrainer.from_data(cfg.train_config(seed, progress=False), data, device=ctx.device)
    ckpt = ctx.checkpoint()
    rows: list[dict] = []
    if ckpt.exists():
        state = ckpt.load(map_location="cpu")
        trainer.load_state_dict(state["trainer"])
        rows = [r for r in state["rows"] if r["step"] <= trainer.step]
    evals = {0, *range(cfg.eval_every, cfg.steps, cfg.eval_every), cfg.steps}
    stops = sorted(evals | set(range(cfg.checkpoint_every, cfg.steps, cfg.checkpoint_every)))
    for stop in stops:
        if stop < trainer.step:
            continue
        if stop > trainer.step:
            trainer.train(stop - trainer.step, bar=_ProgressBar(ctx, trainer, cfg))
        if stop in evals and not any(r["step"] == stop for r in rows):
            fake = trainer.sample(cfg.n_eval, torch.Generator(device=trainer.device).manual_seed(seed + 1))
            losses = [h[m] for h in trainer.history for m in LOSS_METRICS]
            if not (bool(torch.isfinite(fake).all()) and all(math.isfinite(v) for v in losses)):
                # a diverged generator: the iteration is recorded and training stops (metrics of NaN images are
                # undefined: gan.metrics refuses them)
                rows.append({"seed": seed, "step": stop, "metric": "diverged_at", "value": float(stop)})
                break
            if evaluate is not None:
                rows += [{"seed": seed, "step": stop, "metric": name, "value": value}
                         for name, value in evaluate(real, fake, trainer.device).items()]
                for t in cfg.truncations if stop == cfg.steps else ():
                    fake_t = trainer.sample(cfg.n_eval, torch.Generator(device=trainer.device).manual_seed(seed + 1),
                                            truncation=t)
                    rows += [{"seed": seed, "step": stop, "metric": f"{name}@t{t:g}", "value": value}
                             for name, value in evaluate(real, fake_t, trainer.device).items()]
        if stop in evals and stop < cfg.steps and _should_stop(cfg, rows):
            rows.append({"seed": seed, "step": stop, "metric": "stopped_at", "value": float(stop)})
            break
        if stop < cfg.steps:
            ckpt.save({"trainer": trainer.state_dict(), "rows": rows}, progress={"iteration": f"{stop}/{cfg.steps}"})
    for h in trainer.history:
        rows += [{"seed": seed, "step": h["step"], "metric": m, "value": h[m]} for m in LOSS_METRICS]
    seconds = sum(h["seconds"] for h in trainer.history)
    ctx.notes.append(f"seed {seed}: {trainer.step * trainer.cfg.global_batch_size() / max(seconds, 1e-9):.0f} "
                     f"training images/s on {ctx.device} (training time only; run.json: summary.machine)")
    df = pd.DataFrame(rows, columns=["seed", "step", "metric", "value"]).drop_duplicates(
        ["seed", "step", "metric"], keep="last")
    return UnitResult(df, {f"seed{seed}/samples": _grid_uint8(_final_grid(trainer, seed).cpu())})


def _should_stop(cfg: ImageGanConfig, rows: list[dict]) -> bool:
    """``stop_metric``'s curve so far (by step) has stopped improving."""
    if cfg.stop_metric is None:
        return False
    curve = sorted((r["step"], r["value"]) for r in rows if r["metric"] == cfg.stop_metric)
    return stopped_improving([v for _, v in curve], cfg.patience, cfg.min_delta, STOP_METRICS[cfg.stop_metric])


def reference_draw(ref: RealVsReal, draw: int, ctx: UnitContext) -> UnitResult:
    """The real-vs-real reference for one draw of B (:func:`real_pair`): the evaluator on (A, B), the sizes of A and
    B, and (draw 0) a grid of 64 images of B."""
    from gan.data import to_float

    data = load_data(ref.data)
    a, b = real_pair(data, ref.n_eval, draw)
    values = EVALUATORS[ref.data.dataset](a, to_float(b).to(ctx.device), ctx.device)
    values |= {"n_real_a": float(len(a)), "n_real_b": float(len(b))}
    rows = pd.DataFrame([{"seed": draw, "step": 0, "metric": k, "value": v} for k, v in values.items()])
    arrays = {f"seed{draw}/samples": _grid_uint8(to_float(b[:64]))} if draw == REFERENCE_DRAWS[0] else {}
    return UnitResult(rows, arrays)


UNIT_RUNNERS: dict[type, Callable[[Any, int, UnitContext], UnitResult]] = {
    ImageGanConfig: train_seed,
    RealVsReal: reference_draw,
}
"""Variant config type → how one of its seeds runs."""


class _ProgressBar:
    """The bar protocol ``ImageTrainer.train`` advances, reporting a seed's iterations to the engine."""

    def __init__(self, ctx: UnitContext, trainer: Any, cfg: ImageGanConfig):
        self.ctx, self.trainer, self.note = ctx, trainer, f"{cfg.arch}/{cfg.loss_spec}"

    def update(self, n: int = 1) -> None:
        self.ctx.progress(float(self.trainer.step), self.note)

    def set_postfix(self, **kw: Any) -> None:
        self.note = ", ".join(f"{k} {v}" for k, v in kw.items())

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.note = text


# ----------------------------------------------------------------------------- reading the table
def generator_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of trained generators (everything but the real-vs-real reference)."""
    return df[df["loss"] != REFERENCE] if "loss" in df else df


def reference_values(df: pd.DataFrame) -> dict[str, float]:
    """Metric → mean over the reference draws (empty without reference rows)."""
    ref = df[df["loss"] == REFERENCE] if "loss" in df else df.iloc[:0]
    return {m: float(sub["value"].mean()) for m, sub in ref.groupby("metric", sort=False)}


def final_values(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (loss, seed, metric): the value at the seed's last evaluation of that metric (its stopping point
    when it stopped early)."""
    g = generator_rows(df).sort_values("step", kind="stable")
    return g.groupby(["loss", "seed", "metric"], sort=False).tail(1).reset_index(drop=True)


def plotted_metrics(df: pd.DataFrame, dataset: str) -> list[str]:
    """The evaluator's metrics present in the generator rows, in figure order."""
    present = set(generator_rows(df)["metric"])
    return [m for m in EVALUATOR_METRICS.get(dataset, ()) if m in present]


def _loss_order(df: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(generator_rows(df)["loss"]))


# ----------------------------------------------------------------------------- figures (from the table)
_STYLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "legend.fontsize": 11, "xtick.labelsize": 11,
          "ytick.labelsize": 11, "figure.titlesize": 14}
_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _color(i: int) -> str:
    return _COLORS[i % len(_COLORS)]


def _set_scale(ax, metric: str, values: np.ndarray) -> None:
    """FID on a log axis (it falls by orders of magnitude); KID, which can be negative, on a symmetric log axis."""
    if metric == "fid" and values.size and (values > 0).all():
        ax.set_yscale("log")
    elif metric == "kid":
        ax.set_yscale("symlog", linthresh=1.0)


def _legend_below(fig, handles: list) -> None:
    """One legend under the panels (it covers no data)."""
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=min(len(handles), 3),
               frameon=False)


def _line_handles(df: pd.DataFrame, ref: Mapping[str, float], stops: bool) -> list:
    from matplotlib.lines import Line2D

    g = generator_rows(df)
    handles = []
    for i, loss in enumerate(_loss_order(df)):
        seeds = sorted(g.loc[g["loss"] == loss, "seed"].unique())
        handles.append(Line2D([], [], color=_color(i), lw=2.4,
                              label=f"{loss}: mean of {len(seeds)} seeds" if len(seeds) > 1 else
                              f"{loss}: seed {seeds[0]}"))
    if g["seed"].nunique() > 1:
        handles.append(Line2D([], [], color="gray", lw=1, alpha=0.5, label="single seeds"))
    if stops:
        handles.append(Line2D([], [], color="black", marker="x", ls="none", ms=8, label="seed stopped (plateau)"))
    if ref:
        handles.append(Line2D([], [], color="black", ls="--", lw=1.6,
                              label=f"real vs real ({_count(ref, 'n_real_b')} vs {_count(ref, 'n_real_a')} images)"))
    return handles


def _count(ref: Mapping[str, float], name: str) -> str:
    return f"{int(ref[name]):,}" if name in ref else "?"


def plot_curves(df: pd.DataFrame, cfg: ImageGanConfig, metrics: Sequence[str], title: str):
    """Each metric against the iteration: a thin line per seed, a bold mean over seeds (at the evaluations every
    seed reached), × where a seed stopped, and the real-vs-real reference as a dashed line."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    g = generator_rows(df)
    ref = reference_values(df)
    stopped = g[g["metric"] == "stopped_at"]
    cols = min(3, max(len(metrics), 1))
    rows = math.ceil(len(metrics) / cols)
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.9 * rows), squeeze=False)
        for ax, metric in zip(axes.flat, metrics):
            sub = g[g["metric"] == metric]
            for i, loss in enumerate(_loss_order(df)):
                mine = sub[sub["loss"] == loss]
                seeds = mine["seed"].nunique()
                for seed, s in mine.groupby("seed"):
                    ax.plot(s["step"], s["value"], color=_color(i), lw=1.0 if seeds > 1 else 2.4,
                            alpha=0.45 if seeds > 1 else 1.0, marker="." if len(s) <= 12 else None)
                    st = stopped[(stopped["loss"] == loss) & (stopped["seed"] == seed)]
                    if len(st):
                        ax.plot(s["step"].iloc[-1], s["value"].iloc[-1], "x", color="black", ms=8)
                if seeds > 1:
                    wide = mine.pivot_table(index="step", columns="seed", values="value").dropna()
                    ax.plot(wide.index, wide.mean(axis=1), color=_color(i), lw=2.4)
            if metric in ref:
                ax.axhline(ref[metric], color="black", ls="--", lw=1.6)
            _set_scale(ax, metric, np.append(sub["value"].to_numpy(), [ref[metric]] if metric in ref else []))
            ax.set_title(TITLES.get(metric, metric))
            ax.set_xlabel("iteration")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(metrics):]:
            ax.axis("off")
        fig.suptitle(title)
        fig.tight_layout()
        _legend_below(fig, _line_handles(df, ref if any(m in ref for m in metrics) else {}, bool(len(stopped))))
    return fig


def plot_samples(df: pd.DataFrame, arrays: Mapping[str, np.ndarray], keys: Mapping[str, str]):
    """The final 8×8 sample grids: a row per loss, a column per seed (at most :data:`MAX_GRID_SEEDS`), real images
    (if stored) first; with one loss, one row. Titles: the seed and its final headline metric."""
    plt = pyplot()
    by_key: dict[str, dict[int, np.ndarray]] = {}
    for name, grid in arrays.items():
        key, seed_part, _ = name.split("/")
        by_key.setdefault(key, {})[int(seed_part[len("seed"):])] = grid
    rows = [[(label, s, by_key[key][s]) for s in sorted(by_key[key])[:MAX_GRID_SEEDS]]
            for key, label in keys.items() if key in by_key]
    if len([r for r in rows if r[0][0] != REFERENCE]) == 1:
        rows = [[panel for row in rows for panel in row]]
    finals = final_values(df)
    cols = max(len(r) for r in rows)
    cell = 4.2 if len(rows) * cols <= 2 else 3.0
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(len(rows), cols, figsize=(cell * cols, (cell + 0.5) * len(rows)), squeeze=False)
        for ax in axes.flat:
            ax.axis("off")
        for r, row in enumerate(rows):
            for c, (label, seed, grid) in enumerate(row):
                ax = axes[r, c]
                if grid.shape[2] == 1:
                    ax.imshow(grid[:, :, 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                else:
                    ax.imshow(grid, interpolation="nearest")
                ax.set_title(_sample_title(label, seed, finals), fontsize=11)
        fig.tight_layout()
    return fig


def _sample_title(label: str, seed: int, finals: pd.DataFrame) -> str:
    if label == REFERENCE:
        return "real images (B, draw 0)"
    mine = finals[(finals["loss"] == label) & (finals["seed"] == seed)].set_index("metric")["value"]
    headline = next((f"{TITLES[m].split(' ')[0]} {mine[m]:.4g}" for m in ("fid", "modes") if m in mine), "")
    return f"{_short(label)}\nseed {seed}" + (f": {headline}" if headline else "")


def plot_truncation(df: pd.DataFrame, metrics: Sequence[str], arch: str):
    """Each metric at the last iteration against the truncation threshold (BigGAN: z resampled where |z_i| > t;
    StyleGAN2: ψ), with the untruncated value as "none": the fidelity/diversity trade-off."""
    plt = pyplot()
    g = generator_rows(df)
    last = g[g["step"] == g.groupby("seed")["step"].transform("max")]
    ref = reference_values(df)
    ts = sorted({float(m.split("@t")[1]) for m in last["metric"] if "@t" in m})
    labels = [f"{t:g}" for t in ts] + ["none"]
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(5.0 * cols, 3.9 * rows), squeeze=False)
        for ax, metric in zip(axes.flat, metrics):
            for i, loss in enumerate(_loss_order(df)):
                for seed, s in last[last["loss"] == loss].groupby("seed"):
                    vals = s.set_index("metric")["value"]
                    y = [vals.get(f"{metric}@t{t:g}", np.nan) for t in ts] + [vals.get(metric, np.nan)]
                    ax.plot(range(len(labels)), y, marker="o", color=_color(i), alpha=0.8)
            if metric in ref:
                ax.axhline(ref[metric], color="black", ls="--", lw=1.6)
            ax.set_xticks(range(len(labels)), labels)
            ax.set_xlabel("ψ (truncation in W)" if arch == "stylegan2" else "threshold t (|z_i| > t resampled)")
            ax.set_title(TITLES.get(metric, metric))
            ax.grid(alpha=0.3)
        for ax in list(axes.flat)[len(metrics):]:
            ax.axis("off")
        fig.suptitle("truncation trade-off at the last iteration")
        fig.tight_layout()
        _legend_below(fig, _line_handles(df, ref, False))
    return fig


def compare_losses(df: pd.DataFrame, metrics: Sequence[str]) -> list[dict]:
    """For each metric and each loss after the first: both groups' final values per seed (:func:`final_values`),
    mean, sample standard deviation and 95% Student-t interval of each, Welch's two-sided t-test (Welch 1947) and
    the two-sided Mann–Whitney U test (exact p-values for small samples without ties; Mann & Whitney 1947), and
    ``told_apart``: Welch's p < 0.05 (NaN, so False, when neither group varies or a group has one seed)."""
    from scipy import stats as st

    from studies.stats import mean_ci

    finals = final_values(df)
    losses = _loss_order(df)
    out = []
    for metric in metrics:
        sub = finals[finals["metric"] == metric]
        base = sub.loc[sub["loss"] == losses[0], "value"].to_numpy()
        for other in losses[1:]:
            x = sub.loc[sub["loss"] == other, "value"].to_numpy()
            row: dict[str, Any] = {"metric": metric, "loss_a": losses[0], "loss_b": other}
            for tag, v in (("a", base), ("b", x)):
                m, lo, hi = mean_ci(v)
                row |= {f"n_{tag}": int(v.size), f"mean_{tag}": m, f"sd_{tag}": float(np.std(v, ddof=1)) if
                        v.size > 1 else math.nan, f"ci_low_{tag}": lo, f"ci_high_{tag}": hi}
            row["welch_p"] = row["mann_whitney_p"] = math.nan
            if min(base.size, x.size) >= 2:
                row["mann_whitney_p"] = float(st.mannwhitneyu(base, x, alternative="two-sided").pvalue)
                if np.ptp(base) > 0 or np.ptp(x) > 0:  # Welch's t is undefined when neither group varies
                    row["welch_p"] = float(st.ttest_ind(base, x, equal_var=False).pvalue)
            row["told_apart"] = bool(row["welch_p"] < 0.05)
            out.append(row)
    return out


def plot_comparison(df: pd.DataFrame, metrics: Sequence[str], tests: Sequence[Mapping[str, Any]]):
    """Each seed's final value per loss (dots) with the mean and its 95% Student-t interval (bars), the real-vs-real
    reference (dashed), and Welch's p in the panel title."""
    plt = pyplot()
    finals = final_values(df)
    ref = reference_values(df)
    losses = _loss_order(df)
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 4.6), squeeze=False)
        for ax, metric in zip(axes.flat, metrics):
            from studies.stats import mean_ci

            for i, loss in enumerate(losses):
                v = finals.loc[(finals["metric"] == metric) & (finals["loss"] == loss), "value"].to_numpy()
                jitter = np.linspace(-0.12, 0.12, v.size) if v.size > 1 else np.zeros(1)
                ax.plot(i + jitter, v, "o", color=_color(i), alpha=0.6, ms=7)
                m, lo, hi = mean_ci(v)
                if math.isfinite(lo):
                    ax.errorbar(i + 0.3, m, yerr=[[m - lo], [hi - m]], fmt="s", color=_color(i), capsize=6, ms=8,
                                lw=2)
            if metric in ref:
                ax.axhline(ref[metric], color="black", ls="--", lw=1.6)
            ax.set_xticks(range(len(losses)), [_short(s) for s in losses])
            ax.set_xlim(-0.5, len(losses) - 0.3)
            ps = [t["welch_p"] for t in tests if t["metric"] == metric]
            ax.set_title(TITLES.get(metric, metric) + (f"\nWelch p = {ps[0]:.2g}" if len(ps) == 1 else ""))
            ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color="gray", marker="o", ls="none", label="one seed (final value)"),
                   Line2D([], [], color="gray", marker="s", label="mean, 95% t-interval")]
        if ref:
            handles.append(Line2D([], [], color="black", ls="--", label="real vs real"))
        _legend_below(fig, handles)
    return fig


def _short(spec: str) -> str:
    """A loss spec on two lines when it has parameters (tick labels)."""
    return spec.replace(":", ":\n", 1)


# ----------------------------------------------------------------------------- captions
def _protocol(cfg: ImageGanConfig, ref: Mapping[str, float], dataset: str) -> str:
    n_a = _count(ref, "n_real_a") if ref else f"min({cfg.n_eval:,}, N)"
    if dataset in ("mnist5k", "mnist"):
        n = min(cfg.n_eval, int(ref.get("n_real_a", cfg.n_eval)))  # as in _mnist_features
        kid = "the mean over 100 random subsets of 1,000 of each set" if n > 1000 else "one subset: the whole sets"
        what = (f"FID, KID, precision/recall (k = 3) and density/coverage (k = 5) between {cfg.n_eval:,} samples of "
                f"the EMA generator (fixed latents per seed) and {n_a} training images A, all on the 128 penultimate "
                "features of the in-repo MNIST classifier (`gan.metrics`, `get_extractor(\"mnist_classifier\")`), "
                "**not Inception-v3**: the values are not comparable with published (Inception) FIDs. KID is the raw "
                "unbiased MMD² with the cubic kernel k(x, y) = (xᵀy/128 + 1)³ on these unnormalised features, "
                f"{kid}; no ×10³ scaling (its values are large because the features are).")
    elif dataset == "stacked_mnist":
        what = (f"Modes covered (of 1,000) and KL(Q̂ ‖ uniform) in nats of {cfg.n_eval:,} samples of the EMA generator "
                "(fixed latents per seed), each channel classified by the in-repo MNIST classifier (Metz et al. 2017 "
                "protocol; a perfect generator covers ≈ 1000·(1 − e^(−n/1000)) modes and has KL ≈ 999/(2n) at n "
                "samples).")
    else:
        what = "Losses only (no in-repo feature network fits this data set)."
    reference = ""
    if ref:
        if dataset == "stacked_mnist":
            reference = (f" Dashed line: the same metrics of {_count(ref, 'n_real_b')} real Stacked-MNIST images B "
                         f"(mean of {len(REFERENCE_DRAWS)} draws): what a perfect generator gives at this sample "
                         "count.")
        else:
            reference = (f" Dashed line: the same metrics between {_count(ref, 'n_real_b')} further real images B, "
                         f"disjoint from A, and the {_count(ref, 'n_real_a')} images A (mean of "
                         f"{len(REFERENCE_DRAWS)} draws of B): the floor a perfect generator reaches at these sample "
                         "counts.")
    return what + reference


def _stop_text(cfg: ImageGanConfig, df: pd.DataFrame) -> str:
    if cfg.stop_metric is None:
        return f" Every seed trained {cfg.steps:,} iterations."
    stops = generator_rows(df)
    stops = stops[stops["metric"] == "stopped_at"]
    several = stops["loss"].nunique() > 1
    at = ", ".join((f"{r.loss} " if several else "") + f"seed {int(r.seed)}: {int(r.value):,}"
                   for r in stops.itertuples()) or "none"
    return (f" A seed stops (×) at the first evaluation where none of its last {cfg.patience} {cfg.stop_metric.upper()}"
            f" values improves on its best before them by more than {cfg.min_delta:.0%} (budget {cfg.steps:,} "
            f"iterations); stopped at: {at}.")


def _caption(title: str, body: str) -> str:
    return f"# {title}\n\n{body.strip()}\n"


def _setting(cfg: ImageGanConfig) -> str:
    widths = f", widths {cfg.widths}" if cfg.widths else ""
    cond = ", class-conditional" if cfg.conditional else ""
    return (f"{cfg.arch}{widths}{cond} on {cfg.dataset}, batch {cfg.train_config(0).global_batch_size()}, "
            f"{cfg.seeds} seed(s) from {cfg.first_seed}, evaluated every {cfg.eval_every:,} iterations")


# ----------------------------------------------------------------------------- machine-dependent record
def machine_record(out: Path, variants: Sequence[Variant], table: pd.DataFrame) -> dict:
    """Each stored unit's provenance (wall time, threads, device, host, resume point) and, for a unit trained in one
    go, its images per second over its wall time (training and evaluation): machine-dependent, so for run.json only.
    Empty when the run store is gone (e.g. ``--plot-only`` on committed results)."""
    store = RunStore(out)
    record: dict[str, dict] = {}
    g = generator_rows(table)
    for v in variants:
        for part in store.parts(v.key):
            prov = dict(part.header.get("provenance") or {})
            for seed in part.seeds:
                entry = {k: prov.get(k) for k in ("wall_time_s", "threads", "device", "host", "resumed_from")}
                if isinstance(v.config, ImageGanConfig) and not prov.get("resumed_from"):
                    mine = g[(g["loss"] == v.labels["loss"]) & (g["seed"] == seed) & (g["metric"] == "d_loss")]
                    if len(mine) and prov.get("wall_time_s"):
                        batch = v.config.train_config(seed).global_batch_size()
                        entry["images_per_s_wall"] = float(mine["step"].max()) * batch / prov["wall_time_s"]
                record.setdefault(v.title(), {})[f"seed {seed}"] = entry
    return record


# ----------------------------------------------------------------------------- the study
class ImageGan(Study):
    name = NAME
    description = DESCRIPTION
    config_cls = ImageGanConfig
    table = TABLE
    presets = PRESETS
    sort_columns = ("step", "metric")
    cost_unit = "it"
    run_name_help = "<dataset>_<arch>_<loss>[_vs_<loss>...][_cond]"

    def check(self, cfg: ImageGanConfig) -> None:
        load_data(cfg)
        have = EVALUATOR_METRICS.get(cfg.dataset, ())
        if cfg.stop_metric is not None and cfg.stop_metric not in have:
            raise ValueError(f"--stop-metric {cfg.stop_metric}: --dataset {cfg.dataset} is evaluated with "
                             f"{', '.join(have) or 'no metric'}")

    def variants(self, cfg: ImageGanConfig) -> list[Variant]:
        out = []
        for spec in cfg.losses():
            c = replace(cfg, loss=spec, compare=())
            labels = {"dataset": c.dataset, "arch": c.arch, "loss": spec, "conditional": c.conditional}
            out.append(Variant(labels, c.keyed(), c.run_name(), options={"checkpoint_every": c.checkpoint_every,
                                                                         "compile": c.compile}))
        if cfg.dataset in EVALUATORS:
            data = ImageRunConfig(dataset=cfg.dataset, data_root=cfg.data_root, n_data=cfg.n_data,
                                  resolution=cfg.resolution, arch=cfg.arch)
            labels = {"dataset": cfg.dataset, "arch": "-", "loss": REFERENCE, "conditional": False}
            out.append(Variant(labels, RealVsReal(data, cfg.n_eval), REFERENCE, seeds=REFERENCE_DRAWS))
        return out

    def seeds(self, cfg: ImageGanConfig) -> range:
        return range(cfg.first_seed, cfg.first_seed + cfg.seeds)

    def cost(self, unit: Unit) -> float:
        config = unit.variant.config
        return float(config.steps) if isinstance(config, ImageGanConfig) else 0.0

    def run_unit(self, unit: Unit, ctx: UnitContext) -> UnitResult:
        config = unit.variant.config
        if isinstance(config, ImageGanConfig):
            config = replace(config, **unit.variant.options)
        return UNIT_RUNNERS[type(config)](config, unit.seeds[0], ctx)

    def run_name(self, cfg: ImageGanConfig) -> str:
        return cfg.run_name()

    def extra(self, cfg: ImageGanConfig, variants) -> dict:
        return {"config_keys": {v.title(): v.key for v in variants},
                "train_config": _json_fields(cfg.train_config(cfg.first_seed).run_fields())}

    def outputs(self, table: pd.DataFrame, cfg: ImageGanConfig, out: Path, arrays: Mapping[str, np.ndarray]) -> dict:
        plt = pyplot()
        variants = self.variants(cfg)
        ref = reference_values(table)
        metrics = plotted_metrics(table, cfg.dataset)
        setting = _setting(cfg)
        protocol = _protocol(cfg, ref, cfg.dataset)
        summary: dict[str, Any] = {"final": _finals_json(table), "reference": ref}

        def save(fig, name: str, caption: str) -> None:
            savefig_atomic(fig, out / f"{name}.png", dpi=cfg.dpi)
            plt.close(fig)
            write_atomic(out / f"{name}.md", caption)

        if metrics:
            save(plot_curves(table, cfg, metrics, f"{cfg.arch} on {cfg.dataset}: evaluation during training"),
                 "curves", _caption("curves.png", f"Each panel: one metric against the training iteration; thin "
                                    f"lines single seeds, bold the mean over seeds (at evaluations every seed "
                                    f"reached). {setting}. {protocol}{_stop_text(cfg, table)}"))
        losses = [m for m in LOSS_METRICS if m in set(generator_rows(table)["metric"])]
        if losses:
            save(plot_curves(table, cfg, losses, f"{cfg.arch} on {cfg.dataset}: training losses"), "losses",
                 _caption("losses.png", f"Mean D and G loss over each logging interval ({cfg.log_every} iterations) "
                                        f"against the iteration, per seed (thin) and their mean (bold). {setting}."))
        keys = {v.key: v.labels["loss"] for v in variants}
        keys = {k: keys[k] for k in sorted(keys, key=lambda k: keys[k] != REFERENCE)}  # real images first
        if arrays:
            n_shown = min(cfg.seeds, MAX_GRID_SEEDS)
            save(plot_samples(table, arrays, keys), "samples",
                 _caption("samples.png", "64 samples (8 × 8) of each seed's final EMA generator at fixed latents"
                                         + (" (row r: class r)" if cfg.conditional else "")
                                         + f"; one panel per seed (the first {n_shown} of {cfg.seeds}), one row per "
                                         "loss; first: 64 real images (set B of the reference), where stored. "
                                         f"Titles: the seed's final headline metric. {setting}."))
            gen_keys = [k for k, label in keys.items() if label != REFERENCE]
            if len(gen_keys) == 1:
                for name, grid in arrays.items():
                    if name.startswith(gen_keys[0] + "/"):
                        seed = name.split("/")[1]
                        write_atomic(out / f"samples_{seed}.png", _png(np.kron(grid, np.ones((3, 3, 1), np.uint8))))
        trunc = [m for m in metrics if any(x.startswith(f"{m}@t") for x in set(table["metric"]))]
        if trunc:
            kind = ("ψ: w ← w̄ + ψ(w − w̄) in W" if cfg.arch == "stylegan2" else
                    "threshold t: every latent entry with |z_i| > t redrawn (BigGAN's truncation trick)")
            save(plot_truncation(table, trunc, cfg.arch), "truncation",
                 _caption("truncation.png", f"Each metric at the last iteration against the truncation ({kind}); "
                                            "'none': untruncated. One line per seed, same latents at every "
                                            f"threshold. {setting}. {protocol}"))
        if len(cfg.losses()) > 1 and metrics:
            tests = compare_losses(table, metrics)
            summary["comparison"] = tests
            save(plot_comparison(table, metrics, tests), "comparison",
                 _caption("comparison.png", "Each seed's final value (its last evaluation) per loss, with the mean "
                                            "and its 95% Student-t interval; Welch's two-sided p in each title. "
                                            f"{setting}. {protocol}\n\n{comparison_markdown(tests)}"))
        summary["machine"] = machine_record(out, variants, table)
        return summary

    def report(self, summary: dict, cfg: ImageGanConfig) -> str:
        lines = []
        for loss, seeds in summary["final"].items():
            for seed, vals in seeds.items():
                lines.append(f"{loss}, seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(vals.items())))
        if summary["reference"]:
            lines.append(f"{REFERENCE} (mean of {len(REFERENCE_DRAWS)} draws): " + ", ".join(
                f"{k} {v:.4g}" for k, v in summary["reference"].items()))
        for t in summary.get("comparison", []):
            lines.append(f"{t['metric']}: {t['loss_a']} {t['mean_a']:.4g} ± {t['sd_a']:.3g} vs {t['loss_b']} "
                         f"{t['mean_b']:.4g} ± {t['sd_b']:.3g} (mean ± sd); Welch p {t['welch_p']:.3g}, "
                         f"Mann-Whitney p {t['mann_whitney_p']:.3g}: "
                         + ("told apart" if t["told_apart"] else "not told apart") + " at 5%")
        return "\n".join(lines)


def comparison_markdown(tests: Sequence[Mapping[str, Any]]) -> str:
    """The comparison as a markdown table (means ± sd, 95% intervals, p-values, verdict)."""
    head = ("| metric | loss | seeds | mean ± sd | 95% interval | Welch p | Mann–Whitney p | told apart (Welch p < 0.05) |\n"
            "|---|---|---|---|---|---|---|---|")
    lines = [head]
    for t in tests:
        for tag in ("a", "b"):
            first = tag == "a"
            lines.append(f"| {t['metric'] if first else ''} | {t[f'loss_{tag}']} | {t[f'n_{tag}']} | "
                         f"{t[f'mean_{tag}']:.4g} ± {t[f'sd_{tag}']:.3g} | "
                         f"[{t[f'ci_low_{tag}']:.4g}, {t[f'ci_high_{tag}']:.4g}] | "
                         + (f"{t['welch_p']:.3g} | {t['mann_whitney_p']:.3g} | {'yes' if t['told_apart'] else 'no'} |"
                            if first else " | | |"))
    return "\n".join(lines)


def _finals_json(table: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """loss → seed → metric → final value (losses and the loss curves left out)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in final_values(table).itertuples():
        if r.metric in LOSS_METRICS:
            continue
        out.setdefault(str(r.loss), {}).setdefault(str(r.seed), {})[str(r.metric)] = float(r.value)
    return out


def _png(grid: np.ndarray) -> bytes:
    import io

    import matplotlib.image

    buf = io.BytesIO()
    if grid.shape[2] == 1:
        matplotlib.image.imsave(buf, grid[:, :, 0], cmap="gray", vmin=0, vmax=255, format="png")
    else:
        matplotlib.image.imsave(buf, grid, format="png")
    return buf.getvalue()


def _json_fields(d: Mapping[str, Any]) -> dict:
    from studies.common import json_safe

    return json_safe(dict(d))


STUDY = ImageGan()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.image_gan", argv)


if __name__ == "__main__":
    sys.exit(main())
