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
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import ToolError

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
