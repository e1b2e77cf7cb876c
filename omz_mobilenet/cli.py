"""`omz-mobilenet` entry point: parse arguments, run one command, turn failures into one line.

Each command lives in `omz_mobilenet/commands/<name>.py` with `register(subparsers)`; those
modules import only light things at the top so `omz-mobilenet list` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Optional

from omz_mobilenet import __version__, precision, validators
from omz_mobilenet.accuracy.evidence import MinImages
from omz_mobilenet.commands import COMMAND_MODULES
from omz_mobilenet.commands.common import add_catalogue_arg, add_no_progress, use_catalogues
from omz_mobilenet.errors import EXIT_CODES, EXIT_USAGE, ToolError
from omz_mobilenet.settings import ENVIRONMENT_VARIABLES

#: Commands that can take long: each accepts --no-progress (CI logs, pipes).
LONG_COMMANDS = ("download", "convert", "split", "verify", "bench", "benchmark", "accuracy", "gate", "sweep")
#: The shared validators, and those whose rule lives in a module of its own (the evidence rule, precisions).
FLAG_VALIDATORS = {
    **validators.FLAG_VALIDATORS,
    "--min-images": validators.from_usage(MinImages.parse, "--min-images"),
    "--precision": validators.checked_by(precision.parse, "--precision"),
    "--precisions": validators.checked_by(precision.parse, "--precision"),
}

EXAMPLES = """\
examples:
  omz-mobilenet list --available                      models whose files are offline (cache or mirror)
  omz-mobilenet convert mobilenet-v2-1.0-224-quant --precision FP32,FP16 -o ir
  omz-mobilenet bench mobilenet-v2-1.0-224-quant -d CPU --precision FP32,FP16 --json bench.json
  omz-mobilenet accuracy --dataset imagenet/val_100_cropped_reencoded   every IR already in ./ir
  omz-mobilenet gate --available --dataset imagenet --precision FP32,FP16   CI accuracy gate

"""


def _epilog() -> str:
    """Examples, then the exit codes and environment variables from their one definition."""
    codes = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    env = "\n".join(
        f"  {name:<24} {meaning}" + (f" ({flag})" if flag else "") for name, flag, meaning in ENVIRONMENT_VARIABLES
    )
    return f"{EXAMPLES}\nexit codes:\n{codes}\n\nenvironment variables (a flag, when given, wins):\n{env}\n"


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none (None/False) or the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action) or text


class Parser(argparse.ArgumentParser):
    """Usage errors are one line naming the flag and where to read on, not the whole usage block
    (subparsers are made of this class too, so every command prints its own name)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())  # argparse's messages can hold newlines
        self.exit(EXIT_USAGE, f"{self.prog}: error: {text}; see {self.prog} --help\n")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        """As argparse, but flags the command does not know are reported by that command's parser."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            choices = self._subparsers._group_actions[0].choices if self._subparsers else {}
            owner = choices.get(command, self) if isinstance(choices, dict) else self
            owner.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="omz-mobilenet",
        description="Download, convert, verify, benchmark and accuracy-check MobileNets with OpenVINO.",
        epilog=_epilog(),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"omz-mobilenet {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    for name, sub in subparsers.choices.items():
        sub.formatter_class = HelpFormatter
        validators.apply_flag_validators(sub, FLAG_VALIDATORS)
        if name in LONG_COMMANDS:
            add_no_progress(sub)
        add_catalogue_arg(sub)
        if not any("--wide" in a.option_strings for a in sub._actions):
            sub.add_argument("--wide", action="store_true", help="tables with every column and every cell whole")
    return parser


def one_line(message: str) -> str:
    """A message is one line even when it quotes a value holding a line break (a path, a model name)."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from omz_mobilenet.output.tables import set_wide

    set_wide(getattr(args, "wide", False))
    try:
        use_catalogues(args)
        return int(args.func(args) or 0)
    except ToolError as exc:
        print(f"omz-mobilenet: error: {one_line(exc.message)}", file=sys.stderr)
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
