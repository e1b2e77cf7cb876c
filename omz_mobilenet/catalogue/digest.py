"""What an IR was converted from: `conversion_digest(entry)`, the one key of "this IR is current".

An IR bakes the entry's normalisation, colour order and layout (convert/preprocessing.py) and the model
file itself, so editing any of them in the catalogue makes an IR on disk stale. The digest covers
exactly the entry's conversion inputs: format, model_file, the model file's and labels file's checksums,
original_input, converted_input, output and source_precision. Not absolute paths (a catalogue moved to
another folder or machine keeps its IRs), descriptions, geometry (applied at run time, not baked) or
published accuracy. The IR store writes it beside each IR (convert/ir_store.py) and the pipeline
re-converts or refuses an IR whose recorded digest differs (convert/pipeline.ensure_ir).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omz_mobilenet.catalogue.schema import ModelEntry, SourceFile

DIGEST_VERSION = 1  # bump when the inputs below change: every IR written before then becomes stale


def _file_identity(src: SourceFile) -> dict[str, Any]:
    """A file as its content is known from the catalogue: its checksum (or, without one, its note and URLs)."""
    if src.checksum is not None:
        return {"checksum": src.checksum.model_dump()}
    return {"checksum_note": src.checksum_note, "sources": list(src.sources)}


def conversion_inputs(entry: ModelEntry) -> dict[str, Any]:
    """The entry's fields an IR depends on, as plain JSON-able data (see the module doc)."""
    labels = next(f for f in entry.files if f.name == entry.labels_file)
    return {
        "version": DIGEST_VERSION,
        "format": entry.format,
        "model_file": entry.model_file.model_dump(),
        "model_source": _file_identity(entry.model_source),
        "labels_source": _file_identity(labels),
        "original_input": entry.original_input.model_dump(),
        "converted_input": entry.converted_input.model_dump(),
        "output": entry.output.model_dump(),
        "source_precision": entry.source_precision,
    }


def conversion_digest(entry: ModelEntry) -> str:
    """sha256 (hex) of the entry's conversion inputs, in a canonical JSON form."""
    text = json.dumps(conversion_inputs(entry), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
