"""`omz-mobilenet verify` on every offline model: the IR against the original framework, one row each.

Runs `omz-mobilenet verify MODEL... --dataset DIR --json` (one process; IRs are converted first when
missing) and prints, per model, the criterion, the agreement with its 95 % interval and floor,
McNemar's b, c and one-sided p, Top-1 of IR and original, the difference with its interval, the largest
output difference, the margin in images and the verdict.

    python benchmarks/verify_models.py [--dataset ../shared/assets/imagenet/val_100_cropped_reencoded]
        [--precision FP32] [--models M ...] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import ASSETS, OFFLINE_MODELS, add_markdown_option, environment, markdown_table, write_markdown

MODELS = OFFLINE_MODELS


def verify(models: list[str], dataset: Path, precision: str) -> tuple[list[dict], int]:
    cmd = [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "verify",
        *models,
        "--dataset",
        str(dataset),
        "--precision",
        precision,
        "--no-progress",
        "--json",
    ]
    done = subprocess.run(cmd, env=environment(), capture_output=True, text=True)
    if done.returncode not in (0, 1):  # 1: a check failed, and its row says which
        raise SystemExit(f"{' '.join(cmd[2:])} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout)["records"], done.returncode


def _interval(values, scale: float = 1.0) -> str:
    return f"[{scale * values[0]:.1f}, {scale * values[1]:.1f}]" if values else ""


def row(r: dict) -> list:
    diff = "" if r.get("top1_diff") is None else f"{r['top1_diff']:+.0f} {_interval(r.get('top1_diff_ci95'))}"
    top1 = "" if r.get("top1_ir") is None else f"{r['top1_ir']:g} / {r['top1_original']:g} %"
    margin = "exact" if r["criterion"] == "exact" else r.get("margin_images")
    p_value = "" if r.get("mcnemar_p") is None else f"{r['mcnemar_p']:.3g}"
    return [
        r["model"],
        r["criterion"],
        f"{100 * r['top1_agreement']:.0f} % {_interval(r.get('agreement_ci95'), 100)}",
        f"{100 * r['min_agreement']:.0f} %",
        r.get("mcnemar_b"),
        r.get("mcnemar_c"),
        p_value,
        top1,
        diff,
        f"{r['max_abs_diff']:.2g}",
        margin,
        "pass" if r["passed"] else f"**FAIL** {r.get('note', '')}".strip(),
    ]


def markdown(records: list[dict], dataset: Path, precision: str) -> str:
    header = [
        "model",
        "criterion",
        "agreement [95 % CI]",
        "floor",
        "b",
        "c",
        "p (one-sided)",
        "Top-1 IR / original",
        "IR - original, points [95 % CI]",
        "max abs diff",
        "margin (images)",
        "result",
    ]
    images = records[0]["images"] if records else 0
    return (
        f"`omz-mobilenet verify` at {precision} (f32 inference hint), {images} images of `{dataset.name}`; "
        f"b = images only the original gets right, c = only the IR.\n\n"
        + markdown_table(header, [row(r) for r in records])
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=ASSETS / "imagenet" / "val_100_cropped_reencoded")
    parser.add_argument("--precision", default="FP32", choices=["FP32", "FP16"])
    parser.add_argument("--models", nargs="+", default=MODELS, help="default: the 8 offline models")
    add_markdown_option(parser, "verify")
    args = parser.parse_args()
    records, code = verify(args.models, args.dataset, args.precision)
    table = markdown(records, args.dataset, args.precision)
    print(table)
    if args.markdown:
        write_markdown(args.markdown, "verify_models", table, title="verify on the offline models")
    return code


if __name__ == "__main__":
    sys.exit(main())
