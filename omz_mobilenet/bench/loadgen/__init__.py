"""MLPerf LoadGen scenarios on a compiled IR (`bench --scenario`).

`run_scenario(compiled, files, options)` runs one scenario and returns a `ScenarioRecord`;
`search_server_qps(...)` bisects the Server scenario for the highest VALID QPS. `mlperf_loadgen` (PyPI
`mlcommons-loadgen`, the `loadgen` extra) is imported inside functions, like every heavy runtime.
"""

from omz_mobilenet.bench.loadgen.options import SCENARIOS, ScenarioOptions
from omz_mobilenet.bench.loadgen.record import ScenarioRecord
from omz_mobilenet.bench.loadgen.run import run_scenario, search_server_qps

__all__ = ["SCENARIOS", "ScenarioOptions", "ScenarioRecord", "run_scenario", "search_server_qps"]
