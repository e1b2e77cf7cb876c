"""The sweep spec (SPEC.yml): the same choices as the command-line flags, for CI and for repeating
a run. Flags override the file. Unknown keys, bad values and unknown models or precisions are
one-line errors naming the spec's file and line; a value gets the same words as its flag
(`omz_mobilenet.validators`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from omz_mobilenet import validators
from omz_mobilenet.accuracy.evidence import MinImages
from omz_mobilenet.bench.options import BenchConfig  # one bench-configuration type: bench, --tune, sweep
from omz_mobilenet.errors import ToolError
from omz_mobilenet.precision import parse as parse_precision

DEFAULT_DB = "results/results.db"


class SweepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[str] = Field(default_factory=list)
    available: bool = False
    precision: list[str] = Field(default_factory=lambda: ["FP32"])
    device: list[str] = Field(default_factory=lambda: ["CPU"])
    bench: list[BenchConfig] = Field(default_factory=lambda: [BenchConfig()])
    dataset: Optional[str] = None
    limit: Optional[int] = Field(default=None, ge=1)
    calibration: Optional[str] = None
    annotations: Optional[str] = None
    skip_bad_images: bool = False
    min_images: Optional[Union[int, str]] = None  # a count (200) or a share ("50%"), as --min-images
    allow_overlap: bool = False  # evaluate INT8 cells on images that calibrated them (recorded per cell)
    crop_rule: Literal["tf", "accuracy-checker"] = "tf"
    e2e: Optional[str] = None  # a folder of images: each cell also timed end to end from its files (bench --e2e)
    e2e_preprocess: Literal["host", "graph"] = "host"  # as bench --preprocess
    time: float = Field(default=3.0, gt=0, description="bench seconds per cell, over all its rounds")
    rounds: int = Field(default=3, ge=1)
    db: str = DEFAULT_DB
    allow_missing: bool = False
    pin: dict[str, str] = Field(default_factory=dict, description="device or model -> Ray node label (Ray only)")
    # MLPerf LoadGen runs per cell (bench --scenario), on the images of `dataset:`; Server once per bound
    scenarios: list[Literal["singlestream", "multistream", "server", "offline"]] = Field(default_factory=list)
    max_latency_ms: list[float] = Field(default_factory=list, description="Server latency bounds (p99), ms")
    target_qps: Optional[float] = Field(default=None, gt=0, description="Server QPS; default: search the highest")
    duration_s: float = Field(default=10.0, gt=0, description="LoadGen min_duration per run (exploratory)")

    @field_validator("max_latency_ms", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (int, float, str)) and not isinstance(value, bool) else value


def _line_of(text: str, key: str, index: Optional[int] = None) -> Optional[int]:
    """1-based line of top-level `key` (or of its index-th list item) in the spec's YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if not isinstance(root, yaml.MappingNode):
        return None
    for k, v in root.value:
        if k.value == key:
            if index is not None and isinstance(v, yaml.SequenceNode) and index < len(v.value):
                return v.value[index].start_mark.line + 1
            return k.start_mark.line + 1
    return None


#: The spec's values that have a flag, and the validator the flag uses (same value, same message).
VALUES: dict[str, Callable[[Any], Any]] = {
    "limit": validators.positive_int,
    "time": validators.seconds,
    "rounds": validators.positive_int,
    "min_images": validators.from_usage(MinImages.parse, "--min-images"),
    "target_qps": validators.positive_float,
    "duration_s": validators.seconds,
}
LIST_VALUES: dict[str, Callable[[Any], Any]] = {
    "device": validators.device,
    "precision": validators.from_usage(parse_precision, "--precision"),
    "max_latency_ms": validators.positive_float,  # also a single number: checked as a list of one
}
BENCH_VALUES: dict[str, Callable[[Any], Any]] = {
    "hint": validators.hint,
    "batch": validators.batch,
    "nireq": validators.positive_int,
    "nstreams": validators.positive_int,
    "max_latency_ms": validators.positive_float,
}
#: Spec keys whose flag is spelled differently.
FLAGS = {"bench": "--hint/--batch", "models": "--models", "device": "--device"}


class SpecFile:
    """A loaded spec with its text, so later checks (unknown model, precision) can name a line.
    `from_flags` holds the keys the command line set: their messages name the flag, not the file."""

    def __init__(self, path: Optional[Path], text: str, spec: SweepSpec) -> None:
        self.path, self.text, self.spec = path, text, spec
        self.from_flags: set[str] = set()

    def where(self, key: str, index: Optional[int] = None) -> str:
        if self.path is None or key in self.from_flags:
            return FLAGS.get(key, f"--{key.replace('_', '-')}")
        line = _line_of(self.text, key, index)
        return f"{self.path}:{line}" if line else str(self.path)

    def error(self, key: str, message: str, index: Optional[int] = None) -> ToolError:
        return ToolError(f"{self.where(key, index)}: {message}", 2)

    def value_error(self, key: str, message: str, index: Optional[int] = None) -> ToolError:
        """`--flag: message` for a flag's value, `file:line: key: message` for the spec's."""
        where = self.where(key, index)
        return ToolError(f"{where}: {message}" if where.startswith("-") else f"{where}: {key}: {message}", 2)


def _check_values(raw: dict, text: str, path: Path) -> None:
    """The values that have a flag get the flag's validator, so a spec value and a flag value that
    are refused get the same words (after `file:line: key:` instead of `argument --flag:`)."""

    def where(key: str, index: Optional[int] = None) -> str:
        line = _line_of(text, key, index)
        return f"{path}:{line}" if line else str(path)

    for key, validator in VALUES.items():
        if raw.get(key) is not None:
            validators.check(key, raw[key], validator, where(key))
    for key, validator in LIST_VALUES.items():
        items = raw.get(key)
        items = [items] if key == "max_latency_ms" and items is not None and not isinstance(items, list) else items
        for index, item in enumerate(items if isinstance(items, list) else []):
            validators.check(key, item, validator, where(key, index))
    bench = raw.get("bench")
    for index, config in enumerate(bench if isinstance(bench, list) else []):
        for key, validator in BENCH_VALUES.items():
            if isinstance(config, dict) and config.get(key) is not None:
                validators.check(f"bench[{index}].{key}", config[key], validator, where("bench", index))


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ToolError(f"cannot read sweep spec {path}: {exc.strerror}", 2) from None
    except UnicodeDecodeError as exc:
        raise ToolError(
            f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save the sweep "
            "spec as UTF-8",
            2,
        ) from None


def load_spec(path: Optional[Path]) -> SpecFile:
    if path is None:
        return SpecFile(None, "", SweepSpec())
    text = _read(path)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ToolError(f"{path}:{mark.line + 1 if mark else '?'}: YAML syntax error in the sweep spec", 2) from None
    if not isinstance(raw, dict):
        raise ToolError(f"{path}: a sweep spec is a mapping (models:, precision:, device:, bench:, ...)", 2)
    _check_values(raw, text, Path(path))
    try:
        return SpecFile(Path(path), text, SweepSpec.model_validate(raw))
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(p) for p in error["loc"]]
        index = int(loc[1]) if len(loc) > 1 and loc[1].isdigit() else None
        line = _line_of(text, loc[0], index) if loc else None
        where = f"{path}:{line}" if line else str(path)
        raise ToolError(f"{where}: {'.'.join(loc)}: {error['msg']}", 2) from None


# --- checks before any work: paths, models, images, calibration/evaluation overlap ---------------------


def checked_path(spec_file: SpecFile, key: str, validator: Callable[[Any], Path]) -> Optional[Path]:
    """The spec's path `key` (dataset, calibration, annotations) checked by its flag's validator."""
    value = getattr(spec_file.spec, key)
    if value is None:
        return None
    try:
        return validator(value)
    except validators.BadValue as exc:
        raise spec_file.value_error(key, str(exc)) from None


def check_models(spec_file: SpecFile, catalogue: Any) -> None:
    """Unknown model names get the catalogue's "did you mean", naming --models or the spec's line."""
    for index, name in enumerate(spec_file.spec.models):
        try:
            catalogue.get(name)
        except ToolError as exc:
            raise spec_file.value_error("models", exc.message, index) from None


def check_images(spec_file: SpecFile) -> Any:
    """The evaluation image set (inputs.dataset.ImageSet), or None without a dataset: an empty folder,
    missing labels and undecodable images are refused here, before any database or conversion."""
    from omz_mobilenet.inputs.dataset import load_image_set
    from omz_mobilenet.inputs.images import decode_bgr

    spec = spec_file.spec
    dataset = checked_path(spec_file, "dataset", validators.folder)
    annotations = checked_path(spec_file, "annotations", validators.file)
    if dataset is None:
        for key in ("annotations", "limit", "min_images"):  # they would be ignored without a word
            if getattr(spec, key) is not None:
                raise spec_file.value_error(key, "applies to the images of --dataset; pass --dataset DIR as well")
        return None
    # "no images" comes before "no ground truth"; an ImageFolder or a CSV's images count (inputs/dataset.py)
    image_set = load_image_set(dataset, annotations, spec.skip_bad_images, spec.limit)
    if not spec.skip_bad_images:  # with it, the evaluation skips and counts them
        for path, _label in image_set.items:
            try:
                decode_bgr(path)
            except ToolError as exc:
                raise ToolError(f"{exc.message}; fix the data or pass --skip-bad-images", 2) from None
    return image_set


def check_e2e(spec_file: SpecFile) -> Any:
    """The end-to-end options of `e2e: DIR` (bench/e2e.py's E2EOptions), or None without it: an empty
    folder or an undecodable image (unless skip_bad_images) is refused here, before any work."""
    from omz_mobilenet.bench.e2e import E2EOptions, check_e2e_images

    spec = spec_file.spec
    folder = checked_path(spec_file, "e2e", validators.folder)
    if folder is None:
        return None
    try:
        paths, problems = check_e2e_images(folder, spec.skip_bad_images)
    except ToolError as exc:
        raise spec_file.value_error("e2e", exc.message.removeprefix("--e2e: ")) from None
    return E2EOptions(tuple(paths), folder, spec.e2e_preprocess, skipped=tuple(problems), crop_rule=spec.crop_rule)


def check_labels(entries: list[Any], image_set: Any, settings: Any) -> None:
    """Every model of the sweep names the image set's classes (a class folder or CSV label the labels file
    does not name is exit 2), before any database or conversion: inputs/checks.py's check."""
    from omz_mobilenet.inputs.checks import check_label_spaces

    if image_set is not None:
        check_label_spaces([image_set], entries, settings)


def check_calibration(
    spec_file: SpecFile, targets: list[tuple[Any, str]], image_set: Any, out_dir: Path
) -> dict[tuple[str, str], int]:
    """Every IR the sweep must quantize has calibration images, and no evaluation image calibrates
    (or calibrated) an INT8 IR of the sweep: refused (exit 2) as `accuracy` and `gate` refuse it, unless
    allow_overlap; then {(model, precision): shared images} for the cells to record."""
    from omz_mobilenet.convert.calibration import overlapping, select_calibration
    from omz_mobilenet.convert.ir_store import ir_folder, ir_xml
    from omz_mobilenet.convert.quantize import QuantizeOptions, calibration_of
    from omz_mobilenet.precision import needs_calibration

    calibration = checked_path(spec_file, "calibration", validators.folder)
    planned = None  # what the sweep will calibrate on: hashed once, only if an IR is to be made
    counts: dict[tuple[str, str], int] = {}
    for entry, precision in targets:
        folder = ir_folder(entry, precision, out_dir)
        if not needs_calibration(entry, folder):
            continue
        xml = ir_xml(out_dir, entry.name, folder)
        if xml.is_file():
            record = calibration_of(xml)
        elif calibration is None:
            raise spec_file.value_error(
                "calibration",
                f"{entry.name} {precision} is quantized by NNCF on calibration images; pass --calibration DIR",
            )
        else:
            planned = (
                planned or select_calibration(calibration, QuantizeOptions(calibration=calibration).subset_size)[1]
            )
            record = planned
        shared = overlapping(record, [path for path, _label in image_set.items]) if record and image_set else []
        if shared and not spec_file.spec.allow_overlap:
            raise ToolError(
                f"{len(shared)} image(s) of {image_set.folder} (e.g. {shared[0].name}) calibrate {entry.name} "
                f"{precision}; evaluating on them inflates INT8 accuracy. Use images disjoint from the calibration "
                "set (see `omz-mobilenet split`) or pass --allow-overlap",
                2,
            )
        counts[(entry.name, precision)] = len(shared)
    return counts


def check_scenarios(spec_file: SpecFile, image_set: Any = None) -> Any:
    """The LoadGen runs each cell makes (sweep/context.py's ScenarioPlan), or None without `scenarios:`.
    A Server run needs a latency bound; bounds or a QPS without Server, or scenarios without the images
    of `dataset:` (LoadGen's sample library), are refused here, before any database or conversion."""
    from omz_mobilenet.sweep.context import ScenarioPlan

    spec = spec_file.spec
    if not spec.scenarios:
        for key in ("max_latency_ms", "target_qps"):
            if getattr(spec, key):
                raise spec_file.value_error(key, "applies to the Server scenario; add scenarios: [server]")
        return None
    server = "server" in spec.scenarios
    if server and not spec.max_latency_ms:
        raise spec_file.value_error("scenarios", "server needs its latency bound: add max_latency_ms: MS (LoadGen p99)")
    for key in ("max_latency_ms", "target_qps"):
        if getattr(spec, key) and not server:
            raise spec_file.value_error(key, "applies to the Server scenario; add server to scenarios:")
    if spec.dataset is None:
        raise spec_file.value_error("scenarios", "LoadGen's samples are the images of dataset: DIR; add it")
    from omz_mobilenet.bench.loadgen import ScenarioOptions
    from omz_mobilenet.bench.loadgen.run import samples_needed

    for index, name in enumerate(spec.scenarios):
        needed, have = samples_needed(ScenarioOptions(name)), len(image_set.items) if image_set is not None else 0
        if image_set is not None and have < needed:
            raise spec_file.value_error(
                "scenarios", f"{name} needs {needed} images per query; {spec.dataset} has {have}", index
            )
    bounds = tuple(dict.fromkeys(spec.max_latency_ms))
    return ScenarioPlan(tuple(dict.fromkeys(spec.scenarios)), bounds, spec.duration_s, spec.target_qps)
