"""Ignored scopes: the layers NNCF keeps in float (`convert --ignored-scope FILE|auto`, `diagnose`).

Layers are named by the float IR's friendly names. Those of operations the converters name automatically
(`Convolution_428`) come from a counter of the process that converted the model: the same model converted
after another one in one process gets other numbers. So a scope also records each layer's position, its
type and ordinal among the operations of that type in topological order (`Convolution#12`), and a name the
graph at hand lacks is found by its position (said in the log); a name found neither way is exit 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from omz_mobilenet.convert.job import QuantizeOptions
from omz_mobilenet.errors import ToolError


def layer_keys(model: Any) -> dict[str, str]:
    """{friendly name: "<type>#<ordinal>"} of every operation, ordinal among its type in topological order."""
    seen: dict[str, int] = {}
    keys = {}
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        keys[op.get_friendly_name()] = f"{kind}#{seen.get(kind, 0)}"
        seen[kind] = seen.get(kind, 0) + 1
    return keys


def read_scope_file(path: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(names, positions) of an ignored-scope file (YAML or JSON, as `diagnose --scope-out` writes it): a
    mapping with `names: [...]` (and optionally `positions: [...]`, one per name) or a plain list of names.
    A bad file is one line, exit 2, before any work."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ToolError(f"--ignored-scope {path}: cannot read it ({exc.strerror or exc})", 2) from None
    except yaml.YAMLError as exc:
        raise ToolError(f"--ignored-scope {path}: not YAML or JSON ({str(exc).splitlines()[0]})", 2) from None
    names = data.get("names") if isinstance(data, dict) else data
    positions = (data.get("positions") if isinstance(data, dict) else None) or []
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
        raise ToolError(
            f"--ignored-scope {path}: expected `names:` with a non-empty list of layer names "
            "(as `omz-mobilenet diagnose --scope-out` writes)",
            2,
        )
    if positions and (len(positions) != len(names) or not all(isinstance(p, str) for p in positions)):
        raise ToolError(f"--ignored-scope {path}: `positions:` must hold one entry per name (or be left out)", 2)
    return tuple(names), tuple(positions)


def resolve_scope(
    model: Any, options: QuantizeOptions, model_name: str, log: Callable[[str], None] = lambda _m: None
) -> QuantizeOptions:
    """The options with every scope name as `model` names it; unknown layers are exit 2, before calibration."""
    if not options.ignored_scope:
        return options
    keys = layer_keys(model)
    by_key = {key: name for name, key in keys.items()}
    positions = options.ignored_scope_positions or ("",) * len(options.ignored_scope)
    resolved, unknown = [], []
    for name, position in zip(options.ignored_scope, positions, strict=True):
        if name in keys:
            resolved.append(name)
        elif position in by_key:
            log(f"{model_name}: ignored-scope layer {name} is {by_key[position]} here (same position {position})")
            resolved.append(by_key[position])
        else:
            unknown.append(name)
    if unknown:
        raise ToolError(
            f"{model_name}: --ignored-scope {options.ignored_scope_file}: no layer named "
            f"{', '.join(repr(n) for n in unknown[:3])} in the float IR; layer names are the ones "
            "`omz-mobilenet diagnose` prints",
            2,
        )
    return replace(options, ignored_scope=tuple(dict.fromkeys(resolved)), ignored_scope_positions=())
