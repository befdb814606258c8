"""Learning-rate schedules (gan.schedules): the factors of the table, bad arguments, one vocabulary."""

from __future__ import annotations

import math

import pytest

from gan.regularizers import TrainOptions
from gan.schedules import lr_factor


@pytest.mark.parametrize("schedule,it,total,expected", [
    ("constant", 0, 10, 1.0), ("constant", 9, 10, 1.0),
    ("linear", 0, 10, 1.0), ("linear", 5, 10, 0.5), ("linear", 9, 10, 0.1),
    ("cosine", 0, 10, 1.0), ("cosine", 5, 10, 0.5), ("cosine", 9, 10, (1 + math.cos(0.9 * math.pi)) / 2),
    ("cosine", 1, 3, 0.75),  # cos(π/3) = ½
])
def test_factors(schedule, it, total, expected):
    assert lr_factor(schedule, it, total) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("kw,words", [
    (dict(schedule="step", it=0, total=10), "lr_schedule must be one of"),
    (dict(schedule="cosine", it=10, total=10), "it must be an integer in [0, 10)"),
    (dict(schedule="cosine", it=-1, total=10), "it must be"),
    (dict(schedule="cosine", it=True, total=10), "it must be"),
    (dict(schedule="cosine", it=0, total=0), "total must be an integer"),
])
def test_bad_arguments(kw, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace(")", r"\)").replace("(", r"\(")):
        lr_factor(**kw)


def test_train_options_names_the_schedules():
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        TrainOptions(lr_schedule="exponential")
    assert TrainOptions().lr_schedule == "constant"


def test_image_trainer_refuses_a_schedule():
    from gan.train import ImageTrainConfig
    with pytest.raises(ValueError, match="constant rate"):
        ImageTrainConfig(options=TrainOptions(lr_schedule="cosine"))
