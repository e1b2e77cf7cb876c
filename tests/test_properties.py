"""Property-based tests (hypothesis) of the catalogue loader: whatever the file holds (random text,
YAML-looking noise, random YAML structures, a real entry with one part replaced, removed or added),
`load_catalogue` returns a valid Catalogue or raises a one-line ToolError; never another exception."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omz_mobilenet.catalogue import Catalogue, load_catalogue
from omz_mobilenet.errors import ToolError
from tests.helpers.catalogue_edit import raw_catalogue

COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REAL = raw_catalogue()
ENTRIES = REAL["models"][:3]
_DIR = Path(tempfile.mkdtemp(prefix="omz-props-"))


def _load(content: str | bytes):
    path = _DIR / "models.yml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    try:
        result = load_catalogue(path)
    except ToolError as exc:
        assert exc.exit_code == 2
        assert exc.message and "\n" not in exc.message.strip(), exc.message
        assert str(path) in exc.message, exc.message
        return None
    assert isinstance(result, Catalogue)
    return result


@COMMON
@given(st.binary(max_size=400))
def test_random_bytes(data):
    _load(data)


TOKENS = [
    "models:",
    "models: ",
    "- ",
    "  ",
    "\n",
    ":",
    "{",
    "}",
    "[",
    "]",
    ",",
    "name: ",
    "files:",
    "sources: ",
    "'",
    '"',
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "!!binary ",
    "2001-02-28",
    "1e999",
    ".nan",
    "~",
    "null",
    "yes",
    "0x1F",
    "- name: x",
    "checksum: {algorithm: sha256, value: ",
    "http://h/x",
    "ftp://h/x",
    "#",
    "? ",
    "|",
    ">",
    "%YAML 1.1\n",
    "---\n",
    "...\n",
    "\t",
    "<<: *a",
    "models: [",
    "- {name: ",
    "size: -1",
    "1:",
]


@COMMON
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=40))
def test_yaml_looking_noise(pieces):
    _load("".join(pieces))


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
# Mapping keys without control or line-separator characters: a key with a newline makes a two-line
# message (see test_key_with_a_newline_stays_one_line below).
KEYS = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=10)
TREES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.integers(), inner, max_size=4),
    max_leaves=25,
)


@COMMON
@given(TREES)
def test_random_structures(tree):
    _load(yaml.safe_dump(tree))


@COMMON
@given(st.lists(TREES, max_size=3))
def test_random_models_lists(models):
    _load(yaml.safe_dump({"models": models}))


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


@st.composite
def mutated_catalogues(draw):
    data = {**copy.deepcopy(REAL), "models": copy.deepcopy(ENTRIES)}
    paths = list(_paths(data["models"]))[1:]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths))
        parent = data["models"]
        try:
            for key in path[:-1]:
                parent = parent[key]
            action = draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(TREES)
            elif action == "delete":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(KEYS.filter(bool))] = draw(SCALARS)
            else:
                parent.append(draw(TREES))
        except (KeyError, IndexError, TypeError, AttributeError):
            pass  # an earlier mutation removed or replaced this path
    if draw(st.booleans()):
        data["models"].append(copy.deepcopy(data["models"][0]) if data["models"] else {})
    return data


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_catalogues())
def test_real_entries_with_random_damage(data):
    _load(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


# yaml.safe_load raises ValueError (not YAMLError) for an invalid date or an explicit !!int/!!float
# tag it cannot convert, and RecursionError for very deep nesting; load_catalogue turns both into
# one-line errors.
CONSTRUCTOR_BREAKERS = ["models: 2001-02-30", "models:\n- a: !!int x", "models: !!float x", "models: " + "[" * 3000]


@pytest.mark.parametrize("text", CONSTRUCTOR_BREAKERS, ids=["bad-date", "bad-int-tag", "bad-float-tag", "deep-nesting"])
def test_yaml_values_the_constructor_cannot_build(text):
    _load(text)


def test_key_with_a_newline_stays_one_line():
    entry = copy.deepcopy(ENTRIES[0])
    entry["colour\nx"] = "RGB"
    _load(yaml.safe_dump({"models": [entry]}))


def test_the_real_catalogue_and_its_subsets_load():
    assert len(_load(yaml.safe_dump(REAL, sort_keys=False)).models) == len(REAL["models"])
    assert _load(yaml.safe_dump({**REAL, "models": ENTRIES}, sort_keys=False)) is not None


# --- the shared validators and the sweep spec: a value or one line, and the same line for a flag and a key ---

from omz_mobilenet import validators  # noqa: E402
from omz_mobilenet.sweep.spec import load_spec  # noqa: E402

NUMERIC = [
    validators.positive_int,
    validators.non_negative_int,
    validators.batch,
    validators.positive_float,
    validators.percent,
    validators.hint,
    validators.device,
]
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(["0", "-0", "nan", "inf", "1e309", "9" * 5000, "\udcff", " 3 ", "3.0"]),
)


@COMMON
@given(value=VALUES, index=st.integers(0, len(NUMERIC) - 1))
def test_a_validator_returns_a_value_or_refuses_in_one_line(value, index):
    validator = NUMERIC[index]
    try:
        parsed = validator(value)
    except validators.BadValue as exc:
        assert "\n" not in str(exc) and str(exc)
        return
    if validator in (validators.positive_int, validators.batch):
        assert isinstance(parsed, int) and parsed >= 1
    if validator is validators.positive_float:
        assert 0 < parsed < float("inf")
    if validator is validators.percent:
        assert 0 <= parsed <= 100


SPEC_KEYS = {"limit": "--limit", "time": "--time", "rounds": "--rounds", "min_images": "--min-images"}


@COMMON
@given(key=st.sampled_from(sorted(SPEC_KEYS)), value=VALUES)
def test_a_spec_value_gets_its_flags_words(key, value):
    from omz_mobilenet.cli import build_parser

    path = _DIR / "spec.yml"
    path.write_text(yaml.safe_dump({key: value}, allow_unicode=True), encoding="utf-8", errors="surrogatepass")
    try:
        load_spec(path)
        spec_message = None
    except ToolError as exc:
        assert exc.exit_code == 2 and "\n" not in exc.message and "ValidationError" not in exc.message
        spec_message = exc.message.split(f"{key}: ", 1)[-1]
    flag = SPEC_KEYS[key]
    sweep = next(a for a in build_parser()._actions if a.dest == "command").choices["sweep"]
    action = next(a for a in sweep._actions if flag in a.option_strings)
    text = value if isinstance(value, str) else yaml.safe_load(yaml.safe_dump(value))
    if value is None or spec_message is None and not isinstance(value, str):
        return  # null leaves the default; YAML's own types (3.0, true) are not flag text
    try:
        action.type(str(text))
        flag_message = None
    except validators.BadValue as exc:
        flag_message = str(exc)
    if isinstance(value, str) and spec_message is not None:
        assert spec_message == flag_message, (value, spec_message, flag_message)


@COMMON
@given(raw=st.binary(max_size=200))
def test_any_spec_file_loads_or_is_one_line(raw):
    path = _DIR / "spec.yml"
    path.write_bytes(raw)
    try:
        load_spec(path)
    except ToolError as exc:
        assert exc.exit_code == 2 and "\n" not in exc.message
