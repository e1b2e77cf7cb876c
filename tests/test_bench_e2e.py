"""`bench --e2e DIR`: end-to-end timing from image files (issue 20, item 1), on a real IR and real images.

- the stages of every image add up to its total, and the totals to the loop's wall time (within 5 %:
  the loop's own bookkeeping between images is all that is not in a stage);
- the decode stage agrees with an independent OpenCV timing of the same files (medians within 2x,
  alternating passes, on a shared 2-core machine);
- graph preprocessing (PrePostProcessor) gives the same Top-1 as host preprocessing and as `accuracy`,
  within the paired test verify uses (McNemar at verify's alpha and its margin);
- bad input is one line, exit 2, before any work (nothing converted).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.paths import IMAGES, error_lines

MODEL = "mobilenet-v1-0.25-128-quant"
SMALL = IMAGES / "val_original_20"
LABELLED = IMAGES / "val_100_cropped_reencoded"
STAGE_NAMES = ("read", "decode", "preprocess", "inference", "postprocess")


def _bench_json(cli, tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / "bench.json"
    code, _out, err = cli("bench", MODEL, "--niter", "20", "--rounds", "1", "--no-progress", "--json", out, *extra)
    assert code == 0, err
    return json.loads(out.read_text())["records"][0]


def _bench_json_process(tmp_path: Path, *extra: str) -> dict:
    """As _bench_json, in a process of its own, as a user runs it: the pipelined mode runs decoder threads
    beside OpenVINO's callbacks, and a native crash there must fail this test, not end the suite."""
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet.cli", "bench", MODEL, "--niter", "20", "--rounds", "1", "--no-progress"]
        + ["--json", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-2000:]}"
    return json.loads(out.read_text())["records"][0]


def test_stage_times_add_up_to_the_total_and_the_wall_time(mirror, tmp_path):
    record = _bench_json_process(tmp_path, "--e2e", str(SMALL), "--pipeline")
    stages = record["stages"]
    assert stages["placement"] == "host" and stages["images"] == 20 and stages["distinct_images"] == 20
    # per image the stages telescope to the total, so their means do (to the 4 decimals stored)
    stage_sum = sum(stages[name]["mean_ms"] for name in STAGE_NAMES)
    assert stage_sum == pytest.approx(stages["total"]["mean_ms"], abs=1e-3)
    # the wall time is measured apart from the stamps: it may exceed the totals only by loop overhead
    totals_s = stages["total"]["mean_ms"] * stages["images"] / 1e3
    assert totals_s <= stages["wall_s"] <= totals_s * 1.05
    assert stages["images_per_s"] == pytest.approx(stages["images"] / stages["wall_s"], rel=1e-2)
    for name in (*STAGE_NAMES, "total"):
        assert 0 < stages[name]["median_ms"] <= stages[name]["p90_ms"] <= stages[name]["p99_ms"]
    assert stages["pipeline"]["images"] == 20 and stages["pipeline"]["images_per_s"] > 0


def test_the_table_leads_with_end_to_end_numbers(mirror, cli, tmp_path):
    code, out, err = cli("bench", MODEL, "--niter", "10", "--rounds", "1", "--no-progress", "--e2e", str(SMALL))
    assert code == 0, err
    assert out.index("end to end from image files") < out.index("omz-mobilenet bench on CPU")


def _independent_decode_ms(paths: list[Path]) -> list[float]:
    import cv2

    times = []
    for path in paths:
        data = np.fromfile(str(path), dtype=np.uint8)
        started = time.perf_counter()
        assert cv2.imdecode(data, cv2.IMREAD_COLOR) is not None
        times.append((time.perf_counter() - started) * 1e3)
    return times


def _classifier(preprocess: str, folder: Path):
    """The e2e classifier of MODEL's IR (converted through the CLI's own path) for `folder`."""
    import openvino as ov

    from omz_mobilenet.bench.compiled import BenchTarget
    from omz_mobilenet.bench.e2e import E2EOptions, check_e2e_images, classifier, output_names
    from omz_mobilenet.bench.options import BenchOptions
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.pipeline import ensure_ir
    from omz_mobilenet.settings import Settings

    settings = Settings.resolve()
    entry = load_catalogue().get(MODEL)
    xml = ensure_ir(entry, "FP32", settings, lambda _m: None)
    paths, _problems = check_e2e_images(folder, False)
    e2e = E2EOptions(images=tuple(paths), folder=folder, preprocess=preprocess)
    target = BenchTarget(MODEL, "FP32", "FP32", Path(xml), entry)
    names = output_names(entry, settings, entry.output.classes)
    return classifier(ov.Core(), target, BenchOptions(niter=len(paths), warmup=2), e2e, names), paths


def test_decode_stage_agrees_with_an_independent_opencv_timing(mirror):
    from omz_mobilenet.bench.e2e import run_sequential
    from omz_mobilenet.bench.options import BenchOptions

    model, paths = _classifier("host", SMALL)
    e2e_medians, opencv_medians = [], []
    for _ in range(3):  # alternating passes, so a busy moment hits both sides
        opencv_medians.append(statistics.median(_independent_decode_ms(paths)))
        times = run_sequential(model, BenchOptions(niter=len(paths), warmup=0))
        e2e_medians.append(statistics.median(times.times["decode"]))
    ratio = statistics.median(e2e_medians) / statistics.median(opencv_medians)
    assert 0.5 <= ratio <= 2.0, (e2e_medians, opencv_medians)
    # and decoding is the stage that grows with the image: the 2816x2112 file decodes slowest
    big = max(range(len(paths)), key=lambda i: paths[i].stat().st_size)
    assert max(range(len(paths)), key=lambda i: times.times["decode"][i]) == big


def _accuracy_predictions(cli, tmp_path: Path) -> dict[str, dict]:
    predictions = tmp_path / "predictions.json"
    code, _out, err = cli("accuracy", MODEL, "--dataset", LABELLED, "--predictions", predictions, "--no-progress")
    assert code == 0, err
    return {row["image"]: row for row in json.loads(predictions.read_text()) if row["runtime"] == "ir"}


def test_graph_and_host_preprocessing_give_accuracys_top1_within_the_paired_test(mirror, cli, tmp_path):
    from omz_mobilenet.verify.criteria import ALPHA, max_loss_images
    from omz_mobilenet.verify.stats import fails_paired, paired_counts

    reference = _accuracy_predictions(cli, tmp_path)
    host, paths = _classifier("host", LABELLED)
    graph, _paths = _classifier("graph", LABELLED)
    labels = [reference[path.name]["label"] for path in paths]
    accuracy_right = [bool(reference[path.name]["top1_correct"]) for path in paths]
    host_top1 = [host.classify(path)[0][0] for path in paths]
    graph_top1 = [graph.classify(path)[0][0] for path in paths]
    # host preprocessing is accuracy's own path: the same top-1 wherever accuracy saw no tie
    untied = [i for i, path in enumerate(paths) if not reference[path.name]["tied_top1"]]
    assert [host_top1[i] for i in untied] == [reference[paths[i].name]["top1"] for i in untied]
    max_loss = max_loss_images(len(paths))
    for top1 in (host_top1, graph_top1):
        right = [prediction == label for prediction, label in zip(top1, labels, strict=True)]
        counts = paired_counts(accuracy_right, right)
        assert not fails_paired(counts.original_only, counts.ir_only, ALPHA, max_loss), counts
        assert not fails_paired(counts.ir_only, counts.original_only, ALPHA, max_loss), counts
    assert sum(g == h for g, h in zip(graph_top1, host_top1, strict=True)) >= 0.8 * len(paths)


def _refused(cli, args: list, out_dir: Path) -> str:
    code, out, err = cli(*args)
    assert code == 2, (out, err)
    lines = error_lines(err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert not (out_dir / MODEL).exists(), "nothing is converted before the input is checked"
    return lines[0]


def test_an_empty_folder_is_refused_before_any_work(mirror, cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    line = _refused(cli, ["bench", MODEL, "--e2e", empty, "--no-progress"], mirror[1])
    assert str(empty) in line and "no images" in line


def test_an_unreadable_image_is_refused_unless_skipped(mirror, cli, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for path in sorted(SMALL.glob("*.JPEG"))[:3]:
        shutil.copy(path, folder / path.name)
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    line = _refused(cli, ["bench", MODEL, "--e2e", str(folder), "--no-progress"], mirror[1])
    assert "broken.jpg" in line and "--skip-bad-images" in line
    record = _bench_json(cli, tmp_path, "--e2e", str(folder), "--skip-bad-images")
    assert record["stages"]["skipped_images"] == 1 and record["stages"]["distinct_images"] == 3


@pytest.mark.parametrize(
    "flags",
    [["--pipeline"], ["--preprocess", "graph"], ["--skip-bad-images"], ["--e2e", str(SMALL), "--batch", "2"]],
)
def test_end_to_end_flags_without_e2e_are_refused(mirror, cli, flags):
    line = _refused(cli, ["bench", MODEL, "--no-progress", *flags], mirror[1])
    assert "--e2e" in line


def test_a_sweep_stores_end_to_end_per_cell_and_pick_budgets_it(mirror, cli, tmp_path):
    """The spec key `e2e: DIR` times every cell end to end; the cell keeps it, `pick --metric e2e` budgets
    it (and excludes a cell without it, saying why), the report shows the stages."""
    from omz_mobilenet.results.db import ResultsDB

    db = tmp_path / "results.db"
    spec = tmp_path / "spec.yml"
    spec.write_text(
        f"models: [{MODEL}]\ndataset: {LABELLED}\nlimit: 20\ntime: 0.3\nrounds: 2\ndb: {db}\n"
        f"e2e: {SMALL}\ne2e_preprocess: graph\n"
    )
    code, _out, err = cli("sweep", spec, "--no-progress")
    assert code == 0, err
    with ResultsDB.open(db, create=False) as opened:
        (cell,) = opened.records()
    assert cell.e2e is not None and cell.e2e["placement"] == "graph" and cell.e2e["distinct_images"] == 20
    e2e_p90 = cell.e2e["total"]["p90_ms"]
    assert e2e_p90 > cell.bench["latency_p90_ms"]  # the files' path costs more than the inference alone
    code, out, err = cli("pick", db, "--max-latency", e2e_p90 * 1.01, "--metric", "e2e")
    assert code == 0 and out.startswith(f"pick: {MODEL}"), (out, err)
    code, out, err = cli("pick", db, "--max-latency", e2e_p90 * 0.5, "--metric", "e2e", "--json")
    assert code == 1 and "p90 end-to-end" in json.loads(out)["excluded"][0]["reasons"][0]
    page = tmp_path / "report.html"
    code, _out, err = cli("report", db, "-o", page)
    assert code == 0, err
    assert "End to end from image files (1 cells" in page.read_text()


def test_a_sweep_refuses_an_empty_e2e_folder_before_any_work(mirror, cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    spec = tmp_path / "spec.yml"
    spec.write_text(f"models: [{MODEL}]\ndb: {tmp_path / 'r.db'}\ne2e: {empty}\n")
    code, _out, err = cli("sweep", spec, "--no-progress")
    assert code == 2 and len(error_lines(err)) == 1 and f"{spec}:3: e2e:" in err, err
    assert not (tmp_path / "r.db").exists() and not (mirror[1] / MODEL).exists()


def test_pick_by_e2e_excludes_cells_swept_without_it(tmp_path, cli):
    from tests.helpers.results_db import make_cell, write_db

    db = tmp_path / "old.db"
    write_db(db, [make_cell(MODEL, "FP32")])
    code, out, _err = cli("pick", db, "--max-latency", 1000, "--metric", "e2e", "--json")
    assert code == 1
    assert "no p90 end-to-end latency" in json.loads(out)["excluded"][0]["reasons"][0]


@pytest.mark.assets
@pytest.mark.parametrize("kind", ["central_crop", "resize_short_crop"])
@pytest.mark.parametrize("crop_rule", ["tf", "accuracy-checker"])
def test_graph_preprocessing_gives_host_pixels_within_one_level(tmp_path, kind, crop_rule):
    """The in-graph crop and resize of an identity IR against inputs/images.apply_geometry on real images of
    several shapes (odd crop offsets included): the box computed in f32 gave pixels off by up to 187 levels."""
    import cv2
    import openvino as ov
    import openvino.opset13 as ops

    from omz_mobilenet.bench.graph_preprocess import graph_model
    from omz_mobilenet.catalogue import Geometry
    from omz_mobilenet.inputs.images import apply_geometry, ir_input

    size = 160
    parameter = ops.parameter([1, 3, size, size], ov.Type.u8, name="input")
    xml = tmp_path / "identity.xml"
    ov.save_model(ov.Model([ops.result(parameter)], [parameter]), str(xml), compress_to_fp16=False)
    entry = type("Entry", (), {"preprocessing": Geometry(kind=kind)})()
    core = ov.Core()
    compiled = core.compile_model(graph_model(core, xml, entry, crop_rule), "CPU")
    shapes = set()
    for path in sorted(SMALL.glob("*.JPEG"))[:8]:
        image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
        shapes.add(image.shape)
        graph = compiled(image[np.newaxis])[0].astype(int)
        host = ir_input([apply_geometry(image, entry.preprocessing, size, crop_rule)]).astype(int)
        assert np.abs(graph - host).max() <= 1, (path.name, image.shape)
    assert len(shapes) >= 4
