"""One file over HTTP(S) with bounded retries: what a flaky server or network may do, and what we do.

Per source: a 5xx/408/425/429, a dropped connection, a body shorter than its Content-Length or no
byte for `timeout` seconds is retried `retries` times with exponential backoff (honouring a short
Retry-After), resuming with a Range request when the server supports it. Any other 4xx, a redirect
loop or a redirect to a non-http(s) scheme, and a body longer than the catalogue's size fail the
source at once (`SourceFailed`), and the caller tries the next source.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from omz_mobilenet.settings import MAX_BACKOFF_S, Settings

RETRY_STATUS = {408, 425, 429}


class SourceFailed(Exception):
    """One candidate (mirror or URL) did not deliver a good file; the next one is tried."""


class _Retry(Exception):
    """This attempt failed in a way another attempt may fix (5xx, dropped connection, stall)."""

    def __init__(self, reason: str, retry_after: Optional[float] = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Transfer:
    """One GET: where from, into which file, what the progress bar calls it, the catalogue's size."""

    url: str
    dest: Path
    label: str
    expected_size: Optional[int] = None


def _retry_after(response: Any) -> Optional[float]:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: use our own backoff


def _content_range_start(response: Any) -> Optional[int]:
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _open(session: Any, transfer: Transfer, settings: Settings, have: int) -> Any:
    """The response to the GET (a Range request after `have` bytes), or _Retry/SourceFailed."""
    import requests

    headers = {"Accept-Encoding": "identity"}  # byte counts and Range refer to the file itself
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        return session.get(transfer.url, stream=True, timeout=(settings.timeout, settings.timeout), headers=headers)
    except requests.TooManyRedirects:
        raise SourceFailed("too many redirects") from None
    except requests.exceptions.InvalidSchema as exc:
        raise SourceFailed(f"redirected to an unsupported scheme ({exc})") from None
    except requests.Timeout:
        raise _Retry(f"no response within {settings.timeout:g} s") from None
    except requests.ConnectionError as exc:
        raise _Retry(f"connection failed ({type(exc).__name__})") from None
    except requests.RequestException as exc:
        raise SourceFailed(f"{type(exc).__name__}: {exc}") from None


def _write_mode(response: Any, dest: Path, have: int) -> str:
    """ "ab" to continue after `have` bytes, "wb" to start over; raises for statuses we do not write."""
    status = response.status_code
    if status >= 500 or status in RETRY_STATUS:
        raise _Retry(f"HTTP {status}", _retry_after(response))
    if status == 416 or (status == 206 and _content_range_start(response) != have):
        dest.write_bytes(b"")  # the server cannot continue where we stopped: start over
        raise _Retry(f"HTTP {status} to a resume request; starting over")
    if status >= 400:
        raise SourceFailed(f"HTTP {status}")
    if status == 206 and have:
        return "ab"
    if status == 200:
        return "wb"
    raise SourceFailed(f"unexpected HTTP {status}")


def _receive(response: Any, transfer: Transfer, mode: str, have: int, bar: Any) -> int:
    """Stream the body into the file; the bytes received. Never more than the catalogue's size."""
    import requests

    received = 0
    try:
        with open(transfer.dest, mode) as handle:
            for block in response.iter_content(chunk_size=1 << 16):
                handle.write(block)
                received += len(block)
                bar.update(len(block))
                if transfer.expected_size is not None and have + received > transfer.expected_size:
                    raise SourceFailed(
                        f"size mismatch: the server sends more than the catalogue's {transfer.expected_size} B"
                    )
            handle.flush()
            os.fsync(handle.fileno())
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError, requests.Timeout) as exc:
        cause = "stalled" if "timed out" in str(exc).lower() or isinstance(exc, requests.Timeout) else "dropped"
        raise _Retry(f"connection {cause} after {have + received} B") from None
    except requests.RequestException as exc:
        raise SourceFailed(f"{type(exc).__name__}: {exc}") from None
    return received


def _attempt(session: Any, transfer: Transfer, settings: Settings, bar: Any, resume: bool) -> None:
    """One GET into `transfer.dest`; resumes after its bytes when `resume` and the server allows it.
    Raises _Retry or SourceFailed; on success the file holds exactly the announced body."""
    have = transfer.dest.stat().st_size if resume and transfer.dest.exists() else 0
    with _open(session, transfer, settings, have) as response:
        mode = _write_mode(response, transfer.dest, have)
        if mode == "wb":
            have = 0
        length = response.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("identity", "")
        bar.total = (have + announced) if announced is not None else 0
        if have:
            bar.update(have)
        received = _receive(response, transfer, mode, have, bar)
        if announced is not None and not encoded and received != announced:
            raise _Retry(f"body of {received} B, Content-Length said {announced} B")


def http_get(transfer: Transfer, settings: Settings) -> None:
    """GET into `transfer.dest` with bounded retries and exponential backoff (see the module doc)."""
    import requests

    from omz_mobilenet.output.progress import ByteProgress

    delay = settings.backoff
    last = ""
    with requests.Session() as session:
        session.max_redirects = 10
        for attempt in range(settings.retries + 1):
            with ByteProgress(transfer.label, enabled=settings.progress) as bar:
                try:
                    # resume only after a dropped connection with bytes on disk; the server decides (206 or 200)
                    _attempt(session, transfer, settings, bar, resume=attempt > 0)
                    return
                except _Retry as exc:
                    last = exc.reason
                    pause = min(MAX_BACKOFF_S, exc.retry_after if exc.retry_after is not None else delay)
            if attempt == settings.retries:
                break
            time.sleep(pause)
            delay = min(MAX_BACKOFF_S, delay * 2)
    tries = settings.retries + 1
    raise SourceFailed(f"{last} ({tries} attempt{'s' if tries > 1 else ''}; no network or server down?)")
