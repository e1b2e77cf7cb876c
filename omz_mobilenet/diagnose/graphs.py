"""Which layers two IRs of one model share, and where each layer's data comes from.

Matching rule: an operation of the float graph is compared when the lower-precision graph has an operation
with the same friendly name and the same type, and it computes on the image (some input path reaches the
Parameter: weights, their decompression and constant sub-graphs are not layers), and its output is floating
point. NNCF and FP16 compression keep the friendly names of the operations they do not add; what they add
(FakeQuantize, weight Convert/Multiply) has no twin and is listed as unmatched, as is anything either graph
lost (e.g. an operation folded away).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SKIPPED_TYPES = ("Parameter", "Result", "Constant")
FLOAT_TYPES = ("f32", "f16", "bf16", "f64")


def data_ops(model: Any) -> list[Any]:
    """The operations that compute on the image, in topological order."""
    on_data: set[str] = set()
    ordered = []
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind == "Parameter" or any(source.get_node().get_friendly_name() in on_data for source in op.input_values()):
            on_data.add(op.get_friendly_name())
            if kind not in SKIPPED_TYPES:
                ordered.append(op)
    return ordered


def _is_float(op: Any) -> bool:
    return op.get_output_size() >= 1 and op.get_output_element_type(0).get_type_name() in FLOAT_TYPES


@dataclass
class LayerMatch:
    names: list[str]  # compared layers, float graph order
    types: dict[str, str]
    inputs: dict[str, list[str]]  # layer -> the compared layers its data comes from ([] = the image itself)
    consumers: dict[str, list[str]] = field(default_factory=dict)  # layer -> the compared layers it feeds
    float_only: list[str] = field(default_factory=list)
    low_only: dict[str, int] = field(default_factory=dict)  # op type -> count

    def unmatched_summary(self) -> str:
        added = ", ".join(f"{count} {kind}" for kind, count in sorted(self.low_only.items())) or "nothing"
        lost = f"{len(self.float_only)} float-only ({', '.join(self.float_only[:5])})" if self.float_only else "none"
        return f"unmatched: lower-precision only {added}; float only: {lost}"


def match_layers(float_model: Any, low_model: Any) -> LayerMatch:
    low = {op.get_friendly_name(): op.get_type_name() for op in data_ops(low_model)}
    float_ops = data_ops(float_model)
    names, types, float_only = [], {}, []
    for op in float_ops:
        name, kind = op.get_friendly_name(), op.get_type_name()
        if low.get(name) == kind and _is_float(op):
            names.append(name)
            types[name] = kind
        elif name not in low:
            float_only.append(name)
    float_names = {op.get_friendly_name() for op in float_ops}
    low_only = Counter(kind for name, kind in low.items() if name not in float_names)
    inputs = _compared_inputs(float_ops, set(names))
    consumers: dict[str, list[str]] = {name: [] for name in names}
    for name, sources in inputs.items():
        for source in sources:
            consumers[source].append(name)
    return LayerMatch(names, types, inputs, consumers, float_only, dict(low_only))


def _compared_inputs(ops: list[Any], compared: set[str]) -> dict[str, list[str]]:
    """For each layer, the nearest compared layers upstream, walking through operations that are not compared."""
    upstream: dict[str, list[str]] = {}
    for op in ops:
        sources: list[str] = []
        for value in op.input_values():
            node = value.get_node()
            name = node.get_friendly_name()
            if name in compared:
                sources.append(name)
            else:
                sources += upstream.get(name, [])
        upstream[op.get_friendly_name()] = list(dict.fromkeys(sources))
    return {name: upstream[name] for name in upstream if name in compared}


def with_layer_outputs(model: Any, names: list[str]) -> tuple[Any, dict[str, int]]:
    """A clone of `model` that also returns each named layer's output 0, and {layer: output index}.
    Indices are read back from the clone's Results (add_outputs does not add one for an output that is one)."""
    clone = model.clone()
    by_name = {op.get_friendly_name(): op for op in clone.get_ops()}
    clone.add_outputs([by_name[name].output(0) for name in names])
    index: dict[str, int] = {}
    for i, output in enumerate(clone.outputs):
        source = output.get_node().input_value(0)
        if source.get_index() == 0:
            index.setdefault(source.get_node().get_friendly_name(), i)
    missing = [name for name in names if name not in index]
    if missing:
        raise RuntimeError(f"add_outputs gave no output for {missing[:3]}")
    return clone, index
