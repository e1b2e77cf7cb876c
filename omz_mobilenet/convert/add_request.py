"""What `add` is asked to describe, and what `add --force` keeps of the entry it replaces.

A flag left out of `add --force` keeps the replaced entry's value (labels file, background, mean,
scale, colour order, layout, geometry, family, description), so `add --force --color bgr` changes the
colour order only, and re-recording a changed model file (`add FILE --name NAME --force`) keeps what
the flags said the first time. Without a previous entry the defaults apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional

import yaml

DEFAULT_COLOR = "RGB"
DEFAULT_FAMILY = "mobilenet-v2"


@dataclass(frozen=True)
class Preprocess:
    """The `add` flags the file cannot answer: normalisation, colour order, layout and geometry
    (None: not given)."""

    mean: Optional[list[float]] = None
    scale: Optional[list[float]] = None
    color: Optional[str] = None
    layout: Optional[str] = None
    resize_short: Optional[int] = None
    crop: Optional[int] = None
    resize: Optional[int] = None
    geometry: Optional[dict[str, Any]] = None  # the replaced entry's `preprocessing`, kept as it was

    @property
    def geometry_flags(self) -> bool:
        return self.resize_short is not None or self.crop is not None or self.resize is not None


@dataclass(frozen=True)
class AddRequest:
    file: Path
    name: str
    catalogue: Path
    labels: Optional[Path] = None
    background: Optional[bool] = None
    family: Optional[str] = None
    description: Optional[str] = None
    output: Optional[str] = None  # which output, when the model has several
    force: bool = False
    preprocess: Preprocess = field(default_factory=Preprocess)


def previous_entry(catalogue: Path, name: str) -> Optional[dict[str, Any]]:
    """The entry `name` as written in the catalogue file (plain YAML data), None when there is none."""
    if not catalogue.is_file():
        return None
    raw = yaml.safe_load(catalogue.read_text(encoding="utf-8"))
    models = raw.get("models") if isinstance(raw, dict) else None
    for item in models if isinstance(models, list) else []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def _labels_path(previous: dict[str, Any], catalogue: Path) -> Optional[Path]:
    """The replaced entry's own labels file (a `path:` source); None for ImageNet's (derived again)."""
    for item in previous.get("files") or []:
        if isinstance(item, dict) and item.get("name") == previous.get("labels_file") and item.get("path"):
            return (catalogue.expanduser().resolve().parent / str(item["path"])).resolve()
    return None


def with_previous(request: AddRequest, previous: Optional[dict[str, Any]]) -> tuple[AddRequest, list[str]]:
    """The request with every value not given taken from `previous`, then the defaults; and the names
    of the values kept from `previous`."""
    old_input = (previous or {}).get("original_input") or {}
    old_output = (previous or {}).get("output") or {}
    old = previous or {}
    kept: list[str] = []

    def keep(flag: str, given: Any, before: Any, default: Any) -> Any:
        if given is not None:
            return given
        if before is not None:
            kept.append(flag)
            return before
        return default

    pre = request.preprocess
    resolved = replace(
        pre,
        mean=keep("--mean", pre.mean, old_input.get("mean"), None),
        scale=keep("--scale", pre.scale, old_input.get("scale"), None),
        color=keep("--color", pre.color, old_input.get("color"), DEFAULT_COLOR),
        layout=keep("--layout", pre.layout, old_input.get("layout"), None),
        geometry=None if pre.geometry_flags else keep("geometry", None, old.get("preprocessing"), None),
    )
    labels = _labels_path(old, request.catalogue) if previous and request.labels is None else None
    done = replace(
        request,
        labels=keep("--labels", request.labels, labels, None),
        background=keep("--background", request.background, old_output.get("background"), False),
        family=keep("--family", request.family, old.get("family"), DEFAULT_FAMILY),
        description=keep("--description", request.description, old.get("description"), None),
        preprocess=resolved,
    )
    return done, kept
