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
        assert "schema version 7, this tool reads 1; name another results database" in info.value.message
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


def test_table_leads_with_what_the_command_is_for_in_100_columns(tmp_path, capsys):
    db = write_db(tmp_path / "r.db", sample_cells())
    assert run_cmd(["results", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["model", "precision", "device", "status", "median", "ms", "FPS", "Top-1", "%", "reason"]
    assert len(lines) == len(sample_cells()) + 2 and max(map(len, lines)) <= 100
    first = lines[1].split()
    assert first[:4] == ["mobilenet-v2-1.0-224", "FP32", "CPU", "ok"] and first[4:] == ["6.200", "161.3", "71.80"]
    assert lines[-2].split()[3:8] == ["failed", "-", "-", "-", "quantization"]  # the reason, cut to fit
    assert lines[-2].endswith("\u2026") and "--wide adds" in lines[-1] and "(5 ok, 1 failed)" in lines[-1]


def test_wide_table_adds_the_rest_uncut(tmp_path, capsys):
    db = write_db(tmp_path / "r.db", sample_cells())
    assert run_cmd(["results", str(db), "--wide"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-10:] == ["config", "p90", "ms", "p99", "ms", "spread", "IR", "MB", "machine", "reason"]
    assert "b1 latency f32" in lines[1] and "ci-zen3" in lines[1] and "3.0%" in lines[1]
    assert "14.0% noisy" in lines[3]
    assert lines[-2].endswith("quantization failed: no calibration images")  # whole, not cut


def _statuses() -> list[dict]:
    return [
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=6.2),
        make_cell("mobilenet-v2-1.4-224", "FP32", status="incomplete", top1=75.0, median=8.0, images=12,
                  reason="12 images evaluated, fewer than --min-images 50"),
        make_cell("mobilenet-v2-1.0-224", "FP16", device="GPU", status="unavailable", reason="no GPU on this machine"),
    ]  # fmt: skip


def test_incomplete_and_unavailable_cells_are_shown_as_such_everywhere(tmp_path, capsys):
    db = str(write_db(tmp_path / "r.db", _statuses()))
    assert run_cmd(["results", db]) == 0
    rows = {
        line.split()[0] + " " + line.split()[2]: line.split() for line in capsys.readouterr().out.splitlines()[1:-1]
    }
    assert rows["mobilenet-v2-1.4-224 CPU"][3:8] == ["incomplete", "8.000", "125.0", "-", "12"]  # no Top-1 shown
    assert rows["mobilenet-v2-1.0-224 GPU"][3:] == ["unavailable", "-", "-", "-", "no", "GPU", "on", "this", "machine"]
    assert run_cmd(["results", db, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    assert [r["status"] for r in records] == ["ok", "incomplete", "unavailable"]
    assert run_cmd(["results", db, "--csv"]) == 0
    assert [r["status"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))] == [
        "ok",
        "incomplete",
        "unavailable",
    ]
    for status in ("incomplete", "unavailable"):
        assert run_cmd(["results", db, "--status", status, "--json"]) == 0
        assert [r["status"] for r in json.loads(capsys.readouterr().out)["records"]] == [status]


def _beside(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_read_only_commands_leave_nothing_beside_the_database(tmp_path, capsys):
    db = write_db(tmp_path / "data" / "r.db", sample_cells())
    assert _beside(db.parent) == ["r.db"]
    assert run_cmd(["results", str(db)]) == 0
    assert run_cmd(["results", str(db), "--json"]) == 0
    assert run_cmd(["pick", str(db), "--max-latency", "8"]) == 0
    assert run_cmd(["report", str(db), "-o", str(tmp_path / "out" / "r.html")]) == 0
    assert _beside(db.parent) == ["r.db"]  # no r.db-wal, no r.db-shm


def test_a_refused_truncated_database_leaves_nothing_beside_it(tmp_path):
    db = write_db(tmp_path / "r.db", sample_cells())
    db.write_bytes(db.read_bytes()[:1500])  # the SQLite header is intact, the first page is not
    for argv in (
        ["results", str(db)],
        ["pick", str(db), "--max-latency", "8"],
        ["report", str(db), "-o", str(tmp_path / "o" / "r.html")],
    ):
        with pytest.raises(ToolError) as info:
            run_cmd(argv)
        assert info.value.exit_code == 2 and str(db) in info.value.message
    assert _beside(tmp_path) == ["r.db"]  # nor the report's folder


def test_a_live_writer_is_read_through_its_own_wal_and_nothing_is_added(tmp_path, capsys):
    db = write_db(tmp_path / "r.db", sample_cells()[:1])
    with ResultsDB.open(db) as writer:  # a sweep still running: its -wal and -shm are beside the file
        writer.put(make_cell("mobilenet-v1-0.25-128", "INT8", top1=39.6))
        before = _beside(tmp_path)
        assert before == ["r.db", "r.db-shm", "r.db-wal"]
        assert run_cmd(["results", str(db), "--json"]) == 0
        models = [r["model"] for r in json.loads(capsys.readouterr().out)["records"]]
        assert models == ["mobilenet-v2-1.0-224", "mobilenet-v1-0.25-128"]  # the commit still in the -wal
        assert _beside(tmp_path) == before
    assert _beside(tmp_path) == ["r.db"]  # the writer, last out, removed its files


def test_a_writer_starting_after_a_reader_opened_is_seen(tmp_path):
    db = write_db(tmp_path / "r.db", sample_cells()[:1])
    with ResultsDB.open(db, create=False, write=False) as reader:  # no writer yet: the file alone, immutable
        assert len(reader) == 1 and _beside(tmp_path) == ["r.db"]
        with ResultsDB.open(db) as writer:  # a sweep starts: its commit sits in its -wal
            writer.put(make_cell("mobilenet-v1-0.25-128", "INT8", top1=39.6))
            assert [c["precision"] for c in reader.cells()] == ["FP32", "INT8"]
            assert len(reader) == 2 and reader.keys()[-1]["precision"] == "INT8"


def test_report_on_a_missing_database_creates_no_output_folders(tmp_path):
    outputs = ["-o", str(tmp_path / "html" / "r.html"), "--markdown", str(tmp_path / "md" / "s.md")]
    with pytest.raises(ToolError, match="no results database at"):
        run_cmd(["report", str(tmp_path / "absent.db"), *outputs, "--png", str(tmp_path / "png")])
    with pytest.raises(ToolError, match="no results database at"):
        run_cmd(["results", str(tmp_path / "absent.db"), "-o", str(tmp_path / "json" / "cells.json")])
    assert _beside(tmp_path) == []


def test_an_unwritable_output_is_refused_before_work(tmp_path):
    db = write_db(tmp_path / "r.db", sample_cells())
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(ToolError) as info:
        run_cmd(["results", str(db), "--json", "-o", str(tmp_path / "plain-file" / "cells.json")])
    assert info.value.exit_code == 2 and "cells.json" in info.value.message
    with pytest.raises(ToolError, match="is a folder"):
        run_cmd(["report", str(db), "-o", str(tmp_path)])


def test_an_unavailable_row_is_dropped_once_the_same_cell_has_run(tmp_path):
    """An unavailable cell is keyed with a placeholder IR digest (the IR could not be made); the cell
    that later runs has the real digest, so without this the stale row would still be listed."""
    db_path = tmp_path / "results.db"
    missing = make_cell("mobilenet-v2-1.0-224", "INT8", status="unavailable", reason="IR not made: no calibration")
    missing["key"]["ir_sha256"] = "none"
    other_model = make_cell("mobilenet-v1-0.25-128", "INT8", status="unavailable", reason="IR not made")
    other_model["key"]["ir_sha256"] = "none"
    write_db(db_path, [missing, other_model, make_cell("mobilenet-v2-1.0-224", "INT8", top1=70.9)])
    with ResultsDB.open(db_path) as db:
        left = db.cells(status="unavailable")
        assert [c["key"]["model"] for c in left] == ["mobilenet-v1-0.25-128"]
        assert [c["key"]["model"] for c in db.cells(status="ok")] == ["mobilenet-v2-1.0-224"]
