"""`bench --scenario`: MLPerf LoadGen on a real IR (mobilenet-v1-0.25-128-quant) over real images.

Short exploratory runs; the machine is shared, so every comparison with plain bench is made in the same
test, bench and LoadGen alternated, with the band measured here (loaded 2-core machine, 2026-12-03):
Offline 1400-1433 samples/s against bench's throughput-hint rounds 1515-2228 FPS (LoadGen's Python
callbacks cost 10-35 %); SingleStream p50 0.94 ms against bench's median 0.96 ms (pinning off), p90
1.17-1.25 ms against bench's 6.9-9.7 ms (bench's synchronous loop has the longer tail under load).
mlperf_loadgen missing fails here with how to install it (`pip install -e '.[loadgen]'`), never skips.
"""

from __future__ import annotations

import json
import shutil

import pytest

from omz_mobilenet.cli import main
from tests.helpers.paths import ASSETS, IMAGES, error_lines

MODEL = "mobilenet-v1-0.25-128-quant"
DATASET = IMAGES / "val_100_cropped_reencoded"


def test_loadgen_is_installed():
    try:
        import mlperf_loadgen  # noqa: F401
    except ImportError:
        pytest.fail(
            "mlperf_loadgen is missing: `.venv/bin/pip install mlcommons-loadgen` or `pip install -e '.[loadgen]'`"
        )


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("loadgen")
    locations = ["--mirror", str(ASSETS), "--cache-dir", str(root / "cache"), "-o", str(root / "ir")]
    assert main(["convert", MODEL, *locations]) == 0
    return {"root": root, "locations": locations}


def run(dirs, capsys, *args: str) -> tuple[int, str, dict]:
    """bench with --json; (exit code, stdout, the first record)."""
    out = dirs["root"] / "out.json"
    out.unlink(missing_ok=True)
    code = main(["bench", MODEL, *args, "--json", str(out), *dirs["locations"]])
    printed = capsys.readouterr().out
    return code, printed, json.loads(out.read_text())["records"][0] if out.exists() else {}


def scenario(dirs, capsys, name: str, *args: str) -> tuple[int, str, dict]:
    return run(dirs, capsys, "--scenario", name, "--dataset", str(DATASET), *args)


def test_offline_within_bench_throughput_spread(dirs, capsys):
    fps, offline = [], []
    for _ in range(2):  # alternated: the machine's load changes both alike
        code, _, bench = run(dirs, capsys, "--hint", "throughput", "--time", "3", "--inputs", "dataset", str(DATASET))
        assert code == 0
        fps += bench["round_fps"]
        code, printed, record = scenario(dirs, capsys, "offline", "--duration", "2")
        block = record["scenario"]
        assert code == 0 and block["result"] == "VALID" and "VALID" in printed
        assert block["headline"] == block["samples_per_s"] > 0
        offline.append(block["samples_per_s"])
    assert 0.5 * min(fps) <= min(offline) and max(offline) <= 1.15 * max(fps), (offline, fps)


def test_singlestream_p90_within_bench_latency_spread(dirs, capsys):
    """Alternated twice, like the Offline test: one noisy pair (a sub-millisecond p90 on a shared machine
    can double) must not decide; the band is the spread of both bench runs."""
    benches, blocks, printed = [], [], ""
    for _ in range(2):
        code, _, bench = run(dirs, capsys, "--time", "3", "--pinning", "off", "--inputs", "dataset", str(DATASET))
        assert code == 0
        benches.append(bench)
        code, printed, record = scenario(dirs, capsys, "singlestream", "--duration", "3")
        block = record["scenario"]
        assert code == 0 and block["result"] == "VALID", block["reasons"]
        assert block["headline"] == block["percentiles_ms"]["90.00"]
        blocks.append(block)
    p90 = [b["percentiles_ms"]["90.00"] for b in blocks]
    p50 = [b["percentiles_ms"]["50.00"] for b in blocks]
    assert min(b["latency_min_ms"] for b in benches) <= min(p90), (p90, benches)
    assert min(p90) <= 1.5 * max(b["latency_p90_ms"] for b in benches), (p90, [b["latency_p90_ms"] for b in benches])
    medians = [b["latency_median_ms"] for b in benches]
    assert 0.5 * min(medians) <= min(p50) and min(p50) <= 2 * max(medians), (p50, medians)
    assert "exploratory, not MLPerf-compliant" in printed and block["compliance"] == "exploratory, not MLPerf-compliant"
    assert record["environment"]["cpu_model"] and record["environment"]["isa"]  # the machine stamp is in the record


def test_multistream_reports_p99_of_8_sample_queries(dirs, capsys):
    code, printed, record = scenario(dirs, capsys, "multistream", "--duration", "5")
    block = record["scenario"]
    assert block["settings"]["samples_per_query"] == 8 and block["settings"]["scenario"] == "MultiStream"
    assert block["headline"] == block["percentiles_ms"]["99.00"] > 0
    # short runs may miss LoadGen's early-stopping count on a busy machine: then it must say INVALID
    assert (code, block["result"]) in ((0, "VALID"), (1, "INVALID")) and block["result"] in printed


def test_official_says_how_long():
    from omz_mobilenet.bench.loadgen import ScenarioOptions
    from omz_mobilenet.commands.bench_scenario import official_note

    assert "at least 10 minutes" in official_note(ScenarioOptions("offline", official=True))
    from omz_mobilenet.bench.loadgen.run import SEARCH_TRIES

    assert f"up to {SEARCH_TRIES}" in official_note(ScenarioOptions("server", official=True))
    assert official_note(ScenarioOptions("offline")) is None


def test_server_far_above_capacity_is_invalid(dirs, capsys):
    code, _, record = scenario(dirs, capsys, "offline", "--duration", "1")
    capacity = record["scenario"]["samples_per_s"]
    code, printed, record = scenario(
        dirs, capsys, "server", "--target-qps", str(round(4 * capacity)), "--max-latency", "10", "--duration", "1"
    )
    block = record["scenario"]
    assert code == 1 and block["result"] == "INVALID" and not block["valid"]
    assert "latency bound not met (performance constraints not satisfied)" in block["reasons"]
    assert "INVALID" in printed
    assert block["settings"]["latency_bound_ms"] == 10.0


def test_server_search_ends_valid(dirs, capsys, tmp_path):
    code, printed, record = scenario(
        dirs, capsys, "server", "--max-latency", "200", "--duration", "2", "--loadgen-out", str(tmp_path)
    )
    block = record["scenario"]
    assert code == 0 and block["result"] == "VALID", block["search"]
    assert block["search"] and any(t["result"] == "VALID" for t in block["search"])
    best = max(t["target_qps"] for t in block["search"] if t["result"] == "VALID")
    assert block["settings"]["target_qps"] == best and block["headline"] > 0
    assert "server search try 1" in printed
    assert (tmp_path / "try1" / "mlperf_log_summary.txt").is_file()
    # every try asked LoadGen for the queries its early stopping needs, so none was refused for being short
    from omz_mobilenet.bench.loadgen.run import early_stopping_minimum

    assert all(t["min_queries"] >= early_stopping_minimum() for t in block["search"])
    assert block["settings"]["min_query_count"] >= early_stopping_minimum()


def test_early_stopping_minimum_is_loadgens_own_count(dirs, capsys, tmp_path):
    """A Server run too short for early stopping (few queries, all under a generous bound): LoadGen's summary
    says how many queries it needs in all, and that is the count the search asks for up front."""
    from omz_mobilenet.bench.loadgen.logs import read_summary
    from omz_mobilenet.bench.loadgen.run import early_stopping_minimum

    code, _, record = scenario(
        dirs,
        capsys,
        "server",
        "--target-qps",
        "50",
        "--max-latency",
        "500",
        "--duration",
        "1",
        "--loadgen-out",
        str(tmp_path),
    )
    block = record["scenario"]
    assert code == 1 and block["reasons"] == ["early stopping not satisfied"], block["reasons"]
    assert block["queries_needed"] == read_summary(tmp_path)["queries_needed"] == early_stopping_minimum() == 459


def test_accuracy_mode_equals_accuracy(dirs, capsys, tmp_path):
    code, printed, record = scenario(dirs, capsys, "offline", "--accuracy", "--loadgen-out", str(tmp_path))
    assert code == 0, printed
    acc = record["scenario"]["accuracy"]
    out = dirs["root"] / "acc.json"
    assert main(["accuracy", MODEL, "--dataset", str(DATASET), "--json", str(out), *dirs["locations"]]) == 0
    capsys.readouterr()
    reference = json.loads(out.read_text())["records"][0]
    assert acc["images"] == acc["responses"] == reference["images"] == 100
    assert acc["top1"] == reference["top1"]
    assert acc["mlperf"]["rule"] == "98 % of the FP32 Top-1" and acc["mlperf"]["meets"] is True
    assert (tmp_path / "mlperf_log_accuracy.json").is_file()


def refused(capsys, *args: str) -> tuple[int, str]:
    """(exit code, stderr) of a run refused by argparse (SystemExit) or by a check (exit code)."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--scenario", "server", "--max-latency", "0"], "--max-latency"),
        (["--scenario", "server", "--target-qps", "0"], "--target-qps"),
        (["--scenario", "offline", "--duration", "0"], "--duration"),
        (["--scenario", "offline", "--official"], "1024"),
        (["--scenario", "singlestream", "--target-qps", "100"], "--target-qps"),
        (["--scenario", "offline", "--max-latency", "10"], "--max-latency"),
        (["--scenario", "offline", "--official", "--duration", "5"], "--duration"),
        (["--scenario", "offline", "--tune"], "--tune"),
        (["--scenario", "offline", "--batch", "4"], "--batch"),
        (["--duration", "5"], "--scenario"),
    ],
)
def test_bad_input_is_one_line(workdirs, capsys, args, words):
    code, err = refused(capsys, "bench", MODEL, "--dataset", str(DATASET), *args)
    assert code == 2 and len(error_lines(err)) == 1 and words in error_lines(err)[0], err
    assert "Traceback" not in err


def test_missing_dataset_and_too_few_images(workdirs, capsys, tmp_path):
    code, err = refused(capsys, "bench", MODEL, "--scenario", "offline")
    assert code == 2 and "--dataset" in error_lines(err)[0]
    few = tmp_path / "few"
    few.mkdir()
    for image in sorted(DATASET.glob("*.JPEG"))[:3]:
        shutil.copy(image, few)
    code, err = refused(capsys, "bench", MODEL, "--scenario", "multistream", "--dataset", str(few))
    assert code == 2 and len(error_lines(err)) == 1 and "has 3 image(s)" in err and "needs 8" in err, err


def test_ctrl_c_exits_130_without_a_record(dirs, tmp_path):
    """LoadGen's C++ call runs in a thread, so Ctrl-C reaches Python at once; the SUT then answers the rest
    empty, LoadGen returns, and the CLI exits 130 with nothing written (before: the run went on to its end
    and exited 0)."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run.json"
    command = [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "bench",
        MODEL,
        "--scenario",
        "offline",
        "--dataset",
        str(DATASET),
    ]
    command += ["--duration", "60", "--json", str(out), *dirs["locations"]]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background shell ignores SIGINT
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "LoadGen Offline" not in (line := process.stderr.readline()) and time.monotonic() < deadline:
        assert line, "bench ended before LoadGen started"
    time.sleep(2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    assert not out.exists()


def test_a_try_too_short_for_early_stopping_is_run_longer_not_judged_slow():
    """The Server search's rule: INVALID only for early stopping means too few queries, not too slow (a
    lower rate would give fewer still); INVALID for the latency bound means too slow."""
    from types import SimpleNamespace

    from omz_mobilenet.bench.loadgen.run import too_short

    assert too_short(SimpleNamespace(valid=False, reasons=["early stopping not satisfied"]))
    slow = ["latency bound not met (performance constraints not satisfied)", "early stopping not satisfied"]
    assert not too_short(SimpleNamespace(valid=False, reasons=slow))
    assert not too_short(SimpleNamespace(valid=True, reasons=[]))


def test_a_rerun_asks_for_loadgens_count_with_a_margin():
    from types import SimpleNamespace

    from omz_mobilenet.bench.loadgen.run import STRETCH_MARGIN, stretched_queries

    assert stretched_queries(SimpleNamespace(queries_needed=1000), 459) == round(STRETCH_MARGIN * 1000)
    assert stretched_queries(SimpleNamespace(queries_needed=500), 459) == 918  # at least twice the last try
    assert stretched_queries(SimpleNamespace(queries_needed=None), 459) == 918


def test_a_bound_under_the_fastest_query_ends_the_search():
    """Halving the rate cannot help when even the fastest query missed the bound: the search stops there
    instead of running ever slower tries (each at least early stopping's queries long)."""
    from types import SimpleNamespace

    from omz_mobilenet.bench.loadgen import ScenarioOptions
    from omz_mobilenet.bench.loadgen.run import hopeless

    opts = ScenarioOptions("server", max_latency_ms=0.01)
    assert hopeless(SimpleNamespace(min_ms=0.3), opts)
    assert not hopeless(SimpleNamespace(min_ms=0.3), ScenarioOptions("server", max_latency_ms=10))
    assert not hopeless(SimpleNamespace(min_ms=None), opts)
