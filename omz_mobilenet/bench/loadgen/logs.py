"""Reading LoadGen's own logs: `mlperf_log_summary.txt` for the result, VALID/INVALID and why, and
`mlperf_log_detail.txt` for the errors and warnings LoadGen logged; `mlperf_log_accuracy.json` for the
responses of accuracy mode. The figures are LoadGen's, never recomputed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

SUMMARY = "mlperf_log_summary.txt"
DETAIL = "mlperf_log_detail.txt"
ACCURACY = "mlperf_log_accuracy.json"
# summary key -> record field; the percentiles are read from the "N.NN percentile latency (ns)" lines
KEYS = {
    "Result is": "result",
    "Completed samples per second": "samples_per_s",
    "Samples per second": "samples_per_s",
    "Scheduled samples per second": "qps",
    "Completed tokens per second": None,
    "Min latency (ns)": "min_ms",
    "Max latency (ns)": "max_ms",
    "Mean latency (ns)": "mean_ms",
    "Min duration satisfied": "min_duration_satisfied",
    "Min queries satisfied": "min_queries_satisfied",
    "Early stopping satisfied": "early_stopping_satisfied",
    "Performance constraints satisfied": "constraints_satisfied",
}
_PERCENTILE = re.compile(r"^(\d+(?:\.\d+)?) percentile latency \(ns\)\s*:\s*(\d+)")
_EARLY = re.compile(r"^\s*\*\s*Early stopping (\d+(?:\.\d+)?)th percentile estimate\s*:\s*(\d+)")
# an unsuccessful early-stopping block: " * Processed N queries." then " * Would need to run at least M more queries,"
_PROCESSED = re.compile(r"^\s*\*\s*Processed (\d+) queries")
_MORE = re.compile(r"^\s*\*\s*Would need to run at least (\d+) more queries")


def _value(key: str, text: str):
    if key.endswith("(ns)"):
        return round(int(text) / 1e6, 4)
    if key.endswith("satisfied"):
        return text.strip().lower() == "yes"
    try:
        return float(text)
    except ValueError:
        return text.strip()


def _recommendations(lines: list[str]) -> list[str]:
    """The ' * ...' lines under 'Recommendations:' (the early-stopping block after it is information)."""
    reasons, inside = [], False
    for line in lines:
        if line.startswith("Recommendations:"):
            inside = True
        elif inside and line.strip().startswith("*"):
            reasons.append(line.strip().lstrip("* ").strip())
        else:
            inside = False
    return reasons


def read_summary(folder: Path) -> dict:
    """The result block of one run from LoadGen's summary file."""
    lines = (folder / SUMMARY).read_text(errors="replace").splitlines()
    found: dict = {"percentiles_ms": {}}
    for line in lines:
        match = _PERCENTILE.match(line.strip())
        if match:
            found["percentiles_ms"][match.group(1)] = round(int(match.group(2)) / 1e6, 4)
            continue
        early = _EARLY.match(line)
        if early:
            found.setdefault("early_stopping_ms", {})[early.group(1)] = round(int(early.group(2)) / 1e6, 4)
            continue
        key, sep, text = line.partition(":")
        field = KEYS.get(key.strip())
        if sep and field:
            found[field] = _value(key.strip(), text.strip())
    found["valid"] = found.get("result") == "VALID"
    found["queries_needed"] = _queries_needed(lines)
    found["reasons"] = _reasons(found) + _recommendations(lines)
    return found


def _queries_needed(lines: list[str]) -> Optional[int]:
    """LoadGen's own count of queries early stopping needs (processed + more), when it said so."""
    processed = [int(m.group(1)) for m in map(_PROCESSED.match, lines) if m]
    more = [int(m.group(1)) for m in map(_MORE.match, lines) if m]
    return processed[0] + more[0] if processed and more else None


def _reasons(found: dict) -> list[str]:
    names = {"min_duration_satisfied": "min duration", "min_queries_satisfied": "min queries"}
    names["early_stopping_satisfied"] = "early stopping"
    reasons = [f"{name} not satisfied" for key, name in names.items() if found.get(key) is False]
    if found.get("constraints_satisfied") is False:  # Server: the latency percentile over the bound
        reasons.insert(0, "latency bound not met (performance constraints not satisfied)")
    return reasons


def detail_errors(folder: Path) -> list[str]:
    """Errors and warnings LoadGen logged in the detail file (`:::MLLOG` JSON lines)."""
    path = folder / DETAIL
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith(":::MLLOG"):
            continue
        try:
            entry = json.loads(line[len(":::MLLOG") :])
        except json.JSONDecodeError:
            continue
        if entry.get("key") in ("error_invalid_config", "error_invalid_test_duration", "error_runtime", "error"):
            out.append(f"{entry['key']}: {entry.get('value')}")
        elif entry.get("metadata", {}).get("is_error") or entry.get("metadata", {}).get("is_warning"):
            out.append(f"{entry.get('key')}: {entry.get('value')}")
    return out


def accuracy_responses(folder: Path) -> dict[int, int]:
    """Sample index -> the int32 top-1 class the SUT answered, from LoadGen's accuracy log."""
    entries = json.loads((folder / ACCURACY).read_text() or "[]")
    out: dict[int, int] = {}
    for entry in entries:
        data: Optional[str] = entry.get("data")
        if data:
            out[int(entry["qsl_idx"])] = int.from_bytes(bytes.fromhex(data)[:4], "little", signed=True)
    return out
