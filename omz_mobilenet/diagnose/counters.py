"""What each layer ran as, from OpenVINO's performance counters: the kernel (`exec_type`), its precision
(int8 or float), its time, and the reorders (layout/precision conversions the plugin inserted).

The CPU plugin reports per layer the running average since compiling, so one read after the images gives
the mean per inference (the first inference included). Counter names are the friendly names of the layers
the plugin kept; a layer fused into another (a bias Add, a Clamp, a FakeQuantize) has no row of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Kernel:
    name: str
    op_type: str
    exec_type: str
    mean_us: float

    @property
    def precision(self) -> str:
        """int8 for the I8/U8 kernels, else the suffix the plugin names (f32, bf16, f16), or '?'."""
        suffix = self.exec_type.rsplit("_", 1)[-1].lower()
        if suffix in ("i8", "u8"):
            return "int8"
        return suffix if suffix in ("f32", "bf16", "f16", "fp32", "fp16") else "?"


def _executed(item: Any) -> bool:
    return str(item.status).rsplit(".", 1)[-1] == "EXECUTED"


def read_counters(request: Any, images: list[np.ndarray]) -> dict[str, Kernel]:
    """Run the images through a request compiled with PERF_COUNT and read its counters once."""
    for image in images:
        request.infer({0: image})
    return kernels_of(request)


def kernels_of(request: Any) -> dict[str, Kernel]:
    """The executed layers of the request's last inference, by name."""
    return {
        item.node_name: Kernel(item.node_name, item.node_type, item.exec_type, item.real_time.total_seconds() * 1e6)
        for item in request.profiling_info
        if _executed(item)
    }


def reorders(kernels: dict[str, Kernel]) -> list[Kernel]:
    return [k for k in kernels.values() if k.op_type == "Reorder"]


def reorders_before(kernels: dict[str, Kernel], layer: str) -> list[Kernel]:
    """The plugin names a reorder it puts in front of a layer `<from>_<to>_<layer>`."""
    return [k for k in reorders(kernels) if k.name.endswith(f"_{layer}")]


def kernel_mix(kernels: dict[str, Kernel]) -> dict[str, int]:
    """Kernels per precision (reorders left out), e.g. {'int8': 28, 'f32': 1}."""
    mix: dict[str, int] = {}
    for kernel in kernels.values():
        if kernel.op_type not in ("Reorder", "Parameter", "Result", "Input", "Output"):
            mix[kernel.precision] = mix.get(kernel.precision, 0) + 1
    return mix


def total_us(kernels: dict[str, Kernel]) -> float:
    return sum(k.mean_us for k in kernels.values())


def mix_text(mix: dict[str, int]) -> str:
    """{'int8': 29, 'f32': 1} -> 'int8:29 f32:1' (as `bench` prints kernels)."""
    return " ".join(f"{precision}:{count}" for precision, count in sorted(mix.items(), key=lambda kv: -kv[1]))
