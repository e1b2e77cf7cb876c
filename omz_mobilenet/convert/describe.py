"""Describe a model file as a catalogue entry (`omz-mobilenet add`), and write it into a user catalogue.

What the file can tell is read from it (convert/model_io.py): format, input name/shape/element type,
TFLite quantization, output name, class count and quantization, whether the output is a softmax's,
whether the graph is quantized, and GFlops/MParams counted on the converted graph (convert/ir_stats.py,
through the format's own converter, so a file OpenVINO cannot convert is refused here, not at `convert`).
What it cannot tell comes from the request (the `add` flags): labels, normalisation, colour order,
geometry, background. A flag that contradicts what the file tells is refused in one line naming both.
Every check runs before the catalogue file is touched (catalogue/writer.py writes it atomically).
The entry's files (the model and its labels) are convert/add_files.py's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from omz_mobilenet.catalogue import ModelEntry, load_catalogue
from omz_mobilenet.catalogue.loader import complete_entry, default_catalogue_path
from omz_mobilenet.catalogue.writer import write_entry
from omz_mobilenet.convert.add_files import entry_files
from omz_mobilenet.convert.add_request import (
    DEFAULT_COLOR,
    DEFAULT_FAMILY,
    AddRequest,
    Preprocess,
    previous_entry,
    with_previous,
)
from omz_mobilenet.convert.model_io import ModelIO, TensorInfo, detect_format, read_io
from omz_mobilenet.errors import ToolError, UsageError

# --crop without --resize-short: the ImageNet convention (resize the short side to 256, crop 224)
CROP_RATIO = 224 / 256


@dataclass(frozen=True)
class AddOutcome:
    entry: dict[str, Any]
    catalogue: Path
    replaced: bool
    notes: list[str]


def add_model(request: AddRequest) -> AddOutcome:
    """Check the request, describe the file, and write the entry; nothing is written on a refusal."""
    _check_flags(request.preprocess)
    _check_name(request)
    previous = previous_entry(request.catalogue, request.name) if request.force else None
    request, kept = with_previous(request, previous)
    entry, notes = describe(request)
    if kept:
        notes.insert(0, f"kept from the entry it replaces: {', '.join(kept)} (give a flag to change it)")
    replaced = write_entry(request.catalogue, entry, replace=request.force)
    return AddOutcome(entry, request.catalogue, replaced, notes)


# --- checks that need no model file ---


def _check_flags(pre: Preprocess) -> None:
    if pre.resize is not None and (pre.crop is not None or pre.resize_short is not None):
        raise UsageError("--resize N is a plain resize to N x N; drop --crop/--resize-short, or drop --resize")
    if pre.resize_short is not None and pre.crop is not None and pre.resize_short < pre.crop:
        raise UsageError(f"--resize-short {pre.resize_short} is smaller than --crop {pre.crop}; the crop must fit")


def _check_name(request: AddRequest) -> None:
    """An existing name is refused: always in the built-in or another catalogue, without --force in this one."""
    target = request.catalogue.expanduser().resolve()
    if target == default_catalogue_path().expanduser().resolve():
        raise UsageError(
            f"--catalogue {request.catalogue} is the built-in catalogue; add writes a catalogue of your own"
        )
    for entry in load_catalogue().models:
        if entry.name == request.name and entry.catalogue_file and Path(entry.catalogue_file) != target:
            raise UsageError(
                f"model {request.name!r} is already defined in {entry.catalogue_file}; choose another --name"
                " (names are unique across catalogues)"
            )
    if target.is_file() and request.name in load_catalogue(target).names() and not request.force:
        raise UsageError(
            f"model {request.name!r} is already in {request.catalogue}; pass --force to replace it, or choose another --name"
        )


# --- the entry ---


def describe(request: AddRequest) -> tuple[dict[str, Any], list[str]]:
    """The catalogue entry (plain YAML data) for the request's model file, and notes for the user."""
    path = request.file.expanduser()
    fmt = detect_format(path)
    with _bad_file(path):
        io = read_io(path, fmt)
    notes: list[str] = []
    original_input, size = _input(io, request, notes)
    output = _output(io, request)
    files, labels_file = entry_files(request, output, notes)
    entry: dict[str, Any] = {
        "name": request.name,
        "description": request.description or f"{fmt} model added from {path.name}",
        "family": request.family or DEFAULT_FAMILY,
        "format": fmt,
        "files": files,
        "model_file": {"file": files[0]["name"]},
        "labels_file": labels_file,
        "original_input": original_input,
        "output": output,
        "preprocessing": _geometry(request.preprocess, size, path),
    }
    entry.update(_measured(entry, request, path))
    return entry, notes


def _pick_output(tensors: list[TensorInfo], wanted: Optional[str], path: Path) -> TensorInfo:
    names = ", ".join(t.name for t in tensors)
    if wanted is not None:
        for tensor in tensors:
            if tensor.name == wanted:
                return tensor
        raise UsageError(f"--output-name {wanted!r}: {path} has no such output (its outputs: {names})")
    if len(tensors) > 1:
        raise UsageError(f"{path} has {len(tensors)} outputs ({names}); name the classifier's with --output-name")
    return tensors[0]


def _layout(tensor: TensorInfo, pre: Preprocess, fmt: str, path: Path) -> str:
    shape = tensor.shape
    nhwc, nchw = shape[3] in (3, None), shape[1] in (3, None)
    if pre.layout is not None:
        if not (nhwc if pre.layout == "NHWC" else nchw):
            found = "first (NCHW)" if nchw else "last (NHWC)" if nhwc else "on no axis a layout allows"
            raise UsageError(
                f"--layout {pre.layout} contradicts input {tensor.name!r} of {path}: its shape {_shape(shape)} "
                f"has the 3 channels {found}"
            )
        return pre.layout
    if nhwc != nchw:
        return "NHWC" if nhwc else "NCHW"
    if not nhwc:
        raise UsageError(f"input {tensor.name!r} of {path} has shape {_shape(shape)}: no axis of 3 colour channels")
    return "NCHW" if fmt == "onnx" else "NHWC"


def _shape(shape: tuple[Optional[int], ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _input(io: ModelIO, request: AddRequest, notes: list[str]) -> tuple[dict[str, Any], int]:
    path, pre = request.file, request.preprocess
    if len(io.inputs) != 1:
        names = ", ".join(t.name for t in io.inputs)
        raise UsageError(f"{path} has {len(io.inputs)} inputs ({names}); add takes models with one image input")
    tensor = io.inputs[0]
    if len(tensor.shape) != 4:
        raise UsageError(f"input {tensor.name!r} of {path} has shape {_shape(tensor.shape)}; add takes 4-D images")
    layout = _layout(tensor, pre, io.format, path)
    height, width = (tensor.shape[1], tensor.shape[2]) if layout == "NHWC" else (tensor.shape[2], tensor.shape[3])
    size = _size(height, width, pre, tensor, path)
    if tensor.element_type not in ("f32", "u8", "i8"):
        raise UsageError(f"input {tensor.name!r} of {path} is {tensor.element_type}; add takes f32, u8 or i8 inputs")
    shape = [1, size, size, 3] if layout == "NHWC" else [1, 3, size, size]
    spec: dict[str, Any] = {
        "name": tensor.name,
        "shape": shape,
        "layout": layout,
        "color": (pre.color or DEFAULT_COLOR).upper(),
    }
    spec["element_type"] = tensor.element_type
    if pre.mean is not None:
        spec["mean"] = list(pre.mean)
    if pre.scale is not None:
        spec["scale"] = list(pre.scale)
    if tensor.quantization is not None and tensor.element_type != "f32":
        spec["quantization"] = _quantization(tensor)
    if tensor.element_type == "f32" and pre.mean is None and pre.scale is None:
        notes.append(
            f"input {tensor.name!r} takes floats and no --mean/--scale was given: the model gets raw pixels 0..255,"
            " right only if it rescales them itself (Keras' MobileNetV2 without a Rescaling layer needs"
            " --mean 127.5,127.5,127.5 --scale 127.5,127.5,127.5)"
        )
    return spec, size


def _size(height: Optional[int], width: Optional[int], pre: Preprocess, tensor: TensorInfo, path: Path) -> int:
    given = pre.crop or pre.resize
    if height is None or width is None:
        if given is None:
            raise UsageError(
                f"input {tensor.name!r} of {path} has no fixed size ({_shape(tensor.shape)}); pass --crop N or --resize N"
            )
        return given
    if height != width:
        raise UsageError(f"input {tensor.name!r} of {path} is {height}x{width}; the toolkit feeds square images")
    return height


def _quantization(tensor: TensorInfo) -> dict[str, Any]:
    assert tensor.quantization is not None
    scale, zero_point = tensor.quantization
    return {"dtype": tensor.element_type, "scale": scale, "zero_point": zero_point}


def _output(io: ModelIO, request: AddRequest) -> dict[str, Any]:
    tensor = _pick_output(io.outputs, request.output, request.file)
    dims = [d for d in tensor.shape[1:] if d != 1] if tensor.shape else []
    if len(dims) != 1 or dims[0] is None:
        raise UsageError(
            f"output {tensor.name!r} of {request.file} has shape {_shape(tensor.shape)}; add takes one score per class"
        )
    spec: dict[str, Any] = {"name": tensor.name, "classes": dims[0], "background": bool(request.background)}
    spec["kind"] = "logits"  # set from the graph in _measured
    if tensor.quantization is not None and tensor.element_type in ("u8", "i8"):
        spec["quantization"] = _quantization(tensor)
    return spec


def _geometry(pre: Preprocess, size: int, path: Path) -> dict[str, Any]:
    for flag, value in (("--crop", pre.crop), ("--resize", pre.resize)):
        if value is not None and value != size:
            raise UsageError(f"{flag} {value} contradicts the input size of {path}: it takes {size}x{size} images")
    if pre.geometry is not None:  # kept from the entry `add --force` replaces
        return dict(pre.geometry)
    if pre.resize is not None:  # the whole image resized: a central crop of fraction 1
        return {"kind": "central_crop", "central_fraction": 1.0, "interpolation": "bilinear"}
    if pre.crop is not None or pre.resize_short is not None:
        short = pre.resize_short or round(size / CROP_RATIO)
        if short < size:
            raise UsageError(f"--resize-short {short} is smaller than the input size {size} of {path}")
        return {"kind": "resize_short_crop", "resize_short": short, "interpolation": "bilinear"}
    return {"kind": "central_crop", "central_fraction": 0.875, "interpolation": "bilinear"}


# --- measured from the converted graph ---


def _measured(entry: dict[str, Any], request: AddRequest, path: Path) -> dict[str, Any]:
    """GFlops/MParams, the output kind and the source precision, from the graph OpenVINO converts."""
    from omz_mobilenet.convert.ir_stats import count_cost
    from omz_mobilenet.convert.model_io import ends_in_softmax, has_quantized_weights
    from omz_mobilenet.converters import read_original

    draft = _draft(entry, request)
    with _bad_file(path):
        model = read_original(draft, path.resolve())
    cost = count_cost(model)
    entry["output"]["kind"] = "probabilities" if ends_in_softmax(model) else "logits"
    quantized = has_quantized_weights(model) or entry["original_input"]["element_type"] != "f32"
    return {
        "source_precision": "INT8" if quantized else "FP32",
        "gflops": max(float(f"{cost.gflops:.4g}"), 1e-4),
        "mparams": max(float(f"{cost.mparams:.4g}"), 1e-4),
    }


@contextmanager
def _bad_file(path: Path) -> Iterator[None]:
    """A model file its framework or OpenVINO cannot read is bad input to `add` (exit 2), not a failed run."""
    try:
        yield
    except ToolError as exc:
        if str(path.name) not in exc.message:
            raise
        raise ToolError(exc.message, 2) from None


def _draft(entry: dict[str, Any], request: AddRequest) -> ModelEntry:
    """The entry as the loader would complete and check it (GFlops/MParams not measured yet)."""
    done, _ = complete_entry(
        dict(entry, gflops=1.0, mparams=1.0, source_precision="FP32"),
        {},
        None,
        request.catalogue.expanduser().resolve(),
    )
    try:
        return ModelEntry.model_validate(done)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(
            f"model {request.name!r}: {where}: {first['msg']} (from {request.file} and the flags)"
        ) from None
