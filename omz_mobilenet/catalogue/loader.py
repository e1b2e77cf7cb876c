"""Loading `models.yml`: family defaults, derived fields, and one-line errors naming file, line, model and field.

Each entry of `models:` is completed as a plain dict before the schema (schema.py) validates it, so a
schema error still points at the entry's line:

1. family defaults: every key of `defaults.<family>` the entry does not give itself is copied in.
   A default is a whole key: an entry giving `output` replaces the family's `output`, no deep merge.
2. derived fields, each only when the entry does not give it:
   - `framework` from `format` (the FORMATS table in omz_mobilenet/formats.py); an explicit `framework`
     that disagrees is an error;
   - `converted_input` from `original_input`: same name, shape [1, 3, H, W], NCHW, BGR, u8;
   - `labels_file`: the name of `default_labels_file`, and that file appended to `files` when the entry
     lists no file of that name.
3. schema validation.

Only light imports here: `omz-mobilenet list` must start fast.
"""

from __future__ import annotations

import copy
import os
import urllib.parse
from importlib import resources
from pathlib import Path
from typing import Any, Optional, get_args

import yaml
from pydantic import ValidationError

from omz_mobilenet.catalogue.lines import DEFAULTS_KEY, Lines, at, one_line
from omz_mobilenet.catalogue.schema import Catalogue, ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.formats import FORMATS

CATALOGUE_ENV = "OMZ_MOBILENET_CATALOGUE"  # user catalogues added to the built-in one (a path list)
BUILTIN_ENV = "OMZ_MOBILENET_MODELS_YML"  # another models.yml instead of the packaged one (tests, developers)
LABELS_KEY = "default_labels_file"
FAMILIES: tuple[str, ...] = get_args(ModelEntry.model_fields["family"].annotation)
# Keys a family default may set: any entry field but the ones that identify the entry.
DEFAULTABLE = tuple(key for key in ModelEntry.model_fields if key not in {"name", "family"})


def default_catalogue_path() -> Path:
    """The built-in catalogue: the packaged models.yml, or the file OMZ_MOBILENET_MODELS_YML names."""
    override = os.environ.get(BUILTIN_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("omz_mobilenet.data").joinpath("models.yml")))


# --- derivations (each takes and returns plain YAML data; never raises on malformed input) ---


def derived_framework(fmt: object) -> Optional[str]:
    """The framework a source format belongs to, or None for an unknown format (the schema reports it)."""
    if isinstance(fmt, str) and fmt in FORMATS:
        return FORMATS[fmt].framework
    return None


def derived_converted_input(original: object) -> Optional[dict[str, Any]]:
    """What the IR takes for this original input: BGR u8 NCHW of the same height and width."""
    if not isinstance(original, dict):
        return None
    shape, layout = original.get("shape"), original.get("layout")
    if not isinstance(shape, list) or len(shape) != 4 or layout not in ("NHWC", "NCHW"):
        return None
    height, width = (shape[1], shape[2]) if layout == "NHWC" else (shape[2], shape[3])
    return {
        "name": original.get("name"),
        "shape": [1, 3, height, width],
        "layout": "NCHW",
        "color": "BGR",
        "element_type": "u8",
    }


class EntryError(Exception):
    """A problem found while completing an entry, before schema validation."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def resolved_url(url: object, base: Path) -> object:
    """A `file://` source relative to the catalogue file (`file://models/a.tflite`) made absolute
    (`file:///abs/models/a.tflite`); absolute ones (`file:///...`, `file://localhost/...`) and
    http(s) URLs as given."""
    if not isinstance(url, str) or not url.startswith("file://"):
        return url
    rest = url[len("file://") :]
    if not rest or rest.startswith("/") or rest.startswith("localhost/"):
        return url
    return (base / Path(urllib.parse.unquote(rest)).expanduser()).resolve().as_uri()


def resolved_files(files: object, base: Path) -> object:
    """`files` with each `path:` and relative `file://` source made absolute against the catalogue
    file's folder (other values as given)."""
    if not isinstance(files, list):
        return files
    out: list[object] = []
    for item in files:
        if isinstance(item, dict):
            item = resolved_file(item, base)
        out.append(item)
    return out


def resolved_file(item: dict[str, Any], base: Path) -> dict[str, Any]:
    """One `files` item (or `default_labels_file`) with its path and file:// sources made absolute."""
    if isinstance(item.get("path"), str) and item["path"].strip():
        item = dict(item, path=str((base / Path(item["path"]).expanduser()).resolve()))
    if isinstance(item.get("sources"), list):
        item = dict(item, sources=[resolved_url(url, base) for url in item["sources"]])
    return item


def complete_entry(
    entry: dict[str, Any],
    defaults: dict[str, dict[str, Any]],
    labels: Optional[dict[str, Any]],
    catalogue_file: Optional[Path] = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The entry with family defaults and derived fields filled in, and {key: family} for each defaulted key."""
    done = dict(entry)
    if catalogue_file is not None:
        done["catalogue_file"] = str(catalogue_file)
        done["files"] = resolved_files(done.get("files"), catalogue_file.parent)
    from_defaults: dict[str, str] = {}
    family = entry.get("family")
    if isinstance(family, str) and family in defaults:
        for key, value in defaults[family].items():
            if key not in done:
                done[key] = copy.deepcopy(value)
                from_defaults[key] = family
    framework = derived_framework(done.get("format"))
    if "framework" not in done:
        if framework is not None:
            done["framework"] = framework
    elif framework is not None and done["framework"] != framework:
        raise EntryError(
            "framework",
            f"{one_line(done['framework'])!r} does not match format {done['format']!r} (a {framework!r} format); "
            "framework is derived from format: drop the key or fix format",
        )
    if "converted_input" not in done:
        converted = derived_converted_input(done.get("original_input"))
        if converted is not None:
            done["converted_input"] = converted
    if labels is not None and catalogue_file is not None:
        labels = resolved_file(labels, catalogue_file.parent)
    if labels is not None:
        if "labels_file" not in done:
            done["labels_file"] = labels["name"]
        files = done.get("files")
        listed = isinstance(files, list) and any(isinstance(f, dict) and f.get("name") == labels["name"] for f in files)
        if done["labels_file"] == labels["name"] and isinstance(files, list) and not listed:
            done["files"] = [*files, copy.deepcopy(labels)]
    return done, from_defaults


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """(dotted location, message) of the first problem, and how many more there are."""
    first = exc.errors()[0]
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return ".".join(one_line(p) for p in first["loc"]), one_line(first["msg"]) + more


# --- the top-level sections besides `models:` ---


def _check_defaults(raw: object, lines: Lines, path: Path) -> dict[str, dict[str, Any]]:
    """`defaults:` as {family: {key: value}}, each value checked against the schema of its key."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ToolError(f"{at(path, lines.top(DEFAULTS_KEY))}: {DEFAULTS_KEY}: must map a family to its keys", 2)
    checked: dict[str, dict[str, Any]] = {}
    for family, body in raw.items():
        if family not in FAMILIES:
            raise ToolError(
                f"{at(path, lines.default(family))}: {DEFAULTS_KEY}: unknown family {one_line(family)!r}; "
                f"families: {', '.join(FAMILIES)}",
                2,
            )
        if not isinstance(body, dict):
            raise ToolError(
                f"{at(path, lines.default(family))}: {DEFAULTS_KEY}.{family}: must map entry keys to values", 2
            )
        for key, value in body.items():
            if key not in DEFAULTABLE:
                raise ToolError(
                    f"{at(path, lines.default(family, key))}: {DEFAULTS_KEY}.{family}.{one_line(key)}: "
                    f"not a key a family default can set (one of: {', '.join(DEFAULTABLE)})",
                    2,
                )
            try:
                ModelEntry.model_validate({key: value})
            except ValidationError as exc:
                own = [e for e in exc.errors() if e["loc"][:1] == (key,)]
                if own:
                    loc = ".".join(one_line(p) for p in own[0]["loc"])
                    raise ToolError(
                        f"{at(path, lines.default(family, key))}: {DEFAULTS_KEY}.{family}.{loc}: "
                        f"{one_line(own[0]['msg'])}",
                        2,
                    ) from None
        checked[family] = body
    return checked


def _check_labels(raw: object, lines: Lines, path: Path) -> Optional[dict[str, Any]]:
    """`default_labels_file:` (a `files` item), or None when the catalogue has none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ToolError(f"{at(path, lines.top(LABELS_KEY))}: {LABELS_KEY}: must be a file like the items of `files`", 2)
    try:
        SourceFile.model_validate(raw)
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        raise ToolError(
            f"{at(path, lines.top(LABELS_KEY))}: {LABELS_KEY}{'.' + loc if loc else ''}: {msg}", 2
        ) from None
    return raw


# --- loading ---


def _describe(error: Any, models: object, lines: Lines, path: Path, from_defaults: list[dict[str, str]]) -> str:
    loc = list(error["loc"])
    if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
        index = loc[1]
        field_path = ".".join(one_line(p) for p in loc[2:]) or "(entry)"
        origin = ""
        if len(loc) >= 3 and index < len(from_defaults) and loc[2] in from_defaults[index]:
            family = from_defaults[index][loc[2]]
            line = lines.default(family, loc[2])
            origin = f" (value from {DEFAULTS_KEY}.{family}{f' at line {line}' if line else ''})"
        return f"{_model_where(models, index, lines, path)}: {field_path}: {one_line(error['msg'])}{origin}"
    field_path = ".".join(one_line(p) for p in loc) or "(top level)"
    return f"{path}: {field_path}: {one_line(error['msg'])}"


def _model_where(models: object, index: int, lines: Lines, path: Path) -> str:
    name: object = "?"
    if isinstance(models, list) and index < len(models) and isinstance(models[index], dict):
        name = models[index].get("name", "?")
    line = lines.model(index)
    return f"{at(path, line)}: model {one_line(name)!r}"


def _read(path: Path) -> tuple[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(
            f"cannot read catalogue {path}: {exc}. Name a readable catalogue file (--catalogue, {CATALOGUE_ENV} "
            f"or {BUILTIN_ENV}).",
            2,
        ) from exc
    try:
        return text, yaml.safe_load(text)
    except (ValueError, RecursionError) as exc:  # e.g. an impossible date (2001-02-30), `!!int x`, deep nesting
        raise ToolError(
            f"{path}: YAML value error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", 2
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ToolError(f"{path}{line}: YAML syntax error: {problem}", 2) from exc


def entry_location(path: Path, index: int) -> str:
    """`file:line` of the index-th entry of `models:` in a catalogue file (just `file` when not found)."""
    return at(path, Lines(path.read_text(encoding="utf-8")).model(index))


def load_file(path: Path) -> Catalogue:
    """One catalogue file, completed and validated (see the module doc); errors name file, line, model and field."""
    text, raw = _read(path)
    if not isinstance(raw, dict):
        raise ToolError(f"{path}: the catalogue must be a mapping with a `models:` list", 2)
    lines = Lines(text)
    defaults = _check_defaults(raw.get(DEFAULTS_KEY), lines, path)
    labels = _check_labels(raw.get(LABELS_KEY), lines, path)
    body = {key: value for key, value in raw.items() if key not in (DEFAULTS_KEY, LABELS_KEY)}
    models = body.get("models")
    from_defaults: list[dict[str, str]] = []
    if isinstance(models, list):
        completed: list[object] = []
        for index, entry in enumerate(models):
            if not isinstance(entry, dict):
                completed.append(entry)
                from_defaults.append({})
                continue
            try:
                done, defaulted = complete_entry(entry, defaults, labels, path.expanduser().resolve())
            except EntryError as exc:
                raise ToolError(f"{_model_where(models, index, lines, path)}: {exc.field}: {exc.message}", 2) from None
            completed.append(done)
            from_defaults.append(defaulted)
        body["models"] = completed
    try:
        return Catalogue.model_validate(body)
    except ValidationError as exc:
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise ToolError(_describe(exc.errors()[0], models, lines, path, from_defaults) + more, 2) from exc
