"""Checks of an accuracy_checker config, key by key: only the subset this tool's generated configs use
is accepted, and anything else is an error naming the file and the key. Silently ignoring an unknown
preprocessing step would measure a different pipeline from the one the file describes.
"""

from __future__ import annotations

from pathlib import Path

from omz_mobilenet.accuracy.ac_format import (
    INTERPOLATIONS,
    METRIC_KEYS,
    PUBLISHED_ABS_THRESHOLD,
    Interpolation,
    MetricRef,
)
from omz_mobilenet.catalogue import Geometry
from omz_mobilenet.errors import ToolError


def fail(path: Path, where: str, message: str) -> ToolError:
    return ToolError(
        f"{path}: {where}: {message} (this tool reads the accuracy_checker subset its generated configs use)", 2
    )


def only(mapping: object, allowed: set[str], path: Path, where: str) -> dict:
    if not isinstance(mapping, dict):
        raise fail(path, where, "expected a mapping")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise fail(path, where, f"unsupported key(s) {', '.join(unknown)}")
    return mapping


def single(items: object, path: Path, where: str) -> dict:
    if not isinstance(items, list) or len(items) != 1:
        raise fail(path, where, "expected a list with exactly one item")
    return items[0]


def _interpolation(step: dict, path: Path, where: str) -> Interpolation:
    name = str(step.get("interpolation", "LINEAR")).upper()
    if name not in INTERPOLATIONS:
        raise fail(path, where, f"unsupported interpolation {name!r}")
    return INTERPOLATIONS[name]


def read_geometry(steps: object, path: Path, where: str) -> tuple[Geometry, int]:
    """crop(central_fraction)+resize(size) or resize(size, greater)+crop(size): the two pipelines we run."""
    if not isinstance(steps, list) or len(steps) != 2 or not all(isinstance(s, dict) for s in steps):
        raise fail(path, where, "expected two steps: crop+resize (TF-slim) or resize+crop (ONNX Model Zoo)")
    first, second = steps
    kinds = (first.get("type"), second.get("type"))
    if kinds == ("crop", "resize"):
        only(first, {"type", "central_fraction"}, path, f"{where}[0]")
        only(second, {"type", "size", "interpolation"}, path, f"{where}[1]")
        if "central_fraction" not in first or "size" not in second:
            raise fail(path, where, "crop needs central_fraction, resize needs size")
        geometry = Geometry(
            kind="central_crop",
            central_fraction=float(first["central_fraction"]),
            interpolation=_interpolation(second, path, f"{where}[1]"),
        )
        return geometry, int(second["size"])
    if kinds == ("resize", "crop"):
        only(first, {"type", "size", "aspect_ratio_scale", "interpolation"}, path, f"{where}[0]")
        only(second, {"type", "size"}, path, f"{where}[1]")
        if first.get("aspect_ratio_scale") != "greater" or "size" not in first or "size" not in second:
            raise fail(path, where, "resize needs size and aspect_ratio_scale: greater; crop needs size")
        geometry = Geometry(
            kind="resize_short_crop",
            resize_short=int(first["size"]),
            interpolation=_interpolation(first, path, f"{where}[0]"),
        )
        return geometry, int(second["size"])
    raise fail(path, where, f"unsupported preprocessing steps {kinds}")


def read_device_config(raw: object, path: Path, where: str) -> dict:
    """{DEVICE: {PROPERTY: value}}; an inference precision other than f32 is refused, because this tool
    computes at f32 and would silently measure something else than accuracy_checker with that file."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise fail(path, where, "expected {DEVICE: {PROPERTY: value}}, e.g. {CPU: {INFERENCE_PRECISION_HINT: f32}}")
    for device, props in raw.items():
        hint = props.get("INFERENCE_PRECISION_HINT")
        if hint is not None and str(hint).lower() not in ("f32", "fp32"):
            raise fail(path, f"{where}.{device}", f"INFERENCE_PRECISION_HINT {hint!r}: only f32 is supported")
    return {str(device): dict(props) for device, props in raw.items()}


def read_metrics(items: object, path: Path, where: str) -> dict[int, MetricRef]:
    if not isinstance(items, list) or not items:
        raise fail(path, where, "expected a list of accuracy metrics")
    found: dict[int, MetricRef] = {}
    for index, raw in enumerate(items):
        metric = only(raw, METRIC_KEYS, path, f"{where}[{index}]")
        if metric.get("type") != "accuracy" or metric.get("top_k") not in (1, 5):
            raise fail(path, f"{where}[{index}]", "only `type: accuracy` with top_k 1 or 5 is supported")
        reference = metric.get("reference")
        if reference is not None and not 0 <= float(reference) <= 1:
            raise fail(path, f"{where}[{index}]", f"reference {reference} must be a fraction in [0, 1]")
        threshold = float(metric.get("abs_threshold", PUBLISHED_ABS_THRESHOLD))
        found[metric["top_k"]] = MetricRef(metric["top_k"], None if reference is None else float(reference), threshold)
    return found
