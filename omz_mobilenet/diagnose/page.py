"""`diagnose --html FILE`: one self-contained page (inline CSS, no scripts, no network) of a diagnosis."""

from __future__ import annotations

from html import escape
from typing import Any

from omz_mobilenet.diagnose.counters import mix_text
from omz_mobilenet.diagnose.plan import DiagnoseResult

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}h1{font-size:20px}
h2{font-size:16px;border-bottom:1px solid #ccc;margin-top:28px}table{border-collapse:collapse;font-size:12px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}th{background:#f2f2f2}
td.t,th.t{text-align:left}tr.bad td{background:#fde8e8}tr.f32 td.k{color:#a40}.note{color:#666;font-size:12px}
"""
COLUMNS = (
    ("rank", "#"),
    ("layer", "layer"),
    ("ops", "operations"),
    ("sqnr_db", "SQNR dB"),
    ("local_sqnr_db", "added noise dB"),
    ("cosine", "cosine"),
    ("low_kernel", "kernel"),
    ("low_precision", "runs"),
    ("low_us", "µs"),
    ("float_kernel", "float kernel"),
    ("float_us", "float µs"),
    ("reorders_us", "reorder µs"),
)
TEXT = ("layer", "ops", "low_kernel", "low_precision", "float_kernel")


def _cell(key: str, value: Any) -> str:
    shown = "" if value is None else value
    cls = ' class="t"' if key in TEXT else (' class="k"' if key == "low_precision" else "")
    return f"<td{cls}>{escape(str(shown))}</td>"


def _layer_table(result: DiagnoseResult, min_sqnr: float) -> str:
    head = "".join(f"<th{' class=t' if k in TEXT else ''}>{escape(title)}</th>" for k, title in COLUMNS)
    body = []
    for row in result.layers:
        data = row.to_dict()
        classes = " ".join(
            c for c, on in (("bad", row.local_sqnr_db < min_sqnr), ("f32", row.low_precision == "f32")) if on
        )
        cells = "".join(_cell(k, data[k]) for k, _title in COLUMNS)
        body.append(f'<tr class="{classes}">{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary(result: DiagnoseResult) -> str:
    out = result.output
    items = [
        f"output SQNR <b>{out['output_sqnr_db']} dB</b>, cosine {out['output_cosine']}, same Top-1 on "
        f"{out['same_top1']} of {out['images']} images",
        f"kernels: float {escape(mix_text(result.kernels['float']))}, {escape(result.precision)} "
        f"{escape(mix_text(result.kernels['low']))}; counters' total {out['float_total_us']} µs vs {out['low_total_us']} µs",
        f"reorders in the {escape(result.precision)} graph: "
        + (escape(", ".join(f"{r['name']} {r['mean_us']} µs" for r in result.reorders)) or "none"),
        escape(result.matching),
        f"float IR {escape(result.float_ir)}; {escape(result.precision)} IR {escape(result.low_ir)}",
    ]
    if result.scope is not None:
        items.append("suggested ignored scope: " + escape(result.scope.summary()))
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def html_page(result: DiagnoseResult, environment: dict[str, Any], min_sqnr: float) -> str:
    title = f"diagnose {result.model} {result.precision} vs FP32"
    machine = escape(
        f"{environment.get('cpu_model')}, {environment.get('cores')} cores, OpenVINO {environment.get('openvino')}, "
        f"NNCF {environment.get('nncf')}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{CSS}</style>"
        f"</head><body><h1>{escape(title)}</h1>{_summary(result)}"
        f"<h2>Layers, worst first</h2><p class='note'>SQNR at the layer's last operation (everything upstream "
        f"included); added noise = what this layer adds over its inputs, which ranks it; red rows add more noise "
        f"than {min_sqnr:g} dB allows. Kernels and times from the performance counters (mean per inference, f32 "
        f"inference precision); 'fused' = folded into another kernel.</p>{_layer_table(result, min_sqnr)}"
        f"<p class='note'>{machine}</p></body></html>\n"
    )
