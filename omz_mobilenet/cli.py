"""`omz-mobilenet` entry point: parse arguments, run one command, turn failures into one line.

Each command lives in `omz_mobilenet/commands/<name>.py` with `register(subparsers)`; those
modules import only light things at the top so `omz-mobilenet list` starts fast.
"""

from __future__ import annotations

import argparse
import os
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
    except Exception as exc:  # a bug or an unforeseen library failure: still one line, unless debugging
        if os.environ.get("OMZ_MOBILENET_DEBUG"):
            raise
        where = f" in {args.command}" if getattr(args, "command", None) else ""
        print(f"omz-mobilenet: internal error{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
              "(set OMZ_MOBILENET_DEBUG=1 for the traceback and report it)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
