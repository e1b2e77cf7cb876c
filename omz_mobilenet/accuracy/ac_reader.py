"""Reading an accuracy_checker config back: the crop/resize geometry, the label space and the Top-1/Top-5
references with their abs_threshold, checked against the catalogue (input size and label space agree).

The launcher pins `device_config: {CPU: {INFERENCE_PRECISION_HINT: f32}}`: without it accuracy_checker
runs bf16 on bf16-capable CPUs (3 points lower Top-1 on one model, FACTS section 7), while this tool
always computes at f32; the reader accepts that key and refuses any other precision.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import yaml

from omz_mobilenet.accuracy.ac_checks import fail, only, read_device_config, read_geometry, read_metrics, single
from omz_mobilenet.accuracy.ac_format import (
    CONVERSION_KEYS,
    DATASET_KEYS,
    IMAGENET_IMAGES_DIR,
    LAUNCHER_KEYS,
    AcModelConfig,
    config_path,
    entry_configs_dir,
    imagenet_labels,
)
from omz_mobilenet.accuracy.ac_writer import config_text
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError


def parse_config(path: Path) -> AcModelConfig:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ToolError(
            f"no accuracy config {path}; run `python -m omz_mobilenet.accuracy.ac_config write`", 2
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise ToolError(f"{path}: cannot read accuracy config: {str(exc).splitlines()[0]}", 2) from None
    model = only(
        single(only(raw, {"models"}, path, "top level").get("models"), path, "models"),
        {"name", "launchers", "datasets"},
        path,
        "models[0]",
    )
    launcher = only(single(model.get("launchers"), path, "launchers"), LAUNCHER_KEYS, path, "launchers[0]")
    if launcher.get("framework") != "openvino" or launcher.get("adapter") != "classification":
        raise fail(path, "launchers[0]", "only framework: openvino with adapter: classification is supported")
    dataset = only(single(model.get("datasets"), path, "datasets"), DATASET_KEYS, path, "datasets[0]")
    conversion = only(dataset.get("annotation_conversion", {}), CONVERSION_KEYS, path, "annotation_conversion")
    if conversion.get("converter", "imagenet") != "imagenet":
        raise fail(path, "annotation_conversion", "only converter: imagenet is supported")
    device_config = read_device_config(launcher.get("device_config"), path, "launchers[0].device_config")
    geometry, size = read_geometry(dataset.get("preprocessing"), path, "datasets[0].preprocessing")
    metrics = read_metrics(dataset.get("metrics"), path, "datasets[0].metrics")
    meta = conversion.get("dataset_meta_file")
    return AcModelConfig(
        str(model.get("name")),
        Path(path),
        geometry,
        size,
        bool(conversion.get("has_background", False)),
        metrics,
        device_config,
        dataset_meta_file=None if meta is None else str(meta),
        data_source=str(dataset.get("data_source", IMAGENET_IMAGES_DIR)),
    )


def config_for(entry: ModelEntry, folder: Optional[Path] = None) -> AcModelConfig:
    """The model's config, checked against the catalogue (input size and label space must agree).
    A user catalogue's model is looked for in `accuracy_checker_configs/` beside its catalogue file. A model
    without a written config gets the one the catalogue generates, as `write` would write it."""
    path = config_path(entry.name, folder or entry_configs_dir(entry))
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
    if not imagenet_labels(entry) and config.dataset_meta_file is None:
        # Without the label map accuracy_checker would show ImageNet's names (or none) for the model's classes.
        raise ToolError(
            f"{config.path}: no dataset_meta_file, but {entry.name} has its own labels ({entry.labels_file}, "
            f"{entry.output.label_count} classes); regenerate it with `python -m omz_mobilenet.accuracy.ac_config write`",
            2,
        )
    return config


def _generated(entry: ModelEntry) -> AcModelConfig:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="omz-ac-") as tmp:
        path = Path(tmp) / f"{entry.name}.yml"
        path.write_text(config_text(entry))
        return parse_config(path)
