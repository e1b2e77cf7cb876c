"""Shared fixtures: the offline assets, a real HTTP server on 127.0.0.1, isolated cache/output dirs.

Test groups are chosen by marker, not by folder: a test that reads ../shared/assets carries the
`assets` marker (module-wide `pytestmark = pytest.mark.assets`, or implied by the `mirror` and
`http_mirror` fixtures), and `pytest -m "not assets"` (`make test-fast`) runs everything else anywhere.
"""

from __future__ import annotations

import http.server
import os
import signal
import threading
from pathlib import Path

import pytest

from tests.helpers.paths import ASSETS, IMAGES, OFFLINE_TFLITE, TESTS, error_lines  # noqa: F401

# Fixtures that serve ../shared/assets: a test asking for one needs the assets whatever its module says.
ASSET_FIXTURES = ("mirror", "http_mirror")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects, so the implied marker counts
def pytest_collection_modifyitems(items):
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in ASSET_FIXTURES):
            item.add_marker(pytest.mark.assets)


def pytest_collection_finish(session):
    """Tests marked `assets` read ../shared/assets: without it they cannot run, so the session stops
    with one line before any test. `pytest -m "not assets"` (`make test-fast`) runs anywhere."""
    needs_assets = [item for item in session.items if item.get_closest_marker("assets")]
    if needs_assets and not (ASSETS / "MANIFEST.md").is_file():
        raise pytest.UsageError(
            f"offline assets not found at {ASSETS} (needed by {len(needs_assets)} tests marked `assets`, "
            f"e.g. {needs_assets[0].nodeid}); set OMZ_MOBILENET_ASSETS, or run `make test-fast` "
            '(pytest -m "not assets") for the tests that need none'
        )


# Process-wide signal handlers a test (or its fixtures) may install and must not leave behind: Ray's
# in-process cluster (test_ray_sweep) sets a Python SIGTERM handler. A child forked later inherits it
# (OpenVINO's telemetry forks one per event from a worker thread; a child caught in the resolver lock
# another thread held at the fork then ignores terminate()), and multiprocessing's exit handler waits
# for that child forever: the session printed its summary and never exited.
LEAKY_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _restore_signals():
    saved = {number: signal.getsignal(number) for number in LEAKY_SIGNALS}
    yield
    for number, handler in saved.items():
        if signal.getsignal(number) is not handler:
            signal.signal(number, handler)


# Module scope covers module fixtures (the Ray cluster); function scope covers test bodies.
signals_restored_per_module = pytest.fixture(scope="module", autouse=True)(_restore_signals)
signals_restored_per_test = pytest.fixture(autouse=True)(_restore_signals)


class FlatMirrorHandler(http.server.BaseHTTPRequestHandler):
    """Serves files by base name from a folder tree (like a flat mirror); `routes` overrides paths."""

    index: dict[str, Path] = {}
    routes: dict[str, tuple[int, bytes]] = {}
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        self.hits.append(self.path)
        if self.path in self.routes:
            status, body = self.routes[self.path]
            return self._send(status, body)
        path = self.index.get(self.path.rsplit("/", 1)[-1])
        if path is None:
            return self._send(404, b"not found")
        return self._send(200, path.read_bytes())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _index(root: Path) -> dict[str, Path]:
    return {p.name: p for p in root.rglob("*") if p.is_file()}


@pytest.fixture()
def http_mirror():
    """A real HTTP server on 127.0.0.1 serving ../shared/assets by file name; yields (base_url, handler)."""
    handler = type("Handler", (FlatMirrorHandler,), {"index": _index(ASSETS), "routes": {}, "hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def workdirs(tmp_path, monkeypatch):
    """Isolated cache and IR folders through the same environment variables users set."""
    cache, out = tmp_path / "cache", tmp_path / "ir"
    monkeypatch.setenv("OMZ_MOBILENET_CACHE", str(cache))
    monkeypatch.setenv("OMZ_MOBILENET_OUT", str(out))
    monkeypatch.delenv("OMZ_MOBILENET_MIRROR", raising=False)
    monkeypatch.delenv("OMZ_MOBILENET_MODELS_YML", raising=False)
    monkeypatch.delenv("OMZ_MOBILENET_CATALOGUE", raising=False)
    monkeypatch.setenv("OMZ_MOBILENET_TIMEOUT", "5")
    return cache, out


@pytest.fixture()
def mirror(workdirs, monkeypatch):
    """`workdirs` with ../shared/assets as the download mirror."""
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", str(ASSETS))
    return workdirs


@pytest.fixture()
def cli(capsys, monkeypatch):
    """Run the CLI in-process; returns (exit code, stdout, stderr). `--catalogue` puts its files into
    OMZ_MOBILENET_CATALOGUE for the rest of the process, as it must for subprocesses and Ray workers;
    monkeypatch restores the variable after the test so a user catalogue never leaks into the next one."""
    from omz_mobilenet.cli import main

    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", os.environ.get("OMZ_MOBILENET_CATALOGUE", ""))

    def run(*args: str):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture(scope="session")
def own_model(tmp_path_factory):
    """Issue 19's user model (tests/helpers/own_model.py): a MobileNetV2 cut to 40 ImageNet classes as TFLite,
    Keras and ONNX, with its labels, ImageFolder, CSV and calibration images; built once per session."""
    from tests.helpers import own_model as builder

    return builder.build(tmp_path_factory.mktemp("own-model"), log=lambda *_: None)
