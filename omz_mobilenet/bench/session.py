"""A bench session: which IRs to measure (planning) and how a run of several goes (policy).

Policy, in one place:
- every target is prepared (converted if needed, compiled, warmed up) first; then all targets are
  measured in `rounds` alternating rounds, the order rotated by one each round, so no
  configuration always runs first or last on a machine that heats up or gets busy;
- each round gets `--time / rounds` (or `--niter / rounds`), so the total stays what was asked;
- every named model x precision pair is checked before any work: an impossible one (INT8-RQ of a
  float model, an INT8 IR that needs calibration images and is not there) is refused at once, or,
  with several models, reported as failed before the others are compiled;
- with several models (`--all`, or the IRs found in the output folder) a target that fails is
  reported and the others go on; with named models the first failure stops the session;
- Ctrl-C stops at once: the rounds finished so far become records marked partial, and the caller
  reports them and exits 130.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from omz_mobilenet.bench.compiled import BenchTarget
from omz_mobilenet.bench.loop import Prepared, RunResult, measure, prepare
from omz_mobilenet.bench.options import BenchOptions, round_options
from omz_mobilenet.bench.record import BenchRecord, make_record
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.errors import ToolError, UsageError
from omz_mobilenet.settings import Settings

Log = Callable[[str], None]


@dataclass(frozen=True)
class PlanItem:
    label: str  # "model precision", for messages
    make: Callable[[], BenchTarget]  # converts lazily, when the session gets to it


@dataclass
class Plan:
    items: list[PlanItem]
    refused: list[ToolError] = field(default_factory=list)  # impossible pairs; each message names the pair


@dataclass
class SessionResult:
    records: list[BenchRecord] = field(default_factory=list)
    profiles: list[dict] = field(default_factory=list)
    compares: list[dict] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # one line each
    interrupted_during: Optional[str] = None


def checked_folder(entry: ModelEntry, precision: str, settings: Settings) -> str:
    """The IR folder of a model x precision pair, or a usage error when bench cannot have it: no
    conversion, no compiling (bench never calibrates; an INT8 IR of a float source, and a
    requantization, are made by `convert --calibration`)."""
    from omz_mobilenet.convert.ir_store import ir_folder, ir_xml
    from omz_mobilenet.precision import needs_calibration

    folder = ir_folder(entry, precision, settings.out_dir)  # refuses INT8-RQ of a float model
    if needs_calibration(entry, folder) and not ir_xml(settings.out_dir, entry.name, folder).is_file():
        raise UsageError(
            f"{entry.name} has no {precision} IR yet ({folder} in {settings.out_dir}); make one with "
            f"`omz-mobilenet convert {entry.name} --precision {precision} --calibration DIR`"
        )
    return folder


def named_target(entry: ModelEntry, precision: str, settings: Settings, log: Log) -> BenchTarget:
    from omz_mobilenet.convert.pipeline import ensure_ir
    from omz_mobilenet.precision import name_for, old_spelling

    folder = checked_folder(entry, precision, settings)
    note = old_spelling(entry, precision)
    if note:
        log(f"[dim]{note}[/]")
    xml = ensure_ir(entry, folder, settings, log)  # converts a float IR when missing
    return BenchTarget(entry.name, name_for(entry, precision), folder, xml, entry)


def found_targets(settings: Settings, precisions: Optional[list[str]]) -> list[BenchTarget]:
    """Every IR already in the output folder (filtered by --precision when it was given)."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.convert.ir_store import find_irs
    from omz_mobilenet.precision import label

    known = {m.name: m for m in load_catalogue().models}
    targets = []
    for model, folder, xml in find_irs(settings.out_dir):
        entry = known.get(model)
        name = label(folder, entry)  # an INT8 source's FP32 folder is INT8-ASIS, its INT8-RQ folder INT8
        if precisions is None or name in _names(entry, precisions):
            targets.append(BenchTarget(model, name, folder, xml, entry))
    if not targets:
        which = f" at {', '.join(precisions)}" if precisions else ""
        raise ToolError(
            f"no IRs{which} in {settings.out_dir}; convert one first, e.g. `omz-mobilenet convert "
            f"mobilenet-v2-1.0-224-quant -o {settings.out_dir}`, or name models: `omz-mobilenet bench MODEL`",
            2,
        )
    return targets


def _names(entry: Optional[ModelEntry], precisions: list[str]) -> set[str]:
    """The result names the requested precisions mean for this model (spellings folded; a pair the
    model cannot have matches nothing)."""
    from omz_mobilenet.precision import name_for

    if entry is None:
        return set(precisions)
    names = set()
    for precision in precisions:
        try:
            names.add(name_for(entry, precision))
        except UsageError:
            continue
    return names


def plan(
    entries: Optional[list[ModelEntry]], precisions: list[str], explicit: bool, settings: Settings, log: Log
) -> Plan:
    """Named models x precisions (converted lazily, every pair checked now), or, with `entries`
    None, the IRs on disk."""
    if entries is None:
        found = found_targets(settings, precisions if explicit else None)
        return Plan([PlanItem(f"{t.model} {t.precision}", functools.partial(_found, t)) for t in found])
    from omz_mobilenet.precision import name_for

    result = Plan([])
    for entry in entries:
        named: set[str] = set()  # INT8 and INT8-RQ of an INT8 source are one IR, benched once
        for precision in precisions:
            try:
                checked_folder(entry, precision, settings)
            except ToolError as exc:
                result.refused.append(exc)
                continue
            name = name_for(entry, precision)
            if name in named:
                continue
            named.add(name)
            make = functools.partial(named_target, entry, precision, settings, log)
            result.items.append(PlanItem(f"{entry.name} {name}", make))
    return result


def _found(target: BenchTarget) -> BenchTarget:
    return target


def rotated(items: list, round_index: int) -> list:
    """The round's order: shifted by one each round, so every item takes every position."""
    if not items:
        return []
    shift = round_index % len(items)
    return items[shift:] + items[:shift]


class _Session:
    def __init__(self, core, opts: BenchOptions, keep_going: bool, log: Log) -> None:
        self.core, self.opts, self.rounds, self.keep_going, self.log = core, opts, opts.rounds, keep_going, log
        self.result = SessionResult()
        self.prepared: list[Prepared] = []
        self.runs: dict[int, list[RunResult]] = {}

    def prepare_all(self, items: list[PlanItem]) -> None:
        for item in items:
            try:
                self.prepared.append(prepare(self.core, item.make(), self.opts, self.log))
            except ToolError as exc:
                if not self.keep_going:
                    raise
                self.result.failures.append(f"{item.label}: {exc.message}")
                self.log(f"[red]{item.label}: {exc.message}[/]")
            except KeyboardInterrupt:
                self.result.interrupted_during = item.label
                return

    def measure_rounds(self) -> None:
        indices = list(range(len(self.prepared)))
        for round_index in range(self.rounds):
            for i in rotated(indices, round_index):
                target = self.prepared[i].target
                self.log(
                    f"measuring {target.model} {target.precision} on {self.opts.device}, round {round_index + 1}/{self.rounds}"
                )
                run = measure(self.prepared[i], round_options(self.opts, self.rounds, round_index))
                self.runs.setdefault(i, []).append(run)
                if run.interrupted:
                    self.result.interrupted_during = f"{target.model} {target.precision}"
                    return

    def records(self, profile_top: Optional[int]) -> None:
        for i, runs in sorted(self.runs.items()):
            record, profile = make_record(self.prepared[i], runs, self.opts, self.rounds)
            self.result.records.append(record)
            if profile is not None and profile_top:
                target = self.prepared[i].target
                self.result.profiles.append(
                    {"model": target.model, "precision": target.precision, **profile.summary(profile_top)}
                )


def run_session(
    core,
    items: list[PlanItem],
    opts: BenchOptions,
    keep_going: bool = False,
    profile_top: Optional[int] = None,
    log: Log = lambda _m: None,
) -> tuple[SessionResult, list[Prepared]]:
    """Prepare every target, measure them in `opts.rounds` alternating rounds, one record each."""
    session = _Session(core, opts, keep_going, log)
    session.prepare_all(items)
    if session.result.interrupted_during is None:
        session.measure_rounds()
    session.records(profile_top)
    return session.result, session.prepared
