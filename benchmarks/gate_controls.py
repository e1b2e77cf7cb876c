"""The gate must be able to fail: every offline model converted with the wrong channel order, gated.

Writes a copy of the catalogue in which each offline model's `original_input.color` is swapped (RGB
<-> BGR), so `convert` bakes the wrong channel reversal into every IR, then runs
`omz-mobilenet gate MODEL... --dataset DIR --precision FP32 --json` on all the image sets under DIR.
Every row must FAIL and the gate must exit 1; the table shows Top-1 measured against the minimum the
gate allows, per model and image set.

    python benchmarks/gate_controls.py [--dataset ../shared/assets/imagenet] [--models M ...] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from common import ASSETS, OFFLINE_MODELS, REPO, add_markdown_option, environment, markdown_table, write_markdown

MODELS = OFFLINE_MODELS


def swapped_catalogue(models: list[str], folder: Path) -> Path:
    data = yaml.safe_load((REPO / "models.yml").read_text(encoding="utf-8"))
    for entry in data["models"]:
        if entry["name"] in models:
            source = entry["original_input"]
            source["color"] = "BGR" if source.get("color", "RGB") == "RGB" else "RGB"
    path = folder / "models.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def gate(models: list[str], dataset: Path, folder: Path) -> tuple[list[dict], int]:
    env = {
        **environment(),
        "OMZ_MOBILENET_MODELS_YML": str(swapped_catalogue(models, folder)),
        "OMZ_MOBILENET_OUT": str(folder / "ir"),
    }
    report = folder / "gate.json"
    cmd = [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "gate",
        *models,
        "--dataset",
        str(dataset),
        "--precision",
        "FP32",
        "--no-progress",
        "--json",
        str(report),
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if not report.is_file():
        raise SystemExit(f"gate wrote no report ({done.returncode}): {done.stderr.strip()[-1500:]}")
    return json.loads(report.read_text())["records"], done.returncode


def _compare(row: dict, metric: str) -> tuple[str, bool]:
    """`measured < minimum` and whether the metric is below its minimum."""
    measured, minimum = row.get(metric), row.get(f"{metric}_min")
    if measured is None or minimum is None:
        return "", False
    sign = "<" if measured < minimum else ("=" if measured == minimum else ">")
    return f"{measured:g} {sign} {minimum:g}", measured < minimum


def _cell(row: dict) -> str:
    top1, below = _compare(row, "top1")
    if not str(row.get("status", "")).upper().startswith("FAIL"):
        return f"{top1} **{row.get('status')}**"
    return top1 if below else f"{top1} (top-5 {_compare(row, 'top5')[0]} fails)"


def markdown(rows: list[dict], code: int) -> str:
    sets = list(dict.fromkeys(r["image_set"] for r in rows))
    by_model: dict[str, dict[str, str]] = {}
    for r in rows:
        by_model.setdefault(r["model"], {})[r["image_set"]] = _cell(r)
    failed = sum(1 for r in rows if r.get("status", "").upper().startswith("FAIL"))
    table = markdown_table(["model", *sets], [[m, *(cells.get(s, "") for s in sets)] for m, cells in by_model.items()])
    return (
        f"Every model converted with the wrong channel order, gated at FP32: {failed} of {len(rows)} rows FAILED, "
        f"exit {code}. Top-1 measured against the minimum allowed (a row that did not fail says so):\n\n" + table
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ASSETS / "imagenet", help="image set, or a folder of them")
    parser.add_argument("--models", nargs="+", default=MODELS, help="default: the 8 offline models")
    add_markdown_option(parser, "gate")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gate-controls-"))
    try:
        rows, code = gate(args.models, args.dataset, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table = markdown(rows, code)
    print(table)
    if args.markdown:
        write_markdown(args.markdown, "gate_controls", table, title="Gate controls: the gate can fail")
    return 0 if code == 1 and all(r.get("status", "").upper().startswith("FAIL") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
