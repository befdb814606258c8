"""Device options of every command line and trainer: one spelling, one check, one meaning of ``auto``.

Allowed forms (:data:`DEVICE_FORMS`): ``auto`` (CUDA when available, else the CPU), ``cpu``, ``cuda``
(the current CUDA device) and ``cuda:N`` (the N-th visible GPU). :func:`parse_device` checks the
spelling only (no CUDA query); :func:`resolve_device` also checks that a requested GPU is there and
turns ``auto`` into ``cuda`` (``cuda:LOCAL_RANK`` under torchrun) or ``cpu``. Both raise a one-line
``ValueError`` that names the offending value and the allowed forms, which the command lines
(:func:`device_option`, ``studies.common``) turn into argparse errors (exit status 2).

>>> parse_device(" CUDA:1 ")
'cuda:1'
>>> str(resolve_device("cpu"))
'cpu'
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported only where a device is resolved
    import torch

DEVICE_FORMS = ("auto", "cpu", "cuda", "cuda:N")
"""The spellings a device option accepts (N = 0, 1, ...: the index of a visible GPU)."""

DEVICE_HELP = "auto (CUDA when available, else the CPU), cpu, cuda or cuda:N"
"""One line for ``--help`` texts."""

_PATTERN = re.compile(r"(auto|cpu|cuda)(?::(\d+))?")


def parse_device(text: object) -> str:
    """The canonical spelling of a device option (lower case, no spaces); ``ValueError`` if it is none of
    :data:`DEVICE_FORMS`. Checks the spelling only: whether CUDA is there is :func:`resolve_device`'s question.
    """
    if not isinstance(text, str):
        raise ValueError(f"device must be a string, one of {', '.join(DEVICE_FORMS)}; got {text!r}")
    norm = text.strip().lower()
    m = _PATTERN.fullmatch(norm)
    if m is None or (m.group(2) is not None and m.group(1) != "cuda"):
        raise ValueError(f"unknown device {text!r}; allowed: {', '.join(DEVICE_FORMS)} (N = 0, 1, ...)")
    return norm


def _cuda_missing(spec: str) -> str:
    import torch

    if not torch.backends.cuda.is_built():
        why = f"this torch {torch.__version__} is built without CUDA support"
    else:
        why = "no CUDA GPU is visible (driver, CUDA_VISIBLE_DEVICES)"
    return f"device {spec!r} needs CUDA, which is not available here ({why}); allowed here: auto, cpu"


def resolve_device(text: str | None = "auto", local_rank: int = 0) -> "torch.device":
    """The ``torch.device`` a device option names (None means ``auto``).

    ``auto`` is ``cuda:local_rank`` when CUDA is available (``local_rank``: the torchrun rank on this
    machine; 0 outside torchrun) and the CPU otherwise. ``cuda``/``cuda:N`` raise ``ValueError`` when CUDA is
    not available or GPU N does not exist, saying which devices are there.
    """
    import torch

    spec = parse_device("auto" if text is None else text)
    if spec == "auto":
        return torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(_cuda_missing(spec))
        dev = torch.device(spec)
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device {spec!r} does not exist: {count} CUDA device(s) visible "
                             f"(cuda:0{'' if count == 1 else f' … cuda:{count - 1}'}); allowed: auto, cpu, cuda, "
                             f"cuda:N with N < {count}")
        return dev
    return torch.device(spec)


def device_option(text: str) -> str:
    """``argparse`` type of a ``--device`` option: the canonical spelling, checked now.

    ``auto`` and ``cpu`` are accepted without a CUDA query; an explicit ``cuda``/``cuda:N`` is resolved
    (:func:`resolve_device`), so a missing GPU is a command-line error naming the option, not a
    traceback later. ``auto`` stays ``auto`` (resolved where the run starts, and recorded resolved).
    """
    import argparse

    try:
        spec = parse_device(text)
        if spec.startswith("cuda"):
            resolve_device(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


device_option.__name__ = "device"  # argparse names the type in some messages


__all__ = ["DEVICE_FORMS", "DEVICE_HELP", "device_option", "parse_device", "resolve_device"]
