"""``python -m studies.train_gan``: one image GAN run with the trainer alone (:class:`gan.train.ImageTrainer`).

The command line of the trainer, beside the studies' (same options, same spelling: :class:`studies.image_run.
ImageRunConfig` is shared with ``studies.image_gan``). It trains one seed for ``--steps`` iterations, optionally with a
checkpoint file that ``--resume`` continues from bit for bit (the checkpoint records the run's settings and is
refused, in one line, when it belongs to another run or is not a distmatch checkpoint), TensorBoard logs, and
``torchrun -m studies.train_gan ...`` for data-parallel training over several GPUs (the trainer joins the process
group itself). It is not a study: it writes no table; for seeds, metrics and figures use ``studies.image_gan``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from studies.common import Device, HelpFormatter, add_config_options
from studies.image_run import ImageRunConfig, load_data

PROG = "python -m studies.train_gan"


def _help(text: str) -> dict:
    return {"help": text}


@dataclass(frozen=True)
class TrainGanConfig(ImageRunConfig):
    """One run of the trainer (every field a ``--field-name`` option)."""

    seed: int = field(default=0, metadata=_help("root of every random stream"))
    amp: bool = field(default=True, metadata=_help("bf16 autocast on CUDA (--no-amp: fp32)"))
    checkpoint: str | None = field(default=None, metadata=_help("checkpoint file (default: none)"))
    checkpoint_every: int = field(default=0, metadata=_help("iterations between checkpoints; 0: only at the end"))
    resume: bool = field(default=False, metadata=_help("continue from --checkpoint if it exists"))
    tensorboard: str | None = field(default=None, metadata=_help("TensorBoard log directory (default: none)"))
    sample_every: int = field(default=0, metadata=_help("iterations between TensorBoard sample grids; 0: none"))
    device: Device = field(default="auto", metadata=_help("under torchrun, auto is cuda:LOCAL_RANK"))

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("seed", "checkpoint_every", "sample_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be a non-negative integer; got {v!r}")
        if self.resume and self.checkpoint is None:
            raise ValueError("--resume needs --checkpoint FILE")
        if self.checkpoint_every and self.checkpoint is None:
            raise ValueError("--checkpoint-every needs --checkpoint FILE")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description="Train one image GAN with gan.train.ImageTrainer.",
                                     formatter_class=HelpFormatter)
    add_config_options(parser, TrainGanConfig)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bar (default: on when stderr is a terminal)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = vars(parser.parse_args(argv))
    progress = ns.pop("progress")
    try:
        cfg = TrainGanConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ns.items()})
        data = load_data(cfg)
    except (ValueError, TypeError) as exc:
        parser.error(str(exc))
    import torch

    from gan.fileio import SealError
    from gan.train import ImageTrainer

    tcfg = cfg.train_config(cfg.seed, amp=None if cfg.amp else False, checkpoint_every=cfg.checkpoint_every,
                            checkpoint_path=cfg.checkpoint, tensorboard_dir=cfg.tensorboard,
                            sample_every=cfg.sample_every,
                            progress=sys.stderr.isatty() if progress is None else progress)
    try:
        trainer = ImageTrainer.from_data(tcfg, data, device=cfg.device)
        if cfg.resume and Path(cfg.checkpoint).exists():  # the trainer refuses another run's checkpoint
            trainer.load_checkpoint(cfg.checkpoint)
            print(f"resumed {cfg.checkpoint} at iteration {trainer.step}", file=sys.stderr)
    except (SealError, ValueError) as exc:
        parser.error(str(exc))
    if trainer.device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
    trainer.train(max(cfg.steps - trainer.step, 0))
    if trainer.history and trainer.dist.rank == 0:
        last = trainer.history[-1]
        print(f"iteration {last['step']}: d_loss {last['d_loss']:.4f}, g_loss {last['g_loss']:.4f}, "
              f"{last['images_per_s']:.1f} images/s")
    return 0


__all__ = ["TrainGanConfig", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
