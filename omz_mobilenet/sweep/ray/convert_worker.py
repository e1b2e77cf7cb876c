"""A group's IR on a Ray node, converted in a fresh process.

OpenVINO names unnamed nodes from a process-wide counter, so an IR converted after another one in
the same process has other bytes (another sha256) than the same IR converted first, and a cell's
key must not depend on which cells a node happened to get. The station runs
`python -m omz_mobilenet.sweep.ray.convert_worker REQUEST` and reads one JSON line back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omz_mobilenet.errors import ToolError
from omz_mobilenet.sweep.plan import Group


def convert_main(request_text: str) -> int:
    """In the fresh process: convert, answer `{"xml": path}` or `{"error": message}` as one JSON line."""
    from omz_mobilenet.catalogue import load_catalogue
    from omz_mobilenet.sweep.measure import ensure_group_ir
    from omz_mobilenet.sweep.ray.station import station_context

    request = json.loads(request_text)
    ctx = station_context(request["payload"], Path(request["root"]))
    group = Group(load_catalogue().get(request["model"]), request["precision"], ())
    try:
        print(json.dumps({"xml": str(ensure_group_ir(group, ctx))}))
    except ToolError as exc:
        print(json.dumps({"error": exc.message}))
    return 0


def _die_with_parent() -> None:
    """In the conversion process: end with its station, so a killed node leaves no converter running."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass  # not Linux: the converter finishes on its own


def convert_in_process(payload: dict[str, Any], root: Path, group: Group) -> dict[str, str]:
    """`{"xml": path}` of the group's IR under `root`, or `{"error": reason}`."""
    import subprocess

    request = json.dumps(
        {"payload": payload, "root": str(root), "model": group.entry.name, "precision": group.precision}
    )
    proc = subprocess.run(
        [sys.executable, "-m", __name__, request],
        capture_output=True,
        text=True,
        preexec_fn=_die_with_parent,
    )
    lines = proc.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if "xml" not in answer:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": answer.get("error") or f"conversion exited with {proc.returncode}: {tail}"}
    return {"xml": str(answer["xml"])}


if __name__ == "__main__":
    sys.exit(convert_main(sys.argv[1]))
