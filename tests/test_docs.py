"""The README stays short, the documentation site builds with --strict, and its reference is the CLI's own.

Needs no assets: the site is built from the repository (MkDocs with the Material theme, the `docs` extra).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).with_name("mkdocs")


def _hook():
    """docs/hooks/reference.py, the generator MkDocs runs, imported from its file."""
    spec = importlib.util.spec_from_file_location("docs_reference_hook", REPO / "docs" / "hooks" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mkdocs() -> str:
    found = str(MKDOCS) if MKDOCS.exists() else shutil.which("mkdocs")
    if not found:
        pytest.fail("mkdocs is not installed: pip install -e '.[docs]' (or make setup)")
    return found


def _build(site: Path, config: Path = REPO / "mkdocs.yml") -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    cmd = [_mkdocs(), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)]
    return subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_readme_is_at_most_300_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; move the detail into docs/"


def test_site_builds_strict(tmp_path):
    done = _build(tmp_path / "site")
    assert done.returncode == 0, done.stderr[-3000:]
    for page in ("index.html", "reference/commands.html", "reference/json.html", "results/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


def test_strict_build_fails_on_a_broken_link(tmp_path):
    """The build would not catch a broken link if --strict or the validation settings were lost."""
    docs = tmp_path / "docs"
    shutil.copytree(REPO / "docs", docs)
    (docs / "results" / "soak.md").open("a", encoding="utf-8").write("\n[gone](no-such-page.md#nothing)\n")
    config = tmp_path / "mkdocs.yml"
    text = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    text = text.replace("docs_dir: docs", f"docs_dir: {docs}").replace("- docs/hooks/", f"- {REPO}/docs/hooks/")
    config.write_text(text, encoding="utf-8")
    done = _build(tmp_path / "site", config)
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_reference_lists_every_subcommand_and_flag():
    from omz_mobilenet.cli import build_parser

    page = _hook().commands_page()
    parser = build_parser()
    subcommands = _subcommands(parser)
    assert len(subcommands) >= 15
    for name, sub in subcommands.items():
        assert re.search(rf"^## {re.escape(name)} \{{#{re.escape(name)}\}}$", page, re.MULTILINE), name
        section = page.split(f"## {name} {{#{name}}}", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            for flag in action.option_strings:
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", section), f"{name} {flag}"


def test_reference_has_every_exit_code_and_environment_variable():
    from omz_mobilenet.errors import EXIT_CODES
    from omz_mobilenet.settings import ENVIRONMENT_VARIABLES

    hook = _hook()
    codes = hook.exit_codes_page()
    for code in EXIT_CODES:
        assert re.search(rf"^\| {code} \|", codes, re.MULTILINE), code
    env = hook.environment_page()
    for name, _flag, _meaning in ENVIRONMENT_VARIABLES:
        assert f"`{name}`" in env, name


def test_json_reference_has_every_record_field():
    import dataclasses

    hook = _hook()
    page = hook.json_page()
    for _title, name, modules in hook.RECORDS:
        cls = hook.find_record(name, modules)
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in page, f"{name}.{field.name}"


def test_readme_tables_are_the_generated_ones():
    _hook().check_readme()


def test_no_page_cites_a_document_outside_the_repository():
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for pattern in (r"\bFACTS\b", r"\bissue \d+", r"/work/shared", r"\bthe session\b"):
            assert not re.search(pattern, text), f"{page.relative_to(REPO)} cites {pattern}"


def _missing(name: str) -> bool:
    """True when the dotted name is neither a module nor an attribute of one."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(module) is not None:
                break
        except ModuleNotFoundError:
            continue
    else:
        return True
    target = importlib.import_module(module)
    for attribute in parts[cut:]:
        if not hasattr(target, attribute):
            return True
        target = getattr(target, attribute)
    return False


def test_every_file_and_module_a_page_names_exists():
    """Modules move; a page that names one must send the reader to the right place."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    # files (a name with a suffix) and folders (a trailing /); `omz_mobilenet/calibration_sha256` is an rt_info key
    paths = re.compile(r"`((?:omz_mobilenet|tests|benchmarks|converters|docs)/(?:[\w/.-]*\.\w+|[\w/.-]*/))`")
    dotted = re.compile(r"`(omz_mobilenet(?:\.\w+)+)`")
    missing = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        missing += [f"{page.relative_to(REPO)}: {path}" for path in paths.findall(text) if not (REPO / path).exists()]
        missing += [f"{page.relative_to(REPO)}: {name}" for name in dotted.findall(text) if _missing(name)]
    assert not missing, "pages name what does not exist:\n" + "\n".join(missing)


def _benchmarks():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import common
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    return common


def test_every_benchmark_with_markdown_output_has_its_block_in_its_page():
    """`python benchmarks/X.py --markdown` rewrites a block of docs/results/<page>.md: the page and block exist."""
    option = re.compile(r'add_markdown_option\(\w+, "(\w+)"\)')
    scripts = sorted(p for p in (REPO / "benchmarks").glob("*.py") if p.name != "common.py")
    missing = [p.name for p in scripts if not option.search(p.read_text(encoding="utf-8"))]
    assert not missing, f"benchmark scripts without --markdown: {missing}"
    for script in scripts:
        page = REPO / "docs" / "results" / f"{option.search(script.read_text(encoding='utf-8')).group(1)}.md"
        text = page.read_text(encoding="utf-8")
        assert f"<!-- BEGIN benchmarks/{script.name} " in text and f"<!-- END benchmarks/{script.name} -->" in text, (
            f"{page.relative_to(REPO)} has no block for {script.name}"
        )


def test_write_markdown_replaces_only_its_block(tmp_path, monkeypatch):
    common = _benchmarks()
    page = tmp_path / "page.md"
    monkeypatch.setattr(sys, "argv", ["benchmarks/x.py", "--rounds", "2", "--markdown", str(page)])
    common.write_markdown(page, "x", "| a |\n|---|\n| 1 |", title="X")
    first = page.read_text(encoding="utf-8")
    assert first.startswith("# X\n") and "| 1 |" in first
    assert "`python benchmarks/x.py --rounds 2`" in first  # the command that made it, without --markdown
    page.write_text("# X\n\nprose before\n\n" + first.split("\n", 2)[2] + "\nprose after\n", encoding="utf-8")
    common.write_markdown(page, "x", "| a |\n|---|\n| 2 |")
    second = page.read_text(encoding="utf-8")
    assert "prose before" in second and "prose after" in second
    assert "| 2 |" in second and "| 1 |" not in second
    assert second.count("<!-- BEGIN benchmarks/x.py") == 1
    from omz_mobilenet.environment import isa_label

    assert isa_label() in second  # stamped with the machine


def _readme_commands() -> list[str]:
    """The command lines of README.md's shell blocks (comments dropped, continuation lines joined)."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            command = line.split(" #", 1)[0].strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


@pytest.mark.assets  # the parser checks the examples' ../shared/assets paths exist
def test_readme_examples_name_real_commands_flags_and_targets(monkeypatch):
    """Each `omz-mobilenet ...` line parses with the CLI's own parser, each `make X` names a Makefile target."""
    import shlex

    from omz_mobilenet.cli import build_parser

    monkeypatch.chdir(REPO)  # the README's paths are relative to the checkout
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([\w-]+):", makefile, re.MULTILINE))
    commands = _readme_commands()
    assert any(c.startswith("omz-mobilenet ") for c in commands) and any(c.startswith("make") for c in commands)
    for command in commands:
        words = shlex.split(command)
        if words[0] == "omz-mobilenet":
            try:
                build_parser().parse_args(words[1:])
            except SystemExit as exc:
                pytest.fail(f"README example does not parse ({exc.code}): {command}")
        elif words[0] == "make":
            named = [w for w in words[1:] if "=" not in w]
            assert all(t in targets for t in named), f"README example names a target the Makefile lacks: {command}"
        else:
            assert words[0] in (".", "export"), f"README example of an unknown kind: {command}"
