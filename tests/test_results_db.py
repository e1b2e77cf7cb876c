"""The results database: storage, keys, schema versions, refusals, and the `results` export."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sqlite3
from pathlib import Path
from typing import Any, Optional

import pytest

from omz_mobilenet.commands import results_cmds
from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.db import SCHEMA_VERSION, ResultsDB

ENVIRONMENTS = {
    "m1": {
        "hostname": "ci-zen3",
        "cpu_model": "AMD EPYC 7B13",
        "cores": 2,
        "isa": ["avx2"],
        "os": "Linux-6.1",
        "python": "3.11.7",
        "openvino": "2026.4.1",
        "nncf": "3.4.0",
        "toolkit_version": "0.1.0",
        "git_commit": "abc1234",
        "node_id": None,
    },
    "m2": {
        "hostname": "ray-zen5",
        "cpu_model": "AMD EPYC 9R45",
        "cores": 2,
        "isa": ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"],
        "os": "Linux-6.8",
        "python": "3.11.7",
        "openvino": "2026.4.1",
        "nncf": "3.4.0",
        "toolkit_version": "0.1.0",
        "git_commit": "abc1234",
        "node_id": "5f1e0c9a7d2b44e1",
    },
}


def _wilson(p: float, n: int) -> tuple[float, float]:
    z, q = 1.96, p / 100
    centre = (q + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(q * (1 - q) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(100 * (centre - half), 3), round(100 * (centre + half), 3)


def _bench(median: float, fps: float, spread: float) -> dict[str, Any]:
    cdf = [round(median * (0.8 + 0.4 * q / 100 + (0.6 * (q - 95) / 5 if q > 95 else 0.0)), 4) for q in range(101)]
    return {
        "latency_median_ms": median,
        "latency_p50_ms": median,
        "latency_p90_ms": cdf[90],
        "latency_p95_ms": cdf[95],
        "latency_p99_ms": cdf[99],
        "latency_p999_ms": round(cdf[100] * 0.995, 4),
        "latency_min_ms": cdf[0],
        "latency_max_ms": cdf[100],
        "throughput_fps": fps,
        "rounds": 3,
        "round_medians_ms": [median * 0.98, median, median * (1 + spread)],
        "spread": spread,
        "noisy": spread > 0.10,
        "cdf_ms": cdf,
    }


def make_cell(
    model: str,
    precision: str,
    *,
    device: str = "CPU",
    batch: int = 1,
    hint: str = "latency",
    machine: str = "m1",
    top1: Optional[float] = 70.0,
    median: float = 5.0,
    fps: Optional[float] = None,
    size: float = 7.0,
    status: str = "ok",
    reason: Optional[str] = None,
    spread: float = 0.03,
) -> dict[str, Any]:
    """A realistic-looking cell record, as the sweep writes it."""
    config = {"batch": batch, "hint": hint, "infer_precision": "f32"}
    config_json = json.dumps(config, sort_keys=True, separators=(",", ":"))
    accuracy = None
    if top1 is not None and status == "ok":
        (lo1, hi1), top5 = _wilson(top1, 1000), min(99.0, top1 + 19.0)
        lo5, hi5 = _wilson(top5, 1000)
        accuracy = {
            "dataset": "imagenet-eval",
            "images": 1000,
            "top1": top1,
            "top1_low": lo1,
            "top1_high": hi1,
            "top5": top5,
            "top5_low": lo5,
            "top5_high": hi5,
        }
    bench = (
        _bench(median, fps if fps is not None else round(1000.0 * batch / median, 1), spread)
        if status == "ok"
        else None
    )
    return {
        "key": {
            "model": model,
            "precision": precision,
            "device": device,
            "config": config_json,
            "ir_sha256": f"{abs(hash((model, precision))):064x}"[:64],
            "dataset_fingerprint": "ds-7c1e",
            "machine": machine,
        },
        "status": status,
        "reason": reason,
        "model": model,
        "precision": precision,
        "device": device,
        "config": config,
        "gflops": 0.6,
        "mparams": 3.5,
        "ir_size_mb": size,
        "compiled_precision": "u8:28 f32:3" if precision == "INT8" else "f32",
        "accuracy": accuracy,
        "bench": bench,
        "environment": ENVIRONMENTS[machine],
        "started_at": 1796000000.0,
        "finished_at": 1796000042.5,
        "command": f"omz-mobilenet sweep --models {model} --precision {precision} --device {device}",
    }


def sample_cells() -> list[dict[str, Any]]:
    return [
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=6.2, size=13.6),
        make_cell("mobilenet-v2-1.0-224", "FP16", top1=71.7, median=6.0, size=6.8),
        make_cell("mobilenet-v2-1.0-224", "INT8", top1=70.9, median=3.1, size=3.6, spread=0.14),
        make_cell("mobilenet-v1-0.25-128", "FP32", top1=41.5, median=0.6, size=1.9),
        make_cell("mobilenet-v2-1.0-224", "FP32", batch=4, hint="throughput", top1=71.8, median=15.0, fps=410.0),
        make_cell(
            "mobilenet-v1-0.50-160", "INT8", status="failed", reason="quantization failed: no calibration images"
        ),
    ]


def write_db(path: Path, cells: list[dict[str, Any]]) -> Path:
    with ResultsDB.open(path) as db:
        for cell in cells:
            db.put(cell)
    return path


def run_cmd(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    results_cmds.register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


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
