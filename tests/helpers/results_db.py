"""Stored sweep cells for the results, report and pick tests."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.commands import results_cmds
from omz_mobilenet.results.db import ResultsDB

ENVIRONMENTS = {
    "m1": {
        "hostname": "ci-zen3",
        "cpu_model": "AMD EPYC 7B13",
        "cores": 2,
        "isa": ["avx2"],
        "os": "Linux-6.1",
        "python": "3.11.7",
        "openvino": "2026.4.1",
        "nncf": "3.4.0",
        "toolkit_version": "0.1.0",
        "git_commit": "abc1234",
        "node_id": None,
    },
    "m2": {
        "hostname": "ray-zen5",
        "cpu_model": "AMD EPYC 9R45",
        "cores": 2,
        "isa": ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"],
        "os": "Linux-6.8",
        "python": "3.11.7",
        "openvino": "2026.4.1",
        "nncf": "3.4.0",
        "toolkit_version": "0.1.0",
        "git_commit": "abc1234",
        "node_id": "5f1e0c9a7d2b44e1",
    },
}


def _wilson(p: float, n: int) -> tuple[float, float]:
    z, q = 1.96, p / 100
    centre = (q + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(q * (1 - q) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(100 * (centre - half), 3), round(100 * (centre + half), 3)


def _round_medians(median: float, spread: float, rounds: int) -> list[float]:
    """`rounds` round medians around `median` whose range is `spread` of it (one round: no range)."""
    if rounds == 1:
        return [median]
    low = median * (1 - spread / 2)  # centred: the middle round is the median
    return [round(low + median * spread * i / (rounds - 1), 4) for i in range(rounds)]


def _rounds(medians: list[float]) -> list[dict[str, Any]]:
    """Per-round entries as the sweep stores them in `rounds`."""
    start = 1796000000.0
    return [
        {"round": i, "position": 0, "of": 1, "started_at": start + 10 * i, "finished_at": start + 10 * i + 9,
         "median_ms": m}
        for i, m in enumerate(medians)
    ]  # fmt: skip


def _bench(median: float, fps: float, spread: float, medians: list[float]) -> dict[str, Any]:
    cdf = [round(median * (0.8 + 0.4 * q / 100 + (0.6 * (q - 95) / 5 if q > 95 else 0.0)), 4) for q in range(101)]
    return {
        "latency_median_ms": median,
        "latency_p50_ms": median,
        "latency_p90_ms": cdf[90],
        "latency_p95_ms": cdf[95],
        "latency_p99_ms": cdf[99],
        "latency_p999_ms": round(cdf[100] * 0.995, 4),
        "latency_min_ms": cdf[0],
        "latency_max_ms": cdf[100],
        "throughput_fps": fps,
        "rounds": len(medians),
        "round_medians_ms": medians,
        "spread": spread,
        "noisy": spread > 0.10,
        "cdf_ms": cdf,
    }


def make_cell(
    model: str,
    precision: str,
    *,
    device: str = "CPU",
    batch: int = 1,
    hint: str = "latency",
    machine: str = "m1",
    top1: Optional[float] = 70.0,
    median: float = 5.0,
    fps: Optional[float] = None,
    size: float = 7.0,
    status: str = "ok",
    reason: Optional[str] = None,
    spread: float = 0.03,
    rounds: int = 3,
    images: int = 1000,
) -> dict[str, Any]:
    """A realistic-looking cell record, as the sweep writes it: `rounds` round medians whose range is
    `spread` of the median (overlapping ranges make two cells equal in speed)."""
    medians = _round_medians(median, spread, rounds)
    config = {"batch": batch, "hint": hint, "infer_precision": "f32"}
    config_json = json.dumps(config, sort_keys=True, separators=(",", ":"))
    accuracy = None
    if top1 is not None and status in ("ok", "incomplete"):
        (lo1, hi1), top5 = _wilson(top1, images), min(99.0, top1 + 19.0)
        lo5, hi5 = _wilson(top5, images)
        accuracy = {
            "dataset": "imagenet-eval",
            "images": images,
            "top1": top1,
            "top1_low": lo1,
            "top1_high": hi1,
            "top5": top5,
            "top5_low": lo5,
            "top5_high": hi5,
        }
    timed = status == "ok" or (status == "incomplete" and top1 is not None)
    bench = _bench(median, fps if fps is not None else round(1000.0 * batch / median, 1), spread, medians)
    return {
        "key": {
            "model": model,
            "precision": precision,
            "device": device,
            "config": config_json,
            "ir_sha256": f"{abs(hash((model, precision))):064x}"[:64],
            "dataset_fingerprint": "ds-7c1e",
            "machine": machine,
        },
        "status": status,
        "reason": reason,
        "model": model,
        "precision": precision,
        "device": device,
        "config": config,
        "gflops": 0.6,
        "mparams": 3.5,
        "ir_size_mb": size,
        "compiled_precision": "u8:28 f32:3" if precision == "INT8" else "f32",
        "accuracy": accuracy,
        "bench": bench if timed else None,
        "rounds": _rounds(medians) if timed else [],
        "shared_measurement": [f"{model} {precision}"],
        "skipped_images": 0,
        "environment": ENVIRONMENTS[machine],
        "started_at": 1796000000.0,
        "finished_at": 1796000042.5,
        "command": f"omz-mobilenet sweep --models {model} --precision {precision} --device {device}",
    }


def sample_cells() -> list[dict[str, Any]]:
    return [
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=6.2, size=13.6),
        make_cell("mobilenet-v2-1.0-224", "FP16", top1=71.7, median=6.0, size=6.8),
        make_cell("mobilenet-v2-1.0-224", "INT8", top1=70.9, median=3.1, size=3.6, spread=0.14),
        make_cell("mobilenet-v1-0.25-128", "FP32", top1=41.5, median=0.6, size=1.9),
        make_cell("mobilenet-v2-1.0-224", "FP32", batch=4, hint="throughput", top1=71.8, median=15.0, fps=410.0),
        make_cell(
            "mobilenet-v1-0.50-160", "INT8", status="failed", reason="quantization failed: no calibration images"
        ),
    ]


# (model, Top-1 of FP32, median ms of FP32 at batch 1 on a 2-core CPU): the shape of the real numbers.
SWEEP_MODELS = [
    (f"mobilenet-v1-{w}-{r}", round(30 + 44 * float(w) ** 0.5 * (r / 224) ** 0.3, 1), round(9 * float(w) ** 1.6 * (r / 224) ** 2, 3))
    for w in ("0.25", "0.50", "0.75", "1.0")
    for r in (128, 160, 192, 224)
] + [
    (f"mobilenet-v2-{w}-224", round(60 + 12 * float(w) ** 0.5, 1), round(5.5 * float(w) ** 1.5, 3))
    for w in ("0.35", "0.5", "0.75", "1.0", "1.4")
] + [("mobilenet-v3-small-1.0-224", 67.5, 1.4), ("mobilenet-v3-large-1.0-224", 75.2, 3.9)]  # fmt: skip
# The 8 models of `make sweep` first: two or three of each family.
FIRST = ("v1-0.25-128", "v1-0.50-160", "v1-1.0-224", "v2-0.35-224", "v2-1.0-224", "v2-1.4-224", "v3-small", "v3-large")
SWEEP_MODELS.sort(key=lambda m: next((i for i, f in enumerate(FIRST) if f"mobilenet-{f}" in m[0]), len(FIRST)))
PRECISIONS = {"FP32": (0.0, 1.0, 1.0), "FP16": (-0.1, 1.0, 0.5), "INT8": (-0.9, 0.55, 0.27)}  # dTop-1, x time, x size


def sweep_cells(count: int) -> list[dict[str, Any]]:
    """`count` cells as a sweep of the catalogue's models writes them: every precision of each model at
    batch 1 first (the 24 of `make sweep` are 8 models x 3), then batch 4 throughput, then a second machine."""
    configs = [(1, "latency", "m1"), (4, "throughput", "m1"), (1, "latency", "m2"), (4, "throughput", "m2")]
    out: list[dict[str, Any]] = []
    for batch, hint, machine in configs:
        for i, (model, top1, median) in enumerate(SWEEP_MODELS):
            for precision, (d_top1, x_time, x_size) in PRECISIONS.items():
                if len(out) == count:
                    return out
                wobble = 1 + 0.07 * ((i * 7 + len(out)) % 5 - 2) / 2  # not a perfectly smooth machine
                ms = round(median * x_time * wobble * (3.2 if batch == 4 else 1) * (0.7 if machine == "m2" else 1), 3)
                out.append(
                    make_cell(model, precision, batch=batch, hint=hint, machine=machine, top1=round(top1 + d_top1, 1),
                              median=ms, size=round(16 * x_size * median / 9 + 0.5, 2), spread=0.02 + 0.13 * (i % 9 == 4))
                )  # fmt: skip
    return out


def write_db(path: Path, cells: list[dict[str, Any]]) -> Path:
    with ResultsDB.open(path) as db:
        for cell in cells:
            db.put(cell)
    return path


def run_cmd(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    results_cmds.register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)
