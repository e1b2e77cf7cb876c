"""What a model file tells about itself: its format (from the name), its inputs and outputs (name, shape,
element type, TFLite quantization) and, from the converted graph, whether it ends in a softmax and holds
quantized weights. `add` (convert/describe.py) turns this into a catalogue entry.

Each format is read by the tool that knows its names as the catalogue and the reference runner use
them: LiteRT for TFLite (its quantization parameters), ONNX Runtime for ONNX, Keras for Keras files,
and OpenVINO's own reading for TF frozen graphs and SavedModels (the names `convert_model` and
TensorFlow's runners share). Frameworks are imported inside functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from openvino import Model

SUFFIX_FORMATS = {
    ".tflite": "tflite",
    ".onnx": "onnx",
    ".pb": "tf_frozen",
    ".keras": "keras",
    ".h5": "keras",
    ".hdf5": "keras",
}
ELEMENT_TYPES = {"float32": "f32", "uint8": "u8", "int8": "i8", "f32": "f32", "u8": "u8", "i8": "i8"}
# Ops between a softmax and the graph's output that keep its meaning (reshapes, (de)quantization).
PASS_THROUGH = {
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Convert",
    "FakeQuantize",
    "Multiply",
    "Subtract",
    "Identity",
    "Result",
}
SOFTMAX = {"Softmax", "SoftMax"}


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[Optional[int], ...]  # None: a dynamic dimension
    element_type: str  # f32, u8, i8, or the framework's word for a type the catalogue has no name for
    quantization: Optional[tuple[float, int]] = None  # TFLite (scale, zero_point)


@dataclass(frozen=True)
class ModelIO:
    format: str
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]


def detect_format(path: Path) -> str:
    """The catalogue `format` of a model file or folder, from its name (a folder: a TF SavedModel)."""
    if path.is_dir():
        if (path / "saved_model.pb").is_file() or (path / "saved_model.pbtxt").is_file():
            return "tf_savedmodel"
        raise ToolError(f"{path}: a folder is read as a TF SavedModel, but it holds no saved_model.pb", 2)
    if not path.is_file():
        raise ToolError(f"{path}: model file does not exist; name a model file or SavedModel folder", 2)
    fmt = SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(SUFFIX_FORMATS)
        raise ToolError(f"{path}: unknown model file type {path.suffix!r}; add reads {known} and SavedModel folders", 2)
    return fmt


def read_io(path: Path, fmt: str) -> ModelIO:
    """The inputs and outputs of the model file, as the catalogue names them."""
    readers = {"tflite": _tflite, "onnx": _onnx, "keras": _keras, "tf_frozen": _openvino, "tf_savedmodel": _openvino}
    inputs, outputs = readers[fmt](path)
    if not inputs or not outputs:
        raise ToolError(f"{path}: the model has no {'inputs' if not inputs else 'outputs'}", 2)
    return ModelIO(fmt, inputs, outputs)


def _dims(shape: Any) -> tuple[Optional[int], ...]:
    """Dimensions as ints, None where dynamic (None, -1, or a symbolic name such as ONNX's `batch_size`)."""
    dims = [int(dim) if hasattr(dim, "__index__") else None for dim in shape]
    return tuple(None if d is not None and d < 0 else d for d in dims)


def _element(value: object) -> str:
    text = getattr(value, "__name__", None) or str(value)
    text = text.replace("tensor(", "").rstrip(")")
    text = {"float": "float32"}.get(text, text)
    return ELEMENT_TYPES.get(text, text)


def _tflite(path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    try:
        from ai_edge_litert import interpreter as litert
    except ImportError:
        raise ToolError(f"reading {path} needs ai-edge-litert: pip install omz-mobilenet[tflite]") from None
    from omz_mobilenet.converters.native_log import quiet_native_stderr

    try:
        with quiet_native_stderr():
            interp = litert.Interpreter(model_path=str(path))
    except (ValueError, RuntimeError) as exc:
        raise ToolError(f"{path}: LiteRT cannot load this model ({str(exc).splitlines()[0]})", 2) from None

    def info(details: dict[str, Any]) -> TensorInfo:
        scale, zero_point = details.get("quantization", (0.0, 0))
        quant = (float(scale), int(zero_point)) if scale else None
        shape = details.get("shape_signature", details["shape"])
        return TensorInfo(details["name"], _dims(shape), _element(details["dtype"]), quant)

    return [info(d) for d in interp.get_input_details()], [info(d) for d in interp.get_output_details()]


def _onnx(path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    try:
        import onnxruntime as ort
    except ImportError:
        raise ToolError(f"reading {path} needs onnxruntime: pip install omz-mobilenet[onnx]") from None
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception hierarchy
        raise ToolError(f"{path}: ONNX Runtime cannot load this model ({str(exc).splitlines()[0][:200]})", 2) from None

    def info(arg: Any) -> TensorInfo:
        return TensorInfo(arg.name, _dims(arg.shape), _element(arg.type))

    return [info(a) for a in session.get_inputs()], [info(a) for a in session.get_outputs()]


def _keras(path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    from omz_mobilenet.converters.keras import load_keras, output_names

    model = load_keras(path)
    inputs = [TensorInfo(str(t.name), _dims(t.shape), _element(t.dtype)) for t in model.inputs]
    names = output_names(model)
    outputs = [TensorInfo(n, _dims(t.shape), _element(t.dtype)) for n, t in zip(names, model.outputs, strict=True)]
    return inputs, outputs


def _port_name(names: set[str]) -> str:
    """One name of a converted port: TensorFlow's graphs give a node several (`Identity:0`, the softmax,
    the serving name); the shortest that is not an Identity, without `:0`."""
    plain = {n[:-2] if n.endswith(":0") else n for n in names}
    preferred = [n for n in plain if not n.split("/")[-1].startswith("Identity")] or sorted(plain)
    return sorted(preferred, key=lambda n: (len(n), n))[0]


def _openvino(path: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    from omz_mobilenet.converters.common import convert

    model = convert(path, "TensorFlow model")

    def info(port: Any) -> TensorInfo:
        shape = port.get_partial_shape()
        dims = tuple(d.get_length() if d.is_static else None for d in shape)
        return TensorInfo(_port_name(port.get_names()), dims, _element(port.get_element_type().to_dtype().name))

    return [info(p) for p in model.inputs], [info(p) for p in model.outputs]


def ends_in_softmax(model: Model) -> bool:
    """The model's first output is a softmax's (through reshapes and (de)quantization): probabilities."""
    node = model.outputs[0].get_node().input_value(0).get_node()
    for _ in range(12):
        kind = node.get_type_name()
        if kind in SOFTMAX:
            return True
        if kind not in PASS_THROUGH or node.get_input_size() == 0:
            return False
        node = node.input_value(0).get_node()
    return False


def has_quantized_weights(model: Model) -> bool:
    """The graph holds int8 arithmetic: FakeQuantize ops, or integer weight constants (ONNX QDQ, TFLite)."""
    for node in model.get_ops():
        kind = node.get_type_name()
        if kind == "FakeQuantize":
            return True
        # an integer weight tensor (2-D or more); integer scalars and index vectors are no sign of quantization
        if kind == "Constant" and node.get_element_type().get_type_name() in ("i8", "u8") and len(node.shape) >= 2:
            return True
    return False
