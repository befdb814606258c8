"""studies.toy_losses: the toy studies speak the vocabulary of gan.losses (specs), plus one table of named variants."""

from __future__ import annotations

import pytest

from gan.losses import LOSSES, format_loss_spec, get_loss, parse_loss_spec
from gan.regularizers import TrainOptions
from studies import loss_comparison as lc
from studies import mode_coverage as mc
from studies.toy_losses import NAMED_VARIANTS, canonical, check_variants, label, resolve, variants_help


@pytest.mark.parametrize("name", list(NAMED_VARIANTS))
def test_every_named_variant_is_a_registered_loss_with_valid_options(name):
    v = NAMED_VARIANTS[name]
    assert v.loss in LOSSES
    get_loss(v.loss, **v.params)  # the registry accepts the parameters
    TrainOptions(**v.own)  # the regularizer fields are TrainOptions fields with valid values
    assert v.label and v.own


@pytest.mark.parametrize("text, spec", [
    ("ns", "ns"), ("alpha:alpha=0.5", "alpha:alpha=0.5"), ("alpha_d_alpha_g:alpha_g=1,alpha_d=0.3",
                                                            "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1"),
    ("fgan_kl:g_form=saturating", "fgan_kl:g_form=saturating"), ("wgan-gp", "wgan-gp"), ("wgan", "wgan"),
])
def test_specs_are_recorded_in_their_canonical_spelling(text, spec):
    assert canonical(text) == spec
    if text not in NAMED_VARIANTS:
        assert resolve(text).spec == spec == format_loss_spec(*parse_loss_spec(text))


def test_both_studies_use_the_same_spelling_for_the_same_configurations():
    shared = set(mc.DEFAULT_LOSSES) & set(lc.DEFAULT_LOSSES)
    assert {"ns", "minimax", "alpha_d_alpha_g:alpha_d=0.3,alpha_g=1", "alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2"} <= shared
    m = {v.labels["loss"]: v.config for v in mc.ModeCoverageConfig(losses=tuple(shared), beta2s=(0.99,)).variants()}
    c = {v.labels["loss"]: v.config for v in lc.LossComparisonConfig(losses=tuple(shared), problems=("ring",),
                                                                       regularizers=("none",)).variants()}
    for name in shared:  # same objective, parameters and regularizer under one name in both studies
        a, b = m[name], c[name]
        assert (a.loss, dict(a.loss_params), a.options.penalty, a.options.clip) == \
               (b.loss, dict(b.loss_params), b.options.penalty, b.options.clip)
    # a named variant keeps its own regularizer in mode_coverage too; the bare objective has none
    variants = mc.ModeCoverageConfig(losses=("wgan-clip", "wgan-gp", "wgan")).variants()[::2]
    assert [(v.config.loss, v.config.options.clip, v.config.options.penalty) for v in variants] == \
           [("wgan", 0.01, None), ("wgan", None, "gp"), ("wgan", None, None)]
    assert [v.labels["loss"] for v in variants] == ["wgan-clip", "wgan-gp", "wgan"]


def test_old_names_are_gone_and_the_help_explains_the_vocabulary():
    for old in ("saturating", "ad0.3-1", "fgan-kl", "alpha0.5", "alpha:alpha"):
        with pytest.raises(ValueError, match="is neither a gan.losses spec"):
            check_variants([old])
    with pytest.raises(ValueError, match="distinct"):
        check_variants(["alpha:alpha=2", "alpha:alpha=2.0"])
    text = variants_help()
    for name, v in NAMED_VARIANTS.items():
        assert f"  {name} " in text and v.registry_form() in text
    assert "wgan + weight clipping c = 0.01" in text and "NAME[:key=value,...]" in text
    assert label("alpha_d_alpha_g:alpha_d=0.5,alpha_g=1.2") == "(α_D, α_G) = (0.5, 1.2)"
