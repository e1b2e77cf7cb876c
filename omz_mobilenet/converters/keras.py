"""Keras model files (`.keras`, `.h5`): loaded with TensorFlow's Keras, converted from the in-memory model.

`openvino.convert_model` cannot read a `.keras` file itself (FACTS 3), but it converts a loaded
`keras.Model`. The IR's tensor names it gives are Keras' internal ones (`keras_tensor_478`, a per-process
counter), so the catalogue names the input by its input layer (`model.inputs[0].name`) and the output by
its output layer (`model.output_names`), and read() puts those names on the converted model's tensors.
Keras is imported inside functions: it is the `tf` extra.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.converters.common import OriginalRuntime, first_line, set_input_shape
from omz_mobilenet.errors import ToolError

if TYPE_CHECKING:
    from openvino import Model

SUFFIXES = (".keras", ".h5", ".hdf5")
_INSTALL_HINT = "install the `tf` extra: pip install omz-mobilenet[tf]"


def load_keras(path: Path) -> Any:
    """The Keras model in `path` (without its training configuration), or a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise ToolError(f"{path}: Keras model file is missing; check the path or run `omz-mobilenet download`", 2)
    if path.suffix.lower() not in SUFFIXES:
        raise ToolError(f"{path}: a Keras model file ends in {', '.join(SUFFIXES)}", 2)
    try:
        import tensorflow as tf
    except ImportError:
        raise ToolError(f"TensorFlow's Keras is needed to read {path}; {_INSTALL_HINT}") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return tf.keras.models.load_model(str(path), compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, TypeError, h5py errors...
        if "safe_mode" in str(exc):  # a Lambda layer: loading it would run code from the file
            raise ToolError(
                f"{path}: Keras does not load a Lambda layer's Python code from a file (it could run anything); "
                "replace the Lambda with a Rescaling or Normalization layer and save again, or export a SavedModel",
                2,
            ) from None
        raise ToolError(
            f"{path}: Keras cannot load this model ({first_line(exc)}); save it again with model.save()", 2
        ) from None


def output_names(model: Any) -> list[str]:
    """The model's output names as the catalogue writes them: its output layers' names."""
    names = getattr(model, "output_names", None)
    if names:
        return [str(n) for n in names]
    return [str(t.name) for t in model.outputs]


def output_index(model: Any, name: str, path: Path) -> int:
    names = output_names(model)
    if name in names:
        return names.index(name)
    raise ToolError(f"{path}: output {name!r} not found (outputs: {', '.join(names)}); check the catalogue entry", 2)


def read(entry: ModelEntry, path: Path) -> Model:
    import openvino as ov

    keras_model = load_keras(path)
    index = output_index(keras_model, entry.output.name, path)
    try:
        with warnings.catch_warnings():  # Keras warns that the traced input structure is a tuple
            warnings.simplefilter("ignore")
            model = ov.convert_model(keras_model)
    except Exception as exc:
        raise ToolError(f"{path}: OpenVINO cannot convert this Keras model ({first_line(exc)})") from None
    if len(model.outputs) > 1:
        kept = ov.opset13.result(model.outputs[index].get_node().input_value(0))  # the head, not its Result
        model = ov.Model([kept], model.get_parameters(), model.get_friendly_name())
    model.inputs[0].get_tensor().add_names({entry.original_input.name})
    model.outputs[0].get_tensor().add_names({entry.output.name})
    set_input_shape(model, entry)  # Keras inputs have a dynamic batch
    return model


def open_reference(entry: ModelEntry, path: Path, threads: Optional[int]) -> OriginalRuntime:
    import tensorflow as tf

    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError:  # already initialised in this process: keep its setting
            pass
    keras_model = load_keras(path)
    index = output_index(keras_model, entry.output.name, path)
    call = tf.function(lambda batch: keras_model(batch, training=False))

    def run(batch: np.ndarray) -> np.ndarray:
        outputs = call(tf.constant(np.asarray(batch)))
        chosen = outputs[index] if isinstance(outputs, (list, tuple)) else outputs
        return np.asarray(chosen).reshape(len(batch), -1).astype(np.float32)

    return OriginalRuntime("TensorFlow", tf.__version__, run)
