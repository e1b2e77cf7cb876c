"""Both IRs on the same images: every compared layer's SQNR and cosine, and the output's.

Statistics are summed over every element of every image, so one image at a time is enough in memory
(both graphs' layer outputs for one image). SQNR = 10 log10(sum ref^2 / sum (ref - low)^2), capped at
`SQNR_CAP` when the outputs are equal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from omz_mobilenet.diagnose.graphs import LayerMatch, with_layer_outputs

SQNR_CAP = 120.0


@dataclass
class Agreement:
    """Sums that give SQNR and cosine between a reference tensor and its lower-precision twin."""

    signal: float = 0.0
    noise: float = 0.0
    dot: float = 0.0
    low_power: float = 0.0

    def add(self, ref: np.ndarray, low: np.ndarray) -> None:
        ref64, low64 = ref.astype(np.float64).ravel(), low.astype(np.float64).ravel()
        self.signal += float(ref64 @ ref64)
        self.noise += float(((ref64 - low64) ** 2).sum())
        self.dot += float(ref64 @ low64)
        self.low_power += float(low64 @ low64)

    @property
    def noise_ratio(self) -> float:
        """Noise power over signal power (0 = identical)."""
        if self.noise == 0:
            return 0.0
        return self.noise / self.signal if self.signal > 0 else math.inf

    @property
    def sqnr_db(self) -> float:
        ratio = self.noise_ratio
        if ratio == 0:
            return SQNR_CAP
        return min(SQNR_CAP, -10 * math.log10(ratio)) if math.isfinite(ratio) else -SQNR_CAP

    @property
    def cosine(self) -> float:
        norm = math.sqrt(self.signal * self.low_power)
        return self.dot / norm if norm > 0 else (1.0 if self.noise == 0 else 0.0)


def compile_f32(core: Any, model: Any, counters: bool = False) -> Any:
    """f32 inference precision on the CPU, so FP32 means f32 (FACTS 3) and only the IR's own quantization differs."""
    from omz_mobilenet.runtime import compile_model

    config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32", "NUM_STREAMS": 1}
    if counters:
        config["PERF_COUNT"] = True
    return compile_model(core, model, "CPU", config, model.get_friendly_name() or "the model")


def _outputs(request: Any, image: np.ndarray) -> list[np.ndarray]:
    request.infer({0: image})
    return [request.get_output_tensor(i).data.copy() for i in range(len(request.model_outputs))]


def layer_agreement(core: Any, pair: tuple[Any, Any], match: LayerMatch, images: Iterable[np.ndarray]) -> dict:
    """{layer: Agreement} over the images, from both graphs with every compared layer as an extra output."""
    runs = []
    for model in pair:
        clone, index = with_layer_outputs(model, match.names)
        runs.append((compile_f32(core, clone).create_infer_request(), index))
    stats = {name: Agreement() for name in match.names}
    for image in images:
        (ref, ref_index), (low, low_index) = ((_outputs(request, image), index) for request, index in runs)
        for name in match.names:
            stats[name].add(ref[ref_index[name]], low[low_index[name]])
    return stats


@dataclass
class OutputAgreement:
    agreement: Agreement
    images: int
    same_top1: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_sqnr_db": round(self.agreement.sqnr_db, 2),
            "output_cosine": round(self.agreement.cosine, 6),
            "images": self.images,
            "same_top1": self.same_top1,
        }


def output_agreement(requests: tuple[Any, Any], images: list[np.ndarray]) -> OutputAgreement:
    """The model output of both compiled graphs (no extra outputs: the graphs as users run them)."""
    result = OutputAgreement(Agreement(), len(images), 0)
    for image in images:
        ref, low = (_outputs(request, image)[0] for request in requests)
        result.agreement.add(ref, low)
        result.same_top1 += int(np.argmax(ref) == np.argmax(low))
    return result
