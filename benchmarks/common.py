"""What the benchmark scripts share: where results and the offline assets are, and the environment
that points the CLI at them (scripts run as `python benchmarks/X.py`, so this folder is importable)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "results"
ASSETS = Path(os.environ.get("OMZ_MOBILENET_ASSETS", REPO.parent / "shared" / "assets"))
# The offline models: one list, the tests' (tests/helpers/paths.py), so the two never disagree.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tests.helpers.paths import OFFLINE_MODELS, OFFLINE_QUANTIZED, OFFLINE_TFLITE  # noqa: E402, F401 (re-exported)


def run_cli(args: tuple, cwd: Path, env: dict) -> str:
    """`omz-mobilenet ARGS` in a subprocess, as a user runs it; its stdout, or exit with its stderr's tail."""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "omz_mobilenet", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True
    )
    if proc.returncode:
        raise SystemExit(f"omz-mobilenet {' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def environment() -> dict:
    """The caller's environment, with the assets as mirror and a cache/IR folder under results/."""
    env = dict(os.environ)
    env.setdefault("OMZ_MOBILENET_MIRROR", str(ASSETS))
    env.setdefault("OMZ_MOBILENET_CACHE", str(RESULTS / "cache"))
    env.setdefault("OMZ_MOBILENET_OUT", str(RESULTS / "ir"))
    return env


# ---------------------------------------------------------------- Markdown tables for docs/results/

DOCS_RESULTS = REPO / "docs" / "results"


def add_markdown_option(parser, name: str) -> None:
    """`--markdown [PATH]`: also write the script's table(s), stamped with the machine, into its results page."""
    parser.add_argument(
        "--markdown",
        nargs="?",
        const=str(DOCS_RESULTS / f"{name}.md"),
        metavar="PATH",
        help=f"also write the table(s) with the machine stamp into PATH (default docs/results/{name}.md); "
        "only this script's block of the page is replaced",
    )


def markdown_table(header: list[str], rows: list[list], right: tuple[int, ...] = ()) -> str:
    """A Markdown table; columns whose index is in `right` are right-aligned."""

    def text(value) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    rule = "|" + "".join("---:|" if i in right else "---|" for i in range(len(header)))
    lines = ["| " + " | ".join(header) + " |", rule]
    lines += ["| " + " | ".join(text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_stamp() -> str:
    """Which machine, software and commit produced the numbers (omz_mobilenet.environment), and how busy it was."""
    import datetime

    from omz_mobilenet.environment import environment as machine
    from omz_mobilenet.environment import isa_label

    env = machine()
    labels = {
        "openvino": "OpenVINO",
        "nncf": "NNCF",
        "litert": "LiteRT",
        "onnxruntime": "ONNX Runtime",
        "tensorflow": "TensorFlow",
    }
    versions = ", ".join(f"{label} {env[key]}" for key, label in labels.items() if env.get(key))
    load = f"; load average {os.getloadavg()[0]:.1f} at the end" if hasattr(os, "getloadavg") else ""
    label = isa_label(env)
    extra = [flag for flag in env.get("isa") or [] if flag not in label]  # e.g. avx_vnni, amx_int8
    return (
        f"Measured on {label}{' (also ' + ', '.join(extra) + ')' if extra else ''} ({env.get('os')}; "
        f"Python {env.get('python')}, {versions}), {datetime.date.today().isoformat()}, "
        f"commit {env.get('git_commit') or 'unknown'}{load}"
    )


def _invocation(script: str) -> str:
    """The command line that made the numbers, without the --markdown option itself."""
    import shlex

    args, skip = [], False
    for arg in sys.argv[1:]:
        if skip:
            skip = False
            if not arg.startswith("-"):
                continue
        if arg == "--markdown":
            skip = True
            continue
        if not arg.startswith("--markdown="):
            args.append(arg)
    return " ".join(["python", f"benchmarks/{script}.py", *map(shlex.quote, args)])


def write_markdown(path, script: str, body: str, title: Optional[str] = None) -> Path:
    """Put `body` (tables and their notes) under the machine stamp into the page's block for `script`.

    The block runs from `<!-- BEGIN benchmarks/<script>.py ... -->` to `<!-- END benchmarks/<script>.py -->`;
    the rest of the page is left as it is. A page without the block gets it appended; a missing page is
    created with `title`. The file is replaced in one rename, so a failed run leaves the old page."""
    target = Path(path)
    begin = f"<!-- BEGIN benchmarks/{script}.py (rewritten by `python benchmarks/{script}.py --markdown`) -->"
    end = f"<!-- END benchmarks/{script}.py -->"
    block = f"{begin}\n{machine_stamp()}: `{_invocation(script)}`\n\n{body.strip()}\n{end}"
    old = target.read_text(encoding="utf-8") if target.exists() else f"# {title or script}\n\n"
    start = old.find(f"<!-- BEGIN benchmarks/{script}.py")
    stop = old.find(end)
    if start >= 0 and stop > start:
        new = old[:start] + block + old[stop + len(end) :]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_text(new, encoding="utf-8")
    temporary.replace(target)
    print(f"wrote {target}", file=sys.stderr)
    return target
