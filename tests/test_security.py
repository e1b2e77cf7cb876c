"""Security rules, checked on the source and through the CLI:
- no `shell=True`, no pickle (or marshal/shelve/dill, np.load(allow_pickle=True)), no eval/exec,
  no yaml.load without a safe loader, tar extraction only with the "data" filter;
- `download` reads local files only from the cache or the mirror the user named: `file://` is
  accepted only as --mirror (as a folder), other mirror schemes are refused, catalogue sources must
  be http(s), and an archive member cannot point outside the unpacked archive.
"""

from __future__ import annotations

import ast

import pytest

from tests.helpers.catalogue_edit import REPO, edited_catalogue
from tests.helpers.paths import ASSETS, error_lines

pytestmark = pytest.mark.assets  # reads ../shared/assets (see tests/conftest.py)

MODEL = "mobilenet-v1-0.25-128-quant"
FILE = "mobilenet_v1_0.25_128_quant.tflite"
SOURCES = sorted((REPO / "omz_mobilenet").rglob("*.py")) + sorted((REPO / "benchmarks").rglob("*.py"))
SAFE_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _findings(text: str, label: str) -> list[str]:
    tree = ast.parse(text, filename=label)
    found = []
    for node in ast.walk(tree):
        where = f"{label}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                if module.split(".")[0] in {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}:
                    found.append(f"{where}: imports {module}")
        if not isinstance(node, ast.Call):
            continue
        func = _name(node.func)
        keywords = {k.arg: k.value for k in node.keywords}
        shell = keywords.get("shell")
        if shell is not None and not (isinstance(shell, ast.Constant) and shell.value is False):
            found.append(f"{where}: {func}(shell=...)")
        if func in {"eval", "exec", "os.system", "os.popen", "yaml.unsafe_load", "yaml.full_load"}:
            found.append(f"{where}: {func}()")
        if func in {"yaml.load", "yaml.load_all"}:
            loader = keywords.get("Loader", node.args[1] if len(node.args) > 1 else None)
            if loader is None or _name(loader).split(".")[-1] not in SAFE_LOADERS:
                found.append(f"{where}: {func}() without a safe Loader")
        if func.endswith("np.load") or func.endswith("numpy.load"):
            allow = keywords.get("allow_pickle")
            if allow is not None and not (isinstance(allow, ast.Constant) and allow.value is False):
                found.append(f"{where}: {func}(allow_pickle=...)")
        if func.endswith(".extractall") or func.endswith(".extract"):
            data_filter = keywords.get("filter")
            if not (isinstance(data_filter, ast.Constant) and data_filter.value == "data"):
                found.append(f"{where}: {func}() without filter='data'")
    return found


def test_sources_are_found():
    assert len(SOURCES) > 20 and any(p.name == "download.py" for p in SOURCES)


def test_no_shell_pickle_eval_or_unsafe_yaml_in_the_code():
    findings = [f for path in SOURCES for f in _findings(path.read_text(), str(path.relative_to(REPO)))]
    assert findings == []


def test_the_checker_catches_what_it_looks_for():
    text = (
        "import pickle\nimport subprocess, yaml, numpy as np\n"
        "subprocess.run('ls', shell=True)\nyaml.load(s)\nyaml.load(s, Loader=yaml.Loader)\n"
        "eval('1')\nnp.load(p, allow_pickle=True)\ntar.extractall(d)\n"
        "yaml.load(s, Loader=yaml.SafeLoader)\nsubprocess.run(['ls'], shell=False)\n"
    )
    findings = _findings(text, "probe.py")
    assert len(findings) == 7, findings  # the last two lines are fine


# --- mirror schemes -------------------------------------------------------------------------------


def test_file_url_is_accepted_as_the_mirror_folder(workdirs, cli):
    cache, _ = workdirs
    code, out, err = cli("download", MODEL, "--mirror", ASSETS.as_uri())
    assert code == 0, err
    assert (cache / "models" / MODEL / FILE).is_file() and FILE in out


@pytest.mark.parametrize(
    "mirror", ["ftp://mirror.example/models", "s3://bucket/models", "gopher://x/y", "file://otherhost/srv/models"]
)
def test_other_mirror_schemes_are_refused(workdirs, cli, mirror):
    cache, _ = workdirs
    code, out, err = cli("download", MODEL, "--mirror", mirror)
    assert code == 2 and out == "" and len(error_lines(err)) == 1, err
    assert "not supported" in err
    assert not (cache / "models" / MODEL / FILE).exists()


def test_other_mirror_schemes_are_refused_from_the_environment(workdirs, cli, monkeypatch):
    monkeypatch.setenv("OMZ_MOBILENET_MIRROR", "ftp://mirror.example/models")
    code, _out, err = cli("download", MODEL)
    assert code == 2 and "ftp:// scheme is not supported" in err


def test_a_file_url_to_another_file_never_lands_in_the_cache(workdirs, tmp_path, monkeypatch, cli):
    """file:// sources are allowed (user catalogues, issue 19), but only the file the checksum names gets
    in: pointing one at a system file reads nothing into the cache."""
    cache, _ = workdirs

    def local_source(entry):
        entry["files"][0]["sources"] = ["file:///etc/passwd"]

    edited_catalogue(tmp_path, monkeypatch, {MODEL: local_source})
    code, _out, err = cli("download", MODEL)
    assert code != 0 and len(error_lines(err)) == 1 and "checksum" in err, err
    assert not list((cache / "models" / MODEL).glob(FILE + "*")) if (cache / "models" / MODEL).exists() else True


@pytest.mark.parametrize("member", ["../../../../etc/passwd", "/etc/passwd", "model/../../x.pb"])
def test_archive_member_outside_the_archive_is_refused(workdirs, tmp_path, monkeypatch, cli, member):
    cache, _ = workdirs

    def escape(entry):
        entry["model_file"]["member"] = member

    edited_catalogue(tmp_path, monkeypatch, {"mobilenet-v2-1.0-224": escape})
    code, _out, err = cli("download", "mobilenet-v2-1.0-224", "--mirror", str(ASSETS))
    assert code == 2 and "points outside the unpacked archive" in err, err
    assert not (cache / "models" / "mobilenet-v2-1.0-224").exists()  # refused before fetching anything


@pytest.mark.parametrize("name", ["../evil.tflite", "sub/evil.tflite", ".."])
def test_file_names_with_directories_are_refused(workdirs, tmp_path, monkeypatch, cli, name):
    def traversal(entry):
        entry["files"][0]["name"] = name
        entry["model_file"]["file"] = name

    edited_catalogue(tmp_path, monkeypatch, {MODEL: traversal})
    code, _out, err = cli("download", MODEL, "--mirror", str(ASSETS))
    assert code == 2 and "plain file name" in err
