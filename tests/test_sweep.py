"""`sweep` end to end on real models and images: cells stored as their data is final, re-runs skip
them, cells naming the same IR share one measurement, a device's cells alternate rounds, too few
evaluated images is incomplete (exit 3), absent devices are stored unavailable, bad input is one
line, Ctrl-C and SIGKILL lose at most the block in progress, and the report of a real sweep opens in
headless Chromium with the Pareto set computed from the database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omz_mobilenet.results.db import ResultsDB
from tests.helpers.paths import ASSETS, IMAGES

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

SMALL, FLOAT = "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.25-224-tflite"
QUANT = "mobilenet-v1-0.50-160-quant"  # like SMALL, an already-quantized source (its FP32 is INT8-ASIS)
DATASET = IMAGES / "val_100_cropped_reencoded"


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sweep")


def sweep(root: Path, *args: str, db: str = "r.db", timeout: float = 600) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "sweep",
        *args,
        "--db",
        str(root / db),
        "--mirror",
        str(ASSETS),
        "--cache-dir",
        str(root / "cache"),
        "-o",
        str(root / "ir"),
        "--no-progress",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def base_args(*models: str) -> list[str]:
    return [
        "--models",
        *models,
        "--precision",
        "FP32,FP16",
        "--dataset",
        str(DATASET),
        "--limit",
        "40",
        "--time",
        "0.6",
    ]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert "Traceback" not in proc.stderr, proc.stderr
    assert lines and lines[-1].startswith("omz-mobilenet: error:"), proc.stderr
    return lines[-1]


@pytest.fixture(scope="module")
def swept(root) -> list[dict]:
    proc = sweep(root, *base_args(SMALL, FLOAT))
    assert proc.returncode == 0, proc.stderr
    with ResultsDB.open(root / "r.db", create=False) as db:
        return db.cells()


def test_every_cell_is_stored_once_with_accuracy_bench_and_machine(swept):
    assert sorted((c["model"], c["precision"]) for c in swept) == sorted(
        [(SMALL, "INT8-ASIS"), (SMALL, "FP16"), (FLOAT, "FP32"), (FLOAT, "FP16")]  # FP32 of a quantized model
    )
    for cell in swept:
        assert cell["status"] == "ok" and cell["accuracy"]["images"] == 40
        assert cell["accuracy"]["top1_low"] <= cell["accuracy"]["top1"] <= cell["accuracy"]["top1_high"]
        assert cell["bench"]["rounds"] == 3 and len(cell["bench"]["cdf_ms"]) == 101
        assert cell["environment"]["cpu_model"] and len(cell["key"]["ir_sha256"]) == 64
    # FP32 and FP16 of one model share the decoded images but not the IR
    assert len({c["key"]["ir_sha256"] for c in swept}) == 4


def test_accuracy_matches_the_accuracy_command(root, swept):
    """The sweep's Top-1 is the `accuracy` command's on the same images and IR."""
    import json

    out = root / "acc.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "omz_mobilenet",
            "accuracy",
            SMALL,
            "--dataset",
            str(DATASET),
            "--limit",
            "40",
            "--precision",
            "FP32",
            "--json",
            str(out),
            "--no-progress",
            "--mirror",
            str(ASSETS),
            "--cache-dir",
            str(root / "cache"),
            "-o",
            str(root / "ir"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    rows = data["records"] if isinstance(data, dict) else data
    cell = next(c for c in swept if c["model"] == SMALL and c["precision"] == "INT8-ASIS")  # its FP32, as imported
    assert rows[0]["top1"] == cell["accuracy"]["top1"]


def test_a_rerun_skips_stored_cells_quickly(root, swept):
    started = time.monotonic()
    proc = sweep(root, *base_args(SMALL, FLOAT))
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert "0 cells measured" in proc.stdout and "4 already stored" in proc.stdout
    assert took < 5.0, f"re-run took {took:.1f} s"


def test_force_measures_again_without_duplicates(root, swept):
    proc = sweep(
        root,
        "--models",
        SMALL,
        "--precision",
        "FP32",
        "--dataset",
        str(DATASET),
        "--limit",
        "40",
        "--time",
        "0.6",
        "--force",
    )
    assert proc.returncode == 0, proc.stderr
    with ResultsDB.open(root / "r.db", create=False) as db:
        assert len(db.cells()) == len(swept)


def test_absent_device_is_unavailable_and_incomplete(root, swept):
    args = [
        "--models",
        SMALL,
        "--precision",
        "FP32",
        "-d",
        "CPU,GPU",
        "--dataset",
        str(DATASET),
        "--limit",
        "40",
        "--time",
        "0.6",
    ]
    proc = sweep(root, *args)
    assert proc.returncode == 3, proc.stderr
    assert "unavailable: " in proc.stdout and "GPU" in proc.stdout
    with ResultsDB.open(root / "r.db", create=False) as db:
        (gpu,) = db.cells(status="unavailable")  # stored, so `results --status unavailable` shows it
    assert gpu["device"] == "GPU" and "GPU" in gpu["reason"] and gpu["bench"] is None
    again = sweep(root, *args, "--allow-missing")
    assert again.returncode == 0, again.stderr
    # Retried, not "done": the CPU cell is stored ok already, the GPU cell is tried (and missing) again.
    assert "1 already stored" in again.stdout and "1 unavailable" in again.stdout, again.stdout


def test_spec_file_errors_name_the_line(root, tmp_path):
    spec = tmp_path / "spec.yml"
    spec.write_text(f"models:\n  - {SMALL}\n  - mobilenet-v9\nprecision: [FP32]\n")
    line = one_error_line(sweep(root, str(spec)))
    assert f"{spec}:3" in line and "mobilenet-v9" in line
    spec.write_text(f"models: [{SMALL}]\nprecision: [FP33]\n")
    line = one_error_line(sweep(root, str(spec)))
    assert f"{spec}:2" in line and "FP33" in line
    spec.write_text(f"models: [{SMALL}]\nprecisions: [FP32]\n")
    line = one_error_line(sweep(root, str(spec)))
    assert f"{spec}:2" in line and "precisions" in line


def test_dataset_without_labels_is_refused_before_work(root, tmp_path):
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    (folder / "a.jpg").write_bytes((DATASET / sorted(os.listdir(DATASET))[0]).read_bytes() if False else b"")
    line = one_error_line(sweep(root, "--models", SMALL, "--dataset", str(folder), db="other.db"))
    assert str(folder) in line


def test_corrupt_and_foreign_databases_are_refused_untouched(root, tmp_path):
    corrupt = tmp_path / "bad.db"
    corrupt.write_bytes(b"not a database at all" * 100)
    before = corrupt.read_bytes()
    line = one_error_line(sweep(tmp_path, *base_args(SMALL), db="bad.db"))
    assert "bad.db" in line and corrupt.read_bytes() == before
    foreign = tmp_path / "v9.db"
    with ResultsDB.open(foreign):
        pass
    with sqlite3.connect(foreign) as conn:
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    line = one_error_line(sweep(tmp_path, *base_args(SMALL), db="v9.db"))
    assert "v9.db" in line and "9" in line


# Two devices: a device's cells are one block of alternating rounds, stored together when it ends,
# so the CPU cells are final (and stored) while the HETERO:CPU ones are still being measured.
BLOCKS = [
    "--models",
    SMALL,
    FLOAT,
    "--precision",
    "FP32",
    "-d",
    "CPU,HETERO:CPU",
    "--dataset",
    str(DATASET),
    "--limit",
    "40",
    "--time",
    "0.6",
]


def _start(root: Path, db: str, *extra: str) -> subprocess.Popen:
    """The BLOCKS sweep in the background, its stderr written to `<db>.err` (read while it runs)."""
    cmd = [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "sweep",
        *BLOCKS,
        "--time",
        "4",
        *extra,
        "--db",
        str(root / db),
        "--mirror",
        str(ASSETS),
        "--cache-dir",
        str(root / "cache"),
        "-o",
        str(root / "ir"),
        "--no-progress",
    ]
    with (root / f"{db}.err").open("w") as err:
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def _wait_for_line(path: Path, text: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if text in path.read_text():
            return
        time.sleep(0.1)
    raise AssertionError(f"never saw {text!r}; exit {proc.poll()}; stderr: {path.read_text()}")


def test_ctrl_c_keeps_finished_cells_and_exits_130(root, swept):
    proc = _start(root, "int.db")
    # Interrupted while the second block (HETERO:CPU) runs its rounds: the CPU block is stored by then.
    _wait_for_line(root / "int.db.err", "round 2/3 over 2 measurements on HETERO:CPU", proc)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    err = (root / "int.db.err").read_text()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    with ResultsDB.open(root / "int.db", create=False) as db:
        kept = db.cells()
    # The first block (CPU) is kept whole; the block in progress is not stored half-measured.
    assert sorted((c["model"], c["device"]) for c in kept) == [(SMALL, "CPU"), (FLOAT, "CPU")]
    assert all(c["status"] == "ok" for c in kept)


def test_ctrl_c_as_a_block_starts_exits_130_every_time(root, swept):
    """Ctrl-C just as the second device's block compiles: with an OpenVINO Core per measurement this
    died with SIGSEGV in about 4 of 10 tries; the sweep's one Core makes it exit 130 each time."""
    for attempt in range(4):
        proc = _start(root, f"start{attempt}.db", "--time", "0.6", "--limit", "20")
        _wait_for_line(root / f"start{attempt}.db.err", f"{FLOAT} FP32 CPU b1 latency f32", proc)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        assert proc.returncode == 130, f"attempt {attempt + 1}: exit {proc.returncode}"
        with ResultsDB.open(root / f"start{attempt}.db", create=False) as db:
            assert sorted(c["device"] for c in db.cells()) == ["CPU", "CPU"]


def test_sigkill_mid_block_loses_only_that_block(root, swept):
    proc = _start(root, "kill.db")
    _wait_for_line(root / "kill.db.err", "round 1/3 over 2 measurements on HETERO:CPU", proc)
    proc.kill()
    proc.wait(timeout=60)
    with ResultsDB.open(root / "kill.db", create=False) as db:
        first = {c["device"] + c["model"] for c in db.cells()}
    assert len(first) == 2  # the CPU block, whole
    rerun = sweep(root, *BLOCKS, db="kill.db")
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(first)} already stored" in rerun.stdout and f"{4 - len(first)} cells measured" in rerun.stdout
    with ResultsDB.open(root / "kill.db", create=False) as db:
        assert len(db.cells()) == 4


def test_report_of_a_real_sweep_in_chromium(root, swept, tmp_path):
    """The page of a real sweep: one row per cell, Pareto rows equal the front from the database."""
    from omz_mobilenet.results.pareto import pareto_ids
    from tests.helpers.browser import require_browser

    require_browser()
    with ResultsDB.open(root / "r.db", create=False) as db:
        swept = db.cells()  # as stored now (an earlier test re-measured one cell with --force)
    html = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet", "report", str(root / "r.db"), "-o", str(html)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    from tests.helpers.browser import CHROMEDRIVER, CHROMIUM

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        driver.get(html.as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "tr.cell")
        assert len(rows) == len(swept)
        marked = {r.get_attribute("data-cell-id") for r in rows if "pareto" in (r.get_attribute("class") or "")}
        assert marked == set(pareto_ids(swept))
        assert driver.find_elements(By.CSS_SELECTOR, "svg.pareto-chart[data-device='CPU']")
    finally:
        driver.quit()


def test_images_are_decoded_once_per_geometry():
    """FP32 and FP16 (and models of the same geometry) share decoded pixels; another geometry decodes anew."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.inputs.images import DecodedCache, load_for_model

    catalogue = load_catalogue()
    small, other = catalogue.get(SMALL), catalogue.get("mobilenet-v1-0.25-128")  # same 128 x 128 central crop
    files = sorted(DATASET.glob("*.JPEG"))[:5] or sorted(DATASET.iterdir())[:5]
    cache = DecodedCache()
    for entry in (small, small, other):
        for path in files:
            assert (cache(path, entry) == load_for_model(path, entry)).all()
    assert cache.decoded == len(files)
    for path in files:
        cache(path, catalogue.get(FLOAT))
    assert cache.decoded == 2 * len(files)


def test_a_tuned_configuration_records_what_tune_chose(root, tmp_path):
    """A bench configuration {tune: true} runs bench --tune for the cell within its latency limit."""
    spec = tmp_path / "tune.yml"
    spec.write_text(
        f"models: [{SMALL}]\nprecision: [FP32]\nbench:\n  - {{tune: true, max_latency_ms: 1000}}\n"
        f"dataset: {DATASET}\nlimit: 20\ntime: 0.6\n"
    )
    proc = sweep(root, str(spec), db="tune.db")
    assert proc.returncode == 0, proc.stderr
    with ResultsDB.open(root / "tune.db", create=False) as db:
        (cell,) = db.cells()
    assert cell["status"] == "ok" and cell["config"]["tune"] is True
    assert cell["tuned"].startswith(f"{SMALL} INT8-ASIS: INFERENCE_PRECISION_HINT=")
    assert cell["bench"]["latency_median_ms"] <= 1000


@pytest.fixture(scope="module")
def shared(root) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Three cells, two IRs: INT8 and FP32-INT8 of a float model name the same NNCF IR (calibrated on
    20 images of val_1300 named like no image of the evaluation set)."""
    taken = {p.name for p in DATASET.iterdir()}
    calibration = root / "calibration"
    calibration.mkdir()
    for image in sorted(p for p in (IMAGES / "val_1300_resized_227").glob("*.JPEG") if p.name not in taken)[:20]:
        (calibration / image.name).symlink_to(image)
    proc = sweep(
        root,
        "--models",
        FLOAT,
        "--precision",
        "FP32,FP32-INT8,INT8",
        "--calibration",
        str(calibration),
        "--dataset",
        str(DATASET),
        "--limit",
        "20",
        "--time",
        "0.6",
        db="shared.db",
    )
    assert proc.returncode == 0, proc.stderr
    with ResultsDB.open(root / "shared.db", create=False) as db:
        return proc, db.cells()


def test_cells_naming_the_same_ir_get_one_measurement(shared):
    proc, cells = shared
    assert len(cells) == 3 and all(c["status"] == "ok" for c in cells)
    named = {c["precision"]: c for c in cells}
    nncf, int8 = named["FP32-INT8"], named["INT8"]
    assert nncf["key"]["ir_sha256"] == int8["key"]["ir_sha256"] != named["FP32"]["key"]["ir_sha256"]
    assert nncf["shared_measurement"] == int8["shared_measurement"] == [f"{FLOAT} FP32-INT8", f"{FLOAT} INT8"]
    assert nncf["bench"] == int8["bench"] and nncf["rounds"] == int8["rounds"]  # one run, stored twice
    # Two measurements alternated in every round, for three cells.
    assert {r["of"] for c in cells for r in c["rounds"]} == {2}
    assert proc.stderr.count("one measurement for 2 cells") == 2, proc.stderr


def test_rounds_alternate_across_the_cells_of_a_device(shared):
    _proc, cells = shared
    runs = {c["precision"]: c["rounds"] for c in cells if c["precision"] in ("FP32", "INT8")}  # one per measurement
    assert all(len(rounds) == 3 for rounds in runs.values())
    for index in range(3):
        this = [rounds[index] for rounds in runs.values()]
        assert {r["round"] for r in this} == {index + 1} and sorted(r["position"] for r in this) == [1, 2]
        if index < 2:  # every measurement's round N ends before any round N+1 starts
            assert max(r["finished_at"] for r in this) <= min(
                rounds[index + 1]["started_at"] for rounds in runs.values()
            )
    for rounds in runs.values():  # the order is rotated: nobody always runs first
        assert rounds[0]["position"] != rounds[1]["position"]
    spans = sorted((r["started_at"], r["finished_at"]) for rounds in runs.values() for r in rounds)
    assert all(end <= start for (_s, end), (start, _e) in zip(spans, spans[1:], strict=False))
    for cell in cells:  # the spread across rounds is stored with each cell
        medians = [r["median_ms"] for r in cell["rounds"]]
        assert cell["bench"]["round_medians_ms"] == pytest.approx(medians, abs=1e-3)
        assert cell["bench"]["spread"] == pytest.approx(
            (max(medians) - min(medians)) / cell["bench"]["latency_median_ms"], abs=1e-3
        )


def test_the_progress_line_names_the_configuration_as_the_report_does(shared):
    proc, _cells = shared
    lines = [line for line in proc.stderr.splitlines() if line.startswith(f"{FLOAT} FP32 CPU")]
    assert lines and lines[0].startswith(f"{FLOAT} FP32 CPU b1 latency f32: Top-1 "), proc.stderr
    assert "{" not in proc.stderr, proc.stderr


def test_stored_cells_read_back_as_cell_records(root, shared):
    from dataclasses import fields

    from omz_mobilenet.results.db import KEY_FIELDS
    from omz_mobilenet.results.record import CellKey, CellRecord

    assert tuple(f.name for f in fields(CellKey)) == KEY_FIELDS
    _proc, cells = shared
    with ResultsDB.open(root / "shared.db", create=False) as db:
        records = db.records()
    assert all(isinstance(r, CellRecord) for r in records)
    assert [r.as_dict() for r in records] == cells
    assert [CellRecord.from_dict(c).key.as_dict() for c in cells] == [c["key"] for c in cells]


def _bad_images(folder: Path) -> Path:
    """Four labelled images and two listed files that cannot be decoded."""
    folder.mkdir()
    labels = {line.split("\t")[0]: line.split("\t")[3] for line in (DATASET / "FILES.tsv").read_text().splitlines()[1:]}
    lines = []
    for name in sorted(labels)[:4]:
        (folder / name).write_bytes((DATASET / name).read_bytes())
        lines.append(f"{name} {labels[name]}")
    (folder / "broken_1.JPEG").write_bytes((DATASET / sorted(labels)[0]).read_bytes()[:300])
    (folder / "broken_2.JPEG").write_text("not an image")
    (folder / "val.txt").write_text("\n".join([*lines, "broken_1.JPEG 1", "broken_2.JPEG 2"]) + "\n")
    return folder


def test_too_few_evaluated_images_is_incomplete_even_with_allow_missing(root, tmp_path):
    images = _bad_images(tmp_path / "bad")
    args = ["--models", SMALL, "--dataset", str(images), "--time", "0.3", "--skip-bad-images"]
    proc = sweep(root, *args, "--min-images", "100%", "--allow-missing", db="few.db")
    assert proc.returncode == 3, proc.stderr
    assert "incomplete: " in proc.stdout and "only 4 of 6 images evaluated" in proc.stdout, proc.stdout
    with ResultsDB.open(root / "few.db", create=False) as db:
        (cell,) = db.cells()
    assert cell["status"] == "incomplete" and "only 4 of 6 images evaluated, 2 skipped" in cell["reason"]
    assert cell["skipped_images"] == 2 and cell["accuracy"]["images"] == 4
    # Not done: a re-run under the default minimum (one image) measures it again, now ok, skips still counted.
    again = sweep(root, *args, db="few.db")
    assert again.returncode == 0 and "1 cells measured" in again.stdout, again.stdout + again.stderr
    with ResultsDB.open(root / "few.db", create=False) as db:
        (cell,) = db.cells()
    assert cell["status"] == "ok" and cell["skipped_images"] == 2
