"""GFlops and MParams of an OpenVINO model, counted from its graph (OpenVINO has no FLOP counter).

MACs: Convolution/GroupConvolution = output pixels x weight elements; MatMul = output elements x K.
FLOPs = 2 x MACs + one op per output element of Add and Clamp (this reproduces Open Model Zoo's
published GFlops). Parameters: elements of the float weight constants feeding compute ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from openvino import Model, Node

WEIGHTED_OPS = {"Convolution", "GroupConvolution", "MatMul"}
ELEMENTWISE_OPS = {"Add", "Clamp"}


@dataclass(frozen=True)
class GraphCost:
    macs: int
    flops: int
    params: int

    @property
    def gflops(self) -> float:
        return self.flops / 1e9

    @property
    def mparams(self) -> float:
        return self.params / 1e6


def _static(shape: Any) -> list[int]:
    return [int(d) for d in shape]


def _conv_macs(node: Node) -> int:
    out = _static(node.get_output_partial_shape(0).to_shape())
    weights = _static(node.input(1).get_partial_shape().to_shape())
    return prod(out[0:1] + out[2:]) * prod(weights)


def _matmul_macs(node: Node) -> int:
    out = _static(node.get_output_partial_shape(0).to_shape())
    a = _static(node.input(0).get_partial_shape().to_shape())
    k = a[-2] if node.get_attributes().get("transpose_a") else a[-1]
    return prod(out) * k


def _weight_source(node: Node) -> Optional[Node]:
    """Follow Convert/FakeQuantize/dequantization chains back to the stored constant, if any."""
    for _ in range(6):
        if node.get_type_name() == "Constant":
            return node
        if node.get_type_name() not in {"Convert", "FakeQuantize", "Multiply", "Subtract", "Reshape"}:
            return None
        node = node.input_value(0).get_node()
    return None


def _params(model: Model) -> int:
    total = 0
    seen: set[str] = set()
    for node in model.get_ops():
        if node.get_type_name() not in WEIGHTED_OPS | {"Add"}:
            continue
        for port in node.inputs()[1:2]:
            const = _weight_source(port.get_source_output().get_node())
            if const is not None and const.get_friendly_name() not in seen:
                seen.add(const.get_friendly_name())
                total += prod(_static(const.get_output_partial_shape(0).to_shape()))
    return total


def count_cost(model: Model) -> GraphCost:
    macs = 0
    extra = 0
    for node in model.get_ops():
        kind = node.get_type_name()
        if kind in {"Convolution", "GroupConvolution"}:
            macs += _conv_macs(node)
        elif kind == "MatMul":
            macs += _matmul_macs(node)
        elif kind in ELEMENTWISE_OPS and node.get_output_partial_shape(0).is_static:
            extra += prod(_static(node.get_output_partial_shape(0).to_shape()))
    return GraphCost(macs=macs, flops=2 * macs + extra, params=_params(model))
