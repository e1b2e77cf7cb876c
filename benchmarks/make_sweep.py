"""`make sweep` and `make report` from an empty IR folder and results folder: wall times, cells, chart.

Runs the Makefile's own targets (every offline model x FP32, FP16, INT8 on the CPU over the 700
evaluation images of the split, then the report) with RESULTS and OMZ_MOBILENET_OUT in a fresh
folder, so every IR is converted and the calibration split made inside the timed run, then reads
the database back (`omz-mobilenet results --json`) for the cells and their status. With --markdown
the report's CPU charts are copied to docs/ (`pareto-CPU.png`, `throughput-CPU.png`) next to the page.

    python benchmarks/make_sweep.py [--keep DIR] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import REPO, add_markdown_option, environment, markdown_table, write_markdown

CHARTS = ("pareto-CPU.png", "throughput-CPU.png")


def timed(target: str, results: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(["make", target, f"RESULTS={results}"], cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"make {target} failed ({done.returncode}): {done.stderr.strip()[-1500:]}")
    return time.perf_counter() - started


def cells(results: Path, env: dict) -> list[dict]:
    cmd = [sys.executable, "-m", "omz_mobilenet", "results", str(results / "results.db"), "--json"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["records"]


def markdown(sweep_s: float, report_s: float, records: list[dict], irs: int) -> str:
    status = Counter(r.get("status") for r in records)
    models = len({r["key"]["model"] if isinstance(r.get("key"), dict) else r.get("model") for r in records})
    table = markdown_table(
        ["make sweep (wall time)", "cells", "status", "models", "IRs converted", "make report"],
        [
            [
                f"**{int(sweep_s // 60)} min {sweep_s % 60:04.1f} s**",
                len(records),
                ", ".join(f"{n} {s}" for s, n in sorted(status.items())),
                models,
                irs,
                f"{report_s:.1f} s",
            ]
        ],
    )
    return (
        "`make sweep` then `make report` from an empty IR folder and results folder (the calibration split, every "
        "conversion and NNCF calibration included).\n\n"
        + table
        + "\n\n![Top-1 against median latency of the cells of make sweep](../pareto-CPU.png)"
        "\n\n![Throughput against median latency of the same cells](../throughput-CPU.png)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary one)")
    add_markdown_option(parser, "sweep")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="make-sweep-"))
    results = root / "results"
    env = {**environment(), "OMZ_MOBILENET_OUT": str(root / "ir")}
    try:
        sweep_s = timed("sweep", results, env)
        report_s = timed("report", results, env)
        records = cells(results, env)
        irs = len([p for p in (root / "ir").glob("*/*") if p.is_symlink()])  # <model>/<precision> links
        table = markdown(sweep_s, report_s, records, irs)
        print(table)
        if args.markdown:
            for chart in CHARTS:
                if (results / "charts" / chart).is_file():
                    shutil.copyfile(results / "charts" / chart, REPO / "docs" / chart)
            write_markdown(args.markdown, "make_sweep", table, title="The matrix: make sweep and make report")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
