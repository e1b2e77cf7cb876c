"""One model's conversion as one object: its fetched source, the baked in-memory IR, the cost of the
original graph, where IRs go and how INT8 is calibrated. `convert_model` builds it once per model and
every IR folder it writes (FP32, FP16, the NNCF INT8 folders, INT8-RQ) reads from it, instead of
seven to nine loose parameters and a callback passed down the stages.

It also owns what every IR carries in its rt_info (`label_ir`): model, source, labels, cost, versions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from omz_mobilenet import __version__
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.ir_stats import GraphCost
from omz_mobilenet.convert.ir_store import RT_KEY
from omz_mobilenet.fetch.download import FetchedModel
from omz_mobilenet.settings import Settings

if TYPE_CHECKING:
    from openvino import Model

Log = Callable[[str], None]


def _silent(_message: str) -> None:
    pass


@dataclass(frozen=True)
class QuantizeOptions:
    calibration: Optional[Path]
    subset_size: int = 300
    max_drop: Optional[float] = None
    validation_size: int = 300
    preset: str = "performance"  # symmetric int8 weights and activations: what OpenVINO's CPU runs fastest
    ignore_edges: bool = False  # keep the first depthwise convolution and the classifier in float
    fast_bias_correction: bool = False
    # layers NNCF leaves in float (IgnoredScope names: the float IR's friendly names), and the file they came from
    ignored_scope: tuple[str, ...] = ()
    ignored_scope_file: Optional[str] = None
    ignored_scope_positions: tuple[str, ...] = ()  # "<type>#<ordinal>" per name (convert/ignored_scope.py)
    # INT8-RQ: "auto" tries the original's own ranges first (convert/keep_ranges.py), then NNCF; "nncf": NNCF only
    requant_method: str = "auto"


@dataclass(frozen=True)
class ConversionJob:
    fetched: FetchedModel
    model: Model  # the baked float IR (preprocessing in), before any precision is applied
    cost: GraphCost  # of the original graph, before preprocessing
    settings: Settings
    options: QuantizeOptions = QuantizeOptions(calibration=None)
    log: Log = _silent

    @property
    def entry(self) -> ModelEntry:
        return self.fetched.entry

    def label_ir(self, model: Model, precision: str) -> None:
        """Write what every IR of this model carries in its rt_info (`omz_mobilenet` and `model_info`)."""
        attach_info(model, self.fetched, precision, self.cost)


def read_labels(fetched: FetchedModel) -> list[str]:
    """One name per model output (background first when output 0 is one), from the model's labels file."""
    from omz_mobilenet.inputs.labels import read_labels_file

    entry = fetched.entry
    space = read_labels_file(fetched.folder / entry.labels_file, entry.output.has_background)
    return space.output_names()


def preprocessing_summary(entry: ModelEntry) -> dict[str, Any]:
    return {
        "ir_input": f"{entry.converted_input.name} {entry.converted_input.shape} NCHW BGR {entry.converted_input.element_type}",
        "original_input": entry.original_input.model_dump(exclude_none=True),
        "geometry": entry.preprocessing.model_dump(),
        "output_dequantized": entry.output.quantization is not None,
    }


def attach_info(model: Any, fetched: FetchedModel, precision: str, cost: GraphCost) -> None:
    import openvino as ov

    entry = fetched.entry
    labels = read_labels(fetched)
    info = {
        "model_name": entry.name,
        "precision": precision,
        "source_file": entry.model_file.file,
        "source_sha256": fetched.source_sha256,
        "source_precision": entry.source_precision,
        "classes": str(entry.output.classes),
        "output_kind": entry.output.kind,
        "preprocessing": json.dumps(preprocessing_summary(entry), sort_keys=True),
        "gflops": f"{cost.gflops:.4f}",
        "mparams": f"{cost.mparams:.4f}",
        "toolkit_version": __version__,
        "openvino_version": ov.get_version(),
    }
    for key, value in info.items():
        model.set_rt_info(value, [RT_KEY, key])
    model.set_rt_info("\n".join(labels), [RT_KEY, "labels"])
    # Open Model Zoo / Model API readers look here for the task and label names.
    model.set_rt_info("Classification", ["model_info", "model_type"])
    model.set_rt_info(" ".join(label.replace(" ", "_") for label in labels), ["model_info", "labels"])
