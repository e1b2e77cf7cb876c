"""`pick`: the best Top-1 within a latency budget, speed ties named and settled by size, and why the others
were left out."""

from __future__ import annotations

import json

import pytest

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.pick import Budget, pick, tie_note
from tests.helpers.results_db import make_cell, run_cmd, write_db


def cells() -> list[dict]:
    return [
        make_cell("mobilenet-v2-1.4-224", "FP32", top1=74.9, median=11.0, size=24.0),  # p90 12.76: over 8 ms
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=6.2, size=13.6),  # p90 6.82
        make_cell("mobilenet-v2-1.0-224", "FP16", top1=71.8, median=5.9, size=6.8),  # same Top-1, faster
        make_cell("mobilenet-v2-1.0-224", "INT8", top1=70.9, median=3.1, size=3.6),
        make_cell("mobilenet-v1-0.50-160", "FP32", top1=59.0, median=1.2, size=5.3),
        make_cell("mobilenet-v1-0.25-128", "FP32", top1=41.5, median=0.6, size=1.9),
        make_cell("mobilenet-v2-1.0-224", "FP16", device="GPU", top1=71.8, median=1.0),
        make_cell("mobilenet-v1-1.0-224", "INT8", status="failed", reason="conversion failed"),
        make_cell("mobilenet-v1-1.0-224", "FP32", device="NPU", status="unavailable", reason="no NPU"),
        make_cell("mobilenet-v3-small", "FP32", top1=None, median=0.9),
    ]


@pytest.fixture
def db(tmp_path):
    return str(write_db(tmp_path / "results.db", cells()))


def test_best_top1_within_the_budget_and_the_measurably_faster_on_equal_top1():
    result = pick(cells(), Budget("CPU", 8.0))
    # Same Top-1: FP16 (rounds 5.81-5.99 ms) is measurably faster than FP32 (6.11-6.29 ms), no tie.
    assert result.best is not None and result.ties == []
    assert (result.best["model"], result.best["precision"]) == ("mobilenet-v2-1.0-224", "FP16")
    assert [(r["model"], r["precision"]) for r in result.runners_up] == [
        ("mobilenet-v2-1.0-224", "FP32"),
        ("mobilenet-v2-1.0-224", "INT8"),
        ("mobilenet-v1-0.50-160", "FP32"),
    ]
    for record in result.fits:
        assert record["bench"]["latency_p90_ms"] <= 8.0


def test_every_other_cell_is_explained():
    result = pick(cells(), Budget("cpu", 8.0))
    why = {(r["model"], r["precision"], r["device"]): reasons for r, reasons in result.excluded}
    assert why[("mobilenet-v2-1.4-224", "FP32", "CPU")][0] == "over latency (p90 12.760 ms > 8 ms)"
    assert why[("mobilenet-v2-1.0-224", "FP16", "GPU")] == ["wrong device (GPU)"]
    assert why[("mobilenet-v1-1.0-224", "INT8", "CPU")] == ["failed: conversion failed"]
    assert why[("mobilenet-v1-1.0-224", "FP32", "NPU")] == ["wrong device (NPU)"]
    assert why[("mobilenet-v3-small", "FP32", "CPU")] == ["no accuracy"]
    assert len(result.fits) + len(result.excluded) == len(cells())


def test_the_percentile_changes_what_fits():
    # INT8 v2: median 3.1, p90 3.41, p99 3.72+; a 3.2 ms budget fits only at p50
    tight = [c for c in cells() if c["precision"] == "INT8" and c["status"] == "ok"]
    assert pick(tight, Budget("CPU", 3.2, percentile=50)).best is not None
    assert pick(tight, Budget("CPU", 3.2, percentile=90)).best is None


def test_min_top1_and_max_size(db, capsys):
    assert run_cmd(["pick", db, "--max-latency", "8", "--max-size", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["pick"]["model"], out["pick"]["precision"]) == ("mobilenet-v2-1.0-224", "INT8")
    reasons = {(e["model"], e["precision"], e["device"]): e["reasons"] for e in out["excluded"]}
    assert reasons[("mobilenet-v2-1.0-224", "FP16", "CPU")] == ["over size (6.80 MB > 5 MB)"]
    assert run_cmd(["pick", db, "--max-latency", "1", "--min-top1", "40"]) == 0
    assert "pick: mobilenet-v1-0.25-128 FP32" in capsys.readouterr().out
    with pytest.raises(ToolError):
        run_cmd(["pick", db, "--max-latency", "1", "--min-top1", "50"])
    assert "under min-top1 (41.50 % < 50 %)" in capsys.readouterr().out


def test_text_output_lists_pick_runners_up_and_exclusions(db, capsys):
    assert run_cmd(["pick", db, "--device", "CPU", "--max-latency", "8"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pick: mobilenet-v2-1.0-224 FP16 (b1 latency f32) on CPU of ci-zen3: Top-1 71.80 %")
    assert "runners-up:\n  1. mobilenet-v2-1.0-224 FP32" in out and "  4. " not in out
    assert "mobilenet-v1-1.0-224 INT8 (b1 latency f32) on CPU of ci-zen3: failed: conversion failed" in out


def test_exit_1_with_one_line_when_nothing_fits(db, capsys):
    with pytest.raises(ToolError) as info:
        run_cmd(["pick", db, "--max-latency", "0.1"])
    assert info.value.exit_code == 1 and "\n" not in info.value.message
    assert info.value.message.startswith("nothing fits: none of the 8 cells on CPU has p90 latency <= 0.1 ms")
    out = capsys.readouterr().out
    assert "excluded:" in out and "pick:" not in out


def test_bad_budget_is_a_usage_error(db):
    with pytest.raises(SystemExit) as info:
        run_cmd(["pick", db, "--max-latency", "-3"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        run_cmd(["pick", db, "--max-latency", "5", "--percentile", "80"])


def _pair(fast_spread: float, slow_spread: float, rounds: int = 3) -> list[dict]:
    """Equal Top-1; the faster cell has the bigger IR."""
    return [
        make_cell("mobilenet-v2-1.0-224", "FP32", top1=71.8, median=5.9, size=13.6, spread=fast_spread, rounds=rounds),
        make_cell("mobilenet-v2-1.0-224", "FP16", top1=71.8, median=6.2, size=6.8, spread=slow_spread, rounds=rounds),
    ]


def test_overlapping_round_ranges_are_a_tie_named_and_settled_by_size(tmp_path, capsys):
    result = pick(_pair(0.08, 0.08), Budget("CPU", 8.0))  # 5.66-6.14 and 5.95-6.45 ms overlap
    assert result.best is not None and result.best["precision"] == "FP16"
    assert [r["precision"] for r in result.ties] == ["FP32"]
    assert tie_note(result).startswith("tie: equal Top-1 and equal in speed (round medians overlap: ")
    db = str(write_db(tmp_path / "r.db", _pair(0.08, 0.08)))
    assert run_cmd(["pick", db, "--max-latency", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("pick: mobilenet-v2-1.0-224 FP16") and lines[1].startswith("tie: ")
    assert "FP32 (b1 latency f32) [5.664, 6.136] ms" in lines[1] and "picked the smallest IR" in lines[1]
    assert run_cmd(["pick", db, "--max-latency", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tie"]["decided_by"] == "ir_size_mb" and [t["precision"] for t in out["tie"]["with"]] == ["FP32"]
    assert out["pick"]["latency_round_range_ms"] == [5.952, 6.448]


def test_separate_round_ranges_go_to_the_faster():
    result = pick(_pair(0.01, 0.01), Budget("CPU", 8.0))  # 5.87-5.93 and 6.17-6.23 ms
    assert result.best is not None and result.best["precision"] == "FP32"
    assert result.ties == [] and tie_note(result) == ""


def test_a_cell_without_an_interval_is_never_a_tie():
    result = pick(_pair(0.08, 0.08, rounds=1), Budget("CPU", 8.0))
    assert result.best is not None and result.best["precision"] == "FP32"  # faster by median, no tie claimed
    assert result.ties == []


def test_incomplete_and_unavailable_cells_are_never_picked(capsys, tmp_path):
    best_but_thin = make_cell(
        "mobilenet-v2-1.4-224", "FP32", status="incomplete", top1=75.0, median=2.0, images=12, reason="12 images"
    )
    missing = make_cell("mobilenet-v2-1.0-224", "FP16", status="unavailable", reason="no GPU", device="CPU")
    result = pick([*cells(), best_but_thin, missing], Budget("CPU", 8.0))
    assert (
        result.best is not None
        and result.best["precision"] == "FP16"
        and result.best["model"] == "mobilenet-v2-1.0-224"
    )
    why = {(r["model"], r["status"]): reasons for r, reasons in result.excluded}
    assert why[("mobilenet-v2-1.4-224", "incomplete")] == ["incomplete: 12 images"]
    assert why[("mobilenet-v2-1.0-224", "unavailable")] == ["unavailable: no GPU"]
    db = str(write_db(tmp_path / "r.db", [best_but_thin, missing]))
    with pytest.raises(ToolError) as info:
        run_cmd(["pick", db, "--max-latency", "8", "--json"])
    assert info.value.exit_code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["pick"] is None and {e["status"] for e in out["excluded"]} == {"incomplete", "unavailable"}


@pytest.mark.parametrize("value", ["150", "-5", "100.5", "nan", "inf", "abc"])
def test_min_top1_outside_0_to_100_is_one_line_exit_2(db, value, capsys):
    from omz_mobilenet.cli import main

    with pytest.raises(SystemExit) as info:
        main(["pick", db, "--max-latency", "8", f"--min-top1={value}"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--min-top1" in err[0] and repr(value) in err[0]


def test_min_top1_accepts_0_to_100(db):
    assert run_cmd(["pick", db, "--max-latency", "8", "--min-top1", "0"]) == 0
    assert run_cmd(["pick", db, "--max-latency", "8", "--min-top1", "71.8"]) == 0
    with pytest.raises(ToolError) as info:  # a valid value nothing reaches: exit 1, not a usage error
        run_cmd(["pick", db, "--max-latency", "8", "--min-top1", "100"])
    assert info.value.exit_code == 1 and "Top-1 >= 100 %" in info.value.message
