"""Headless Chromium for the HTML report tests (Debian chromium + chromium-driver, Selenium)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("OMZ_MOBILENET_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("OMZ_MOBILENET_CHROMEDRIVER", "/usr/bin/chromedriver")
INSTALL = "install with: apt-get install -y chromium chromium-driver && pip install selenium"


def require_browser() -> None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.fail(f"selenium is not installed; {INSTALL}", pytrace=False)
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)) and not shutil.which(path):
            pytest.fail(f"{path} not found; {INSTALL}", pytrace=False)
