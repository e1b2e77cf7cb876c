"""TensorFlow reference runtime for frozen graphs and SavedModels.

TensorFlow is optional (the `tf` extra), so it is imported only when a runner is created.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from omz_mobilenet.converters.common import OriginalRuntime
from omz_mobilenet.errors import ToolError

_INSTALL_HINT = "install the `tf` extra: pip install omz-mobilenet[tf]"


def _import_tensorflow(model_path: Path) -> ModuleType:
    try:
        import tensorflow as tf
    except ImportError:
        raise ToolError(f"TensorFlow is needed to run {model_path} as a reference; {_INSTALL_HINT}") from None
    module: ModuleType = tf
    return module


def _node_name(name: str) -> str:
    """`input:0` and `input` both name the first output of node `input`."""
    return name[:-2] if name.endswith(":0") else name


class _BatchedRunner:
    """Shared batching: graphs exported with a fixed batch of 1 are run one image at a time."""

    _fixed_batch: int | None = None
    _path: Path

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32)
        if batch.ndim != 4 or not len(batch):
            raise ToolError(f"expected a non-empty NHWC batch with 4 dimensions, got shape {batch.shape}", exit_code=2)
        step = self._fixed_batch or len(batch)
        if len(batch) % step:
            raise ToolError(f"{self._path} needs batches of exactly {step} images, got {len(batch)}", exit_code=2)
        outputs = [self._run(batch[i : i + step]) for i in range(0, len(batch), step)]
        return np.concatenate(outputs).reshape(len(batch), -1).astype(np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class FrozenGraphRunner(_BatchedRunner):
    """Runs a frozen GraphDef (.pb) from `input_name` to `output_name` (node names, `:0` optional)."""

    def __init__(self, pb_path: Path, input_name: str, output_name: str) -> None:
        self._path = Path(pb_path)
        tf = self._tf = _import_tensorflow(self._path)
        from google.protobuf.message import DecodeError  # protobuf comes with TensorFlow

        graph_def = tf.compat.v1.GraphDef()
        try:
            graph_def.ParseFromString(self._path.read_bytes())
        except OSError as exc:
            raise ToolError(f"cannot read {self._path}: {exc.strerror}; check the path") from None
        except DecodeError:
            raise ToolError(
                f"{self._path} is not a TensorFlow frozen graph (GraphDef .pb); re-download or re-extract it"
            ) from None

        def _import() -> None:
            tf.compat.v1.import_graph_def(graph_def, name="")

        try:
            wrapped = tf.compat.v1.wrap_function(_import, [])
        except (ValueError, tf.errors.OpError) as exc:
            raise ToolError(
                f"TensorFlow cannot load {self._path} ({_first_line(exc)}); re-download or re-export it"
            ) from None
        feed = self._tensor(wrapped.graph, input_name)
        fetch = self._tensor(wrapped.graph, output_name)
        self._fn = wrapped.prune(feed, fetch)
        self._fixed_batch = feed.shape[0] if feed.shape.rank else None

    def _tensor(self, graph: Any, name: str) -> Any:
        try:
            return graph.get_tensor_by_name(_node_name(name) + ":0")
        except (KeyError, ValueError):
            raise ToolError(
                f"{self._path} has no node named {_node_name(name)!r}; check the model's input/output names",
                exit_code=2,
            ) from None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        result: np.ndarray = self._fn(self._tf.constant(batch)).numpy()
        return result


class SavedModelRunner(_BatchedRunner):
    """Runs the `serving_default` signature of a SavedModel; names are the signature's keys."""

    def __init__(self, saved_model_dir: Path, input_name: str, output_name: str) -> None:
        self._path = Path(saved_model_dir)
        tf = self._tf = _import_tensorflow(self._path)
        from google.protobuf.message import DecodeError

        try:
            self._loaded = tf.saved_model.load(str(self._path))  # keeps the variables alive
        except (OSError, ValueError, DecodeError, tf.errors.OpError) as exc:
            raise ToolError(
                f"TensorFlow cannot load the SavedModel {self._path} ({_first_line(exc)}); pass a SavedModel directory"
            ) from None
        signature = self._loaded.signatures.get("serving_default")
        if signature is None:
            raise ToolError(f"{self._path} has no `serving_default` signature; re-export it with one", exit_code=2)
        inputs = signature.structured_input_signature[1]
        self._input, self._output = _node_name(input_name), _node_name(output_name)
        if self._input not in inputs:
            raise ToolError(f"{self._path} has no input {self._input!r}; its inputs are {sorted(inputs)}", exit_code=2)
        if self._output not in signature.structured_outputs:
            raise ToolError(
                f"{self._path} has no output {self._output!r}; its outputs are {sorted(signature.structured_outputs)}",
                exit_code=2,
            )
        self._signature = signature
        self._fixed_batch = inputs[self._input].shape[0] if inputs[self._input].shape.rank else None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        result: np.ndarray = self._signature(**{self._input: self._tf.constant(batch)})[self._output].numpy()
        return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def reference(runner: _BatchedRunner) -> OriginalRuntime:
    """A TensorFlow runner as the record every format's reference runner returns."""
    tf = _import_tensorflow(runner._path)
    return OriginalRuntime("TensorFlow", tf.__version__, lambda batch: runner(batch).astype(np.float32))
