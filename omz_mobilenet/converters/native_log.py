"""Keep native runtimes' chatter off the user's terminal.

LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." from C++ straight to file
descriptor 2 when an interpreter is built: no Python logger or environment variable controls it. So
fd 2 is pointed at a temporary file while the runtime is opened, and what it caught is written back,
minus the known informational lines: a real warning or error still reaches the user.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

# Lines a native runtime prints that say nothing to a user of this tool.
CHATTER = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextmanager
def quiet_native_stderr(drop: tuple[str, ...] = CHATTER) -> Iterator[None]:
    """Within the block, native writes to fd 2 are caught; on leaving, all but `drop` lines are passed on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [
                line for line in caught.read().decode(errors="replace").splitlines(True) if line.strip() not in drop
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
