"""`ScenarioRecord`: one LoadGen run (or a Server search) with its headline figure, percentiles,
VALID/INVALID and LoadGen's reasons, the settings used and the machine stamp. Its `as_dict()` is the
bench JSON record: identity fields plus the `scenario` block (`BenchRecord.scenario` carries the same
block for the sweep)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional

from omz_mobilenet.bench.loadgen.options import HEADLINE

EXPLORATORY = "exploratory, not MLPerf-compliant"
COMPLIANT = "MLPerf minimums met"
# MLPerf Inference v0.5 MobileNet rule: the submitted model keeps 98 % of the FP32 Top-1
MLPERF_ACCURACY_SHARE = 0.98


@dataclass
class ScenarioRecord:
    model: str
    precision: str
    device: str
    xml: str
    scenario: str  # singlestream | multistream | server | offline
    result: str  # LoadGen's "VALID" / "INVALID" ("INVALID" also when LoadGen wrote no result)
    reasons: list[str]  # LoadGen's reasons and recommendations, the detail log's errors
    compliance: str  # COMPLIANT or EXPLORATORY
    headline: Optional[float]  # the scenario's figure (HEADLINE), None in accuracy mode
    headline_name: str
    percentiles_ms: dict  # LoadGen's latency percentiles, "50.00" -> ms
    samples_per_s: Optional[float]
    qps: Optional[float]
    mean_ms: Optional[float]
    min_ms: Optional[float]
    max_ms: Optional[float]
    settings: dict
    log_dir: Optional[str]  # None when the logs went to a removed temporary folder
    environment: dict
    samples_loaded: int = 0
    accuracy: Optional[dict] = None  # --accuracy: responses, top-1 scored by the accuracy code, MLPerf rule
    search: list[dict] = field(default_factory=list)  # Server search: every try, in order
    queries_needed: Optional[int] = None  # INVALID by early stopping: the query count LoadGen says it needs

    @property
    def valid(self) -> bool:
        return self.result == "VALID"

    def label(self) -> str:
        """The result as shown: INVALID never without the word, exploratory runs said so."""
        return f"{self.result} ({self.compliance})"

    def block(self) -> dict:
        keep = ("model", "precision", "device", "xml", "environment")
        out = {k: v for k, v in asdict(self).items() if k not in keep}
        out["valid"] = self.valid
        out["headline_unit"] = HEADLINE[self.scenario][1]
        return out

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "precision": self.precision,
            "device": self.device,
            "xml": self.xml,
            "environment": self.environment,
            "scenario": self.block(),
        }


def mlperf_accuracy_rule(top1: Optional[float], fp32_top1: Optional[float]) -> dict:
    """The MLPerf rule for MobileNet (98 % of the FP32 Top-1) against this IR's Top-1 on the same images."""
    if top1 is None or fp32_top1 is None:
        return {"rule": "98 % of the FP32 Top-1", "fp32_top1": fp32_top1, "threshold": None, "meets": None}
    threshold = round(MLPERF_ACCURACY_SHARE * fp32_top1, 4)
    return {
        "rule": "98 % of the FP32 Top-1",
        "fp32_top1": fp32_top1,
        "threshold": threshold,
        "meets": top1 >= threshold,
    }
