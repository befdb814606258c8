"""The loss variants of the toy studies: one table of names, shared by ``studies.mode_coverage`` and
``studies.loss_comparison`` so that the two cannot drift apart.

A variant name (``--losses``) stands for a ``gan.losses`` objective with its parameters and, for some,
the regularizer that defines it (WGAN's weight clipping, WGAN-GP's and DRAGAN's gradient penalties, as
``toy.train.ToyConfig`` fields). The naming scheme: the registry name where the objective has no
parameters (``minimax``, ``ns``, ``lsgan``, ``hinge``), ``alpha<α>`` for the α-GAN, ``ad<α_D>-<α_G>`` for
(α_D, α_G)-GANs, ``fgan-<f>`` for f-GANs, and the paper's name where a regularizer makes the variant
(``wgan-gp``, ``dragan``). :func:`variants_help` prints the table in registry terms for ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


@dataclass(frozen=True)
class LossVariant:
    """One loss variant: ``gan.losses.get_loss(loss, **params)`` trained with the ToyConfig fields ``own``."""

    loss: str
    params: Mapping[str, float] = field(default_factory=dict)
    own: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    note: str = ""

    def registry_form(self) -> str:
        """The variant in ``gan.losses`` terms, e.g. ``alpha_d_alpha_g(alpha_d=0.3, alpha_g=1)``, with its own
        regularizer and a note."""
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        text = f"{self.loss}({args})" if args else self.loss
        own = {"clip": lambda c: f"weight clipping c = {c:g}", "penalty": lambda p: f"{p} penalty (weight 10)"}
        extras = [own[k](v) for k, v in self.own.items()]
        if extras:
            text += " + " + ", ".join(extras)
        return f"{text}{f'  ({self.note})' if self.note else ''}"


def _ad(alpha_d: float, alpha_g: float, note: str = "") -> LossVariant:
    return LossVariant("alpha_d_alpha_g", {"alpha_d": alpha_d, "alpha_g": alpha_g},
                       label=f"(α_D, α_G) = ({alpha_d:g}, {alpha_g:g})", note=note)


LOSS_VARIANTS: dict[str, LossVariant] = {
    "minimax": LossVariant("minimax", label="minimax (saturating) GAN",
                           note="Goodfellow et al.'s saturating generator loss log(1 - D(G(z)))"),
    "ns": LossVariant("ns", label="NS-GAN", note="non-saturating generator loss -log D(G(z))"),
    "wgan": LossVariant("wgan", own={"clip": 0.01}, label="WGAN"),
    "wgan-gp": LossVariant("wgan", own={"penalty": "gp"}, label="WGAN-GP"),
    "lsgan": LossVariant("lsgan", label="LSGAN"),
    "hinge": LossVariant("hinge", label="hinge"),
    "dragan": LossVariant("ns", own={"penalty": "dragan"}, label="DRAGAN"),
    "alpha0.5": LossVariant("alpha", {"alpha": 0.5}, label="α-GAN, α = 0.5"),
    "alpha2": LossVariant("alpha", {"alpha": 2.0}, label="α-GAN, α = 2"),
    "ad0.3-1": _ad(0.3, 1.0),
    "ad0.5-1.2": _ad(0.5, 1.2),
    "ad1-1": _ad(1.0, 1.0, note="equals ns"),
    "fgan-kl": LossVariant("fgan_kl", label="f-GAN KL"),
    "fgan-reverse_kl": LossVariant("fgan_reverse_kl", label="f-GAN reverse KL"),
    "fgan-squared_hellinger": LossVariant("fgan_squared_hellinger", label="f-GAN squared Hellinger"),
    "fgan-pearson": LossVariant("fgan_pearson", label="f-GAN Pearson χ²"),
}
"""Variant name → :class:`LossVariant`. Both toy studies accept every name; each has its own default subset."""


def check_variants(names: Sequence[str]) -> None:
    """``ValueError`` unless ``names`` is a non-empty list of distinct variant names."""
    unknown = [n for n in names if n not in LOSS_VARIANTS]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(f"losses must be distinct names of {list(LOSS_VARIANTS)} (see --help for what each "
                         f"means); got {list(names)}")


def variants_help() -> str:
    """The table for ``--help``: every variant name and what it means in ``gan.losses`` terms."""
    width = max(map(len, LOSS_VARIANTS))
    lines = ["loss variants (--losses): name = gan.losses registry name(parameters) [+ the variant's own "
             "regularizer]"]
    lines += [f"  {name:<{width}}  {v.registry_form()}" for name, v in LOSS_VARIANTS.items()]
    return "\n".join(lines)


__all__ = ["LOSS_VARIANTS", "LossVariant", "check_variants", "variants_help"]
