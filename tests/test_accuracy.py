"""`accuracy`: top-k, Wilson interval, label mapping, ground-truth parsing, preprocessing, configs, CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from omz_mobilenet.accuracy import ac_config
from omz_mobilenet.accuracy.metrics import TopKCounter, accuracy_summary, top_k, wilson_interval
from omz_mobilenet.catalogue import Geometry, load_catalogue
from omz_mobilenet.cli import main
from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import (
    find_annotations,
    load_image_set,
    load_image_sets,
    parse_files_tsv,
    parse_val_txt,
    to_model_label,
)
from omz_mobilenet.inputs.images import apply_geometry, decode_bgr
from tests.helpers.paths import ASSETS, OFFLINE_TFLITE

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

IMAGENET = ASSETS / "imagenet"
SMALL_SET = IMAGENET / "val_original_20"
OFFLINE_MODELS = OFFLINE_TFLITE


@pytest.fixture
def scratch(mirror):
    """conftest's temp cache/IR folders with the offline mirror; returns the folder holding them."""
    return mirror[0].parent


def _images(folder: Path, names: list[str], shape=(40, 50, 3)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for name in names:
        cv2.imwrite(str(folder / name), rng.integers(0, 255, shape, dtype=np.uint8))


# ---- metrics ----------------------------------------------------------------------------------


def test_top_k_on_known_logits():
    logits = np.array([0.1, 2.0, -1.0, 3.5, 2.0, 0.0])
    assert top_k(logits, 1).tolist() == [3]
    assert top_k(logits, 3).tolist() == [3, 1, 4]  # tie 2.0: the lower index first
    counter = TopKCounter()
    counter.add(top_k(logits, 5), 3)  # top-1 hit
    counter.add(top_k(logits, 5), 0)  # 5th place: top-5 only
    counter.add(top_k(logits, 5), 2)  # last: miss
    assert (counter.total, counter.top1, counter.top5) == (3, 1, 2)


def test_wilson_interval_known_values():
    low, high = wilson_interval(10, 20)
    assert low == pytest.approx(0.2993, abs=1e-4) and high == pytest.approx(0.7007, abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(0, 20)[1] == pytest.approx(0.1611, abs=1e-4)
    assert wilson_interval(20, 20)[1] == 1.0
    summary = accuracy_summary(15, 19, 20)
    assert (
        summary["top1"] == 75.0 and summary["top5"] == 95.0 and summary["top1_ci95"][0] < 75 < summary["top1_ci95"][1]
    )


def test_label_mapping_1000_and_1001():
    assert to_model_label(65, 1001) == 66
    assert to_model_label(0, 1001) == 1 and to_model_label(999, 1001) == 1000
    assert to_model_label(65, 1000) == 65
    with pytest.raises(ToolError, match="outside"):
        to_model_label(1000, 1000)


# ---- ground truth ---------------------------------------------------------------------------------


def test_val_txt_errors_name_file_and_line(tmp_path):
    good = tmp_path / "val.txt"
    good.write_text("a.JPEG 1\n\n# comment\nb.JPEG 999\n")
    assert parse_val_txt(good) == {"a.JPEG": 1, "b.JPEG": 999}
    bad = tmp_path / "bad.txt"
    bad.write_text("a.JPEG 1\nb.JPEG\n")
    with pytest.raises(ToolError, match=r"bad.txt:2: expected"):
        parse_val_txt(bad)
    bad.write_text("a.JPEG 1\nb.JPEG 1000\n")
    with pytest.raises(ToolError, match=r"bad.txt:2: label 1000 is out of range"):
        parse_val_txt(bad)
    bad.write_text("a.JPEG x\n")
    with pytest.raises(ToolError, match=r"bad.txt:1: label 'x' is not an integer"):
        parse_val_txt(bad)


def test_assets_files_tsv_agrees_with_val_txt():
    from_tsv = parse_files_tsv(SMALL_SET / "FILES.tsv")
    val = parse_val_txt(IMAGENET / "labels" / "val.txt")
    assert len(from_tsv) == 20 and all(val[name] == label for name, label in from_tsv.items())
    assert find_annotations(SMALL_SET) == (SMALL_SET / "FILES.tsv").resolve()


def test_annotations_found_in_parent_labels_folder(tmp_path):
    _images(tmp_path / "sets" / "mine", ["x1.JPEG", "x2.JPEG"])
    (tmp_path / "sets" / "labels").mkdir()
    (tmp_path / "sets" / "labels" / "val.txt").write_text("x1.JPEG 3\nx2.JPEG 4\nnot_here.JPEG 5\n")
    image_sets = load_image_sets(tmp_path / "sets")  # the parent: each image subfolder is a set
    assert [s.name for s in image_sets] == ["mine"]
    assert [label for _p, label in image_sets[0].items] == [3, 4]  # a global val.txt may list more


def test_missing_dataset_and_unlabelled_or_missing_images(tmp_path):
    with pytest.raises(ToolError, match="does not exist"):
        load_image_sets(tmp_path / "nope")
    folder = tmp_path / "set"
    _images(folder, ["a.JPEG", "b.JPEG"])
    (folder / "val.txt").write_text("a.JPEG 1\nc.JPEG 2\n")  # in the folder: it lists the set
    with pytest.raises(ToolError, match=r"b.JPEG: no annotation .*--skip-bad-images"):
        load_image_set(folder)
    image_set = load_image_set(folder, skip_bad=True)
    assert [p.name for p, _l in image_set.items] == ["a.JPEG"]
    assert any("b.JPEG: no annotation" in p for p in image_set.problems)
    assert any("c.JPEG: listed in" in p and "missing" in p for p in image_set.problems)


# ---- preprocessing ----------------------------------------------------------------------------------


def test_central_crop_matches_hand_computation():
    """16x16 -> central 87.5 % = rows/cols 1..14 -> bilinear 14->7 = the mean of each 2x2 block."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = apply_geometry(image, Geometry(kind="central_crop", central_fraction=0.875), 7)
    hand = image[1:15, 1:15].astype(np.float64).reshape(7, 2, 7, 2, 3).mean(axis=(1, 3))
    assert out.shape == (7, 7, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(np.float64) - hand).max() <= 0.51  # rounding only


def test_resize_short_side_then_centre_crop_hand_computation():
    """300x400 (HxW): short side 300->256 scales by 256/300, width 400->341; centre 224 starts at 16/58."""
    ramp = np.tile(np.arange(400, dtype=np.float64) * 0.5, (300, 1))  # value = column / 2
    image = np.dstack([ramp] * 3).astype(np.uint8)
    out = apply_geometry(image, Geometry(kind="resize_short_crop", resize_short=256), 224)
    assert out.shape == (224, 224, 3)
    # output column j is resized column 58 + j, i.e. source column (58 + j + 0.5) * 400/341 - 0.5
    source_column = (58 + np.arange(224) + 0.5) * (400 / 341) - 0.5
    assert np.abs(out[112, :, 0] - source_column * 0.5).max() <= 1.0


def test_real_image_decodes_to_bgr_and_crops_like_tf_central_crop():
    path = sorted(SMALL_SET.glob("*.JPEG"))[0]
    image = decode_bgr(path)
    h, w = image.shape[:2]
    top, left = int((h - h * 0.875) / 2), int((w - w * 0.875) / 2)
    hand = cv2.resize(image[top : h - top, left : w - left], (224, 224), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(apply_geometry(image, Geometry(kind="central_crop"), 224), hand)
    assert np.array_equal(image, cv2.imread(str(path), cv2.IMREAD_COLOR))  # OpenCV's BGR order


def test_grayscale_and_cmyk_jpegs_decode_to_three_channels(tmp_path):
    from PIL import Image

    gray, cmyk = tmp_path / "gray.JPEG", tmp_path / "cmyk.JPEG"
    Image.fromarray(np.full((20, 30), 128, dtype=np.uint8), mode="L").save(gray)
    Image.new("CMYK", (30, 20), (0, 255, 255, 0)).save(cmyk)  # pure red in CMYK
    assert decode_bgr(gray).shape == (20, 30, 3)
    red = decode_bgr(cmyk)
    assert red.shape == (20, 30, 3) and red[..., 2].mean() > 200 and red[..., 0].mean() < 60


# ---- accuracy_checker configs ----------------------------------------------------------------------------


def test_every_catalogued_model_has_a_config_matching_the_catalogue():
    assert ac_config.stale_configs() == [], "run `python -m omz_mobilenet.accuracy.ac_config write`"
    for entry in load_catalogue().models:
        config = ac_config.config_for(entry)
        assert config.geometry == entry.preprocessing and config.resolution == entry.resolution
        assert config.has_background == (entry.output.classes == 1001)
        assert set(config.metrics) == {1, 5}


def test_offline_models_have_subset_references():
    for name in OFFLINE_MODELS:
        subsets = ac_config.load_subsets(name)
        assert {"val_original_20", "val_100_cropped_reencoded", "val_1300_resized_227"} <= set(subsets), name
        for ref in subsets.values():
            assert 0 <= ref.top1_hits <= ref.top5_hits <= ref.images and ref.tolerance["top1"] >= 1
            assert ref.measured["framework"] and ref.measured["date"]


def _config_with(tmp_path: Path, old: str, new: str) -> Path:
    text = ac_config.config_path("mobilenet-v1-0.25-224-tflite").read_text()
    assert old in text
    path = tmp_path / "mobilenet-v1-0.25-224-tflite.yml"
    path.write_text(text.replace(old, new))
    return path


def test_config_reader_rejects_what_it_does_not_understand(tmp_path):
    path = _config_with(
        tmp_path, "    - type: crop\n", "    - type: normalization\n      mean: 127.5\n    - type: crop\n"
    )
    with pytest.raises(ToolError, match="expected two steps"):
        ac_config.parse_config(path)
    path = _config_with(
        tmp_path,
        "    - type: crop\n      central_fraction: 0.875\n",
        "    - type: crop\n      central_fraction: 0.875\n      use_pillow: true\n",
    )
    with pytest.raises(ToolError, match=r"preprocessing\[0\]: unsupported key\(s\) use_pillow"):
        ac_config.parse_config(path)
    path = _config_with(tmp_path, "      top_k: 5\n", "      top_k: 5\n      sub_reference: 1\n")
    with pytest.raises(ToolError, match=r"metrics\[1\]: unsupported key\(s\) sub_reference"):
        ac_config.parse_config(path)
    path = _config_with(tmp_path, "framework: openvino", "framework: caffe")
    with pytest.raises(ToolError, match="only framework: openvino"):
        ac_config.parse_config(path)
    monkey_dir = tmp_path / "configs"
    monkey_dir.mkdir()
    (monkey_dir / "mobilenet-v1-0.25-224-tflite.yml").write_text(
        ac_config.config_path("mobilenet-v1-0.25-224-tflite").read_text().replace("size: 224", "size: 192")
    )
    with pytest.raises(ToolError, match="resizes to 192"):
        ac_config.config_for(load_catalogue().get("mobilenet-v1-0.25-224-tflite"), monkey_dir)


# ---- the command ------------------------------------------------------------------------------------------


def test_accuracy_cli_with_original_predictions_and_json(scratch, capsys):
    out = scratch / "acc.json"
    predictions = scratch / "pred.csv"
    code = main(
        [
            "accuracy",
            "mobilenet-v1-0.25-128-quant",
            "--dataset",
            str(SMALL_SET),
            "--original",
            "--precision",
            "INT8-ASIS,FP16",
            "--predictions",
            str(predictions),
            "--json",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    rows = json.loads(out.read_text())["records"]
    assert [r["precision"] for r in rows] == ["INT8-ASIS", "FP16"]
    for row in rows:
        assert row["images"] == 20 and row["top1_hits"] <= row["top5_hits"]
        assert row["top1_ci95"][0] <= row["top1"] <= row["top1_ci95"][1]
        assert row["original_top1"] is not None and row["top1_agreement"] >= 80
    lines = predictions.read_text().splitlines()
    assert lines[0].startswith("model,precision,device,image_set,runtime,image,label,top5")
    assert len(lines) == 1 + 2 * 2 * 20  # (IR + original) x 2 precisions x 20 images
    assert "Wilson" in capsys.readouterr().out


def test_int8_of_a_float_model_needs_its_int8_ir_first(scratch, capsys):
    code = main(
        [
            "accuracy",
            "mobilenet-v1-0.25-224-tflite",
            "--dataset",
            str(SMALL_SET),
            "--precision",
            "INT8",
            "--no-progress",
        ]
    )
    assert code == 2
    assert "--precision FP32-INT8 --calibration DIR" in capsys.readouterr().err


def test_missing_dataset_folder_is_a_clear_error(scratch, capsys):
    try:  # the shared flag validators may refuse it while parsing (argparse exits) or the command may
        code = main(["accuracy", "mobilenet-v1-0.25-224-tflite", "--dataset", str(scratch / "none")])
    except SystemExit as stop:
        code = stop.code
    assert code == 2
    assert "does not exist" in capsys.readouterr().err


def test_corrupt_and_truncated_images_stop_or_are_skipped(scratch, capsys):
    folder = scratch / "bad"
    folder.mkdir()
    sources = sorted(SMALL_SET.glob("*.JPEG"))[:3]
    for source in sources:
        shutil.copyfile(source, folder / source.name)
    (folder / sources[1].name).write_bytes(sources[1].read_bytes()[:300])  # truncated inside the header
    (folder / sources[2].name).write_bytes(b"not a jpeg at all")
    labels = parse_files_tsv(SMALL_SET / "FILES.tsv")
    (folder / "val.txt").write_text("".join(f"{s.name} {labels[s.name]}\n" for s in sources))
    args = ["accuracy", "mobilenet-v1-0.25-128-quant", "--dataset", str(folder), "--no-progress"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert sources[1].name in err and "--skip-bad-images" in err
    out = scratch / "r.json"
    assert main(args + ["--skip-bad-images", "--json", str(out)]) == 0
    row = json.loads(out.read_text())["records"][0]
    assert row["images"] == 1 and row["skipped"] == 2
    err = capsys.readouterr().err
    assert sources[1].name in err and sources[2].name in err


# ---- image-set checks (inputs/checks.py): before any work, one line, exit 2 ----------------------------


def test_annotations_are_checked_only_for_the_images_limit_uses(tmp_path):
    folder = tmp_path / "set"
    _images(folder, ["a.JPEG", "b.JPEG", "c.JPEG"])
    (folder / "val.txt").write_text("a.JPEG 1\nb.JPEG 2\n")  # c is not labelled, but --limit 2 never uses it
    image_set = load_image_set(folder, subset=2)
    assert [p.name for p, _l in image_set.items] == ["a.JPEG", "b.JPEG"] and image_set.problems == []
    with pytest.raises(ToolError, match="c.JPEG: no annotation"):
        load_image_set(folder)


def test_a_byte_order_mark_in_val_txt_does_not_unlabel_the_first_image(tmp_path):
    folder = tmp_path / "set"
    _images(folder, ["a.JPEG", "b.JPEG"])
    (folder / "val.txt").write_bytes("a.JPEG 1\nb.JPEG 2\n".encode("utf-8-sig"))
    image_set = load_image_set(folder)
    assert [(p.name, label) for p, label in image_set.items] == [("a.JPEG", 1), ("b.JPEG", 2)]
    tsv = tmp_path / "FILES.tsv"
    tsv.write_bytes("filename\tlabel_1000cls_0based\na.JPEG\t7\n".encode("utf-8-sig"))
    assert parse_files_tsv(tsv) == {"a.JPEG": 7}


def test_image_set_checks_say_no_images_and_find_corrupt_images_first(tmp_path):
    from omz_mobilenet.inputs.checks import check_image_folder, check_image_set, unreadable_images

    empty = tmp_path / "empty"
    empty.mkdir()
    for check in (lambda: check_image_set(empty), lambda: check_image_folder(empty)):
        with pytest.raises(ToolError, match=f"no images in {empty}") as raised:
            check()
        assert raised.value.exit_code == 2
    folder = tmp_path / "set"
    _images(folder, ["a.JPEG", "b.JPEG"])
    (folder / "c.JPEG").write_bytes(b"not a jpeg")
    (folder / "val.txt").write_text("a.JPEG 1\nb.JPEG 2\nc.JPEG 3\n")
    assert len(unreadable_images(sorted(folder.glob("*.JPEG")))) == 1
    with pytest.raises(ToolError, match=r"c.JPEG cannot be decoded.*--skip-bad-images"):
        check_image_set(folder)
    [image_set] = check_image_set(folder, skip_bad=True)
    assert [p.name for p, _l in image_set.items] == ["a.JPEG", "b.JPEG"] and len(image_set.problems) == 1
    [limited] = check_image_set(folder, limit=2)  # the corrupt image is not among the two used
    assert len(limited.items) == 2
    with pytest.raises(ToolError, match="annotation file .* does not exist"):
        check_image_set(folder, annotations=tmp_path / "nope.txt")


def test_accuracy_table_leads_with_top1_interval_and_top5_at_100_columns(scratch, cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, err = cli(
        "accuracy", "mobilenet-v1-0.25-224-tflite", "--dataset", SMALL_SET, "--limit", "4", "--no-progress"
    )
    assert code == 0, err
    header = next(line for line in out.splitlines() if "model" in line)
    for column in ("Top-1 [CI]", "Top-5", "images", "skipped", "status"):
        assert column in header, out
    assert header.index("Top-1") < header.index("Top-5") < header.index("images") < header.index("skipped")
    assert all(len(line) <= 100 for line in out.splitlines()), out
