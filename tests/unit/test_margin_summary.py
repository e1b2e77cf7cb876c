"""`info`'s one line on an INT8-RQ IR's margin record (convert/calibration.margin_summary)."""

from omz_mobilenet.convert.calibration import margin_summary

CHECKED = {
    "checked": True,
    "max_drop": 0.5,
    "method": "accuracy-control",
    "validation_images": 300,
    "original_top1": 81.0,
    "original_runtime": "ONNX Runtime 1.32.0",
    "top1": 80.33,
    "within": False,
    "kept_float": ["Convolution_161"],
}


def test_a_failed_margin_says_not_within_with_both_top1_values():
    text = margin_summary(CHECKED)
    assert text == (
        "accuracy-control: Top-1 80.33 against the original's 81.00 (ONNX Runtime 1.32.0) on 300 held-out "
        "images: NOT within 0.5 points; kept in float: 1 layer(s)"
    )


def test_a_held_margin_says_within():
    text = margin_summary({**CHECKED, "method": "keep-ranges", "top1": 81.0, "within": True, "kept_float": []})
    assert text is not None and text.endswith("held-out images: within 0.5 points")


def test_an_unchecked_margin_is_never_reported_as_held():
    text = margin_summary({"checked": False, "method": "keep-ranges", "top1": None, "within": False})
    assert text == "keep-ranges: UNCHECKED (no labelled held-out images in the calibration folder)"


def test_no_record_no_line():
    assert margin_summary(None) is None and margin_summary({}) is None
