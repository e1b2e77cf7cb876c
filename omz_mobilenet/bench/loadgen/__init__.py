"""MLPerf LoadGen scenarios on a compiled IR (`bench --scenario`).

`run_scenario(LoadgenTarget(compiled, files, model, precision, device, xml, entry), ScenarioOptions(...))`
runs one scenario and returns a `ScenarioRecord` (`.as_dict()`: the bench JSON record; `.block()`: the
`scenario` block a BenchRecord or a sweep cell carries);
`search_server_qps(...)` bisects the Server scenario for the highest VALID QPS. `mlperf_loadgen` (PyPI
`mlcommons-loadgen`, the `loadgen` extra) is imported inside functions, like every heavy runtime.
"""

from omz_mobilenet.bench.loadgen.options import SCENARIOS, ScenarioOptions
from omz_mobilenet.bench.loadgen.record import ScenarioRecord
from omz_mobilenet.bench.loadgen.run import LoadgenTarget, run_scenario, search_server_qps

__all__ = ["LoadgenTarget", "SCENARIOS", "ScenarioOptions", "ScenarioRecord", "run_scenario", "search_server_qps"]
