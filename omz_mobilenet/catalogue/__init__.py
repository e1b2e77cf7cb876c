"""The model catalogue: `models.yml`, its schema (schema.py) and its loader (loader.py).

schema.py holds the pydantic models of an entry; loader.py reads the file, applies the per-family
`defaults:`, derives `framework`, `converted_input` and the labels file, and turns every problem into a
one-line error naming file, line, model and field.
"""

from omz_mobilenet.catalogue.loader import (
    BUILTIN_ENV,
    CATALOGUE_ENV,
    default_catalogue_path,
    load_catalogue,
    user_catalogue_paths,
)
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
    "default_catalogue_path",
    "load_catalogue",
    "user_catalogue_paths",
]
