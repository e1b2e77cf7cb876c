"""Optional tools the tests need: a missing one fails the module with how to install it, never a skip."""

from __future__ import annotations

import importlib
from types import ModuleType

# The extra of omz-mobilenet that brings each optional module (pyproject's optional-dependencies).
EXTRA_OF = {"onnx": "onnx", "onnxruntime": "onnx", "tensorflow": "tf", "ai_edge_litert": "tflite", "ray": "ray"}


def require(module: str) -> ModuleType:
    """Import `module`, or fail (an ImportError pytest reports as a collection error) saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRA_OF.get(module, "test")
        raise ImportError(
            f"{module} is needed by these tests and is not installed ({exc}); "
            f"install it with: pip install 'omz-mobilenet[{extra}]' (or `make setup` for every extra)"
        ) from None
