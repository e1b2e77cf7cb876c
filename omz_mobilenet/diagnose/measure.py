"""The `diagnose` stage: plan (every check first), then layer agreement, output agreement and counters, then
the scope search."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omz_mobilenet.diagnose import counters
from omz_mobilenet.diagnose.compare import compile_f32, layer_agreement, output_agreement
from omz_mobilenet.diagnose.graphs import match_layers
from omz_mobilenet.diagnose.layers import op_rows, ranked_rows, scope_candidates
from omz_mobilenet.diagnose.plan import DiagnoseRequest, DiagnoseResult, Plan, float_reference, load_images, plan
from omz_mobilenet.diagnose.scope import SearchInputs, search_scope
from omz_mobilenet.settings import Settings


def diagnose(request: DiagnoseRequest, settings: Settings, log: Callable[[str], None]) -> DiagnoseResult:
    return measure(request, plan(request, settings), log)


def measure(request: DiagnoseRequest, planned: Plan, log: Callable[[str], None]) -> DiagnoseResult:
    from omz_mobilenet.runtime import new_core, read_ir

    core = new_core()
    entry = request.entry
    float_model = float_reference(core, entry, planned.float_xml, request.precision)
    low_model = read_ir(core, planned.low_xml)
    images = load_images(entry, planned.images)
    match = match_layers(float_model, low_model)
    log(f"{entry.name}: comparing {len(match.names)} layers on {len(images)} images; {match.unmatched_summary()}")
    stats = layer_agreement(core, (float_model, low_model), match, images)
    requests = tuple(compile_f32(core, m, counters=True).create_infer_request() for m in (float_model, low_model))
    output = output_agreement((requests[0], requests[1]), images)
    kernels = tuple(counters.read_counters(r, images) for r in requests)
    rows = ranked_rows(match, stats, (kernels[0], kernels[1]))
    result = DiagnoseResult(
        model=entry.name,
        precision=request.precision,
        float_ir=str(planned.float_xml),
        low_ir=str(planned.low_xml),
        images=len(images),
        output=output.to_dict(),
        kernels={"float": counters.kernel_mix(kernels[0]), "low": counters.kernel_mix(kernels[1])},
        reorders=[
            {"name": k.name, "exec_type": k.exec_type, "mean_us": round(k.mean_us, 1)}
            for k in counters.reorders(kernels[1])
        ],
        matching=match.unmatched_summary(),
        layers=rows,
        ops=op_rows(match, stats),
    )
    result.output["float_total_us"] = round(counters.total_us(kernels[0]), 1)
    result.output["low_total_us"] = round(counters.total_us(kernels[1]), 1)
    if planned.calibration is not None:
        result.scope = _search(
            request, planned, (core, float_model, requests[0]), images, rows, output.agreement.sqnr_db
        )
        log(f"{entry.name}: {result.scope.summary()}")
    return result


def _search(request: DiagnoseRequest, planned: Plan, graph: tuple[Any, Any, Any], images, rows, start: float):
    from omz_mobilenet.convert.calibration import select_calibration

    assert planned.calibration is not None and planned.calibration.calibration is not None
    files, _record = select_calibration(planned.calibration.calibration, planned.calibration.subset_size)
    core, float_model, float_request = graph
    inputs = SearchInputs(core, request.entry, float_model, float_request, files, planned.calibration, images)
    return search_scope(inputs, scope_candidates(rows), start, (request.min_sqnr_db, request.max_tries))
