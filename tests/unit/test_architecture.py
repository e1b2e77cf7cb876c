"""ARCHITECTURE.md's layers are the import contracts, and the contracts see every import.

- the "Layers" table, the code map's layer column and `[tool.importlinter]` in pyproject.toml agree;
- `lint-imports` fails on an import of a higher layer written inside a function (a scratch copy of
  the package with one such import added), so the contracts cannot be dodged by a local import.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: import-linter (test extra) brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "omz_mobilenet"


def _contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def _contract_layers() -> list[tuple[list[str], bool]]:
    """(modules, independent) per layer, bottom first, as the layers contract lists them."""
    (layers,) = [c for c in _contracts() if c["type"] == "layers"]
    assert layers["containers"] == [PACKAGE]
    parsed = []
    for layer in reversed(layers["layers"]):
        independent = "|" in layer
        parsed.append(([m.strip() for m in re.split(r"[|:]", layer)], independent))
    return parsed


def _forbidden() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for contract in _contracts():
        if contract["type"] == "forbidden":
            for source in contract["source_modules"]:
                short = source.removeprefix(PACKAGE + ".")
                found.setdefault(short, set()).update(
                    m.removeprefix(PACKAGE + ".") for m in contract["forbidden_modules"]
                )
    return found


def _section_rows(heading: str) -> list[list[str]]:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]  # skip header and rule


def test_layers_table_is_the_layers_contract():
    table = _section_rows("Layers (the import contracts)")
    contract = _contract_layers()
    assert [int(row[0]) for row in table] == list(range(len(contract) - 1, -1, -1))
    forbidden = _forbidden()
    for number, modules_cell, may_import in table:
        modules, independent = contract[int(number)]
        assert re.findall(r"`([^`]+)`", modules_cell) == modules, f"layer {number}: {modules_cell}"
        assert ("(independent)" in modules_cell) == independent, f"layer {number}: independence differs"
        below = (
            "nothing of the package"
            if number == "0"
            else ("layer 0" if number == "1" else f"layers 0-{int(number) - 1}")
        )
        assert may_import.startswith(below), f"layer {number}: {may_import!r} should start with {below!r}"
        assert ("not each other" in may_import) == (independent and len(modules) > 1)
        excepted = set(re.findall(r"`([^`]+)`", may_import.split("except", 1)[1])) if "except" in may_import else set()
        expected = set().union(*(forbidden.get(m, set()) for m in modules))
        assert excepted == expected, f"layer {number}: exceptions {excepted} vs forbidden contracts {expected}"


def test_code_map_layer_column_matches_the_contracts():
    layer_of = {m: n for n, (modules, _ind) in enumerate(_contract_layers()) for m in modules}
    mapped = set()
    for path, _owns, layer in _section_rows("Code map"):
        match = re.fullmatch(r"`(?:omz_mobilenet/)?([a-z_]+?)(?:\.py|/)`(?: \(`omz_mobilenet\.converters`\))?", path)
        if not match or match.group(1) not in layer_of:
            continue
        name = match.group(1)
        assert layer == str(layer_of[name]), f"{path}: layer {layer} in the code map, {layer_of[name]} in the contract"
        mapped.add(name)
    assert mapped == set(layer_of), f"modules in the contract without a code-map row: {set(layer_of) - mapped}"


def _lint_imports() -> Path:
    tool = Path(sys.executable).parent / "lint-imports"
    assert tool.is_file(), "lint-imports is missing: pip install import-linter (in the `lint` and `test` extras)"
    return tool


def _violate(path: Path, statement: str) -> None:
    with open(path, "a") as handle:
        handle.write(f"\n\ndef _deliberate():\n    {statement}\n\n    return None\n")


def test_contracts_see_an_import_inside_a_function(tmp_path):
    """A scratch copy of the package with two imports of a higher layer inside functions (one in
    the sub-package `converters`): both are reported."""
    shutil.copytree(ROOT / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__"))
    _violate(tmp_path / PACKAGE / "convert" / "ir_store.py", "from omz_mobilenet.accuracy import gate  # noqa")
    _violate(tmp_path / PACKAGE / "converters" / "common.py", "from omz_mobilenet.fetch import download  # noqa")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run(
        [str(_lint_imports()), "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "omz_mobilenet.convert.ir_store -> omz_mobilenet.accuracy.gate" in run.stdout, run.stdout
    assert "omz_mobilenet.converters.common -> omz_mobilenet.fetch.download" in run.stdout, run.stdout


def test_the_package_keeps_its_contracts():
    """The cycles of issue 18 (accuracy -> convert -> accuracy, precision <-> convert.ir_store,
    catalogue <-> converters) and any other upward import fail this, as they fail `make lint`."""
    run = subprocess.run([str(_lint_imports()), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
