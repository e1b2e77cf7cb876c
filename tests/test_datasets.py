"""Any image folder, any label set (issue 19, items 4 and 5): ImageFolder and CSV image sets, a model's
label space, and the bad inputs that must stop with one line and exit 2 before any work.

Real images: the shared ImageNet images, laid out at test time (symlinks) as an ImageFolder named by
synset id or by class words, and as a CSV of names or of indices.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pytest

from omz_mobilenet.catalogue import Checksum, SourceFile, load_catalogue
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import (
    CLASS_FOLDERS,
    IMAGE_SETS,
    ONE_SET,
    dataset_layout,
    load_image_set,
    load_image_sets,
    to_model_label,
)
from omz_mobilenet.inputs.labels import label_space, output_labels, parse_labels
from omz_mobilenet.settings import Settings
from tests.helpers.paths import IMAGES, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

SET_100 = IMAGES / "val_100_cropped_reencoded"
MODEL = "mobilenet-v1-0.25-128-quant"  # 1001 classes (background first), offline in the mirror


def _rows(folder: Path = SET_100) -> list[dict[str, str]]:
    with open(folder / "FILES.tsv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def _image_folder(root: Path, column: str, rows: list[dict[str, str]], folder: Path = SET_100) -> Path:
    """The images as class sub-folders named by `column` of FILES.tsv (synset or class_words)."""
    for row in rows:
        target = root / row[column] / row["filename"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(folder / row["filename"])
    return root


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


@pytest.fixture
def settings(mirror) -> Settings:
    return Settings.resolve()


@pytest.fixture
def entry():
    return load_catalogue().get(MODEL)


# ---- layouts ------------------------------------------------------------------------------------


def test_the_layout_rule_tells_one_set_parent_and_image_folder_apart(tmp_path):
    rows = _rows()[:6]
    classes = _image_folder(tmp_path / "classes", "synset", rows)
    assert dataset_layout(SET_100) == ONE_SET
    assert dataset_layout(IMAGES) == IMAGE_SETS  # labels/val.txt beside the image folders
    assert dataset_layout(classes) == CLASS_FOLDERS
    assert dataset_layout(classes, tmp_path / "any.csv") == ONE_SET  # a CSV lists the folder's images
    (classes / "labels").mkdir()
    (classes / "labels" / "val.txt").write_text("x.JPEG 1\n")
    assert dataset_layout(classes) == IMAGE_SETS  # ground truth beside it: today's parent of sets


def test_an_image_folder_by_synset_and_by_class_words_labels_like_files_tsv(tmp_path, entry, settings):
    rows = _rows()
    expected = {row["filename"]: to_model_label(int(row["label_1000cls_0based"]), 1001) for row in rows}
    space = label_space(entry, settings)  # synset_words.txt, fetched from the mirror into the cache
    assert space.classes == 1001 and space.background and space.output_names()[0] == "background"
    for column in ("synset", "class_words"):
        image_set = load_image_set(_image_folder(tmp_path / column, column, rows))
        assert image_set.class_names is not None and len(image_set.items) == len(rows)
        got = dict(zip((p.name for p, _l in image_set.items), output_labels(image_set, space), strict=True))
        assert got == expected, column


def test_nested_images_and_a_balanced_limit(tmp_path):
    rows = _rows()[:9]
    root = tmp_path / "nested"
    for number, row in enumerate(rows):
        target = root / ("a" if number % 3 else "b") / f"sub{number % 2}" / row["filename"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(SET_100 / row["filename"])
    image_set = load_image_set(root)
    assert image_set.class_names == ("a", "b") and len(image_set.items) == 9
    limited = load_image_set(root, subset=4)  # classes in turn: a, b, a, b
    assert sorted(label for _p, label in limited.items) == [0, 0, 1, 1]
    assert limited.list_sha256 != image_set.list_sha256


def test_a_csv_by_name_and_by_index_labels_like_files_tsv(tmp_path, entry, settings):
    rows = _rows()[:30]
    folder = tmp_path / "flat"
    (folder / "deep").mkdir(parents=True)
    for row in rows:
        (folder / "deep" / row["filename"]).symlink_to(SET_100 / row["filename"])
    expected = {row["filename"]: to_model_label(int(row["label_1000cls_0based"]), 1001) for row in rows}
    by_name = _write_csv(
        tmp_path / "names.csv", [["filename", "label"]] + [[f"deep/{r['filename']}", r["synset"]] for r in rows]
    )
    by_index = _write_csv(
        tmp_path / "index.csv",
        [["label", "filename"]] + [[r["label_1000cls_0based"], f"deep/{r['filename']}"] for r in rows],
    )
    space = label_space(entry, settings)
    for csv_file in (by_name, by_index):
        [image_set] = load_image_sets(folder, csv_file)
        got = dict(zip((p.name for p, _l in image_set.items), output_labels(image_set, space), strict=True))
        assert got == expected, csv_file.name
    assert load_image_set(folder, by_name).class_names is not None
    assert load_image_set(folder, by_index).class_names is None  # indices into the labels file


# ---- a user's label set ------------------------------------------------------------------------------


def _user_entry(entry, settings: Settings, names: list[str], classes: int):
    """The built-in entry with its own labels file (in its cache folder, checked by checksum)."""
    text = "".join(f"{name}\n" for name in names)
    folder = settings.cache_dir / "models" / entry.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pets.txt").write_text(text)
    labels = SourceFile(
        name="pets.txt",
        path=str(folder / "pets.txt"),
        checksum=Checksum(algorithm="sha256", value=hashlib.sha256(text.encode()).hexdigest()),
    )
    output = entry.output.model_copy(update={"classes": classes, "background": False})
    return entry.model_copy(update={"files": [*entry.files, labels], "labels_file": "pets.txt", "output": output})


def test_a_user_labels_file_maps_class_folders_and_refuses_others(tmp_path, entry, settings):
    user = _user_entry(entry, settings, ["cat", "dog", "fish", "bird"], 4)
    space = label_space(user, settings)
    assert space.output_names() == ["cat", "dog", "fish", "bird"] and space.classes == 4
    rows = _rows()[:6]
    root = tmp_path / "pets"
    for number, row in enumerate(rows):
        target = root / ("dog" if number % 2 else "bird") / row["filename"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(SET_100 / row["filename"])
    image_set = load_image_set(root)
    assert sorted(set(output_labels(image_set, space))) == [1, 3]
    (root / "horse").mkdir()
    (root / "horse" / rows[0]["filename"]).symlink_to(SET_100 / rows[0]["filename"])
    with pytest.raises(ToolError) as raised:
        output_labels(load_image_set(root), space)
    message = raised.value.message
    assert raised.value.exit_code == 2 and "'horse'" in message and "pets.txt names 4 classes: 'cat', 'dog'" in message
    wrong = _user_entry(entry, settings, ["cat", "dog", "fish"], 4)
    with pytest.raises(ToolError, match=rf"labels file .*pets.txt names 3 classes but model {MODEL} has 4"):
        label_space(wrong, settings)


def test_duplicate_class_names_in_a_labels_file_are_refused():
    with pytest.raises(ToolError, match=r"pets.txt:3: class 'cat' is named again \(first at line 1\)"):
        parse_labels("cat\ndog\ncat\n", "pets.txt")


# ---- the same hits, whichever way the images are laid out --------------------------------------------


def _hits(cli, dataset: Path, predictions: Path, *extra: str) -> dict[str, tuple[bool, bool]]:
    code, _out, err = cli(
        "accuracy", MODEL, "--dataset", dataset, "--predictions", predictions, "--no-progress", *extra
    )
    assert code == 0, err
    with open(predictions, encoding="utf-8") as handle:
        return {
            Path(row["image"]).name: (row["top1_correct"] == "True", row["top5_correct"] == "True")
            for row in csv.DictReader(handle)
        }


def test_a_built_in_model_scores_an_image_folder_exactly_as_files_tsv(tmp_path, mirror, cli):
    rows = _rows()
    folder = _image_folder(tmp_path / "by_synset", "synset", rows)
    flat = _hits(cli, SET_100, tmp_path / "flat.csv")
    classes = _hits(cli, folder, tmp_path / "classes.csv")
    assert len(flat) == len(rows) and classes == flat
    assert sum(top1 for top1, _top5 in flat.values()) > 20  # the model means something on these images


# ---- bad input: one line, exit 2, nothing written --------------------------------------------------


def _refused(cli, tmp_path: Path, dataset: Path, *extra: str) -> str:
    out = tmp_path / "out.json"
    code, _stdout, err = cli("accuracy", MODEL, "--dataset", dataset, "--json", out, "--no-progress", *extra)
    lines = error_lines(err)
    assert code == 2 and len(lines) == 1, err
    assert not out.exists()
    ir = Path(Settings.resolve().out_dir)
    assert not any(ir.rglob("*.xml")) if ir.exists() else True  # nothing converted
    return lines[0]


def _small_folder(root: Path, count: int = 4) -> Path:
    for row in _rows()[:count]:
        target = root / row["synset"] / row["filename"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(SET_100 / row["filename"])
    return root


def test_an_empty_class_folder_is_refused(tmp_path, mirror, cli):
    root = _small_folder(tmp_path / "classes")
    (root / "n01440764").mkdir()
    line = _refused(cli, tmp_path, root)
    assert f"class folder {root / 'n01440764'} holds no images" in line


def test_a_class_folder_the_labels_file_does_not_name_is_refused(tmp_path, mirror, cli):
    root = _small_folder(tmp_path / "classes")
    (root / "not a class").mkdir()
    (root / "not a class" / "x.JPEG").symlink_to(SET_100 / _rows()[0]["filename"])
    line = _refused(cli, tmp_path, root)
    assert "'not a class'" in line and "synset_words.txt names 1000 classes: 'tench, Tinca tinca'" in line


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([["filename", "label", "split"], ["a.JPEG", "n01440764", "val"]], r":1: unknown column 'split'"),
        ([["filename", "label"], ["a.JPEG", "n01440764"], ["a.JPEG", "n01443537"]], r":3: a.JPEG is listed again"),
        (
            [["filename", "label"], ["a.JPEG", "n01440764"], ["gone.JPEG", "n01440764"]],
            r"gone.JPEG: listed in .* but missing",
        ),
        ([["filename", "label"], ["a.JPEG", "no such class"]], r"'no such class' .* is not a class of the model"),
        ([["filename", "label"], ["a.JPEG", "1000"]], r"label 1000 is outside 0..999"),
        ([["filename", "label"], ["../a.JPEG", "3"]], r":2: filename '../a.JPEG' must be a path inside"),
    ],
    ids=["unknown-column", "duplicate", "missing-file", "unknown-label", "index-out-of-range", "outside"],
)
def test_bad_csv_annotations_are_refused(tmp_path, mirror, cli, rows, expected):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "a.JPEG").symlink_to(SET_100 / _rows()[0]["filename"])
    annotations = _write_csv(tmp_path / "labels.csv", rows)
    line = _refused(cli, tmp_path, folder, "--annotations", annotations)
    assert re.search(expected, line), line


def test_prediction_rows_name_images_by_their_path_in_the_set(tmp_path, mirror, cli):
    root = _small_folder(tmp_path / "classes")
    predictions = tmp_path / "p.csv"
    out = tmp_path / "out.json"
    code, _o, err = cli(
        "accuracy", MODEL, "--dataset", root, "--predictions", predictions, "--json", out, "--no-progress"
    )
    assert code == 0, err
    with open(predictions, encoding="utf-8") as handle:
        images = {row["image"] for row in csv.DictReader(handle)}
    assert all("/" in image for image in images)  # <class>/<file>: names may repeat across classes
    assert json.loads(out.read_text())["records"][0]["images"] == 4


def test_verify_on_an_image_folder_uses_its_class_labels(tmp_path, mirror, cli):
    rows = _rows()[:30]
    flat = tmp_path / "flat"
    flat.mkdir()
    for row in rows:
        (flat / row["filename"]).symlink_to(SET_100 / row["filename"])
    (flat / "FILES.tsv").write_text(
        "filename\tlabel_1000cls_0based\n" + "".join(f"{r['filename']}\t{r['label_1000cls_0based']}\n" for r in rows)
    )
    records = []
    for dataset in (flat, _image_folder(tmp_path / "classes", "synset", rows)):
        code, out, err = cli("verify", MODEL, "--dataset", dataset, "--json", "--no-progress")
        assert code in (0, 1), err
        records.append(json.loads(out)["records"][0])
    keys = ("images", "labelled", "top1_ir", "top1_original", "mcnemar_b", "mcnemar_c", "top1_agreement")
    assert [records[1][k] for k in keys] == [records[0][k] for k in keys]
    assert records[1]["labelled"] == 30 and records[1]["complete"]


def test_verify_takes_a_csv_of_class_names_like_files_tsv(tmp_path, mirror, cli):
    rows = sorted(_rows(), key=lambda r: r["filename"])[:30]  # the 30 that --limit 30 takes
    csv_file = _write_csv(
        tmp_path / "truth.csv", [["filename", "label"], *[[r["filename"], r["synset"]] for r in rows]]
    )
    records = []
    for extra in ((), ("--annotations", csv_file)):
        # FILES.tsv of the 100-image set labels the same 30 images (verify then limits to them by --limit)
        args = extra if extra else ("--limit", "30")
        code, out, err = cli("verify", MODEL, "--dataset", SET_100, *args, "--json", "--no-progress")
        assert code in (0, 1), err
        records.append(json.loads(out)["records"][0])
    keys = ("images", "labelled", "top1_ir", "top1_original", "mcnemar_b", "mcnemar_c", "top1_agreement")
    assert [records[1][k] for k in keys] == [records[0][k] for k in keys]
    assert records[1]["labelled"] == 30


def test_top_k_works_for_a_few_classes():
    from omz_mobilenet.accuracy.metrics import TopKCounter, rank

    ranked = rank([0.1, 0.7, 0.2])
    assert ranked.top1 == 1 and ranked.top5 == [1, 2, 0]
    counter = TopKCounter()
    counter.add(ranked.top5, 2, ranked.top1)
    counter.add(ranked.top5, 1, ranked.top1)
    assert counter.summary()["top1"] == 50.0 and counter.summary()["top5"] == 100.0


def test_a_class_word_the_labels_file_gives_twice_is_refused(tmp_path, entry, settings):
    root = tmp_path / "cranes"
    (root / "crane").mkdir(parents=True)  # synset_words.txt: n02012849 crane (bird) and n03126707 crane (machine)
    (root / "crane" / "a.JPEG").symlink_to(SET_100 / _rows()[0]["filename"])
    with pytest.raises(ToolError, match=r"class 'crane' .* is named more than once in .*synset_words.txt"):
        output_labels(load_image_set(root), label_space(entry, settings))
    (root / "crane").rename(root / "n03126707")
    assert output_labels(load_image_set(root), label_space(entry, settings)) == [518]  # line 517 + background


def test_max_drop_validation_labels_come_from_class_folders_or_files_tsv(tmp_path, entry, settings):
    """--max-drop's held-out images are labelled in the model's outputs, from an ImageFolder as from FILES.tsv."""
    from types import SimpleNamespace

    from omz_mobilenet.convert.calibration import select_calibration
    from omz_mobilenet.convert.job import QuantizeOptions
    from omz_mobilenet.convert.quantize import _validation_items

    rows = _rows()[:12]
    expected = {row["filename"]: to_model_label(int(row["label_1000cls_0based"]), 1001) for row in rows}
    flat = tmp_path / "flat"
    flat.mkdir()
    for row in rows:
        (flat / row["filename"]).symlink_to(SET_100 / row["filename"])
    (flat / "FILES.tsv").write_text(
        "filename\tlabel_1000cls_0based\n" + "".join(f"{r['filename']}\t{r['label_1000cls_0based']}\n" for r in rows)
    )
    for folder in (flat, _image_folder(tmp_path / "classes", "synset", rows)):
        options = QuantizeOptions(calibration=folder, subset_size=4, max_drop=1.0)
        job = SimpleNamespace(entry=entry, settings=settings, options=options)
        _files, record = select_calibration(folder, options.subset_size)
        items = _validation_items(job, record)  # type: ignore[arg-type]
        assert len(items) == 8 and all(expected[path.name] == label for path, label in items), folder.name


def test_a_sweep_scores_an_image_folder_like_files_tsv(tmp_path, mirror, cli):
    from omz_mobilenet.results.db import ResultsDB

    rows = _rows()[:16]
    top1 = {}
    for name, dataset in (("flat", SET_100), ("classes", _image_folder(tmp_path / "classes", "synset", rows))):
        db = tmp_path / f"{name}.db"
        code, _out, err = cli(
            "sweep", "--models", MODEL, "--precision", "FP32", "--dataset", dataset, "--limit", "16",
            "--time", "0.2", "--rounds", "1", "--db", db, "--no-progress",
        )  # fmt: skip
        assert code == 0, err
        with ResultsDB.open(db, create=False) as results:
            [record] = results.records()
        assert record.accuracy is not None and record.accuracy["images"] == 16
        top1[name] = record.accuracy["top1"]
    assert top1["classes"] == top1["flat"] and top1["flat"] is not None
