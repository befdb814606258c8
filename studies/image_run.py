"""What the image command lines share: the data set, network and training settings of one image GAN run.

:class:`ImageRunConfig` is declared once and extended by the image study (``studies.image_gan``: seeds, evaluation,
figures) and by the trainer's own command line (``python -m studies.train_gan``: one seed, a checkpoint file,
TensorBoard). A field left at ``None`` takes the architecture's default (:data:`gan.nets.ARCHS`); the overrides of the
training options are the fields of :class:`gan.regularizers.TrainOptions`. The loss is a ``gan.losses`` spec
``NAME[:key=value,...]`` (the one spelling of every command line). :func:`load_data` loads the data set at the
training resolution, with errors worded for ``--dataset``/``--data-root``/``--resolution``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

DATASETS = ("mnist5k", "stacked_mnist", "mnist", "fashion_mnist", "cifar10", "image_folder")
_OVERRIDES = ("n_dis", "lr_d", "lr_g", "beta1", "beta2", "penalty", "penalty_weight", "clip", "penalty_interval",
              "cr_real", "cr_fake", "cr_transform", "ortho_weight", "pl_weight", "style_mixing")
"""Fields of :class:`gan.regularizers.TrainOptions` a command line may override (None: the architecture's value)."""


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class ImageRunConfig:
    """Data, networks and training settings of an image GAN run (each field a ``--field-name`` option; ``none``:
    the architecture's default)."""

    dataset: Literal["mnist5k", "stacked_mnist", "mnist", "fashion_mnist", "cifar10", "image_folder"] = field(
        default="mnist5k", metadata=_help("gan.data.load_dataset name"))
    data_root: str | None = field(default=None, metadata=_help(
        "directory of the files of an on-disk data set (mnist, fashion_mnist, cifar10, image_folder); not for the "
        "built-in mnist5k and stacked_mnist"))
    n_data: int | None = field(default=None, metadata=_help("stacked_mnist: number of images (default: 60,000)"))
    resolution: int | None = field(default=None, metadata=_help("training resolution (default: the data's, "
                                                                 "or the nearest the architecture supports)"))
    arch: str = field(default="dcgan", metadata=_help("gan.nets.ARCHS name: dcgan, resnet, sagan, biggan, stylegan2"))
    widths: str | None = field(default=None, metadata=_help(
        "the architecture's width preset, e.g. small (a CPU-sized network; explicit --g-channels/--d-channels "
        "override it; default: the paper's widths)"))
    loss: str | None = field(default=None, metadata=_help(
        "gan.losses spec NAME[:key=value,...], e.g. ns, hinge or alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2 (default: "
        "the architecture's)"))
    steps: int = field(default=20_000, metadata=_help("training iterations (n_dis D steps + 1 G step)"))
    batch_size: int | None = field(default=None, metadata=_help("minibatch size (default: the architecture's)"))
    g_channels: int | None = field(default=None, metadata=_help("G width (default: the architecture's)"))
    d_channels: int | None = field(default=None, metadata=_help("D width (default: the architecture's)"))
    n_dis: int | None = field(default=None, metadata=_help("D steps per G step (default: the architecture's)"))
    lr_d: float | None = field(default=None, metadata=_help("Adam learning rate of D, TTUR if it differs from lr_g "
                                                             "(default: the architecture's)"))
    lr_g: float | None = field(default=None, metadata=_help("Adam learning rate of G (default: the architecture's)"))
    beta1: float | None = field(default=None, metadata=_help("Adam beta1 (default: the architecture's)"))
    beta2: float | None = field(default=None, metadata=_help("Adam beta2 (default: the architecture's)"))
    penalty: Literal["gp", "r1", "dragan"] | None = field(default=None, metadata=_help(
        "D penalty (default: the architecture's)"))
    penalty_weight: float | None = field(default=None, metadata=_help("penalty weight lambda / gamma (default: the "
                                                                       "architecture's)"))
    clip: float | None = field(default=None, metadata=_help("D weight clipping bound (default: the architecture's)"))
    penalty_interval: int | None = field(default=None, metadata=_help(
        "lazy regularization: the penalty every k-th D step, weight x k (default: the architecture's; stylegan2 16)"))
    cr_real: float | None = field(default=None, metadata=_help("consistency regularization weight on real images (CR, "
                                                                "Zhang et al. 2020: 10; default: off)"))
    cr_fake: float | None = field(default=None, metadata=_help("bCR weight on generated images (Zhao et al. 2020; "
                                                                "default: off)"))
    cr_transform: str | None = field(default=None, metadata=_help("CR's transform T, comma list of flip, translation, "
                                                                   "cutout, color (default: flip,translation)"))
    ortho_weight: float | None = field(default=None, metadata=_help("orthogonal regularization of G, beta (default: the "
                                                                     "architecture's; biggan 1e-4)"))
    pl_weight: float | None = field(default=None, metadata=_help("path-length regularization weight (default: the "
                                                                  "architecture's; stylegan2 2)"))
    style_mixing: float | None = field(default=None, metadata=_help("style-mixing probability (default: the "
                                                                     "architecture's; stylegan2 0.9)"))
    ada_target: float | None = field(default=None, metadata=_help("adaptive discriminator augmentation: target of "
                                                                   "r_t = E[sign D(x_real)] (Karras et al. 2020b: "
                                                                   "0.6; default: off)"))
    spectral_norm: bool = field(default=False, metadata=_help("spectral norm on D (on in architectures that have it)"))
    conditional: bool = field(default=False, metadata=_help("class-conditional G and D"))
    cond_head: Literal["projection", "acgan"] = field(default="projection", metadata=_help("conditional D head"))
    ema_decay: float | None = field(default=0.999, metadata=_help("generator EMA decay (none: no EMA)"))
    diffaugment: str = field(default="", metadata=_help("DiffAugment policy, e.g. color,translation,cutout "
                                                         "(empty: off)"))
    log_every: int = field(default=100, metadata=_help("iterations between loss logs"))
    compile: bool = field(default=False, metadata=_help("torch.compile the forward passes"))

    def __post_init__(self) -> None:
        from gan.losses import format_loss_spec, parse_loss_spec
        from gan.nets import ARCHS

        if self.arch not in ARCHS:
            raise ValueError(f"arch must be one of {', '.join(ARCHS)}; got {self.arch!r}")
        if self.loss is not None:  # the canonical spelling
            object.__setattr__(self, "loss", format_loss_spec(*parse_loss_spec(self.loss)))
        for name in ("steps", "log_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1; got {v!r}")
        for name in ("resolution", "n_data"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        self.train_config(0)  # validates the training settings

    @property
    def loss_spec(self) -> str:
        """The loss as trained: ``loss``, or the architecture's default loss."""
        from gan.nets import get_arch

        return self.loss or get_arch(self.arch).loss

    def train_config(self, seed: int, **more: Any):
        """The :class:`gan.train.ImageTrainConfig` of one seed (``more``: further ImageTrainConfig fields)."""
        from gan.losses import parse_loss_spec
        from gan.nets import get_arch
        from gan.train import ImageTrainConfig

        over = {k: getattr(self, k) for k in _OVERRIDES if getattr(self, k) is not None}
        if self.spectral_norm:
            over["spectral_norm"] = True
        options = replace(get_arch(self.arch).options, **over)
        name, params = parse_loss_spec(self.loss_spec)
        return ImageTrainConfig(
            arch=self.arch, loss=name, loss_params=params, options=options, batch_size=self.batch_size,
            g_channels=self.g_channels, d_channels=self.d_channels, conditional=self.conditional,
            cond_head=self.cond_head, ema_decay=self.ema_decay, diffaugment=self.diffaugment, compile=self.compile,
            seed=seed, log_every=self.log_every, preset=self.widths, ada_target=self.ada_target, **more)


def training_resolution(native: int, supported: tuple[int, ...], requested: int | None) -> int:
    """``requested``, else ``native`` if supported, else the smallest supported size ≥ native (else the largest)."""
    if requested is not None:
        return requested
    if native in supported:
        return native
    larger = [s for s in supported if s >= native]
    return min(larger) if larger else max(supported)


def load_dataset_cli(dataset: str, data_root: str | os.PathLike | None, **kwargs: Any):
    """:func:`gan.data.load_dataset` for the command lines: a data set that cannot be loaded raises ``ValueError``
    worded for ``--dataset``/``--data-root`` (the caller makes it a command-line error): a missing or misplaced
    ``--data-root`` says what the directory must hold."""
    from gan.data import ROOT_CONTENTS, load_dataset

    if dataset in ROOT_CONTENTS and data_root is None:
        raise ValueError(f"--dataset {dataset} reads files you already have (nothing is downloaded): give their "
                         f"directory with --data-root DIR; it must hold {ROOT_CONTENTS[dataset]}")
    if dataset not in ROOT_CONTENTS and data_root is not None:
        raise ValueError(f"--dataset {dataset} is built in: leave out --data-root (it is for the data sets read from "
                         f"your files: {', '.join(ROOT_CONTENTS)})")
    if data_root is not None and not Path(data_root).expanduser().is_dir():
        raise ValueError(f"--data-root {str(data_root)!r} is not a directory; --dataset {dataset} expects a "
                         f"directory holding {ROOT_CONTENTS[dataset]}")
    try:
        return load_dataset(dataset, root=data_root, **kwargs)
    except (ValueError, FileNotFoundError, ModuleNotFoundError) as exc:
        where = f"--dataset {dataset}" + (f" --data-root {data_root}" if data_root is not None else "")
        raise ValueError(f"{where}: {exc}") from exc


@functools.lru_cache(maxsize=2)
def load_data(cfg: ImageRunConfig):
    """The training set of ``cfg`` at the training resolution (cached per process). A data set that cannot be
    loaded, holds no images, or a resolution the architecture does not train at is a ``ValueError`` worded for the
    command line."""
    from gan.data import resize
    from gan.nets import get_arch

    kw: dict[str, Any] = {"n": cfg.n_data} if (cfg.dataset == "stacked_mnist" and cfg.n_data is not None) else {}
    supported = get_arch(cfg.arch).resolutions
    if cfg.resolution is not None and cfg.resolution not in supported:
        raise ValueError(f"--resolution {cfg.resolution}: --arch {cfg.arch} trains at "
                         f"{', '.join(map(str, supported))}")
    if cfg.dataset == "image_folder":  # the folder loader crops and resizes itself: it needs the size
        kw["resolution"] = training_resolution(max(supported), supported, cfg.resolution)
    data = load_dataset_cli(cfg.dataset, cfg.data_root, **kw)
    if len(data.images) == 0:
        raise ValueError(f"--dataset {cfg.dataset}: the data set holds no images")
    res = training_resolution(data.images.shape[-1], supported, cfg.resolution)
    return data if res == data.images.shape[-1] else resize(data, res)


__all__ = ["DATASETS", "ImageRunConfig", "load_data", "load_dataset_cli", "training_resolution"]
