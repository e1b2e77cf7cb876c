"""`add`: describe a model file of one's own as an entry of a user catalogue (the work: convert/describe.py)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path

from omz_mobilenet import validators
from omz_mobilenet.catalogue.loader import FAMILIES
from omz_mobilenet.commands.common import log

EXAMPLES = """examples:
  omz-mobilenet add flowers.keras --name flowers-v2 --catalogue my-models.yml --labels flowers.txt \\
      --mean 127.5,127.5,127.5 --scale 127.5,127.5,127.5 --resize-short 256 --crop 224
  omz-mobilenet add export/saved_model_dir --name shelf --catalogue my-models.yml --labels products.txt --resize 224
  omz-mobilenet convert flowers-v2 --catalogue my-models.yml && omz-mobilenet verify flowers-v2 --catalogue my-models.yml
"""


def _three(item: Callable[[object], float], what: str) -> Callable[[str], list[float]]:
    """R,G,B: exactly three numbers, in the model's colour order."""
    parse_list = validators.comma_list(item)

    def parse(text: str) -> list[float]:
        values = parse_list(text)
        if len(values) != 3:
            raise validators.BadValue(f"takes three {what} R,G,B, not {len(values)} ({text!r})")
        return values

    parse.__name__ = what
    return parse


def _mean(text: str) -> list[float]:
    return _three(_number, "numbers")(text)


def _number(value: object) -> float:
    text = str(value).strip()
    try:
        parsed = float(text)
    except ValueError:
        raise validators.BadValue(f"takes a number, not {text!r}") from None
    if not math.isfinite(parsed):
        raise validators.BadValue(f"must be a finite number (got {text!r})")
    return parsed


def run_add(args: argparse.Namespace) -> int:
    from omz_mobilenet.convert.add_request import AddRequest, Preprocess
    from omz_mobilenet.convert.describe import add_model

    preprocess = Preprocess(
        mean=args.mean,
        scale=args.scale,
        color=args.color.upper() if args.color else None,
        layout=args.layout,
        resize_short=args.resize_short,
        crop=args.crop,
        resize=args.resize,
    )
    request = AddRequest(
        file=Path(args.file),
        name=args.name,
        catalogue=Path(args.catalogue),
        labels=Path(args.labels) if args.labels else None,
        background=args.background,
        family=args.family,
        description=args.description,
        output=args.output_name,
        force=args.force,
        preprocess=preprocess,
    )
    outcome = add_model(request)
    for note in outcome.notes:
        log(f"[yellow]note: {note}[/]")
    entry = outcome.entry
    verb = "replaced" if outcome.replaced else "added"
    shape = "x".join(str(d) for d in entry["original_input"]["shape"])
    print(
        f"{verb} {entry['name']} in {outcome.catalogue}: {entry['format']}, input {entry['original_input']['name']} "
        f"{shape} {entry['original_input']['element_type']}, {entry['output']['classes']} classes, "
        f"{entry['source_precision']}, {entry['gflops']} GFlops"
    )
    print(f"next: omz-mobilenet convert {entry['name']} --catalogue {outcome.catalogue}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "add",
        help="describe a model file of your own (TFLite, ONNX, SavedModel, frozen graph, Keras) in a user catalogue",
        description="Read a model file and write (or with --force replace) its entry in a user catalogue: format, "
        "input, output, class count, quantization, checksum and GFlops come from the file; labels, normalisation, "
        "colour order and geometry from the flags. A flag that contradicts the file is refused; nothing is written "
        "then.",
        epilog=EXAMPLES,
    )
    p.add_argument(
        "file", type=validators.path, help="model file (.tflite, .onnx, .pb, .keras, .h5) or SavedModel folder"
    )
    p.add_argument("--name", required=True, help="the model's catalogue name (lowercase letters, digits, '.', '-')")
    p.add_argument(
        "--catalogue",
        dest="catalogue",
        required=True,
        type=validators.output_file,
        metavar="FILE",
        help="the user catalogue to write (created when missing); `path:` sources are relative to it",
    )
    p.add_argument("--labels", type=validators.file, metavar="FILE", help="class names, one a line, in output order")
    p.add_argument(
        "--background",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="output 0 is a background class, not named in --labels (default: no)",
    )
    p.add_argument("--mean", type=_mean, metavar="R,G,B", help="subtracted from each pixel: x = (pixel - mean) / scale")
    p.add_argument(
        "--scale", type=_three(validators.positive_float, "numbers above 0"), metavar="R,G,B", help="divides each pixel"
    )
    p.add_argument(
        "--color", type=str.lower, choices=("rgb", "bgr"), help="channel order the model takes (default rgb)"
    )
    p.add_argument("--layout", type=str.upper, choices=("NHWC", "NCHW"), help="input layout (default: from the shape)")
    p.add_argument("--resize-short", type=validators.positive_int, metavar="N", help="resize the short side to N first")
    p.add_argument("--crop", type=validators.positive_int, metavar="N", help="central N x N crop (the input size)")
    p.add_argument("--resize", type=validators.positive_int, metavar="N", help="plain resize to N x N, no crop")
    p.add_argument("--family", choices=FAMILIES, help="model family (default mobilenet-v2)")
    p.add_argument("--description", help="one line about the model (default: format and file name)")
    p.add_argument("--output-name", metavar="NAME", help="the classifier output, when the model has several")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the entry of the same name in this catalogue; flags not given keep its values",
    )
    p.set_defaults(func=run_add)
