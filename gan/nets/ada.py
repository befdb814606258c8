"""Adaptive discriminator augmentation (ADA; Karras, Aittala, Hellsten, Laine, Lehtinen & Aila 2020b,
"Training generative adversarial networks with limited data"), on the primitives of :mod:`gan.nets.diffaugment`.

**Pipeline** ("bgc", §2.3 and App. B; StyleGAN2-ADA's ``AugmentPipe``): every image D sees — real and
generated alike, in the D and the G step — goes through the operations below in this order, each applied
to each image independently with probability p (rotations with p_rot = 1 − √(1 − p) twice, so that
P(some rotation) = p). All are differentiable in the image.

| op | per-image parameter (when applied) | executed by |
|---|---|---|
| xflip | mirror with probability ½ | :func:`~gan.nets.diffaugment.xflip` |
| rotate90 | k·90°, k ~ U{0, 1, 2, 3} | :func:`~gan.nets.diffaugment.rotate90` |
| xint | integer shift round(t·size), t ~ U(−⅛, ⅛)² (reflection fill) | :func:`~gan.nets.diffaugment.shift` |
| scale | isotropic 2^{N(0, 0.2²)} | one :func:`~gan.nets.diffaugment.affine` resampling |
| rotate | θ ~ U(−π, π), before and after aniso | (composed 3×3 matrix, |
| aniso | 2^{N(0, 0.2²)} along x, its inverse along y | bilinear, reflection |
| xfrac | shift N(0, 0.125²)·size | padding) |
| brightness | + N(0, 0.2²) | one per-image 4×4 colour matrix, |
| contrast | × 2^{N(0, 0.5²)} | :func:`~gan.nets.diffaugment.color_matrix` |
| lumaflip | reflection of the luma axis v = (1, 1, 1)/√3, probability ½ | |
| hue | rotation about v by U(−π, π) | |
| saturation | off-axis components × 2^{N(0, 1)} | |

Simplifications against the official pipeline: the geometric resampling is one bilinear ``grid_sample``
with reflection padding (the official one pads, up-samples ×2 with a sym6 wavelet filter, resamples,
and down-samples again), and pixel blits are exact index operations. Policies: "bgc" (all), "bg", "b",
"c", or a comma list of op names. With p = 0 every image comes back bit for bit unchanged.

**Controller** (§3, eq. 2 with r_t = E[sign(D_train)]): the trainer feeds the real logits of every D step to
:meth:`AdaptiveAugment.accumulate`; every ``interval`` D steps (4) :meth:`AdaptiveAugment.adjust` sets

    p ← clip(p + sign(r_t − target) · B·interval / (kimg·1000), 0, 1),     target = 0.6, kimg = 500

(B the global batch size), so p can move from 0 to 1 in 500k images — the paper's adjustment speed
(StyleGAN2-ADA's ``ada_kimg``). p and the accumulated signs stay on the device (no host sync).
"""

from __future__ import annotations

import functools
import math

import torch

from .diffaugment import affine, color_matrix, rotate90, shift, xflip
from .init import check_generator
from .layers import check_int

BLITS = ("xflip", "rotate90", "xint")
GEOMETRIC = ("scale", "rotate", "aniso", "xfrac")
COLOR = ("brightness", "contrast", "lumaflip", "hue", "saturation")
OPS = BLITS + GEOMETRIC + COLOR
POLICIES = {"bgc": OPS, "bg": BLITS + GEOMETRIC, "b": BLITS, "c": COLOR}
XINT_MAX, SCALE_STD, ANISO_STD, XFRAC_STD = 0.125, 0.2, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, SATURATION_STD = 0.2, 0.5, 1.0


def parse_ada_policy(policy: str) -> tuple[str, ...]:
    """A key of ``POLICIES`` or a comma list of ``OPS`` names → the validated op names, in pipeline order."""
    if not isinstance(policy, str):
        raise ValueError(f"ADA policy must be a string ({', '.join(POLICIES)} or a comma list of ops); got {policy!r}")
    if policy in POLICIES:
        return POLICIES[policy]
    names = {w.strip() for w in policy.split(",") if w.strip()}
    unknown = sorted(names - set(OPS))
    if unknown or not names:
        raise ValueError(f"ADA policy must be one of {', '.join(POLICIES)} or a comma list of {', '.join(OPS)}; "
                         f"got {policy!r}")
    return tuple(op for op in OPS if op in names)


def _rot2(theta: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(theta), torch.sin(theta)
    z, o = torch.zeros_like(theta), torch.ones_like(theta)
    return torch.stack([c, -s, z, s, c, z, z, z, o], dim=-1).view(-1, 3, 3)


def _scale2(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    z, o = torch.zeros_like(sx), torch.ones_like(sx)
    return torch.stack([sx, z, z, z, sy, z, z, z, o], dim=-1).view(-1, 3, 3)


def _translate2(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    z, o = torch.zeros_like(tx), torch.ones_like(tx)
    return torch.stack([o, z, tx, z, o, ty, z, z, o], dim=-1).view(-1, 3, 3)


@functools.lru_cache(maxsize=16)
def _constants(device: torch.device, H: int, W: int) -> dict[str, torch.Tensor]:
    """Constant matrices, made once per device and image size (no host-to-device copy per call): the luma axis
    v = (1, 1, 1, 0)/√3, its cross-product matrix K, and the pixel ↔ normalised coordinate scalings."""
    a = 1.0 / math.sqrt(3.0)
    host = {"v": torch.tensor([a, a, a, 0.0]),
            "K": torch.tensor([[0.0, -a, a], [a, 0.0, -a], [-a, a, 0.0]]),
            "S": torch.diag(torch.tensor([2.0 / W, 2.0 / H, 1.0])),
            "S_inv": torch.diag(torch.tensor([W / 2.0, H / 2.0, 1.0]))}
    return {k: t.to(device) for k, t in host.items()}


def _rot3(v: torch.Tensor, K: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rodrigues rotation about the unit axis v[:3] (cross-product matrix K) by θ (B,), homogeneous (B, 4, 4)."""
    a = v[:3]
    c, s = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    R = torch.eye(3, device=v.device, dtype=v.dtype) * c + K * s + torch.outer(a, a) * (1 - c)
    out = torch.eye(4, device=v.device, dtype=v.dtype).repeat(theta.shape[0], 1, 1)
    out[:, :3, :3] = R
    return out


def ada_augment(x: torch.Tensor, p: torch.Tensor | float, generator: torch.Generator, ops: tuple[str, ...] = OPS
                ) -> torch.Tensor:
    """The ADA pipeline (module table) on images x (B, C, H, W) with augmentation probability p (a number or a
    0-dim tensor on x's device, no host sync). Every op draws its parameters, then its per-image coin
    (u < p), from ``generator`` whether or not any image uses them, so the draws do not depend on p."""
    check_generator(generator)
    if x.ndim != 4 or x.shape[2] != x.shape[3]:
        raise ValueError(f"ADA needs square images of shape (B, C, H, W); got {tuple(x.shape)}")
    B, _, H, W = x.shape
    dev, f32 = x.device, torch.float32
    p = torch.as_tensor(p, device=dev, dtype=f32)
    const = _constants(dev, H, W)

    def rand(*shape):
        return torch.rand(shape, generator=generator, device=dev, dtype=f32)

    def randn(*shape):
        return torch.randn(shape, generator=generator, device=dev, dtype=f32)

    def coin(prob=p):
        return rand(B) < prob

    # pixel blits, exact
    if "xflip" in ops:
        i = torch.floor(rand(B) * 2)
        x = xflip(x, (i == 1) & coin())
    if "rotate90" in ops:
        k = torch.floor(rand(B) * 4).long()
        x = rotate90(x, torch.where(coin(), k, torch.zeros_like(k)))
    if "xint" in ops:
        t = (rand(B, 2) * 2 - 1) * XINT_MAX
        t = torch.where(coin()[:, None], t, torch.zeros_like(t))
        x = shift(x, torch.round(t[:, 1:] * H).long(), torch.round(t[:, :1] * W).long(), fill="reflect")
    # general geometric transformations: one inverse matrix (output pixel -> input pixel, centred pixel units)
    G_inv = torch.eye(3, device=dev, dtype=f32).repeat(B, 1, 1)
    moved = torch.zeros(B, dtype=torch.bool, device=dev)
    p_rot = 1 - torch.sqrt((1 - p).clamp(0, 1))
    for op in ("scale", "rotate", "aniso", "rotate_post", "xfrac"):
        name = "rotate" if op == "rotate_post" else op
        if name not in ops:
            continue
        if name == "scale":
            s = torch.exp2(randn(B) * SCALE_STD)
            use = coin()
            m = _scale2(torch.where(use, 1 / s, torch.ones_like(s)), torch.where(use, 1 / s, torch.ones_like(s)))
        elif name == "rotate":
            theta = (rand(B) * 2 - 1) * math.pi
            use = coin(p_rot)
            m = _rot2(torch.where(use, theta, torch.zeros_like(theta)))
        elif name == "aniso":
            s = torch.exp2(randn(B) * ANISO_STD)
            use = coin()
            s = torch.where(use, s, torch.ones_like(s))
            m = _scale2(1 / s, s)
        else:  # xfrac
            t = randn(B, 2) * XFRAC_STD
            use = coin()
            t = torch.where(use[:, None], t, torch.zeros_like(t))
            m = _translate2(-t[:, 0] * W, -t[:, 1] * H)
        G_inv = G_inv @ m
        moved |= use
    if any(op in ops for op in GEOMETRIC):  # resampled images replace only those with a geometric op applied
        theta = (const["S"] @ G_inv @ const["S_inv"])[:, :2, :]
        x = affine(x, theta, keep=~moved)
    # colour: one homogeneous 4×4 matrix per image
    if any(op in ops for op in COLOR):
        v = const["v"]
        I4 = torch.eye(4, device=dev, dtype=f32)
        C = I4.repeat(B, 1, 1)
        changed = torch.zeros(B, dtype=torch.bool, device=dev)
        if "brightness" in ops:
            b = randn(B) * BRIGHTNESS_STD
            use = coin()
            b = torch.where(use, b, torch.zeros_like(b))
            T = I4.repeat(B, 1, 1)
            T[:, :3, 3] = b[:, None]
            C, changed = T @ C, changed | use
        if "contrast" in ops:
            c = torch.exp2(randn(B) * CONTRAST_STD)
            use = coin()
            c = torch.where(use, c, torch.ones_like(c))
            C, changed = torch.diag_embed(torch.stack([c, c, c, torch.ones_like(c)], dim=-1)) @ C, changed | use
        if "lumaflip" in ops:
            i = torch.floor(rand(B) * 2)
            use = coin()
            i = torch.where(use, i, torch.zeros_like(i))
            C, changed = (I4 - 2 * torch.outer(v, v) * i[:, None, None]) @ C, changed | use
        if "hue" in ops:
            theta = (rand(B) * 2 - 1) * math.pi
            use = coin()
            C, changed = _rot3(v, const["K"], torch.where(use, theta, torch.zeros_like(theta))) @ C, changed | use
        if "saturation" in ops:
            s = torch.exp2(randn(B) * SATURATION_STD)
            use = coin()
            s = torch.where(use, s, torch.ones_like(s))
            vv = torch.outer(v, v)
            C, changed = (vv + (I4 - vv) * s[:, None, None]) @ C, changed | use
        x = torch.where(changed[:, None, None, None], color_matrix(x, C), x)
    return x


def _check_real(name: str, value, lo: float, hi: float, lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
            value < lo or value > hi or (lo_open and value == lo):
        rng = f"{'(' if lo_open else '['}{lo}, {hi}]"
        raise ValueError(f"{name} must be a real number in {rng}; got {value!r}")
    return float(value)


class AdaptiveAugment:
    """ADA: :func:`ada_augment` with an adaptive probability p (module docstring).

    ``aug(x, generator)`` augments; ``accumulate(real_logits)`` after each D step; ``adjust(batch_size)``
    every ``interval`` D steps (``signs`` lets a distributed trainer pass all-reduced (Σ sign, count)).
    ``p`` is a 0-dim float32 tensor on ``device``. ``state_dict``/``load_state_dict`` for exact resumes.
    """

    def __init__(self, target: float = 0.6, interval: int = 4, kimg: float = 500.0, policy: str = "bgc",
                 p: float = 0.0, device: torch.device | str = "cpu"):
        self.target = _check_real("ada_target", target, 0.0, 1.0)
        self.interval = check_int("ada_interval", interval, 1)
        self.kimg = _check_real("ada_kimg", kimg, 0.0, math.inf, lo_open=True)
        self.policy = policy
        self.ops = parse_ada_policy(policy)
        self.p = torch.tensor(_check_real("p", p, 0.0, 1.0), dtype=torch.float32, device=device)
        self.signs = torch.zeros(2, dtype=torch.float32, device=device)  # (Σ sign(D(x_real)), count)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return ada_augment(x, self.p, generator, self.ops)

    def step_size(self, batch_size: int) -> float:
        """|Δp| per adjustment: B·interval/(kimg·1000)."""
        return batch_size * self.interval / (self.kimg * 1000.0)

    @torch.no_grad()
    def accumulate(self, real_logits: torch.Tensor) -> None:
        """Add Σ sign(D(x_real)) and the number of logits to the running sums (no host sync)."""
        lg = real_logits.detach().float()
        self.signs += torch.stack([torch.sign(lg).sum(), lg.new_full((), float(lg.numel()))])

    @torch.no_grad()
    def adjust(self, batch_size: int, signs: torch.Tensor | None = None) -> None:
        """p ← clip(p + sign(r_t − target)·step_size, 0, 1), r_t = Σ sign / count since the last adjustment;
        then the sums restart. Nothing changes when no logits were accumulated."""
        check_int("batch_size", batch_size, 1)
        s = self.signs if signs is None else signs
        r_t = s[0] / s[1].clamp(min=1.0)
        delta = torch.sign(r_t - self.target) * self.step_size(batch_size) * (s[1] > 0)
        self.p.copy_((self.p + delta).clamp(0.0, 1.0))
        self.signs.zero_()

    def state_dict(self) -> dict:
        return {"p": self.p.detach().clone(), "signs": self.signs.detach().clone(), "target": self.target,
                "interval": self.interval, "kimg": self.kimg, "policy": self.policy}

    def load_state_dict(self, state: dict) -> None:
        """Restore p and the running sums; ValueError if the settings differ from this controller's."""
        mine = (self.target, self.interval, self.kimg, self.policy)
        saved = (state["target"], state["interval"], state["kimg"], state["policy"])
        if saved != mine:
            raise ValueError(f"ADA settings differ: checkpoint (target, interval, kimg, policy) = {saved}, "
                             f"this run {mine}")
        self.p.copy_(state["p"])
        self.signs.copy_(state["signs"])


__all__ = ["BLITS", "COLOR", "GEOMETRIC", "OPS", "POLICIES", "AdaptiveAugment", "ada_augment", "parse_ada_policy"]
