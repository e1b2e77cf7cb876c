"""`report`: one self-contained HTML page (inline SVG, CSS and JS; no network) from the results database.

The page: a summary, one section per (device, machine) with its Pareto, throughput and per-family
latency CDF charts, then every cell, machines side by side and provenance. Tables live in
`report_tables.py`, charts in `report_charts.py` and `charts.py`.
"""

from __future__ import annotations

from typing import Optional

from omz_mobilenet.results import charts
from omz_mobilenet.results.db import Record
from omz_mobilenet.results.grouping import environments, groups
from omz_mobilenet.results.labels import host_names, machine_label
from omz_mobilenet.results.pareto import pareto_ids, speed_ties
from omz_mobilenet.results.report_charts import cdf_charts, pareto_chart, throughput_chart
from omz_mobilenet.results.report_tables import cells_table, comparison_table, e, ladder_table, provenance

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1500px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
h3{font-size:15px}table{border-collapse:collapse;font-size:12px;margin:8px 0}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#f2f2f2;position:sticky;top:0}th[data-sort-key]{cursor:pointer}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.t,th.t{text-align:left}tr.pareto td{background:#eef7ee}tr.pareto td:first-child{font-weight:600}
tr.failed td,tr.unavailable td,tr.incomplete td{color:#999;font-style:italic}
.noisy{color:#c60;cursor:help}.tie{color:#36c;cursor:help}.charts{display:flex;flex-wrap:wrap;gap:12px}
figure.chart{margin:0}svg{background:#fff;border:1px solid #e4e4e4;font-size:11px;max-width:100%;height:auto}
svg .grid{stroke:#eee}svg .frame{fill:none;stroke:#888}svg .title{font-weight:600;font-size:12px}
svg .subtitle{font-size:10px;fill:#666}svg .label{font-size:10px;fill:#333}svg .limit-label{font-size:10px;fill:#666}
svg .err{stroke-width:1.2;opacity:.55}svg .limit{stroke:#888;stroke-dasharray:5 4}
svg .sweet{fill:none;stroke:#d62728;stroke-width:2.5}svg .sweet-label{fill:#d62728;font-weight:600}
svg .legend-item{cursor:pointer}svg .legend-item.off{opacity:.35}
.legend-list{max-height:130px;overflow-y:auto;font-size:11px;max-width:632px;border:1px solid #eee;padding:4px;
display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr))}
.legend-list label{display:block;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.note{color:#666;font-size:12px}.scroll{overflow-x:auto;max-width:100%}summary{cursor:pointer;font-size:13px}
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
  function show(fig, k, on){
    fig.querySelectorAll('g.series, .legend-item, input[data-key]').forEach(function(el){
      if (el.getAttribute('data-key') !== k) { return; }
      if (el.tagName === 'INPUT') { el.checked = on; }
      else if (el.classList.contains('series')) { el.style.display = on ? '' : 'none'; }
      else { el.classList.toggle('off', !on); }
    });
  }
  document.querySelectorAll('figure.chart').forEach(function(fig){
    fig.querySelectorAll('.legend-item').forEach(function(item){
      item.addEventListener('click', function(){ show(fig, item.getAttribute('data-key'), item.classList.contains('off')); });
    });
    fig.querySelectorAll('input[data-key]').forEach(function(box){
      box.addEventListener('change', function(){ show(fig, box.getAttribute('data-key'), box.checked); });
    });
    // Fonts differ between machines: a label that still covers an earlier one is left to its point's hover.
    var boxes = [];
    fig.querySelectorAll('svg text.label').forEach(function(t){
      var b = t.getBBox();
      var hit = boxes.some(function(o){ return b.x < o.x + o.width && o.x < b.x + b.width && b.y < o.y + o.height && o.y < b.y + b.height; });
      if (hit) { t.style.display = 'none'; t.classList.add('covered'); } else { boxes.push(b); }
    });
  });
})();
"""


def _legend_list(chart: charts.Chart) -> str:
    """A page legend for a chart with more entries than fit beside it: a scrolling list of switches."""
    if not chart.html_legend:
        return ""
    items = "".join(
        f'<label><input type="checkbox" data-key="{e(k)}"{" checked" if shown else ""}>'
        f'<span style="color:{c}">\u25a0</span> {e(k)}</label>'
        for k, c, shown in chart.legend()
    )
    shown = sum(1 for _, _, on in chart.legend() if on)
    note = f'<p class="note">{shown} of {len(chart.legend())} lines shown: tick a cell to draw it.</p>'
    return f'<div class="legend-list">{items}</div>{note}'


def figure(chart: charts.Chart) -> str:
    return f'<figure class="chart">{charts.to_svg(chart)}{_legend_list(chart)}</figure>'


def group_section(index: int, where: tuple[str, str, str, str], records: list[Record], limit: Optional[float]) -> str:
    """One (device, machine) group; `where` is (device, machine, its title, the charts' title suffix)."""
    device, machine, title, suffix = where
    figures = [figure(pareto_chart(device, machine, suffix, records))]
    figures.append(figure(throughput_chart(device, machine, suffix, records, limit)))
    cdfs = "".join(figure(c) for c in cdf_charts(device, machine, suffix, records))
    return (
        f'<section class="group" id="group-{index}" data-device="{e(device)}" data-machine="{e(machine)}">'
        f"<h2>{e(device)} on {e(title)}</h2>"
        f'<div class="charts">{"".join(figures)}</div>'
        f'<h3>Latency distributions</h3><div class="charts">{cdfs}</div>{ladder_table(records)}</section>'
    )


def _summary(records: list[Record], max_latency: Optional[float]) -> str:
    by_status: dict[str, int] = {}
    for r in records:
        by_status[str(r["status"])] = by_status.get(str(r["status"]), 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    limit = f"; sweet spot limit {max_latency:g} ms median latency" if max_latency is not None else ""
    return f'<p class="summary">{len(records)} cells ({counts}){e(limit)}.</p>'


def _sections(records: list[Record], hosts: dict[str, str], max_latency: Optional[float]) -> tuple[list[str], str]:
    envs = environments(records)
    several = len(envs) > 1
    sections, links = [], []
    for i, ((device, m), group) in enumerate(groups(records).items()):
        where = (device, m, machine_label(envs.get(m, {})), f" on {hosts[m]}" if several else "")
        sections.append(group_section(i, where, group, max_latency))
        links.append(f'<a href="#group-{i}">{e(device)} on {e(hosts[m])}</a>')
    links += ['<a href="#all-cells">all cells</a>', '<a href="#provenance">provenance</a>']
    return sections, f"<nav>{' | '.join(links)}</nav>"


def render(records: list[Record], max_latency: Optional[float] = None, title: str = "MobileNet results") -> str:
    hosts = host_names(records)
    sections, nav = _sections(records, hosts, max_latency)
    body = [
        f"<h1>{e(title)}</h1>",
        _summary(records, max_latency),
        nav,
        *sections,
        '<h2 id="all-cells">All cells</h2>',
        cells_table(records, pareto_ids(records), speed_ties(records), hosts),
        comparison_table(records, hosts),
        provenance(records),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(body)
        + f"\n<script>{JS}</script>\n</body></html>\n"
    )
