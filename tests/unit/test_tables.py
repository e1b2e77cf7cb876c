"""Tables fit a 100-column terminal with every model name whole; `--wide` shows every column."""

from __future__ import annotations

import os
import subprocess
import sys

from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.output import tables

LONG_NOTE = "cannot download mobilenet_v1_1.0_224.tgz: http://download.tensorflow.org/models/x.tgz: HTTP 404 " * 3


def _list(*extra: str, columns: str = "100") -> list[str]:
    env = {**os.environ, "COLUMNS": columns}
    env.pop("OMZ_MOBILENET_MODELS_YML", None)
    env.pop("OMZ_MOBILENET_CATALOGUE", None)
    result = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet.cli", "list", *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_list_fits_100_columns_with_every_model_name_whole():
    lines = _list()
    assert max(len(line) for line in lines) <= 100
    names = [m.name for m in load_catalogue().models]
    for name in names:
        assert any(f" {name} " in line for line in lines), name
    assert "--wide shows all" in " ".join(line.strip() for line in lines)


def test_wide_shows_every_column():
    lines = _list("--wide")
    header = next(line for line in lines if " name " in line and "license" in line)
    assert "gflops" in header and "source_precision" in header
    assert not any("--wide shows all" in line for line in lines)


def test_long_cells_are_cut_not_folded(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "100")
    tables.set_wide(False)
    rows = [
        {
            "model": "mobilenet-v1-0.25-224-tflite-with-a-long-name",
            "precision": "FP32",
            "status": "SKIPPED",
            "note": LONG_NOTE,
            "top1": 50.123,
            "top1_ref": 50.6,
            "top1_min": 50.1,
            "top5": None,
            "image_set": "val_1300",
        }
    ]
    tables.print_table("gate", rows * 3)
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    body = [line for line in lines if "mobilenet-v1-0.25-224-tflite-with-a-long-name" in line]
    assert len(body) == 3  # one line per row: nothing folded


def test_fit_columns_keeps_model_columns_and_drops_what_does_not_fit():
    rows = [{"model": "m" * 40, "a": "x" * 30, "b": "y" * 10, "c": "z" * 10}]
    kept, sizes = tables.fit_columns(rows, ["model", "a", "b", "c"], width=70)
    assert kept[0] == "model" and sizes["model"] == 40 and sizes["a"] == tables.MAX_CELL
    assert sum(sizes[c] + 3 for c in kept) + 1 <= 70
    kept, sizes = tables.fit_columns(rows, ["model", "a", "b", "c"], width=70, wide=True)
    assert kept == ["model", "a", "b", "c"] and sizes["a"] == 30


def test_tune_table_shows_the_figures_and_the_chosen_row_at_100_columns(monkeypatch, capsys):
    """`bench --tune` is for picking a configuration: median, FPS, the CHOSEN mark and the batch stay
    visible at 100 columns, even with the longest note."""
    import dataclasses

    from omz_mobilenet.bench.options import BenchConfig
    from omz_mobilenet.bench.record import BenchRecord
    from omz_mobilenet.bench.tune import Explored

    monkeypatch.setenv("COLUMNS", "100")
    tables.set_wide(False)
    blank = {f.name: None for f in dataclasses.fields(BenchRecord)}
    record = BenchRecord(**{**blank, "compiled_precision": "bf16", "streams": 2, "requests": 2, "batch": 4,
                            "latency_median_ms": 3.489, "throughput_fps": 1776.0, "runtime_precisions": "f32:27 bf16:1"})  # fmt: skip
    config = BenchConfig(hint="throughput", batch=4, infer_precision="bf16")
    rows = [
        Explored(config, record, fits=True, chosen=True, pareto=True).row(),
        Explored(config, record, pareto=True).row(),
    ]
    tables.print_table("bench --tune", rows)
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    header = next(line for line in lines if "median ms" in line)
    assert all(column in header for column in ("FPS", "note", "infer prec", "hint", "batch"))
    assert any("CHOSEN" in line for line in lines) and any("frontier over limit" in line for line in lines)
