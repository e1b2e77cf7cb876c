"""Fuzz the command line: argument lists made from each command's own parser, with hostile values.

Every command of `cli.build_parser()` is walked: its flags and positionals, each given a value from
a hostile pool (0, negative, NaN, inf, huge, empty, non-UTF-8 bytes as surrogate escapes, unicode
paths, a folder where a file is expected and the reverse, missing and unreadable files, a spec and
a database that are garbage) or, for a choice, one of its choices. The CLI then runs in-process in a
fresh folder, and each case must:

- exit 0, 2 or 3 (never 1 "failed", 130, or a crash), within the example deadline;
- on exit 2 print at most one line on stderr, and never "internal error" or a traceback;
- create no file outside the paths its arguments name.

No case does real work: the catalogue's model names are never generated (near misses and junk are,
for "did you mean"), there are no images anywhere, the cache and IR folders are empty, and the
network is unreachable (a dead proxy). Flags left out because they start long work or leave the
machine: `--all` (downloads and converts the whole catalogue), `--ray` (starts a Ray cluster),
`--mirror` URLs (only folder paths are generated), `devices` (loads every OpenVINO plugin; 1-2 s a
call). The run is bounded by `MAX_EXAMPLES` and `BUDGET_S` and prints how many cases ran and how long
(300 cases in 16-40 s on 2 loaded cores). Every kind of finding is collected and listed at the end, so one
does not hide another. Run as root, the mode-000 file is readable (root ignores the mode): it is then
just one more file. `OMZ_FUZZ_RANDOM=1 OMZ_FUZZ_EXAMPLES=2000 OMZ_FUZZ_BUDGET_S=300` explores further
than the fixed CI cases.
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import os
import re
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from omz_mobilenet.cli import build_parser, main

MAX_EXAMPLES = int(os.environ.get("OMZ_FUZZ_EXAMPLES", "300"))
BUDGET_S = float(os.environ.get("OMZ_FUZZ_BUDGET_S", "45"))
DEADLINE_MS = 30_000  # one case; the first import of OpenVINO or TensorFlow takes seconds on a loaded machine
EXCLUDED_FLAGS = {"--all", "--ray", "-h", "--help", "--version"}
EXCLUDED_COMMANDS = {"devices"}
NEAR_MISSES = ["mobilenet-v1-0.25-128-quantx", "mobilenet-v2", "MOBILENET", "../../etc/passwd", "-"]

NUMBERS = [
    "1",
    "3",
    "0.5",
    "50%",
    "0",
    "-5",
    "-0",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "9" * 40,
    "1.5",
    "0x10",
    "",
    " ",
    "abc",
    "1,2",
]
TEXTS = ["", " ", "\udcff\udcfe", "ünïcødé €", "a\nb", "%s%n", "--flag", "x" * 300]
PATHS = [
    "missing",
    "afile.txt",
    "adir",
    "unreadable",
    "ünï dír",
    "non-utf8-\udcff",
    "garbage.db",
    "bad-utf8.yml",
    "bad-values.yml",
    "missing/deeper/out.json",
    "afile.txt/inside",
    ".",
]


def _fixtures(root: Path) -> None:
    """What the path values point at: a file, an empty folder, an unreadable file, garbage inputs."""
    (root / "afile.txt").write_text("not what was expected\n")
    (root / "adir").mkdir()
    (root / "ünï dír").mkdir()
    unreadable = root / "unreadable"
    unreadable.write_text("secret")
    unreadable.chmod(0)
    (root / "garbage.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 100)
    (root / "bad-utf8.yml").write_bytes(b"models: [x]\n# caf\xe9\n")
    (root / "bad-values.yml").write_text("models: [mobilenet-v1-0.25-128-quant]\nlimit: 0\nrounds: -1\n")


@functools.cache
def _commands() -> dict[str, argparse.ArgumentParser]:
    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {name: sub for name, sub in subparsers.choices.items() if name not in EXCLUDED_COMMANDS}


def _value(draw, action: argparse.Action) -> list[str]:
    """Values for one action: a choice, or a hostile number, text or path."""
    if action.choices and draw(st.booleans()):
        return [str(draw(st.sampled_from(sorted(map(str, action.choices)))))]
    kind = draw(st.sampled_from(["number", "text", "path"]))
    pool = {"number": NUMBERS, "text": TEXTS, "path": PATHS}[kind]
    if action.dest in ("models", "model") and draw(st.booleans()):
        pool = NEAR_MISSES
    value = draw(st.sampled_from(pool))
    if isinstance(action.nargs, int) and action.nargs > 1 or action.nargs in ("+", "*") and draw(st.booleans()):
        return [value, draw(st.sampled_from(PATHS + NUMBERS))]
    return [value]


@st.composite
def argv_for(draw, commands: dict[str, argparse.ArgumentParser]) -> list[str]:
    name = draw(st.sampled_from(sorted(commands)))
    parser = commands[name]
    argv = [name]
    optionals = [a for a in parser._actions if a.option_strings and not set(a.option_strings) & EXCLUDED_FLAGS]
    for action in draw(st.lists(st.sampled_from(optionals), max_size=4, unique_by=lambda a: a.dest)):
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0 or action.nargs == "?" and draw(st.booleans()):
            argv.append(flag)
        else:
            argv += [flag, *_value(draw, action)]
    for action in parser._actions:
        if not action.option_strings and action.dest not in ("help",) and draw(st.integers(0, 4)) > 0:
            argv += _value(draw, action)
    return argv


def _tree(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _named(argv: list[str], root: Path) -> list[Path]:
    return [(root / a).resolve() for a in argv if a and a not in (".",) and not a.startswith("-")]


def _foreign_flags(argv: list[str], err: str) -> set[str]:
    """Flags a message tells the user to pass that the command does not have (quoted values aside)."""
    own = {o for action in _commands()[argv[0]]._actions for o in action.option_strings}
    named = set(re.findall(r"(?<![\w'\"-])--[a-z][a-z0-9-]*", err))
    return {flag for flag in named - own if not any(flag in value for value in argv[1:])}


def _inside_named(path: Path, named: list[Path]) -> bool:
    """A path the arguments name, something inside one, or a folder on the way to one."""
    return any(path == n or n in path.parents or path in n.parents for n in named)


def _run(argv: list[str]) -> tuple[int, str, str]:
    """cli.main with stdout/stderr as a terminal has them (stdout strict UTF-8, stderr backslashreplace)."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        code = main(list(argv))
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    finally:
        sys.stdout, sys.stderr = saved
    return code, out.buffer.getvalue().decode("utf-8", "replace"), err.buffer.getvalue().decode("utf-8", "replace")


def test_fuzzed_command_lines_exit_cleanly_and_leave_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "0")
    monkeypatch.setenv("OMZ_MOBILENET_TIMEOUT", "2")
    for name in (
        "OMZ_MOBILENET_MIRROR",
        "OMZ_MOBILENET_MODELS_YML",
        "OMZ_MOBILENET_CATALOGUE",
        "OMZ_MOBILENET_DEBUG",
        "OMZ_MOBILENET_DATASET",
    ):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: a download attempt fails at once
    commands = _commands()
    stats: dict = {"cases": 0, "skipped_for_time": 0, "codes": {}, "findings": {}}
    started, numbers = time.monotonic(), itertools.count()

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=DEADLINE_MS,
        derandomize=not os.environ.get("OMZ_FUZZ_RANDOM"),  # CI: the same cases each run
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
        phases=[Phase.generate],  # no shrinking: the first failing command line is reported as it is
    )
    @given(argv=argv_for(commands), case=st.integers(0, 10**9))
    def case(argv: list[str], case: int) -> None:
        if time.monotonic() - started > BUDGET_S:
            stats["skipped_for_time"] += 1  # the budget ends the run (examples after it are not run)
            return
        check(argv, tmp_path / f"case{next(numbers)}")

    def check(argv: list[str], root: Path) -> None:
        root.mkdir()
        _fixtures(root)
        monkeypatch.setenv("OMZ_MOBILENET_CACHE", str(root / "env-cache"))  # not named: nothing may appear there
        monkeypatch.setenv("OMZ_MOBILENET_OUT", str(root / "env-ir"))
        before = _tree(root)
        monkeypatch.chdir(root)
        code, _out, err = _run(argv)
        stats["cases"] += 1
        stats["codes"][code] = stats["codes"].get(code, 0) + 1
        shown = repr(argv)
        new = [p for p in _tree(root) - before if not _inside_named(p.resolve(), _named(argv[1:], root))]
        problems = [
            f"exit {code}" if code not in (0, 2, 3) else "",
            "internal error" if "internal error" in err or "Traceback" in err else "",
            f"{len(err.strip().splitlines())} lines on stderr"
            if code == 2 and len(err.strip().splitlines()) > 1
            else "",
            f"created {sorted(str(p.relative_to(root)) for p in new)[:3]}" if new else "",
            f"names flags {argv[0]} does not have: {sorted(foreign)}" if (foreign := _foreign_flags(argv, err)) else "",
        ]
        problem = "; ".join(p for p in problems if p)
        if problem:  # collected, so that one finding does not hide the others
            stats["findings"].setdefault(
                f"{argv[0]}: {problem.split(' [')[0]}", f"{shown} -> {problem} -> {err.strip()[-300:]}"
            )

    try:
        case()
    finally:
        elapsed = time.monotonic() - started
        print(
            f"\ncli fuzz: {stats['cases']} cases in {elapsed:.1f} s "
            f"({stats['skipped_for_time']} left out by the {BUDGET_S:.0f} s budget), exit codes {stats['codes']}"
        )
        for kind, example in sorted(stats["findings"].items()):
            print(f"finding: {kind}: {example}")
    assert not stats["findings"], "\n".join(f"{kind}: {example}" for kind, example in sorted(stats["findings"].items()))
    assert stats["cases"] >= min(50, MAX_EXAMPLES), (
        f"only {stats['cases']} cases ran in the budget: the fuzz checked too little"
    )
