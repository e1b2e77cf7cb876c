"""Per-cell overhead of `sweep --ray` against the local `sweep` on the same cells, and what that means
for a lab of 100 machines sweeping 27 models x 4 precisions x 3 devices.

Overhead = wall time of the sweep command minus the time its cells spent measuring (the union of the records'
[started_at, finished_at] spans, which overlap since a device's cells share alternating rounds), split into the time until the first cell
starts (process start, conversion; on the Ray path also joining the cluster, starting a station per
node and converting there), after the last one ends, and the gaps between cells on a node (storing
a record, picking and sending the next cell). The per-cell overhead is the mean gap. The marginal
(overhead with N2 cells - with N1) / (N2 - N1) is printed too, but on a shared machine the start-up's
noise swamps it. The Ray cluster (one node on 127.0.0.1) is started once by this script, as a lab's
cluster would be running already; its start time is printed apart.

    python benchmarks/ray_overhead.py                       # mobilenet-v1-0.25-128-quant, 2 and 8 cells
    python benchmarks/ray_overhead.py --json results/ray_overhead.json
    python benchmarks/ray_overhead.py --markdown            # also into docs/results/ray_overhead.md
"""

from __future__ import annotations

import os

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # all traffic on 127.0.0.1 (read when ray is imported)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from common import ASSETS, add_markdown_option, markdown_table, write_markdown  # noqa: E402

from omz_mobilenet.environment import environment, isa_label  # noqa: E402
from omz_mobilenet.results.db import ResultsDB  # noqa: E402

HINTS = ["latency", "throughput"]
BATCHES = ["1", "2", "4", "8"]
REAL_IMAGES = 1000


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="mobilenet-v1-0.25-128-quant")
    p.add_argument("--dataset", default=str(ASSETS / "imagenet" / "val_100_cropped_reencoded"))
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--time", type=float, default=0.5, help="bench seconds per cell (sweep --time)")
    p.add_argument("--small", type=int, default=2, choices=[2, 4, 6], help="cells in the small sweep")
    p.add_argument("--large", type=int, default=8, choices=[4, 6, 8], help="cells in the large sweep")
    p.add_argument("--repeat", type=int, default=2, help="runs of each (path, size); the lowest overhead counts")
    p.add_argument("--json", help="write the numbers here too")
    add_markdown_option(p, "ray_overhead")
    return p.parse_args(argv)


def sweep_args(args: argparse.Namespace, cells: int) -> list[str]:
    """`cells` cells of one IR (two hints x cells/2 batch sizes), so their IR is converted once."""
    batches = BATCHES[: cells // 2]
    return [
        "--models",
        args.model,
        "--precision",
        "FP32",
        "--hint",
        ",".join(HINTS),
        "--batch",
        ",".join(batches),
        "--dataset",
        args.dataset,
        "--limit",
        str(args.limit),
        "--time",
        str(args.time),
        "--rounds",
        "2",
    ]


def run_once(args: argparse.Namespace, cells: int, ray_address: str | None, work: Path, tag: str) -> dict:
    db = work / f"{tag}.db"
    cmd = [
        sys.executable,
        "-m",
        "omz_mobilenet",
        "sweep",
        *sweep_args(args, cells),
        "--db",
        str(db),
        "--mirror",
        str(ASSETS),
        "--cache-dir",
        str(work / f"{tag}-cache"),
        "-o",
        str(work / f"{tag}-ir"),
        "--no-progress",
    ]
    if ray_address:
        cmd += ["--ray", ray_address]
    started, clock = time.monotonic(), time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall, ended = time.monotonic() - started, time.time()
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({tag}): {proc.stderr.strip().splitlines()[-1:]}")
    with ResultsDB.open(db, create=False) as store:
        records = store.cells()
    # A device's cells are measured together in alternating rounds, so their spans overlap: the time
    # spent measuring is the length of the union of the spans, not their sum.
    measuring = busy_s(records)
    # The nodes are processes on this machine here, so their clock is this one.
    startup = min(r["started_at"] for r in records) - clock
    tail = ended - max(r["finished_at"] for r in records)
    return {
        "cells": len(records),
        "wall_s": wall,
        "measuring_s": measuring,
        "overhead_s": wall - measuring,
        "startup_s": startup,
        "tail_s": tail,
        "gap_s": mean_gap(records),
        "full_cell_s": sum(full_cell_s(r, args, measuring / len(records)) for r in records) / len(records),
    }


def busy_s(records: list[dict]) -> float:
    """Length of the union of the cells' [started_at, finished_at] spans."""
    total, end = 0.0, float("-inf")
    for start, finish in sorted((r["started_at"], r["finished_at"]) for r in records):
        total += max(0.0, finish - max(start, end))
        end = max(end, finish)
    return total


def mean_gap(records: list[dict]) -> float:
    """Mean time per cell, between the first cell's start and the last one's end, in which no cell was
    being measured: what the path spends per cell outside measuring (store, pick and send the next)."""
    if len(records) < 2:
        return 0.0
    span = max(r["finished_at"] for r in records) - min(r["started_at"] for r in records)
    return (span - busy_s(records)) / (len(records) - 1)


def full_cell_s(record: dict, args: argparse.Namespace, share_s: float) -> float:
    """This cell with a real sweep's settings: bench 3 s (the default --time) and accuracy on the
    1,000-image evaluation split at the cell's own throughput, plus what compiling and setting up took."""
    fps = record["bench"]["throughput_fps"]
    setup = share_s - args.time - args.limit / fps  # share_s: this cell's part of the time spent measuring
    return max(0.0, setup) + 3.0 + REAL_IMAGES / fps


def best(args, cells, address, work, tag) -> dict:
    runs = [run_once(args, cells, address, work, f"{tag}-{i}") for i in range(args.repeat)]
    return min(runs, key=lambda r: r["overhead_s"])


def lab_estimate(cell_s: float, overhead_s: float, fixed_s: float, convert_s: float) -> dict:
    """On paper: 27 models x 4 precisions x 3 devices = 324 cells on 100 machines, each with all three
    devices and one station; cells go to whichever station is free, so 324/100 -> 4 rounds per node;
    a node converts at most one IR per cell it takes (4), each in `convert_s`."""
    cells, machines = 27 * 4 * 3, 100
    rounds = math.ceil(cells / machines)
    wall = fixed_s + rounds * (convert_s + cell_s + overhead_s)
    return {
        "cells": cells,
        "machines": machines,
        "rounds_per_node": rounds,
        "wall_s": wall,
        "serial_one_machine_s": fixed_s + 27 * 4 * convert_s + cells * (cell_s + overhead_s),
    }


def markdown(args, out: dict, cluster_start: float, estimate: dict, cell_s: float) -> str:
    small, large = args.small, args.large

    def fixed(path: str, size: int) -> str:
        return f"{out[(path, size)]['startup_s'] + out[(path, size)]['tail_s']:.1f}"

    rows = [
        [
            "per cell: gap between one cell's end and the next one's start on a node",
            f"{out[('local', large)]['gap_s'] * 1000:.0f} ms",
            f"{out[('ray', large)]['gap_s'] * 1000:.0f} ms",
        ],
        [
            f"fixed, per sweep: until the first cell starts + after the last ends ({small} / {large} cells, best of {args.repeat})",
            f"{fixed('local', small)} / {fixed('local', large)} s",
            f"{fixed('ray', small)} / {fixed('ray', large)} s",
        ],
        ["Ray cluster start (one node, once; a lab's cluster is already running)", "-", f"{cluster_start:.0f} s"],
    ]
    table = markdown_table(["", "local", "Ray"], rows)
    return (
        f"The same cells ({args.model} FP32, {small} and {large} bench configurations, {args.limit} images, "
        f"`--time {args.time:g}`) swept locally and through Ray (one node on 127.0.0.1, started once); "
        "overhead = wall time - time the cells spent measuring.\n\n" + table + "\n\n"
        f"On paper, 100 machines sweeping {estimate['cells']} cells (27 models x 4 precisions x 3 devices): "
        f"{estimate['rounds_per_node']} cells per node, about {estimate['wall_s'] / 60:.1f} min of wall time "
        f"(one machine alone: {estimate['serial_one_machine_s'] / 3600:.1f} h), assuming a cell measures "
        f"{cell_s:.1f} s as this machine's cells would with bench 3 s and {REAL_IMAGES} images."
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    from ray.cluster_utils import Cluster

    large = args.large
    print(f"machine: {isa_label()} ({environment()['hostname']}); load average at start {os.getloadavg()[0]:.1f}")
    started = time.monotonic()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster_start = time.monotonic() - started
    try:
        with tempfile.TemporaryDirectory(prefix="ray-overhead-") as tmp:
            work = Path(tmp)
            out = {}
            for size in (args.small, large):  # local and Ray interleaved, so load changes hit both alike
                out[("local", size)] = best(args, size, None, work, f"local{size}")
                out[("ray", size)] = best(args, size, cluster.address, work, f"ray{size}")
    finally:
        cluster.shutdown()
    per_cell = {
        path: (out[(path, large)]["overhead_s"] - out[(path, args.small)]["overhead_s"]) / (large - args.small)
        for path in ("local", "ray")
    }
    cell_s = out[("local", large)]["full_cell_s"]
    fixed = min(r["startup_s"] + r["tail_s"] for (p, _n), r in out.items() if p == "ray")
    convert = min(r["startup_s"] + r["tail_s"] for (p, _n), r in out.items() if p == "local")
    for (path, size), r in out.items():
        print(
            f"{path:5s} {size} cells: wall {r['wall_s']:.1f} s, measuring {r['measuring_s']:.1f} s, "
            f"overhead {r['overhead_s']:.1f} s = until the first cell {r['startup_s']:.1f} s + "
            f"after the last {r['tail_s']:.1f} s + gaps between cells (mean {r['gap_s'] * 1000:.0f} ms)"
        )
    gap = {path: out[(path, large)]["gap_s"] for path in ("local", "ray")}
    extra = per_cell["ray"] - per_cell["local"]
    print(f"Ray cluster start (one node, once): {cluster_start:.1f} s")
    print(
        f"per-cell overhead, gap between cells on a node: local {gap['local'] * 1000:.0f} ms, "
        f"Ray {gap['ray'] * 1000:.0f} ms, Ray minus local {(gap['ray'] - gap['local']) * 1000:+.0f} ms (target < 0.5 s)"
    )
    print(
        f"per-cell overhead, marginal ({args.small} -> {large} cells, includes the start-up's noise): "
        f"local {per_cell['local']:+.2f} s, Ray {per_cell['ray']:+.2f} s, Ray minus local {extra:+.2f} s"
    )
    print(
        f"fixed cost per sweep: Ray {fixed:.1f} s (join, stations, conversion on the node); "
        f"local {convert:.1f} s (start, conversion)"
    )
    estimate = lab_estimate(cell_s=cell_s, overhead_s=gap["ray"], fixed_s=fixed, convert_s=convert)
    print(
        f"on paper, 100 machines x 324 cells (27 models x 4 precisions x 3 devices): {estimate['rounds_per_node']} "
        f"cells per node, about {estimate['wall_s'] / 60:.1f} min (one machine alone: "
        f"{estimate['serial_one_machine_s'] / 3600:.1f} h); assumes a cell measuring {cell_s:.1f} s "
        f"(this machine's {args.model} cells with bench 3 s and {REAL_IMAGES} images), {convert:.1f} s per IR "
        "(the local path's whole start-up: an upper bound for one conversion)"
    )
    print(f"load average at end {os.getloadavg()[0]:.1f} (a shared machine inflates every number)")
    if args.markdown:
        write_markdown(
            args.markdown, "ray_overhead", markdown(args, out, cluster_start, estimate, cell_s), title="Ray overhead"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "environment": environment(),
                    "machine": isa_label(),
                    "cluster_start_s": cluster_start,
                    "runs": {f"{p}-{n}": r for (p, n), r in out.items()},
                    "per_cell_overhead_s": per_cell,
                    "gap_s": gap,
                    "ray_minus_local_s": extra,
                    "lab_estimate": estimate,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
