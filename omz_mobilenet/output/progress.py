"""Rich progress bars: bytes for downloads and items for long loops."""

from __future__ import annotations

import sys
from typing import Optional

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def stderr_console() -> Console:
    return Console(stderr=True, soft_wrap=True)


class ByteProgress:
    """A byte progress bar with the total/update/reset/close protocol the downloader drives."""

    def __init__(self, label: str, enabled: bool = True) -> None:
        self._enabled = enabled and sys.stderr.isatty()
        self._progress: Optional[Progress] = None
        self._task: Optional[TaskID] = None
        self._label = label
        self.total = 0

    def __enter__(self) -> ByteProgress:
        if self._enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=stderr_console(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=None)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, n: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, total=self.total or None, advance=n)

    def reset(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.reset(self._task, total=self.total or None)

    def close(self) -> None:
        pass


def item_progress(enabled: bool = True) -> Progress:
    """A progress bar for N items (images, models); quiet when stderr is not a terminal."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        transient=True,
        disable=not (enabled and sys.stderr.isatty()),
    )
