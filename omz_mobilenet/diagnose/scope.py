"""The fewest layers to keep in float: a greedy ignored-scope search, and the scope file.

From the worst layer down (layers.ranked_rows, convolution-like layers only), each try adds one layer to
the scope, quantizes the float graph again with NNCF (`IgnoredScope(names=...)`, the calibration the IR
was made with) and measures the output SQNR on the diagnosis images; it stops at the first scope whose
output SQNR reaches the threshold, or after `max_tries` candidates. A layer that does not raise the output
SQNR is left out again (greedy forward selection along the ranking).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.ignored_scope import layer_keys
from omz_mobilenet.convert.job import QuantizeOptions
from omz_mobilenet.diagnose.compare import compile_f32, output_agreement

DEFAULT_MIN_SQNR = 20.0  # dB at the model output; see docs/explanations/diagnose.md
DEFAULT_MAX_TRIES = 8


@dataclass
class ScopeSearch:
    names: list[str]
    min_sqnr_db: float
    start_sqnr_db: float
    output_sqnr_db: float
    reached: bool
    tries: int
    history: list[dict[str, Any]] = field(default_factory=list)
    positions: tuple[str, ...] = ()  # of `names` in the float graph (convert/ignored_scope.py), set at the end

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        if self.reached and not self.names:
            return (
                f"output SQNR {self.start_sqnr_db:.1f} dB; re-quantized without a scope {self.output_sqnr_db:.1f} dB, "
                f"which reaches {self.min_sqnr_db:g} dB: no scope needed"
            )
        verdict = "reaches" if self.reached else "does NOT reach"
        return (
            f"ignored scope of {len(self.names)} layer(s) ({', '.join(self.names)}): output SQNR "
            f"{self.start_sqnr_db:.1f} (IR) / {self.history[0]['output_sqnr_db']:.1f} (re-quantized) -> "
            f"{self.output_sqnr_db:.1f} dB, {verdict} {self.min_sqnr_db:g} dB after {self.tries} re-quantization(s)"
        )


@dataclass(frozen=True)
class SearchInputs:
    """What every try needs: the float graph and its compiled request, calibration, diagnosis images."""

    core: Any
    entry: ModelEntry
    float_model: Any
    float_request: Any
    calibration: list[Path]
    options: QuantizeOptions
    images: list[np.ndarray]


def _measure(inputs: SearchInputs, names: list[str]) -> tuple[float, int]:
    from omz_mobilenet.convert.quantize import quantize_model

    options = replace(inputs.options, ignored_scope=tuple(names), ignored_scope_file="diagnose")
    quantized = quantize_model(inputs.entry, inputs.float_model, inputs.calibration, options)
    request = compile_f32(inputs.core, quantized).create_infer_request()
    measured = output_agreement((inputs.float_request, request), inputs.images)
    return measured.agreement.sqnr_db, measured.same_top1


def search_scope(
    inputs: SearchInputs, candidates: list[str], start_sqnr_db: float, limits: tuple[float, int]
) -> ScopeSearch:
    """`limits` = (minimum output SQNR in dB, most re-quantizations). Try 0 re-quantizes with no scope (the
    baseline the tries are held against: the IR on disk may be older or corrupted); a candidate that does not
    raise the output SQNR is tried and left out, so the scope holds only layers that help."""
    min_sqnr, max_tries = limits
    baseline, same_top1 = _measure(inputs, [])
    search = ScopeSearch([], min_sqnr, round(start_sqnr_db, 2), round(baseline, 2), baseline >= min_sqnr, 1)
    search.history.append({"names": [], "output_sqnr_db": round(baseline, 2), "same_top1": same_top1})
    for name in candidates[:max_tries]:
        if search.reached:
            break
        sqnr, same_top1 = _measure(inputs, [*search.names, name])
        search.tries += 1
        search.history.append(
            {"names": [*search.names, name], "output_sqnr_db": round(sqnr, 2), "same_top1": same_top1}
        )
        if sqnr > search.output_sqnr_db:
            search.names, search.output_sqnr_db = [*search.names, name], round(sqnr, 2)
            search.reached = sqnr >= min_sqnr
    keys = layer_keys(inputs.float_model)
    search.positions = tuple(keys[name] for name in search.names)
    return search


def scope_document(model: str, precision: str, search: ScopeSearch) -> dict[str, Any]:
    """What `--scope-out` writes and `convert --ignored-scope FILE` reads (`names`; the rest says where it came from)."""
    return {
        "model": model,
        "precision": precision,
        "names": search.names,
        "positions": list(search.positions),
        "min_sqnr_db": search.min_sqnr_db,
        "output_sqnr_db": search.output_sqnr_db,
        "start_sqnr_db": search.start_sqnr_db,
        "reached": search.reached,
        "tries": search.tries,
    }


def write_scope_file(path: Path, document: dict[str, Any]) -> None:
    import json

    import yaml

    from omz_mobilenet.output.files import write_text

    text = (
        json.dumps(document, indent=2) + "\n" if path.suffix == ".json" else yaml.safe_dump(document, sort_keys=False)
    )
    write_text(path, text)
