"""Open Model Zoo accuracy_checker configs: write them from the catalogue, read back the subset we use.

`accuracy_checker_configs/<model>.yml` is in accuracy_checker's own format, so `accuracy_check -c`
can run it. We read only the keys those files use (crop/resize preprocessing, top-1/top-5 accuracy
with reference and abs_threshold) and refuse anything else: silently ignoring an unknown
preprocessing step would measure a different pipeline from the one the file describes.

The launcher pins `device_config: {CPU: {INFERENCE_PRECISION_HINT: f32}}`: without it accuracy_checker
runs bf16 on bf16-capable CPUs (3 points lower Top-1 on one model, FACTS section 7), while this tool
always computes at f32; the reader accepts that key and refuses any other precision.

Per-image-set references live beside it in `<model>.subsets.yml` (accuracy_checker rejects unknown
keys inside metrics, so they cannot go into the config itself).

Regenerate after a catalogue change: `python -m omz_mobilenet.accuracy.ac_config write` (`check` verifies).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal, Optional

import yaml

from omz_mobilenet.catalogue import Geometry, ModelEntry, load_catalogue
from omz_mobilenet.errors import ToolError

CONFIGS_ENV = "OMZ_MOBILENET_AC_CONFIGS"
# Allowance on a published full-validation reference (fractions, as accuracy_checker uses them).
PUBLISHED_ABS_THRESHOLD = 0.005
LAUNCHER_KEYS = {"framework", "model", "weights", "adapter", "device", "device_config"}
# What `omz-mobilenet accuracy` computes in; accuracy_checker must be told, or it follows the CPU's default.
DEVICE_CONFIG = {"CPU": {"INFERENCE_PRECISION_HINT": "f32"}}
DATASET_KEYS = {"name", "data_source", "reader", "annotation_conversion", "preprocessing", "metrics"}
METRIC_KEYS = {"name", "type", "top_k", "reference", "abs_threshold"}
CONVERSION_KEYS = {"converter", "annotation_file", "labels_file", "has_background"}
Interpolation = Literal["bilinear", "area", "cubic"]
INTERPOLATIONS: dict[str, Interpolation] = {
    "LINEAR": "bilinear",
    "BILINEAR": "bilinear",
    "AREA": "area",
    "CUBIC": "cubic",
    "BICUBIC": "cubic",
}
HEADER = (
    "# Open Model Zoo accuracy_checker config for {name}, generated from models.yml by\n"
    "# `python -m omz_mobilenet.accuracy.ac_config write`; do not edit by hand. References are fractions of the\n"
    "# published full ImageNet-val accuracy; per-image-set references, where measured, are in {name}.subsets.yml.\n"
)


@dataclass(frozen=True)
class MetricRef:
    top_k: int
    reference: Optional[float]  # fraction; None when no published figure belongs to this file
    abs_threshold: float


@dataclass(frozen=True)
class AcModelConfig:
    name: str
    path: Path
    geometry: Geometry
    resolution: int
    has_background: bool
    metrics: dict[int, MetricRef] = field(default_factory=dict)
    device_config: dict = field(default_factory=dict)


def configs_dir() -> Path:
    override = os.environ.get(CONFIGS_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("omz_mobilenet.data").joinpath("accuracy_checker_configs")))


def config_path(name: str, folder: Optional[Path] = None) -> Path:
    return (folder or configs_dir()) / f"{name}.yml"


def subsets_path(name: str, folder: Optional[Path] = None) -> Path:
    return (folder or configs_dir()) / f"{name}.subsets.yml"


# ---- writing -------------------------------------------------------------------------------


def _preprocessing(entry: ModelEntry) -> list[dict]:
    geometry, size = entry.preprocessing, entry.resolution
    interpolation = {"bilinear": "LINEAR", "area": "AREA", "cubic": "CUBIC"}[geometry.interpolation]
    if geometry.kind == "central_crop":
        return [
            {"type": "crop", "central_fraction": geometry.central_fraction},
            {"type": "resize", "size": size, "interpolation": interpolation},
        ]
    return [
        {
            "type": "resize",
            "size": geometry.resize_short,
            "aspect_ratio_scale": "greater",
            "interpolation": interpolation,
        },
        {"type": "crop", "size": size},
    ]


def published_reference(entry: ModelEntry, top_k: int) -> Optional[float]:
    """The published full-val figure, unless it belongs to another model (quantized files scored
    with their float model's number, an upper bound, are not gated against it)."""
    acc = entry.accuracy
    if acc is None or "upper bound" in acc.source:
        return None
    value = acc.top1 if top_k == 1 else acc.top5
    return None if value is None else round(value / 100.0, 5)


def _metric(entry: ModelEntry, top_k: int) -> dict:
    metric = {"name": f"accuracy@top{top_k}", "type": "accuracy", "top_k": top_k}
    reference = published_reference(entry, top_k)
    if reference is not None:
        metric.update(reference=reference, abs_threshold=PUBLISHED_ABS_THRESHOLD)
    return metric


def render_config(entry: ModelEntry) -> dict:
    background = entry.output.has_background
    return {
        "models": [
            {
                "name": entry.name,
                "launchers": [
                    {
                        "framework": "openvino",
                        "device": "CPU",
                        "model": f"{entry.name}/FP32/{entry.name}.xml",
                        "adapter": "classification",
                        "device_config": {device: dict(props) for device, props in DEVICE_CONFIG.items()},
                    }
                ],
                "datasets": [
                    {
                        "name": "imagenet_1001_classes" if background else "imagenet_1000_classes",
                        "data_source": "ILSVRC2012_img_val",
                        "reader": "opencv_imread",
                        "annotation_conversion": {
                            "converter": "imagenet",
                            "annotation_file": "val.txt",
                            "has_background": background,
                        },
                        "preprocessing": _preprocessing(entry),
                        "metrics": [_metric(entry, 1), _metric(entry, 5)],
                    }
                ],
            }
        ]
    }


def config_text(entry: ModelEntry) -> str:
    body = yaml.safe_dump(render_config(entry), sort_keys=False, default_flow_style=False)
    return HEADER.format(name=entry.name) + body


def write_configs(folder: Optional[Path] = None) -> list[Path]:
    folder = folder or configs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in load_catalogue().models:
        path = config_path(entry.name, folder)
        path.write_text(config_text(entry), encoding="utf-8")
        written.append(path)
    return written


def stale_configs(folder: Optional[Path] = None) -> list[str]:
    """Models whose config file is missing or differs from what the catalogue generates."""
    stale = []
    for entry in load_catalogue().models:
        path = config_path(entry.name, folder)
        if not path.is_file() or path.read_text(encoding="utf-8") != config_text(entry):
            stale.append(entry.name)
    return stale


# ---- reading -------------------------------------------------------------------------------


def _fail(path: Path, where: str, message: str) -> ToolError:
    return ToolError(
        f"{path}: {where}: {message} (this tool reads the accuracy_checker subset its generated configs use)", 2
    )


def _only(mapping: object, allowed: set[str], path: Path, where: str) -> dict:
    if not isinstance(mapping, dict):
        raise _fail(path, where, "expected a mapping")
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise _fail(path, where, f"unsupported key(s) {', '.join(unknown)}")
    return mapping


def _single(items: object, path: Path, where: str) -> dict:
    if not isinstance(items, list) or len(items) != 1:
        raise _fail(path, where, "expected a list with exactly one item")
    return items[0]


def _interpolation(step: dict, path: Path, where: str) -> Interpolation:
    name = str(step.get("interpolation", "LINEAR")).upper()
    if name not in INTERPOLATIONS:
        raise _fail(path, where, f"unsupported interpolation {name!r}")
    return INTERPOLATIONS[name]


def _geometry(steps: object, path: Path, where: str) -> tuple[Geometry, int]:
    """crop(central_fraction)+resize(size) or resize(size, greater)+crop(size): the two pipelines we run."""
    if not isinstance(steps, list) or len(steps) != 2 or not all(isinstance(s, dict) for s in steps):
        raise _fail(path, where, "expected two steps: crop+resize (TF-slim) or resize+crop (ONNX Model Zoo)")
    first, second = steps
    kinds = (first.get("type"), second.get("type"))
    if kinds == ("crop", "resize"):
        _only(first, {"type", "central_fraction"}, path, f"{where}[0]")
        _only(second, {"type", "size", "interpolation"}, path, f"{where}[1]")
        if "central_fraction" not in first or "size" not in second:
            raise _fail(path, where, "crop needs central_fraction, resize needs size")
        geometry = Geometry(
            kind="central_crop",
            central_fraction=float(first["central_fraction"]),
            interpolation=_interpolation(second, path, f"{where}[1]"),
        )
        return geometry, int(second["size"])
    if kinds == ("resize", "crop"):
        _only(first, {"type", "size", "aspect_ratio_scale", "interpolation"}, path, f"{where}[0]")
        _only(second, {"type", "size"}, path, f"{where}[1]")
        if first.get("aspect_ratio_scale") != "greater" or "size" not in first or "size" not in second:
            raise _fail(path, where, "resize needs size and aspect_ratio_scale: greater; crop needs size")
        geometry = Geometry(
            kind="resize_short_crop",
            resize_short=int(first["size"]),
            interpolation=_interpolation(first, path, f"{where}[0]"),
        )
        return geometry, int(second["size"])
    raise _fail(path, where, f"unsupported preprocessing steps {kinds}")


def _device_config(raw: object, path: Path, where: str) -> dict:
    """{DEVICE: {PROPERTY: value}}; an inference precision other than f32 is refused, because this tool
    computes at f32 and would silently measure something else than accuracy_checker with that file."""
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise _fail(path, where, "expected {DEVICE: {PROPERTY: value}}, e.g. {CPU: {INFERENCE_PRECISION_HINT: f32}}")
    for device, props in raw.items():
        hint = props.get("INFERENCE_PRECISION_HINT")
        if hint is not None and str(hint).lower() not in ("f32", "fp32"):
            raise _fail(path, f"{where}.{device}", f"INFERENCE_PRECISION_HINT {hint!r}: only f32 is supported")
    return {str(device): dict(props) for device, props in raw.items()}


def _metrics(items: object, path: Path, where: str) -> dict[int, MetricRef]:
    if not isinstance(items, list) or not items:
        raise _fail(path, where, "expected a list of accuracy metrics")
    found: dict[int, MetricRef] = {}
    for index, raw in enumerate(items):
        metric = _only(raw, METRIC_KEYS, path, f"{where}[{index}]")
        if metric.get("type") != "accuracy" or metric.get("top_k") not in (1, 5):
            raise _fail(path, f"{where}[{index}]", "only `type: accuracy` with top_k 1 or 5 is supported")
        reference = metric.get("reference")
        if reference is not None and not 0 <= float(reference) <= 1:
            raise _fail(path, f"{where}[{index}]", f"reference {reference} must be a fraction in [0, 1]")
        threshold = float(metric.get("abs_threshold", PUBLISHED_ABS_THRESHOLD))
        found[metric["top_k"]] = MetricRef(metric["top_k"], None if reference is None else float(reference), threshold)
    return found


def parse_config(path: Path) -> AcModelConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(
            f"no accuracy config {path}; run `python -m omz_mobilenet.accuracy.ac_config write`", 2
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ToolError(f"{path}: cannot read accuracy config: {str(exc).splitlines()[0]}", 2) from None
    model = _only(
        _single(_only(raw, {"models"}, path, "top level").get("models"), path, "models"),
        {"name", "launchers", "datasets"},
        path,
        "models[0]",
    )
    launcher = _only(_single(model.get("launchers"), path, "launchers"), LAUNCHER_KEYS, path, "launchers[0]")
    if launcher.get("framework") != "openvino" or launcher.get("adapter") != "classification":
        raise _fail(path, "launchers[0]", "only framework: openvino with adapter: classification is supported")
    dataset = _only(_single(model.get("datasets"), path, "datasets"), DATASET_KEYS, path, "datasets[0]")
    conversion = _only(dataset.get("annotation_conversion", {}), CONVERSION_KEYS, path, "annotation_conversion")
    if conversion.get("converter", "imagenet") != "imagenet":
        raise _fail(path, "annotation_conversion", "only converter: imagenet is supported")
    device_config = _device_config(launcher.get("device_config"), path, "launchers[0].device_config")
    geometry, size = _geometry(dataset.get("preprocessing"), path, "datasets[0].preprocessing")
    metrics = _metrics(dataset.get("metrics"), path, "datasets[0].metrics")
    return AcModelConfig(
        str(model.get("name")),
        Path(path),
        geometry,
        size,
        bool(conversion.get("has_background", False)),
        metrics,
        device_config,
    )


def config_for(entry: ModelEntry, folder: Optional[Path] = None) -> AcModelConfig:
    """The model's config, checked against the catalogue (input size and label space must agree).
    A model without a committed config (e.g. added through OMZ_MOBILENET_CATALOGUE) gets the one the
    catalogue generates, as `write` would write it."""
    path = config_path(entry.name, folder)
    if not path.is_file():
        return _generated(entry)
    config = parse_config(path)
    if config.name != entry.name:
        raise ToolError(f"{config.path}: names model {config.name!r}, expected {entry.name!r}", 2)
    if config.resolution != entry.resolution:
        raise ToolError(
            f"{config.path}: resizes to {config.resolution}, but {entry.name} takes {entry.resolution}x{entry.resolution}",
            2,
        )
    if config.has_background != entry.output.has_background:
        raise ToolError(
            f"{config.path}: has_background {config.has_background} disagrees with the model's {entry.output.classes} classes",
            2,
        )
    return config


def _generated(entry: ModelEntry) -> AcModelConfig:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="omz-ac-") as tmp:
        path = Path(tmp) / f"{entry.name}.yml"
        path.write_text(config_text(entry))
        return parse_config(path)


# ---- per-image-set references (sidecar) ----------------------------------------------------


@dataclass(frozen=True)
class SubsetRef:
    image_set: str
    images: int
    image_list_sha256: str
    top1_hits: int
    top5_hits: int
    tolerance: dict  # allowed drop in images: {"top1": n, "top5": n}
    measured: dict  # framework, version, date, how


SUBSET_KEYS = {"images", "image_list_sha256", "top1_hits", "top5_hits", "top1", "top5", "tolerance_images", "measured"}


def _subset(name: str, raw: object, path: Path) -> SubsetRef:
    data = _only(raw, SUBSET_KEYS, path, f"subsets.{name}")
    try:
        tolerance = {k: int(data["tolerance_images"][k]) for k in ("top1", "top5")}
        return SubsetRef(
            name,
            int(data["images"]),
            str(data["image_list_sha256"]),
            int(data["top1_hits"]),
            int(data["top5_hits"]),
            tolerance,
            dict(data.get("measured") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(f"{path}: subsets.{name}: missing or bad field ({exc})", 2) from None


def load_subsets(name: str, folder: Optional[Path] = None) -> dict[str, SubsetRef]:
    path = subsets_path(name, folder)
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ToolError(f"{path}: cannot read subset references: {str(exc).splitlines()[0]}", 2) from None
    subsets = _only(raw, {"model", "subsets"}, path, "top level").get("subsets") or {}
    return {key: _subset(key, value, path) for key, value in subsets.items()}


SUBSETS_HEADER = (
    "# Per-image-set references for {name}: the ORIGINAL model file run in its own framework on each\n"
    "# image set (same OpenCV decode and crop/resize as the IR), written by\n"
    "# benchmarks/measure_subset_references.py. The gate fails when the IR scores more than\n"
    "# `tolerance_images` images below top1_hits/top5_hits. A reference only applies to the exact image\n"
    "# list (image_list_sha256 of file names, byte sizes and labels).\n"
)


def write_subsets(name: str, subsets: dict[str, dict], folder: Optional[Path] = None) -> Path:
    path = subsets_path(name, folder)
    body = yaml.safe_dump({"model": name, "subsets": subsets}, sort_keys=False, default_flow_style=False)
    path.write_text(SUBSETS_HEADER.format(name=name) + body, encoding="utf-8")
    return path


def main(argv: Optional[list[str]] = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command[0] == "write":
        for path in write_configs():
            print(path)
        return 0
    stale = stale_configs()
    for name in stale:
        print(f"stale or missing: {config_path(name)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
