"""HTTP faults injected by a real server on 127.0.0.1: 5xx, 404, dropped connections, stalls,
redirects, Content-Length lies, wrong checksums. Every failure must leave the cache clean: no file
under its final name unless verified, no `.part` left behind.

The catalogue entry of MODEL is edited so its only source is on the test server, which decides per
request what to send (`handler.do_GET` replaced by a function of the test).
"""

from __future__ import annotations

import functools
import hashlib
import socket
import threading
import time

import pytest

from tests.helpers.catalogue_edit import edited_catalogue, raw_catalogue
from tests.helpers.paths import ASSETS, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "mobilenet-v1-0.25-128-quant"
FILE = "mobilenet_v1_0.25_128_quant.tflite"


@functools.cache
def good() -> bytes:
    """The real model file the faulty servers send (read on first use: collection needs no assets)."""
    return (ASSETS / "models" / "mobilenet_v1_0.25_128_quant_uint8_coral" / FILE).read_bytes()


SHA256 = "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785"
SRC = f"/src/{FILE}"


def _folder(cache):
    return cache / "models" / MODEL


def _leftovers(cache) -> list[str]:
    folder = _folder(cache)
    return (
        sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock")
        if folder.is_dir()
        else []
    )


def _assert_good(cache):
    assert hashlib.sha256((_folder(cache) / FILE).read_bytes()).hexdigest() == SHA256
    assert _leftovers(cache) == []


def _assert_clean_failure(cache, code, err, *words):
    assert code == 1, err
    assert len(error_lines(err)) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in error_lines(err)[0], err
    assert not (_folder(cache) / FILE).exists()
    assert _leftovers(cache) == []


@pytest.fixture()
def server(workdirs, http_mirror, tmp_path, monkeypatch):
    """(cache, base, handler, requests): MODEL's file comes only from `<base>/src/<file>`;
    `requests` records (time, path, Range header) of every request to it."""
    cache, _ = workdirs
    base, handler = http_mirror
    extra: dict = {}

    def local(entry):
        entry["files"][0]["sources"] = [f"{base}{SRC}"] + extra.get("more_sources", [])
        entry["files"][0].update(extra.get("file_fields", {}))
        entry["files"].append(
            {**raw_catalogue()["default_labels_file"], "sources": [f"{base}/labels/synset_words.txt"]}
        )

    monkeypatch.setenv("OMZ_MOBILENET_BACKOFF", "0.05")
    requests_seen: list[tuple[float, str, str]] = []
    original = handler.do_GET

    def record_then(behaviour):
        def do_get(self):
            if self.path.startswith("/src/") or self.path.startswith("/alt/"):
                requests_seen.append((time.monotonic(), self.path, self.headers.get("Range") or ""))
                return behaviour(self, len(requests_seen))
            return original(self)

        handler.do_GET = do_get

    class Server:
        pass

    srv = Server()
    srv.cache, srv.base, srv.handler, srv.requests = cache, base, handler, requests_seen
    srv.behave = record_then

    def catalogue(**kwargs):
        extra.update(kwargs)
        edited_catalogue(tmp_path, monkeypatch, {MODEL: local})

    srv.catalogue = catalogue
    catalogue()
    return srv


def send(h, status: int, body: bytes, length: int | None = None, headers: dict | None = None):
    h.send_response(status)
    if length is not None:
        h.send_header("Content-Length", str(length))
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()


def drop(h):
    """Close the connection at once (after what was written), like a network cut."""
    h.wfile.flush()
    h.connection.shutdown(socket.SHUT_RDWR)
    h.close_connection = True


def serve_range(h):
    """200 with the whole file, or 206 from the requested offset (`Range: bytes=N-`)."""
    wanted = h.headers.get("Range")
    if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
        start = int(wanted[6:-1])
        body = good()[start:]
        return send(
            h,
            206,
            body,
            len(body),
            {"Content-Range": f"bytes {start}-{len(good()) - 1}/{len(good())}", "Accept-Ranges": "bytes"},
        )
    return send(h, 200, good(), len(good()), {"Accept-Ranges": "bytes"})


# --- 5xx and 404 -----------------------------------------------------------------------------


def test_5xx_then_success_retries_with_exponential_backoff(server, cli, monkeypatch):
    monkeypatch.setenv("OMZ_MOBILENET_BACKOFF", "0.2")

    def flaky(h, n):
        if n == 1:
            return send(h, 500, b"oops", 4)
        if n == 2:
            return send(h, 503, b"busy", 4)
        return send(h, 200, good(), len(good()))

    server.behave(flaky)
    code, out, err = cli("download", MODEL)
    assert code == 0, err
    _assert_good(server.cache)
    times = [t for t, _p, _r in server.requests]
    assert len(times) == 3
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    assert first_gap >= 0.19 and second_gap >= 0.39  # 0.2 s, then doubled


def test_5xx_forever_is_bounded_and_leaves_nothing(server, cli, monkeypatch):
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "2")
    server.behave(lambda h, n: send(h, 502, b"bad gateway", 11))
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "HTTP 502", "3 attempts")
    assert len(server.requests) == 3


def test_retry_after_is_honoured(server, cli):
    def busy_once(h, n):
        if n == 1:
            return send(h, 503, b"later", 5, {"Retry-After": "1"})
        return send(h, 200, good(), len(good()))

    server.behave(busy_once)
    assert cli("download", MODEL)[0] == 0
    (t1, _, _), (t2, _, _) = server.requests
    assert t2 - t1 >= 0.95  # the server's 1 s, not our 0.05 s backoff
    _assert_good(server.cache)


def test_404_is_not_retried_and_the_next_source_is_used(server, cli):
    server.catalogue(more_sources=[f"{server.base}/alt/{FILE}"])

    def gone_then_alt(h, n):
        if h.path.startswith("/src/"):
            return send(h, 404, b"no", 2)
        return send(h, 200, good(), len(good()))

    server.behave(gone_then_alt)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    assert [p for _t, p, _r in server.requests] == [SRC, f"/alt/{FILE}"]
    _assert_good(server.cache)


def test_404_on_the_http_mirror_falls_back_to_the_source(server, cli):
    """The mirror is tried first; its 404 moves on to the catalogue's source at once."""
    server.behave(lambda h, n: send(h, 200, good(), len(good())))
    server.handler.routes[f"/mirror/{FILE}"] = (404, b"not mirrored")
    code, _out, err = cli("download", MODEL, "--mirror", f"{server.base}/mirror")
    assert code == 0, err
    assert server.handler.hits.count(f"/mirror/{FILE}") == 1 and len(server.requests) == 1
    _assert_good(server.cache)


# --- dropped connections -------------------------------------------------------------------------


def test_dropped_connection_resumes_with_a_range_request(server, cli):
    def cut_once(h, n):
        if n == 1:
            send(h, 200, good()[:200_000], len(good()), {"Accept-Ranges": "bytes"})
            return drop(h)
        return serve_range(h)

    server.behave(cut_once)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    first, resume = [r for _t, _p, r in server.requests]
    offset = int(resume.removeprefix("bytes=").removesuffix("-"))
    assert first == "" and 0 < offset <= 200_000  # what had been written (whole blocks) is kept
    _assert_good(server.cache)


def test_dropped_connection_restarts_when_the_server_ignores_range(server, cli):
    def cut_once(h, n):
        if n == 1:
            send(h, 200, good()[:100_000], len(good()))
            return drop(h)
        return send(h, 200, good(), len(good()))  # ignores the Range header: whole file again

    server.behave(cut_once)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    assert len(server.requests) == 2
    _assert_good(server.cache)


def test_bad_resume_offset_starts_over(server, cli):
    """A 206 that does not start where we stopped is not appended: the download starts over."""

    def wrong_offset(h, n):
        if n == 1:
            send(h, 200, good()[:150_000], len(good()))
            return drop(h)
        if h.headers.get("Range"):
            return send(
                h, 206, good()[10:], len(good()) - 10, {"Content-Range": f"bytes 10-{len(good()) - 1}/{len(good())}"}
            )
        return send(h, 200, good(), len(good()))

    server.behave(wrong_offset)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    ranges = [r for _t, _p, r in server.requests]
    assert len(ranges) == 3 and ranges[0] == "" and ranges[1].startswith("bytes=") and ranges[2] == ""
    _assert_good(server.cache)


def test_connection_that_always_drops_fails_without_a_partial_file(server, cli, monkeypatch):
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "2")

    def always_cut(h, n):
        send(h, 200, good()[:100_000], len(good()))
        drop(h)

    server.behave(always_cut)
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "dropped", "3 attempts")


def test_refused_connection_is_retried_then_reported(workdirs, tmp_path, monkeypatch, cli):
    cache, _ = workdirs
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    monkeypatch.setenv("OMZ_MOBILENET_BACKOFF", "0.01")

    def nowhere(entry):
        entry["files"][0]["sources"] = [f"http://127.0.0.1:{port}/{FILE}"]

    edited_catalogue(tmp_path, monkeypatch, {MODEL: nowhere})
    code, _out, err = cli("download", MODEL, "--retries", "1")
    _assert_clean_failure(cache, code, err, "connection failed", "2 attempts")


# --- stalls and the timeout -----------------------------------------------------------------------


@pytest.fixture()
def release():
    event = threading.Event()
    yield event
    event.set()  # let stalled handler threads finish


def test_stall_mid_body_times_out_then_succeeds(server, cli, release):
    def stall_once(h, n):
        if n == 1:
            send(h, 200, good()[:64_000], len(good()))
            release.wait(30)
            return
        return send(h, 200, good(), len(good()))

    server.behave(stall_once)
    started = time.monotonic()
    code, _out, err = cli("download", MODEL, "--timeout", "0.5")
    assert code == 0, err
    assert time.monotonic() - started < 10
    assert len(server.requests) == 2
    _assert_good(server.cache)


def test_stalled_server_fails_after_the_configured_timeout(server, cli, monkeypatch, release):
    monkeypatch.setenv("OMZ_MOBILENET_TIMEOUT", "0.4")
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "1")
    server.behave(lambda h, n: release.wait(30))  # accepts, never answers
    started = time.monotonic()
    code, _out, err = cli("download", MODEL)
    elapsed = time.monotonic() - started
    _assert_clean_failure(server.cache, code, err, "no response within 0.4 s", "2 attempts")
    assert 0.8 <= elapsed < 8


def test_timeout_flag_and_variable_are_validated(workdirs, cli, monkeypatch):
    code, _out, err = cli("download", MODEL, "--timeout", "-1")
    assert code == 2 and "--timeout must be between" in error_lines(err)[0]
    monkeypatch.setenv("OMZ_MOBILENET_TIMEOUT", "soon")
    code, _out, err = cli("download", MODEL)
    assert code == 2 and "OMZ_MOBILENET_TIMEOUT must be a number" in error_lines(err)[0]
    monkeypatch.setenv("OMZ_MOBILENET_TIMEOUT", "5")
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "many")
    code, _out, err = cli("download", MODEL)
    assert code == 2 and "OMZ_MOBILENET_RETRIES must be a number" in error_lines(err)[0]


# --- redirects ------------------------------------------------------------------------------------


def test_redirect_is_followed(server, cli):
    def moved(h, n):
        if h.path == SRC:
            return send(h, 302, b"", 0, {"Location": f"/alt/{FILE}"})
        return send(h, 200, good(), len(good()))

    server.behave(moved)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    assert [p for _t, p, _r in server.requests] == [SRC, f"/alt/{FILE}"]
    _assert_good(server.cache)


def test_redirect_loop_fails_that_source_only(server, cli):
    server.catalogue(more_sources=[f"{server.base}/alt/{FILE}"])

    def loop(h, n):
        if h.path == SRC:
            return send(h, 301, b"", 0, {"Location": SRC})
        return send(h, 200, good(), len(good()))

    server.behave(loop)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    assert "too many redirects" in err and server.requests[-1][1] == f"/alt/{FILE}"
    _assert_good(server.cache)


def test_redirect_to_a_local_file_is_refused(server, cli, tmp_path):
    secret = tmp_path / FILE
    secret.write_bytes(good())  # even the right bytes must not be read through a file:// redirect
    server.behave(lambda h, n: send(h, 302, b"", 0, {"Location": secret.as_uri()}))
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "unsupported scheme")


# --- Content-Length lies and wrong bytes ------------------------------------------------------


def test_content_length_longer_than_the_body_is_retried_then_fails(server, cli, monkeypatch):
    monkeypatch.setenv("OMZ_MOBILENET_RETRIES", "1")

    def short_body(h, n):
        send(h, 200, good(), len(good()) + 1000)  # promises 1000 B more, then closes

    server.behave(short_body)
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "2 attempts")
    assert len(server.requests) == 2


def test_content_length_longer_once_then_right(server, cli):
    def lie_once(h, n):
        send(h, 200, good(), len(good()) + (1000 if n == 1 else 0))

    server.behave(lie_once)
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    _assert_good(server.cache)
    # The first body is the whole right file, so a client that believed it would end up right too:
    # only a second request shows that the short body was taken for a fault and retried.
    assert [path for _t, path, _range in server.requests] == [SRC, SRC], server.requests


def test_content_length_shorter_than_the_body_is_a_mismatch(server, cli):
    server.behave(lambda h, n: send(h, 200, good(), len(good()) - 1000))  # the client stops early
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "checksum mismatch")
    assert len(server.requests) == 1  # bytes arrived as announced: a wrong file, not a network fault


def test_body_beyond_the_catalogue_size_is_cut_off(server, cli):
    """No Content-Length (HTTP/1.0, read to close) and an endless body: stopped at the catalogue size."""
    server.catalogue(file_fields={"size": len(good())})

    def endless(h, n):
        send(h, 200, good(), None)
        try:
            for _ in range(200):
                h.wfile.write(b"\0" * 65536)
        except OSError:
            pass  # the client hung up, as it should

    server.behave(endless)
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "size mismatch")


def test_wrong_checksum_with_the_right_size(server, cli):
    bad = bytearray(good())
    bad[len(bad) // 2] ^= 0xFF
    server.behave(lambda h, n: send(h, 200, bytes(bad), len(bad)))
    code, _out, err = cli("download", MODEL)
    _assert_clean_failure(server.cache, code, err, "checksum mismatch", "sha256")
    assert len(server.requests) == 1


# --- leftovers of killed runs --------------------------------------------------------------------


def test_parts_and_staging_folders_of_a_killed_run_are_removed(server, cli):
    folder = _folder(server.cache)
    folder.mkdir(parents=True)
    (folder / f".{FILE}.abc123.part").write_bytes(good()[:1000])
    (folder / ".something.tgz.d.xyz").mkdir()
    server.behave(lambda h, n: send(h, 200, good(), len(good())))
    assert cli("download", MODEL)[0] == 0
    _assert_good(server.cache)
