"""catalogue entry -> downloaded file -> driver -> baked preprocessing -> IR on disk (+ stats)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.catalogue import ModelEntry, conversion_digest
from omz_mobilenet.convert.ir_stats import GraphCost
from omz_mobilenet.convert.ir_store import DIGEST_KEY, RT_KEY, ir_xml, reconvert_command, stale_reason, write_ir
from omz_mobilenet.convert.job import ConversionJob, QuantizeOptions
from omz_mobilenet.errors import UsageError
from omz_mobilenet.fetch.download import FetchedModel, fetch_model
from omz_mobilenet.precision import (
    INT8_FOLDERS,
    compress_to_fp16,
    is_int8,
    is_requantized,
    label,
    needs_calibration,
    write_folder,
)
from omz_mobilenet.settings import Settings

__all__ = ["RT_KEY", "ConvertResult", "build_ir_model", "convert_model", "ensure_ir", "plan_folders", "result_rows"]


@dataclass(frozen=True)
class ConvertResult:
    model: str
    precision: str
    xml: str
    gflops: float
    mparams: float
    source_sha256: str
    openvino: str
    name: str = ""  # what --precision calls this IR (precision.label: INT8 for INT8-RQ/, INT8-ASIS for FP32/ of INT8)


def build_ir_model(fetched: FetchedModel) -> tuple[Any, GraphCost]:
    """The baked, in-memory IR and the cost of the original graph (before preprocessing)."""
    from omz_mobilenet.convert.ir_stats import count_cost
    from omz_mobilenet.convert.preprocessing import bake_preprocessing
    from omz_mobilenet.converters import read_original

    original = read_original(fetched.entry, fetched.model_path)
    cost = count_cost(original)
    model = bake_preprocessing(original, fetched.entry)
    # every IR folder written from this model (NNCF keeps rt_info) records what it was converted from
    model.set_rt_info(conversion_digest(fetched.entry), [RT_KEY, DIGEST_KEY])
    return model, cost


def _write(job: ConversionJob, precision: str) -> Path:
    """One IR folder of the job's model: plain (FP32, FP16), NNCF INT8, or an INT8 source's requantization."""
    from omz_mobilenet.convert.quantize import quantize_to_ir

    if is_requantized(precision):  # an INT8 source: its float graph requantized by NNCF
        from omz_mobilenet.convert.requantize import requantize_to_ir

        return requantize_to_ir(job)
    if precision in INT8_FOLDERS:
        return quantize_to_ir(job, precision)
    job.label_ir(job.model, precision)
    return write_ir(job.model, job.settings.out_dir, job.entry.name, precision, compress_to_fp16(precision))


def plan_folders(entry: ModelEntry, precisions: list[str], options: QuantizeOptions) -> list[str]:
    """The IR folders `convert` writes for the entry, in order, once each; an impossible precision
    (INT8-RQ of a float model, FP16-INT8 of an INT8 one) or a missing or empty calibration folder is
    refused here, before any download or conversion."""
    from omz_mobilenet.convert.quantize import check_quantizable
    from omz_mobilenet.convert.requant_margin import check_margin_folder

    folders = list(dict.fromkeys(write_folder(entry, p) for p in precisions))
    for folder in folders:
        if needs_calibration(entry, folder):
            check_quantizable(entry, options, folder)
        if is_requantized(folder) and options.calibration is not None:
            # --max-drop with an unlabelled calibration folder: refused before any download or conversion
            check_margin_folder(options.calibration, options.subset_size, options.max_drop)
    return folders


def convert_model(
    entry: ModelEntry,
    precisions: list[str],
    settings: Settings,
    log: Callable[[str], None] = lambda _m: None,
    quantize_options: Optional[QuantizeOptions] = None,
) -> list[ConvertResult]:
    import openvino as ov

    options = quantize_options or QuantizeOptions(calibration=None)
    folders = plan_folders(entry, precisions, options)
    fetched = fetch_model(entry, settings, log)
    model, cost = build_ir_model(fetched)
    job = ConversionJob(fetched, model, cost, settings, options, log)
    results = []
    for precision in folders:
        xml = _write(job, precision)
        log(f"wrote {xml}")
        results.append(
            ConvertResult(
                entry.name,
                precision,
                str(xml),
                round(cost.gflops, 4),
                round(cost.mparams, 4),
                fetched.source_sha256,
                ov.get_version(),
                label(precision, entry),
            )
        )
    return results


def ensure_ir(
    entry: ModelEntry, precision: str, settings: Settings, log: Callable[[str], None] = lambda _m: None
) -> Path:
    """The IR's .xml of the entry as it is now (the one place bench, accuracy, verify and the sweep get
    an IR): converted first when it is not on disk yet, converted again when it was converted from an
    older version of the entry (ir_store.stale_reason); an INT8 IR is never made here (it needs
    calibration images), so a missing or stale one is a usage error naming the convert command."""
    xml = ir_xml(settings.out_dir, entry.name, precision)
    if xml.is_file():
        reason = stale_reason(entry, xml)
        if reason is None:
            return xml
        if is_int8(precision):
            raise UsageError(
                f"{entry.name}: the {reason}; an INT8 IR needs calibration images to be made again: "
                f"{reconvert_command(entry, precision)}"
            )
        log(f"{entry.name}: the {reason}; converting it again")
    elif is_int8(precision):
        raise UsageError(
            f"{entry.name} has no INT8 IR yet ({precision} in {settings.out_dir}); make one with "
            f"{reconvert_command(entry, precision)}"
        )
    convert_model(entry, [precision], settings, log)
    return xml


def result_rows(results: list[ConvertResult]) -> list[dict[str, Any]]:
    return [asdict(r) for r in results]
