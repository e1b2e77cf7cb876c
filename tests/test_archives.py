"""Archives that must not be unpacked: device files, FIFOs, hard links, nested `..`, and bombs (a
small .tgz of a huge zero-filled file), directly and through `download` of a catalogue archive.
The `../`, absolute-path and symlink cases are in test_download.py."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile

import pytest

from omz_mobilenet.errors import ToolError
from omz_mobilenet.fetch.archive import MAX_UNPACK_FLOOR, extract_tgz
from tests.helpers.catalogue_edit import edited_catalogue, raw_catalogue
from tests.helpers.paths import error_lines

ARCHIVE_MODEL = "mobilenet-v2-1.0-224"
ARCHIVE_FILE = "mobilenet_v2_1.0_224.tgz"


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def _bomb(path, sizes: dict[str, int]):
    """A real .tgz whose members are zero-filled files of the given sizes (compresses ~1000:1)."""
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, size in sizes.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BufferedReader(_Zeros(size), 1 << 20))
    return path


@pytest.fixture(scope="module")
def big_bomb(tmp_path_factory):
    """One member of 300 MiB zeros: over the 256 MiB floor, yet a ~1.3 MB archive."""
    return _bomb(
        tmp_path_factory.mktemp("bomb") / "bomb.tgz", {"mobilenet_v2_1.0_224_frozen.pb": MAX_UNPACK_FLOOR + 44 * 2**20}
    )


def _special(kind: bytes, name: str = "dev", linkname: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 2
        tar.addfile(ok, io.BytesIO(b"ok"))
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.devmajor, info.devminor = 1, 3  # /dev/null's numbers
        tar.addfile(info)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "kind, name, linkname",
    [
        (tarfile.CHRTYPE, "null", ""),
        (tarfile.BLKTYPE, "sda", ""),
        (tarfile.FIFOTYPE, "pipe", ""),
        (tarfile.LNKTYPE, "hard", "ok.txt"),
        (tarfile.LNKTYPE, "hard-out", "../../etc/passwd"),
    ],
    ids=["char-device", "block-device", "fifo", "hard-link", "hard-link-outside"],
)
def test_devices_fifos_and_hard_links_are_refused(tmp_path, kind, name, linkname):
    archive = tmp_path / "special.tgz"
    archive.write_bytes(_special(kind, name, linkname))
    with pytest.raises(ToolError, match="links and devices are not allowed"):
        extract_tgz(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["special.tgz"]  # no target, no staging folder


@pytest.mark.parametrize("name", ["model/../../escape.pb", "./a/../../escape.pb", "a\\..\\..\\escape.pb"])
def test_nested_parent_paths_are_refused(tmp_path, name):
    archive = tmp_path / "nested.tgz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(ToolError, match="leaves the target folder"):
        extract_tgz(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nested.tgz"]


def test_bomb_is_refused_at_its_header_without_writing(big_bomb, tmp_path):
    assert big_bomb.stat().st_size < 5 * 2**20  # packed: a few MB; unpacked: 300 MiB
    with pytest.raises(ToolError, match="archive bomb"):
        extract_tgz(big_bomb, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_bomb_spread_over_many_members_is_refused(tmp_path):
    archive = _bomb(tmp_path / "many.tgz", {f"part{i:03d}.bin": 64 * 1024 for i in range(40)})
    with pytest.raises(ToolError, match="more than 1048576 bytes"):
        extract_tgz(archive, tmp_path / "out", max_bytes=2**20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.tgz"]
    # within the bound the same archive unpacks completely
    out = extract_tgz(archive, tmp_path / "out", max_bytes=4 * 2**20)
    assert len(list(out.iterdir())) == 40 and (out / "part000.bin").stat().st_size == 64 * 1024


def test_download_of_a_bomb_is_refused_and_leaves_no_unpacked_folder(
    big_bomb, workdirs, http_mirror, tmp_path, monkeypatch, cli
):
    """The bomb even matches the catalogue's checksum (a compromised entry): unpacking still stops."""
    cache, _ = workdirs
    base, handler = http_mirror
    data = big_bomb.read_bytes()

    def bomb_entry(entry):
        entry["files"][0].update(
            size=len(data),
            checksum={"algorithm": "sha256", "value": hashlib.sha256(data).hexdigest()},
            sources=[f"{base}/evil/{ARCHIVE_FILE}"],
        )
        entry["files"].append(
            {**raw_catalogue()["default_labels_file"], "sources": [f"{base}/labels/synset_words.txt"]}
        )

    edited_catalogue(tmp_path, monkeypatch, {ARCHIVE_MODEL: bomb_entry})
    handler.routes[f"/evil/{ARCHIVE_FILE}"] = (200, data)
    code, _out, err = cli("download", ARCHIVE_MODEL)
    assert code == 1 and len(error_lines(err)) == 1 and "archive bomb" in err, err
    folder = cache / "models" / ARCHIVE_MODEL
    assert not (folder / f"{ARCHIVE_FILE}.d").exists()
    assert [p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []
    assert sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) < 10 * 2**20


def test_unpacked_folder_follows_the_umask(tmp_path):
    """The unpacked folder was 0700 (tempfile.mkdtemp staging); it is made like any folder."""
    archive = tmp_path / "small.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("model/weights.bin")
        info.size, info.mode = 4, 0o644
        tar.addfile(info, io.BytesIO(b"abcd"))
    old = os.umask(0o022)
    try:
        target = extract_tgz(archive, tmp_path / "small.tgz.d")
    finally:
        os.umask(old)
    assert oct(stat.S_IMODE(target.stat().st_mode)) == oct(0o755)
    assert (target / "model" / "weights.bin").read_bytes() == b"abcd"
