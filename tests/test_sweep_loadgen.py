"""Issue 21, sweep and pick: MLPerf LoadGen scenarios per sweep cell, stored with the cell, drawn in the
report (the highest VALID Server QPS against the latency bound) and chosen by `pick --scenario server`.

The pick and report rules run on hand-made cells (INVALID, failed, missing and looser-bound runs, fast);
one small real sweep measures a Server scenario on a real IR with real images and goes through `results`,
`report` and `pick` as a user would.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest

from omz_mobilenet.errors import ToolError
from omz_mobilenet.results.db import ResultsDB
from omz_mobilenet.results.record import CellRecord
from tests.helpers.paths import IMAGES, error_lines
from tests.helpers.results_db import make_cell, run_cmd, write_db

MODEL = "mobilenet-v1-0.25-128-quant"
SET = IMAGES / "val_100_cropped_reencoded"


def server_run(bound: float, qps: Optional[float], result: str = "VALID", reasons: Optional[list[str]] = None) -> dict:
    """One stored Server block, as sweep/measure.py stores it."""
    return {
        "scenario": "server",
        "result": result,
        "reasons": reasons or [],
        "headline": qps,
        "unit": "queries/s",
        "max_latency_ms": bound,
        "target_qps": None,
        "qps": qps,
        "p50_ms": 1.0,
        "p90_ms": 2.0,
        "p99_ms": bound * 0.8 if result == "VALID" else bound * 3,
        "duration_s": 2.0,
        "compliant": False,
        "note": "exploratory, not MLPerf-compliant",
    }


def cell(model: str, runs: Optional[list[dict]], **kw: Any) -> dict:
    record = make_cell(model, "FP32", **kw)
    record["scenarios"] = runs
    return record


def cells() -> list[dict]:
    return [
        # most accurate, but its Server runs are INVALID: never picked, never drawn
        cell(
            "mobilenet-v2-1.0-224", [server_run(10, 900.0, "INVALID", ["99th percentile latency > bound"])], top1=71.8
        ),
        cell("mobilenet-v1-0.25-128", [server_run(5, 1500.0), server_run(10, 2100.0)], top1=41.5, median=0.6),
        cell("mobilenet-v1-0.50-160", [server_run(10, 1200.0)], top1=59.0, median=1.2),
        cell("mobilenet-v1-1.0-224", [server_run(20, 400.0)], top1=70.0, median=5.0),  # VALID only at a looser bound
        cell("mobilenet-v3-small-1.0-224", None, top1=67.5, median=1.4),  # swept without scenarios
        cell("mobilenet-v3-large-1.0-224", [server_run(10, None, "FAILED", ["loadgen: no images"])], top1=75.0),
    ]


@pytest.fixture()
def db(tmp_path) -> str:
    return str(write_db(tmp_path / "results.db", cells()))


def _pick_json(db: str, *extra: str) -> dict:
    return json.loads(_stdout(lambda: run_cmd(["pick", db, "--scenario", "server", "--json", *extra])))


def _stdout(action) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert action() == 0
    return buffer.getvalue()


def test_pick_server_chooses_the_highest_valid_qps_within_the_bound(db):
    out = _pick_json(db, "--max-latency", "10")
    assert out["pick"]["model"] == "mobilenet-v1-0.25-128"
    assert out["pick"]["server"]["qps"] == 2100.0 and out["pick"]["server"]["max_latency_ms"] == 10
    assert [r["model"] for r in out["runners_up"]] == ["mobilenet-v1-0.50-160"]
    # a stricter bound: only the 5 ms run of v1-0.25 fits, the 10 ms runs do not
    strict = _pick_json(db, "--max-latency", "5")
    assert strict["pick"]["server"]["qps"] == 1500.0 and strict["runners_up"] == []


def test_cells_without_a_valid_server_result_are_excluded_with_their_reason(db):
    reasons = {r["model"]: " ".join(r["reasons"]) for r in _pick_json(db, "--max-latency", "10")["excluded"]}
    assert "Server INVALID at 10 ms (99th percentile latency > bound)" in reasons["mobilenet-v2-1.0-224"]
    assert "VALID only at a bound of 20 ms > 10 ms" in reasons["mobilenet-v1-1.0-224"]
    assert "no Server result (sweep with the spec key scenarios: [server])" in reasons["mobilenet-v3-small-1.0-224"]
    assert "Server FAILED at 10 ms (loadgen: no images)" in reasons["mobilenet-v3-large-1.0-224"]


def test_pick_server_text_says_valid_and_exploratory(db, capsys):
    assert run_cmd(["pick", db, "--scenario", "server", "--max-latency", "10"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("pick: mobilenet-v1-0.25-128 FP32")
    assert "Server 2100.0 QPS VALID at p99 <= 10 ms, exploratory, not MLPerf-compliant" in first


def test_pick_server_min_top1_and_nothing_fits(db, capsys):
    assert _pick_json(db, "--max-latency", "10", "--min-top1", "50")["pick"]["model"] == "mobilenet-v1-0.50-160"
    with pytest.raises(ToolError) as caught:
        run_cmd(["pick", db, "--scenario", "server", "--max-latency", "1"])
    assert caught.value.exit_code == 1
    assert "has a VALID Server result at a latency bound <= 1 ms" in caught.value.message


def test_pick_server_refuses_the_e2e_metric(db):
    with pytest.raises(ToolError) as caught:
        run_cmd(["pick", db, "--scenario", "server", "--max-latency", "10", "--metric", "e2e"])
    assert caught.value.exit_code == 2 and "--metric e2e" in caught.value.message


def test_report_draws_valid_server_qps_and_marks_invalid(db, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert run_cmd(["report", db, "-o", str(out)]) == 0
    page = out.read_text()
    assert 'class="server-chart"' in page or "server-chart" in page
    assert "MLPerf Server QPS vs latency bound, CPU" in page
    chart = page[page.index("MLPerf Server QPS vs latency bound") :]
    chart = chart[: chart.index("</svg>")]
    assert "2100.0 QPS VALID at p99 &lt;= 10 ms" in chart and "1500.0 QPS VALID at p99 &lt;= 5 ms" in chart
    assert "900" not in chart  # an INVALID run is never a point
    table = page[page.index('<table class="sortable scenarios">') :]
    table = table[: table.index("</table>")]
    invalid_row = next(row for row in table.split("<tr")[1:] if "mobilenet-v2-1.0-224" in row)
    assert "INVALID" in invalid_row and "900.00 (INVALID)" in invalid_row
    assert "exploratory, not MLPerf-compliant" in table


def test_a_report_without_scenarios_has_no_scenario_section(tmp_path):
    db = str(write_db(tmp_path / "plain.db", [make_cell("mobilenet-v1-0.25-128", "FP32")]))
    out = tmp_path / "plain.html"
    assert run_cmd(["report", db, "-o", str(out)]) == 0
    assert "MLPerf LoadGen scenarios" not in out.read_text()


def test_older_databases_read_scenarios_as_none(tmp_path):
    old = make_cell("mobilenet-v1-0.25-128", "FP32")  # written before the field existed: no "scenarios" key
    with ResultsDB.open(write_db(tmp_path / "old.db", [old]), create=False, write=False) as store:
        (stored,) = store.cells()
    assert "scenarios" not in stored and CellRecord.from_dict(stored).scenarios is None


# --- the spec: bad values are one line, exit 2, before any database or conversion -----------------------


def _spec(tmp_path, body: str) -> str:
    spec = tmp_path / "spec.yml"
    spec.write_text(f"models: [{MODEL}]\nprecision: [FP32]\n{body}")
    return str(spec)


@pytest.mark.assets
@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("dataset: {images}\nscenarios: [serverr]\n", 4, "scenarios.0"),
        ("dataset: {images}\nscenarios: [server]\nmax_latency_ms: 0\n", 5, "max_latency_ms"),
        ("dataset: {images}\nscenarios: [server]\nmax_latency_ms: [10, -2]\n", 5, "max_latency_ms"),
        ("dataset: {images}\nscenarios: [server]\nmax_latency_ms: 10\ntarget_qps: 0\n", 6, "target_qps"),
        ("dataset: {images}\nscenarios: [offline]\nduration_s: -1\n", 5, "duration_s"),
        ("dataset: {images}\nscenarios: [server]\n", 4, "server needs its latency bound"),
        ("dataset: {images}\nmax_latency_ms: 10\n", 4, "add scenarios: [server]"),
        ("dataset: {images}\nscenarios: [offline]\ntarget_qps: 100\n", 5, "add server to scenarios"),
        ("scenarios: [offline]\n", 3, "dataset: DIR"),
        ("dataset: {images}\nlimit: 4\nscenarios: [offline, multistream]\n", 5, "multistream needs 8 images"),
    ],
)
def test_bad_scenario_values_exit_2_before_any_database(mirror, cli, tmp_path, body, line, words):
    spec = _spec(tmp_path, body.format(images=SET))
    db = tmp_path / "never.db"
    code, _out, err = cli("sweep", spec, "--db", db, "--no-progress")
    (message,) = error_lines(err)
    assert code == 2 and "Traceback" not in err
    assert f"{spec}:{line}" in message and words in message, message
    assert not db.exists() and not (tmp_path / "ir").exists()


@pytest.mark.assets
def test_scenarios_on_ray_are_refused_in_one_line(mirror, cli, tmp_path):
    spec = _spec(tmp_path, f"dataset: {SET}\nscenarios: [offline]\n")
    code, _out, err = cli("sweep", spec, "--db", tmp_path / "never.db", "--ray", "local", "--no-progress")
    (message,) = error_lines(err)
    assert code == 2 and "runs MLPerf LoadGen on this machine only; run the sweep without --ray" in message
    assert not (tmp_path / "never.db").exists()


# --- a small real sweep: Server on a real IR and real images, then results, report and pick ---------------


@pytest.mark.assets
def test_a_real_sweep_with_server_then_results_report_and_pick(mirror, cli, tmp_path):
    spec = _spec(
        tmp_path,
        f"dataset: {SET}\nlimit: 40\ntime: 0.6\nrounds: 2\n"
        # 100 ms holds on a machine shared with other jobs; 4 s gives LoadGen's early stopping enough queries
        # at the search's lower rates; 0.01 ms no CPU meets, so that bound's runs are INVALID
        "scenarios: [server, offline]\nmax_latency_ms: [100, 0.01]\nduration_s: 4\n",
    )
    db = tmp_path / "r.db"
    code, out, err = cli("sweep", spec, "--db", db, "--no-progress")
    assert code == 0, err
    assert "server search try 1" in err  # the Server search logs each try

    code, out, err = cli("results", db, "--json")
    (stored,) = json.loads(out)["records"]
    runs = {(s["scenario"], s["max_latency_ms"]): s for s in stored["scenarios"]}
    assert set(runs) == {("server", 100), ("server", 0.01), ("offline", None)}
    loose, impossible, offline = runs[("server", 100)], runs[("server", 0.01)], runs[("offline", None)]
    assert loose["result"] == "VALID" and loose["qps"] > 0 and loose["p99_ms"] <= 100, loose
    assert loose["note"] == "exploratory, not MLPerf-compliant" and loose["search"]
    assert impossible["result"] == "INVALID" and impossible["reasons"]  # no CPU answers in 10 µs at p99
    assert offline["headline"] > 0 and offline["unit"] == "samples per second"

    report = tmp_path / "report.html"
    assert cli("report", db, "-o", report)[0] == 0
    page = report.read_text()
    assert "MLPerf Server QPS vs latency bound, CPU" in page
    table = page[page.index('<table class="sortable scenarios">') :]
    table = table[: table.index("</table>")]
    assert table.count("<tr") == 4 and "INVALID" in table  # header + three runs

    code, out, _err = cli("pick", db, "--scenario", "server", "--max-latency", "100", "--json")
    picked = json.loads(out)["pick"]
    assert code == 0 and picked["model"] == MODEL and picked["server"]["qps"] == loose["qps"]
    code, out, err = cli("pick", db, "--scenario", "server", "--max-latency", "1")
    assert code == 1 and "Server INVALID at 0.01 ms" in out and "VALID only at a bound of 100 ms > 1 ms" in out


def test_a_rerun_measures_stored_cells_that_lack_the_runs_the_spec_now_asks_for(tmp_path):
    from omz_mobilenet.settings import Settings
    from omz_mobilenet.sweep.context import ScenarioPlan, SweepContext
    from omz_mobilenet.sweep.local import is_done

    ctx = SweepContext(Settings(tmp_path, tmp_path, None), None, None, None, "tf", 1.0, 1, "test")
    plain = cell("mobilenet-v1-0.25-128", None)
    with_server = cell("mobilenet-v1-0.25-128", [server_run(10, 900.0, "INVALID")])
    assert is_done(plain, ctx) and is_done(with_server, ctx)  # no scenarios asked: stored ok cells are done
    ctx.scenarios = ScenarioPlan(("server",), (10.0,))
    assert not is_done(plain, ctx) and is_done(with_server, ctx)  # an INVALID run is a stored run, not missing
    ctx.scenarios = ScenarioPlan(("server", "offline"), (10.0, 5.0))
    assert not is_done(with_server, ctx)
    ctx.scenarios = ScenarioPlan(("server",), (10.0,))
    assert not is_done(cell("mobilenet-v1-0.25-128", [server_run(10, None, "FAILED", ["crashed"])]), ctx)
