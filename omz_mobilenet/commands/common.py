"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse

from omz_mobilenet.catalogue.schema import Catalogue, ModelEntry, load_catalogue
from omz_mobilenet.settings import Settings


def log(message: str) -> None:
    """Progress and warnings for people go to stderr (rich markup), results to stdout."""
    from omz_mobilenet.output.progress import stderr_console

    stderr_console().print(message, highlight=False)


def add_model_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="catalogue name(s); see `omz-mobilenet list`")
    parser.add_argument("--all", action="store_true", help="every model in the catalogue")


def add_location_args(parser: argparse.ArgumentParser, out: bool = True) -> None:
    parser.add_argument("--mirror", help="folder (searched recursively by file name) or http(s) base URL; env OMZ_MOBILENET_MIRROR")
    parser.add_argument("--cache-dir", help="download cache; env OMZ_MOBILENET_CACHE (default ~/.cache/omz-mobilenet)")
    if out:
        parser.add_argument("-o", "--output-dir", help="IR folder; env OMZ_MOBILENET_OUT (default ./ir)")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.resolve(
        cache_dir=getattr(args, "cache_dir", None),
        out_dir=getattr(args, "output_dir", None),
        mirror=getattr(args, "mirror", None),
    )


def selected_models(args: argparse.Namespace, catalogue: Catalogue | None = None) -> list[ModelEntry]:
    catalogue = catalogue or load_catalogue()
    return catalogue.select(args.models, args.all)


def selected_entries(args: argparse.Namespace, catalogue: Catalogue | None = None) -> list[ModelEntry] | None:
    """The named models (or --all); None when none were named: the command then works on the IRs
    already in the output folder (bench's rule, shared by accuracy and gate)."""
    if not args.models and not args.all:
        return None
    return selected_models(args, catalogue)
