"""`omz-mobilenet` entry point: parse arguments, run one command, turn failures into one line.

Each command lives in `omz_mobilenet/commands/<name>.py` with `register(subparsers)`; those
modules import only light things at the top so `omz-mobilenet list` starts fast.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from omz_mobilenet import __version__
from omz_mobilenet.commands import COMMAND_MODULES
from omz_mobilenet.errors import ToolError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omz-mobilenet",
        description="Download, convert, verify, benchmark and accuracy-check MobileNets with OpenVINO.",
    )
    parser.add_argument("--version", action="version", version=f"omz-mobilenet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ToolError as exc:
        print(f"omz-mobilenet: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("omz-mobilenet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
