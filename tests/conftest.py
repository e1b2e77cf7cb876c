"""Shared fixtures: the offline assets, a real HTTP server on 127.0.0.1, isolated cache/output dirs."""

from __future__ import annotations

import http.server
import os
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers.paths import ASSETS, IMAGES, OFFLINE_TFLITE, TESTS, error_lines  # noqa: F401


def pytest_collection_finish(session):
    """Tests outside tests/unit read ../shared/assets: without it they cannot run, so the session
    stops with one line. `make test-unit` (tests/unit only) runs anywhere."""
    needs_assets = [item for item in session.items if "unit" not in Path(str(item.fspath)).relative_to(TESTS).parts[:1]]
    if needs_assets and not (ASSETS / "MANIFEST.md").is_file():
        raise pytest.UsageError(
            f"offline assets not found at {ASSETS} (needed by {len(needs_assets)} tests, e.g. {needs_assets[0].nodeid}); "
            "set OMZ_MOBILENET_ASSETS, or run `make test-unit` for the tests that need none"
        )


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
    monkeypatch.delenv("OMZ_MOBILENET_CATALOGUE", raising=False)
    monkeypatch.setenv("OMZ_MOBILENET_TIMEOUT", "5")
    return cache, out


@pytest.fixture()
def mirror(workdirs, monkeypatch):
    """`workdirs` with ../shared/assets as the download mirror."""
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", str(ASSETS))
    return workdirs


@pytest.fixture()
def cli(capsys):
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from omz_mobilenet.cli import main

    def run(*args: str):
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


_EXIT_STATUS: dict[str, int] = {}


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS["code"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Leave without the interpreter's teardown: native runtimes loaded in-process (OpenVINO, TensorFlow,
    LiteRT, Ray) crashed it once after every test had passed and the summary was printed (seen
    here as a segmentation fault at exit), which turned a green run red."""

    if _EXIT_STATUS.get("code") not in (0, 1):
        return  # usage errors and interruptions: pytest still has its message to print
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS["code"])
