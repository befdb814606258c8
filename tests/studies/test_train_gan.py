"""``python -m studies.train_gan``: the trainer's command line (options shared with studies.image_gan, one-line
errors, resume, another run's or a foreign checkpoint refused in one line)."""

from __future__ import annotations

import pytest
import torch

from gan.checkpoint import load_checkpoint
from studies import train_gan

TINY = ["--dataset", "mnist5k", "--batch-size", "4", "--g-channels", "4", "--d-channels", "4", "--log-every", "1",
        "--no-progress", "--device", "cpu"]


def _config(argv):
    ns = vars(train_gan.build_parser().parse_args(argv))
    ns.pop("progress")
    return train_gan.TrainGanConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ns.items()})


def test_options_resolve_to_the_trainer_config():
    cfg = _config(["--arch", "resnet", "--lr-d", "4e-4", "--lr-g", "1e-4", "--n-dis", "1", "--loss", "alpha:alpha=2",
                   "--ema-decay", "none"])
    tcfg = cfg.train_config(0)
    opts = tcfg.train_options()
    assert (opts.lr_d, opts.lr_g, opts.n_dis, opts.beta1, opts.beta2) == (4e-4, 1e-4, 1, 0.0, 0.9)  # TTUR on resnet
    assert tcfg.build_loss().params == {"alpha": 2.0} and tcfg.ema_decay is None
    cfg = _config(["--loss", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2"])
    assert cfg.train_config(0).build_loss().params == {"alpha_d": 0.5, "alpha_g": 1.2}
    assert cfg.device == "auto" and _config([]).loss_spec == "ns"  # the architecture's default loss


CUDA = torch.cuda.is_available()


@pytest.mark.parametrize("argv, words", [
    (["--device", "gpu"], ["argument --device", "unknown device 'gpu'", "auto, cpu, cuda, cuda:N"]),
    (["--device", "cuda:7" if CUDA else "cuda"], ["argument --device", "auto, cpu"]),
    (["--dataset", "mnist"], ["--dataset mnist", "--data-root DIR", "train-images-idx3-ubyte"]),
    (["--dataset", "mnist", "--data-root", "/nonexistent/mnist"],
     ["--data-root '/nonexistent/mnist' is not a directory", "train-images-idx3-ubyte", "train-labels-idx1-ubyte"]),
    (["--data-root", "/tmp"], ["--dataset mnist5k is built in", "leave out --data-root"]),
    (["--loss", "alpha:alpha"], ["key=value", "'alpha'"]),
    (["--steps", "-5"], ["steps must be an integer >= 1; got -5"]),
    (["--resume"], ["--resume needs --checkpoint FILE"]),
    (["--resolution", "7"], ["--resolution 7", "trains at"]),
    (["--arch", "vgg"], ["arch must be one of", "'vgg'"]),
])
def test_command_line_errors_are_one_line_usage_errors(argv, words, capsys):
    with pytest.raises(SystemExit) as exc:
        train_gan.main([*argv, "--no-progress", "--steps", "1"] if "--steps" not in argv else [*argv, "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert line.startswith("python -m studies.train_gan: error: ") and "Traceback" not in err
    for w in words:
        assert w in line, (w, line)


def test_help_shows_each_default_once():
    text = train_gan.build_parser().format_help()
    assert "(default: None)" not in text and "--loss-params" not in text
    assert "(default: auto)" in text and "cuda:N" in text
    for block in text.split("\n  --")[1:]:
        assert " ".join(block.split()).count("(default") <= 1, block


def test_resume_continues_and_refuses_another_runs_or_a_foreign_checkpoint(tmp_path, capsys):
    """``--checkpoint F --resume``: a second call with more steps continues from F; a checkpoint of another run (other
    settings) or a file that is not a distmatch checkpoint ends in one line (exit 2), not a traceback."""
    ck = tmp_path / "ck.pt"
    argv = [*TINY, "--checkpoint", str(ck), "--resume"]
    assert train_gan.main([*argv, "--steps", "2"]) == 0
    assert load_checkpoint(ck)["step"] == 2
    assert train_gan.main([*argv, "--steps", "3"]) == 0
    captured = capsys.readouterr()
    assert "resumed" in captured.err and "iteration 3:" in captured.out
    state = load_checkpoint(ck)
    assert state["step"] == 3 and [r["step"] for r in state["history"]] == [1, 2, 3]
    for argv2, words in (([*argv, "--loss", "hinge", "--steps", "4"], "belongs to another run"),):
        with pytest.raises(SystemExit) as exc:
            train_gan.main(argv2)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert words in err.strip().splitlines()[-1] and "Traceback" not in err
    foreign = tmp_path / "foreign.pt"
    torch.save({"step": 1}, foreign)  # another program's file
    with pytest.raises(SystemExit) as exc:
        train_gan.main([*TINY, "--checkpoint", str(foreign), "--resume", "--steps", "2"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert f"not a distmatch checkpoint: {foreign}" in line and "weights_only=False" not in err


def _idx(path, magic_dims: tuple[int, ...], payload: bytes = b"") -> None:
    import struct

    ndim = len(magic_dims)
    path.write_bytes(struct.pack(">HBB", 0, 0x08, ndim) + struct.pack(f">{ndim}I", *magic_dims) + payload)


def test_an_empty_mnist_folder_is_a_one_line_error(tmp_path, capsys):
    _idx(tmp_path / "train-images-idx3-ubyte", (0, 28, 28))
    _idx(tmp_path / "train-labels-idx1-ubyte", (0,))
    with pytest.raises(SystemExit) as exc:
        train_gan.main(["--dataset", "mnist", "--data-root", str(tmp_path), "--steps", "1", "--no-progress"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    line = err.strip().splitlines()[-1]
    assert "--dataset mnist" in line and "Traceback" not in err


def test_an_image_folder_gets_its_resolution(tmp_path):
    """``--dataset image_folder --resolution 32`` used to fail on every folder ("needs resolution; got None"): the
    resolution never reached the loader. The folder loader now gets it, in the study and the trainer alike."""
    import numpy as np
    from PIL import Image

    from studies.image_run import ImageRunConfig, load_data

    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / f"im{i}.png")
    data = load_data(ImageRunConfig(dataset="image_folder", data_root=str(tmp_path), resolution=32))
    assert tuple(data.images.shape) == (6, 3, 32, 32)
    assert train_gan.main(["--dataset", "image_folder", "--data-root", str(tmp_path), "--resolution", "32",
                           "--steps", "1", "--batch-size", "4", "--g-channels", "4", "--d-channels", "4",
                           "--no-progress", "--device", "cpu"]) == 0
