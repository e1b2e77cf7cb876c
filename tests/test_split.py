"""`split` on an ImageFolder (issue 19 item 5) and on a flat folder, and calibration on any folder of images.

Real ImageNet images from ../shared/assets, laid out at test time as an ImageFolder of symlinks (class
folders named by the first ImageNet synonym, spaces included).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers.paths import IMAGES, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

SOURCE = IMAGES / "val_1300_resized_227"
FLAT = IMAGES / "val_original_20"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _classes_by_size() -> dict[int, list[tuple[str, list[Path]]]]:
    """size -> [(class name, its images)] of SOURCE's classes, from its FILES.tsv, by ImageNet index."""
    per_class: dict[str, list[Path]] = defaultdict(list)
    index: dict[str, int] = {}
    with open(SOURCE / "FILES.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            name = row["class_words"].split(",")[0].strip()
            per_class[name].append(SOURCE / row["filename"])
            index[name] = int(row["label_1000cls_0based"])
    by_size: dict[int, list[tuple[str, list[Path]]]] = defaultdict(list)
    for name in sorted(per_class, key=index.__getitem__):
        by_size[len(per_class[name])].append((name, sorted(per_class[name])))
    return by_size


def image_folder(root: Path, sizes: list[int]) -> dict[str, list[Path]]:
    """An ImageFolder at root with one class of each size (distinct classes), symlinks to the shared images."""
    by_size, used = _classes_by_size(), defaultdict(int)
    classes = {}
    for size in sizes:
        name, images = by_size[size][used[size]]
        used[size] += 1
        (root / name).mkdir(parents=True)
        for image in images:
            (root / name / image.name).symlink_to(image)
        classes[name] = images
    return classes


def listing(part: Path) -> dict[str, str]:
    """relative path -> resolved target of every file below part."""
    return {
        Path(dirpath, name).relative_to(part).as_posix(): os.path.realpath(Path(dirpath, name))
        for dirpath, _dirs, files in os.walk(part)
        for name in files
    }


def test_split_of_an_imagefolder_keeps_class_folders_and_the_same_fraction_per_class(cli, tmp_path):
    source = tmp_path / "flowers"
    classes = image_folder(source, [7, 6, 6, 5, 2, 1])
    total, count = sum(len(v) for v in classes.values()), 9
    code, out, err = cli("split", source, "--calibration-count", count, "-o", tmp_path / "parts")
    assert code == 0, err
    assert "6 class folders" in out
    calibration, evaluation = listing(tmp_path / "parts" / "calibration"), listing(tmp_path / "parts" / "evaluation")
    # the layout is kept: class/<file> symlinks in both parts, disjoint, together every source image once
    everything = {f"{name}/{p.name}": str(p.resolve()) for name, images in classes.items() for p in images}
    assert {**calibration, **evaluation} == everything and not set(calibration) & set(evaluation)
    assert all(Path(tmp_path / "parts" / "calibration" / rel).is_symlink() for rel in calibration)
    assert len(calibration) == count and not (tmp_path / "parts" / "evaluation" / "val.txt").exists()
    for name, images in classes.items():
        chosen = sorted(rel for rel in calibration if rel.split("/")[0] == name)
        share = count * len(images) / total
        assert share - 1 < len(chosen) < share + 1, (name, len(chosen), share)  # the same fraction per class
        if len(images) >= 2:
            assert len(chosen) < len(images), name  # one image at least stays for evaluation
        # within a class: the calibration choice, content sha256 order
        lowest = sorted(images, key=_sha)[: len(chosen)]
        assert chosen == sorted(f"{name}/{p.name}" for p in lowest)
    # deterministic: the same split again
    assert cli("split", source, "--calibration-count", count, "-o", tmp_path / "again")[0] == 0
    assert listing(tmp_path / "again" / "calibration") == calibration


def test_split_parts_are_an_imagefolder_for_accuracy_and_a_calibration_folder(cli, tmp_path):
    from omz_mobilenet.convert.calibration import calibration_images
    from omz_mobilenet.inputs.dataset import load_image_set

    source = tmp_path / "set"
    classes = image_folder(source, [5, 4, 3, 2])
    assert cli("split", source, "--calibration-count", 4, "-o", tmp_path / "parts")[0] == 0
    evaluation = load_image_set(tmp_path / "parts" / "evaluation")
    assert evaluation.class_names == tuple(sorted(classes))  # every class is still there to evaluate
    assert len(evaluation.items) == 14 - 4
    assert all(evaluation.class_names[label] == path.parent.name for path, label in evaluation.items)
    assert len(calibration_images(tmp_path / "parts" / "calibration")) == 4


def test_split_refuses_a_count_that_would_empty_a_class_with_nothing_written(cli, tmp_path):
    source = tmp_path / "set"
    image_folder(source, [3, 2, 2])
    code, out, _err = cli("split", source, "--calibration-count", 4, "-o", tmp_path / "ok")
    assert code == 0 and len(listing(tmp_path / "ok" / "calibration")) == 4
    assert {rel.split("/")[0] for rel in listing(tmp_path / "ok" / "evaluation")} == set(os.listdir(source))
    code, _out, err = cli("split", source, "--calibration-count", 5, "-o", tmp_path / "parts")
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "only 4 images that may calibrate" in lines[0]
    assert not (tmp_path / "parts").exists() and not (tmp_path / "parts.partial").exists()


def test_split_refuses_an_empty_class_folder(cli, tmp_path):
    source = tmp_path / "set"
    image_folder(source, [3, 2])
    (source / "empty class").mkdir()
    code, _out, err = cli("split", source, "--calibration-count", 1, "-o", tmp_path / "parts")
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "empty class" in lines[0] and "holds no images" in lines[0]
    assert not (tmp_path / "parts").exists()


def test_split_of_an_imagefolder_keeps_excluded_names_in_evaluation(cli, tmp_path):
    source = tmp_path / "set"
    classes = image_folder(source, [6, 5])
    # exclude, by file name, the two images each class would otherwise calibrate first
    firsts = [p for images in classes.values() for p in sorted(images, key=_sha)[:1]]
    exclude = tmp_path / "elsewhere" / "nested"
    exclude.mkdir(parents=True)
    for image in firsts:
        (exclude / image.name).symlink_to(image)
    assert cli("split", source, "--calibration-count", 4, "-o", tmp_path / "parts", "--exclude", exclude.parent)[0] == 0
    calibration = listing(tmp_path / "parts" / "calibration")
    assert len(calibration) == 4 and not {p.name for p in firsts} & {Path(rel).name for rel in calibration}


def test_split_of_a_flat_folder_is_unchanged(cli, tmp_path):
    code, out, err = cli("split", FLAT, "--calibration-count", 5, "-o", tmp_path / "parts")
    assert code == 0, err and "class folders" not in out
    calibration, evaluation = listing(tmp_path / "parts" / "calibration"), listing(tmp_path / "parts" / "evaluation")
    images = sorted(FLAT.glob("*.JPEG"))
    lowest = sorted(images, key=_sha)[:5]
    assert set(calibration) == {p.name for p in lowest} | {"val.txt"}
    assert set(evaluation) == {p.name for p in images if p not in lowest} | {"val.txt"}
    labels = dict(line.split() for line in (tmp_path / "parts" / "calibration" / "val.txt").read_text().splitlines())
    assert set(labels) == {p.name for p in lowest} and all(v.isdigit() for v in labels.values())


# ---- calibration on any folder of images ----------------------------------------------------------------


def nested_tree(root: Path) -> list[Path]:
    """Images at three depths, plus a hidden folder and a non-image that must be left out."""
    images = sorted(FLAT.glob("*.JPEG"))
    places = ["", "a", "a/deeper", "b"]
    for index, image in enumerate(images[:12]):
        folder = root / places[index % len(places)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / image.name).symlink_to(image)
    (root / ".thumbnails").mkdir()
    (root / ".thumbnails" / images[12].name).symlink_to(images[12])
    (root / "b" / "notes.txt").write_text("not an image")
    return images[:12]


def test_calibration_takes_a_folder_of_images_recursively_in_a_fixed_order(tmp_path):
    from omz_mobilenet.convert.calibration import calibration_images, select_calibration

    used = nested_tree(tmp_path / "calib")
    found = calibration_images(tmp_path / "calib")
    assert sorted(p.resolve() for p in found) == sorted(p.resolve() for p in used)
    relative = [p.relative_to(tmp_path / "calib").as_posix() for p in found]
    assert relative == sorted(relative)  # sorted by path, the same on every machine
    files, record = select_calibration(tmp_path / "calib", 5)
    assert record.available == 12 and record.used == 5
    assert record.sha256 == sorted(_sha(p) for p in used)[:5] and [_sha(p) for p in files] == record.sha256


def test_calibration_folder_of_class_folders_only(tmp_path):
    """Before issue 19 a folder whose images are all in sub-folders was 'has no images'."""
    from omz_mobilenet.convert.calibration import calibration_images

    image_folder(tmp_path / "calib", [3, 2])
    assert len(calibration_images(tmp_path / "calib")) == 5
    (tmp_path / "none" / "sub").mkdir(parents=True)
    from omz_mobilenet.errors import ToolError

    with pytest.raises(ToolError, match="has no images"):
        calibration_images(tmp_path / "none")


def test_int8_calibrates_on_a_split_imagefolder_and_refuses_an_unreadable_image_in_it(mirror, cli, tmp_path):
    """Real NNCF on the calibration part of a split ImageFolder; a corrupt file two levels down is exit 2
    naming it, with no IR written (as for a flat folder)."""
    from omz_mobilenet.convert.calibration import read_record

    model = "mobilenet-v1-0.25-224-tflite"
    image_folder(tmp_path / "set", [5, 4, 3])
    assert cli("split", tmp_path / "set", "--calibration-count", 6, "-o", tmp_path / "parts")[0] == 0
    calibration = tmp_path / "parts" / "calibration"
    broken = calibration / "zz" / "deeper" / "broken.jpg"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(os.urandom(500))
    args = ("convert", model, "--precisions", "INT8", "--calibration", calibration, "--subset-size", 7, "--no-progress")
    code, _out, err = cli(*args)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1 and "broken.jpg cannot be decoded" in lines[0]
    _cache, out = mirror
    xml = out / model / "FP32-INT8" / f"{model}.xml"
    assert not xml.exists()
    broken.unlink()
    code, _out, err = cli(*args)
    assert code == 0, err
    record = read_record(xml)
    assert record is not None and record.used == record.available == 6
    assert sorted(record.names) == sorted(listing(calibration))  # <class folder>/<file name>


def test_a_camera_file_name_in_another_class_is_not_a_calibration_image(tmp_path):
    """IMG_0001.jpg in two class folders are two photos: evaluating on the other class's one is no overlap
    (before issue 19 the bare file name counted, so a user's split was refused by its own overlap guard).
    The same name in the same class folder, or in a flat image set, still counts (a re-encoded copy)."""
    from omz_mobilenet.convert.calibration import overlapping, select_calibration

    images = sorted(FLAT.glob("*.JPEG"))
    for index, (class_name, image) in enumerate([("daisy", images[0]), ("rose", images[1]), ("rose", images[2])]):
        (tmp_path / "calibration" / class_name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "calibration" / class_name / f"IMG_000{index}.jpg").symlink_to(image)
    for class_name, image in [("daisy", images[3]), ("rose", images[4])]:
        (tmp_path / "evaluation" / class_name).mkdir(parents=True)
        (tmp_path / "evaluation" / class_name / "IMG_0000.jpg").symlink_to(image)
    _files, record = select_calibration(tmp_path / "calibration", 3)
    assert sorted(record.names) == ["daisy/IMG_0000.jpg", "rose/IMG_0001.jpg", "rose/IMG_0002.jpg"]
    other_class = tmp_path / "evaluation" / "rose" / "IMG_0000.jpg"
    same_class = tmp_path / "evaluation" / "daisy" / "IMG_0000.jpg"  # other bytes: a re-encoded copy
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "IMG_0001.jpg").symlink_to(images[5])
    flat = tmp_path / "flat" / "IMG_0001.jpg"
    same_bytes = tmp_path / "flat" / "copy.jpg"
    same_bytes.symlink_to(images[2])
    assert overlapping(record, [other_class, same_class, flat, same_bytes]) == [same_class, flat, same_bytes]


def test_split_replaces_its_own_earlier_output_but_never_another_folder(cli, tmp_path):
    source = tmp_path / "set"
    image_folder(source, [3, 2])
    assert cli("split", source, "--calibration-count", 1, "-o", tmp_path / "parts")[0] == 0
    assert cli("split", source, "--calibration-count", 2, "-o", tmp_path / "parts")[0] == 0
    assert len(listing(tmp_path / "parts" / "calibration")) == 2
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("keep me")
    code, _out, err = cli("split", source, "--calibration-count", 1, "-o", precious)
    assert code == 2 and len(error_lines(err)) == 1 and "not an earlier split" in err
    assert (precious / "thesis.tex").read_text() == "keep me"
