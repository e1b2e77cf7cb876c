"""The results database of a sweep, and what is read from it: export, report, pick.

- `record.py`: the stored cell (`CellRecord`, its key `CellKey`, the status words);
  `db.py`: the SQLite store (the sweep writes with `ResultsDB.put`, readers open it read-only).
- Readers take records as plain JSON dicts: `fields.py` reads a cell's figures and its speed interval,
  `labels.py` names cells and configurations, `grouping.py` groups them by device, machine and family.
- `pareto.py` (fronts and speed ties), `pick.py` (the `pick` command), `export.py` (`results`).
- The report: `report_page.py` (the HTML page) with `report_tables.py` and `report_charts.py`,
  `charts.py` (the SVG renderer), `charts_png.py` (`--png`) and `report_md.py` (`--markdown`).
"""

from omz_mobilenet.results.db import SCHEMA_VERSION, ResultsDB

__all__ = ["SCHEMA_VERSION", "ResultsDB"]
