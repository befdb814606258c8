"""studies.toy_losses: the one table of loss-variant names of the two toy studies."""

from __future__ import annotations

import pytest

from gan.losses import LOSSES, get_loss
from studies import loss_comparison as lc
from studies import mode_coverage as mc
from studies.toy_losses import LOSS_VARIANTS, check_variants, variants_help


@pytest.mark.parametrize("name", list(LOSS_VARIANTS))
def test_every_variant_is_a_registered_loss_with_valid_parameters(name):
    v = LOSS_VARIANTS[name]
    assert v.loss in LOSSES
    get_loss(v.loss, **v.params)  # the registry accepts the parameters
    assert set(v.own) <= {"clip", "penalty"} and v.label


def test_both_studies_use_the_same_names_for_the_same_configurations():
    assert set(mc.DEFAULT_LOSSES) <= set(LOSS_VARIANTS) and set(lc.DEFAULT_LOSSES) <= set(LOSS_VARIANTS)
    shared = set(mc.DEFAULT_LOSSES) & set(lc.DEFAULT_LOSSES)
    assert {"ns", "minimax", "ad0.3-1", "ad0.5-1.2"} <= shared
    m = {v.labels["loss"]: v.config for v in mc.ModeCoverageConfig(losses=tuple(shared), beta2s=(0.99,)).variants()}
    c = {v.labels["loss"]: v.config for v in lc.LossComparisonConfig(losses=tuple(shared), problems=("ring",),
                                                                       regularizers=("none",)).variants()}
    for name in shared:  # same objective, parameters and regularizer under one name in both studies
        a, b = m[name], c[name]
        assert (a.loss, dict(a.loss_params), a.penalty, a.clip) == (b.loss, dict(b.loss_params), b.penalty, b.clip)
    # a variant that defines its own regularizer keeps it in mode_coverage too
    wgan = mc.ModeCoverageConfig(losses=("wgan", "wgan-gp")).variants()
    assert [(v.config.loss, v.config.clip, v.config.penalty) for v in wgan[::2]] == [("wgan", 0.01, None),
                                                                                   ("wgan", None, "gp")]


def test_old_mode_coverage_names_are_gone_and_the_help_explains_each_name():
    for old in ("saturating", "a0.3-1", "a0.5-1.2", "a1-1"):
        with pytest.raises(ValueError, match="losses must be distinct names of"):
            check_variants([old])
    text = variants_help()
    for name, v in LOSS_VARIANTS.items():
        assert f"  {name} " in text and v.registry_form() in text
    assert "alpha_d_alpha_g(alpha_d=0.5, alpha_g=1.2)" in text and "wgan + weight clipping c = 0.01" in text
