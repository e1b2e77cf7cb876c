"""`convert --ignored-scope auto`: the diagnose search run on the calibration folder before the INT8 IR is
written. The float IR is converted first if needed; the INT8 graph is quantized in memory (not written) and
compared on up to `AUTO_IMAGES` images of the calibration folder that calibration did not use (or, when
every image calibrates, on calibration images: SQNR compares the two graphs, it is no accuracy claim)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.job import QuantizeOptions
from omz_mobilenet.diagnose.compare import compile_f32, layer_agreement, output_agreement
from omz_mobilenet.diagnose.graphs import match_layers
from omz_mobilenet.diagnose.layers import ranked_rows, scope_candidates
from omz_mobilenet.diagnose.plan import float_reference, load_images
from omz_mobilenet.diagnose.scope import DEFAULT_MAX_TRIES, DEFAULT_MIN_SQNR, ScopeSearch, SearchInputs, search_scope
from omz_mobilenet.settings import Settings

AUTO_IMAGES = 16


def auto_scope(
    entry: ModelEntry, settings: Settings, options: QuantizeOptions, log: Callable[[str], None]
) -> ScopeSearch:
    from omz_mobilenet.convert.calibration import remaining_images, select_calibration
    from omz_mobilenet.convert.pipeline import ensure_ir
    from omz_mobilenet.convert.quantize import quantize_model
    from omz_mobilenet.runtime import new_core

    assert options.calibration is not None  # convert checked it before any work
    float_xml = ensure_ir(entry, "FP32", settings, log)
    core = new_core()
    float_model = float_reference(core, entry, float_xml, "INT8")
    files, record = select_calibration(options.calibration, options.subset_size, log)
    held_out = remaining_images(options.calibration, record)
    images = load_images(entry, (held_out or files)[:AUTO_IMAGES])
    plain = replace(options, ignored_scope=(), ignored_scope_file=None)
    log(f"{entry.name}: ignored scope auto: diagnosing INT8 on {len(images)} images of {options.calibration}")
    quantized = quantize_model(entry, float_model, files, plain)
    match = match_layers(float_model, quantized)
    stats = layer_agreement(core, (float_model, quantized), match, images)
    no_counters: dict[str, Any] = {}
    rows = ranked_rows(match, stats, (no_counters, no_counters))
    float_request = compile_f32(core, float_model).create_infer_request()
    start = output_agreement((float_request, compile_f32(core, quantized).create_infer_request()), images)
    inputs = SearchInputs(core, entry, float_model, float_request, files, plain, images)
    search = search_scope(
        inputs, scope_candidates(rows), start.agreement.sqnr_db, (DEFAULT_MIN_SQNR, DEFAULT_MAX_TRIES)
    )
    log(f"{entry.name}: {search.summary()}")
    return search
