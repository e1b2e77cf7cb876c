"""One check per kind of value, shared by every command's flags and by the sweep spec's keys.

Each validator takes the text (or a YAML value) and returns the parsed value, or raises
`BadValue` with a message that does not name where the value came from: argparse prefixes
"argument --limit: ", a spec file prefixes "SPEC.yml:3: limit: ". So the same value gets the same
message everywhere. Validators are argparse `type=` functions as they are.

This module sits with `errors` at the bottom of the layers: it imports nothing of the package
but `errors`, so the sweep spec and every command can use it.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional, TypeVar

from omz_mobilenet.errors import ToolError

T = TypeVar("T")

#: Largest batch any command reshapes an IR to (bench, accuracy, sweep).
MAX_BATCH = 256
HINTS = ("latency", "throughput", "none")
# Device strings: CPU, GPU.1, NPU, AUTO:GPU,CPU, HETERO:GPU,CPU, MULTI:..., BATCH:GPU(4)
_DEVICE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:,()-]*$")


class BadValue(argparse.ArgumentTypeError):
    """A value a flag or spec key refuses; argparse prints it after "argument --flag: "."""


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def count(value: object, minimum: int = 1, maximum: Optional[int] = None) -> int:
    """A whole number of at least `minimum` (and at most `maximum`): --limit, --rounds, --niter, ..."""
    text = _text(value).strip()
    try:
        number = int(text)
    except ValueError:
        raise BadValue(f"takes a whole number, not {_text(value)!r}") from None
    if number < minimum:
        raise BadValue(f"must be at least {minimum} (got {_text(value)!r})")
    if maximum is not None and number > maximum:
        raise BadValue(f"must be at most {maximum} (got {_text(value)!r})")
    return number


def positive_int(value: object) -> int:
    """--limit, --rounds, --niter, --nireq, --nstreams, --calibration-limit, ..."""
    return count(value)


def non_negative_int(value: object) -> int:
    """--warmup: 0 is allowed."""
    return count(value, minimum=0)


def batch(value: object) -> int:
    """--batch: images per inference request."""
    return count(value, maximum=MAX_BATCH)


def _number(value: object) -> float:
    try:
        return float(_text(value).strip())
    except ValueError:
        raise BadValue(f"takes a number, not {_text(value)!r}") from None


def positive_float(value: object) -> float:
    """A finite number above 0: --time (seconds), --max-latency (ms), --max-size (MB)."""
    number = _number(value)
    if math.isinf(number):
        raise BadValue(f"must be a finite number (got {_text(value)!r})")
    if not number > 0:  # NaN too
        raise BadValue(f"must be more than 0 (got {_text(value)!r})")
    return number


seconds = positive_float


def percent(value: object) -> float:
    """A share in percent, 0 to 100: pick --min-top1, convert --max-drop."""
    number = _number(value)
    if not 0 <= number <= 100:  # NaN and inf too
        raise BadValue(f"must be a percentage from 0 to 100 (got {_text(value)!r})")
    return number


def hint(value: object) -> str:
    """A PERFORMANCE_HINT: latency, throughput or none."""
    text = _text(value).strip().lower()
    if text not in HINTS:
        raise BadValue(f"must be one of {', '.join(HINTS)} (got {_text(value)!r})")
    return text


def device(value: object) -> str:
    """An OpenVINO device string (whether this machine has it is checked when the command runs)."""
    text = _text(value).strip()
    if not _DEVICE.match(text):
        raise BadValue(f"takes an OpenVINO device such as CPU, GPU.1 or AUTO:GPU,CPU (got {_text(value)!r})")
    return text


def comma_list(item: Callable[[object], T]) -> Callable[[object], list[T]]:
    """A comma list of `item` values (`--hint latency,throughput`, `--batch 1,8`); a YAML list works too."""

    def parse(value: object) -> list[T]:
        parts = value if isinstance(value, list) else _text(value).split(",")
        parts = [p for p in parts if _text(p).strip()]
        return [item(p) for p in parts] if parts else [item(value)]  # nothing listed: the item's own message

    parse.__name__ = f"list of {getattr(item, '__name__', 'values')}"
    return parse


#: sweep -d: a comma list of devices.
devices = comma_list(device)


def _path(value: object) -> Path:
    text = _text(value)
    if not text.strip():
        raise BadValue("takes a path, not an empty string")
    return Path(text)


def _kind(path: Path) -> str:
    """ "dir", "file", "other" or "missing"; a path the system refuses (too long, NUL) is refused here."""
    try:
        if path.is_dir():
            return "dir"
        return "file" if path.is_file() else ("other" if path.exists() else "missing")
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise BadValue(f"cannot use the path {str(path)[:80]!r}: {reason}") from None


def path(value: object) -> Path:
    """Any path the system can use (an output to write, a database): not empty, not too long."""
    checked = _path(value)
    _kind(checked)
    return checked


def mirror(value: object) -> str:
    """--mirror: a folder or an http(s)/file URL (the scheme is checked by settings); empty means none."""
    text = _text(value)
    if text and "://" not in text:
        _kind(Path(text))
    return text


def folder(value: object) -> Path:
    """A folder that exists: --dataset, --calibration."""
    path = _path(value)
    kind = _kind(path)
    if kind == "missing":
        raise BadValue(f"folder {str(path)!r} does not exist")
    if kind != "dir":
        raise BadValue(f"{str(path)!r} is a file; pass a folder")
    return path


def file(value: object) -> Path:
    """A file that exists and can be read: --annotations, a sweep spec."""
    path = _path(value)
    kind = _kind(path)
    if kind == "dir":
        raise BadValue(f"{str(path)!r} is a folder; pass a file")
    if kind == "missing":
        raise BadValue(f"file {str(path)!r} does not exist")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise BadValue(f"cannot read {str(path)!r}: {exc.strerror}") from None
    return path


def output_file(value: object) -> Path:
    """A file to write (--db, --json FILE): it may not exist yet, but it is not a folder."""
    path = _path(value)
    if _kind(path) == "dir":
        raise BadValue(f"{str(path)!r} is a folder; pass a file name")
    return path


def from_usage(parse: Callable[[str], T], flag: str) -> Callable[[str], T]:
    """An argparse `type` from a parser of another layer that raises UsageError naming `flag`
    (evidence.MinImages.parse): the message keeps its words, without repeating the flag."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ToolError as exc:
            message = exc.message
            raise BadValue(message[len(flag) + 1 :] if message.startswith(flag + " ") else message) from None

    convert.__name__ = flag
    return convert


def checked_by(parse: Callable[[str], Any], flag: str) -> Callable[[str], str]:
    """An argparse `type` that refuses what `parse` (of another layer) refuses, and keeps the text as
    typed for the command to parse itself (--precision: the command knows which IR folders it means)."""
    convert = from_usage(parse, flag)

    def check(text: str) -> str:
        convert(text)
        return text

    check.__name__ = flag
    return check


def check(key: str, value: Any, validator: Callable[[Any], T], where: str = "") -> T:
    """Run `validator` on a spec value: a refusal becomes the one-line `where: key: message` (exit 2)."""
    try:
        return validator(value)
    except BadValue as exc:
        prefix = f"{where}: " if where else ""
        raise ToolError(f"{prefix}{key}: {exc}", 2) from None


#: Every command's flag of the same name gets the same validator (cli.build_parser applies this to
#: flags declared with a plain type), so the same value gets the same message everywhere.
FLAG_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "--limit": positive_int,
    "--subset": positive_int,
    "--batch": batch,
    "--time": seconds,
    "--rounds": positive_int,
    "--niter": positive_int,
    "--nireq": positive_int,
    "--nstreams": positive_int,
    "--nthreads": positive_int,
    "--warmup": non_negative_int,
    "--profile": positive_int,
    "--calibration-limit": positive_int,
    "--subset-size": positive_int,
    "--calibration-count": positive_int,
    "--max-latency": positive_float,
    "--max-size": positive_float,
    "--min-top1": percent,
    "--max-drop": percent,
    "--hint": hint,
    "--device": device,
    "--dataset": folder,
    "--calibration": folder,
    "--annotations": file,
    # paths that may not exist yet (outputs) or whose absence the command explains itself
    "--out": path,
    "--output-dir": path,
    "--mirror": mirror,
    "--output": path,
    "--cache-dir": path,
    "--json": path,
    "--csv": path,
    "--markdown": path,
    "--png": path,
    "--predictions": path,
    # positionals, matched by their name
    "db": path,
    "folder": folder,  # split
    "images": folder,  # ac-dataset
}
#: Declared types the shared validator replaces; any other type is the command's own choice.
PLAIN_TYPES = (None, int, float, str, Path)


def apply_flag_validators(parser: argparse.ArgumentParser, table: dict[str, Callable[[Any], Any]]) -> None:
    """Give every flag of `parser` named in `table` its shared validator, unless it has a type of its own
    (positionals are matched by their name)."""
    for action in parser._actions:
        if action.nargs == 0 or action.type not in PLAIN_TYPES:
            continue
        for name in action.option_strings or [action.dest]:
            if name in table:
                action.type = _as_declared(table[name], action.type)
                break


def _as_declared(validator: Callable[[Any], Any], declared: Any) -> Callable[[str], Any]:
    """The validator's check, with the value in the type the command declared (a path stays a str
    where the command expects text)."""
    if declared not in (None, str):
        return validator

    def parse(text: str) -> Any:
        value = validator(text)
        return str(value) if isinstance(value, Path) else value

    parse.__name__ = getattr(validator, "__name__", "value")
    return parse
