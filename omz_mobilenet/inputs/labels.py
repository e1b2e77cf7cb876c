"""A model's label space: the class names of its labels file, in output order, and whether output 0
is a background class. The one place that maps an image set's ground truth to a model's outputs.

Labels files hold one class name a line, in output order, background excluded. ImageNet's
`synset_words.txt` lines (`n01440764 tench, Tinca tinca`) are read as (synset id, words); an image
folder named after either the id or the whole line matches.

An image set's labels are 0-based indices: into the model's labels file when the set has no class
names of its own (ImageNet's val.txt / FILES.tsv, a CSV of integer labels), or into the set's own
`class_names` (an ImageFolder's sub-folders, a CSV of names), which are then looked up by name here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from omz_mobilenet.catalogue import ModelEntry, SourceFile
from omz_mobilenet.errors import ToolError
from omz_mobilenet.settings import Settings

if TYPE_CHECKING:
    from omz_mobilenet.inputs.dataset import ImageSet

Log = Callable[[str], None]

SYNSET = re.compile(r"^(n\d{8})\s+(.+)$")


@dataclass(frozen=True)
class LabelSpace:
    names: tuple[str, ...]  # class names in output order, background excluded
    background: bool  # output 0 is a background class: output index = label index + 1
    source: str  # the labels file, for messages
    ids: Optional[tuple[str, ...]] = None  # ImageNet synset ids when the file has them

    @property
    def classes(self) -> int:
        return len(self.names) + (1 if self.background else 0)

    def output_names(self) -> list[str]:
        """One name per model output (what the IR's rt_info and top-k tables show)."""
        return (["background"] if self.background else []) + list(self.names)

    def index_of(self, name: str) -> Optional[int]:
        """The 0-based labels-file index of a class name (or synset id), None when the file does not name it."""
        for index, known in enumerate(self.names):
            if name == known:
                return index
        if self.ids is not None:
            for index, (synset, words) in enumerate(zip(self.ids, self.names, strict=True)):
                if name in (synset, f"{synset} {words}"):
                    return index
        return None

    def to_output(self, label: int) -> int:
        """A 0-based labels-file index as the model's output index."""
        if not 0 <= label < len(self.names):
            raise ToolError(
                f"label {label} is outside 0..{len(self.names) - 1} (the {len(self.names)} classes of {self.source})", 2
            )
        return label + (1 if self.background else 0)


def parse_labels(text: str, source: str, background: bool = False) -> LabelSpace:
    """Class names from a labels file's text; an empty file, a blank line between names or a name
    given twice is an error naming the file and line (a silently shifted label costs accuracy unseen)."""
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise ToolError(f"labels file {source} is empty; write one class name a line, in output order", 2)
    names: list[str] = []
    ids: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        name = line.strip()
        if not name:
            raise ToolError(f"{source}:{number}: blank line; write one class name a line, in output order", 2)
        if name in seen:
            raise ToolError(f"{source}:{number}: class {name!r} is named again (first at line {seen[name]})", 2)
        seen[name] = number
        match = SYNSET.match(name)
        if match:
            ids.append(match.group(1))
        names.append(match.group(2).strip() if match else name)
    synsets = len(ids) == len(names)
    return LabelSpace(names=tuple(names), background=background, source=source, ids=tuple(ids) if synsets else None)


def read_labels_file(path: Path, background: bool = False) -> LabelSpace:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ToolError(f"cannot read labels file {path}: {exc}", 2) from None
    return parse_labels(text, str(path), background)


def _labels_source(entry: ModelEntry) -> SourceFile:
    for src in entry.files:
        if src.name == entry.labels_file:
            return src
    raise ToolError(f"{entry.name}: labels_file {entry.labels_file!r} is not one of its files", 2)


def label_space(entry: ModelEntry, settings: Settings, log: Log = lambda _m: None) -> LabelSpace:
    """The model's labels file (from its cache folder, fetched when missing), checked against the
    catalogue: a count that is not `output.classes` less the background is exit 2 naming both."""
    from omz_mobilenet.fetch.cache import cached_ok, folder_lock
    from omz_mobilenet.fetch.download import fetch_file, model_folder

    src = _labels_source(entry)
    folder = model_folder(settings, entry)
    path = folder / src.name
    if not (path.is_file() and cached_ok(path, src, log)):  # checked like a download: an edited file is fetched again
        with folder_lock(folder):
            try:
                path = fetch_file(src, folder, settings, log)
            except ToolError as exc:
                raise ToolError(f"{entry.name}: {exc.message}", exc.exit_code) from None
    space = read_labels_file(path, entry.output.has_background)
    if len(space.names) != entry.output.label_count:
        background = " (output 0 is the background class)" if entry.output.has_background else ""
        raise ToolError(
            f"labels file {path} names {len(space.names)} classes but model {entry.name} has "
            f"{entry.output.label_count}{background}; fix the labels file or output.classes in {entry.catalogue_file}",
            2,
        )
    return space


def counted_space(entry: ModelEntry) -> LabelSpace:
    """The model's label space by count only (no labels file read): enough for labels that are indices
    (ImageNet sets, a CSV of indices), whose mapping needs only the count and the background."""
    names = tuple(str(i) for i in range(entry.output.label_count))
    return LabelSpace(names=names, background=entry.output.has_background, source=f"model {entry.name}'s output")


def _known(space: LabelSpace, shown: int = 5) -> str:
    first = ", ".join(repr(name) for name in space.names[:shown])
    more = ", ..." if len(space.names) > shown else ""
    return f"{space.source} names {len(space.names)} classes: {first}{more}"


def output_labels(image_set: ImageSet, space: LabelSpace) -> list[int]:
    """Every item's label as the model's output index. A class (folder or CSV name) the labels file
    does not name, or an index outside it, is exit 2 naming it and what the labels file names."""
    if image_set.class_names is None:
        try:
            return [space.to_output(label) for _path, label in image_set.items]
        except ToolError as exc:
            raise ToolError(f"{image_set.annotations}: {exc.message}; give 0-based indices into it", 2) from None
    outputs = []
    for name in image_set.class_names:
        index = space.index_of(name)
        if space.names.count(name) > 1:  # synset_words.txt names `crane` twice: only the synset id tells which
            raise ToolError(
                f"class {name!r} of {image_set.folder} is named more than once in {space.source}; "
                "use a name it gives once (for ImageNet, the synset id)",
                2,
            )
        if index is None:
            what = "class folder" if image_set.annotations == image_set.folder else f"class in {image_set.annotations}"
            raise ToolError(f"{what} {name!r} of {image_set.folder} is not a class of the model: {_known(space)}", 2)
        outputs.append(space.to_output(index))
    return [outputs[label] for _path, label in image_set.items]


def space_for(entry: ModelEntry, image_sets: list[ImageSet], settings: Settings) -> LabelSpace:
    """The space that maps these sets to the model: its labels file when a set names classes, else the
    count alone (ImageNet sets then need no labels file, as before: an IR on disk runs offline)."""
    if any(image_set.class_names is not None for image_set in image_sets):
        return label_space(entry, settings)
    return counted_space(entry)


def truth_for(entry: ModelEntry, image_set: ImageSet, space: Optional[LabelSpace] = None) -> list[int]:
    """Ground truth of a set in the model's outputs: by `space` when given, else as `space_for` picks it
    (settings from the environment, as on a sweep's nodes)."""
    if space is None:
        space = counted_space(entry) if image_set.class_names is None else label_space(entry, Settings.resolve())
    return output_labels(image_set, space)
