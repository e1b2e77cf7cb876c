"""Where things live (cache, IR output folder, mirror) and how downloads behave (timeout,
retries, backoff): from flags first, then environment, then defaults."""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from omz_mobilenet.errors import UsageError

CACHE_ENV = "OMZ_MOBILENET_CACHE"
OUT_ENV = "OMZ_MOBILENET_OUT"
MIRROR_ENV = "OMZ_MOBILENET_MIRROR"
TIMEOUT_ENV = "OMZ_MOBILENET_TIMEOUT"
RETRIES_ENV = "OMZ_MOBILENET_RETRIES"
BACKOFF_ENV = "OMZ_MOBILENET_BACKOFF"

DEFAULT_TIMEOUT_S = 60.0  # seconds without a byte (connect or read) before an attempt is given up
DEFAULT_RETRIES = 3  # extra attempts per source after a 5xx, a dropped connection or a stall
DEFAULT_BACKOFF_S = 0.5  # first pause between attempts; doubled each time, capped at MAX_BACKOFF_S
MAX_BACKOFF_S = 30.0
MAX_RETRIES = 20


def _user_cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


def _number(text: object, what: str, kind: type, low: float, high: float):
    """`text` as int/float within [low, high], else a one-line usage error naming `what`."""
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a number, not {text!r}") from None
    if not low <= value <= high or value != value:  # also refuses NaN
        raise UsageError(f"{what} must be between {low:g} and {high:g} (got {text!r})")
    return value


MIRROR_SCHEMES = ("http://", "https://", "file://")


def mirror_location(mirror: str) -> tuple[str, str]:
    """("http", base URL) or ("dir", folder) for the --mirror value; other schemes are refused.

    `file:///path` is accepted here, and only here (catalogue sources must be http(s)), as the folder
    `/path`; `ftp://`, `s3://` and the like are a usage error rather than a silent local lookup.
    """
    if mirror.startswith(("http://", "https://")):
        return "http", mirror
    if mirror.startswith("file://"):
        parsed = urllib.parse.urlparse(mirror)
        if parsed.netloc not in ("", "localhost") or not parsed.path:
            raise UsageError(f"mirror {mirror!r}: a file:// URL with a host is not supported; use file:///folder")
        return "dir", urllib.parse.unquote(parsed.path)
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.\-]*):(//|$)", mirror)
    if scheme and len(scheme.group(1)) > 1:  # a drive letter like C: is not a scheme
        raise UsageError(
            f"mirror {mirror!r}: the {scheme.group(1)}:// scheme is not supported; "
            "pass a folder, file:///folder or an http(s) base URL"
        )
    return "dir", mirror


def _check_mirror(mirror: str, source: str) -> None:
    """Refuse an unsupported scheme at once, even when nothing needs downloading (the model is cached):
    a typo like `ftp://` must not pass silently only to fail on the next cold cache."""
    try:
        mirror_location(mirror)
    except UsageError as exc:
        raise UsageError(f"{source}: {exc.message}") from None


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    out_dir: Path
    mirror: Optional[str]
    timeout: float = DEFAULT_TIMEOUT_S
    retries: int = DEFAULT_RETRIES
    progress: bool = True
    backoff: float = DEFAULT_BACKOFF_S

    @classmethod
    def resolve(
        cls,
        cache_dir: Optional[str] = None,
        out_dir: Optional[str] = None,
        mirror: Optional[str] = None,
        progress: bool = True,
        timeout: Optional[float] = None,
        retries: Optional[int] = None,
    ) -> Settings:
        cache = cache_dir or os.environ.get(CACHE_ENV) or str(_user_cache_root() / "omz-mobilenet")
        out = out_dir or os.environ.get(OUT_ENV) or "ir"
        timeout_text = timeout if timeout is not None else os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT_S
        retries_text = retries if retries is not None else os.environ.get(RETRIES_ENV) or DEFAULT_RETRIES
        backoff_text = os.environ.get(BACKOFF_ENV) or DEFAULT_BACKOFF_S
        source = "--timeout" if timeout is not None else TIMEOUT_ENV
        mirror_value = mirror or os.environ.get(MIRROR_ENV) or None
        if mirror_value:
            _check_mirror(mirror_value, "--mirror" if mirror else MIRROR_ENV)
        return cls(
            cache_dir=Path(cache).expanduser(),
            out_dir=Path(out).expanduser(),
            mirror=mirror_value,
            timeout=_number(timeout_text, source, float, 0.001, 24 * 3600),
            retries=_number(retries_text, "--retries" if retries is not None else RETRIES_ENV, int, 0, MAX_RETRIES),
            progress=progress,
            backoff=_number(backoff_text, BACKOFF_ENV, float, 0, MAX_BACKOFF_S),
        )


#: Environment variables the tool reads (a flag, when given, wins): name, flag, meaning. The one
#: definition that `--help` and the docs print.
ENVIRONMENT_VARIABLES: list[tuple[str, str, str]] = [
    ("OMZ_MOBILENET_MIRROR", "--mirror", "folder or http(s) URL holding the model files"),
    ("OMZ_MOBILENET_CACHE", "--cache-dir", "download cache (default $XDG_CACHE_HOME or ~/.cache, /omz-mobilenet)"),
    ("OMZ_MOBILENET_OUT", "-o/--out", "IR folder (default ./ir)"),
    ("OMZ_MOBILENET_TIMEOUT", "--timeout", "seconds without a byte before a download attempt is given up (60)"),
    ("OMZ_MOBILENET_RETRIES", "--retries", "extra download attempts per source (3)"),
    ("OMZ_MOBILENET_BACKOFF", "", "first pause between download attempts, doubled each time (0.5 s)"),
    ("OMZ_MOBILENET_DATASET", "--dataset", "images for `verify` when --dataset is not given"),
    (
        "OMZ_MOBILENET_CATALOGUE",
        "--catalogue",
        "user catalogue files added to the built-in one (a path list, `:`-separated)",
    ),
    ("OMZ_MOBILENET_MODELS_YML", "", "another models.yml instead of the packaged built-in one (developers, tests)"),
    ("OMZ_MOBILENET_AC_CONFIGS", "", "folder of accuracy_checker configs and subset references"),
    ("OMZ_MOBILENET_NODE_ID", "", "a name for this machine, written into every --json environment"),
    ("OMZ_MOBILENET_DEBUG", "", "set to 1 for a traceback on internal errors"),
]
