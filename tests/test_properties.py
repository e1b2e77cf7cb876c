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
    "models:", "models: ", "- ", "  ", "\n", ":", "{", "}", "[", "]", ",", "name: ", "files:", "sources: ", "'",
    '"', "&a ", "*a", "!!python/object:os.system ", "!!binary ", "2001-02-28", "1e999", ".nan", "~", "null",
    "yes", "0x1F", "- name: x", "checksum: {algorithm: sha256, value: ", "http://h/x", "ftp://h/x", "#", "? ",
    "|", ">", "%YAML 1.1\n", "---\n", "...\n", "\t", "<<: *a", "models: [", "- {name: ", "size: -1", "1:",
]


@COMMON
@given(st.lists(st.sampled_from(TOKENS) | st.text(max_size=8), max_size=40))
def test_yaml_looking_noise(pieces):
    _load("".join(pieces))


SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20)
# Mapping keys without control or line-separator characters: a key with a newline makes a two-line
# message (see test_key_with_a_newline_stays_one_line below).
KEYS = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=10)
TREES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.integers(), inner, max_size=4), max_leaves=25)


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
