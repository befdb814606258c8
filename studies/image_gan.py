"""Image GANs (DCGAN / SN-ResNet) on MNIST-type data: sample grids, metric curves, a long-format table.

One configuration (data set, architecture, loss, options) trained for every seed with
:class:`gan.train.ImageTrainer`, evaluated every ``eval_every`` iterations (and at 0 and
at the end) on ``n_eval`` samples of the EMA generator against ``min(n_eval, N)`` training images
(drawn without replacement with a fixed seed):

| data set | metrics (``gan.metrics``) |
|---|---|
| ``mnist5k``, ``mnist`` | FID, KID (mean and std over 100 subsets of 1,000; with ≤ 1,000 images one subset, the whole sets, and no std), precision, recall (k = 3), density, coverage (k = 5) on the 128 features of the in-repo MNIST classifier (``get_extractor("mnist_classifier")``) |
| ``stacked_mnist`` | modes covered of 1,000 and KL(Q̂ ‖ uniform) (``stacked_mnist_modes``; Metz et al. 2017) |
| others (``fashion_mnist``, ``cifar10``, ``image_folder``) | losses only (no in-repo feature network fits them) |

The losses (mean D and G loss between logs) and the throughput are recorded too. Images are
trained at the data's resolution when the architecture supports it, else at the nearest larger
supported one (MNIST's 28 → 32 for ``resnet``, by zero padding, ``gan.data.resize``).

Outputs in ``results/image_gan_<dataset>_<arch>_<loss>[_cond][_<preset>]/`` (or ``--out``): ``metrics.csv`` (long:
dataset, arch, loss, conditional, config_key, seed, step, metric, value), ``metrics_arrays.npz`` (the 8×8 sample grid of
each seed's final EMA generator at fixed latents, uint8), ``samples_seed<k>.png`` and ``curves.png`` (every metric
against the iteration, one line per seed), all redrawn from the table and arrays with ``--plot-only``, and
``run.json`` (with each seed's throughput, which is machine-dependent and so never in the table).

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
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from studies.common import pyplot, savefig_atomic, write_atomic
from studies.engine import Study, run_study
from studies.executors import UnitContext, UnitResult
from studies.image_run import ImageRunConfig, load_data
from studies.store import Unit, Variant

DESCRIPTION = "Image GANs (DCGAN / SN-ResNet) on MNIST-type data: sample grids, FID/KID/PR or Stacked-MNIST modes"
NAME = "image_gan"
TABLE = "metrics.csv"
LABELS = ["dataset", "arch", "loss", "conditional", "config_key"]
COLUMNS = [*LABELS, "seed", "step", "metric", "value"]
LOSS_METRICS = ("d_loss", "g_loss")

PRESETS = {
    "quick": {"steps": 400, "batch_size": 64, "widths": "small", "eval_every": 200, "n_eval": 1000, "log_every": 50},
    "paper": {},
}
"""``quick``: CI-sized (about 30 s on 2 cores for mnist5k/dcgan): 400 iterations at batch 64 with the architecture's
``small`` widths (DCGAN: half width), evaluated at 0, 200, 400 on 1,000 samples; the newer architectures are slower
per iteration (add ``--steps 100 --batch-size 32 --eval-every 50``). ``paper`` (the default): the field defaults."""

_RUN_ONLY = {"seeds": 1, "first_seed": 0, "compile": False, "checkpoint_every": 1000, "dpi": 100}
"""Fields that do not change a seed's numbers: set to their defaults in the variant's config (so they stay out of
its key)."""


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class ImageGanConfig(ImageRunConfig):
    """The study's settings: one image run (:class:`studies.image_run.ImageRunConfig`, shared with
    ``python -m studies.train_gan``) trained for several seeds and evaluated along the way (every field is a
    ``--field-name`` option)."""

    seeds: int = field(default=1, metadata=_help("number of training seeds"))
    first_seed: int = field(default=0, metadata=_help("seeds are first_seed, first_seed + 1, ..."))
    eval_every: int = field(default=5000, metadata=_help("iterations between evaluations"))
    truncations: tuple[float, ...] = field(default=(), metadata=_help(
        "truncation thresholds also evaluated at the last iteration (z resampled where |z_i| > t; psi in W for "
        "stylegan2): the fidelity/diversity trade-off, metrics named <metric>@t<t>"))
    n_eval: int = field(default=10_000, metadata=_help("generated (and at most as many real) images per evaluation"))
    checkpoint_every: int = field(default=1000, metadata=_help("iterations between checkpoints (and at every "
                                                                "evaluation)"))
    dpi: int = field(default=100, metadata=_help("PNG resolution of curves.png"))

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("eval_every", "n_eval", "dpi", "seeds", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
        if isinstance(self.first_seed, bool) or not isinstance(self.first_seed, int) or self.first_seed < 0:
            raise ValueError(f"first_seed must be a non-negative integer; got {self.first_seed!r}")
        if any(not t > 0 for t in self.truncations):
            raise ValueError(f"truncations must be positive; got {self.truncations}")

    def run_name(self) -> str:
        """``<dataset>_<arch>_<loss>[_cond]``: names the default output ``results/image_gan_<run name>[_<preset>]``."""
        loss = self.loss_spec.replace(":", "_").replace(",", "_")
        return f"{self.dataset}_{self.arch}_{loss}{'_cond' if self.conditional else ''}"

    def keyed(self) -> "ImageGanConfig":
        """This config with the fields that do not change a seed's numbers at their defaults (the variant's config,
        hashed into the store's key)."""
        return replace(self, **_RUN_ONLY)


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
"""Data set → evaluator (real float images, fake float images, device) → {metric: value}."""


def real_reference(data, n: int):
    """``min(n, N)`` training images (uint8), drawn without replacement with a fixed seed (the same for every run)."""
    import torch

    g = torch.Generator().manual_seed(20_260_505)
    idx = torch.randperm(data.images.shape[0], generator=g)[:n]
    return data.images[idx]


def _grid_uint8(images) -> np.ndarray:
    """An 8-column grid of float images in [−1, 1] as a uint8 array (H, W, C)."""
    from gan.train import image_grid

    return image_grid(images, nrow=8).permute(1, 2, 0).numpy().astype(np.uint8)


# ----------------------------------------------------------------------------- one seed
def train_seed(cfg: ImageGanConfig, seed: int, ctx: UnitContext) -> UnitResult:
    """Train (or resume) one seed, evaluating at 0, every ``eval_every`` and at the end and checkpointing every
    ``checkpoint_every`` iterations and at each evaluation; returns its rows and its final sample grid."""
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
        if stop < cfg.steps:
            ckpt.save({"trainer": trainer.state_dict(), "rows": rows}, progress={"iteration": f"{stop}/{cfg.steps}"})
    for h in trainer.history:
        rows += [{"seed": seed, "step": h["step"], "metric": m, "value": h[m]} for m in LOSS_METRICS]
    seconds = sum(h["seconds"] for h in trainer.history)
    ctx.notes.append(f"seed {seed}: {trainer.step * trainer.cfg.global_batch_size() / max(seconds, 1e-9):.0f} "
                     f"training images/s on {ctx.device}")
    df = pd.DataFrame(rows, columns=["seed", "step", "metric", "value"]).drop_duplicates(
        ["seed", "step", "metric"], keep="last")
    return UnitResult(df, {f"seed{seed}/samples": _grid_uint8(trainer.grid_samples(64).cpu())})


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


# ----------------------------------------------------------------------------- figures (from the table)
def plot(df: pd.DataFrame, cfg: ImageGanConfig):
    plt = pyplot()
    metrics = list(dict.fromkeys(df["metric"]))
    n = max(len(metrics), 1)
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        for seed, sub in df[df["metric"] == metric].groupby("seed"):
            ax.plot(sub["step"], sub["value"], marker="." if len(sub) < 30 else None, label=f"seed {seed}")
        ax.set_title(metric)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    if df.seed.nunique() > 1:
        axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{cfg.run_name()}: {cfg.arch} on {cfg.dataset}, loss {cfg.loss_spec}", fontsize=12)
    fig.tight_layout()
    return fig


def _png(grid: np.ndarray) -> bytes:
    import io

    import matplotlib.image

    buf = io.BytesIO()
    if grid.shape[2] == 1:
        matplotlib.image.imsave(buf, grid[:, :, 0], cmap="gray", vmin=0, vmax=255, format="png")
    else:
        matplotlib.image.imsave(buf, grid, format="png")
    return buf.getvalue()


def summary(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The last value of every metric per seed."""
    out: dict[str, dict[str, float]] = {}
    for (seed, metric), sub in df.groupby(["seed", "metric"]):
        out.setdefault(str(seed), {})[metric] = float(sub.sort_values("step")["value"].iloc[-1])
    return out


class ImageGan(Study):
    name = NAME
    description = DESCRIPTION
    config_cls = ImageGanConfig
    table = TABLE
    presets = PRESETS
    default_preset = "paper"
    sort_columns = ("step", "metric")
    cost_unit = "it"
    run_name_help = "<dataset>_<arch>_<loss>[_cond]"

    def check(self, cfg: ImageGanConfig) -> None:
        load_data(cfg)

    def variants(self, cfg: ImageGanConfig) -> list[Variant]:
        labels = {"dataset": cfg.dataset, "arch": cfg.arch, "loss": cfg.loss_spec, "conditional": cfg.conditional}
        return [Variant(labels, cfg.keyed(), cfg.run_name(), options={"checkpoint_every": cfg.checkpoint_every,
                                                                      "compile": cfg.compile})]

    def seeds(self, cfg: ImageGanConfig) -> range:
        return range(cfg.first_seed, cfg.first_seed + cfg.seeds)

    def cost(self, unit: Unit) -> float:
        return float(unit.variant.config.steps)

    def run_unit(self, unit: Unit, ctx: UnitContext) -> UnitResult:
        cfg = replace(unit.variant.config, **unit.variant.options)
        return train_seed(cfg, unit.seeds[0], ctx)

    def run_name(self, cfg: ImageGanConfig) -> str:
        return cfg.run_name()

    def extra(self, cfg: ImageGanConfig, variants) -> dict:
        return {"config_key": variants[0].key,
                "train_config": _json_fields(cfg.train_config(cfg.first_seed).run_fields())}

    def outputs(self, table: pd.DataFrame, cfg: ImageGanConfig, out: Path, arrays: Mapping[str, np.ndarray]) -> dict:
        plt = pyplot()
        fig = plot(table, cfg)
        savefig_atomic(fig, out / "curves.png", dpi=cfg.dpi)
        plt.close(fig)
        for name, grid in arrays.items():
            seed = name.split("/")[1]
            write_atomic(out / f"samples_{seed}.png", _png(grid))
        return summary(table)

    def report(self, final: dict, cfg: ImageGanConfig) -> str:
        return "\n".join(f"seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(vals.items()))
                         for seed, vals in final.items())


def _json_fields(d: Mapping[str, Any]) -> dict:
    from studies.common import json_safe

    return json_safe(dict(d))


STUDY = ImageGan()


def main(argv: list[str] | None = None) -> int:
    return run_study("studies.image_gan", argv)


if __name__ == "__main__":
    sys.exit(main())
