"""`sweep --ray` on a real three-node Ray cluster on 127.0.0.1 (ray.cluster_utils, real processes):
cells spread over the nodes, one measurement per node at a time, each cell stored once, pins honoured,
Ctrl-C keeps finished cells and a re-run resumes, a node killed mid-cell loses nothing, the report
names every node, and an unreachable address is one line, quickly.

All traffic stays on loopback: without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 Ray 2.60 replaces
127.0.0.1 by the machine's own address (off limits here), and it reads the variable at import.
"""

from __future__ import annotations

import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

import shutil  # noqa: E402
import signal  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from omz_mobilenet.results.db import ResultsDB  # noqa: E402
from tests.helpers.paths import ASSETS, IMAGES  # noqa: E402

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

try:
    from ray.cluster_utils import Cluster  # noqa: E402
except ImportError:  # not a skip: these tests must run in CI
    raise ImportError(
        "Ray is not installed: pip install 'omz-mobilenet[ray]' (or .venv/bin/pip install 'ray[default]>=2.40')"
    ) from None

SMALL, PINNED = "mobilenet-v1-0.25-128-quant", "mobilenet-v1-0.50-160-quant"
DATASET = IMAGES / "val_100_cropped_reencoded"
STATION_ROOT = Path(tempfile.gettempdir()) / "omz-mobilenet-ray"
# Ray notices a killed node through missed health checks: a few seconds here instead of ~30 s.
FAST_HEALTH = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000, "health_check_failure_threshold": 3}


@pytest.fixture(scope="module")
def cluster():
    """Head (kind_head) + two workers (kind_a, kind_b), one CPU each; every process stopped after."""
    lab = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {"kind_head": 1}, "_system_config": FAST_HEALTH},
    )
    try:
        nodes = {
            "kind_head": lab.head_node,
            "kind_a": lab.add_node(num_cpus=1, resources={"kind_a": 1}),
            "kind_b": lab.add_node(num_cpus=1, resources={"kind_b": 1}),
        }
        lab.wait_for_nodes()
        yield lab, nodes
    finally:
        lab.shutdown()


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ray_sweep")


def command(root: Path, address: str, *args: str, db: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "sweep",
        *args,
        "--ray",
        address,
        "--db",
        str(root / db),
        "--mirror",
        str(ASSETS),
        "--dataset",
        str(DATASET),
        "--limit",
        "20",
        "--time",
        "0.5",
        "--rounds",
        "2",
        "--no-progress",
    ]


def sweep(root: Path, address: str, *args: str, db: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command(root, address, *args, db=db), capture_output=True, text=True, timeout=timeout)


def stored(path: Path) -> list[dict]:
    with ResultsDB.open(path, create=False) as db:
        return db.cells()


def cell_of(record: dict) -> tuple:
    return record["model"], record["precision"], record["device"], record["key"]["config"]


@pytest.fixture(scope="module")
def swept(cluster, root) -> list[dict]:
    """Two cells free to go anywhere, two pinned (by their model) to the node labelled kind_b, and
    four on a device no node has (FPGA: no OpenVINO 2026 plugin, on any machine)."""
    lab, _nodes = cluster
    spec = root / "lab.yml"
    spec.write_text(f"models: [{SMALL}, {PINNED}]\nprecision: [FP32]\npin:\n  {PINNED}: kind_b\n")
    proc = sweep(
        root, lab.address, str(spec), "--hint", "latency,throughput", "-d", "CPU,FPGA", "--allow-missing", db="r.db"
    )
    assert proc.returncode == 0, proc.stderr
    unavailable = [line for line in proc.stdout.splitlines() if line.startswith("unavailable:")]
    assert len(unavailable) == 4 and all("FPGA: no node of the cluster has FPGA" in u for u in unavailable), proc.stdout
    records = stored(root / "r.db")
    missing = [r for r in records if r["status"] == "unavailable"]  # stored, for `results --status unavailable`
    assert len(missing) == 4 and all(
        r["device"] == "FPGA" and "no node of the cluster has FPGA" in r["reason"] for r in missing
    )
    return [r for r in records if r["status"] != "unavailable"]


def test_cells_spread_over_the_nodes_and_are_stored_once(cluster, swept):
    _lab, nodes = cluster
    assert Counter(cell_of(r) for r in swept) == Counter({c: 1 for c in map(cell_of, swept)})
    assert len(swept) == 2 * 2  # 2 models x 2 hints
    assert all(r["status"] == "ok" and r["accuracy"]["images"] == 20 for r in swept), [r["reason"] for r in swept]
    # Three idle nodes and more cells than nodes (the pinned ones first): each node gets a cell at the start.
    assert {r["environment"]["node_id"] for r in swept} == {n.node_id for n in nodes.values()}
    for record in swept:  # the key names the measuring node's machine, and the IR was hashed there
        assert record["key"]["machine"] != "" and len(record["key"]["ir_sha256"]) == 64
    # Each node converted on its own, in a fresh process: the same model gives the same IR everywhere.
    assert len({r["key"]["ir_sha256"] for r in swept if r["model"] == SMALL}) == 1
    assert len({r["key"]["machine"] for r in swept}) == 3


def test_a_node_measures_one_cell_at_a_time(cluster, swept):
    """The node labelled kind_b measures both pinned cells, in alternating rounds that never overlap."""
    _lab, nodes = cluster
    measured = Counter(r["environment"]["node_id"] for r in swept)
    assert measured[nodes["kind_b"].node_id] == 2, measured  # without a node of two cells this checks nothing
    spans = defaultdict(set)
    for record in swept:
        spans[record["environment"]["node_id"]] |= {(r["started_at"], r["finished_at"]) for r in record["rounds"]}
    assert len(spans[nodes["kind_b"].node_id]) == 2 * 2  # two measurements, two rounds each
    for node, intervals in spans.items():
        ordered = sorted(intervals)
        for (_s1, end), (start, _e2) in zip(ordered, ordered[1:], strict=False):
            assert end <= start, f"node {node}: measurements overlap ({end} > {start})"
    # The two alternated: both first rounds before either second round, the order rotated between them.
    pinned = [r["rounds"] for r in swept if r["model"] == PINNED]
    assert all(rnd["of"] == 2 for rounds in pinned for rnd in rounds)
    assert max(rounds[0]["finished_at"] for rounds in pinned) <= min(rounds[1]["started_at"] for rounds in pinned)
    assert all(rounds[0]["position"] != rounds[1]["position"] for rounds in pinned)


def test_a_pinned_model_runs_only_on_its_labelled_node(cluster, swept):
    _lab, nodes = cluster
    pinned = [r for r in swept if r["model"] == PINNED]
    assert len(pinned) == 2 and {r["environment"]["node_id"] for r in pinned} == {nodes["kind_b"].node_id}


def test_the_report_of_a_cluster_sweep_names_each_node(cluster, root, swept, tmp_path):
    _lab, nodes = cluster
    html = tmp_path / "report.html"
    proc = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet", "report", str(root / "r.db"), "-o", str(html)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page = html.read_text()
    for node in nodes.values():
        assert node.node_id[:12] in page, f"report does not name Ray node {node.node_id}"


def test_unreachable_address_is_one_line_within_30_s(root):
    started = time.monotonic()
    proc = sweep(root, "127.0.0.1:1", "--models", SMALL, db="unreachable.db", timeout=60)
    assert time.monotonic() - started < 30
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(lines) == 1 and "cannot reach the Ray cluster at 127.0.0.1:1" in lines[0], proc.stderr


def test_a_pin_naming_nothing_in_the_sweep_is_one_line(root):
    spec = root / "bad_pin.yml"
    spec.write_text(f"models: [{SMALL}]\npin:\n  mobilenet-v9: kind_b\n")
    proc = sweep(root, "127.0.0.1:1", str(spec), db="bad_pin.db", timeout=60)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "omz-mobilenet: error: pin: mobilenet-v9 is neither a model nor a device of this sweep"
    ], proc.stderr


def _wait(predicate, proc: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if proc.poll() is None:
        proc.kill()  # the driver; the cluster fixture stops the Ray processes
    out, err = proc.communicate(timeout=60)
    raise AssertionError(f"never saw {what}; exit {proc.returncode}; stdout {out}; stderr {err}")


def _count(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


FOUR = ("--models", SMALL, "--precision", "FP32,FP16", "--hint", "latency,throughput")


def test_ctrl_c_keeps_finished_cells_and_a_rerun_measures_only_the_rest(cluster, root):
    lab, _nodes = cluster
    db = root / "int.db"
    proc = subprocess.Popen(
        command(root, lab.address, *FOUR, "--time", "1.5", db="int.db"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait(lambda: _count(db) >= 1, proc, "a stored cell")
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err, err
    kept = stored(db)
    assert 1 <= len(kept) < 4 and all(r["status"] == "ok" for r in kept)
    again = sweep(root, lab.address, *FOUR, db="int.db")
    assert again.returncode == 0, again.stderr
    assert f"{4 - len(kept)} cells measured" in again.stdout and f"{len(kept)} already stored" in again.stdout, (
        again.stdout
    )
    after = stored(db)
    assert len(after) == 4 and len({cell_of(r) for r in after}) == 4
    assert [r for r in after if cell_of(r) in {cell_of(k) for k in kept}] == kept  # the kept ones untouched


def test_a_node_killed_mid_cell_still_gives_every_cell_once(cluster, root):
    """Runs last: it removes node kind_a from the module's cluster."""
    lab, nodes = cluster
    victim = nodes["kind_a"]
    workdir = STATION_ROOT / victim.node_id[:16]  # the station makes it when it starts fetching its first cell
    proc = subprocess.Popen(
        command(root, lab.address, *FOUR, "--time", "1.5", db="kill.db"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(workdir.exists, proc, f"node kind_a at work ({workdir})")
        lab.remove_node(victim, allow_graceful=False)
        out, err = proc.communicate(timeout=240)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # a killed station cannot remove its own folder
    assert proc.returncode == 0, err
    assert f"node {victim.node_id[:12]} lost while working on" in err, err
    records = stored(root / "kill.db")
    assert len(records) == 4 and len({cell_of(r) for r in records}) == 4, out
    assert all(r["status"] == "ok" for r in records), [r["reason"] for r in records]
    assert victim.node_id not in {r["environment"]["node_id"] for r in records}
