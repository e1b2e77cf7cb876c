"""`sweep`: the model x precision x device x bench-configuration matrix into a results database."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from omz_mobilenet import precision, validators
from omz_mobilenet.accuracy.evidence import MinImages
from omz_mobilenet.commands.common import add_location_args, add_no_progress, log, settings_from
from omz_mobilenet.errors import UsageError

EXIT_FAILED, EXIT_INCOMPLETE = 1, 3


#: Flags that set a spec key of the same name.
SPEC_FLAGS = (
    "dataset",
    "annotations",
    "limit",
    "calibration",
    "time",
    "rounds",
    "db",
    "crop_rule",
    "models",
    "precision",
    "device",
)
#: Switches that can only turn a spec key on.
SPEC_SWITCHES = ("available", "allow_missing", "skip_bad_images", "allow_overlap")


def _flag_updates(args: argparse.Namespace) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for flag in SPEC_FLAGS:
        value = getattr(args, flag)
        if value is not None and value != []:
            updates[flag] = [str(v) for v in value] if isinstance(value, list) else value
    for switch in SPEC_SWITCHES:
        if getattr(args, switch):
            updates[switch] = True
    if args.min_images is not None:
        updates["min_images"] = str(args.min_images)
    for key in ("dataset", "annotations", "calibration", "db"):
        if key in updates:
            updates[key] = str(updates[key])
    return updates


def merged_spec(args: argparse.Namespace):
    """The spec file with the command-line flags on top (both checked by the same validators)."""
    from pydantic import ValidationError

    from omz_mobilenet.sweep.spec import BenchConfig, SpecFile, load_spec

    spec_file: SpecFile = load_spec(Path(args.spec) if args.spec else None)
    updates = _flag_updates(args)
    if args.hint or args.batch:
        configs = spec_file.spec.bench
        updates["bench"] = [
            BenchConfig(hint=h, batch=b, infer_precision=c.infer_precision)  # type: ignore[arg-type]
            for h in (args.hint or sorted({c.hint for c in configs}))
            for b in (args.batch or sorted({c.batch for c in configs}))
            for c in configs[:1]
        ]
    try:
        spec_file.spec = spec_file.spec.model_validate({**spec_file.spec.model_dump(), **updates})
    except ValidationError as exc:  # the flags' own types refuse bad values first; this is a safety net
        error = exc.errors()[0]
        raise UsageError(f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg']}") from None
    spec_file.from_flags = set(updates)
    return spec_file


def offline_names(catalogue, settings) -> list[str]:
    from omz_mobilenet.commands.common import nothing_available, offline_models

    names = [e.name for e in offline_models(catalogue, settings)]
    if not names:
        raise nothing_available(settings)
    return names


def _context(spec, settings, command: str, image_set, overlaps: dict[tuple[str, str], int]):
    """What the cells share; the image set was loaded and checked before any work."""
    from omz_mobilenet.sweep.context import SweepContext

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
        loaded_set=image_set,
        # the cells read these: the evidence rule, bad images skipped and counted, overlap recorded per cell
        annotations=Path(spec.annotations) if spec.annotations else None,
        skip_bad=spec.skip_bad_images,
        min_images=spec.min_images,
        allow_overlap=spec.allow_overlap,
        calibration_overlap=overlaps,
    )


def run_sweep(args: argparse.Namespace) -> int:
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.results.db import ResultsDB
    from omz_mobilenet.sweep.plan import check_precisions, groups, selected_models
    from omz_mobilenet.sweep.spec import (
        check_calibration,
        check_e2e,
        check_images,
        check_labels,
        check_models,
        check_scenarios,
    )

    spec_file = merged_spec(args)
    spec = spec_file.spec
    settings = settings_from(args)
    catalogue = load_catalogue()
    check_models(spec_file, catalogue)
    entries = selected_models(spec_file, catalogue, offline_names(catalogue, settings) if spec.available else [])
    precisions = check_precisions(spec_file)
    image_set = check_images(spec_file)  # before any database or conversion
    check_labels(entries, image_set, settings)  # a class folder no model's labels file names: exit 2, no work
    overlaps = check_calibration(spec_file, [(e, p) for e in entries for p in precisions], image_set, settings.out_dir)
    planned = groups(entries, precisions, spec.device, spec.bench)
    command = "omz-mobilenet " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    ctx = _context(spec, settings, command, image_set, overlaps)
    ctx.e2e = check_e2e(spec_file)  # the e2e folder's images, checked before any database or conversion
    if ctx.e2e is not None and args.ray:
        raise UsageError("the spec key e2e times cells on this machine only; run the sweep without --ray")
    ctx.scenarios = check_scenarios(
        spec_file, image_set
    )  # LoadGen runs per cell, checked before any database or conversion
    if ctx.scenarios is not None and args.ray:  # LoadGen's own logs and timing stay on the machine it measures
        raise UsageError("the spec key scenarios runs MLPerf LoadGen on this machine only; run the sweep without --ray")
    if args.ray:
        _ray_preflight(args.ray, spec.pin, planned)  # no database is created for a cluster that cannot be reached
    with ResultsDB.open(spec.db) as db:
        outcome = _run(args, ctx, db, planned, spec.pin)
    return _finish(outcome, spec, args)


def _ray_preflight(address: str, pins: dict[str, str], planned) -> None:
    from omz_mobilenet.sweep.ray.cluster import check_pins, check_reachable, import_ray

    import_ray(address)
    check_pins(pins, planned)
    if address not in ("local", "auto"):
        check_reachable(address)


def _run(args, ctx, db, planned, pins: dict[str, str]):
    from omz_mobilenet.output.progress import item_progress
    from omz_mobilenet.sweep.local import LocalSweep
    from omz_mobilenet.sweep.outcome import progress_line

    total = sum(len(g.cells) for g in planned)
    with item_progress(not args.no_progress) as progress:
        task = progress.add_task("sweep", total=total)

        def on_cell(record) -> None:
            progress.update(task, advance=1)
            log(progress_line(record))

        if args.ray:
            from omz_mobilenet.sweep.ray.scheduler import ClusterOptions, RaySweep

            return RaySweep(ctx, db, args.force, on_cell, ClusterOptions(args.ray, pins)).run(planned)
        return LocalSweep(ctx, db, args.force, on_cell).run(planned)


def _finish(outcome, spec, args: argparse.Namespace) -> int:
    from omz_mobilenet.output.envelope import dumps

    for line in outcome.summary(spec.db):
        print(line)
    if args.json:
        print(dumps("sweep", outcome.records(), skipped=outcome.skipped))
    code, why = outcome.exit_code(spec.allow_missing)
    if why:
        print(why, file=sys.stderr)
    return code


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sweep",
        help="measure the model x precision x device matrix into a results database",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("spec", nargs="?", type=validators.file, metavar="SPEC.yml", help="sweep spec (flags override it)")
    p.add_argument("--models", nargs="+", metavar="MODEL", help="catalogue names")
    p.add_argument(
        "--available", action="store_true", help="every model whose files are in the mirror or cache (no network)"
    )
    p.add_argument(
        "--precision",
        type=validators.from_usage(precision.parse, "--precision"),
        help="comma list of FP32, FP16, INT8, INT8-ASIS (an already-quantized model as imported) (spec default FP32)",
    )
    p.add_argument("-d", "--device", type=validators.devices, help="comma list of devices (spec default CPU)")
    p.add_argument(
        "--hint",
        type=validators.comma_list(validators.hint),
        help="comma list of latency, throughput, none (bench configurations)",
    )
    p.add_argument(
        "--batch", type=validators.comma_list(validators.batch), help="comma list of batch sizes (bench configurations)"
    )
    p.add_argument("--dataset", type=validators.folder, help="folder of labelled images for Top-1/Top-5")
    p.add_argument(
        "--annotations",
        type=validators.file,
        help="val.txt or FILES.tsv for --dataset; default: found in the folder or its parents",
    )
    p.add_argument("--limit", type=validators.positive_int, help="first N images of the dataset")
    p.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="skip unreadable or unlabelled images and count them, instead of refusing the dataset",
    )
    p.add_argument(
        "--min-images",
        type=validators.from_usage(MinImages.parse, "--min-images"),
        help="evaluated images a cell's accuracy needs, a count or a share such as 50%% (default 1)",
    )
    p.add_argument(
        "--calibration",
        type=validators.folder,
        help="calibration images for INT8 of float models (disjoint from --dataset)",
    )
    p.add_argument(
        "--allow-overlap",
        action="store_true",
        help="evaluate INT8 cells even on images that calibrated them (recorded with every such cell)",
    )
    p.add_argument("--crop-rule", choices=["tf", "accuracy-checker"], help="crop rule for accuracy (spec default tf)")
    p.add_argument("--time", type=validators.seconds, help="bench seconds per cell over all rounds (spec default 3)")
    p.add_argument("--rounds", type=validators.positive_int, help="bench rounds per cell (spec default 3)")
    p.add_argument(
        "--db", type=validators.output_file, help="SQLite results database (spec default results/results.db)"
    )
    p.add_argument("--force", action="store_true", help="measure cells again even when stored")
    p.add_argument("--allow-missing", action="store_true", help="exit 0 even when some cells could not run")
    p.add_argument("--ray", metavar="ADDRESS", help="run the cells on a Ray cluster (`local` starts one)")
    add_no_progress(p)
    p.add_argument("--json", action="store_true", help="print the new records as one JSON envelope")
    add_location_args(p)
    p.set_defaults(func=run_sweep)
