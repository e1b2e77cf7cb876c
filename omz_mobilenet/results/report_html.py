"""`report`: one self-contained HTML page (inline SVG, CSS and JS; no network) from the results database."""

from __future__ import annotations

from html import escape
from typing import Any, Optional

from omz_mobilenet.results import charts
from omz_mobilenet.results.cells import (
    cell_id,
    cell_label,
    config_label,
    environments,
    groups,
    latency,
    machine_label,
    machine_of,
    throughput,
)
from omz_mobilenet.results.db import Record
from omz_mobilenet.results.pareto import pareto_ids
from omz_mobilenet.results.report_charts import cdf_chart, pareto_chart, throughput_chart

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
h3{font-size:15px}table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#f2f2f2;position:sticky;top:0}th[data-sort-key]{cursor:pointer}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.t,th.t{text-align:left}tr.pareto td{background:#eef7ee}tr.pareto td:first-child{font-weight:600}
tr.failed td,tr.unavailable td{color:#999}.noisy{color:#c60}.charts{display:flex;flex-wrap:wrap;gap:12px}
svg{background:#fff;border:1px solid #e4e4e4;font-size:11px}svg .grid{stroke:#eee}
svg .frame{fill:none;stroke:#888}svg .title{font-weight:600;font-size:12px}svg .label{font-size:10px;fill:#333}
svg .err{stroke-width:1.2;opacity:.55}svg .limit{stroke:#888;stroke-dasharray:5 4}
svg .sweet{fill:none;stroke:#d62728;stroke-width:2.5}svg .sweet-label{fill:#d62728;font-weight:600}
.note{color:#666;font-size:12px}.scroll{overflow-x:auto;max-width:100%}
"""

JS = """
(function(){
  function key(row, i){ var v = row.cells[i].getAttribute('data-value'); return v === null ? row.cells[i].textContent : v; }
  function cmp(a, b){
    if (a === '' || b === '') { return a === b ? 0 : (a === '' ? 1 : -1); }
    var num = /^-?[0-9]+(\\.[0-9]*)?(e[-+]?[0-9]+)?$/i;
    if (num.test(a) && num.test(b)) { return parseFloat(a) - parseFloat(b); }
    return a.localeCompare(b);
  }
  document.querySelectorAll('table.sortable th[data-sort-key]').forEach(function(th){
    th.addEventListener('click', function(){
      var table = th.closest('table'), body = table.tBodies[0];
      var i = Array.prototype.indexOf.call(th.parentNode.children, th);
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach(function(h){ h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function(a, b){
        var ka = key(a, i), kb = key(b, i);
        if (ka === '' || kb === '') { return cmp(ka, kb); }
        return asc ? cmp(ka, kb) : cmp(kb, ka);
      });
      rows.forEach(function(r){ body.appendChild(r); });
    });
  });
})();
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: Optional[float], digits: int = 2) -> tuple[str, str]:
    """(data-value, shown text) of a number; missing values are empty and sort last."""
    return ("", "-") if value is None else (repr(round(float(value), 6)), f"{float(value):.{digits}f}")


def _td(value: Optional[float], digits: int = 2) -> str:
    data, text = _num(value, digits)
    return f'<td data-value="{data}">{text}</td>'


def _text_td(text: Any) -> str:
    return f'<td class="t" data-value="{_e(text)}">{_e(text)}</td>'


def _interval_td(block: Optional[dict[str, Any]], name: str) -> str:
    if not block:
        return '<td data-value="">-</td>'
    low, high = block.get(f"{name}_low"), block.get(f"{name}_high")
    suffix = f" [{low:.1f}, {high:.1f}]" if low is not None and high is not None else ""
    return f'<td data-value="{_num(block[name])[0]}">{block[name]:.2f}{suffix}</td>'


CELL_COLUMNS = [
    ("model", "model"),
    ("precision", "precision"),
    ("device", "device"),
    ("config", "config"),
    ("machine", "machine"),
    ("status", "status"),
    ("top1", "Top-1 % [95%]"),
    ("top5", "Top-5 % [95%]"),
    ("median", "median ms"),
    ("p90", "p90 ms"),
    ("p95", "p95 ms"),
    ("p99", "p99 ms"),
    ("p999", "p99.9 ms"),
    ("fps", "FPS"),
    ("gflops", "GFlops"),
    ("mparams", "MParams"),
    ("size", "IR MB"),
    ("compiled", "compiled precision"),
    ("spread", "spread"),
    ("reason", "reason"),
]
# The environment facts the provenance table shows, in its column order.
PROVENANCE_KEYS = ["hostname", "cpu_model", "cores", "isa", "os", "python", "openvino", "nncf", "toolkit_version",
                   "git_commit", "node_id"]  # fmt: skip
TEXT_COLUMNS = {
    "cell",
    *(k for k in PROVENANCE_KEYS if k != "cores"),
    "model",
    "precision",
    "device",
    "config",
    "machine",
    "status",
    "compiled",
    "reason",
}


def _header(columns: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<th data-sort-key="{k}"{" class=t" if k in TEXT_COLUMNS else ""}>{_e(t)}</th>' for k, t in columns
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _spread_td(bench: Optional[dict[str, Any]]) -> str:
    if not bench:
        return '<td data-value="">-</td>'
    spread = float(bench.get("spread") or 0.0)
    flag = (
        ' <span class="noisy" title="round medians differ by more than 10 %">noisy</span>' if bench.get("noisy") else ""
    )
    return f'<td data-value="{_num(spread, 3)[0]}">{spread * 100:.1f} %{flag}</td>'


def _cell_row(r: Record, pareto: set[str], hosts: dict[str, str]) -> str:
    classes = " ".join(["cell", str(r["status"])] + (["pareto"] if cell_id(r) in pareto else []))
    attrs = (
        f'class="{classes}" data-model="{_e(r["model"])}" data-precision="{_e(r["precision"])}" '
        f'data-device="{_e(r["device"])}" data-machine="{_e(machine_of(r))}" data-cell-id="{_e(cell_id(r))}"'
    )
    bench = r.get("bench") or {}
    tds = [
        _text_td(r["model"]),
        _text_td(r["precision"]),
        _text_td(r["device"]),
        _text_td(config_label(r)),
        _text_td(hosts[machine_of(r)]),
        _text_td(r["status"]),
        _interval_td(r.get("accuracy"), "top1"),
        _interval_td(r.get("accuracy"), "top5"),
        _td(latency(r), 3),
    ]
    tds += [_td(bench.get(f"latency_{p}_ms"), 3) for p in ("p90", "p95", "p99", "p999")]
    tds += [
        _td(throughput(r), 1),
        _td(r.get("gflops"), 3),
        _td(r.get("mparams"), 3),
        _td(r.get("ir_size_mb"), 2),
        _text_td(r.get("compiled_precision") or "-"),
        _spread_td(r.get("bench")),
        _text_td(r.get("reason") or ""),
    ]
    return f"<tr {attrs}>{''.join(tds)}</tr>"


def cells_table(records: list[Record], pareto: set[str], hosts: dict[str, str]) -> str:
    rows = "\n".join(_cell_row(r, pareto, hosts) for r in records)
    return (
        f'<div class="scroll"><table id="cells" class="sortable cells">{_header(CELL_COLUMNS)}\n<tbody>\n{rows}\n</tbody></table></div>'
        '<p class="note">Click a header to sort. Shaded rows are Pareto-optimal on their device and machine '
        "(no other cell there is both more accurate and faster).</p>"
    )


def ladder_table(records: list[Record]) -> str:
    timed = [r for r in records if r.get("status") == "ok" and r.get("bench")]
    head = [
        ("cell", "cell"),
        ("p50", "p50 ms"),
        ("p90", "p90 ms"),
        ("p95", "p95 ms"),
        ("p99", "p99 ms"),
        ("p999", "p99.9 ms"),
        ("max", "max ms"),
        ("rounds", "rounds"),
        ("spread", "spread"),
    ]
    rows = []
    for r in timed:
        b = r["bench"]
        tds = [_text_td(cell_label(r, config=True))] + [_td(b.get(f"latency_{p}_ms"), 3) for p, _ in head[1:7]]
        rows.append("<tr>" + "".join(tds + [_td(b.get("rounds"), 0), _spread_td(b)]) + "</tr>")
    return f'<table class="sortable ladder">{_header(head)}<tbody>{"".join(rows)}</tbody></table>'


def group_section(
    index: int, device: str, machine: str, title: str, suffix: str, records: list[Record], max_latency: Optional[float]
) -> str:
    svgs = [
        charts.to_svg(pareto_chart(device, machine, suffix, records)),
        charts.to_svg(throughput_chart(device, machine, suffix, records, max_latency)),
    ]
    cdf = charts.to_svg(cdf_chart(device, machine, suffix, records))
    return (
        f'<section class="group" id="group-{index}" data-device="{_e(device)}" data-machine="{_e(machine)}">'
        f"<h2>{_e(device)} on {_e(title)}</h2>"
        f'<div class="charts">{"".join(svgs)}</div>'
        f'<h3>Latency distributions</h3>{ladder_table(records)}<div class="charts">{cdf}</div></section>'
    )


def comparison_table(records: list[Record], hosts: dict[str, str]) -> str:
    """The same (model, precision, device, config) measured on several machines, side by side."""
    by_cell: dict[tuple[str, ...], dict[str, Record]] = {}
    for r in records:
        ident = (r["model"], r["precision"], r["device"], r["key"]["config"])
        by_cell.setdefault(ident, {})[machine_of(r)] = r
    shared = {k: v for k, v in by_cell.items() if len(v) > 1}
    if not shared:
        return ""
    machines = [m for m in hosts if any(m in v for v in shared.values())]
    head = [("cell", "cell")] + [
        (f"{m}-{q}", f"{hosts[m]} {q}") for m in machines for q in ("Top-1", "median ms", "FPS")
    ]
    rows = []
    for per_machine in shared.values():
        any_r = next(iter(per_machine.values()))
        tds = [_text_td(f"{cell_label(any_r, config=True)} {any_r['device']}")]
        for m in machines:
            cell = per_machine.get(m)
            acc = (cell or {}).get("accuracy") or {}
            tds += [_td(acc.get("top1")), _td(latency(cell) if cell else None, 3)]
            tds.append(_td(throughput(cell) if cell else None, 1))
        rows.append('<tr class="compare">' + "".join(tds) + "</tr>")
    return (
        f'<h2>Across machines</h2><table class="sortable compare">{_header(head)}<tbody>{"".join(rows)}</tbody></table>'
    )


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li><code>{_e(i)}</code></li>" for i in items) + "</ul>"


def provenance(records: list[Record]) -> str:
    keys = PROVENANCE_KEYS
    head = [("machine", "machine")] + [(k, k) for k in keys]
    rows = []
    for machine, env in environments(records).items():
        values = [" ".join(env.get(k) or []) if k == "isa" else env.get(k) for k in keys]
        rows.append("<tr>" + "".join(_text_td(v if v is not None else "-") for v in [machine, *values]) + "</tr>")
    datasets = sorted(
        {
            f"{a['dataset']} ({a['images']} images, fingerprint {r['key']['dataset_fingerprint']})"
            for r in records
            if (a := r.get("accuracy"))
        }
    )
    commands = list(dict.fromkeys(str(r.get("command")) for r in records if r.get("command")))
    return (
        f'<h2 id="provenance">Provenance</h2><h3>Machines</h3><table class="provenance">{_header(head)}<tbody>{"".join(rows)}'
        f"</tbody></table><h3>Datasets</h3>{_list(datasets)}<h3>Commands</h3>{_list(commands)}"
    )


def host_names(records: list[Record]) -> dict[str, str]:
    """A short, unique display name per machine: its hostname, plus the machine hash when hostnames repeat."""
    envs = environments(records)
    names = {m: str(env.get("hostname") or m) for m, env in envs.items()}
    repeated = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {m: f"{n} ({m[:8]})" if n in repeated else n for m, n in names.items()}


def _summary(records: list[Record], max_latency: Optional[float]) -> str:
    by_status: dict[str, int] = {}
    for r in records:
        by_status[str(r["status"])] = by_status.get(str(r["status"]), 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    limit = f"; sweet spot limit {max_latency:g} ms median latency" if max_latency is not None else ""
    return f'<p class="summary">{len(records)} cells ({counts}){_e(limit)}.</p>'


def render(records: list[Record], max_latency: Optional[float] = None, title: str = "MobileNet results") -> str:
    hosts = host_names(records)
    envs = environments(records)
    several = len(envs) > 1
    by_group = groups(records)
    sections = [
        group_section(
            i, device, m, machine_label(envs.get(m, {})), f" on {hosts[m]}" if several else "", group, max_latency
        )
        for i, ((device, m), group) in enumerate(by_group.items())
    ]
    links = [f'<a href="#group-{i}">{_e(device)} on {_e(hosts[m])}</a>' for i, (device, m) in enumerate(by_group)]
    links += ['<a href="#all-cells">all cells</a>', '<a href="#provenance">provenance</a>']
    body = [
        f"<h1>{_e(title)}</h1>",
        _summary(records, max_latency),
        f"<nav>{' | '.join(links)}</nav>",
        *sections,
        '<h2 id="all-cells">All cells</h2>',
        cells_table(records, pareto_ids(records), hosts),
        comparison_table(records, hosts),
        provenance(records),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{JS}</script>\n</body></html>\n"
    )
