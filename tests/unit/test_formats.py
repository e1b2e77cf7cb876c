"""The one format table: every catalogue format has a module with a driver and a reference runner,
and a format missing from the table is an error naming it, never another format's driver."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from omz_mobilenet.catalogue import load_catalogue
from omz_mobilenet.converters import FORMATS, open_reference, read_original, source_format
from omz_mobilenet.errors import ToolError


def test_every_format_module_has_driver_and_reference_runner():
    for fmt in FORMATS.values():
        module = importlib.import_module(f"omz_mobilenet.converters.{fmt.module}")
        assert callable(module.read) and callable(module.open_reference), fmt.name


def test_catalogue_formats_are_all_in_the_table_and_framework_is_derived_from_it():
    for entry in load_catalogue().models:
        assert source_format(entry.format).framework == entry.framework


def test_an_unknown_format_is_an_error_naming_it(tmp_path):
    entry = load_catalogue().models[0].model_copy(update={"format": "caffe"})
    for call in (lambda: read_original(entry, tmp_path / "x"), lambda: source_format("caffe")):
        with pytest.raises(ToolError) as info:
            call()
        assert "caffe" in info.value.message and info.value.exit_code == 2
    (tmp_path / "x").write_bytes(b"")
    with pytest.raises(ToolError, match="caffe"):
        open_reference(entry, Path(tmp_path / "x"))
