"""Compiling IRs on a device, with device checks that fail in one line instead of a C++ trace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Optional

from omz_mobilenet.converters.common import first_line
from omz_mobilenet.errors import ToolError
from omz_mobilenet.precision import DEFAULT_INFER_PRECISION, INFER_PRECISIONS

if TYPE_CHECKING:  # openvino itself loads inside the functions: `list` must not pay for it
    from openvino import CompiledModel, Core, Model

VIRTUAL_PREFIXES = ("AUTO", "HETERO", "MULTI", "BATCH")
PERFORMANCE_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}


def new_core() -> Core:
    import openvino as ov

    return ov.Core()


def device_names(core: Core) -> list[str]:
    return list(core.available_devices)


def full_device_name(core: Core, device: str) -> str:
    """The device's marketing name ("AMD EPYC", "Intel(R) Arc(TM) ..."), or the name itself."""
    try:
        return str(core.get_property(device, "FULL_DEVICE_NAME"))
    except Exception:  # virtual devices (AUTO, HETERO) have no full name of their own
        return device


def device_rows(core: Core) -> list[dict[str, Any]]:
    """One row per physical device this machine has, for `omz-mobilenet devices`."""
    rows = []
    for device in device_names(core):
        try:
            capabilities = ", ".join(str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES"))
        except Exception:
            capabilities = ""
        rows.append({"device": device, "full_name": full_device_name(core, device), "capabilities": capabilities})
    return rows


def _available_text(core: Core, available: list[str]) -> str:
    named = [f"{d} ({full_device_name(core, d)})" for d in available]
    return ", ".join(named) or "none"


def check_device(core: Core, device: str) -> None:
    """Fail early for a physical device this machine does not have (GPU/NPU compile would crash)."""
    available = device_names(core)
    base = device.split(":", 1)[0].split(".", 1)[0]
    if base in VIRTUAL_PREFIXES:
        targets = device.split(":", 1)[1].split(",") if ":" in device else []
        for target in targets:
            # AUTO:-CPU excludes a device and BATCH:CPU(4) sets a batch size; the device must still exist.
            check_device(core, re.sub(r"\(\d+\)$", "", target.lstrip("-")))
        return
    if device not in available and base not in available:
        raise ToolError(
            f"device {device!r} is not available here; available: {_available_text(core, available)}"
            f" (or AUTO, HETERO:<devices>); see `omz-mobilenet devices`",
            2,
        )


def precision_config(device: str, infer_precision: Optional[str]) -> dict[str, Any]:
    if infer_precision is None:
        return {}
    if infer_precision not in INFER_PRECISIONS:
        raise ToolError(
            f"unknown inference precision {infer_precision!r}; choose from {', '.join(INFER_PRECISIONS)}", 2
        )
    return {"INFERENCE_PRECISION_HINT": infer_precision}


def _looks_like_ir(xml: Path) -> bool:
    """A well-formed XML document whose root is <net>. Checked first because, on a broken .xml,
    read_model falls through to the TensorFlow frontend, which prints C++ parse errors to stderr."""
    import xml.etree.ElementTree as ET

    try:
        return ET.parse(str(xml)).getroot().tag == "net"  # an IR .xml is a few hundred KB: milliseconds
    except (ET.ParseError, OSError):
        return False


def read_ir(core: Core, xml: Path) -> Model:
    if not Path(xml).is_file() or not Path(xml).with_suffix(".bin").is_file():
        raise ToolError(f"IR {xml} (or its .bin) is missing; run `omz-mobilenet convert` first", 2)
    if not _looks_like_ir(Path(xml)):
        raise ToolError(f"IR {xml} is not an OpenVINO IR (corrupt or truncated .xml); delete it and convert again")
    try:
        # Resolve the precision symlink once, so .xml and .bin come from the same run even if a
        # `convert` swaps the folder meanwhile.
        return core.read_model(str(Path(xml).resolve()))
    except Exception as exc:
        raise ToolError(f"IR {xml} cannot be read ({first_line(exc)}); delete it and convert again") from None


def load_model(core: Core, xml: Path, batch: int = 1, label: Optional[str] = None) -> Model:
    """Read the IR; reshape its input to `batch` so one request carries N images. The one reshape
    helper: bench, accuracy, verify and sweep all read IRs through it."""
    model = read_ir(core, xml)
    if batch == 1:
        return model
    try:
        _reshape_batch(model, batch)
    except Exception:
        # TFLite graphs end in Reshape(x, [1, 1001]); free that 1 and try once more.
        if not _free_batch_in_reshapes(model):
            _reshape_error(xml, batch, label)
        try:
            _reshape_batch(model, batch)
        except Exception:
            _reshape_error(xml, batch, label)
    return model


def _reshape_batch(model: Model, batch: int) -> None:
    shape = list(model.input(0).get_partial_shape().to_shape())
    shape[0] = batch
    model.reshape({model.input(0).get_any_name(): shape})


def _free_batch_in_reshapes(model: Model) -> int:
    """Replace constant Reshape targets [1, ...] by [-1, ...]; returns how many were changed.
    Only targets without a -1 already (two -1 are invalid) and of rank >= 2 are touched."""
    import numpy as np
    import openvino.opset13 as ops

    changed = 0
    for op in model.get_ops():
        if op.get_type_name() != "Reshape" or op.input_value(1).get_node().get_type_name() != "Constant":
            continue
        target = op.input_value(1).get_node().get_data()
        if target.ndim == 1 and target.size >= 2 and target[0] == 1 and -1 not in target:
            freed = np.concatenate([[-1], target[1:]]).astype(target.dtype)
            op.input(1).replace_source_output(ops.constant(freed).output(0))
            changed += 1
    return changed


def _reshape_error(xml: Path, batch: int, label: Optional[str]) -> NoReturn:
    what = f"{label}: " if label else ""
    raise ToolError(
        f"{what}IR {xml} cannot be reshaped to batch {batch} (its graph fixes the batch size); use --batch 1", 2
    )


def compile_model(
    core: Core, model: Model, device: str, config: dict[str, Any], label: str = "the model"
) -> CompiledModel:
    """Compile an in-memory model (e.g. reshaped to a batch) with one-line errors."""
    check_device(core, device)
    try:
        return core.compile_model(model, device, config)
    except Exception as exc:
        raise ToolError(f"cannot compile {label} on {device} with {config}: {first_line(exc)}", 2) from None


def compile_ir(
    core: Core,
    xml: Path,
    device: str = "CPU",
    infer_precision: Optional[str] = DEFAULT_INFER_PRECISION,
    extra: Optional[dict[str, Any]] = None,
    batch: int = 1,
) -> CompiledModel:
    """Compile with an explicit precision hint: FP32 results must say f32, not the CPU's bf16 default.
    Messages name the model by the IR's file name (`<model>.xml`, as convert writes it)."""
    check_device(core, device)
    label = Path(xml).stem
    model = load_model(core, xml, batch, label)
    config = {**precision_config(device, infer_precision), **(extra or {})}
    return compile_model(core, model, device, config, f"{label} ({xml})")


def compiled_property(compiled: CompiledModel, key: str) -> Optional[Any]:
    """A property read back from the compiled model, or None when the device does not report it
    (AUTO and HETERO hide most of their target's properties)."""
    try:
        value = compiled.get_property(key)
    except Exception:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return value


def type_name(value: Any) -> Optional[str]:
    """OpenVINO element types read back as `<Type: 'float32'>`; users pass f32/bf16/f16."""
    if value is None:
        return None
    import openvino as ov

    if isinstance(value, ov.Type):
        return str(value.get_type_name())
    return str(value)
