"""Which precision is fast on this machine: one answer for training, the pipeline, the app and the benchmarks."""

from __future__ import annotations

from pathlib import Path

import torch


def fast_bf16() -> bool:
    """Whether bf16 autocast speeds training up here: a GPU, or a CPU with native bf16 matmul (AVX512-BF16 or
    AMX). Without them (AVX2 only) bf16 matmul is emulated and runs ~150x slower than fp32."""
    if torch.cuda.is_available():
        return True
    if torch.backends.cpu.get_cpu_capability() not in ("AVX512", "AMX"):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return torch.backends.cpu.get_cpu_capability() == "AMX"
    return "avx512_bf16" in flags or "amx_bf16" in flags
