"""INT8-RQ with a margin: a requantized IR within `max_drop` Top-1 points of the ORIGINAL model in its own
runtime (LiteRT / ONNX Runtime) on held-out labelled images of the calibration folder.

Steps (the cheap path first):
1. the validation images: the calibration folder's images that calibration did not use, with a label
   (ImageNet val.txt / FILES.tsv, class folders, CSV), never an image calibration used (by bytes or name);
2. the original's Top-1 on them, in its own runtime (`converters.open_reference`, the catalogue's crop);
3. the all-int8 requantization (`nncf.quantize`); if it is within the margin it is the IR, nothing float;
4. otherwise `nncf.quantize_with_accuracy_control`. NNCF measures the drop against the graph it was
   given (the float graph of the quantized source), not against the original, so its `max_drop` is the
   margin minus what the float graph already lost against the original on the same images
   (at least 0.01 points: NNCF needs a positive limit). The layers it reverted to float are those
   whose input is quantized in the all-int8 model but not in the result.
What was kept, the two Top-1 values and the drop go into the IR's rt_info and the calibration sidecar.
Validation images are recorded too: evaluation refuses them as it refuses calibration images.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from omz_mobilenet.convert.calibration import CalibrationRecord, record_name, sha256_of
from omz_mobilenet.convert.ir_store import RT_KEY
from omz_mobilenet.convert.job import ConversionJob
from omz_mobilenet.errors import ToolError

DEFAULT_MAX_DROP = 0.5  # Top-1 points vs the original in its own runtime
MIN_NNCF_DROP = 0.01  # points: quantize_with_accuracy_control needs a positive max_drop
COMPUTE_OPS = ("Convolution", "GroupConvolution", "MatMul")


@dataclass
class MarginRecord:
    """What the margin work found, as the sidecar and rt_info keep it (percentages, names of the float graph)."""

    checked: bool
    max_drop: float
    method: str  # "keep-ranges" | "all-int8" | "accuracy-control" | "unchecked" (NNCF without held-out images)
    validation_images: int = 0
    original_top1: Optional[float] = None
    original_runtime: str = ""
    all_int8_top1: Optional[float] = None
    top1: Optional[float] = None
    drop: Optional[float] = None
    within: Optional[bool] = None
    kept_float: list[str] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Validation:
    """Held-out labelled images, decoded once (the catalogue's crop), and their record."""

    paths: list[Path]
    labels: list[int]
    images: list[np.ndarray]

    def recorded(self, record: CalibrationRecord, folder: Path) -> CalibrationRecord:
        """The calibration record with these images as its validation images."""
        return replace(
            record,
            validation_sha256=[sha256_of(p) for p in self.paths],
            validation_names=[record_name(p, folder) for p in self.paths],
        )


def validation_items(job: ConversionJob, record: CalibrationRecord) -> list[tuple[Path, int]]:
    """The labelled held-out images (quantize.py's rule), minus any whose name calibrated (a re-encoded copy)."""
    from omz_mobilenet.convert.quantize import _validation_items

    names = set(record.names)
    folder = job.options.calibration
    assert folder is not None
    return [(p, label) for p, label in _validation_items(job, record) if record_name(p, folder) not in names]


def load_validation(job: ConversionJob, items: list[tuple[Path, int]]) -> Validation:
    from omz_mobilenet.inputs.images import load_for_model

    images = [load_for_model(path, job.entry) for path, _label in items]
    return Validation([p for p, _l in items], [label for _p, label in items], images)


def _percent(hits: list[bool]) -> float:
    return round(100.0 * float(np.mean(hits)), 2) if hits else 0.0


def original_top1(job: ConversionJob, validation: Validation) -> tuple[float, str]:
    """The original file's Top-1 on the validation images in its own runtime (argmax, as NNCF's side)."""
    from omz_mobilenet.converters import open_reference
    from omz_mobilenet.converters.native_log import quiet_native_stderr
    from omz_mobilenet.inputs.images import original_input

    with quiet_native_stderr():
        runtime = open_reference(job.entry, job.fetched.model_path)
        hits = [
            int(np.argmax(runtime.run(original_input([image], job.entry))[0])) == label
            for image, label in zip(validation.images, validation.labels, strict=True)
        ]
    name = f"{runtime.name} {runtime.version}"
    del runtime
    return _percent(hits), name


def _top1_fn(labels_by_index: dict[int, int]) -> Any:
    """NNCF's validation_fn over items (index, image): Top-1 as a fraction (NNCF's drop is a fraction)."""
    from omz_mobilenet.inputs.images import ir_input

    def top1(compiled: Any, items: Any) -> float:
        hits = [int(np.argmax(compiled(ir_input([image]))[0])) == labels_by_index[i] for i, image in items]
        return float(np.mean(hits))

    return top1


def ir_top1(model: Any, validation: Validation) -> float:
    import openvino as ov

    compiled = ov.Core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    fn = _top1_fn(dict(enumerate(validation.labels)))
    return round(100.0 * float(fn(compiled, list(enumerate(validation.images)))), 2)


def quantized_inputs(model: Any) -> set[str]:
    """Compute layers (Convolution, GroupConvolution, MatMul) whose activation input is quantized."""
    return {
        op.get_friendly_name()
        for op in model.get_ops()
        if op.get_type_name() in COMPUTE_OPS and op.input_value(0).get_node().get_type_name() == "FakeQuantize"
    }


def kept_float(all_int8: Any, controlled: Any) -> list[str]:
    """Layers quantized in the all-int8 model and float in the accuracy-controlled one, in graph order."""
    reverted = quantized_inputs(all_int8) - quantized_inputs(controlled)
    return [op.get_friendly_name() for op in controlled.get_ordered_ops() if op.get_friendly_name() in reverted]


@dataclass(frozen=True)
class MarginInputs:
    """What the margin search needs besides the job: the float graph and the chosen calibration images."""

    float_model: Any
    calibration: list[Path]
    validation: Validation
    max_drop: float


def _accuracy_control(job: ConversionJob, inputs: MarginInputs, common: dict[str, Any], nncf_drop: float) -> Any:
    import nncf

    from omz_mobilenet.convert.quantize import _transform

    validation = inputs.validation
    dataset = nncf.Dataset(list(enumerate(validation.images)), lambda item: _ir(item[1]))
    calibration = nncf.Dataset(inputs.calibration, _transform(job.entry))
    return nncf.quantize_with_accuracy_control(
        inputs.float_model.clone(),
        calibration,
        dataset,
        validation_fn=_top1_fn(dict(enumerate(validation.labels))),
        max_drop=nncf_drop / 100,
        **common,
    )


def _ir(image: np.ndarray) -> np.ndarray:
    from omz_mobilenet.inputs.images import ir_input

    return ir_input([image])


def quantize_with_margin(job: ConversionJob, inputs: MarginInputs) -> tuple[Any, Any, MarginRecord]:
    """(the IR to write, the all-int8 model, the record). Both models are in memory; nothing is written."""
    import nncf

    from omz_mobilenet.convert.quantize import _common_arguments, _transform, quiet_nncf

    validation = inputs.validation
    original, runtime = original_top1(job, validation)
    float_top1 = ir_top1(inputs.float_model, validation)
    common = _common_arguments(inputs.float_model, job.options, len(inputs.calibration))
    with quiet_nncf(job.settings.progress):
        plain = nncf.quantize(
            inputs.float_model.clone(), nncf.Dataset(inputs.calibration, _transform(job.entry)), **common
        )
    plain_top1 = ir_top1(plain, validation)
    record = MarginRecord(True, inputs.max_drop, "all-int8", len(validation.paths), original, runtime, plain_top1)
    job.log(
        f"{job.entry.name}: validation Top-1 on {len(validation.paths)} held-out images: original ({runtime}) "
        f"{original:.2f}, float graph {float_top1:.2f}, all-int8 {plain_top1:.2f}"
    )
    chosen = plain
    if original - plain_top1 > inputs.max_drop:
        nncf_drop = max(MIN_NNCF_DROP, round(inputs.max_drop - (original - float_top1), 2))
        job.log(f"accuracy control: NNCF max drop {nncf_drop} points vs the float graph (margin {inputs.max_drop})")
        with quiet_nncf(job.settings.progress):
            chosen = _accuracy_control(job, inputs, common, nncf_drop)
        record.method, record.kept_float = "accuracy-control", kept_float(plain, chosen)
        job.log(f"{job.entry.name}: kept in float: {', '.join(record.kept_float) or 'nothing'}")
    record.top1 = ir_top1(chosen, validation) if chosen is not plain else plain_top1
    record.drop = round(original - record.top1, 2)
    record.within = record.drop <= inputs.max_drop
    if not record.within:
        record.note = "the margin was not reached: even the float graph loses more than it allows on these images"
        job.log(f"[yellow]{job.entry.name}: INT8-RQ drop {record.drop} points > {inputs.max_drop}: {record.note}[/]")
    return chosen, plain, record


def attach_margin(model: Any, record: MarginRecord) -> None:
    """The margin's findings in the IR's rt_info (`omz_mobilenet/requant_*`)."""
    values = {
        "requant_margin": f"{record.method}; max drop {record.max_drop} points vs the original; checked {record.checked}",
        "requant_kept_float": "\n".join(record.kept_float),
        "requant_validation_images": str(record.validation_images),
        "requant_original_top1": "" if record.original_top1 is None else f"{record.original_top1:.2f}",
        "requant_original_runtime": record.original_runtime,
        "requant_all_int8_top1": "" if record.all_int8_top1 is None else f"{record.all_int8_top1:.2f}",
        "requant_top1": "" if record.top1 is None else f"{record.top1:.2f}",
        "requant_drop": "" if record.drop is None else f"{record.drop:.2f}",
    }
    for key, value in values.items():
        model.set_rt_info(value, [RT_KEY, key])


def no_labels_message(folder: Optional[Path], why: str) -> str:
    return (
        f"calibration folder {folder}: {why}; the INT8-RQ margin needs labelled held-out images there "
        "(val.txt or FILES.tsv beside them, class sub-folders or a CSV) beyond --calibration-limit"
    )


def margin_or_error(job: ConversionJob, record: CalibrationRecord) -> Optional[list[tuple[Path, int]]]:
    """The validation items; None (with a warning: the documented fallback) when the margin is on by default
    and the folder has no labelled held-out images; exit 2 when --max-drop asked for it explicitly."""
    try:
        items = validation_items(job, record)
        if not items:
            raise ToolError("no labelled held-out images left once calibration images are removed", 2)
        return items
    except ToolError as exc:
        message = no_labels_message(job.options.calibration, exc.message.split(";")[0])
        if job.options.max_drop is not None:
            raise ToolError(message, 2) from None
        job.log(f"[yellow]{message}: writing the requantization with its margin UNCHECKED[/]")
        return None


def check_margin_folder(folder: Path, subset_size: int, max_drop: Optional[float]) -> None:
    """The cheap part of `margin_or_error`, for a check before any download or conversion (`plan_folders`):
    with --max-drop given, the calibration folder must hold labelled images beyond the calibration subset.
    (The label mapping to the model's outputs is checked later, once the model's label file is there.)"""
    from omz_mobilenet.convert.calibration import select_calibration
    from omz_mobilenet.inputs.dataset import load_image_set

    if max_drop is None:  # the margin on by default: an unlabelled folder is the documented fallback
        return
    _files, record = select_calibration(folder, subset_size)
    try:
        labelled = load_image_set(folder, skip_bad=True).items
    except ToolError:
        labelled = []
    calibrated = set(record.names)
    if not [p for p, _label in labelled if record_name(p, folder) not in calibrated]:
        raise ToolError(no_labels_message(folder, "no labelled image beyond the calibration images"), 2)
