"""accuracy_checker configs and `-s ROOT` folders for a model with its own labels (issue 19 item 4).

The user's model is tests/helpers/own_model.py's (a real MobileNetV2 cut to 40 ImageNet classes, labels in
ImageNet index order, so the class folders' alphabetical order is not the output order), described by
`add` in a user catalogue. The proof that the config and ROOT name the right labels: accuracy_checker's
pipeline written out from its source (cv2.imread, resize `greater`, crop, the IR at f32, the `imagenet`
converter's `label + has_background`) on ROOT gives, image by image, the hits `accuracy --crop-rule
accuracy-checker` counts on the ImageFolder.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from tests.helpers.paths import IMAGES, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "own-v2"


@pytest.fixture()
def user(own_model, mirror, cli, tmp_path, monkeypatch):
    """A user repository: my-models.yml with the own TFLite model (added by `add`), OMZ_MOBILENET_CATALOGUE set."""
    catalogue = tmp_path / "repo" / "my-models.yml"
    catalogue.parent.mkdir()
    flags = ["--mean", "127.5,127.5,127.5", "--scale", "127.5,127.5,127.5", "--color", "rgb"]
    code, _out, err = cli(
        "add",
        own_model.tflite,
        "--name",
        MODEL,
        "--catalogue",
        catalogue,
        "--labels",
        own_model.labels,
        *flags,
        "--resize-short",
        256,
        "--crop",
        224,
    )
    assert code == 0, err
    monkeypatch.setenv("OMZ_MOBILENET_CATALOGUE", str(catalogue))
    return catalogue


def _entry(name: str = MODEL):
    from omz_mobilenet.catalogue import load_catalogue

    return load_catalogue().get(name)


def test_user_config_is_written_beside_the_user_catalogue_valid_and_names_its_labels(user, own_model, tmp_path):
    from omz_mobilenet.accuracy import ac_config

    package_configs = {p.name: p.read_text() for p in ac_config.configs_dir().glob("*.yml")}
    assert ac_config.main(["write", MODEL]) == 0
    path = user.parent / "accuracy_checker_configs" / f"{MODEL}.yml"
    assert path.is_file()
    assert {p.name: p.read_text() for p in ac_config.configs_dir().glob("*.yml")} == package_configs
    config = ac_config.config_for(_entry())  # parses it with every check of ac_checks, then against the entry
    assert config.path == path and config.has_background is False and config.resolution == 224
    assert config.dataset_meta_file == "dataset_meta.json" and config.data_source == "images"
    assert all(metric.reference is None for metric in config.metrics.values())  # no published accuracy
    dataset = yaml.safe_load(path.read_text())["models"][0]["datasets"][0]
    assert dataset["name"] == f"{MODEL}_40_classes"
    assert dataset["annotation_conversion"] == {
        "converter": "imagenet",
        "annotation_file": "val.txt",
        "dataset_meta_file": "dataset_meta.json",
        "has_background": False,
    }
    assert dataset["preprocessing"][0] == {
        "type": "resize",
        "size": 256,
        "aspect_ratio_scale": "greater",
        "interpolation": "LINEAR",
    }
    assert "the 40 classes of\n# labels.txt" in path.read_text()
    assert ac_config.main(["check"]) == 0
    # --out DIR: where the user says
    assert ac_config.main(["write", MODEL, "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / f"{MODEL}.yml").read_text() == path.read_text()
    assert ac_config.main(["write", "no-such-model", "--out", str(tmp_path / "x")]) == 2
    (tmp_path / "a-file").write_text("")
    assert ac_config.main(["write", MODEL, "--out", str(tmp_path / "a-file")]) == 2  # one line, no traceback


def test_a_stale_user_config_is_found_and_one_without_its_label_map_refused(user, tmp_path):
    from omz_mobilenet.accuracy import ac_config
    from omz_mobilenet.errors import ToolError

    assert ac_config.main(["check", MODEL]) == 1  # never written
    [path] = ac_config.write_configs(names=[MODEL])
    assert ac_config.main(["check", MODEL]) == 0
    path.write_text(path.read_text().replace("      dataset_meta_file: dataset_meta.json\n", ""))
    assert ac_config.main(["check", MODEL]) == 1
    with pytest.raises(ToolError, match="no dataset_meta_file, but own-v2 has its own labels"):
        ac_config.config_for(_entry())


def _val(root: Path) -> dict[str, int]:
    return {name: int(label) for name, label in (line.split() for line in (root / "val.txt").read_text().splitlines())}


def test_ac_dataset_maps_class_folders_and_csv_names_to_the_models_label_indices(user, own_model, cli, tmp_path):
    labels = own_model.labels.read_text().splitlines()
    code, out, err = cli("ac-dataset", own_model.imagefolder, "-o", tmp_path / "root", "--model", MODEL)
    assert code == 0, err
    root = tmp_path / "root"
    assert sorted(p.name for p in root.iterdir()) == ["dataset_meta.json", "images", "val.txt"]
    assert json.loads((root / "dataset_meta.json").read_text()) == {"labels": labels}
    val = _val(root)
    by_class = {}
    for link in (root / "images").iterdir():
        target = Path(link.resolve())
        class_name, file_name = link.name.split("__")
        assert class_name.replace("_", " ") in labels or class_name in labels
        by_class[file_name] = labels[val[link.name]]
        assert target.name == file_name and target.is_file()
    # every image's index is its class folder's line in labels.txt (not the folders' alphabetical order)
    folders = {p.name: c.name for c in own_model.imagefolder.iterdir() for p in c.iterdir()}
    assert by_class == folders and len(val) == len(folders)
    assert sorted(c.name for c in own_model.imagefolder.iterdir()) != labels
    assert f"accuracy_check -c {user.parent / 'accuracy_checker_configs' / (MODEL + '.yml')}" in out
    # the CSV of names and the CSV of indices give the same labels
    for ground_truth in (own_model.csv, own_model.csv_index):
        target = tmp_path / ground_truth.stem
        code, _out, err = cli(
            "ac-dataset", own_model.csv_images, "-o", target, "--model", MODEL, "--annotations", ground_truth
        )
        assert code == 0, err
        assert {name: labels[index] for name, index in _val(target).items()} == folders


def test_ac_dataset_refuses_class_names_without_a_model_and_classes_the_labels_do_not_name(
    user, own_model, cli, tmp_path
):
    code, _out, err = cli("ac-dataset", own_model.imagefolder, "-o", tmp_path / "root")
    assert code == 2 and len(error_lines(err)) == 1 and "pass --model NAME" in err
    stray = tmp_path / "folder"
    for class_folder in list(own_model.imagefolder.iterdir())[:2]:
        (stray / class_folder.name).mkdir(parents=True)
        for image in class_folder.iterdir():
            (stray / class_folder.name / image.name).symlink_to(image.resolve())
    (stray / "dandelion").mkdir()
    (stray / "dandelion" / "x.JPEG").symlink_to(next((own_model.imagefolder).rglob("*.JPEG")).resolve())
    code, _out, err = cli("ac-dataset", stray, "-o", tmp_path / "root", "--model", MODEL)
    assert code == 2 and len(error_lines(err)) == 1 and "'dandelion'" in err and "labels.txt" in err
    assert not (tmp_path / "root").exists() and not list(tmp_path.glob(".root.partial-*"))


def test_background_variant_shifts_by_one_in_the_converter_not_in_val_txt(user, own_model, cli, tmp_path):
    """A model whose output 0 is a background class: val.txt keeps labels-file indices, the config says
    has_background and accuracy_checker's +1 lands on the output our own truth mapping uses."""
    from omz_mobilenet.accuracy import ac_config
    from omz_mobilenet.accuracy.ac_dataset import flat_name
    from omz_mobilenet.inputs.dataset import load_image_set, relative_name
    from omz_mobilenet.inputs.labels import label_space, output_labels
    from omz_mobilenet.settings import Settings

    raw = yaml.safe_load(user.read_text())
    background = json.loads(json.dumps(raw["models"][0]))
    background.update(name="own-v2-bg", output=dict(background["output"], classes=41, background=True))
    raw["models"].append(background)
    user.write_text(yaml.safe_dump(raw, sort_keys=False))
    entry = _entry("own-v2-bg")
    config = ac_config.config_for(entry)
    assert config.has_background is True and config.dataset_meta_file == "dataset_meta.json"
    assert cli("ac-dataset", own_model.imagefolder, "-o", tmp_path / "bg", "--model", "own-v2-bg")[0] == 0
    assert cli("ac-dataset", own_model.imagefolder, "-o", tmp_path / "plain", "--model", MODEL)[0] == 0
    assert _val(tmp_path / "bg") == _val(tmp_path / "plain")
    image_set = load_image_set(own_model.imagefolder)
    truth = output_labels(image_set, label_space(entry, Settings.resolve()))

    val = _val(tmp_path / "bg")
    for (path, _label), output in zip(image_set.items, truth, strict=True):
        assert val[flat_name(relative_name(path, image_set.folder))] + 1 == output


def test_imagenet_model_keeps_the_imagenet_layout_and_maps_synset_folders(mirror, cli, tmp_path):
    """A built-in model (ImageNet labels) on an ImageFolder named by synset id: ILSVRC layout, val.txt
    equal to the set's own FILES.tsv labels."""
    source = IMAGES / "val_original_20"
    rows = list(csv.DictReader((source / "FILES.tsv").open(encoding="utf-8"), delimiter="\t"))
    folder = tmp_path / "synsets"
    for row in rows:
        (folder / row["synset"]).mkdir(parents=True, exist_ok=True)
        (folder / row["synset"] / row["filename"]).symlink_to(source / row["filename"])
    code, _out, err = cli("ac-dataset", folder, "-o", tmp_path / "root", "--model", "mobilenet-v1-0.25-224-tflite")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["ILSVRC2012_img_val", "val.txt"]
    expected = {f"{row['synset']}__{row['filename']}": int(row["label_1000cls_0based"]) for row in rows}
    assert _val(tmp_path / "root") == expected


def _accuracy_checker_top1(xml: Path, config_path: Path, root: Path) -> dict[str, tuple[int, int]]:
    """accuracy_checker's pipeline on ROOT, from its source: the `imagenet` converter (label + has_background),
    cv2.imread, resize `greater` (long side int(size * long / short)), crop (h - size) // 2, the IR at f32,
    top-1 = np.argpartition(scores, -1)[-1]. image -> (top-1, annotation label)."""
    import openvino as ov

    dataset = yaml.safe_load(config_path.read_text())["models"][0]["datasets"][0]
    shift = int(dataset["annotation_conversion"]["has_background"])
    resize, crop = dataset["preprocessing"]
    assert resize["aspect_ratio_scale"] == "greater" and resize["interpolation"] == "LINEAR"
    core = ov.Core()
    compiled = core.compile_model(core.read_model(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    request = compiled.create_infer_request()
    found = {}
    for name, label in _val(root).items():
        image = cv2.imread(str(root / dataset["data_source"] / name))
        h, w = image.shape[:2]
        size = resize["size"]
        new_w, new_h = (int(size * w / h), size) if w >= h else (size, int(size * h / w))
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        top, left = (new_h - crop["size"]) // 2, (new_w - crop["size"]) // 2
        image = image[top : top + crop["size"], left : left + crop["size"]]
        scores = request.infer({0: image.transpose(2, 0, 1)[None]})[0].reshape(-1)
        found[name] = (int(np.argpartition(scores, -1)[-1]), label + shift)
    return found


def test_accuracy_checker_pipeline_on_the_ac_dataset_gives_accuracys_hits_image_by_image(
    user, own_model, mirror, cli, tmp_path
):
    from omz_mobilenet.accuracy import ac_config
    from omz_mobilenet.accuracy.ac_dataset import flat_name

    _cache, out = mirror
    assert cli("convert", MODEL, "--precisions", "FP32", "--no-progress")[0] == 0
    predictions = tmp_path / "predictions.csv"
    code, _out, err = cli(
        "accuracy",
        MODEL,
        "--dataset",
        own_model.imagefolder,
        "--crop-rule",
        "accuracy-checker",
        "--predictions",
        predictions,
        "--no-progress",
    )
    assert code == 0, err
    ours = {flat_name(row["image"]): row for row in csv.DictReader(predictions.open(encoding="utf-8"))}
    [config] = ac_config.write_configs(names=[MODEL])
    assert cli("ac-dataset", own_model.imagefolder, "-o", tmp_path / "root", "--model", MODEL)[0] == 0
    reference = _accuracy_checker_top1(out / MODEL / "FP32" / f"{MODEL}.xml", config, tmp_path / "root")
    assert set(reference) == set(ours) and len(ours) == own_model.image_count
    for name, (top1, label) in reference.items():
        assert label == int(ours[name]["label"]), name  # the same ground truth in the model's outputs
        assert top1 == int(ours[name]["top1"]), name  # the same pixels and tie rule
    hits = sum(top1 == label for top1, label in reference.values())
    assert hits == sum(row["top1_correct"] == "True" for row in ours.values())
    assert hits >= 0.9 * len(reference)  # the cut model means something on its classes' images
