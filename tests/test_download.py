"""Downloads over real HTTP from a local server: checksums, cache, mirrors, fallback, clean failures."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile

import pytest

from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.archive import extract_tgz
from tests.helpers.catalogue_edit import edited_catalogue, raw_catalogue
from tests.helpers.paths import ASSETS, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "mobilenet-v1-0.25-128-quant"
FILE = "mobilenet_v1_0.25_128_quant.tflite"


def _cached(cache):
    return cache / "models" / MODEL / FILE


def _local_labels(entry, base):
    entry["files"].append({**raw_catalogue()["default_labels_file"], "sources": [f"{base}/labels/synset_words.txt"]})


def _leftovers(cache):
    return [p.name for p in (cache / "models" / MODEL).glob(".*part")]


def test_download_from_http_mirror_verifies_and_caches(workdirs, http_mirror, cli):
    cache, _ = workdirs
    base, handler = http_mirror
    code, out, _err = cli("download", MODEL, "--mirror", base)
    assert code == 0 and FILE in out
    digest = hashlib.sha256(_cached(cache).read_bytes()).hexdigest()
    assert digest == "cb273c23ee76374b05b9583177e28aa19744858a7679c56a250e83d0333da785"
    handler.hits.clear()
    assert cli("download", MODEL, "--mirror", base)[0] == 0
    assert handler.hits == []  # served from the verified cache


def test_directory_mirror_is_searched_recursively(workdirs, cli, monkeypatch):
    cache, _ = workdirs
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", str(ASSETS))
    assert cli("download", MODEL)[0] == 0
    assert _cached(cache).is_file()


def test_falls_back_to_the_next_source(workdirs, http_mirror, tmp_path, monkeypatch, cli):
    base, handler = http_mirror

    def two_sources(entry):
        entry["files"][0]["sources"] = [f"{base}/gone/{FILE}", f"{base}/models/{FILE}"]
        _local_labels(entry, base)

    edited_catalogue(tmp_path, monkeypatch, {MODEL: two_sources})
    handler.routes[f"/gone/{FILE}"] = (404, b"moved")
    code, _out, err = cli("download", MODEL)
    assert code == 0, err
    assert handler.hits[:2] == [f"/gone/{FILE}", f"/models/{FILE}"]


def test_server_errors_are_retried(workdirs, http_mirror, tmp_path, monkeypatch, cli):
    base, handler = http_mirror

    def flaky_source(entry):
        entry["files"][0]["sources"] = [f"{base}/flaky/{FILE}"]
        _local_labels(entry, base)

    edited_catalogue(tmp_path, monkeypatch, {MODEL: flaky_source})
    good = (ASSETS / "models" / "mobilenet_v1_0.25_128_quant_uint8_coral" / FILE).read_bytes()
    original_get = handler.do_GET
    calls = []

    def flaky(self):
        calls.append(self.path)
        if self.path.startswith("/flaky/") and len(calls) <= 2:
            return self._send(503, b"busy")
        if self.path.startswith("/flaky/"):
            return self._send(200, good)
        return original_get(self)

    handler.do_GET = flaky
    assert cli("download", MODEL)[0] == 0
    assert len([c for c in calls if c.startswith("/flaky/")]) == 3


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o027, 0o640)])
def test_cached_files_are_made_like_ordinary_files(workdirs, http_mirror, cli, umask, mode):
    """Issue 17: cached model files were 0600 (tempfile.mkstemp); they follow the umask like any file,
    so a cache can be shared read-only."""
    cache, _ = workdirs
    base, _handler = http_mirror
    old = os.umask(umask)
    try:
        assert cli("download", MODEL, "--mirror", base)[0] == 0
    finally:
        os.umask(old)
    files = [p for p in _cached(cache).parent.iterdir() if p.is_file()]
    assert FILE in {p.name for p in files}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {p.name: oct(mode) for p in files}


def test_checksum_mismatch_leaves_clean_cache(workdirs, http_mirror, cli):
    cache, _ = workdirs
    base, handler = http_mirror
    handler.routes[f"/{FILE}"] = (200, b"not the model you are looking for")
    code, out, err = cli("download", MODEL, "--mirror", base)
    assert code == 1 and "checksum mismatch" in err and len(error_lines(err)) == 1
    assert not _cached(cache).exists() and _leftovers(cache) == []


def test_not_in_mirror_and_no_network(workdirs, tmp_path, cli):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    code, _out, err = cli("download", "mobilenet-v2-1.0-224", "--mirror", str(empty))
    assert code == 1 and len(error_lines(err)) == 1
    assert "cannot download mobilenet_v2_1.0_224.tgz" in err and "mobilenet-v2-1.0-224" in err


def test_bad_cached_file_is_replaced(workdirs, http_mirror, cli):
    cache, _ = workdirs
    base, _handler = http_mirror
    assert cli("download", MODEL, "--mirror", base)[0] == 0
    _cached(cache).write_bytes(b"corrupted on disk")
    code, _out, err = cli("download", MODEL, "--mirror", base)
    assert code == 0 and "is bad" in err
    assert hashlib.sha256(_cached(cache).read_bytes()).hexdigest().startswith("cb273c23")


def test_missing_checksum_warns_and_records_sha256(workdirs, http_mirror, tmp_path, monkeypatch, cli):
    cache, _ = workdirs
    base, _handler = http_mirror

    def no_checksum(entry):
        entry["files"][0].pop("checksum")
        entry["files"][0]["checksum_note"] = "none published"

    edited_catalogue(tmp_path, monkeypatch, {MODEL: no_checksum})
    code, _out, err = cli("download", MODEL, "--mirror", base)
    assert code == 0 and "no published checksum" in err
    record = _cached(cache).with_name(FILE + ".sha256").read_text().strip()
    assert record == hashlib.sha256(_cached(cache).read_bytes()).hexdigest()


def _tgz(members: dict[str, bytes], link: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if link:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            tar.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "members, link, expected",
    [
        ({"../escape.txt": b"x"}, None, "leaves the target"),
        ({"/abs.txt": b"x"}, None, "leaves the target"),
        ({"ok.txt": b"x"}, "evil", "links and devices"),
    ],
)
def test_unsafe_archives_are_refused(tmp_path, members, link, expected):
    archive = tmp_path / "bad.tgz"
    archive.write_bytes(_tgz(members, link))
    with pytest.raises(ToolError, match=expected):
        extract_tgz(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.txt").exists()


def test_unreadable_archive_is_a_clear_error(tmp_path):
    archive = tmp_path / "broken.tgz"
    archive.write_bytes(_tgz({"a.pb": b"x" * 1000})[:60])
    with pytest.raises(ToolError, match="unreadable archive"):
        extract_tgz(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
