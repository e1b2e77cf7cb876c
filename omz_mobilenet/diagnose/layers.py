"""Layers ranked worst first.

A layer is what a user can keep in float and what the CPU plugin runs as one kernel: a convolution-like
operation (`SCOPE_TYPES`) with the chain of operations after it that only it feeds (bias Add, Clamp:
NNCF's bias correction moves the bias, so the convolution alone would look better than it is). Any other
compared operation (input conversion, pooling head, Softmax) is a layer of its own.

A layer's SQNR (at its last operation) measures everything upstream too, since errors add up down the
network, so the ranking uses the noise the layer itself adds: its output's noise-to-signal ratio minus the
worst of its inputs' (`local_sqnr_db` is that added noise in dB). A layer whose quantization is broken adds
about as much noise as signal; the layers after it add little more. A FakeQuantize in front of a
convolution counts against the convolution (that is where its rounding is first seen).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

from omz_mobilenet.diagnose.compare import SQNR_CAP, Agreement
from omz_mobilenet.diagnose.counters import Kernel, reorders_before
from omz_mobilenet.diagnose.graphs import LayerMatch

# the layer types NNCF quantizes and an ignored scope can keep in float
SCOPE_TYPES = ("Convolution", "GroupConvolution", "MatMul", "ConvolutionBackpropData")
FOLLOWERS = ("Add", "Multiply", "Subtract", "Clamp", "Relu", "PRelu", "Swish", "HSwish", "Sigmoid", "Transpose")


@dataclass
class LayerRow:
    rank: int
    layer: str
    type: str
    sqnr_db: float
    local_sqnr_db: float
    cosine: float
    low_kernel: str
    low_precision: str
    low_us: Optional[float]
    float_kernel: str
    float_us: Optional[float]
    reorders_us: float
    ops: str  # the compared operations of the layer, first to last
    inputs: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _db(ratio: float) -> float:
    if ratio <= 0:
        return SQNR_CAP
    return min(SQNR_CAP, -10 * math.log10(ratio)) if math.isfinite(ratio) else -SQNR_CAP


def blocks(match: LayerMatch) -> dict[str, list[str]]:
    """{head: [head, followers...]}: each convolution-like op with the single-consumer chain after it."""
    grouped: dict[str, list[str]] = {}
    taken: set[str] = set()
    for name in match.names:
        if name in taken:
            continue
        chain = [name]
        if match.types[name] in SCOPE_TYPES:
            while len(match.consumers.get(chain[-1], [])) == 1:
                nxt = match.consumers[chain[-1]][0]
                if match.types[nxt] not in FOLLOWERS or len(match.inputs.get(nxt, [])) != 1:
                    break
                chain.append(nxt)
        taken.update(chain)
        grouped[name] = chain
    return grouped


def _kernel(kernels: dict[str, Kernel], name: str) -> tuple[str, str, Optional[float]]:
    kernel = kernels.get(name)
    if kernel is None:
        return "fused", "", None  # folded into a neighbour's kernel by the plugin
    return kernel.exec_type, kernel.precision, round(kernel.mean_us, 1)


def _row(match: LayerMatch, stats: dict[str, Agreement], chain: list[str], kernels: tuple[dict, dict]) -> LayerRow:
    head, last = chain[0], chain[-1]
    before = max((stats[source].noise_ratio for source in match.inputs.get(head, [])), default=0.0)
    low_kernel, low_precision, low_us = _kernel(kernels[1], head)
    float_kernel, _precision, float_us = _kernel(kernels[0], head)
    return LayerRow(
        rank=0,
        layer=head,
        type=match.types[head],
        sqnr_db=round(stats[last].sqnr_db, 2),
        local_sqnr_db=round(_db(max(stats[last].noise_ratio - before, 0.0)), 2),
        cosine=round(stats[last].cosine, 6),
        low_kernel=low_kernel,
        low_precision=low_precision,
        low_us=low_us,
        float_kernel=float_kernel,
        float_us=float_us,
        reorders_us=round(sum(k.mean_us for k in reorders_before(kernels[1], head)), 1),
        ops="+".join(match.types[name] for name in chain),
        inputs=",".join(match.inputs.get(head, [])),
    )


def ranked_rows(
    match: LayerMatch, stats: dict[str, Agreement], kernels: tuple[dict[str, Kernel], dict[str, Kernel]]
) -> list[LayerRow]:
    """Every layer, worst (lowest local SQNR, then lowest SQNR) first."""
    rows = [_row(match, stats, chain, kernels) for chain in blocks(match).values()]
    rows.sort(key=lambda row: (row.local_sqnr_db, row.sqnr_db))
    for rank, row in enumerate(rows, 1):
        row.rank = rank
    return rows


def op_rows(match: LayerMatch, stats: dict[str, Agreement]) -> list[dict[str, Any]]:
    """Every compared operation in graph order (the JSON's `ops`), with the layer it belongs to."""
    owner = {name: head for head, chain in blocks(match).items() for name in chain}
    return [
        {
            "op": name,
            "type": match.types[name],
            "layer": owner[name],
            "sqnr_db": round(stats[name].sqnr_db, 2),
            "cosine": round(stats[name].cosine, 6),
        }
        for name in match.names
    ]


def scope_candidates(rows: list[LayerRow]) -> list[str]:
    """The layers an ignored scope can hold, worst first."""
    return [row.layer for row in rows if row.type in SCOPE_TYPES]
