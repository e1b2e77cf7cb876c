"""Cross-cell drift of the sweep: cells measured one after another against cells measured together
in alternating rounds, on the same IRs.

The cells: FP32 and INT8-ASIS of mobilenet-v1-0.25-128-quant (an already-quantized source: FP32 is the
old spelling of its as-is import, so both are the very same IR and any difference between them is the
machine's drift, not the precision; a sweep folds the two names into one cell, this script keeps both), FP32 of
mobilenet-v1-0.50-160-quant and FP32 of mobilenet-v1-0.25-224-tflite, on the CPU, latency hint, batch 1.
Three ways, each repeated:

- sequential: what the sweep did before: each cell compiled, warmed up and measured in its rounds,
  then the next cell (the same IR measured twice, at two moments);
- alternating: every cell compiled and warmed up first, then all of them in alternating rounds with
  the order rotated (the same IR still measured twice, but interleaved);
- sweep: what `sweep` does now (omz_mobilenet.sweep.rounds): alternating rounds, and cells naming the
  same IR share one measurement (ratio 1 by construction).

Printed (and with --markdown written) per way: the median over repeats of the same-IR ratio
(INT8-ASIS / FP32 median latency) and of its distance from 1, and the largest round spread of any cell.

    python benchmarks/sweep_drift.py [--quick] [--repeats N] [--time S] [--markdown [PATH]]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from common import ASSETS, add_markdown_option, markdown_table, write_markdown

SAME_IR = "mobilenet-v1-0.25-128-quant"
OTHERS = ["mobilenet-v1-0.50-160-quant", "mobilenet-v1-0.25-224-tflite"]
CELLS = [(SAME_IR, "FP32"), (SAME_IR, "INT8-ASIS"), *((m, "FP32") for m in OTHERS)]
WAYS = ("sequential", "alternating", "sweep")


def context(root: Path, time_s: float, rounds: int):
    from omz_mobilenet.settings import Settings
    from omz_mobilenet.sweep.context import SweepContext

    settings = Settings(cache_dir=root / "cache", out_dir=root / "ir", mirror=str(ASSETS), progress=False)
    return SweepContext(
        settings=settings,
        dataset=None,
        limit=None,
        calibration=None,
        crop_rule="tf",
        time_s=time_s,
        rounds=rounds,
        command="benchmarks/sweep_drift.py",
    )


def items(ctx) -> list:
    """(entry, IR xml, Member) per cell; every IR converted once, before anything is timed."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.ir_store import ir_sha256
    from omz_mobilenet.sweep.context import cell_key
    from omz_mobilenet.sweep.measure import ensure_group_ir
    from omz_mobilenet.sweep.plan import Cell, Group
    from omz_mobilenet.sweep.rounds import Member
    from omz_mobilenet.sweep.spec import BenchConfig

    catalogue, out = load_catalogue(), []
    for model, precision in CELLS:
        cell = Cell(model, precision, "CPU", BenchConfig())
        entry = catalogue.get(model)
        xml = ensure_group_ir(Group(entry, precision, (cell,)), ctx)
        out.append((entry, xml, Member(cell, cell_key(cell, ir_sha256(xml), ctx, "sweep_drift"))))
    return out


def run_way(way: str, cells: list, ctx) -> dict[tuple[str, str], dict]:
    """{(model, precision): bench block} of one way."""
    from omz_mobilenet.sweep.rounds import Measurement, measure_device, measurements

    if way == "sweep":
        records = list(measure_device(measurements(cells), ctx))
    else:  # one measurement per cell, even where two cells name the same IR
        alone = [Measurement(entry, xml, [member]) for entry, xml, member in cells]
        blocks = [[m] for m in alone] if way == "sequential" else [alone]
        records = [r for block in blocks for r in measure_device(block, ctx)]
    failed = [f"{r.label}: {r.reason}" for r in records if r.status != "ok"]
    if failed:
        raise SystemExit(f"{way}: {'; '.join(failed)}")
    return {(r.model, r.precision): r.bench or {} for r in records}


def summary(results: dict[str, list[dict]]) -> list[list]:
    rows = []
    for way in WAYS:
        ratios = [
            r[(SAME_IR, "INT8-ASIS")]["latency_median_ms"] / r[(SAME_IR, "FP32")]["latency_median_ms"]
            for r in results[way]
        ]
        spreads = [max(b["spread"] for b in r.values()) for r in results[way]]
        rows.append(
            [
                way,
                len(ratios),
                f"{statistics.median(ratios):.3f}",
                f"{100 * statistics.median(abs(x - 1) for x in ratios):.1f} %",
                f"{100 * max(abs(x - 1) for x in ratios):.1f} %",
                f"{100 * statistics.median(spreads):.1f} %",
            ]
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat of 0.3 s per cell: proves the script runs")
    parser.add_argument("--repeats", type=int, default=5, help="repeats of each way, interleaved (default 5)")
    parser.add_argument("--time", type=float, default=3.0, help="bench seconds per measurement over its rounds")
    parser.add_argument("--rounds", type=int, default=3)
    add_markdown_option(parser, "sweep_drift")
    args = parser.parse_args()
    repeats, time_s = (1, 0.3) if args.quick else (args.repeats, args.time)
    with tempfile.TemporaryDirectory(prefix="sweep-drift-") as tmp:
        ctx = context(Path(tmp), time_s, args.rounds)
        cells = items(ctx)
        results: dict[str, list[dict]] = {way: [] for way in WAYS}
        for repeat in range(repeats):
            for way in WAYS[repeat % len(WAYS) :] + WAYS[: repeat % len(WAYS)]:  # no way always first
                print(f"repeat {repeat + 1}/{repeats}: {way}", file=sys.stderr)
                results[way].append(run_way(way, cells, ctx))
    header = [
        "way",
        "repeats",
        "INT8-ASIS/FP32 latency, same IR (median)",
        "ratio off 1 (median)",
        "ratio off 1 (max)",
        "largest round spread (median)",
    ]
    table = markdown_table(header, summary(results), right=(1, 2, 3, 4, 5))
    print(table)
    if args.markdown:
        note = (
            f"{len(CELLS)} cells on the CPU (latency hint, batch 1, {args.rounds} rounds, {time_s:g} s per "
            f"measurement): FP32 and INT8-ASIS of {SAME_IR}, which are the same IR, and FP32 of "
            f"{', '.join(OTHERS)}. A same-IR ratio away from 1 is drift between the moments the two cells were "
            "measured; `sweep` measures such cells once, so its ratio is 1 by construction."
        )
        write_markdown(args.markdown, "sweep_drift", f"{note}\n\n{table}", title="Sweep drift across cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
