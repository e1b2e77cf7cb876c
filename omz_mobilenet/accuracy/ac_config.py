"""Open Model Zoo accuracy_checker configs: write them from the catalogue, read back the subset we use.

`accuracy_checker_configs/<model>.yml` is in accuracy_checker's own format, so `accuracy_check -c`
can run it. We read only the keys those files use (crop/resize preprocessing, top-1/top-5 accuracy
with reference and abs_threshold) and refuse anything else: silently ignoring an unknown
preprocessing step would measure a different pipeline from the one the file describes.

The launcher pins `device_config: {CPU: {INFERENCE_PRECISION_HINT: f32}}`: without it accuracy_checker
runs bf16 on bf16-capable CPUs (3 points lower Top-1 on one model, FACTS section 7), while this tool
always computes at f32; the reader accepts that key and refuses any other precision.

Per-image-set references live beside it in `<model>.subsets.yml` (accuracy_checker rejects unknown
keys inside metrics, so they cannot go into the config itself).

The parts: ac_format.py (keys, types, where the files are), ac_writer.py, ac_reader.py + ac_checks.py,
ac_references.py. This module is their front door and the command.

Regenerate after a catalogue change: `python -m omz_mobilenet.accuracy.ac_config write` (`check` verifies).
A user catalogue's models (OMZ_MOBILENET_CATALOGUE) get theirs in `accuracy_checker_configs/` beside
that catalogue, or in `--out DIR`; `write MODEL...` writes only those.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional

from omz_mobilenet.accuracy.ac_format import (
    CONFIGS_ENV,
    DEVICE_CONFIG,
    PUBLISHED_ABS_THRESHOLD,
    AcModelConfig,
    MetricRef,
    config_path,
    configs_dir,
    subsets_path,
)
from omz_mobilenet.accuracy.ac_reader import config_for, parse_config
from omz_mobilenet.accuracy.ac_references import SubsetRef, load_subsets, write_subsets
from omz_mobilenet.accuracy.ac_writer import (
    config_text,
    published_reference,
    render_config,
    stale_configs,
    write_configs,
)
from omz_mobilenet.errors import ToolError

__all__ = [
    "CONFIGS_ENV",
    "DEVICE_CONFIG",
    "PUBLISHED_ABS_THRESHOLD",
    "AcModelConfig",
    "MetricRef",
    "SubsetRef",
    "config_for",
    "config_path",
    "config_text",
    "configs_dir",
    "load_subsets",
    "main",
    "parse_config",
    "published_reference",
    "render_config",
    "stale_configs",
    "subsets_path",
    "write_configs",
    "write_subsets",
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m omz_mobilenet.accuracy.ac_config",
        description="write or check the accuracy_checker configs of the catalogue's models "
        "(the built-in models.yml plus the user catalogues of OMZ_MOBILENET_CATALOGUE)",
    )
    parser.add_argument("command", nargs="?", choices=("write", "check"), default="check")
    parser.add_argument("models", nargs="*", metavar="MODEL", help="only these models (default: all)")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of the configs (default: the package's for built-in models, accuracy_checker_configs/ "
        "beside a user catalogue for its models)",
    )
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv if argv is not None else sys.argv[1:])
    try:
        if args.command == "write":
            for path in write_configs(args.out, args.models):
                print(path)
            return 0
        stale = stale_configs(args.out, args.models)
    except ToolError as exc:
        print(f"ac_config: error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    for name in stale:
        print(
            f"stale or missing: the config of {name}; run `python -m omz_mobilenet.accuracy.ac_config write`",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
