"""Writing accuracy_checker configs from the catalogue, and finding the ones that are stale.

Regenerate after a catalogue change: `python -m omz_mobilenet.accuracy.ac_config write` (`check`
verifies, and a test fails when they are stale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import yaml

from omz_mobilenet.accuracy.ac_format import DEVICE_CONFIG, HEADER, PUBLISHED_ABS_THRESHOLD, config_path, configs_dir
from omz_mobilenet.catalogue import ModelEntry, load_catalogue


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
