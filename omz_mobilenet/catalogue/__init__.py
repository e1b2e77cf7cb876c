"""The model catalogue: `models.yml`, its schema (schema.py) and its loader (loader.py).

schema.py holds the pydantic models of an entry; digest.py what an IR of an entry depends on
(`conversion_digest`); loader.py reads one catalogue file, applies its per-family `defaults:`, derives
`framework`, `converted_input` and the labels file, and turns every problem into a one-line error naming
file, line, model and field; catalogues.py joins the built-in file and the user catalogues
(`load_catalogue`).
"""

from omz_mobilenet.catalogue.catalogues import BUILT_IN, catalogue_label, load_catalogue, user_catalogue_paths
from omz_mobilenet.catalogue.digest import conversion_digest
from omz_mobilenet.catalogue.loader import BUILTIN_ENV, CATALOGUE_ENV, default_catalogue_path
from omz_mobilenet.catalogue.schema import (
    Catalogue,
    Checksum,
    ConvertedInput,
    Geometry,
    License,
    ModelEntry,
    ModelFile,
    OriginalInput,
    Output,
    PublishedAccuracy,
    Quantization,
    SourceFile,
    VerifyTolerance,
)

__all__ = [
    "BUILT_IN",
    "BUILTIN_ENV",
    "CATALOGUE_ENV",
    "Catalogue",
    "Checksum",
    "ConvertedInput",
    "Geometry",
    "License",
    "ModelEntry",
    "ModelFile",
    "OriginalInput",
    "Output",
    "PublishedAccuracy",
    "Quantization",
    "SourceFile",
    "VerifyTolerance",
    "catalogue_label",
    "conversion_digest",
    "default_catalogue_path",
    "load_catalogue",
    "user_catalogue_paths",
]
