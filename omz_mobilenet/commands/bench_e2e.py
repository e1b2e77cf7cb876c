"""`bench`'s measurement flags (--time/--niter, --inputs, --profile, --compare, --rounds, --tune) and the
end-to-end ones (`--e2e DIR`, `--preprocess host|graph`, `--pipeline`, `--skip-bad-images`): their
checks before any work, the end-to-end run of each measured target (bench/e2e.py) and its table.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet import validators
from omz_mobilenet.errors import UsageError

# the stages block -> short terminal header; the total and the rates come first (what --e2e is for)
E2E_COLUMNS = {
    "model": "model",
    "precision": "prec",
    "placement": "preproc",
    "total": "total",
    "decode": "decode",
    "inference": "infer",
    "images_per_s": "img/s",
    "pipelined": "piped img/s",
    "read": "read",
    "preprocess": "prep",
    "postprocess": "post",
    "total_p90": "total p90",
    "total_p99": "total p99",
    "images": "images",
}


def add_measure_args(p: argparse.ArgumentParser) -> None:
    """How long, on what inputs and in how many rounds; --profile, --compare and --tune; --e2e."""
    length = p.add_mutually_exclusive_group()
    length.add_argument(
        "--time", type=validators.seconds, help="seconds to measure per model and precision (default 10)"
    )
    length.add_argument(
        "--niter", type=validators.positive_int, help="number of inferences to measure instead of --time"
    )
    p.add_argument(
        "--warmup", type=validators.non_negative_int, default=10, help="inferences before measuring (default 10)"
    )
    p.add_argument(
        "--inputs",
        nargs="+",
        default=["random"],
        metavar="POLICY",
        help="`random` (default) or `dataset DIR`: real images through the model's preprocessing",
    )
    p.add_argument(
        "--profile",
        nargs="?",
        const=10,
        type=validators.positive_int,
        metavar="TOP",
        help="per-layer times from performance counters; show the TOP layers (default 10)",
    )
    p.add_argument(
        "--compare", action="store_true", help="also time the original model in its own runtime, alternating"
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating rounds over all models x precisions, order rotated each round; "
        "each gets --time/rounds (default 3; --compare alternates as many rounds, at least 2)",
    )
    p.add_argument(
        "--tune",
        action="store_true",
        help="search hint, streams, requests, batch and the device's inference precisions for the best "
        "throughput under --max-latency; prints the chosen configuration and what it explored",
    )
    p.add_argument(
        "--max-latency",
        type=float,
        metavar="MS",
        help="--tune: median latency limit per request in ms (default: the lowest latency measured)",
    )
    _add_e2e_args(p)


def _add_e2e_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--e2e",
        metavar="DIR",
        help="also time the application's path from the image files of DIR: read, decode, preprocess, "
        "inference, post-processing (top-5 with labels), per image (--niter images, else --time)",
    )
    p.add_argument(
        "--preprocess",
        choices=["host", "graph"],
        help="--e2e: crop and resize on the host with OpenCV (default) or inside the graph (PrePostProcessor)",
    )
    p.add_argument(
        "--pipeline",
        action="store_true",
        help="--e2e: also the rate with decoding overlapped with inference (a bounded queue, async requests)",
    )
    p.add_argument(
        "--skip-bad-images", action="store_true", help="--e2e: leave out images that cannot be decoded (counted)"
    )


def e2e_options(args: argparse.Namespace) -> Optional[Any]:
    """The end-to-end options, or None without --e2e; every refusal is one line, exit 2, before any work
    (the folder's images are checked here: an undecodable one stops unless --skip-bad-images)."""
    from omz_mobilenet.bench.e2e import E2EOptions, check_e2e_images

    if args.e2e is None:
        for flag, given in (
            ("--pipeline", args.pipeline),
            ("--preprocess", args.preprocess),
            ("--skip-bad-images", args.skip_bad_images),
        ):
            if given:
                raise UsageError(f"{flag} applies to the end-to-end timing; pass --e2e DIR as well")
        return None
    if args.batch != 1:
        raise UsageError("--e2e runs one image per request, as an application does; drop --batch")
    if args.tune:
        raise UsageError("--e2e and --tune measure different things; run them separately")
    paths, problems = check_e2e_images(Path(args.e2e), args.skip_bad_images)
    return E2EOptions(
        images=tuple(paths),
        folder=Path(args.e2e),
        preprocess=args.preprocess or "host",
        pipeline=args.pipeline,
        skipped=tuple(problems),
    )


def attach_stages(core: Any, prepared: list, result: Any, opts: Any, e2e: Any, settings: Any, log: Callable) -> None:
    """Each measured record gets its `stages` block: its target run end to end on the --e2e images."""
    from omz_mobilenet.bench.e2e import measure_e2e, output_names

    for line in e2e.skipped:
        log(f"[yellow]--e2e: skipped {line}[/]")
    for item in prepared:
        target = item.target
        for record in result.records:
            if (record.model, record.precision, record.xml) == (target.model, target.precision, str(target.xml)):
                classes = int(item.compiled.model.output(0).get_partial_shape()[-1].get_length())
                names = output_names(target.entry, settings, classes)
                record.stages = measure_e2e(core, target, opts, e2e, names, log)


def e2e_rows(records: list[dict]) -> list[dict]:
    """One row per record with stages: stage medians, the total's median/p90/p99 and the rates."""
    rows = []
    for record in records:
        stages = record.get("stages")
        if not stages:
            continue
        pipelined = stages.get("pipeline") or {}
        row = {
            "model": record["model"],
            "precision": record["precision"],
            "placement": stages["placement"],
            "total": stages["total"]["median_ms"],
            "total_p90": stages["total"]["p90_ms"],
            "total_p99": stages["total"]["p99_ms"],
            "images_per_s": stages["images_per_s"],
            "pipelined": pipelined.get("images_per_s"),
            "images": stages["images"],
        }
        row.update({stage: stages[stage]["median_ms"] for stage in ("read", "decode", "preprocess", "inference")})
        row["postprocess"] = stages["postprocess"]["median_ms"]
        rows.append({header: row.get(field) for field, header in E2E_COLUMNS.items()})
    return rows


def print_e2e(records: list[dict], device: str) -> None:
    from omz_mobilenet.output.tables import print_table

    rows = e2e_rows(records)
    if rows:
        title = (
            f"end to end from image files on {device} (medians in ms per image; total p90/p99; img/s = images "
            "over wall time, one after the other; pipelined = decoding overlapped with inference)"
        )
        print_table(title, rows)
