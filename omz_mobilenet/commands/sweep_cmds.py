"""`sweep`: the model x precision x device x bench-configuration matrix into a results database."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.commands.common import add_location_args, log, settings_from
from omz_mobilenet.errors import ToolError

EXIT_FAILED, EXIT_INCOMPLETE = 1, 3


def _csv(text: Optional[str]) -> Optional[list[str]]:
    return [p.strip() for p in text.split(",") if p.strip()] if text else None


def merged_spec(args: argparse.Namespace):
    """The spec file with the command-line flags on top."""
    from omz_mobilenet.sweep.spec import BenchConfig, SpecFile, load_spec

    spec_file: SpecFile = load_spec(Path(args.spec) if args.spec else None)
    updates: dict[str, Any] = {}
    for flag in ("dataset", "limit", "calibration", "time", "rounds", "db", "crop_rule"):
        if getattr(args, flag) is not None:
            updates[flag] = getattr(args, flag)
    if args.models:
        updates["models"] = args.models
    for flag in ("precision", "device"):
        if _csv(getattr(args, flag)):
            updates[flag] = _csv(getattr(args, flag))
    if args.available:
        updates["available"] = True
    if args.allow_missing:
        updates["allow_missing"] = True
    hints, batches = _csv(args.hint), _csv(args.batch)
    if hints or batches:
        configs = spec_file.spec.bench
        updates["bench"] = [
            BenchConfig(hint=h, batch=int(b), infer_precision=c.infer_precision)  # type: ignore[arg-type]
            for h in (hints or sorted({c.hint for c in configs}))
            for b in (batches or sorted({str(c.batch) for c in configs}))
            for c in configs[:1]
        ]
    spec_file.spec = spec_file.spec.model_validate({**spec_file.spec.model_dump(), **updates})
    return spec_file


def offline_names(catalogue, settings) -> list[str]:
    from omz_mobilenet.commands.common import offline_models

    return [e.name for e in offline_models(catalogue, settings)]


def _context(spec, settings, command: str):
    from omz_mobilenet.sweep.cell import SweepContext

    return SweepContext(
        settings=settings,
        dataset=Path(spec.dataset) if spec.dataset else None,
        limit=spec.limit,
        calibration=Path(spec.calibration) if spec.calibration else None,
        crop_rule=spec.crop_rule,
        time_s=spec.time,
        rounds=spec.rounds,
        command=command,
        log=log,
    )


def _cell_line(record: dict) -> str:
    if record["status"] != "ok":
        return f"[red]{record['model']} {record['precision']} {record['device']}: {record['status']}: {record['reason']}[/]"
    acc, bench = record.get("accuracy") or {}, record["bench"]
    top1 = f"Top-1 {acc['top1']:.2f} %, " if acc else ""
    noisy = " (noisy)" if bench["noisy"] else ""
    return (
        f"{record['model']} {record['precision']} {record['device']} {record['config']}: {top1}"
        f"median {bench['latency_median_ms']:.3f} ms, {bench['throughput_fps']:.1f} FPS{noisy}"
    )


def run_sweep(args: argparse.Namespace) -> int:
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.results.db import ResultsDB
    from omz_mobilenet.sweep.plan import check_precisions, groups, selected_models

    spec_file = merged_spec(args)
    spec = spec_file.spec
    settings = settings_from(args)
    catalogue = load_catalogue()
    entries = selected_models(spec_file, catalogue, offline_names(catalogue, settings) if spec.available else [])
    precisions = check_precisions(spec_file)
    if spec.dataset is not None and not Path(spec.dataset).is_dir():
        raise ToolError(f"dataset {spec.dataset} is not a folder of labelled images (val.txt or FILES.tsv)", 2)
    planned = groups(entries, precisions, spec.device, spec.bench)
    command = "omz-mobilenet " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    ctx = _context(spec, settings, command)
    ctx.image_set()  # a dataset without labels fails now, before any conversion
    if args.ray:
        _ray_preflight(args.ray, spec.pin, planned)  # no database is created for a cluster that cannot be reached
    with ResultsDB.open(spec.db) as db:
        outcome = _run(args, ctx, db, planned, spec.pin)
    return _finish(outcome, spec, args)


def _ray_preflight(address: str, pins: dict[str, str], planned) -> None:
    from omz_mobilenet.sweep.ray_backend import check_pins, check_reachable, import_ray

    import_ray(address)
    check_pins(pins, planned)
    if address not in ("local", "auto"):
        check_reachable(address)


def _run(args, ctx, db, planned, pins: dict[str, str]):
    from omz_mobilenet.output.progress import item_progress
    from omz_mobilenet.sweep.local import LocalSweep

    total = sum(len(g.cells) for g in planned)
    with item_progress(not args.no_progress) as progress:
        task = progress.add_task("sweep", total=total)

        def on_cell(record: dict) -> None:
            progress.update(task, advance=1)
            log(_cell_line(record))

        if args.ray:
            from omz_mobilenet.sweep.ray_backend import RaySweep

            return RaySweep(ctx, db, args.force, on_cell, args.ray, pins).run(planned)
        return LocalSweep(ctx, db, args.force, on_cell).run(planned)


def _finish(outcome, spec, args: argparse.Namespace) -> int:
    from omz_mobilenet.output.envelope import dumps

    ok = sum(r["status"] == "ok" for r in outcome.stored)
    print(
        f"sweep: {ok} cells measured, {len(outcome.failed)} failed, {outcome.skipped} already stored, "
        f"{len(outcome.unavailable)} unavailable, {len(outcome.failed_groups)} IRs could not be made; database {spec.db}"
    )
    for record in outcome.unavailable:
        print(f"unavailable: {record['model']} {record['precision']} {record['device']}: {record['reason']}")
    for line in outcome.failed_groups:
        print(f"not made: {line}")
    if args.json:
        print(dumps("sweep", outcome.stored + outcome.unavailable, skipped=outcome.skipped))
    if outcome.failed:
        return EXIT_FAILED
    if (outcome.unavailable or outcome.failed_groups) and not spec.allow_missing:
        print(
            "sweep INCOMPLETE: some requested cells did not run (exit 3); pass --allow-missing to accept that",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="measure the model x precision x device matrix into a results database",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("spec", nargs="?", metavar="SPEC.yml", help="sweep spec (flags override it)")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="catalogue names")
    p.add_argument(
        "--available", action="store_true", help="every model whose files are in the mirror or cache (no network)"
    )
    p.add_argument("--precision", help="comma list of FP32, FP16, INT8 (spec default FP32)")
    p.add_argument("-d", "--device", help="comma list of devices (spec default CPU)")
    p.add_argument("--hint", help="comma list of latency, throughput, none (bench configurations)")
    p.add_argument("--batch", help="comma list of batch sizes (bench configurations)")
    p.add_argument("--dataset", help="folder of labelled images for Top-1/Top-5")
    p.add_argument("--limit", type=int, help="first N images of the dataset")
    p.add_argument("--calibration", help="calibration images for INT8 of float models (disjoint from --dataset)")
    p.add_argument("--crop-rule", choices=["tf", "accuracy-checker"], help="crop rule for accuracy (spec default tf)")
    p.add_argument("--time", type=float, help="bench seconds per cell over all rounds (spec default 3)")
    p.add_argument("--rounds", type=int, help="bench rounds per cell (spec default 3)")
    p.add_argument("--db", help="SQLite results database (spec default results/results.db)")
    p.add_argument("--force", action="store_true", help="measure cells again even when stored")
    p.add_argument("--allow-missing", action="store_true", help="exit 0 even when some cells could not run")
    p.add_argument("--ray", metavar="ADDRESS", help="run the cells on a Ray cluster (`local` starts one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the new records as one JSON envelope")
    add_location_args(p)
    p.set_defaults(func=run_sweep)
