"""Image GAN training throughput: our trainer (:class:`gan.train.ImageTrainer`) vs a plain reference loop.

    python -m benchmarks.image_speed [--device cuda] [--steps 50] [--rounds 5] [--warmup 20] [--no-compile]
                                     [--workloads dcgan-64 resnet-32 sagan-32 ...]
    python -m benchmarks.image_speed --quick            # CPU smoke run: batch 4, 2 steps, 2 rounds

Workloads (one iteration = one D step + one G step, n_dis = 1 for both; images/s = B × iterations/s;
unconditional networks at the paper widths, 3 channels):

* **dcgan-64**: DCGAN at 64×64×3 (Radford et al. 2016; G 1024-512-256-128, D 64-128-256-512), NS/BCE
  loss, Adam 2e-4, β = (0.5, 0.999), batch 128;
* **resnet-32**: SN-ResNet-32 (Miyato et al. 2018; G 256 channels, D 128 with spectral norm),
  hinge loss, Adam 2e-4, β = (0, 0.9), batch 64;
* **sagan-32**, **sagan-64**: SAGAN (Zhang et al. 2019; residual G/D, ch 64, self-attention, spectral norm in
  G and D), hinge, TTUR Adam 4e-4/1e-4, β = (0, 0.9), batch 256 (the paper's);
* **biggan-32**, **biggan-64**: BigGAN (Brock et al. 2019; ch 64, hierarchical z ∈ R¹²⁰, attention, SN in G and
  D), hinge, Adam 2e-4/5e-5, β = (0, 0.999), batch 256 (the paper's 2048 would not change the per-image work);
* **stylegan2-32**, **stylegan2-64**: StyleGAN2 (Karras et al. 2020a; 512 channels, 8-layer mapping network,
  modulated convolutions, residual D with minibatch std), NS logistic loss, Adam 2.5e-3, β = (0, 0.99), batch 64,
  no regularizer in either loop;
* **stylegan2-32+reg**: the same network with our trainer running StyleGAN2's regularizers as in the paper (R1
  every 16 D steps, path length every 4 G steps, style mixing 0.9) against the plain reference loop: the
  ratio is what the regularizers cost.

Loops compared, in the same process on the same device:

* **ours**: ``ImageTrainer`` with its defaults for the device: bf16 autocast, channels_last,
  ``torch.compile`` (CUDA; ``--no-compile`` to disable), fused Adam, uint8 data resident on the
  device converted on the fly, no host sync except one log at the end of each timed call. EMA off
  (the reference has none). Its D step runs G without grad on fresh latents, its G step draws
  new latents and skips D's weight gradients.
* **reference**: the textbook PyTorch DCGAN loop written below (fp32, no compile, ``nn.Sequential``
  models, ``BCELoss`` after a sigmoid, default Adam, contiguous tensors): D on the real batch,
  backward; G(z) once, D on ``fake.detach()``, backward; D step; D on the same fake, BCE with
  real labels, backward through D and G; G step. For the other workloads the reference uses the same
  plain loop on our modules of that architecture (built by ``gan.nets.build_models``, plain ``nn.Module``s,
  fp32; hinge, or the NS loss as ``softplus`` of the logits): the same network, without our trainer. Its
  minibatches come from a float32 tensor already on the device (no DataLoader), so the ratio measures the
  model/optimizer path, not data loading.

Protocol: both loops are built on random uint8 data (10 000 images; 64 in ``--quick``), each runs
``--warmup`` iterations untimed (compilation happens there), then ``--rounds`` rounds alternate
``--steps`` timed iterations of ours and of the reference (``torch.cuda.synchronize`` before each
clock read). Reported per workload: the median images/s over rounds of each loop, the median of
the per-round ratios ours/reference, and the peak memory of each loop
(``torch.cuda.max_memory_allocated`` over its rounds, after ``reset_peak_memory_stats``; "n/a" on
the CPU). The table goes to ``benchmarks/results/image_speed_<device>.md`` (``..._quick.md`` for
``--quick``; ``--out`` to override), written atomically.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.common import device_name
from gan.device import DEVICE_HELP, device_option, resolve_device
from gan.nets import ARCHS, build_models
from gan.regularizers import TrainOptions
from gan.train import ImageTrainConfig, ImageTrainer
from studies.common import write_atomic

RESULTS = Path(__file__).resolve().parent / "results"

WORKLOADS = {
    "dcgan-64": dict(arch="dcgan", resolution=64, batch=128, loss="ns",
                     options=TrainOptions(n_dis=1, lr_d=2e-4, lr_g=2e-4, beta1=0.5, beta2=0.999)),
    "resnet-32": dict(arch="resnet", resolution=32, batch=64, loss="hinge",
                      options=TrainOptions(n_dis=1, lr_d=2e-4, lr_g=2e-4, beta1=0.0, beta2=0.9)),
    **{f"sagan-{r}": dict(arch="sagan", resolution=r, batch=256, loss="hinge",
                          options=TrainOptions(n_dis=1, lr_d=4e-4, lr_g=1e-4, beta1=0.0, beta2=0.9)) for r in (32, 64)},
    **{f"biggan-{r}": dict(arch="biggan", resolution=r, batch=256, loss="hinge",
                           options=TrainOptions(n_dis=1, lr_d=2e-4, lr_g=5e-5, beta1=0.0, beta2=0.999))
       for r in (32, 64)},
    **{f"stylegan2-{r}": dict(arch="stylegan2", resolution=r, batch=64, loss="ns",
                              options=TrainOptions(n_dis=1, lr_d=2.5e-3, lr_g=2.5e-3, beta1=0.0, beta2=0.99))
       for r in (32, 64)},
    "stylegan2-32+reg": dict(arch="stylegan2", resolution=32, batch=64, loss="ns",
                             options=dataclasses.replace(ARCHS["stylegan2"].options, n_dis=1)),
}
NEW_ARCHITECTURES = ("sagan-32", "biggan-32", "stylegan2-32", "stylegan2-32+reg", "sagan-64", "biggan-64",
                     "stylegan2-64")
"""The workloads of SAGAN, BigGAN and StyleGAN2 (``scripts/gpu_session.sh`` stage ``image-speed-archs``)."""


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------- the textbook reference
def textbook_dcgan(nz: int = 100, ngf: int = 128, ndf: int = 64, nc: int = 3) -> tuple[nn.Module, nn.Module]:
    """The PyTorch-examples DCGAN pair at the paper's widths (G 1024-512-256-128, D 64-128-256-512), 64×64."""
    G = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),
    )
    D = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),
    )
    for m in list(G.modules()) + list(D.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


class ReferenceLoop:
    """The textbook fp32 GAN loop (module docstring): BCE after a sigmoid for dcgan, hinge or NS on logits for the
    other workloads' networks; one G forward per iteration."""

    def __init__(self, workload: str, images: torch.Tensor, device: torch.device, batch: int, g_channels: int | None,
                 d_channels: int | None):
        w = WORKLOADS[workload]
        self.device, self.batch, self.loss = device, batch, w["loss"]
        opts: TrainOptions = w["options"]
        if workload == "dcgan-64":
            self.G, self.D = textbook_dcgan(ngf=g_channels or 128, ndf=d_channels or 64, nc=images.shape[1])
            self.nz = 100
            self.G_in = lambda z: self.G(z[:, :, None, None])
            self.D_out = lambda x: self.D(x).view(-1)
        else:
            self.G, self.D = build_models(w["arch"], w["resolution"], images.shape[1], g_channels=g_channels,
                                          d_channels=d_channels, generator=torch.Generator().manual_seed(0))
            self.nz = self.G.latent_dim
            self.G_in = lambda z: self.G(z)
            self.D_out = lambda x: self.D(x)
        self.G.to(device)
        self.D.to(device)
        betas = (opts.beta1, opts.beta2)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=opts.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=opts.lr_d, betas=betas)
        self.data = images.to(device).float().div(127.5).sub(1.0)
        self.criterion = nn.BCELoss()
        self.gen = torch.Generator(device=device).manual_seed(1)

    def _errors(self, out: torch.Tensor, kind: str) -> torch.Tensor:
        """The textbook loss terms: kind "real"/"fake" (D) or "gen" (G)."""
        if self.loss == "hinge":
            return {"real": lambda: F.relu(1 - out).mean(), "fake": lambda: F.relu(1 + out).mean(),
                    "gen": lambda: -out.mean()}[kind]()
        if self.loss == "ns":  # on logits: −log σ(v) = softplus(−v), −log(1 − σ(v)) = softplus(v)
            return (F.softplus(out) if kind == "fake" else F.softplus(-out)).mean()
        target = torch.ones_like(out) if kind != "fake" else torch.zeros_like(out)  # dcgan: BCE after a sigmoid
        return self.criterion(out, target)

    def run(self, steps: int) -> None:
        B, dev = self.batch, self.device
        for _ in range(steps):
            real = self.data[torch.randint(self.data.shape[0], (B,), generator=self.gen, device=dev)]
            self.D.zero_grad()
            self._errors(self.D_out(real), "real").backward()
            z = torch.randn(B, self.nz, generator=self.gen, device=dev)
            fake = self.G_in(z)
            self._errors(self.D_out(fake.detach()), "fake").backward()
            self.opt_d.step()
            self.G.zero_grad()
            self._errors(self.D_out(fake), "gen").backward()
            self.opt_g.step()


# ----------------------------------------------------------------------------- measurement
def ours(workload: str, images: torch.Tensor, device: torch.device, batch: int, compile_: bool,
         g_channels: int | None, d_channels: int | None) -> ImageTrainer:
    """Our trainer on the workload (EMA off, logging only at the end of each ``train`` call)."""
    w = WORKLOADS[workload]
    cfg = ImageTrainConfig(arch=w["arch"], loss=w["loss"], options=w["options"], batch_size=batch,
                           g_channels=g_channels, d_channels=d_channels, ema_decay=None, compile=compile_,
                           progress=False, log_every=10**9)
    return ImageTrainer(cfg, images, None, 0, device=device)


def _peak(device: torch.device) -> int | None:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def measure(workload: str, args, device: torch.device) -> dict:
    """Warm-up, then ``rounds`` interleaved timed rounds; images/s per round and peak memory of each loop."""
    w = WORKLOADS[workload]
    r = w["resolution"]
    g = torch.Generator().manual_seed(0)
    n = 64 if args.quick else 10_000
    images = torch.randint(0, 256, (n, 3, r, r), dtype=torch.uint8, generator=g)
    batch = args.batch or w["batch"]
    gc, dc = (8, 8) if args.tiny else (None, None)
    trainer = ours(workload, images, device, batch, args.compile, gc, dc)
    ref = ReferenceLoop(workload, images, device, batch, gc, dc)
    trainer.train(args.warmup)
    ref.run(args.warmup)
    _sync(device)
    rates = {"ours": [], "reference": []}
    peaks = {"ours": 0, "reference": 0}
    for _ in range(args.rounds):
        for name, run in (("ours", trainer.train), ("reference", ref.run)):
            _reset_peak(device)
            _sync(device)
            t0 = time.perf_counter()
            run(args.steps)
            _sync(device)
            rates[name].append(batch * args.steps / (time.perf_counter() - t0))
            p = _peak(device)
            peaks[name] = None if p is None else max(peaks[name], p)
    return {"rates": rates, "peaks": peaks, "batch": batch}


def _mem(p: int | None) -> str:
    return "n/a" if p is None else f"{p / 2**30:.2f} GiB"


def _int_at_least(lo: int):
    """An argparse type: an integer ≥ ``lo`` (anything else is a usage error naming the value)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {lo}; got {text!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be an integer ≥ {lo}; got {v}")
        return v
    return parse


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", type=device_option, default="auto", help=f"torch device: {DEVICE_HELP} (default: auto)")
    ap.add_argument("--steps", type=_int_at_least(1), default=None,
                    help="timed iterations per round (default 50; quick 2)")
    ap.add_argument("--rounds", type=_int_at_least(1), default=None,
                    help="interleaved timed rounds (default 5; quick 2)")
    ap.add_argument("--warmup", type=_int_at_least(0), default=None,
                    help="untimed iterations first (default 20; quick 1)")
    ap.add_argument("--batch", type=_int_at_least(1), default=None,
                    help="override the workloads' batch sizes (quick: 4)")
    ap.add_argument("--workloads", nargs="+", default=["dcgan-64", "resnet-32"], choices=list(WORKLOADS),
                    help="workloads to run (default: dcgan-64 resnet-32)")
    ap.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                    help="torch.compile in our trainer (default: on CUDA only)")
    ap.add_argument("--quick", action="store_true", help="CPU smoke run: batch 4, 2 steps, 2 rounds, 1 warm-up")
    ap.add_argument("--tiny", action="store_true", help="8-channel networks (tests)")
    ap.add_argument("--threads", type=_int_at_least(1), default=None,
                    help="CPU intra-op threads (default: available cores)")
    ap.add_argument("--out", type=Path, default=None, help="markdown output file")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    if args.quick:
        args.steps, args.rounds = args.steps or 2, args.rounds or 2
        args.warmup = 1 if args.warmup is None else args.warmup
        args.batch = args.batch or 4
    args.steps, args.rounds = args.steps or 50, args.rounds or 5
    args.warmup = 20 if args.warmup is None else args.warmup
    if args.compile is None:
        args.compile = device.type == "cuda"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if device.type == "cpu":
        torch.set_num_threads(args.threads or cores)
    else:
        torch.backends.cudnn.benchmark = True
    head = (f"device: {device.type} ({device_name(device)}); torch {torch.__version__}; "
            f"{'threads ' + str(torch.get_num_threads()) + ' of ' + str(cores) + ' cores; ' if device.type == 'cpu' else ''}"
            f"{args.steps} timed iterations per round, {args.rounds} interleaved rounds after {args.warmup} warm-up "
            f"iterations; ours: {'bf16 autocast, channels_last, fused Adam' if device.type == 'cuda' else 'fp32, foreach Adam'}"
            f"{', torch.compile' if args.compile else ''}; reference: fp32 textbook loop"
            f"{'; QUICK smoke run (tiny batch: the numbers say nothing about speed)' if args.quick else ''}"
            f"{'; 8-channel networks' if args.tiny else ''}")
    print(head, flush=True)
    lines = ["| workload | batch | loop | images/s | ratio to reference | peak memory |",
             "|---|---:|---|---:|---:|---:|"]
    t_start = time.perf_counter()
    for wl in args.workloads:
        res = measure(wl, args, device)
        r_o, r_r = res["rates"]["ours"], res["rates"]["reference"]
        ratio = statistics.median([a / b for a, b in zip(r_o, r_r)])
        lines.append(f"| {wl} | {res['batch']} | ours | {statistics.median(r_o):.1f} | {ratio:.2f} | "
                     f"{_mem(res['peaks']['ours'])} |")
        lines.append(f"| {wl} | {res['batch']} | reference | {statistics.median(r_r):.1f} | 1.00 | "
                     f"{_mem(res['peaks']['reference'])} |")
        print("\n".join(lines[-2:]), " rounds (ours/ref images/s):",
              [f"{a:.1f}/{b:.1f}" for a, b in zip(r_o, r_r)], flush=True)
    wall = time.perf_counter() - t_start
    text = "\n".join([
        f"# image_speed ({device.type})", "",
        "Image GAN training throughput: `gan.train.ImageTrainer` (ours) vs the textbook fp32 loop written in "
        "`benchmarks/image_speed.py` (reference), same device, same run. One iteration = one D step + one G step; "
        "images/s = batch × iterations/s; ratio = median over rounds of ours/reference. "
        "Protocol: the module docstring.", "",
        head + f"; wall {wall:.0f} s.", "",
        "\n".join(lines), "",
    ])
    print("\n".join(lines))
    print(f"wall {wall:.1f} s")
    if not args.no_write:
        out = args.out or RESULTS / f"image_speed_{device.type}{'_quick' if args.quick else ''}.md"
        write_atomic(out, text)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
