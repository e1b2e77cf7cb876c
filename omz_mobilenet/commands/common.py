"""Arguments and helpers several commands share.

One flag name per concept across commands (old spellings stay as hidden aliases):
MODEL... / --all / --available, --precision, --limit, -d/--device, -o/--out (IR folder), --mirror, --cache-dir.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omz_mobilenet import validators
from omz_mobilenet.catalogue import CATALOGUE_ENV, Catalogue, ModelEntry, load_catalogue
from omz_mobilenet.errors import UsageError
from omz_mobilenet.settings import Settings


def log(message: str) -> None:
    """Progress and warnings for people go to stderr (rich markup), results to stdout. One message is
    one line (soft wrap: the terminal may fold it, but a log file gets it whole)."""
    from omz_mobilenet.output.progress import stderr_console

    stderr_console().print(message, highlight=False, soft_wrap=True)


def add_alias(parser: argparse.ArgumentParser, flag: str, dest: str, **kwargs) -> None:
    """An old spelling that still works but is not listed in --help (it sets the same `dest`)."""
    parser.add_argument(flag, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def add_model_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="catalogue name(s); see `omz-mobilenet list`")
    parser.add_argument("--all", action="store_true", help="every model in the catalogue (downloads what is missing)")
    parser.add_argument(
        "--available",
        action="store_true",
        help="every model whose files are already in the cache or in a mirror folder; never uses the "
        "network (with an http(s) mirror only the cache counts)",
    )


def add_location_args(parser: argparse.ArgumentParser, out: bool = True) -> None:
    parser.add_argument(
        "--mirror", help="folder (searched recursively by file name) or http(s) base URL; env OMZ_MOBILENET_MIRROR"
    )
    parser.add_argument("--cache-dir", help="download cache; env OMZ_MOBILENET_CACHE (default ~/.cache/omz-mobilenet)")
    if out:
        parser.add_argument(
            "-o", "--out", dest="output_dir", metavar="DIR", help="IR folder; env OMZ_MOBILENET_OUT (default ./ir)"
        )
        add_alias(parser, "--output-dir", "output_dir")


def add_device_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-d",
        "--device",
        default="CPU",
        type=validators.device,
        help="OpenVINO device: CPU, GPU, NPU, AUTO or any device string",
    )


def add_catalogue_arg(parser: argparse.ArgumentParser) -> None:
    """`--catalogue FILE` (repeatable) on every command: user catalogues beside the built-in one. A
    command with its own `--catalogue` (add: the file it writes) keeps it."""
    if any("--catalogue" in action.option_strings for action in parser._actions):
        return
    parser.add_argument(
        "--catalogue",
        dest="catalogues",
        action="append",
        metavar="FILE",
        default=None,
        help="a user catalogue (models.yml format) whose models join the built-in ones; repeatable; "
        f"env {CATALOGUE_ENV} (a {os.pathsep}-separated list)",
    )


def use_catalogues(args: argparse.Namespace) -> None:
    """Put `--catalogue` files in front of OMZ_MOBILENET_CATALOGUE (absolute paths), so every later
    `load_catalogue()` sees them: in this process, in subprocesses and on Ray nodes of this machine."""
    given = getattr(args, "catalogues", None) or []
    for path in given:
        if not Path(path).expanduser().is_file():
            raise UsageError(f"--catalogue: {path} is not a file; name an existing catalogue (models.yml format)")
    if given:
        present = [part for part in os.environ.get(CATALOGUE_ENV, "").split(os.pathsep) if part.strip()]
        paths = [str(Path(p).expanduser().resolve()) for p in given]
        os.environ[CATALOGUE_ENV] = os.pathsep.join(dict.fromkeys(paths + present))


def add_no_progress(parser: argparse.ArgumentParser) -> None:
    """Every command that takes long accepts --no-progress (CI logs, pipes)."""
    if not any("--no-progress" in action.option_strings for action in parser._actions):
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.resolve(
        cache_dir=getattr(args, "cache_dir", None),
        out_dir=getattr(args, "output_dir", None),
        mirror=getattr(args, "mirror", None),
    )


def offline_models(catalogue: Catalogue, settings: Settings, quiet: bool = False) -> list[ModelEntry]:
    """The catalogue's models whose files are in the cache or the mirror folder; no network."""
    from omz_mobilenet.fetch.download import available_offline, mirror_folder

    if settings.mirror and mirror_folder(settings) is None and not quiet:
        log(
            f"[yellow]--available: the mirror {settings.mirror} is an http(s) URL, which --available never "
            "contacts; only the cache counts[/]"
        )
    return [entry for entry in catalogue.models if available_offline(entry, settings)]


def nothing_available(settings: Settings) -> UsageError:
    """--available found no model: bad input (exit 2), never an empty success."""
    return UsageError(
        f"--available: no model's files are in the cache ({settings.cache_dir}) or a mirror folder "
        "(set --mirror or OMZ_MOBILENET_MIRROR to a folder holding them, or run `download MODEL`)"
    )


def _available_models(args: argparse.Namespace, catalogue: Catalogue) -> list[ModelEntry]:
    if args.models or args.all:
        raise UsageError("--available picks the models itself: drop the MODEL names and --all")
    settings = settings_from(args)
    entries = offline_models(catalogue, settings)
    if not entries:
        raise nothing_available(settings)
    log(f"--available: {len(entries)} model(s) offline: {', '.join(e.name for e in entries)}")
    return entries


def selected_models(args: argparse.Namespace, catalogue: Catalogue | None = None) -> list[ModelEntry]:
    catalogue = catalogue or load_catalogue()
    if getattr(args, "available", False):
        return _available_models(args, catalogue)
    return catalogue.select(args.models, args.all)


def selected_entries(args: argparse.Namespace, catalogue: Catalogue | None = None) -> list[ModelEntry] | None:
    """The named models (or --all / --available); None when none were named: the command then works on
    the IRs already in the output folder (bench's rule, shared by accuracy and gate)."""
    if not args.models and not args.all and not getattr(args, "available", False):
        return None
    return selected_models(args, catalogue)


def many_models(args: argparse.Namespace) -> bool:
    """--all / --available / no MODEL: report a failing model and go on instead of stopping."""
    return bool(args.all or getattr(args, "available", False) or not args.models)


def positive(kind: type, what: str) -> Callable[[str], Any]:
    """An argparse `type` accepting numbers of `kind` above 0 (kept for callers; the checks and their
    words live in `omz_mobilenet.validators`)."""
    return validators.positive_int if kind is int else validators.positive_float
