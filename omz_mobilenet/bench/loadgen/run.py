"""One LoadGen run on a compiled IR (`run_scenario`) and the Server scenario's search for its highest
VALID QPS (`search_server_qps`). A short probe of the compiled IR first tells LoadGen what to expect
(Offline's expected QPS, SingleStream's expected latency, the search's starting rate)."""

from __future__ import annotations

import math
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.bench.loadgen.logs import accuracy_responses, detail_errors, read_summary
from omz_mobilenet.bench.loadgen.options import (
    HEADLINE,
    MLPERF_SAMPLES,
    MULTISTREAM_SAMPLES,
    ScenarioOptions,
    loadgen,
    settings_block,
    test_settings,
)
from omz_mobilenet.bench.loadgen.record import COMPLIANT, EXPLORATORY, ScenarioRecord
from omz_mobilenet.bench.loadgen.sut import Classify, SampleLibrary, SystemUnderTest
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import UsageError

Log = Callable[[str], None]
SEARCH_TRIES = 10  # Server search: runs at most
MAX_STRETCH = 8  # a try may run this many times --duration at most to gather early stopping's queries
STRETCH_MARGIN = 1.25  # a rerun asks for this much more than LoadGen's own count (a few more may run late)
SEARCH_PRECISION = 0.05  # stop when the VALID and INVALID rates are this close (relative)
PROBE_S = 0.5


@dataclass
class LoadgenTarget:
    """What a scenario runs on: the compiled IR, the image files of the QSL, and names for the record."""

    compiled: Any  # openvino.CompiledModel, batch 1
    files: list[Path]
    model: str
    precision: str
    device: str
    xml: str
    entry: Optional[ModelEntry] = None
    probe: Optional[tuple[float, float]] = None  # (samples/s, ms) once measured


def samples_needed(opts: ScenarioOptions) -> int:
    """The fewest images LoadGen will ask the QSL for."""
    if opts.official:
        return MLPERF_SAMPLES
    return MULTISTREAM_SAMPLES if opts.scenario == "multistream" else 1


def check_samples(opts: ScenarioOptions, available: int, dataset: str) -> None:
    needed = samples_needed(opts)
    if available < needed:
        why = "MLPerf's performance sample count (--official)" if opts.official else "one MultiStream query"
        raise UsageError(f"--dataset {dataset} has {available} image(s); {why} needs {needed}; use a larger folder")


def _library(target: LoadgenTarget) -> SampleLibrary:
    port = target.compiled.input(0)
    return SampleLibrary(target.files, target.entry, int(port.get_shape()[2]), port.get_element_type().to_dtype())


def _jobs(compiled: Any) -> int:
    return max(2, int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))


def probe(target: LoadgenTarget) -> tuple[float, float]:
    """(samples/s with the queue full, the fastest ms of one request alone), from PROBE_S of each."""
    import openvino as ov

    if target.probe is not None:
        return target.probe
    library = _library(target)
    indices = list(range(min(len(target.files), 16)))
    library.load(indices)
    request = target.compiled.create_infer_request()
    started, count, latency_ms = time.perf_counter(), 0, float("inf")
    while time.perf_counter() - started < PROBE_S or count < 3:
        began = time.perf_counter()
        request.infer({0: library.tensors[indices[count % len(indices)]]})
        latency_ms = min(
            latency_ms, (time.perf_counter() - began) * 1e3
        )  # the fastest: a busy machine inflates the mean
        count += 1
    queue = ov.AsyncInferQueue(target.compiled, _jobs(target.compiled))
    started, count = time.perf_counter(), 0
    while time.perf_counter() - started < PROBE_S:
        queue.start_async({0: library.tensors[indices[count % len(indices)]]})
        count += 1
    queue.wait_all()
    target.probe = (count / (time.perf_counter() - started), latency_ms)
    return target.probe


def _log_settings(lg: Any, folder: Path) -> Any:
    output = lg.LogOutputSettings()
    output.outdir = str(folder)
    output.copy_summary_to_stdout = False
    output.copy_detail_to_stdout = False
    settings = lg.LogSettings()
    settings.log_output = output
    settings.enable_trace = False
    return settings


def _start(lg: Any, sut: SystemUnderTest, test_args: tuple) -> None:
    """StartTestWithLogSettings in a thread: the main thread, blocked in LoadGen's C++ call, would not see
    Ctrl-C until the end of the run (600 s with --official). On Ctrl-C the SUT answers everything at once,
    LoadGen returns, and KeyboardInterrupt goes on to the CLI (exit 130, no record)."""
    done = threading.Event()  # not Thread.join: after an interrupted join, CPython may not wait again

    def test() -> None:
        try:
            lg.StartTestWithLogSettings(*test_args)
        finally:
            done.set()

    threading.Thread(target=test, name="loadgen", daemon=True).start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        sut.stopping = True
        done.wait()
        raise


def _drive(target: LoadgenTarget, opts: ScenarioOptions, settings: Any, folder: Path, classify) -> SampleLibrary:
    """LoadGen's test itself: QSL and SUT constructed, the test run, both destroyed."""
    lg = loadgen()
    library = _library(target)
    synchronous = opts.scenario == "singlestream"
    sut = SystemUnderTest(
        target.compiled, library, _jobs(target.compiled), classify if opts.accuracy else None, synchronous
    )
    sut_handle = lg.ConstructSUT(sut.issue, sut.flush)
    count = min(len(target.files), MLPERF_SAMPLES)
    qsl = lg.ConstructQSL(len(target.files), count, library.load, library.unload)
    try:
        _start(lg, sut, (sut_handle, qsl, settings, _log_settings(lg, folder)))
    finally:
        sut.wait()
        lg.DestroyQSL(qsl)
        lg.DestroySUT(sut_handle)
    if sut.errors:
        raise RuntimeError(f"the SUT failed to answer LoadGen: {sut.errors[0]}")
    return library


def run_scenario(
    target: LoadgenTarget, opts: ScenarioOptions, classify: Optional[Classify] = None, log: Log = lambda _m: None
) -> ScenarioRecord:
    """One LoadGen run of `opts.scenario` on the target; logs in opts.out_dir (else a temporary folder)."""
    from omz_mobilenet.environment import environment

    check_samples(opts, len(target.files), str(Path(target.files[0]).parent) if target.files else "?")
    qps, latency_ms = probe(target)  # accuracy mode too: a Server at 1 QPS would take a second per image
    settings = test_settings(opts, qps, latency_ms)
    with tempfile.TemporaryDirectory(prefix="omz-loadgen-") as temp:
        folder = Path(opts.out_dir) if opts.out_dir is not None else Path(temp)
        folder.mkdir(parents=True, exist_ok=True)
        log(f"LoadGen {opts.lg_name} {'accuracy' if opts.accuracy else 'performance'} run on {target.model} ...")
        library = _drive(target, opts, settings, folder, classify)
        summary = read_summary(folder) if (folder / "mlperf_log_summary.txt").is_file() else {}
        errors = detail_errors(folder)
        responses = accuracy_responses(folder) if opts.accuracy else None
    field_name = HEADLINE[opts.scenario][0]
    if opts.scenario == "multistream" and field_name == "p99_ms":
        headline = summary.get("percentiles_ms", {}).get("99.00")
    elif field_name == "p90_ms":
        headline = summary.get("percentiles_ms", {}).get("90.00")
    else:
        headline = summary.get(field_name)
    return ScenarioRecord(
        model=target.model,
        precision=target.precision,
        device=target.device,
        xml=target.xml,
        scenario=opts.scenario,
        result=_result(opts, summary, responses, len(target.files), errors),
        reasons=list(summary.get("reasons", [])) + errors + _missing(responses, len(target.files)),
        compliance=COMPLIANT if opts.official and summary.get("valid") else EXPLORATORY,
        headline=None if opts.accuracy else headline,
        headline_name=HEADLINE[opts.scenario][1],
        percentiles_ms=summary.get("percentiles_ms", {}),
        samples_per_s=summary.get("samples_per_s"),
        qps=summary.get("qps"),
        mean_ms=summary.get("mean_ms"),
        min_ms=summary.get("min_ms"),
        max_ms=summary.get("max_ms"),
        settings=settings_block(opts, settings, min(len(target.files), MLPERF_SAMPLES)),
        log_dir=str(folder.resolve()) if opts.out_dir is not None else None,
        environment=environment(),
        samples_loaded=library.loads,
        accuracy={"responses": responses} if responses is not None else None,
        queries_needed=summary.get("queries_needed"),
    )


def _missing(responses: Optional[dict], samples: int) -> list[str]:
    if responses is None or len(responses) == samples:
        return []
    return [f"accuracy mode: {len(responses)} responses for {samples} samples"]


def _result(opts: ScenarioOptions, summary: dict, responses: Optional[dict], samples: int, errors: list) -> str:
    """LoadGen's VALID/INVALID; accuracy mode has none, so there VALID means every sample answered."""
    if opts.accuracy:
        return "VALID" if not errors and not _missing(responses, samples) else "INVALID"
    return "VALID" if summary.get("valid") else "INVALID"


def too_short(record: ScenarioRecord) -> bool:
    """INVALID only because LoadGen's early stopping could not yet bound the p99 (too few queries), while
    the latency bound itself held."""
    reasons = " ".join(record.reasons)
    return not record.valid and "early stopping" in reasons and "latency bound" not in reasons


def early_stopping_minimum(percentile: float = 0.99, confidence: float = 0.99) -> int:
    """The fewest queries with which LoadGen's early stopping can show the percentile under the bound: all of
    them under it, and the chance of that with a true percentile over the bound at most 1 - confidence
    (459 for Server's p99; LoadGen's summary gives the same count)."""
    return math.ceil(math.log(1 - confidence) / math.log(percentile))


def stretched_queries(record: ScenarioRecord, queries: int) -> int:
    """The min query count for a rerun of a try that was too short: LoadGen's own count with a margin."""
    if record.queries_needed is None:  # LoadGen gave no count: twice as long
        return 2 * queries
    return max(2 * queries, math.ceil(STRETCH_MARGIN * record.queries_needed))


def _first_queries(rate: float, opts: ScenarioOptions) -> int:
    """A try's first min query count: early stopping's minimum, unless that would run longer than
    MAX_STRETCH x --duration at this rate (such a try may then end INVALID for too few queries)."""
    return max(1, min(early_stopping_minimum(), math.floor(rate * opts.duration_s * MAX_STRETCH)))


def hopeless(record: ScenarioRecord, opts: ScenarioOptions) -> bool:
    """Even the fastest query missed the bound: no lower rate can hold it, the search stops."""
    bound = opts.max_latency_ms
    return bound is not None and record.min_ms is not None and record.min_ms > bound


def search_server_qps(target: LoadgenTarget, opts: ScenarioOptions, log: Log = lambda _m: None) -> ScenarioRecord:
    """The highest Server QPS whose run is VALID under opts.max_latency_ms, by bisection from the probe's
    throughput; every try is logged and kept in the record's `search`. Every try asks LoadGen for at least
    the queries early stopping needs, so a low rate is not refused for being short; a try refused only for
    that runs again at the same rate with LoadGen's own count (up to MAX_STRETCH x --duration), and is
    judged INVALID when even that is not enough. The record returned is the best VALID try, or the last
    INVALID one when no rate held the bound."""
    capacity, _ = probe(target)
    low: Optional[float] = None  # highest VALID rate so far
    high: Optional[float] = None  # lowest INVALID rate so far
    rate, best, last, tries = 0.8 * capacity, None, None, []
    queries = _first_queries(rate, opts)
    for number in range(1, SEARCH_TRIES + 1):
        folder = Path(opts.out_dir) / f"try{number}" if opts.out_dir is not None else None
        last = run_scenario(target, replace(opts, target_qps=round(rate, 2), out_dir=folder, min_queries=queries))
        p99 = last.percentiles_ms.get("99.00")
        seconds = max(opts.duration_s, queries / rate)
        tries.append(
            {
                "try": number,
                "target_qps": round(rate, 2),
                "result": last.result,
                "p99_ms": p99,
                "min_queries": queries,
                "duration_s": round(seconds, 1),
            }
        )
        log(f"server search try {number}: {rate:.1f} QPS, {queries} queries or more -> {last.result} (p99 {p99} ms)")
        more = stretched_queries(last, queries)
        if too_short(last) and more / rate <= opts.duration_s * MAX_STRETCH:
            queries = more  # not too slow, too few queries to bound the p99: the same rate, longer
            continue
        if last.valid:
            low, best = rate, last
        else:
            high = rate
        if low is not None and high is not None and (high - low) / low < SEARCH_PRECISION:
            break
        if best is None and hopeless(last, opts):
            log(f"server search: the fastest query took {last.min_ms} ms, over the {opts.max_latency_ms} ms bound")
            break
        rate = (low + high) / 2 if low is not None and high is not None else (rate * 1.5 if high is None else rate / 2)
        queries = _first_queries(rate, opts)
    chosen = best if best is not None else last
    assert chosen is not None
    chosen.search = tries
    return chosen
