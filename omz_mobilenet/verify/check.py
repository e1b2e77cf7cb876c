"""IR vs original framework on real images: is the conversion faithful?

Both sides see the same decoded, cropped and resized pixels; the IR gets them as BGR u8 (its
preprocessing is baked in), the original gets them normalised by images.original_input. A wrong
channel order or mean in the IR shows up here as disagreement and lost accuracy.

Two criteria, chosen by what the source is:

exact (float source, FP32 IR, f32 inference): the IR computes the same function up to float
  rounding, so every image must get the same top-1 class (agreement 100 %) and the largest output
  difference must stay <= 1e-4. No statistics: any miss is a bug.

paired (quantized source, or any FP16 IR): int8 kernels and fp16 weights round differently in each
  runtime, so some borderline images legitimately change class, in both directions. A bare
  agreement percentage on 100 images cannot tell that noise from a real loss (one image is one
  point), so the IR is judged on LABELLED images against the original, image by image:
    a = both right, b = original right / IR wrong, c = original wrong / IR right, d = both wrong.
  It fails when either holds:
  1. a significant AND material loss: the exact one-sided McNemar test (under equal accuracy each
     discordant image favours either side with probability 1/2, so b ~ Binomial(b + c, 1/2)) gives
     p = P(B >= b) < ALPHA = 0.01, AND the IR's Top-1 is lower by more than MAX_LOSS_POINTS = 1
     point plus one borderline image: b - c > ceil(1 % of the labelled images) + 1 (accuracy.gate's
     INT8 rule). Both are needed. The margin alone is a bare threshold on a noisy count: on 100
     images b - c has a spread of about sqrt(b + c), up to 4 images for these models, so a faithful
     IR would cross "2 images" by chance (the Arm INT8 model measures b = 4, c = 1, p = 0.19 on
     val_100: a loss that 100 images cannot tell from rounding). The test alone would, on large
     sets, fail a real but immaterial offset (0.5 points on 50,000 images is significant).
  2. below the agreement floor: agreement < DEFAULT_MIN_AGREEMENT = 0.80 (models.yml
     verify_tolerance.min_agreement overrides it). A gross error (channel swap, wrong mean)
     disagrees on far more images than rounding does, and the floor needs no labels. It is a
     point threshold on purpose: on a few unlabelled images it must still fail a channel swap.
  Labels: ImageNet ground truth (val.txt / FILES.tsv) beside a folder of images, or the class
  sub-folders of an ImageFolder (inputs/dataset.py), mapped to the model's outputs by inputs/labels.py.
  Without labels (no val.txt / FILES.tsv for the folder) only the floor can run; the record then
  says `complete: false` and names the checks that did not run: a check that did not run is never
  reported as passed.

Every record carries the 95 % Wilson interval of the agreement and the 95 % Newcombe interval of
the Top-1 difference (IR - original), so a reader sees how much 100 images can prove, and
`margin_images`: how many more images would have to turn wrong in the IR before some check fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.ir_store import ir_folder
from omz_mobilenet.convert.pipeline import ensure_ir
from omz_mobilenet.converters.native_log import quiet_native_stderr
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.download import fetch_model
from omz_mobilenet.inputs.checks import SKIP_HINT, check_image_folder, image_problem
from omz_mobilenet.inputs.dataset import (
    CLASS_FOLDERS,
    dataset_layout,
    find_annotations,
    load_annotations,
    load_image_set,
)
from omz_mobilenet.inputs.images import ir_input, load_for_model, original_input
from omz_mobilenet.inputs.labels import counted_space, label_space, output_labels
from omz_mobilenet.precision import DEFAULT_INFER_PRECISION, name_for
from omz_mobilenet.settings import Settings
from omz_mobilenet.verify.criteria import (  # noqa: F401 (the criteria's names, importable from here as before)
    ALPHA,
    DEFAULT_MIN_AGREEMENT,
    EXACT,
    FAIL,
    FLOAT_MAX_DIFF,
    FLOAT_MIN_AGREEMENT,
    MAX_LOSS_POINTS,
    PAIRED,
    PASS,
    Outputs,
    criterion_for,
    judge_outputs,
    max_loss_images,
    min_agreement_for,
)

Log = Callable[[str], None]


def _quiet_first(run: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """`run` with native chatter caught on its first call only (some runtimes build their delegate
    then); the progress bar must keep drawing during the later calls."""
    calls: list[int] = []

    def first_quiet(batch: np.ndarray) -> np.ndarray:
        if calls:
            return run(batch)
        calls.append(1)
        with quiet_native_stderr():
            return run(batch)

    return first_quiet


@dataclass(frozen=True)
class VerifyRecord:
    """One IR judged against its original, with the facts behind every number."""

    model: str
    precision: str
    device: str
    infer_precision: str
    dataset: str
    images: int
    labelled: int
    annotations: Optional[str]
    criterion: str  # exact | paired
    # top-1 agreement over all images, with its 95 % Wilson interval and the floor it must reach
    top1_agreement: float
    agreement_images: int
    agreement_ci95: list[float]
    min_agreement: float
    max_abs_diff: float
    mean_abs_diff: float
    max_diff_allowed: Optional[float]
    # accuracy on the labelled images (percent); difference IR - original in points, Newcombe 95 %
    top1_ir: Optional[float]
    top1_original: Optional[float]
    top1_diff: Optional[float]
    top1_diff_ci95: Optional[list[float]]
    # McNemar: b = original right / IR wrong, c = the reverse; one-sided p that the IR is worse
    mcnemar_b: Optional[int]
    mcnemar_c: Optional[int]
    mcnemar_p: Optional[float]
    alpha: float
    max_top1_loss_images: Optional[int]
    margin_images: Optional[int]  # images that must still turn wrong before a check fails (paired only)
    checks: dict[str, str]
    complete: bool
    original_runtime: str
    openvino: str
    passed: bool
    skipped: int = 0  # unreadable images left out (--skip-bad-images); never compared
    note: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def find_labels(dataset: Path, files: list[Path]) -> tuple[Optional[Path], list[Optional[int]]]:
    """0-based ImageNet labels for the images, None where unknown; (None, all None) without a label file.

    A missing label file is allowed (verify then runs the agreement floor only); a broken one is an error.
    """
    try:
        path = find_annotations(dataset)
    except ToolError:
        return None, [None] * len(files)
    labels = load_annotations(path, image_folder=dataset).labels
    return path, [labels.get(file.name) for file in files]


def _is_image_folder(dataset: Path) -> bool:
    return dataset_layout(dataset) == CLASS_FOLDERS


def model_labels(
    entry: ModelEntry, settings: Settings, dataset: Path, files: list[Path], annotations: Optional[Path] = None
) -> tuple[Optional[Path], list[Optional[int]]]:
    """(where the labels came from, each image's label in the model's outputs or None). An ImageFolder's
    class or a CSV label the model's labels file does not name is exit 2 (inputs/labels.py), before any
    conversion."""
    if annotations is not None or _is_image_folder(dataset):
        image_set = load_image_set(dataset, annotations)
        space = label_space(entry, settings) if image_set.class_names is not None else counted_space(entry)
        outputs = output_labels(image_set, space)
        truth = dict(zip((path for path, _label in image_set.items), outputs, strict=True))
        return annotations or dataset, [truth.get(file) for file in files]
    annotations, raw_labels = find_labels(dataset, files)
    space = counted_space(entry)
    try:
        return annotations, [None if label is None else space.to_output(label) for label in raw_labels]
    except ToolError as exc:
        raise ToolError(f"{annotations}: {exc.message}", 2) from None


@dataclass(frozen=True)
class VerifyRequest:
    """What `verify` compares on: the image folder (the first `limit` images), the IR and the device."""

    dataset: Path
    limit: Optional[int] = None
    precision: str = "FP32"
    device: str = "CPU"
    skip_bad: bool = False
    progress: bool = True
    annotations: Optional[Path] = None  # --annotations: a CSV / val.txt / FILES.tsv instead of the one found nearby

    def images(self) -> tuple[list[Path], list[str]]:
        """(readable images, problems), checked before any work: a folder without images or an
        unreadable image (unless --skip-bad-images) is bad input, exit 2."""
        if self.annotations is not None or _is_image_folder(Path(self.dataset)):
            # a CSV lists its images; class sub-folders: the first `limit` take classes in turn
            image_set = load_image_set(self.dataset, self.annotations, subset=self.limit)
            files = [path for path, _label in image_set.items]
        else:
            files = check_image_folder(self.dataset, self.limit)
        found = [(path, image_problem(path)) for path in files]
        problems = [problem for _path, problem in found if problem is not None]
        if problems and not self.skip_bad:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ToolError(f"{problems[0]}{more}; {SKIP_HINT}", 2)
        return [path for path, problem in found if problem is None], problems


def _outputs(images: Iterator[np.ndarray], run_ir: Callable, run_original: Callable, entry: ModelEntry):
    ir_out, ref_out = [], []
    for image in images:
        ir_out.append(run_ir(ir_input([image]))[0])
        ref_out.append(run_original(original_input([image], entry))[0])
    return np.stack(ir_out).astype(np.float32), np.stack(ref_out).astype(np.float32)


def _compare(entry: ModelEntry, settings: Settings, request: VerifyRequest, files: list[Path], log: Log):
    """(IR outputs, original outputs, original runtime's name). The original runtime (LiteRT, ONNX
    Runtime, TF) and the compiled IR are released here, original first, in this thread: not left to
    interpreter exit, where native runtimes' destructors ran in an undefined order."""
    import openvino as ov  # noqa: F401 (OpenVINO loads before the original runtime, as in every run)

    from omz_mobilenet.converters import open_reference
    from omz_mobilenet.output.progress import item_progress
    from omz_mobilenet.runtime import compile_ir, new_core

    fetched = fetch_model(entry, settings, log)
    xml = ensure_ir(entry, ir_folder(entry, request.precision, settings.out_dir), settings, log)
    compiled = compile_ir(new_core(), xml, request.device, DEFAULT_INFER_PRECISION)
    with quiet_native_stderr():
        original = open_reference(entry, fetched.model_path)
    runtime = f"{original.name} {original.version}"
    try:
        with item_progress(request.progress) as progress:
            task = progress.add_task(f"{entry.name} {request.precision} vs original", total=len(files))

            def images() -> Iterator[np.ndarray]:
                for path in files:
                    yield load_for_model(path, entry)
                    progress.update(task, advance=1)

            ir_out, ref_out = _outputs(
                images(), lambda batch, ir=compiled: ir(batch)[0], _quiet_first(original.run), entry
            )
    finally:
        del original
        del compiled
    return ir_out, ref_out, runtime


def verify_model(
    entry: ModelEntry, settings: Settings, request: VerifyRequest, log: Log = lambda _m: None
) -> VerifyRecord:
    import openvino as ov

    request = dataclasses.replace(request, precision=name_for(entry, request.precision))  # FP32 -> INT8-ASIS
    files, problems = request.images()
    if not files:
        raise ToolError(f"no readable images in {request.dataset}: {problems[0]}", 2)
    annotations, labels = model_labels(entry, settings, Path(request.dataset), files, request.annotations)
    ir_out, ref_out, runtime = _compare(entry, settings, request, files, log)
    record = judge_outputs(entry, request.precision, Outputs(ir_out, ref_out, labels))
    note = _note(record, request.dataset, annotations, len(files))
    if problems:
        note = "; ".join(n for n in (f"{len(problems)} unreadable images skipped", note) if n)
    if note:
        log(f"[yellow]{entry.name}: {note}[/yellow]")
    return VerifyRecord(
        **{
            **record,
            "device": request.device,
            "dataset": str(request.dataset),
            "annotations": str(annotations) if annotations else None,
            "original_runtime": runtime,
            "openvino": ov.get_version(),
            "skipped": len(problems),
            "note": note,
        }
    )


def _note(record: dict, dataset: Path, annotations: Optional[Path], images: int) -> str:
    if record["labelled"] == 0 and record["criterion"] == PAIRED:
        return (
            f"no labels for {dataset} (val.txt / FILES.tsv): only the agreement floor was checked, "
            "the paired accuracy test did not run"
        )
    if annotations is not None and record["labelled"] < images:
        return f"{images - record['labelled']} of {images} images have no label in {annotations}; the paired test used the rest"
    return ""
