"""Shared helpers of the benchmarks."""

from __future__ import annotations

import platform

import torch


def device_name(device: torch.device) -> str:
    """The CUDA device name, or the CPU model from /proc/cpuinfo (or ``platform``), for benchmark headers."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
