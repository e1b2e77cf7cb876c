"""Rewrite ONNX QOperator int8 ops (QLinearConv, com.microsoft QLinearAdd, ...) into QDQ form.

OpenVINO's ONNX frontend cannot read most QOperator ops, but it reads the equivalent QDQ form
(DequantizeLinear -> float op -> QuantizeLinear) and turns it into FakeQuantize-based int8 that
the CPU plugin runs with int8 kernels. Each QOperator node becomes:

    DequantizeLinear(inputs) -> float op (same attributes) -> QuantizeLinear(output scale, zp)

The QuantizeLinear output keeps the original output name, so the rest of the graph is untouched.
Everything happens on an in-memory `onnx.ModelProto`; needs the `onnx` package.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter

MS = "com.microsoft"
# Per-axis DequantizeLinear (per-channel weights) needs opset 13.
QDQ_OPSET = 13
OTHER_QOPERATOR_OPS = ("QGemm", "QAttention", "QEmbedLayerNormalization", "QOrderedMatMul")


class UnsupportedOp(Exception):
    """A QOperator op this module has no rewrite for; `op` names it."""

    def __init__(self, op: str) -> None:
        super().__init__(f"no QDQ rewrite for QOperator op {op}")
        self.op = op


def is_qoperator(node: onnx.NodeProto) -> bool:
    return node.op_type.startswith("QLinear") or node.op_type in OTHER_QOPERATOR_OPS


def qoperator_ops(model: onnx.ModelProto) -> list[str]:
    """Sorted op types of the QOperator nodes in the main graph."""
    return sorted({node.op_type for node in model.graph.node if is_qoperator(node)})


class _Rewriter:
    """The new node list being built, fresh tensor names and the constants of the graph."""

    def __init__(self, graph: onnx.GraphProto) -> None:
        self.graph = graph
        self.nodes: list[onnx.NodeProto] = []
        self.constants = {t.name: t for t in graph.initializer}
        self.used = {name for node in graph.node for name in (*node.input, *node.output)}
        self.used |= set(self.constants) | {v.name for v in (*graph.input, *graph.output, *graph.value_info)}
        # One DequantizeLinear per (tensor, scale, zp, axis): a residual tensor feeds two ops.
        self.dq_cache: dict[tuple[str, str, str, int | None], str] = {}
        self.opset = QDQ_OPSET

    def fresh(self, base: str) -> str:
        name, n = base, 0
        while name in self.used:
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        return name

    def add(self, op: str, inputs: list[str], base: str, domain: str = "", **attrs: Any) -> str:
        out = self.fresh(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=self.fresh(f"{base}_{op}"), domain=domain, **attrs))
        return out

    def constant(self, name: str) -> np.ndarray | None:
        tensor = self.constants.get(name)
        return None if tensor is None else numpy_helper.to_array(tensor)

    def dq(self, x: str, scale: str, zp: str, axis: int | None = None) -> str:
        """DequantizeLinear(x); `axis` matters only for a 1-D (per-channel) scale."""
        key = (x, scale, zp, axis)
        if key not in self.dq_cache:
            attrs: dict[str, Any] = {} if axis is None else {"axis": axis}
            self.dq_cache[key] = self.add("DequantizeLinear", _inputs(x, scale, zp), f"{x}_dq", **attrs)
        return self.dq_cache[key]

    def q(self, x: str, scale: str, zp: str, out: str, axis: int | None = None) -> None:
        """QuantizeLinear(x) written to the original output name `out`."""
        attrs: dict[str, Any] = {} if axis is None else {"axis": axis}
        self.nodes.append(
            helper.make_node("QuantizeLinear", _inputs(x, scale, zp), [out], name=self.fresh(f"{out}_q"), **attrs)
        )


def _inputs(x: str, scale: str, zp: str) -> list[str]:
    # An omitted zero point ("" or missing) means 0 of type uint8, as for QuantizeLinear itself.
    return [x, scale, zp] if zp else [x, scale]


def _arg(node: onnx.NodeProto, i: int) -> str:
    return node.input[i] if i < len(node.input) else ""


def _attrs(node: onnx.NodeProto, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name not in drop}


def _conv(rw: _Rewriter, node: onnx.NodeProto) -> None:
    """QLinearConv(x, xs, xzp, w, ws, wzp, ys, yzp[, B]) = Q(Conv(DQ(x), DQ(w)) + B*xs*ws)."""
    x, xs, xzp, w, ws, wzp, ys, yzp = (_arg(node, i) for i in range(8))
    inputs = [rw.dq(x, xs, xzp), rw.dq(w, ws, wzp, axis=0)]  # per-output-channel weight scales
    if _arg(node, 8):
        inputs.append(_conv_bias(rw, _arg(node, 8), xs, ws))
    y = rw.add("Conv", inputs, f"{node.output[0]}_float", **_attrs(node))
    rw.q(y, ys, yzp, node.output[0])


def _conv_bias(rw: _Rewriter, bias: str, xs: str, ws: str) -> str:
    """The int32 bias is in units of xs*ws (per output channel); ONNX adds it before requantizing."""
    b, x_scale, w_scale = rw.constant(bias), rw.constant(xs), rw.constant(ws)
    if b is None or x_scale is None or w_scale is None:
        # Scales computed at run time: let the graph do the multiplication.
        scale = rw.add("Mul", [xs, ws], f"{bias}_scale")
        return rw.add("DequantizeLinear", [bias, scale], f"{bias}_float", axis=0)
    name = rw.fresh(f"{bias}_float")
    value = (b.astype(np.float32) * (x_scale.astype(np.float32) * w_scale.astype(np.float32))).astype(np.float32)
    rw.graph.initializer.append(numpy_helper.from_array(value, name))
    return name


def _matmul(rw: _Rewriter, node: onnx.NodeProto) -> None:
    """QLinearMatMul(a, as, azp, b, bs, bzp, ys, yzp) = Q(MatMul(DQ(a), DQ(b)))."""
    a, a_s, azp, b, bs, bzp, ys, yzp = (_arg(node, i) for i in range(8))
    # Spec: a 1-D a_scale is per row of a, a 1-D b_scale / y_scale per column (last axis).
    y = rw.add(
        "MatMul",
        [rw.dq(a, a_s, azp, axis=_axis(rw, a, -2)), rw.dq(b, bs, bzp, axis=_axis(rw, b, -1))],
        f"{node.output[0]}_float",
    )
    rw.q(y, ys, yzp, node.output[0], axis=-1 if _is_vector(rw, ys) else None)


def _axis(rw: _Rewriter, tensor: str, from_back: int) -> int:
    """A non-negative axis when the rank is known (constants), else the negative one ONNX allows."""
    value = rw.constant(tensor)
    return from_back if value is None else value.ndim + from_back


def _is_vector(rw: _Rewriter, name: str) -> bool:
    value = rw.constant(name)
    return value is not None and value.size > 1


def _binary(float_op: str) -> Callable[[_Rewriter, onnx.NodeProto], None]:
    """com.microsoft QLinearAdd / QLinearMul(A, As, Azp, B, Bs, Bzp, Cs, Czp) = Q(DQ(A) op DQ(B))."""

    def rewrite(rw: _Rewriter, node: onnx.NodeProto) -> None:
        a, a_s, azp, b, bs, bzp, cs, czp = (_arg(node, i) for i in range(8))
        y = rw.add(float_op, [rw.dq(a, a_s, azp), rw.dq(b, bs, bzp)], f"{node.output[0]}_float")
        rw.q(y, cs, czp, node.output[0])

    return rewrite


def _unary(float_op: str) -> Callable[[_Rewriter, onnx.NodeProto], None]:
    """com.microsoft QLinearSigmoid / QLinearLeakyRelu(X, Xs, Xzp, Ys, Yzp) = Q(op(DQ(X))), attributes kept (alpha)."""

    def rewrite(rw: _Rewriter, node: onnx.NodeProto) -> None:
        x, xs, xzp, ys, yzp = (_arg(node, i) for i in range(5))
        y = rw.add(float_op, [rw.dq(x, xs, xzp)], f"{node.output[0]}_float", **_attrs(node))
        rw.q(y, ys, yzp, node.output[0])

    return rewrite


def _global_average_pool(rw: _Rewriter, node: onnx.NodeProto) -> None:
    """com.microsoft QLinearGlobalAveragePool(X, Xs, Xzp, Ys, Yzp); channels_last=1 means NHWC in and out."""
    x, xs, xzp, ys, yzp = (_arg(node, i) for i in range(5))
    dq = rw.dq(x, xs, xzp)
    if _attrs(node).get("channels_last", 0):
        # GlobalAveragePool is NCHW-only; averaging over H and W of a 4-D NHWC image is ReduceMean(1, 2).
        y = _reduce_mean(rw, dq, [1, 2], f"{node.output[0]}_float")
    else:
        y = rw.add("GlobalAveragePool", [dq], f"{node.output[0]}_float")
    rw.q(y, ys, yzp, node.output[0])


def _reduce_mean(rw: _Rewriter, x: str, axes: list[int], base: str) -> str:
    if rw.opset < 18:
        return rw.add("ReduceMean", [x], base, axes=axes, keepdims=1)
    # From opset 18 the axes are an input, not an attribute.
    name = rw.fresh(f"{base}_axes")
    rw.graph.initializer.append(numpy_helper.from_array(np.array(axes, np.int64), name))
    return rw.add("ReduceMean", [x, name], base, keepdims=1)


def _concat(rw: _Rewriter, node: onnx.NodeProto) -> None:
    """com.microsoft QLinearConcat(Ys, Yzp, X1, X1s, X1zp, X2, ...) = Q(Concat(DQ(X1), DQ(X2), ...))."""
    ys, yzp, rest = node.input[0], node.input[1], list(node.input[2:])
    parts = [rw.dq(rest[i], rest[i + 1], rest[i + 2]) for i in range(0, len(rest), 3)]
    y = rw.add("Concat", parts, f"{node.output[0]}_float", **_attrs(node))
    rw.q(y, ys, yzp, node.output[0])


# (domain, op_type) -> rewrite. "" is the default ONNX domain.
REWRITES: dict[tuple[str, str], Callable[[_Rewriter, onnx.NodeProto], None]] = {
    ("", "QLinearConv"): _conv,
    ("", "QLinearMatMul"): _matmul,
    (MS, "QLinearAdd"): _binary("Add"),
    (MS, "QLinearMul"): _binary("Mul"),
    (MS, "QLinearSigmoid"): _unary("Sigmoid"),
    (MS, "QLinearLeakyRelu"): _unary("LeakyRelu"),
    (MS, "QLinearGlobalAveragePool"): _global_average_pool,
    (MS, "QLinearConcat"): _concat,
}


def _upgrade_opset(model: onnx.ModelProto) -> onnx.ModelProto:
    """Default-domain opset >= 13, converting ops whose signature changed (Unsqueeze axes, Split, ...)."""
    if _default_opset(model) >= QDQ_OPSET:
        return model
    # The converter adapts only default-domain nodes and passes com.microsoft ones through.
    return version_converter.convert_version(model, QDQ_OPSET)


def _default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)


def to_qdq(model: onnx.ModelProto) -> onnx.ModelProto:
    """A QDQ copy of `model`; raises UnsupportedOp for a QOperator op without a rewrite."""
    unsupported = [n for n in model.graph.node if is_qoperator(n) and _key(n) not in REWRITES]
    if unsupported:
        raise UnsupportedOp(_display(unsupported[0]))
    result = _upgrade_opset(model)
    if result is model:
        result = onnx.ModelProto()
        result.CopyFrom(model)
    rw = _Rewriter(result.graph)
    rw.opset = _default_opset(result)
    for node in result.graph.node:
        if is_qoperator(node):
            REWRITES[_key(node)](rw, node)
        else:
            rw.nodes.append(node)
    del result.graph.node[:]
    result.graph.node.extend(rw.nodes)
    _drop_unused_initializers(result.graph)
    return result


def _drop_unused_initializers(graph: onnx.GraphProto) -> None:
    # The int32 biases were replaced by float copies; unused initializers only make runtimes warn.
    used = _names_read(graph) | {o.name for o in graph.output}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def _key(node: onnx.NodeProto) -> tuple[str, str]:
    return ("" if node.domain in ("", "ai.onnx") else node.domain, node.op_type)


def _display(node: onnx.NodeProto) -> str:
    domain, op = _key(node)
    return f"{domain}.{op}" if domain else op


def _names_read(graph: onnx.GraphProto) -> set[str]:
    """Every tensor name a node reads, including nodes of subgraphs (If/Loop bodies see outer names)."""
    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            for sub in (*attr.graphs, *([attr.g] if attr.HasField("g") else [])):
                names |= _names_read(sub)
    return names
