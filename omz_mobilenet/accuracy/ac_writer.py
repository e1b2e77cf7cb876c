"""Writing accuracy_checker configs from the catalogue, and finding the ones that are stale.

Regenerate after a catalogue change: `python -m omz_mobilenet.accuracy.ac_config write` (`check`
verifies, and a test fails when they are stale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import yaml

from omz_mobilenet.accuracy.ac_format import (
    ANNOTATION_FILE,
    DATASET_META_FILE,
    DEVICE_CONFIG,
    HEADER,
    IMAGENET_IMAGES_DIR,
    PUBLISHED_ABS_THRESHOLD,
    USER_HEADER,
    USER_IMAGES_DIR,
    config_path,
    entry_configs_dir,
    imagenet_labels,
)
from omz_mobilenet.catalogue import ModelEntry, load_catalogue
from omz_mobilenet.errors import ToolError


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


def _dataset(entry: ModelEntry) -> dict:
    """The dataset block: ImageNet's for ImageNet label sets (as Open Model Zoo writes it), else the
    model's own label map (dataset_meta.json, written into -s ROOT by `ac-dataset --model`)."""
    background = entry.output.has_background
    if imagenet_labels(entry):
        name, source = ("imagenet_1001_classes" if background else "imagenet_1000_classes"), IMAGENET_IMAGES_DIR
        conversion = {"converter": "imagenet", "annotation_file": ANNOTATION_FILE, "has_background": background}
    else:
        name, source = f"{entry.name}_{entry.output.label_count}_classes", USER_IMAGES_DIR
        conversion = {
            "converter": "imagenet",
            "annotation_file": ANNOTATION_FILE,
            "dataset_meta_file": DATASET_META_FILE,
            "has_background": background,
        }
    return {
        "name": name,
        "data_source": source,
        "reader": "opencv_imread",
        "annotation_conversion": conversion,
        "preprocessing": _preprocessing(entry),
        "metrics": [_metric(entry, 1), _metric(entry, 5)],
    }


def render_config(entry: ModelEntry) -> dict:
    launcher = {
        "framework": "openvino",
        "device": "CPU",
        "model": f"{entry.name}/FP32/{entry.name}.xml",
        "adapter": "classification",
        "device_config": {device: dict(props) for device, props in DEVICE_CONFIG.items()},
    }
    return {"models": [{"name": entry.name, "launchers": [launcher], "datasets": [_dataset(entry)]}]}


def _header(entry: ModelEntry) -> str:
    if imagenet_labels(entry):
        return HEADER.format(name=entry.name)
    return USER_HEADER.format(
        name=entry.name,
        catalogue=Path(entry.catalogue_file).name if entry.catalogue_file else "catalogue",
        count=entry.output.label_count,
        labels=entry.labels_file,
        background=", after a background class at output 0" if entry.output.has_background else "",
        images=USER_IMAGES_DIR,
        annotation=ANNOTATION_FILE,
        meta=DATASET_META_FILE,
    )


def config_text(entry: ModelEntry) -> str:
    body = yaml.safe_dump(render_config(entry), sort_keys=False, default_flow_style=False)
    return _header(entry) + body


def _selected(names: Optional[list[str]]) -> list[ModelEntry]:
    """The catalogue's models, or the named ones (an unknown name is exit 2 naming the known ones)."""
    models = load_catalogue().models
    if not names:
        return list(models)
    by_name = {entry.name: entry for entry in models}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ToolError(f"unknown model {unknown[0]!r}; `omz-mobilenet list` shows the catalogued models", 2)
    return [by_name[name] for name in names]


def write_configs(folder: Optional[Path] = None, names: Optional[list[str]] = None) -> list[Path]:
    """Write the configs of the catalogue's models (or the named ones): into `folder` when given, else
    each where it is looked for (entry_configs_dir: the package's folder, or beside a user catalogue)."""
    written = []
    for entry in _selected(names):
        target = folder or entry_configs_dir(entry)
        path = config_path(entry.name, target)
        try:
            target.mkdir(parents=True, exist_ok=True)
            path.write_text(config_text(entry), encoding="utf-8")
        except OSError as exc:
            raise ToolError(
                f"cannot write {path}: {exc.strerror or exc}; pass --out DIR (a folder you can write)", 2
            ) from None
        written.append(path)
    return written


def stale_configs(folder: Optional[Path] = None, names: Optional[list[str]] = None) -> list[str]:
    """Models whose config file is missing or differs from what the catalogue generates."""
    stale = []
    for entry in _selected(names):
        path = config_path(entry.name, folder or entry_configs_dir(entry))
        if not path.is_file() or path.read_text(encoding="utf-8") != config_text(entry):
            stale.append(entry.name)
    return stale
