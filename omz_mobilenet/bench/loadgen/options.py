"""What a LoadGen run is asked to do (`ScenarioOptions`) and the LoadGen `TestSettings` made from it.

Exploratory runs (the default) override LoadGen's minimums with `--duration` and one query; `--official`
keeps MLPerf's own minimums, read from the mlperf.conf compiled into LoadGen (the image-classification
entry, `resnet50`: MobileNet's own entry left the rules after v0.5 and the classification rules are the
same), so the run takes at least ten minutes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.errors import ToolError

SCENARIOS = ("singlestream", "multistream", "server", "offline")
LG_NAMES = {"singlestream": "SingleStream", "multistream": "MultiStream", "server": "Server", "offline": "Offline"}
# the headline figure of each scenario: (record field, what it is)
HEADLINE = {
    "singlestream": ("p90_ms", "90th percentile latency, ms"),
    "multistream": ("p99_ms", "99th percentile latency of 8-sample queries, ms"),
    "server": ("qps", "scheduled queries per second"),
    "offline": ("samples_per_s", "samples per second"),
}
MLPERF_MODEL = "resnet50"  # mlperf.conf's image-classification entry (module docstring)
MLPERF_SAMPLES = 1024  # performance_sample_count of the classification benchmarks
MLPERF_MIN_DURATION_S = 600.0
MULTISTREAM_SAMPLES = 8
DEFAULT_DURATION_S = 10.0
INSTALL = "install MLPerf LoadGen: `.venv/bin/pip install mlcommons-loadgen` (or `pip install -e '.[loadgen]'`)"


@dataclass(frozen=True)
class ScenarioOptions:
    scenario: str  # one of SCENARIOS
    duration_s: float = DEFAULT_DURATION_S  # LoadGen's min_duration in exploratory runs
    official: bool = False  # keep MLPerf's minimums (duration, query and sample counts)
    target_qps: Optional[float] = None  # Server's arrival rate; Offline's expected QPS
    max_latency_ms: Optional[float] = None  # Server's latency bound (p99)
    out_dir: Optional[Path] = None  # LoadGen's logs; a temporary folder otherwise
    accuracy: bool = False  # LoadGen's accuracy mode: every sample once, responses logged
    min_queries: int = 1  # exploratory runs: LoadGen's min_query_count (the Server search raises it)
    seeds: dict = field(default_factory=dict)  # LoadGen's rng seeds as used (filled from the settings)

    @property
    def lg_name(self) -> str:
        return LG_NAMES[self.scenario]


def loadgen() -> Any:
    """The mlperf_loadgen module, or a one-line error saying how to install it."""
    try:
        import mlperf_loadgen
    except ImportError:
        raise ToolError(f"bench --scenario needs mlperf_loadgen, which is not installed; {INSTALL}", 2) from None
    return mlperf_loadgen


def test_settings(opts: ScenarioOptions, expected_qps: float = 1.0, expected_latency_ms: float = 1.0) -> Any:
    """LoadGen's TestSettings for these options; `expected_*` come from a short probe of the compiled IR."""
    lg = loadgen()
    settings = lg.TestSettings()
    settings.scenario = getattr(lg.TestScenario, opts.lg_name)
    if opts.official:
        settings.FromConfig("", MLPERF_MODEL, opts.lg_name, 0)  # conf_type 0: mlperf.conf only
    else:
        settings.min_duration_ms = int(opts.duration_s * 1000)
        settings.min_query_count = max(1, opts.min_queries)
    settings.mode = lg.TestMode.AccuracyOnly if opts.accuracy else lg.TestMode.PerformanceOnly
    # LoadGen pre-generates min_duration / expected latency queries and ends the run early (INVALID) when
    # they run out; a quarter of the probed latency leaves room for a faster loop than the probe's
    latency_ns = int(max(expected_latency_ms / 4, 0.01) * 1e6)
    settings.single_stream_expected_latency_ns = latency_ns
    settings.multi_stream_expected_latency_ns = latency_ns * MULTISTREAM_SAMPLES
    settings.multi_stream_samples_per_query = MULTISTREAM_SAMPLES
    # Offline issues expected QPS x min_duration samples in one query: a probe too low on a busy machine
    # would end the run before min_duration (INVALID), too high only makes it longer
    settings.offline_expected_qps = float(opts.target_qps or 2 * expected_qps)
    if opts.scenario == "server":
        settings.server_target_qps = float(opts.target_qps or expected_qps)
        if opts.max_latency_ms is not None:
            settings.server_target_latency_ns = int(opts.max_latency_ms * 1e6)
    return settings


def settings_block(opts: ScenarioOptions, settings: Any, samples: int) -> dict:
    """The settings a record carries: what LoadGen was asked to do."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        loadgen_version: Optional[str] = version("mlcommons-loadgen")
    except PackageNotFoundError:
        loadgen_version = None
    block = {
        "scenario": opts.lg_name,
        "loadgen": loadgen_version,
        "mode": "accuracy" if opts.accuracy else "performance",
        "official": opts.official,
        "min_duration_s": settings.min_duration_ms / 1000.0,
        "min_query_count": settings.min_query_count,
        "performance_samples": samples,
        "qsl_rng_seed": settings.qsl_rng_seed,
        "sample_index_rng_seed": settings.sample_index_rng_seed,
        "schedule_rng_seed": settings.schedule_rng_seed,
    }
    if opts.scenario == "server":
        block["target_qps"] = settings.server_target_qps
        block["latency_bound_ms"] = settings.server_target_latency_ns / 1e6
        block["latency_percentile"] = settings.server_target_latency_percentile
    if opts.scenario == "offline":
        block["expected_qps"] = settings.offline_expected_qps
    if opts.scenario == "multistream":
        block["samples_per_query"] = settings.multi_stream_samples_per_query
    return block
