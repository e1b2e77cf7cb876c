"""Device strings and compile configs that must fail in one line (exit 2), without a C++ trace.
Absent GPU/NPU/HETERO/unknown names are in test_bench.py; this adds malformed strings, absent
devices behind AUTO/MULTI, and invalid config keys and values."""

from __future__ import annotations

import pytest

from omz_mobilenet.cli import main
from omz_mobilenet.convert.ir_store import ir_xml
from omz_mobilenet.errors import ToolError
from tests.helpers.paths import ASSETS

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

QUANT = "mobilenet-v1-0.25-128-quant"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("devices")
    locations = ["--mirror", str(ASSETS), "--cache-dir", str(root / "cache"), "-o", str(root / "ir")]
    assert main(["convert", QUANT, *locations]) == 0
    return root, locations


def _one_line(capsys, rc) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    assert err and err[-1].startswith("omz-mobilenet: error:") and not any("Traceback" in line for line in err), err
    return err[-1]


@pytest.mark.parametrize(
    "device, expected",
    [
        ("CPU::", "CPU plugin supports only"),
        ("CPU.5", "CPU plugin supports only"),
        ("cpu", "is not available here"),
        ("GPU.1", "is not available here"),
        ("AUTO:GPU,NPU", "is not available here"),
        ("MULTI:NPU,CPU", "is not available here"),
        ("HETERO:", "is not available here"),
        ("CPU,GPU", "is not available here"),
    ],
)
def test_malformed_or_absent_device_is_one_line(dirs, capsys, device, expected):
    _root, locations = dirs
    rc = main(["bench", QUANT, "--device", device, "--niter", "2", "--warmup", "0", *locations])
    assert expected in _one_line(capsys, rc)


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({"NOT_A_KEY": "1"}, "Unsupported property NOT_A_KEY"),
        ({"PERFORMANCE_HINT": "FASTEST"}, "PERFORMANCE_HINT"),
        ({"NUM_STREAMS": "many"}, "number of streams"),
        ({"INFERENCE_NUM_THREADS": -3}, "INFERENCE_NUM_THREADS"),
    ],
)
def test_invalid_config_key_or_value_is_a_usage_error(dirs, extra, expected):
    from omz_mobilenet.runtime import compile_ir, new_core

    root, _locations = dirs
    with pytest.raises(ToolError) as info:
        compile_ir(new_core(), ir_xml(root / "ir", QUANT, "FP32"), "CPU", "f32", extra)
    assert info.value.exit_code == 2 and expected in info.value.message
    assert "\n" not in info.value.message


def test_an_empty_device_is_refused_by_the_parser_in_one_line(dirs, capsys):
    _root, locations = dirs
    with pytest.raises(SystemExit) as info:
        main(["bench", QUANT, "--device", "", "--niter", "2", *locations])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1 and "--device" in err[0] and "(got '')" in err[0], err


def test_invalid_infer_precision_is_refused_by_the_parser(dirs, capsys):
    _root, locations = dirs
    with pytest.raises(SystemExit) as info:
        main(["bench", QUANT, "--infer-precision", "f8", *locations])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err
