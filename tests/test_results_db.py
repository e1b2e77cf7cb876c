"""The results database: storage, keys, schema versions, refusals, and the `results` export."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3

import pytest

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.db import SCHEMA_VERSION, ResultsDB
from tests.helpers.results_db import ENVIRONMENTS, make_cell, run_cmd, sample_cells, write_db  # noqa: F401


def test_round_trip_keeps_each_record_exactly(tmp_path):
    cells = sample_cells()
    write_db(tmp_path / "sub" / "results.db", cells)
    with ResultsDB.open(tmp_path / "sub" / "results.db", create=False) as db:
        assert db.cells() == cells
        assert [c["key"] for c in cells] == db.keys()
        assert len(db.cells(status="failed")) == 1
        assert all(db.has(c["key"]) for c in cells)


def test_same_key_is_skipped_unless_forced(tmp_path):
    cell = make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8)
    again = make_cell("mobilenet-v2-1.0-224", "FP32", top1=12.0)
    with ResultsDB.open(tmp_path / "r.db") as db:
        assert db.put(cell) is True
        assert db.put(again) is False
        assert db.cells()[0]["accuracy"]["top1"] == 71.8
        assert db.put(again, force=True) is True
        assert [c["accuracy"]["top1"] for c in db.cells()] == [12.0]
        db.put(make_cell("mobilenet-v1-0.25-128", "FP32"))
        db.put(cell, force=True)  # replaced in place: keeps its position
        assert [(c["model"], c["accuracy"]["top1"]) for c in db.cells()] == [
            ("mobilenet-v2-1.0-224", 71.8),
            ("mobilenet-v1-0.25-128", 70.0),
        ]
        other_machine = make_cell("mobilenet-v2-1.0-224", "FP32", machine="m2")
        assert not db.has(other_machine["key"])
        assert db.put(other_machine) is True and len(db) == 3


def test_wal_mode_and_schema_version_are_stored(tmp_path):
    write_db(tmp_path / "r.db", sample_cells()[:1])
    conn = sqlite3.connect(tmp_path / "r.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    conn.close()


def test_another_schema_version_is_refused_and_left_untouched(tmp_path):
    path = write_db(tmp_path / "r.db", sample_cells()[:2])
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value='7' WHERE key='schema_version'")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    for create in (True, False):
        with pytest.raises(ToolError) as info:
            ResultsDB.open(path, create=create)
        assert info.value.exit_code == 2
        assert "schema version 7, this tool reads 1; use another --db" in info.value.message
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "r.db"
    path.write_bytes(b"this is a CSV, not SQLite\n" * 40)
    with pytest.raises(ToolError) as info:
        ResultsDB.open(path)
    assert info.value.exit_code == 2 and "is not a results database" in info.value.message
    assert path.read_bytes() == b"this is a CSV, not SQLite\n" * 40


def test_a_corrupt_database_is_refused(tmp_path):
    path = write_db(tmp_path / "r.db", sample_cells())
    ResultsDB.open(path).close()  # checkpoints the WAL into the file
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # keep the SQLite header, wreck the schema page
    path.write_bytes(bytes(data))
    with pytest.raises(ToolError) as info:
        ResultsDB.open(path, create=False).cells()
    assert info.value.exit_code == 2 and "is not a results database" in info.value.message


def test_another_sqlite_database_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(ToolError, match="is not a results database"):
        ResultsDB.open(tmp_path / "other.db")


def test_a_read_only_database_is_refused_for_writing_but_readable(tmp_path):
    path = write_db(tmp_path / "r.db", sample_cells())
    ResultsDB.open(path).close()
    os.chmod(path, 0o444)
    try:
        with pytest.raises(ToolError) as info:
            ResultsDB.open(path)
        assert info.value.exit_code == 2
        assert str(path) in info.value.message and "read-only" in info.value.message
        assert "\n" not in info.value.message
        with ResultsDB.open(path, create=False, write=False) as db:
            assert len(db.cells()) == len(sample_cells())
    finally:
        os.chmod(path, 0o644)


def test_a_missing_database_is_refused_when_reading(tmp_path, capsys):
    with pytest.raises(ToolError, match="no results database at"):
        run_cmd(["results", str(tmp_path / "absent.db")])
    assert not (tmp_path / "absent.db").exists()


def test_json_export_is_one_envelope(tmp_path):
    db = write_db(tmp_path / "r.db", sample_cells())
    assert run_cmd(["results", str(db), "--json", "-o", str(tmp_path / "out" / "cells.json")]) == 0
    data = json.loads((tmp_path / "out" / "cells.json").read_text())
    assert data["schema_version"] == 1 and data["command"] == "results"
    assert data["environment"] == ENVIRONMENTS["m1"]
    assert data["records"] == sample_cells()


def test_csv_export_flattens_records(tmp_path, capsys):
    db = write_db(tmp_path / "r.db", sample_cells())
    assert run_cmd(["results", str(db), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(sample_cells())
    assert rows[0]["accuracy_top1"] == "71.8" and rows[0]["key_machine"] == "m1"
    assert rows[0]["environment_isa"] == "avx2" and len(rows[0]["bench_cdf_ms"].split()) == 101
    assert rows[-1]["status"] == "failed" and rows[-1]["accuracy"] == ""


def test_table_fits_in_100_columns(tmp_path, capsys):
    db = write_db(tmp_path / "r.db", sample_cells())
    assert run_cmd(["results", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["model", "precision", "device"]
    assert len(lines) == len(sample_cells()) + 2 and max(map(len, lines)) <= 100
    assert "71.80" in lines[1] and "failed" in lines[-2]


def test_an_unwritable_output_is_refused_before_work(tmp_path):
    db = write_db(tmp_path / "r.db", sample_cells())
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(ToolError) as info:
        run_cmd(["results", str(db), "--json", "-o", str(tmp_path / "plain-file" / "cells.json")])
    assert info.value.exit_code == 2 and "cells.json" in info.value.message
    with pytest.raises(ToolError, match="is a folder"):
        run_cmd(["report", str(db), "-o", str(tmp_path)])
