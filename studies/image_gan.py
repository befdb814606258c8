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

Outputs in ``results/image_gan_<dataset>_<arch>_<loss>[_cond]/`` (``..._quick/`` with ``--quick``; or
``--out``): ``metrics.csv`` (long: dataset, arch, loss, conditional, config_key, seed,
step, metric, value), ``samples_seed<k>.png`` (8×8 grid of the final EMA generator at fixed
latents), ``curves.png`` (every metric against the iteration, one line per seed; redrawn from
the table with ``--plot-only``) and ``run.json``. Work in progress lives in
``runs/<config key>/``: a finished seed's rows (``seed<k>.csv``), and while a seed trains its
checkpoint (``ckpt-seed<k>.pt``, every ``checkpoint_every`` iterations and at each evaluation)
and rows so far. Re-running the same command skips finished seeds and resumes an interrupted
one bit for bit; the config key hashes every setting that changes the numbers; run.json's ``runs`` says
how many seeds this invocation trained and how many it reused (``studies.common.runs_record``).

Command-line errors (a data set that is not there, ``--device cuda`` without CUDA, a misspelt device)
end as ``error: ...`` naming the option, exit status 2. Progress: one bar per seed over all its
iterations (``seed k: <arch>/<loss>``; a resumed seed's bar starts where the checkpoint is).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import sys
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Literal

import pandas as pd

from studies.common import (Device, RunTimer, cli_error, json_safe, parse_config, pyplot, runs_record, saved_table,
                            savefig_atomic, write_atomic, write_csv_atomic, write_json_atomic, write_run_json)
from studies.runs import device_name

DESCRIPTION = "Image GANs (DCGAN / SN-ResNet) on MNIST-type data: sample grids, FID/KID/PR or Stacked-MNIST modes"
STUDY = "image_gan"
TABLE = "metrics.csv"
LABELS = ["dataset", "arch", "loss", "conditional", "config_key"]
COLUMNS = [*LABELS, "seed", "step", "metric", "value"]
DATASETS = ("mnist5k", "stacked_mnist", "mnist", "fashion_mnist", "cifar10", "image_folder")
LOSS_METRICS = ("d_loss", "g_loss", "images_per_s")
# fields that do not change the numbers of a run (left out of the config key)
_NOT_KEYED = ("seeds", "fresh", "compile", "device", "quick", "plot_only", "dpi", "log_every", "checkpoint_every",
              "progress")

QUICK = {"steps": 400, "batch_size": 64, "g_channels": 64, "d_channels": 32, "eval_every": 200, "n_eval": 1000,
         "log_every": 50}
"""``--quick``: CPU-sized (a few minutes on 2 cores for mnist5k/dcgan): 400 iterations at batch 64 with half-width
DCGAN networks, evaluated at 0, 200, 400 on 1,000 samples; explicit options override; output in
``results/image_gan_<dataset>_<arch>_<loss>[_cond]_quick/``."""


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class ImageGanConfig:
    """One configuration of the study (every field is a ``--field-name`` option; ``none`` = the architecture's default)."""

    dataset: Literal["mnist5k", "stacked_mnist", "mnist", "fashion_mnist", "cifar10", "image_folder"] = field(
        default="mnist5k", metadata=_help("gan.data.load_dataset name"))
    data_root: str | None = field(default=None, metadata=_help(
        "directory of the files of an on-disk data set (mnist, fashion_mnist, cifar10, image_folder); not for the "
        "built-in mnist5k and stacked_mnist"))
    n_data: int | None = field(default=None, metadata=_help("stacked_mnist: number of images (default: 60,000)"))
    resolution: int | None = field(default=None, metadata=_help("training resolution (default: the data's, "
                                                                 "or the nearest the architecture supports)"))
    arch: Literal["dcgan", "resnet"] = field(default="dcgan", metadata=_help("gan.nets.ARCHS name"))
    loss: str = field(default="ns", metadata=_help("gan.losses name"))
    loss_params: tuple[str, ...] = field(default=(), metadata=_help("KEY=VALUE parameters of the loss, e.g. "
                                                                    "alpha_d=0.5 alpha_g=1.2"))
    steps: int = field(default=20_000, metadata=_help("training iterations (n_dis D steps + 1 G step)"))
    batch_size: int | None = field(default=None, metadata=_help("minibatch size (default: the architecture's, "
                                                                 "dcgan 128, resnet 64)"))
    g_channels: int | None = field(default=None, metadata=_help("G width (default: dcgan 128, resnet 256)"))
    d_channels: int | None = field(default=None, metadata=_help("D width (default: dcgan 64, resnet 128)"))
    n_dis: int | None = field(default=None, metadata=_help("D steps per G step (default: dcgan 1, resnet 5)"))
    lr_d: float | None = field(default=None, metadata=_help("Adam learning rate of D, TTUR if it differs from lr_g "
                                                             "(default: the architecture's, 2e-4)"))
    lr_g: float | None = field(default=None, metadata=_help("Adam learning rate of G (default: the architecture's, "
                                                             "2e-4)"))
    beta1: float | None = field(default=None, metadata=_help("Adam beta1 (default: dcgan 0.5, resnet 0)"))
    beta2: float | None = field(default=None, metadata=_help("Adam beta2 (default: dcgan 0.999, resnet 0.9)"))
    penalty: Literal["gp", "r1", "dragan"] | None = field(default=None, metadata=_help("D penalty (default: none)"))
    penalty_weight: float | None = field(default=None, metadata=_help("penalty weight lambda / gamma (default: 10)"))
    spectral_norm: bool = field(default=False, metadata=_help("spectral norm on D (resnet always has it)"))
    conditional: bool = field(default=False, metadata=_help("class-conditional G and D"))
    cond_head: Literal["projection", "acgan"] = field(default="projection", metadata=_help("conditional D head"))
    ema_decay: float | None = field(default=0.999, metadata=_help("generator EMA decay (none: no EMA)"))
    diffaugment: str = field(default="", metadata=_help("DiffAugment policy, e.g. color,translation,cutout "
                                                         "(empty: off)"))
    seeds: tuple[int, ...] = field(default=(0,), metadata=_help("training seeds"))
    eval_every: int = field(default=5000, metadata=_help("iterations between evaluations"))
    n_eval: int = field(default=10_000, metadata=_help("generated (and at most as many real) images per evaluation"))
    log_every: int = field(default=100, metadata=_help("iterations between loss logs"))
    checkpoint_every: int = field(default=1000, metadata=_help("iterations between checkpoints"))
    fresh: bool = field(default=False, metadata=_help("discard finished runs and checkpoints of this configuration"))
    compile: bool = field(default=False, metadata=_help("torch.compile the forward passes"))
    device: Device = field(default="auto", metadata=_help(""))
    progress: bool = field(default=True, metadata=_help("tqdm progress bar"))
    quick: bool = field(default=False, metadata=_help(f"CPU-sized preset {QUICK}"))
    plot_only: bool = field(default=False, metadata=_help("redraw curves.png from the saved table, no training"))
    dpi: int = field(default=100, metadata=_help("PNG resolution of curves.png"))

    def __post_init__(self) -> None:
        from gan.device import parse_device
        from gan.losses import LOSSES

        parse_device(self.device)
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        self.parsed_loss_params()
        for name in ("steps", "eval_every", "n_eval", "log_every", "dpi"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer ≥ 1; got {v!r}")
        if self.checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be ≥ 0; got {self.checkpoint_every}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"seeds must be distinct non-negative integers; got {self.seeds}")
        self.train_config(self.seeds[0])  # validates the training settings

    def parsed_loss_params(self) -> dict[str, Any]:
        """``loss_params`` ("KEY=VALUE" strings) as a dict (numbers as floats; :func:`gan.train.parse_loss_params`)."""
        from gan.train import parse_loss_params

        return parse_loss_params(self.loss_params)

    def train_config(self, seed: int):
        """The :class:`gan.train.ImageTrainConfig` of one seed."""
        from gan.nets import get_arch
        from gan.train import ImageTrainConfig

        over = {k: getattr(self, k) for k in ("n_dis", "lr_d", "lr_g", "beta1", "beta2", "penalty", "penalty_weight")
                if getattr(self, k) is not None}
        if self.spectral_norm:
            over["spectral_norm"] = True
        options = replace(get_arch(self.arch).options, **over)
        return ImageTrainConfig(
            arch=self.arch, loss=self.loss, loss_params=self.parsed_loss_params(), options=options,
            batch_size=self.batch_size, g_channels=self.g_channels, d_channels=self.d_channels,
            conditional=self.conditional, cond_head=self.cond_head, ema_decay=self.ema_decay,
            diffaugment=self.diffaugment, compile=self.compile, seed=seed, log_every=self.log_every,
            progress=self.progress,
        )

    def run_name(self) -> str:
        """``<dataset>_<arch>_<loss>[_cond]``: names the default output ``results/image_gan_<run name>[_quick]``."""
        return f"{self.dataset}_{self.arch}_{self.loss}{'_cond' if self.conditional else ''}"

    def key(self) -> str:
        """16 hex digits of SHA-256 of the settings that change the numbers (``_NOT_KEYED`` left out)."""
        d = {k: v for k, v in asdict(self).items() if k not in _NOT_KEYED}
        text = json.dumps(json_safe(d), sort_keys=True, allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# ----------------------------------------------------------------------------- data and evaluation
def training_resolution(native: int, supported: tuple[int, ...], requested: int | None) -> int:
    """``requested``, else ``native`` if supported, else the smallest supported size ≥ native (else the largest)."""
    if requested is not None:
        return requested
    if native in supported:
        return native
    larger = [s for s in supported if s >= native]
    return min(larger) if larger else max(supported)


def load_data(cfg: ImageGanConfig):
    """The training set at the training resolution (``gan.data``); a data set that cannot be loaded is a
    ``ValueError`` worded for the command line (:func:`gan.train.load_dataset_cli`)."""
    from gan.data import resize
    from gan.nets import get_arch
    from gan.train import load_dataset_cli

    kw = {"n": cfg.n_data} if (cfg.dataset == "stacked_mnist" and cfg.n_data is not None) else {}
    data = load_dataset_cli(cfg.dataset, cfg.data_root, **kw)
    res = training_resolution(data.images.shape[-1], get_arch(cfg.arch).resolutions, cfg.resolution)
    return data if res == data.images.shape[-1] else resize(data, res)


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


# ----------------------------------------------------------------------------- one seed
class RunDir:
    """``<out>/``: the table, figures, ``run.json``, and ``runs/<key>/`` with per-seed parts and checkpoints."""

    def __init__(self, out: Path, cfg: ImageGanConfig):
        self.path = out
        self.work = self.path / "runs" / cfg.key()
        if cfg.fresh and self.work.exists():
            shutil.rmtree(self.work)

    def part(self, seed: int) -> Path:
        return self.work / f"seed{seed}.csv"

    def checkpoint(self, seed: int) -> Path:
        return self.work / f"ckpt-seed{seed}.pt"

    def rows_so_far(self, seed: int) -> Path:
        return self.work / f"rows-seed{seed}.json"


def _grid_png(images) -> bytes:
    """An 8-column grid of float images in [−1, 1] as PNG bytes (grey for one channel)."""
    import matplotlib.image

    from gan.train import image_grid

    grid = image_grid(images, nrow=8).permute(1, 2, 0).numpy()
    buf = io.BytesIO()
    if grid.shape[2] == 1:
        matplotlib.image.imsave(buf, grid[:, :, 0], cmap="gray", vmin=0, vmax=255, format="png")
    else:
        matplotlib.image.imsave(buf, grid, format="png")
    return buf.getvalue()


def train_seed(cfg: ImageGanConfig, seed: int, data, real, run: RunDir, device) -> list[dict]:
    """Train (or resume) one seed, evaluating at 0, every ``eval_every`` and at the end; returns its rows.

    One progress bar over the seed's ``steps`` iterations (the trainer advances it; evaluations pause it)."""
    import torch
    from tqdm.auto import tqdm

    from gan.train import ImageTrainer

    tcfg = replace(cfg.train_config(seed), checkpoint_every=cfg.checkpoint_every,
                   checkpoint_path=str(run.checkpoint(seed)))
    trainer = ImageTrainer.from_data(tcfg, data, device=device)
    rows: list[dict] = []
    if run.checkpoint(seed).exists():
        trainer.load_checkpoint(run.checkpoint(seed))
        if run.rows_so_far(seed).exists():
            rows = json.loads(run.rows_so_far(seed).read_text())
        rows = [r for r in rows if r["step"] <= trainer.step]
        print(f"seed {seed}: resumed at iteration {trainer.step}", file=sys.stderr)
    evaluate = EVALUATORS.get(cfg.dataset)
    stops = sorted({0, *range(cfg.eval_every, cfg.steps, cfg.eval_every), cfg.steps})
    bar = tqdm(total=cfg.steps, initial=trainer.step, unit="it", dynamic_ncols=True, disable=not cfg.progress,
               desc=f"seed {seed}: {cfg.arch}/{cfg.loss}")
    try:
        for stop in stops:
            if stop < trainer.step:
                continue
            if stop > trainer.step:
                trainer.train(stop - trainer.step, bar=bar)
            if evaluate is not None and not any(r["step"] == stop for r in rows):
                bar.set_postfix_str(f"evaluating at iteration {stop}")
                fake = trainer.sample(cfg.n_eval, torch.Generator(device=trainer.device).manual_seed(seed + 1))
                for name, value in evaluate(real, fake, trainer.device).items():
                    rows.append({"seed": seed, "step": stop, "metric": name, "value": value})
                bar.set_postfix_str("", refresh=False)
            write_json_atomic(rows, run.rows_so_far(seed))  # train() has just checkpointed this iteration
    finally:
        bar.close()
    for h in trainer.history:
        rows += [{"seed": seed, "step": h["step"], "metric": m, "value": h[m]} for m in LOSS_METRICS]
    write_atomic(run.path / f"samples_seed{seed}.png", _grid_png(trainer.grid_samples(64)))
    return rows


def finish_seed(cfg: ImageGanConfig, seed: int, rows: list[dict], run: RunDir) -> None:
    """Store a seed's rows as its part table and drop its checkpoint and partial rows."""
    df = pd.DataFrame(rows, columns=["seed", "step", "metric", "value"])
    df = df.drop_duplicates(["seed", "step", "metric"], keep="last")
    labels = {"dataset": cfg.dataset, "arch": cfg.arch, "loss": cfg.loss, "conditional": cfg.conditional,
              "config_key": cfg.key()}
    for i, (k, v) in enumerate(labels.items()):
        df.insert(i, k, v)
    write_json_atomic(asdict(cfg), run.work / "config.json")
    write_csv_atomic(df[COLUMNS], run.part(seed))
    run.checkpoint(seed).unlink(missing_ok=True)
    run.rows_so_far(seed).unlink(missing_ok=True)


def collect(cfg: ImageGanConfig, run: RunDir) -> pd.DataFrame:
    """The table of the requested seeds, sorted by (seed, step, metric)."""
    frames = [pd.read_csv(run.part(s)) for s in cfg.seeds if run.part(s).exists()]
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["seed", "step", "metric"], kind="stable").reset_index(drop=True)[COLUMNS]


# ----------------------------------------------------------------------------- figure and summary (from the table)
def plot(df: pd.DataFrame, cfg: ImageGanConfig):
    plt = pyplot()
    metrics = [m for m in dict.fromkeys(df["metric"]) if m != "images_per_s"]
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
    if len(cfg.seeds) > 1:
        axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{cfg.run_name()}: {cfg.arch} on {cfg.dataset}, loss {cfg.loss}", fontsize=12)
    fig.tight_layout()
    return fig


def summary(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The last value of every metric per seed."""
    out: dict[str, dict[str, float]] = {}
    for (seed, metric), sub in df.groupby(["seed", "metric"]):
        out.setdefault(str(seed), {})[metric] = float(sub.sort_values("step")["value"].iloc[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    cfg, out = parse_config(ImageGanConfig, argv, study=STUDY, description=DESCRIPTION, presets={"quick": QUICK},
                            run_name=ImageGanConfig.run_name, run_name_help="<dataset>_<arch>_<loss>[_cond]")
    timer = RunTimer()
    run = RunDir(out, cfg)
    table = run.path / TABLE
    device = None
    if cfg.plot_only:
        df = saved_table(table)
        if df is None:
            return 2
    else:
        import torch

        from gan.device import resolve_device

        try:
            device = resolve_device(cfg.device)
            data = load_data(cfg)
        except ValueError as exc:
            cli_error(STUDY, str(exc))
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        real = real_reference(data, cfg.n_eval)
        if cfg.dataset not in EVALUATORS:
            print(f"no evaluator for {cfg.dataset!r} (have: {', '.join(EVALUATORS)}); recording losses only",
                  file=sys.stderr)
        reused = [s for s in cfg.seeds if run.part(s).exists()]
        resumed = [s for s in cfg.seeds if s not in reused and run.checkpoint(s).exists()]
        for seed in cfg.seeds:
            if seed in reused:
                print(f"seed {seed}: finished earlier ({run.part(seed)}); skipped", file=sys.stderr)
                continue
            rows = train_seed(cfg, seed, data, real, run, device)
            finish_seed(cfg, seed, rows, run)
        df = collect(cfg, run)
        write_csv_atomic(df, table)
    plt = pyplot()
    fig = plot(df, cfg)
    savefig_atomic(fig, run.path / "curves.png", dpi=cfg.dpi)
    plt.close(fig)
    final = summary(df)
    for seed, vals in final.items():
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in sorted(vals.items())))
    if cfg.plot_only:  # the figures are redrawn; run.json keeps describing the run that made the table
        print(f"redrew {run.path}/curves.png from {table}")
        return 0
    wall = timer.stop()
    files = [TABLE, "curves.png", *[f"samples_seed{s}.png" for s in cfg.seeds], "run.json"]
    n_new = len(cfg.seeds) - len(reused)
    write_run_json(run.path, cfg, seeds=list(cfg.seeds), wall_time=wall, study=STUDY, device=device_name(device),
                   timer=timer, runs=runs_record(len(cfg.seeds), n_new, len(resumed)),
                   extra={"config_key": cfg.key(), "files": files, "final": final,
                          "train_config": json_safe(cfg.train_config(cfg.seeds[0]).run_fields())})
    print(f"wrote {run.path}/ ({', '.join(files)}; {n_new} of {len(cfg.seeds)} seeds trained now on {device}"
          f"{f', {len(reused)} reused from earlier runs' if reused else ''}) in {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
