"""Where things are in a catalogue file, for errors that name `file:line`: the lines of its entries,
top-level keys and family defaults, found with the YAML composer only when an error needs them."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Optional

import yaml

DEFAULTS_KEY = "defaults"


class Lines:
    """1-based lines of the parts of the file that errors point at (None when the YAML cannot be composed).

    Found only when an error needs them: composing the file costs as much as loading it again."""

    def __init__(self, text: str) -> None:
        self._text = text

    @cached_property
    def _found(self) -> tuple[list[int], dict[str, int], dict[tuple[str, ...], int]]:
        models: list[int] = []
        top: dict[str, int] = {}  # top-level key -> line
        defaults: dict[tuple[str, ...], int] = {}  # (family,) or (family, key) -> line
        try:
            root = yaml.compose(self._text, Loader=yaml.SafeLoader)
        except (yaml.YAMLError, ValueError, RecursionError):
            return models, top, defaults
        if not isinstance(root, yaml.MappingNode):
            return models, top, defaults
        for key, value in root.value:
            name = str(key.value)
            top.setdefault(name, key.start_mark.line + 1)
            if name == "models" and isinstance(value, yaml.SequenceNode):
                models = [item.start_mark.line + 1 for item in value.value]
            elif name == DEFAULTS_KEY and isinstance(value, yaml.MappingNode):
                for family, body in value.value:
                    defaults.setdefault((str(family.value),), family.start_mark.line + 1)
                    if isinstance(body, yaml.MappingNode):
                        for item, _value in body.value:
                            defaults.setdefault((str(family.value), str(item.value)), item.start_mark.line + 1)
        return models, top, defaults

    def model(self, index: int) -> Optional[int]:
        models = self._found[0]
        return models[index] if index < len(models) else None

    def top(self, key: str) -> Optional[int]:
        return self._found[1].get(key)

    def default(self, family: object, key: object = None) -> Optional[int]:
        """The line of `defaults.<family>.<key>`, else of `defaults.<family>`, else of `defaults:`."""
        found = self._found[2]
        if key is not None and (str(family), str(key)) in found:
            return found[(str(family), str(key))]
        return found.get((str(family),), self.top(DEFAULTS_KEY))


def one_line(value: object) -> str:
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def at(path: Path, line: Optional[int]) -> str:
    return f"{path}:{line}" if line is not None else f"{path}"
