"""The gate's own baseline: what a model scored on an image set here, recorded to compare later.

A user's model has neither a published accuracy nor a per-set reference measured by this project,
so `gate --baseline FILE --update-baseline` records one, and `gate --baseline FILE` compares against
it (the verdict is accuracy/judge.py's `judge_against_baseline`). The file is YAML, one row per
model x precision x image set, human-diffable in a pull request:

    # omz-mobilenet gate baseline ...
    schema_version: 1
    recorded: '2026-12-03T14:00:00+00:00'
    machine: {cpu_model: ..., isa: [avx2, ...], openvino: ..., ...}   # environment.py's stamp
    rows:
    - model: my-mobilenet
      precision: FP32
      image_set: val
      device: CPU
      crop_rule: tf
      images: 100
      top1_hits: 45
      top5_hits: 71
      top1: 45.0
      top5: 71.0
      image_list_sha256: ...      # inputs/dataset.image_list_sha256: names, sizes, labels
      predictions_sha256: ...     # over the sorted (image, top-1 class) pairs
      top1_per_image: {a.jpg: 12, b.jpg: 3, ...}   # so the images that flip can be named

A baseline of another image list, crop rule or schema is refused (UsageError, exit 2) before any
work: it is never compared. Writing is atomic (a temp file, then os.replace), so a failed or
interrupted run leaves the old file as it was.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Optional

import yaml

from omz_mobilenet.accuracy.records import Evaluation
from omz_mobilenet.errors import UsageError
from omz_mobilenet.inputs.dataset import ImageSet

SCHEMA_VERSION = 1
HEADER = (
    "# omz-mobilenet gate baseline: one row per model x precision x image set.\n"
    "# Written by `omz-mobilenet gate --baseline FILE --update-baseline`; compared by `gate --baseline FILE`.\n"
)
# The machine facts that change INT8 results: another CPU kind is warned about, not refused.
MACHINE_KIND = ("cpu_model", "isa")


def rerecord_hint(path: Path) -> str:
    return f"re-record it with `omz-mobilenet gate ... --baseline {path} --update-baseline`"


@dataclass
class BaselineRow:
    model: str
    precision: str
    image_set: str
    device: str
    crop_rule: str
    images: int
    top1_hits: int
    top5_hits: int
    top1: float
    top5: float
    image_list_sha256: str
    predictions_sha256: str
    top1_per_image: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.model, self.precision, self.image_set


@dataclass
class Baseline:
    rows: list[BaselineRow]
    machine: dict
    recorded: str = ""
    schema_version: int = SCHEMA_VERSION

    def by_key(self) -> dict[tuple[str, str, str], BaselineRow]:
        return {row.key: row for row in self.rows}

    def work(self) -> list[tuple[str, list[str]]]:
        """(model, precisions) the baseline holds, in its order: what `gate --baseline` runs without MODEL."""
        by_model: dict[str, list[str]] = {}
        for row in self.rows:
            precisions = by_model.setdefault(row.model, [])
            if row.precision not in precisions:
                precisions.append(row.precision)
        return list(by_model.items())


def image_key(image_set: ImageSet, image: Path) -> str:
    """An image's name in the baseline: its path inside the set's folder (sub-folders of an ImageFolder kept)."""
    try:
        return image.relative_to(image_set.folder).as_posix()
    except ValueError:
        return image.name


def predictions_sha256(top1_per_image: dict[str, int]) -> str:
    digest = hashlib.sha256()
    for image, top1 in sorted(top1_per_image.items()):
        digest.update(f"{image}\t{top1}\n".encode())
    return digest.hexdigest()


def top1_per_image(evaluation: Evaluation) -> dict[str, int]:
    return {image_key(evaluation.image_set, p.image): int(p.top1) for p in evaluation.ir.predictions}


def labels_per_image(evaluation: Evaluation) -> dict[str, int]:
    return {image_key(evaluation.image_set, p.image): int(p.label) for p in evaluation.ir.predictions}


def row_from(evaluation: Evaluation) -> BaselineRow:
    summary, top1s = evaluation.ir.summary(), top1_per_image(evaluation)
    return BaselineRow(
        model=evaluation.model,
        precision=evaluation.precision,
        image_set=evaluation.image_set.name,
        device=evaluation.device,
        crop_rule=evaluation.crop_rule,
        images=summary["images"],
        top1_hits=summary["top1_hits"],
        top5_hits=summary["top5_hits"],
        top1=summary["top1"],
        top5=summary["top5"],
        image_list_sha256=evaluation.image_set.list_sha256,
        predictions_sha256=predictions_sha256(top1s),
        top1_per_image=dict(sorted(top1s.items())),
    )


def new_baseline(evaluations: list[Evaluation]) -> Baseline:
    from omz_mobilenet.environment import environment

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    return Baseline(rows=[row_from(e) for e in evaluations], machine=dict(environment()), recorded=now)


def write(path: Path, baseline: Baseline) -> None:
    """Atomically: a temp file beside `path`, then os.replace; a failure leaves the old file whole."""
    data = {
        "schema_version": baseline.schema_version,
        "recorded": baseline.recorded,
        "machine": baseline.machine,
        "rows": [asdict(row) for row in baseline.rows],
    }
    text = HEADER + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=120)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: Path) -> Baseline:
    """The baseline in `path`, or one line (exit 2) saying why it cannot be used and how to re-record it."""
    if not path.is_file():
        raise UsageError(f"baseline {path} does not exist; record one with `--baseline {path} --update-baseline`")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else ""
        raise UsageError(f"baseline {path}{line} is not readable YAML; {rerecord_hint(path)}") from None
    if not isinstance(data, dict):
        raise UsageError(f"baseline {path} is not a gate baseline (no mapping at the top); {rerecord_hint(path)}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UsageError(
            f"baseline {path} has schema_version {version!r}, this omz-mobilenet reads {SCHEMA_VERSION}; "
            f"it is not compared: {rerecord_hint(path)}"
        )
    rows = data.get("rows")
    if not isinstance(rows, list) or not isinstance(data.get("machine"), dict):
        raise UsageError(f"baseline {path} has no `rows` list or no `machine` block; {rerecord_hint(path)}")
    return Baseline(
        rows=[_row(path, number, raw) for number, raw in enumerate(rows, 1)],
        machine=data["machine"],
        recorded=str(data.get("recorded", "")),
    )


def _row(path: Path, number: int, raw: object) -> BaselineRow:
    names = {f.name for f in fields(BaselineRow)}
    if not isinstance(raw, dict) or set(raw) != names:
        got = set(raw) if isinstance(raw, dict) else set()
        wrong = sorted(names - got) or sorted(got - names)
        raise UsageError(
            f"baseline {path}: row {number} is not a baseline row (missing or unknown: {', '.join(wrong) or 'all'}); "
            f"{rerecord_hint(path)}"
        )
    wrong_type = [f.name for f in fields(BaselineRow) if not _has_type(raw[f.name], FIELD_TYPES[f.name])]
    if wrong_type:
        raise UsageError(
            f"baseline {path}: row {number}: {', '.join(wrong_type)} of the wrong type; {rerecord_hint(path)}"
        )
    per_image = raw["top1_per_image"]
    if predictions_sha256(per_image) != raw["predictions_sha256"]:
        raise UsageError(
            f"baseline {path}: row {number} ({raw['model']} {raw['precision']} {raw['image_set']}): its "
            f"top1_per_image does not match its predictions_sha256 (edited by hand?); {rerecord_hint(path)}"
        )
    return BaselineRow(**raw)


FIELD_TYPES = {
    **dict.fromkeys(("model", "precision", "image_set", "device", "crop_rule"), str),
    **dict.fromkeys(("image_list_sha256", "predictions_sha256"), str),
    **dict.fromkeys(("images", "top1_hits", "top5_hits"), int),
    **dict.fromkeys(("top1", "top5"), float),
    "top1_per_image": dict,
}


def _has_type(value: object, kind: type) -> bool:
    if kind is dict:
        return isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) for k, v in value.items()
        )
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind) and not isinstance(value, bool)


def check_comparable(baseline: Baseline, path: Path, image_sets: list[ImageSet], crop_rule: str) -> None:
    """Refuse (exit 2, before any work) a baseline recorded on another image list or crop rule."""
    for image_set in image_sets:
        for row in baseline.rows:
            if row.image_set != image_set.name:
                continue
            if row.image_list_sha256 != image_set.list_sha256:
                raise UsageError(
                    f"baseline {path} was recorded on another image list for image set {image_set.name!r} "
                    f"({row.images} images then, {len(image_set.items)} now; image_list_sha256 differs): "
                    f"it is not compared; {rerecord_hint(path)}"
                )
            if row.crop_rule != crop_rule:
                raise UsageError(
                    f"baseline {path} was recorded with --crop-rule {row.crop_rule}, this run uses {crop_rule}: "
                    f"it is not compared; use --crop-rule {row.crop_rule} or {rerecord_hint(path)}"
                )


def machine_warning(baseline: Baseline, path: Path) -> Optional[str]:
    """One line when the baseline was recorded on another CPU kind (INT8 Top-1 can change with the ISA)."""
    from omz_mobilenet.environment import environment

    here = environment()
    if all(baseline.machine.get(k) == here.get(k) for k in MACHINE_KIND):
        return None

    def kind(env: dict) -> str:
        return f"{env.get('cpu_model')} ({'/'.join(env.get('isa') or []) or 'no AVX2'})"

    return (
        f"warning: baseline {path} was recorded on {kind(baseline.machine)}, this is {kind(here)}: "
        "INT8 Top-1 can change with the ISA; comparing anyway"
    )
