"""Where things live: cache, IR output folder and mirror, from flags first, then environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

CACHE_ENV = "OMZ_MOBILENET_CACHE"
OUT_ENV = "OMZ_MOBILENET_OUT"
MIRROR_ENV = "OMZ_MOBILENET_MIRROR"


def _user_cache_root() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg else Path.home() / ".cache"


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    out_dir: Path
    mirror: Optional[str]
    timeout: float = 60.0
    retries: int = 3
    progress: bool = True

    @classmethod
    def resolve(
        cls,
        cache_dir: Optional[str] = None,
        out_dir: Optional[str] = None,
        mirror: Optional[str] = None,
        progress: bool = True,
    ) -> "Settings":
        cache = cache_dir or os.environ.get(CACHE_ENV) or str(_user_cache_root() / "omz-mobilenet")
        out = out_dir or os.environ.get(OUT_ENV) or "ir"
        return cls(
            cache_dir=Path(cache).expanduser(),
            out_dir=Path(out).expanduser(),
            mirror=mirror or os.environ.get(MIRROR_ENV) or None,
            timeout=float(os.environ.get("OMZ_MOBILENET_TIMEOUT", "60")),
            progress=progress,
        )
