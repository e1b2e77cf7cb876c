"""What a sweep did, as the command reports it: cells stored, skipped, unavailable, and the exit code.

Exit codes (errors.EXIT_CODES): 1 when a cell failed; 3 when a cell's accuracy has too few
evaluated images (incomplete: `--allow-missing` never accepts that, it is a result without
evidence), or when cells could not run (unavailable, IR not made) unless `--allow-missing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omz_mobilenet.errors import EXIT_FAILED, EXIT_INCOMPLETE, EXIT_OK
from omz_mobilenet.results.record import FAILED, INCOMPLETE, OK, CellRecord, config_label


@dataclass
class SweepOutcome:
    stored: list[CellRecord] = field(default_factory=list)  # measured in this run (ok, incomplete or failed)
    skipped: int = 0  # already in the database, ok, with the same key
    unavailable: list[CellRecord] = field(default_factory=list)  # stored too, with their reason
    failed_groups: list[str] = field(default_factory=list)  # IRs that could not be made

    def of_status(self, status: str) -> list[CellRecord]:
        return [r for r in self.stored if r.status == status]

    @property
    def failed(self) -> list[CellRecord]:
        return self.of_status(FAILED)

    @property
    def incomplete(self) -> list[CellRecord]:
        return self.of_status(INCOMPLETE)

    def records(self) -> list[dict[str, Any]]:
        """Every record of this run as stored (the JSON envelope's records)."""
        return [r.as_dict() for r in self.stored + self.unavailable]

    def summary(self, db: str) -> list[str]:
        lines = [
            f"sweep: {len(self.of_status(OK))} cells measured, {len(self.failed)} failed, "
            f"{len(self.incomplete)} incomplete, {self.skipped} already stored, {len(self.unavailable)} unavailable, "
            f"{len(self.failed_groups)} IRs could not be made; database {db}"
        ]
        lines += [f"incomplete: {r.label}: {r.reason}" for r in self.incomplete]
        lines += [f"unavailable: {r.model} {r.precision} {r.device}: {r.reason}" for r in self.unavailable]
        lines += [f"not made: {line}" for line in self.failed_groups]
        return lines

    def exit_code(self, allow_missing: bool) -> tuple[int, str]:
        """The exit code and, unless 0, the one line saying why."""
        if self.failed:
            return EXIT_FAILED, f"sweep FAILED: {len(self.failed)} cells failed"
        if self.incomplete:
            return EXIT_INCOMPLETE, (
                f"sweep INCOMPLETE: {len(self.incomplete)} cells evaluated too few images (exit 3, "
                "--allow-missing does not accept that); use more images or lower --min-images"
            )
        if (self.unavailable or self.failed_groups) and not allow_missing:
            return EXIT_INCOMPLETE, (
                "sweep INCOMPLETE: some requested cells did not run (exit 3); pass --allow-missing to accept that"
            )
        return EXIT_OK, ""


def progress_line(record: CellRecord) -> str:
    """One line per stored cell, the configuration named as the report names it (`b1 latency f32`)."""
    if record.status not in (OK, INCOMPLETE) or not record.bench:
        return f"[red]{record.label}: {record.status}: {record.reason}[/]"
    acc, bench = record.accuracy or {}, record.bench
    top1 = f"Top-1 {acc['top1']:.2f} %, " if acc else ""
    noisy = " (noisy)" if bench["noisy"] else ""
    shared = len(record.shared_measurement)
    note = f" (one measurement for {shared} cells)" if shared > 1 else ""
    line = (
        f"{record.model} {record.precision} {record.device} {config_label(record.config)}: {top1}"
        f"median {bench['latency_median_ms']:.3f} ms, spread {100 * bench['spread']:.1f} %, "
        f"{bench['throughput_fps']:.1f} FPS{noisy}{note}"
    )
    return line if record.status == OK else f"[yellow]{line}: incomplete: {record.reason}[/]"
