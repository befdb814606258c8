"""Building blocks shared by the image networks: (class-conditional) batch norm and the discriminator heads.

| block | formula | reference |
|---|---|---|
| :class:`ClassBatchNorm2d` | y = γ_c · BN(x) + β_c, (γ_c, β_c) one row per class c (plain BN when K = 0) | de Vries et al. 2017; Miyato & Koyama 2018 |
| :class:`VectorBatchNorm2d` | y = (1 + W_γ c) · BN(x) + W_β c from a conditioning vector c (BigGAN: [shared class embedding, z chunk]) | Brock et al. 2019, §3 and App. B |
| :class:`Discriminator` "unconditional" | D(x) = ψ(φ(x)) | Radford et al. 2016; Miyato et al. 2018 |
| :class:`Discriminator` "projection" | D(x, y) = ψ(φ(x)) + ⟨e_y, φ(x)⟩ | Miyato & Koyama 2018, eq. (3) |
| :class:`Discriminator` "acgan" | (ψ(φ(x)), W_c φ(x) + b_c): a source logit and K class logits | Odena, Olah & Shlens 2017 |

φ is an architecture's body (images → features (B, F)), ψ a Linear(F, 1), e_y a row of an
Embedding(K, F) (an architecture may supply its own linear and embedding layers, e.g. StyleGAN2's
equalized-learning-rate ones). Every discriminator returns logits of shape (B,) (and (B, K) class
logits for "acgan"); losses come from :mod:`gan.losses`.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

HEADS = ("unconditional", "projection", "acgan")


def check_int(name: str, value: int, lo: int) -> int:
    """``value`` if it is an int ≥ ``lo`` (bool excluded), else ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ValueError(f"{name} must be an integer ≥ {lo}; got {value!r}")
    return value


class ClassBatchNorm2d(nn.Module):
    """Batch norm whose affine parameters depend on the class: y = γ_{c} ⊙ BN(x) + β_{c}.

    de Vries et al. (2017), "Modulating early visual processing by language" (conditional BN), as
    used in the generator of Miyato & Koyama (2018), "cGANs with projection discriminator".
    ``num_classes = 0`` gives an ordinary ``BatchNorm2d`` (affine, ``y`` ignored), so one
    generator definition serves both the conditional and the unconditional model.
    γ and β are ``Embedding(K, C)`` tables (γ initialised to 1, β to 0 by the architectures' init).
    Shapes: x (B, C, H, W), y (B,) int64 → (B, C, H, W).
    """

    def __init__(self, num_features: int, num_classes: int = 0, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.num_features = check_int("num_features", num_features, 1)
        self.num_classes = check_int("num_classes", num_classes, 0)
        conditional = self.num_classes > 0
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=not conditional)
        if conditional:
            self.gamma = nn.Embedding(num_classes, num_features)
            self.beta = nn.Embedding(num_classes, num_features)
            with torch.no_grad():
                self.gamma.weight.fill_(1.0)
                self.beta.weight.zero_()

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.bn(x)
        if self.num_classes == 0:
            return h
        if y is None:
            raise ValueError("a class-conditional batch norm needs labels y of shape (B,)")
        return self.gamma(y)[:, :, None, None] * h + self.beta(y)[:, :, None, None]


class VectorBatchNorm2d(nn.Module):
    """Batch norm whose affine parameters are linear in a conditioning vector c: y = (1 + W_γ c) ⊙ BN(x) + W_β c.

    The conditional batch norm of BigGAN (Brock, Donahue & Simonyan 2019, §3 "shared embedding" and
    "hierarchical latent space", App. B): c is the concatenation of the shared class embedding and
    one chunk of z (or only the z chunk for an unconditional model); W_γ, W_β are bias-free
    Linear(cond_dim, C) layers (spectrally normalised and orthogonally initialised with the rest of
    G). Shapes: x (B, C, H, W), c (B, cond_dim) → (B, C, H, W).
    """

    def __init__(self, num_features: int, cond_dim: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.num_features = check_int("num_features", num_features, 1)
        self.cond_dim = check_int("cond_dim", cond_dim, 1)
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gain = nn.Linear(cond_dim, num_features, bias=False)
        self.bias = nn.Linear(cond_dim, num_features, bias=False)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if c is None or c.ndim != 2 or c.shape[1] != self.cond_dim:
            got = None if c is None else tuple(c.shape)
            raise ValueError(f"VectorBatchNorm2d needs a conditioning vector of shape (B, {self.cond_dim}); got {got}")
        return (1.0 + self.gain(c))[:, :, None, None] * self.bn(x) + self.bias(c)[:, :, None, None]


class Discriminator(nn.Module):
    """A body φ (images → (B, F) features) with one of the heads of ``HEADS`` (see the module table).

    ``forward(x, y=None)`` returns logits (B,) for "unconditional" and "projection" (which needs
    y), and a pair (logits (B,), class logits (B, K)) for "acgan" (y is ignored: the ACGAN
    discriminator predicts the class instead of receiving it). ``linear(in, out)`` and
    ``embedding(K, F)`` build the head's layers (default ``nn.Linear`` and ``nn.Embedding``).
    """

    def __init__(self, body: nn.Module, feature_dim: int, head: str = "unconditional", num_classes: int = 0,
                 linear: Callable[[int, int], nn.Module] = nn.Linear,
                 embedding: Callable[[int, int], nn.Module] = nn.Embedding):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"unknown discriminator head {head!r}; known: {', '.join(HEADS)}")
        check_int("feature_dim", feature_dim, 1)
        check_int("num_classes", num_classes, 0)
        if head != "unconditional" and num_classes < 2:
            raise ValueError(f"head {head!r} needs num_classes ≥ 2; got {num_classes}")
        self.head, self.num_classes = head, num_classes
        self.body = body
        self.linear = linear(feature_dim, 1)
        if head == "projection":
            self.embed = embedding(num_classes, feature_dim)
        elif head == "acgan":
            self.classifier = linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None):
        h = self.body(x)
        logits = self.linear(h).squeeze(-1)
        if self.head == "projection":
            if y is None:
                raise ValueError("a projection discriminator needs labels y of shape (B,)")
            logits = logits + (self.embed(y) * h).sum(-1)
        elif self.head == "acgan":
            return logits, self.classifier(h)
        return logits
