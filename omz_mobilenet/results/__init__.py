"""The results database of a sweep, and what is read from it: export, report, pick.

A cell record is a plain JSON-able dict (see `db.KEY_FIELDS` for its key); the sweep writes
them with `ResultsDB.put`, everything else reads them with `ResultsDB.cells`.
"""

from omz_mobilenet.results.db import SCHEMA_VERSION, ResultsDB

__all__ = ["SCHEMA_VERSION", "ResultsDB"]
