"""catalogue entry -> downloaded file -> driver -> baked preprocessing -> IR on disk (+ stats)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from omz_mobilenet import __version__
from omz_mobilenet.catalogue import ModelEntry
from omz_mobilenet.convert.ir_store import ir_xml, write_ir
from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.download import FetchedModel, fetch_model
from omz_mobilenet.precision import INT8_FOLDERS, compress_to_fp16, is_int8, is_requantized, write_folder
from omz_mobilenet.settings import Settings

RT_KEY = "omz_mobilenet"


@dataclass(frozen=True)
class ConvertResult:
    model: str
    precision: str
    xml: str
    gflops: float
    mparams: float
    source_sha256: str
    openvino: str


def read_labels(fetched: FetchedModel) -> list[str]:
    words = [
        line.split(" ", 1)[-1].strip()
        for line in (fetched.folder / fetched.entry.labels_file).read_text().splitlines()
        if line.strip()
    ]
    return (["background"] if fetched.entry.output.has_background else []) + words


def preprocessing_summary(entry: ModelEntry) -> dict:
    return {
        "ir_input": f"{entry.converted_input.name} {entry.converted_input.shape} NCHW BGR {entry.converted_input.element_type}",
        "original_input": entry.original_input.model_dump(exclude_none=True),
        "geometry": entry.preprocessing.model_dump(),
        "output_dequantized": entry.output.quantization is not None,
    }


def _attach_info(model, fetched: FetchedModel, precision: str, cost) -> None:
    import openvino as ov

    entry = fetched.entry
    labels = read_labels(fetched)
    info = {
        "model_name": entry.name,
        "precision": precision,
        "source_file": entry.model_file.file,
        "source_sha256": fetched.source_sha256,
        "source_precision": entry.source_precision,
        "classes": str(entry.output.classes),
        "output_kind": entry.output.kind,
        "preprocessing": json.dumps(preprocessing_summary(entry), sort_keys=True),
        "gflops": f"{cost.gflops:.4f}",
        "mparams": f"{cost.mparams:.4f}",
        "toolkit_version": __version__,
        "openvino_version": ov.get_version(),
    }
    for key, value in info.items():
        model.set_rt_info(value, [RT_KEY, key])
    model.set_rt_info("\n".join(labels), [RT_KEY, "labels"])
    # Open Model Zoo / Model API readers look here for the task and label names.
    model.set_rt_info("Classification", ["model_info", "model_type"])
    model.set_rt_info(" ".join(label.replace(" ", "_") for label in labels), ["model_info", "labels"])


def build_ir_model(fetched: FetchedModel):
    """The baked, in-memory IR and the cost of the original graph (before preprocessing)."""
    from omz_mobilenet.convert.ir_stats import count_cost
    from omz_mobilenet.convert.preprocessing import bake_preprocessing
    from omz_mobilenet.converters import read_original

    original = read_original(fetched.entry, fetched.model_path)
    cost = count_cost(original)
    return bake_preprocessing(original, fetched.entry), cost


def convert_model(
    entry: ModelEntry,
    precisions: list[str],
    settings: Settings,
    log: Callable[[str], None] = lambda _m: None,
    quantize_options=None,
) -> list[ConvertResult]:
    import openvino as ov

    from omz_mobilenet.convert.quantize import QuantizeOptions, quantize_to_ir

    folders = list(dict.fromkeys(write_folder(entry, p) for p in precisions))  # a wrong precision fails before any work
    fetched = fetch_model(entry, settings, log)
    model, cost = build_ir_model(fetched)
    results = []
    for precision in folders:
        options = quantize_options or QuantizeOptions(calibration=None)
        if is_requantized(precision):  # an INT8 source: its float graph requantized by NNCF
            from omz_mobilenet.convert.requantize import requantize_to_ir

            xml = requantize_to_ir(entry, model, cost, fetched, settings, options, _attach_info, log)
        elif precision in INT8_FOLDERS:
            xml = quantize_to_ir(entry, model, cost, fetched, precision, settings, options, _attach_info, log)
        else:
            _attach_info(model, fetched, precision, cost)
            xml = write_ir(model, settings.out_dir, entry.name, precision, compress_to_fp16=compress_to_fp16(precision))
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
            )
        )
    return results


def ensure_ir(
    entry: ModelEntry, precision: str, settings: Settings, log: Callable[[str], None] = lambda _m: None
) -> Path:
    """The IR's .xml, converting first when it is not on disk yet (used by bench, accuracy, verify)."""
    xml = ir_xml(settings.out_dir, entry.name, precision)
    if not xml.is_file():
        if is_int8(precision):
            raise ToolError(
                f"{entry.name} has no INT8 IR yet ({precision} in {settings.out_dir}); make one with "
                f"`omz-mobilenet convert {entry.name} --precision {precision} --calibration DIR`",
                2,
            )
        convert_model(entry, [precision], settings, log)
    return xml


def result_rows(results: list[ConvertResult]) -> list[dict]:
    return [asdict(r) for r in results]
