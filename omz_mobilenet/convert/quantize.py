"""INT8 IRs with NNCF post-training quantization, calibrated on the model's own preprocessing.

The float IR (preprocessing baked in) is quantized with calibration images fed exactly as the IR
takes them (BGR u8 after the model's crop/resize). With `max_drop`, NNCF's accuracy control keeps
the Top-1 drop on a held-out split of the calibration folder (images calibration did not use)
within the limit. The calibration images are fingerprinted into the IR so evaluation can refuse them.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.calibration import (
    CalibrationRecord,
    calibration_images,
    remaining_images,
    select_calibration,
    sidecar_path,
)
from omz_mobilenet.convert.ignored_scope import resolve_scope
from omz_mobilenet.convert.ir_store import RT_KEY
from omz_mobilenet.convert.job import ConversionJob, QuantizeOptions
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.images import ir_input, load_for_model
from omz_mobilenet.precision import REQUANTIZED, compress_to_fp16, is_requantized

__all__ = [
    "QuantizeOptions",
    "calibration_of",
    "check_quantizable",
    "edge_layers",
    "quantize_model",
    "quantize_to_ir",
]


def check_quantizable(entry: ModelEntry, options: QuantizeOptions, precision: str = "FP32-INT8") -> None:
    if entry.source_precision == "INT8" and not is_requantized(precision):
        raise ToolError(
            f"{entry.name} is already an INT8 model ({entry.model_file.file}); its FP32 IR runs it as is, "
            f"or requantize it with --precision {REQUANTIZED} --calibration DIR",
            2,
        )
    if options.calibration is None:
        raise ToolError(
            "INT8 needs calibration images: pass --calibration DIR (a folder of images, disjoint from your evaluation images)",
            2,
        )
    if options.max_drop is not None and not 0 < options.max_drop < 100:
        raise ToolError("--max-drop is a Top-1 drop in points, between 0 and 100 (e.g. 1.0)", 2)
    calibration_images(options.calibration)  # the folder holds images: said before any download or conversion


def _transform(entry: ModelEntry) -> Callable[[Path], np.ndarray]:
    return lambda path: ir_input([load_for_model(path, entry)])


def _validation_items(job: ConversionJob, record: CalibrationRecord) -> list[tuple[Path, int]]:
    """The held-out images of the calibration folder that have a label, labelled in the model's outputs
    (ImageNet ground truth beside them, the class folders of an ImageFolder: inputs/labels.py)."""
    options = job.options
    assert options.calibration is not None  # check_quantizable refused a missing folder
    held_out = remaining_images(options.calibration, record)[: options.validation_size]
    if not held_out:
        raise ToolError(
            f"--max-drop needs images in {options.calibration} beyond the {record.used} used for calibration; lower --calibration-limit",
            2,
        )
    truth = _labels_in(job, options.calibration)
    labelled = [(p, truth[p.resolve()]) for p in held_out if p.resolve() in truth]
    if not labelled:
        raise ToolError(
            f"--max-drop needs labels for the held-out images of {options.calibration} "
            "(val.txt or FILES.tsv beside them, or one sub-folder per class)",
            2,
        )
    return labelled


def _labels_in(job: ConversionJob, folder: Path) -> dict[Path, int]:
    """Resolved image path -> the model's output index, for the labelled images of `folder`; {} without labels."""
    from omz_mobilenet.inputs.dataset import load_image_set
    from omz_mobilenet.inputs.labels import output_labels, space_for

    try:
        image_set = load_image_set(folder, skip_bad=True)  # unlabelled images are left out, not an error
    except ToolError:
        return {}
    truth = output_labels(image_set, space_for(job.entry, [image_set], job.settings))
    return dict(zip((path.resolve() for path, _label in image_set.items), truth, strict=True))


def _top1_on(entry: ModelEntry) -> Callable[[Any, list[tuple[Path, int]]], float]:
    """NNCF's validation_fn: it is handed the raw dataset items ((path, label)), not transformed ones."""
    transform = _transform(entry)

    def top1(compiled: Any, items: list[tuple[Path, int]]) -> float:
        hits = [int(np.argmax(compiled(transform(path))[0]) == label) for path, label in items]
        return float(np.mean(hits))

    return top1


@contextlib.contextmanager
def quiet_nncf(progress: bool) -> Iterator[None]:
    """NNCF draws its progress bars on stdout and its logger writes there too (accuracy control logs every
    step), while stdout carries results (`convert --json`): bars go to stderr (or nowhere with
    --no-progress), INFO lines are dropped (our own log says what happened), warnings go to stderr."""
    import nncf

    level = nncf.nncf_logger.level
    handlers = [h for h in nncf.nncf_logger.handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.stream for h in handlers]
    nncf.set_log_level(logging.WARNING)
    for handler in handlers:
        handler.setStream(sys.stderr)
    try:
        with contextlib.redirect_stdout(sys.stderr if progress else io.StringIO()):
            yield
    finally:
        for handler, stream in zip(handlers, streams, strict=True):
            handler.setStream(stream)
        nncf.set_log_level(level)


def _quantize(
    job: ConversionJob, model: Any, files: list[Path], record: CalibrationRecord
) -> tuple[Any, Optional[int]]:
    with quiet_nncf(job.settings.progress):
        return _nncf_quantize(job, model, files, record)


def _nncf_quantize(
    job: ConversionJob, model: Any, files: list[Path], record: CalibrationRecord
) -> tuple[Any, Optional[int]]:
    import nncf

    entry, options = job.entry, job.options
    calibration = nncf.Dataset(files, _transform(entry))
    # Full bias correction: fast bias correction lost about 6 Top-1 points on MobileNet V1 0.25.
    common = _common_arguments(model, options, len(files))
    if options.max_drop is None:
        return nncf.quantize(model, calibration, **common), None
    items = _validation_items(job, record)
    transform = _transform(entry)
    validation = nncf.Dataset(items, lambda item: transform(item[0]))
    job.log(f"accuracy control: Top-1 on {len(items)} held-out images, max drop {options.max_drop} points")
    quantized = nncf.quantize_with_accuracy_control(
        model, calibration, validation, validation_fn=_top1_on(entry), max_drop=options.max_drop / 100, **common
    )
    return quantized, len(items)


def _common_arguments(model: Any, options: QuantizeOptions, subset_size: int) -> dict[str, Any]:
    import nncf

    common: dict[str, Any] = dict(
        subset_size=subset_size,
        fast_bias_correction=options.fast_bias_correction,
        preset=nncf.QuantizationPreset(options.preset),
    )
    ignored = ignored_names(model, options)
    if ignored:
        common["ignored_scope"] = nncf.IgnoredScope(names=ignored)
    return common


def ignored_names(model: Any, options: QuantizeOptions) -> list[str]:
    """The layers NNCF keeps in float: the edge layers (`ignore_edges`) and the ignored scope, once each."""
    edges = edge_layers(model) if options.ignore_edges else []
    return list(dict.fromkeys([*edges, *options.ignored_scope]))


def quantize_model(entry: ModelEntry, model: Any, files: list[Path], options: QuantizeOptions) -> Any:
    """`model` (a float graph, not changed) quantized in memory with NNCF, as `quantize_to_ir` does without
    accuracy control: what `diagnose` re-quantizes with each candidate ignored scope."""
    import nncf

    options = resolve_scope(model, options, entry.name)
    with quiet_nncf(progress=False):  # a search quantizes many times: bars and INFO lines would drown the output
        return nncf.quantize(
            model.clone(), nncf.Dataset(files, _transform(entry)), **_common_arguments(model, options, len(files))
        )


def edge_layers(model: Any) -> list[str]:
    """The first depthwise convolution and the classifier (the last Convolution/MatMul): the layers
    the field keeps in float when INT8 loses too much."""
    ops = list(model.get_ordered_ops())
    depthwise = [op.get_friendly_name() for op in ops if op.get_type_name() == "GroupConvolution"]
    compute = [op.get_friendly_name() for op in ops if op.get_type_name() in ("Convolution", "MatMul")]
    return depthwise[:1] + compute[-1:]


def _attach(model: Any, record: CalibrationRecord, options: QuantizeOptions, validated_on: Optional[int]) -> None:
    import nncf

    model.set_rt_info("\n".join(record.sha256), [RT_KEY, "calibration_sha256"])
    model.set_rt_info("\n".join(record.names), [RT_KEY, "calibration_names"])
    model.set_rt_info(record.folder, [RT_KEY, "calibration_folder"])
    model.set_rt_info(f"nncf {nncf.__version__}", [RT_KEY, "quantizer"])
    ignored = " ignore_edges" if options.ignore_edges else ""
    if options.ignored_scope:
        ignored += f" ignored_scope {len(options.ignored_scope)} layers"
        model.set_rt_info("\n".join(options.ignored_scope), [RT_KEY, "ignored_scope"])
        model.set_rt_info(options.ignored_scope_file or "", [RT_KEY, "ignored_scope_file"])
    model.set_rt_info(
        f"preset {options.preset} fast_bias_correction {options.fast_bias_correction}{ignored}",
        [RT_KEY, "quantizer_options"],
    )
    if options.max_drop is not None:
        model.set_rt_info(f"{options.max_drop} points Top-1 on {validated_on} held-out images", [RT_KEY, "max_drop"])


def _write_sidecar(xml: Path, record: CalibrationRecord) -> None:
    target = sidecar_path(xml)
    fd, tmp = tempfile.mkstemp(prefix=".calibration.", dir=target.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(record.to_json())
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


def quantize_to_ir(job: ConversionJob, precision: str, float_model: Optional[Any] = None) -> Path:
    """Quantize the job's float IR (or `float_model`, e.g. a requantization's stripped graph) and write
    `<out>/<model>/<precision>/`, with its calibration record."""
    from omz_mobilenet.convert.ir_store import write_ir

    entry, options = job.entry, job.options
    check_quantizable(entry, options, precision)
    assert options.calibration is not None  # checked just above
    source = job.model if float_model is None else float_model
    options = resolve_scope(source, options, entry.name, job.log)
    job = replace(job, options=options)  # the scope as this graph names it
    assert options.calibration is not None
    files, record = select_calibration(options.calibration, options.subset_size, job.log)
    job.log(f"calibrating {entry.name} on {record.used} images of {record.folder}")
    quantized, validated_on = _quantize(job, source.clone(), files, record)
    job.label_ir(quantized, precision)
    _attach(quantized, record, options, validated_on)
    xml = write_ir(quantized, job.settings.out_dir, entry.name, precision, compress_to_fp16=compress_to_fp16(precision))
    _write_sidecar(xml, record)
    return xml


def calibration_of(xml: Path) -> Optional[CalibrationRecord]:
    """The record from the sidecar, or from the IR's rt_info if the sidecar is gone."""
    from omz_mobilenet.convert.calibration import read_record

    record = read_record(xml)
    if record is not None:
        return record
    import openvino as ov

    model = ov.Core().read_model(str(xml))
    if not model.has_rt_info([RT_KEY, "calibration_sha256"]):
        return None

    def text(key: str) -> str:
        return str(model.get_rt_info([RT_KEY, key]).astype(str))

    hashes, names = text("calibration_sha256").split("\n"), text("calibration_names").split("\n")
    return CalibrationRecord(
        folder=text("calibration_folder"),
        requested=len(hashes),
        used=len(hashes),
        available=len(hashes),
        sha256=hashes,
        names=names,
    )
