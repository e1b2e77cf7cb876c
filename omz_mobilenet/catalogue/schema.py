"""The catalogue's schema: one pydantic model per part of a `models.yml` entry, and name lookup.

These models describe an entry as the rest of the toolkit sees it, after the loader
(`omz_mobilenet.catalogue.loader`) has applied the family defaults and filled in the derived fields
(`framework`, `converted_input`, the labels file). To add a catalogue field: add it here, and if it can
be derived, derive it in loader.py. Only light imports here: `omz-mobilenet list` must start fast.
"""

from __future__ import annotations

import difflib
import re
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from omz_mobilenet.errors import UsageError
from omz_mobilenet.formats import FORMATS

HEX_LENGTHS = {"sha1": 40, "sha256": 64, "sha384": 96}
ElementType = Literal["f32", "u8", "i8"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Checksum(Strict):
    algorithm: Literal["sha1", "sha256", "sha384"]
    value: str

    @model_validator(mode="after")
    def _hex_of_right_length(self) -> Checksum:
        want = HEX_LENGTHS[self.algorithm]
        if not re.fullmatch(r"[0-9a-f]+", self.value) or len(self.value) != want:
            raise ValueError(f"{self.algorithm} must be {want} lowercase hex digits")
        return self


class SourceFile(Strict):
    name: str = Field(description="local file name; also the key a mirror is searched by")
    size: Optional[int] = Field(default=None, gt=0)
    checksum: Optional[Checksum] = None
    checksum_note: Optional[str] = Field(default=None, description="why there is no checksum")
    sources: list[str] = Field(default_factory=list, description="official URL first, then alternatives")
    path: Optional[str] = Field(
        default=None,
        description="a file or folder on disk, relative to the catalogue file (or absolute); the loader "
        "resolves it to an absolute path. Fetched like a download: copied into the cache and checked",
    )
    unpack: bool = Field(default=False, description="a .tgz/.tar.gz to extract next to it")

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, value: str) -> str:
        if not value or "/" in value or "\\" in value or value in {".", ".."}:
            raise ValueError("must be a plain file name without directories")
        return value

    @field_validator("sources")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not re.match(r"^https?://[^/\s]+/\S*$", url) and not re.match(r"^file://\S+$", url):
                raise ValueError(f"{url!r} is not an http(s) or file:// URL")
        return urls

    @model_validator(mode="after")
    def _checksum_or_note(self) -> SourceFile:
        if not self.sources and not self.path:
            raise ValueError("needs `sources` (URLs) or a `path` on disk")
        if self.path is not None and self.checksum is None:
            # a file on disk has no publisher: its checksum is what makes an edit of it visible
            raise ValueError("a `path:` source needs its checksum (omz-mobilenet add writes it)")
        if self.checksum is None and not self.checksum_note:
            raise ValueError("needs a checksum, or a checksum_note saying why none is published")
        return self


class ModelFile(Strict):
    file: str = Field(description="name of an entry of `files`")
    member: Optional[str] = Field(default=None, description="path inside the unpacked archive")


class Quantization(Strict):
    dtype: Literal["u8", "i8"]
    scale: float = Field(gt=0)
    zero_point: int


class OriginalInput(Strict):
    name: str
    shape: list[int] = Field(min_length=4, max_length=4)
    layout: Literal["NHWC", "NCHW"]
    color: Literal["RGB", "BGR"]
    element_type: ElementType
    mean: Optional[list[float]] = Field(default=None, min_length=3, max_length=3)
    scale: Optional[list[float]] = Field(default=None, min_length=3, max_length=3)
    quantization: Optional[Quantization] = None
    normalization_note: Optional[str] = None

    @model_validator(mode="after")
    def _consistent(self) -> OriginalInput:
        if self.element_type == "f32" and self.quantization is not None:
            raise ValueError("a float input takes mean/scale, not quantization")
        if self.element_type != "f32" and (self.mean or self.scale) and self.quantization is None:
            raise ValueError("a quantized input needs its quantization (scale, zero_point)")
        if self.scale is not None and any(s == 0 for s in self.scale):
            raise ValueError("scale values must be non-zero")
        return self

    @property
    def height_width(self) -> tuple[int, int]:
        if self.layout == "NHWC":
            return self.shape[1], self.shape[2]
        return self.shape[2], self.shape[3]


class ConvertedInput(Strict):
    name: str
    shape: list[int] = Field(min_length=4, max_length=4)
    layout: Literal["NCHW"]
    color: Literal["BGR"]
    element_type: Literal["u8", "f32"] = "u8"


class Output(Strict):
    name: str
    converted_name: Optional[str] = None
    classes: int = Field(ge=2, description="size of the output: the labels file's classes, plus 1 with background")
    background: Optional[bool] = Field(
        default=None, description="output 0 is a background class (default: true for 1001 classes)"
    )
    kind: Literal["probabilities", "logits"]
    quantization: Optional[Quantization] = None

    @property
    def has_background(self) -> bool:
        return self.background if self.background is not None else self.classes == 1001

    @property
    def label_count(self) -> int:
        """How many names the labels file holds: the output size without the background class."""
        return self.classes - (1 if self.has_background else 0)


class Geometry(Strict):
    """How an image becomes the network's square input (shared by original and IR)."""

    kind: Literal["central_crop", "resize_short_crop"]
    central_fraction: float = Field(default=0.875, gt=0, le=1)
    resize_short: int = Field(default=256, gt=0)
    interpolation: Literal["bilinear", "area", "cubic"] = "bilinear"


class PublishedAccuracy(Strict):
    top1: float = Field(ge=0, le=100)
    top5: Optional[float] = Field(default=None, ge=0, le=100)
    source: str


class VerifyTolerance(Strict):
    """A per-model exception to verify's default thresholds, with the measurement that justifies it."""

    min_agreement: float = Field(gt=0, le=1)
    reason: str


class License(Strict):
    name: str
    url: str


class ModelEntry(Strict):
    name: str
    description: str
    family: Literal["mobilenet-v1", "mobilenet-v2"]
    framework: Literal["tf", "tflite", "onnx"]
    format: Literal["tf_frozen", "tf_savedmodel", "keras", "tflite", "onnx"]
    files: list[SourceFile] = Field(min_length=1)
    model_file: ModelFile
    labels_file: str = Field(
        description="entry of `files` with the class names, one a line in output order (background excluded); "
        "ImageNet's synset_words.txt for the built-in models"
    )
    original_input: OriginalInput
    converted_input: ConvertedInput
    output: Output
    preprocessing: Geometry
    source_precision: Literal["FP32", "INT8"]
    gflops: float = Field(gt=0)
    mparams: float = Field(gt=0)
    accuracy: Optional[PublishedAccuracy] = None
    license: Optional[License] = None
    verify_tolerance: Optional[VerifyTolerance] = None
    notes: Optional[str] = None
    catalogue_file: Optional[str] = Field(
        default=None, description="derived: the catalogue file the entry was read from (never written by hand)"
    )

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]*", value):
            raise ValueError("must be lowercase letters, digits, '.' and '-'")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> ModelEntry:
        names = [f.name for f in self.files]
        if self.model_file.file not in names:
            raise ValueError(f"model_file.file {self.model_file.file!r} is not one of files {names}")
        if self.labels_file not in names:
            raise ValueError(f"labels_file {self.labels_file!r} is not one of files {names}")
        source = next(f for f in self.files if f.name == self.model_file.file)
        if source.unpack and not self.model_file.member:
            raise ValueError("model_file.member is required when the file is an archive")
        if FORMATS[self.format].framework != self.framework:
            raise ValueError(f"format {self.format} does not belong to framework {self.framework}")
        if self.output.has_background and self.output.classes < 3:
            raise ValueError("output.background needs at least 2 classes besides the background")
        h, w = self.original_input.height_width
        if self.converted_input.shape != [1, 3, h, w]:
            raise ValueError(f"converted_input.shape must be [1, 3, {h}, {w}] to match the original input")
        return self

    @property
    def resolution(self) -> int:
        return self.original_input.height_width[0]

    @property
    def model_source(self) -> SourceFile:
        return next(f for f in self.files if f.name == self.model_file.file)


class Catalogue(Strict):
    models: list[ModelEntry]

    @model_validator(mode="after")
    def _unique_names(self) -> Catalogue:
        seen: set[str] = set()
        for entry in self.models:
            if entry.name in seen:
                raise ValueError(f"duplicate model name {entry.name!r}")
            seen.add(entry.name)
        return self

    def names(self) -> list[str]:
        return [m.name for m in self.models]

    def get(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else " Run `omz-mobilenet list` to see the models."
        raise UsageError(f"unknown model {name!r}.{hint}")

    def select(self, names: list[str], all_models: bool) -> list[ModelEntry]:
        if all_models:
            return list(self.models)
        if not names:
            raise UsageError("name at least one model, or pass --all or --available")
        return [self.get(n) for n in names]
