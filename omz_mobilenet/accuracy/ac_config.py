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
"""

from __future__ import annotations

import sys
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


def main(argv: Optional[list[str]] = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command[0] == "write":
        for path in write_configs():
            print(path)
        return 0
    stale = stale_configs()
    for name in stale:
        print(f"stale or missing: {config_path(name)}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
