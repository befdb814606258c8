"""gan.device: the device option of every command line and trainer (spelling, CUDA availability, ``auto``)."""

from __future__ import annotations

import argparse

import pytest
import torch

from gan.device import DEVICE_FORMS, DEVICE_HELP, device_option, parse_device, resolve_device

CUDA = torch.cuda.is_available()


@pytest.mark.parametrize("text, want", [("auto", "auto"), ("cpu", "cpu"), (" CUDA ", "cuda"), ("cuda:3", "cuda:3")])
def test_parse_device_accepts_the_documented_forms(text, want):
    assert parse_device(text) == want


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:x", "cpu:0", "auto:1", "mps", "", "cuda:-1"])
def test_parse_device_rejects_anything_else_naming_the_allowed_forms(text):
    with pytest.raises(ValueError, match=r"unknown device .*allowed: auto, cpu, cuda, cuda:N"):
        parse_device(text)
    with pytest.raises(ValueError, match="must be a string"):
        parse_device(0)


def test_auto_is_cuda_when_available_else_cpu():
    assert resolve_device("auto") == (torch.device("cuda", 0) if CUDA else torch.device("cpu"))
    assert resolve_device(None) == resolve_device("auto")
    assert resolve_device("cpu") == torch.device("cpu")
    if CUDA:
        assert resolve_device("auto", local_rank=0).index == 0


@pytest.mark.skipif(CUDA, reason="checks the message where CUDA is missing")
def test_cuda_without_cuda_is_a_clear_error():
    for spec in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=rf"device '{spec}' needs CUDA, which is not available here .*"
                                             r"allowed here: auto, cpu"):
            resolve_device(spec)
    with pytest.raises(argparse.ArgumentTypeError, match="needs CUDA"):
        device_option("cuda")


@pytest.mark.skipif(not CUDA, reason="needs a GPU")
def test_missing_gpu_index_is_a_clear_error():
    n = torch.cuda.device_count()
    with pytest.raises(ValueError, match=rf"'cuda:{n}' does not exist: {n} CUDA device"):
        resolve_device(f"cuda:{n}")
    assert resolve_device("cuda:0") == torch.device("cuda", 0)


def test_device_option_keeps_auto_unresolved_and_the_help_names_every_form():
    assert device_option("AUTO") == "auto" and device_option("cpu") == "cpu"
    with pytest.raises(argparse.ArgumentTypeError, match="unknown device 'gpu'"):
        device_option("gpu")
    for form in DEVICE_FORMS:
        assert form in DEVICE_HELP


def test_studies_help_text_matches():
    from studies.common import DEVICE_HELP as STUDIES_DEVICE_HELP

    assert STUDIES_DEVICE_HELP == DEVICE_HELP  # copied there because studies.common must not import torch
