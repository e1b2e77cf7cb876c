"""models.yml: every seeded model is there, the schema rejects bad entries clearly, `list` is light."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from omz_mobilenet.catalogue import load_catalogue
from tests.helpers.catalogue_edit import raw_catalogue

V1_VARIANTS = [f"mobilenet-v1-{a}-{r}" for a in ("1.0", "0.75", "0.50", "0.25") for r in (224, 192, 160, 128)]
REQUIRED = V1_VARIANTS + [
    "mobilenet-v2-1.0-224",
    "mobilenet-v2-1.0-224-int8",
    "mobilenetv2-7",
    "mobilenet-v2-1.0-224-quant",
    "mobilenet-v1-0.25-224-quant",
    "mobilenet-v1-0.50-160-quant",
    "mobilenet-v1-0.25-128-quant",
    "mobilenet-v1-0.75-192-quant",
    "mobilenet-v1-0.25-224-tflite",
    "mobilenetv2-12-int8",
]


def test_every_seeded_and_offline_model_is_catalogued():
    names = load_catalogue().names()
    assert sorted(set(REQUIRED) - set(names)) == []
    assert len(names) == len(set(names))


def test_entries_carry_what_users_pick_by():
    for entry in load_catalogue().models:
        assert entry.converted_input.layout == "NCHW" and entry.converted_input.color == "BGR"
        assert entry.output.classes in (1000, 1001)
        assert entry.gflops > 0 and entry.mparams > 0 and entry.license.name
        for src in entry.files:
            assert src.checksum is not None or src.checksum_note


def test_omz_reference_figures():
    v2 = load_catalogue().get("mobilenet-v2-1.0-224")
    assert (v2.gflops, v2.mparams, v2.accuracy.top1, v2.accuracy.top5) == (0.615, 3.489, 71.85, 90.69)
    assert v2.files[0].checksum.algorithm == "sha384"
    assert v2.original_input.mean == [127.5] * 3 and v2.original_input.color == "RGB"


def _bad_catalogue(tmp_path, monkeypatch, text: str):
    path = tmp_path / "models.yml"
    path.write_text(text)
    monkeypatch.setenv("OMZ_MOBILENET_MODELS_YML", str(path))
    return path


def _mutated(mutate) -> str:
    data = raw_catalogue()
    mutate(data["models"])
    return yaml.safe_dump(data, sort_keys=False)


BAD = {
    "unknown key": (lambda ms: ms[3].update(colour="RGB"), ["mobilenet-v1-1.0-128", "colour", "Extra inputs"]),
    "missing field": (lambda ms: ms[0].pop("gflops"), ["mobilenet-v1-1.0-224", "gflops", "required"]),
    "bad layout": (lambda ms: ms[1]["original_input"].update(layout="HWCN"), ["original_input.layout"]),
    "duplicate": (lambda ms: ms.append(dict(ms[0])), ["duplicate model name 'mobilenet-v1-1.0-224'"]),
    "not http": (
        lambda ms: ms[0]["files"][0].update(sources=["ftp://x/y.tgz"]),
        ["files.0.sources", "not an http(s) or file:// URL"],
    ),
    "checksum length": (lambda ms: ms[0]["files"][0]["checksum"].update(value="abc"), ["96 lowercase hex"]),
    "wrong type": (lambda ms: ms[0].update(mparams="many"), ["mparams"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_catalogue_is_one_clear_line(case, tmp_path, monkeypatch, cli):
    mutate, expected = BAD[case]
    path = _bad_catalogue(tmp_path, monkeypatch, _mutated(mutate))
    code, out, err = cli("list")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and str(path) in err
    for fragment in expected:
        assert fragment in err


def test_schema_error_points_at_the_entry_line(tmp_path, monkeypatch, cli):
    text = _mutated(lambda ms: ms[2].update(colour="RGB"))
    _bad_catalogue(tmp_path, monkeypatch, text)
    line = text.splitlines().index("- name: mobilenet-v1-1.0-160") + 1
    code, _out, err = cli("list")
    assert code == 2 and f"models.yml:{line}:" in err


def test_yaml_syntax_error_names_the_line(tmp_path, monkeypatch, cli):
    _bad_catalogue(tmp_path, monkeypatch, "models:\n  - name: x\n    files: [a, b\n  - name: y\n")
    code, _out, err = cli("list")
    assert code == 2 and "YAML syntax error" in err and "models.yml:" in err


def test_unknown_model_suggests_close_names(cli):
    code, _out, err = cli("info", "mobilenet-v2-1.0-22")
    assert code == 2 and "Did you mean: mobilenet-v2-1.0-224" in err


def test_list_json_and_info(cli):
    code, out, _ = cli("list", "--json")
    assert code == 0 and len(json.loads(out)["records"]) == len(load_catalogue().models)
    code, out, _ = cli("info", "mobilenetv2-7", "--json")
    info = json.loads(out)["records"][0]
    assert code == 0 and info["output"]["classes"] == 1000 and info["preprocessing"]["kind"] == "resize_short_crop"


def test_list_imports_no_heavy_framework():
    probe = (
        "import sys; from omz_mobilenet.cli import main; main(['list', '--json']);"
        "heavy = [m for m in ('tensorflow', 'openvino', 'nncf', 'onnxruntime', 'cv2') if m in sys.modules];"
        "print('HEAVY', heavy, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "HEAVY []" in result.stderr
