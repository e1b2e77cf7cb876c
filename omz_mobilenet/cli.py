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

EPILOG = """\
examples:
  omz-mobilenet list --available                      models whose files are offline (cache or mirror)
  omz-mobilenet convert mobilenet-v2-1.0-224-quant --precision FP32,FP16 -o ir
  omz-mobilenet bench mobilenet-v2-1.0-224-quant -d CPU --precision FP32,FP16 --json bench.json
  omz-mobilenet accuracy --dataset imagenet/val_100_cropped_reencoded   every IR already in ./ir
  omz-mobilenet gate --available --dataset imagenet --precision FP32,FP16   CI accuracy gate

exit codes:
  0    ok
  1    failed: a regression, a failed check, a model that failed in --all/--available, an internal error
  2    bad input: unknown model, unreadable file, bad flag value, unwritable output path
  3    incomplete (gate): a requested model could not run (--allow-missing accepts that)
  130  interrupted (Ctrl-C); results gathered so far are printed and written

environment variables (a flag, when given, wins):
  OMZ_MOBILENET_MIRROR     folder or http(s) URL holding the model files (--mirror)
  OMZ_MOBILENET_CACHE      download cache (--cache-dir; default $XDG_CACHE_HOME or ~/.cache, /omz-mobilenet)
  OMZ_MOBILENET_OUT        IR folder (-o/--out; default ./ir)
  OMZ_MOBILENET_TIMEOUT    seconds without a byte before a download attempt is given up (--timeout; 60)
  OMZ_MOBILENET_RETRIES    extra download attempts per source (--retries; 3)
  OMZ_MOBILENET_BACKOFF    first pause between download attempts, doubled each time (0.5 s)
  OMZ_MOBILENET_DATASET    images for `verify` when --dataset is not given
  OMZ_MOBILENET_CATALOGUE  another models.yml instead of the packaged one
  OMZ_MOBILENET_AC_CONFIGS folder of accuracy_checker configs and subset references
  OMZ_MOBILENET_NODE_ID    a name for this machine, written into every --json environment
  OMZ_MOBILENET_DEBUG      set to 1 for a traceback on internal errors
"""


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none (None/False) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omz-mobilenet",
        description="Download, convert, verify, benchmark and accuracy-check MobileNets with OpenVINO.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"omz-mobilenet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    for sub in subparsers.choices.values():
        sub.formatter_class = HelpFormatter
        if not any("--wide" in a.option_strings for a in sub._actions):
            sub.add_argument("--wide", action="store_true", help="tables with every column and every cell whole")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from omz_mobilenet.output.tables import set_wide

    set_wide(getattr(args, "wide", False))
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
        print(
            f"omz-mobilenet: internal error{where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            "(set OMZ_MOBILENET_DEBUG=1 for the traceback and report it)",
            file=sys.stderr,
        )
        return 1  # not 3: that is "incomplete" (gate, sweep)


if __name__ == "__main__":
    sys.exit(main())
