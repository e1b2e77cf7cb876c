"""The report's tables: every cell, latency percentiles, machines side by side, provenance.

Cells are sortable by any header (data-value holds the number, '' sorts last). A status other than
`ok` greys the row and blanks its Top-1; speed ties and noisy cells are marked and explained below.
"""

from __future__ import annotations

from html import escape
from typing import Any, Optional

from omz_mobilenet.results.db import Record
from omz_mobilenet.results.fields import (
    cell_id,
    interval_text,
    is_ok,
    is_timed,
    latency,
    machine_of,
    scenario_runs,
    speed_interval,
    throughput,
)
from omz_mobilenet.results.grouping import environments
from omz_mobilenet.results.labels import cell_label, config_label

NOISY_NOTE = (
    "noisy: the medians of this cell's rounds differ by more than 10 % of its median, so the machine was "
    "busy while it was measured; re-run it (sweep --force) before trusting a small difference."
)
TIE_NOTE = (
    "\u2248n: equal in speed to n other cells of its device and machine, because the ranges of their round "
    "medians overlap (hover to see which); a cell without an interval (one round) is never called a tie."
)
STATUS_NOTE = "Grey rows are not evidence: failed, incomplete (too few images or a cut run) or unavailable cells."


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _num(value: Optional[float], digits: int = 2) -> tuple[str, str]:
    """(data-value, shown text) of a number; missing values are empty and sort last."""
    return ("", "-") if value is None else (repr(round(float(value), 6)), f"{float(value):.{digits}f}")


def td(value: Optional[float], digits: int = 2, extra: str = "") -> str:
    data, text = _num(value, digits)
    return f'<td data-value="{data}">{text}{extra}</td>'


def text_td(text: Any) -> str:
    return f'<td class="t" data-value="{e(text)}">{e(text)}</td>'


def _interval_td(record: Record, name: str) -> str:
    block = record.get("accuracy")
    if not block or not is_ok(record):
        return '<td data-value="">-</td>'
    low, high = block.get(f"{name}_low"), block.get(f"{name}_high")
    suffix = f" [{low:.1f}, {high:.1f}]" if low is not None and high is not None else ""
    return f'<td data-value="{_num(block[name])[0]}">{block[name]:.2f}{suffix}</td>'


CELL_COLUMNS = [("model", "model"), ("precision", "precision"), ("device", "device"), ("config", "config"),
                ("machine", "machine"), ("status", "status"), ("top1", "Top-1 % [95%]"), ("top5", "Top-5 % [95%]"),
                ("median", "median ms"), ("p90", "p90 ms"), ("p95", "p95 ms"), ("p99", "p99 ms"),
                ("p999", "p99.9 ms"), ("fps", "FPS"), ("gflops", "GFlops"), ("mparams", "MParams"), ("size", "IR MB"),
                ("compiled", "compiled precision"), ("spread", "round spread"), ("reason", "reason")]  # fmt: skip
# The environment facts the provenance table shows, in its column order.
PROVENANCE_KEYS = ["hostname", "cpu_model", "cores", "isa", "os", "python", "openvino", "nncf", "toolkit_version",
                   "git_commit", "node_id"]  # fmt: skip
TEXT_COLUMNS = {"cell", *(k for k in PROVENANCE_KEYS if k != "cores"), "model", "precision", "device", "config",
                "machine", "status", "compiled", "reason", "scenario", "result", "unit", "note", "reasons"}  # fmt: skip


def header(columns: list[tuple[str, str]]) -> str:
    cells = "".join(f'<th data-sort-key="{k}"{" class=t" if k in TEXT_COLUMNS else ""}>{e(t)}</th>' for k, t in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def spread_td(record: Record) -> str:
    bench = record.get("bench")
    if not bench:
        return '<td data-value="">-</td>'
    spread = float(bench.get("spread") or 0.0)
    tip = f"round medians {interval_text(record)}"
    flag = f' <span class="noisy" title="{e(NOISY_NOTE)}">noisy</span>' if bench.get("noisy") else ""
    return f'<td data-value="{_num(spread, 3)[0]}" title="{e(tip)}">{spread * 100:.1f} %{flag}</td>'


def _same_run(record: Record, other: Record) -> str:
    """' (one measurement)' when the sweep measured both cells in one run (the same IR and configuration)."""
    shared = record.get("shared_measurement") or []
    same = record["key"]["config"] == other["key"]["config"] and f"{other['model']} {other['precision']}" in shared
    return " (one measurement)" if same else ""


def _median_td(record: Record, ties: list[Record]) -> str:
    if not ties:
        why = "" if speed_interval(record) or not record.get("bench") else " (no interval: one round)"
        return td(latency(record), 3, f'<span class="note">{why}</span>' if why else "")
    names = "; ".join(cell_label(t, config=True, short=True) + _same_run(record, t) for t in ties)
    mark = f' <span class="tie" title="{e("equal in speed to: " + names)}">\u2248{len(ties)}</span>'
    return td(latency(record), 3, mark)


def _cell_tds(r: Record, ties: list[Record], host: str) -> list[str]:
    bench = r.get("bench") or {}
    return [
        *(text_td(v) for v in (r["model"], r["precision"], r["device"], config_label(r), host, r["status"])),
        _interval_td(r, "top1"),
        _interval_td(r, "top5"),
        _median_td(r, ties),
        *(td(bench.get(f"latency_{p}_ms"), 3) for p in ("p90", "p95", "p99", "p999")),
        td(throughput(r), 1),
        td(r.get("gflops"), 3),
        td(r.get("mparams"), 3),
        td(r.get("ir_size_mb"), 2),
        text_td(r.get("compiled_precision") or "-"),
        spread_td(r),
        text_td(r.get("reason") or ""),
    ]


def _cell_row(r: Record, pareto: set[str], ties: dict[str, list[Record]], hosts: dict[str, str]) -> str:
    classes = " ".join(["cell", str(r["status"])] + (["pareto"] if cell_id(r) in pareto else []))
    attrs = (
        f'class="{classes}" data-model="{e(r["model"])}" data-precision="{e(r["precision"])}" '
        f'data-device="{e(r["device"])}" data-machine="{e(machine_of(r))}" data-cell-id="{e(cell_id(r))}" '
        f'data-status="{e(r["status"])}"'
    )
    tds = _cell_tds(r, ties.get(cell_id(r), []), hosts[machine_of(r)])
    return f"<tr {attrs}>{''.join(tds)}</tr>"


def notes(records: list[Record]) -> str:
    """The footnotes of what the cells table marks, only those it shows."""
    shown = ["Click a header to sort. Shaded rows are Pareto-optimal on their device and machine "
             "(no other cell there is both more accurate and faster beyond the round spread)."]  # fmt: skip
    if any(not is_ok(r) for r in records):
        shown.append(STATUS_NOTE)
    if any((r.get("bench") or {}).get("noisy") for r in records):
        shown.append(f'<span class="noisy">noisy</span>: {e(NOISY_NOTE[len("noisy: ") :])}')
    shown.append(e(TIE_NOTE))
    return "".join(f'<p class="note">{n}</p>' for n in shown)


def cells_table(records: list[Record], pareto: set[str], ties: dict[str, list[Record]], hosts: dict[str, str]) -> str:
    rows = "\n".join(_cell_row(r, pareto, ties, hosts) for r in records)
    return (
        f'<div class="scroll"><table id="cells" class="sortable cells">{header(CELL_COLUMNS)}\n<tbody>\n{rows}\n'
        f"</tbody></table></div>{notes(records)}"
    )


LADDER_COLUMNS = [("cell", "cell"), ("p50", "p50 ms"), ("p90", "p90 ms"), ("p95", "p95 ms"), ("p99", "p99 ms"),
                  ("p999", "p99.9 ms"), ("max", "max ms"), ("rounds", "rounds"), ("spread", "round spread")]  # fmt: skip


def ladder_table(records: list[Record]) -> str:
    """Latency percentiles of the timed cells, folded away when there are many."""
    timed = [r for r in records if is_timed(r)]
    rows = []
    for r in timed:
        b = r["bench"]
        tds = [text_td(cell_label(r, config=True))] + [td(b.get(f"latency_{p}_ms"), 3) for p, _ in LADDER_COLUMNS[1:7]]
        rows.append("<tr>" + "".join(tds + [td(b.get("rounds"), 0), spread_td(r)]) + "</tr>")
    table = f'<table class="sortable ladder">{header(LADDER_COLUMNS)}<tbody>{"".join(rows)}</tbody></table>'
    opened = " open" if len(timed) <= 12 else ""
    noisy = any(r["bench"].get("noisy") for r in timed)
    note = f'<p class="note"><span class="noisy">noisy</span>: {e(NOISY_NOTE[len("noisy: ") :])}</p>' if noisy else ""
    details = f"<details{opened}><summary>Latency percentiles of {len(timed)} cells</summary>{table}{note}</details>"
    return details + e2e_table(records) + scenario_section(records)


E2E_STAGES = ("read", "decode", "preprocess", "inference", "postprocess")
E2E_COLUMNS = [("cell", "cell"), ("placement", "preprocessing"), *((s, f"{s} ms") for s in E2E_STAGES),
               ("total", "total ms"), ("p99", "total p99 ms"), ("rate", "images/s"), ("piped", "pipelined images/s")]  # fmt: skip


def e2e_table(records: list[Record]) -> str:
    """End-to-end stage medians of the cells swept with the spec key `e2e` ('' when none has them)."""
    cells = [r for r in records if is_ok(r) and r.get("e2e")]
    if not cells:
        return ""
    rows = []
    for r in cells:
        s = r["e2e"]
        tds = [text_td(cell_label(r, config=True)), text_td(s.get("placement"))]
        tds += [td(s[stage]["median_ms"], 3) for stage in E2E_STAGES]
        tds += [td(s["total"]["median_ms"], 3), td(s["total"]["p99_ms"], 3), td(s.get("images_per_s"), 1)]
        rows.append("<tr>" + "".join(tds + [td((s.get("pipeline") or {}).get("images_per_s"), 1)]) + "</tr>")
    table = f'<table class="sortable e2e">{header(E2E_COLUMNS)}<tbody>{"".join(rows)}</tbody></table>'
    return (
        f"<details open><summary>End to end from image files ({len(cells)} cells; medians)</summary>{table}</details>"
    )


SCENARIO_COLUMNS = [("cell", "cell"), ("scenario", "scenario"), ("result", "result"), ("headline", "headline"),
                    ("unit", "unit"), ("bound", "bound ms"), ("p99", "p99 ms"), ("duration", "duration s"),
                    ("note", "compliance"), ("reasons", "LoadGen's reasons")]  # fmt: skip
SCENARIOS = ("singlestream", "multistream", "server", "offline")


def _scenario_row(r: Record, run: Record) -> str:
    result = str(run.get("result") or "?")
    headline = run.get("headline")
    shown = "-" if headline is None else f"{float(headline):.2f}" + ("" if result == "VALID" else f" ({result})")
    tds = [text_td(cell_label(r, config=True)), text_td(run.get("scenario")), text_td(result)]
    tds.append(f'<td data-value="{_num(headline)[0] if result == "VALID" else ""}">{e(shown)}</td>')
    tds += [text_td(run.get("unit")), td(run.get("max_latency_ms"), 1), td(run.get("p99_ms"), 3)]
    tds += [td(run.get("duration_s"), 1), text_td(run.get("note") or "")]
    return f'<tr class="{e(result.lower())}">' + "".join(tds + [text_td("; ".join(run.get("reasons") or []))]) + "</tr>"


def scenario_section(records: list[Record]) -> str:
    """The cells' MLPerf LoadGen runs (the spec key `scenarios:`): the Server chart and one row per run
    ('' when no cell has any). A run that is not VALID says INVALID (or FAILED) in its row and headline."""
    from omz_mobilenet.results.charts import to_svg
    from omz_mobilenet.results.report_charts import server_chart

    cells = [r for r in records if is_ok(r) and r.get("scenarios")]
    if not cells:
        return ""
    rows = [_scenario_row(r, run) for r in cells for name in SCENARIOS for run in scenario_runs(r, name)]
    first = cells[0]
    chart = server_chart(str(first["device"]), machine_of(first), "", cells)
    figure = f'<figure class="chart">{to_svg(chart)}</figure>' if chart is not None else ""
    table = f'<table class="sortable scenarios">{header(SCENARIO_COLUMNS)}<tbody>{"".join(rows)}</tbody></table>'
    return f'<h3>MLPerf LoadGen scenarios ({len(rows)} runs)</h3><div class="charts">{figure}</div>{table}'


def _machine_tds(cell: Optional[Record]) -> list[str]:
    if cell is not None and not is_ok(cell):
        return [text_td(cell["status"]), td(None), td(None)]
    top = ((cell or {}).get("accuracy") or {}).get("top1")
    return [td(top), td(latency(cell), 3), td(throughput(cell), 1)]


def comparison_table(records: list[Record], hosts: dict[str, str]) -> str:
    """The same (model, precision, device, config) measured on several machines, side by side."""
    by_cell: dict[tuple[str, ...], dict[str, Record]] = {}
    for r in records:
        by_cell.setdefault((r["model"], r["precision"], r["device"], r["key"]["config"]), {})[machine_of(r)] = r
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
        tds = [text_td(f"{cell_label(any_r, config=True)} {any_r['device']}")]
        for m in machines:
            tds += _machine_tds(per_machine.get(m))
        rows.append('<tr class="compare">' + "".join(tds) + "</tr>")
    return (
        f'<h2>Across machines</h2><table class="sortable compare">{header(head)}<tbody>{"".join(rows)}</tbody></table>'
    )


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li><code>{e(i)}</code></li>" for i in items) + "</ul>"


def provenance(records: list[Record]) -> str:
    head = [("machine", "machine")] + [(k, k) for k in PROVENANCE_KEYS]
    rows = []
    for machine, env in environments(records).items():
        values = [" ".join(env.get(k) or []) if k == "isa" else env.get(k) for k in PROVENANCE_KEYS]
        rows.append("<tr>" + "".join(text_td(v if v is not None else "-") for v in [machine, *values]) + "</tr>")
    datasets = sorted(
        {
            f"{a['dataset']} ({a['images']} images, fingerprint {r['key']['dataset_fingerprint']})"
            for r in records
            if (a := r.get("accuracy"))
        }
    )
    commands = list(dict.fromkeys(str(r.get("command")) for r in records if r.get("command")))
    return (
        f'<h2 id="provenance">Provenance</h2><h3>Machines</h3><div class="scroll"><table class="provenance">'
        f"{header(head)}<tbody>{''.join(rows)}</tbody></table></div>"
        f"<h3>Datasets</h3>{_list(datasets)}<h3>Commands</h3>{_list(commands)}"
    )
