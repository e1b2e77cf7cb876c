"""The machine stamp every JSON result carries: which CPU (and which of its ISA extensions that change
OpenVINO's kernels and default precision), which OS, and which versions produced a number.

INT8 speed, the CPU plugin's default inference precision (bf16 where AVX-512 BF16 or AMX exist) and
even INT8 Top-1 differ between AVX2-only and AVX-512 VNNI/BF16/AMX machines, so a number without
this block cannot be compared with another. Versions are read from package metadata, so building
the stamp imports no framework.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Optional

# The /proc/cpuinfo flags that change OpenVINO CPU results or speed, in the order reports show them.
ISA_FLAGS = (
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "avx512_fp16",
)
PACKAGES = {
    "openvino": "openvino",
    "nncf": "nncf",
    "numpy": "numpy",
    "litert": "ai-edge-litert",
    "onnxruntime": "onnxruntime",
    "tensorflow": "tensorflow-cpu",
}
REPO = Path(__file__).resolve().parents[1]


def _cpuinfo() -> tuple[str, set[str]]:
    model, flags = platform.processor() or "unknown", set[str]()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model in ("unknown", "", platform.machine()):
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, flags


def _version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> Optional[str]:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


@functools.lru_cache(maxsize=1)
def environment() -> dict:
    """The stamp for this process's machine (computed once)."""
    from omz_mobilenet import __version__

    model, flags = _cpuinfo()
    versions = {name: _version(pkg) for name, pkg in PACKAGES.items()}
    if versions["tensorflow"] is None:
        versions["tensorflow"] = _version("tensorflow")
    return {
        "hostname": socket.gethostname(),
        "cpu_model": model,
        "cores": os.cpu_count(),
        "isa": [f for f in ISA_FLAGS if f in flags],
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        **versions,
        "toolkit_version": __version__,
        "git_commit": _git_commit(),
        "node_id": os.environ.get("OMZ_MOBILENET_NODE_ID"),
    }


def machine_key(env: Optional[dict] = None) -> str:
    """A short id of the machine kind and host: equal stamps mean comparable timings."""
    env = env or environment()
    ident = {k: env.get(k) for k in ("hostname", "cpu_model", "cores", "isa", "openvino", "node_id")}
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:12]


def isa_label(env: Optional[dict] = None) -> str:
    """ "AMD EPYC, AVX2" style: what a README table names its machine by."""
    env = env or environment()
    kinds = [f for f in ("amx_tile", "avx512_bf16", "avx512_vnni", "avx512f", "avx2") if f in env.get("isa", [])]
    return f"{env.get('cpu_model')}, {env.get('cores')} cores, {'/'.join(kinds) or 'no AVX2'}"
