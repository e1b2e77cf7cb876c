"""Property-based tests of the annotation parsers: any input gives a valid result or one clear error."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from omz_mobilenet.errors import ToolError
from omz_mobilenet.inputs.dataset import NUM_CLASSES, load_annotations, parse_csv

NAMES = st.from_regex(r"ILSVRC2012_val_000[0-9]{5}\.JPEG", fullmatch=True)
GOOD_LINE = st.builds(lambda n, label: f"{n} {label}", NAMES, st.integers(0, NUM_CLASSES - 1))
NOISE_LINE = st.one_of(
    st.text(max_size=60),
    st.builds(lambda n, label: f"{n} {label}", NAMES, st.integers(-5, 2000)),
    st.builds(lambda n, x: f"{n}\t{x}", NAMES, st.text(max_size=8)),
    st.just("# a comment"),
    st.just(""),
)


def _parse(content: bytes, suffix: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"annotations{suffix}"
        path.write_bytes(content)
        try:
            return parse_csv(path) if suffix == ".csv" else load_annotations(path)
        except ToolError as exc:
            assert "\n" not in exc.message and str(path) in exc.message
            assert exc.exit_code == 2
            return None


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(GOOD_LINE, NOISE_LINE), max_size=30))
def test_val_txt_never_tracebacks(lines):
    result = _parse("\n".join(lines).encode("utf-8", "surrogatepass"), ".txt")
    if result is not None:
        assert all(0 <= label < NUM_CLASSES for label in result.labels.values())


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([".txt", ".tsv", ".csv"]))
def test_random_bytes_never_traceback(content, suffix):
    _parse(content, suffix)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(NAMES, st.text(max_size=6)), max_size=20))
def test_files_tsv_never_tracebacks(rows):
    header = "filename\tsize_bytes\tsha256\tlabel_1000cls_0based\n"
    body = "".join(f"{name}\t1\tx\t{label}\n" for name, label in rows)
    result = _parse((header + body).encode("utf-8", "surrogatepass"), ".tsv")
    if result is not None:
        assert set(result.labels) <= {name for name, _ in rows}


@given(st.lists(GOOD_LINE, min_size=1, max_size=30, unique_by=lambda line: line.split()[0]))
def test_well_formed_files_parse_exactly(lines):
    result = _parse("\n".join(lines).encode(), ".txt")
    assert result is not None
    assert result.labels == {line.split()[0]: int(line.split()[1]) for line in lines}


CSV_LABEL = st.one_of(
    st.integers(-3, 2000).map(str), st.from_regex(r"[a-z][a-z ,]{0,12}", fullmatch=True), st.text(max_size=8)
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=12), CSV_LABEL), max_size=20), st.booleans())
def test_csv_never_tracebacks(rows, swap_columns):
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["label", "filename"] if swap_columns else ["filename", "label"])
    writer.writerows([(label, name) if swap_columns else (name, label) for name, label in rows])
    result = _parse(buffer.getvalue().encode("utf-8", "surrogatepass"), ".csv")
    if result is not None:
        assert result.labels and all(label >= 0 for label in result.labels.values())
        if result.class_names is not None:
            assert all(0 <= label < len(result.class_names) for label in result.labels.values())


@given(
    st.lists(
        st.tuples(NAMES, st.sampled_from(["cat", "dog", "sea snake, Hydrophis"])),
        min_size=1,
        max_size=20,
        unique_by=lambda row: row[0],
    )
)
def test_csv_of_names_parses_exactly(rows):
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows([("filename", "label"), *rows])
    result = _parse(buffer.getvalue().encode(), ".csv")
    assert result is not None and result.class_names is not None
    assert {name: result.class_names[label] for name, label in result.labels.items()} == dict(rows)
