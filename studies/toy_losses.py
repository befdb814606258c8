"""The losses of the toy studies, in the one vocabulary of ``gan.losses``.

A toy study's ``--losses`` takes, for each loss:

* a ``gan.losses`` spec, ``NAME[:key=value,...]`` (:func:`gan.losses.parse_loss_spec`), e.g. ``ns``, ``minimax``,
  ``lsgan``, ``alpha:alpha=0.5``, ``alpha_d_alpha_g:alpha_d=0.3,alpha_g=1``, ``fgan_kl``: the objective alone, as the
  image study and ``python -m studies.train_gan`` take it; or
* one of the named variants of :data:`NAMED_VARIANTS`, where a paper's name stands for an objective together with
  the regularizer that defines it (WGAN's weight clipping, WGAN-GP's and DRAGAN's gradient penalties).

Tables and figures print the canonical spelling (:func:`gan.losses.format_loss_spec`, keys sorted); figures add a
readable label. :func:`variants_help` prints all of it for ``--help``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from gan.losses import LOSSES, format_loss_spec, parse_loss_spec


@dataclass(frozen=True)
class LossVariant:
    """A loss of a toy study: ``gan.losses.get_loss(loss, **params)`` trained with the :class:`gan.regularizers.
    TrainOptions` fields ``own`` (its defining regularizer, if any)."""

    loss: str
    params: Mapping[str, Any] = field(default_factory=dict)
    own: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    note: str = ""

    @property
    def spec(self) -> str:
        """The objective's canonical ``gan.losses`` spelling."""
        return format_loss_spec(self.loss, self.params)

    def registry_form(self) -> str:
        """The variant in ``gan.losses`` terms with its own regularizer and a note (for ``--help``)."""
        own = {"clip": lambda c: f"weight clipping c = {c:g}",
               "penalty": lambda p: f"{p} penalty (weight {self.own.get('penalty_weight', 10):g})",
               "penalty_weight": None}
        extras = [own[k](v) for k, v in self.own.items() if own.get(k) is not None]
        text = self.spec + (" + " + ", ".join(extras) if extras else "")
        return f"{text}{f'  ({self.note})' if self.note else ''}"


NAMED_VARIANTS: dict[str, LossVariant] = {
    "wgan-clip": LossVariant("wgan", own={"clip": 0.01}, label="WGAN (clipping)",
                             note="Arjovsky et al. 2017: critic weights clipped to [-0.01, 0.01]"),
    "wgan-gp": LossVariant("wgan", own={"penalty": "gp", "penalty_weight": 10.0}, label="WGAN-GP",
                           note="Gulrajani et al. 2017"),
    "dragan": LossVariant("ns", own={"penalty": "dragan", "penalty_weight": 10.0}, label="DRAGAN",
                          note="Kodali et al. 2017"),
}
"""Paper names for an objective with the regularizer that defines it."""


def _label(name: str, params: Mapping[str, Any]) -> str:
    """A readable label of a ``gan.losses`` spec, for figures."""
    p = {k: (f"{v:g}" if isinstance(v, float) else v) for k, v in params.items()}
    if name == "alpha_d_alpha_g":
        return f"(α_D, α_G) = ({p.get('alpha_d', 1)}, {p.get('alpha_g', 1)})"
    if name == "alpha":
        return f"α-GAN, α = {p.get('alpha', 2)}"
    if name.startswith("fgan_"):
        return f"f-GAN {name[5:]}" + (f" ({', '.join(f'{k}={v}' for k, v in p.items())})" if p else "")
    named = {"ns": "NS-GAN", "minimax": "minimax (saturating) GAN", "wgan": "WGAN (no clipping)", "lsgan": "LSGAN",
             "hinge": "hinge"}
    return named.get(name, name) + (f" ({', '.join(f'{k}={v}' for k, v in p.items())})" if p else "")


def resolve(text: str) -> LossVariant:
    """The variant a ``--losses`` entry names: a named variant, or a ``gan.losses`` spec (ValueError otherwise)."""
    if text in NAMED_VARIANTS:
        return NAMED_VARIANTS[text]
    try:
        name, params = parse_loss_spec(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"losses: {text!r} is neither a gan.losses spec NAME[:key=value,...] nor one of "
                         f"{list(NAMED_VARIANTS)} ({exc}); see --help") from None
    return LossVariant(name, params, label=_label(name, params))


def canonical(text: str) -> str:
    """The spelling a table records for a ``--losses`` entry: the named variant's name, or the canonical spec."""
    return text if text in NAMED_VARIANTS else resolve(text).spec


def check_variants(names: Sequence[str]) -> None:
    """``ValueError`` unless ``names`` is a non-empty list of distinct losses (compared in canonical spelling)."""
    if not names:
        raise ValueError("losses must name at least one loss")
    spelled = [canonical(n) for n in names]
    dup = sorted({s for s in spelled if spelled.count(s) > 1})
    if dup:
        raise ValueError(f"losses must be distinct; {dup} given more than once")


def variants_help() -> str:
    """The vocabulary for ``--help``: the spec grammar, the registry's names and the named variants."""
    lines = ["losses (--losses): a gan.losses spec NAME[:key=value,...] (the objective alone), e.g. ns, minimax,",
             "  alpha:alpha=0.5, alpha_d_alpha_g:alpha_d=0.3,alpha_g=1, fgan_kl; registry names: "
             + ", ".join(LOSSES) + ";",
             "  or a named variant (an objective with the regularizer that defines it):"]
    width = max(map(len, NAMED_VARIANTS))
    lines += [f"  {name:<{width}}  {v.registry_form()}" for name, v in NAMED_VARIANTS.items()]
    return "\n".join(lines)


def label(text: str) -> str:
    """Figure label of a table's loss entry."""
    return resolve(text).label


__all__ = ["LossVariant", "NAMED_VARIANTS", "canonical", "check_variants", "label", "resolve", "variants_help"]
