"""The CI recipe of docs/guides/ci.md, played in a user's own repository.

A temporary folder outside the checkout plays the user's repository: their model file, a labels file,
an ImageFolder of labelled images and a folder of calibration images. The user guide
(docs/guides/own-model.md) is played in it command by command, as written (it writes the catalogue
`my-models.yml` with `add` and the committed baseline `accuracy-baseline.yml`). Then the `run:` steps
of the published GitHub Actions workflow (docs/guides/ci/github-actions.yml) run in it with a shell,
with omz-mobilenet already installed (the editable install or the wheel this interpreter has); the
GitLab job must run the same commands. The steps that only GitHub can run (`uses:`: checkout, cache,
upload) are checked against the commands instead: they cache the folders the job writes, keyed on the
catalogue it reads, and upload the report it writes.

Four runs of the recipe: the gate passes; a deliberate mistake (`add --force --color bgr`) fails it with
exit 1 naming the row; a missing image folder is exit 2; a baseline row the job no longer produces is
exit 3 (incomplete).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.helpers.own_model import OwnModel
from tests.helpers.paths import REPO, error_lines

GUIDES = REPO / "docs" / "guides"
GITHUB = GUIDES / "ci" / "github-actions.yml"
GITLAB = GUIDES / "ci" / "gitlab-ci.yml"
CI_PAGE = GUIDES / "ci.md"
GUIDE = GUIDES / "own-model.md"
BIN = Path(sys.executable).parent  # where the installed `omz-mobilenet` script lives
MODEL = "my-mobilenet"
CATALOGUE = "my-models.yml"
BASELINE = "accuracy-baseline.yml"
COMMITTED = {CATALOGUE, BASELINE, "models", "data"}  # what the user's repository holds
STEP_TIMEOUT = 900


@dataclass(frozen=True)
class Step:
    name: str
    run: str
    always: bool  # `if: always()`: runs after a failed step too


@dataclass(frozen=True)
class Ran:
    step: Step
    code: int
    out: str
    err: str


def _workflow() -> dict:
    return yaml.safe_load(GITHUB.read_text(encoding="utf-8"))


def _job() -> dict:
    jobs = _workflow()["jobs"]
    assert len(jobs) == 1, f"{GITHUB.name}: one job expected, found {list(jobs)}"
    return next(iter(jobs.values()))


def _is_install(step: dict) -> bool:
    return step.get("name", "").lower().startswith("install")


def github_steps() -> list[Step]:
    """The `run:` steps after the install, in order (the install itself is this interpreter's)."""
    return [
        Step(s.get("name", s["run"]), s["run"], s.get("if", "") == "always()")
        for s in _job()["steps"]
        if "run" in s and not _is_install(s)
    ]


def _commands(script: str) -> list[str]:
    """A shell script's commands, one per line, continuations joined and spaces normalised."""
    joined = script.replace("\\\n", " ")
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


# ---------------------------------------------------------------- the published files, without assets


def test_gitlab_job_runs_the_same_commands_as_the_workflow():
    job = _job()
    gitlab = next(iter(yaml.safe_load(GITLAB.read_text(encoding="utf-8")).values()))
    assert job["env"].items() <= gitlab["variables"].items()
    github = [c for step in github_steps() for c in _commands(step.run)]
    ours = [c for part in ("script", "after_script") for line in gitlab[part] for c in _commands(line)]
    assert ours == github
    installs = [c for s in job["steps"] if _is_install(s) for c in _commands(s["run"])]
    assert installs == [c for line in gitlab["before_script"] for c in _commands(line)]
    assert installs and all(re.search(r"omz-mobilenet\[tflite,onnx,tf\]", c) for c in installs), installs
    assert gitlab["artifacts"]["when"] == "always"


def _uses(prefix: str) -> dict:
    found = [s for s in _job()["steps"] if s.get("uses", "").startswith(prefix)]
    assert len(found) == 1, f"{GITHUB.name}: one `uses: {prefix}` step expected"
    return found[0]


def test_workflow_caches_what_the_job_writes_keyed_on_what_it_reads():
    env = _job()["env"]
    cache = _uses("actions/cache@")["with"]
    cached = set(cache["path"].split())
    assert cached == {env["OMZ_MOBILENET_CACHE"], env["OMZ_MOBILENET_OUT"]}
    commands = " ".join(step.run for step in github_steps())
    catalogues = set(re.findall(r"--catalogue (\S+)", commands))
    assert catalogues == {CATALOGUE}
    assert f"hashFiles('{CATALOGUE}')" in cache["key"]
    gitlab = next(iter(yaml.safe_load(GITLAB.read_text(encoding="utf-8")).values()))
    assert gitlab["cache"]["key"]["files"] == [CATALOGUE]
    assert set(gitlab["cache"]["paths"]) == cached


def test_workflow_uploads_the_report_it_writes():
    report = re.search(r"omz-mobilenet report .*?-o (\S+)", " ".join(s.run for s in github_steps()))
    assert report, "no `omz-mobilenet report -o FILE` step"
    upload = _uses("actions/upload-artifact@")
    assert upload.get("if") == "always()"  # a failed gate's report is the one worth reading
    assert Path(report.group(1)).parent == Path(upload["with"]["path"])
    gitlab = next(iter(yaml.safe_load(GITLAB.read_text(encoding="utf-8")).values()))
    assert [Path(p) for p in gitlab["artifacts"]["paths"]] == [Path(upload["with"]["path"])]


def test_ci_page_shows_the_published_files_verbatim():
    page = CI_PAGE.read_text(encoding="utf-8")
    for path in (GITHUB, GITLAB):
        assert f"```yaml\n{path.read_text(encoding='utf-8')}```" in page, f"{CI_PAGE.name} does not show {path.name}"
        assert f"(ci/{path.name})" in page, f"{CI_PAGE.name} does not link {path.name}"


# ---------------------------------------------------------------- the user's repository


def _user_env(repo: Path, ci: bool) -> dict[str, str]:
    """A clean environment: nothing of this checkout's settings leaks in; in CI the workflow's env on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMZ_MOBILENET_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["XDG_CACHE_HOME"] = str(repo.parent / "xdg-cache")  # the user's own ~/.cache
    if ci:
        env.update({k: str(v) for k, v in _job()["env"].items()})
    return env


def shell(command: str, repo: Path, ci: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", command],
        cwd=repo,
        env=_user_env(repo, ci),
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )


def _fresh_checkout(repo: Path) -> None:
    """What a CI run starts from: the committed files and the restored cache, nothing else."""
    cached = set(_job()["env"].values())
    for path in repo.iterdir():
        if path.name not in COMMITTED | cached:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def play_workflow(repo: Path) -> list[Ran]:
    """The workflow's run: steps as GitHub runs them: stop at a failure, except `if: always()` steps."""
    _fresh_checkout(repo)
    ran: list[Ran] = []
    failed = False
    for step in github_steps():
        if failed and not step.always:
            continue
        done = shell(step.run, repo)
        ran.append(Ran(step, done.returncode, done.stdout, done.stderr))
        failed = failed or done.returncode != 0
    return ran


def _gate(ran: list[Ran]) -> Ran:
    return next(r for r in ran if re.search(r"\bomz-mobilenet gate\b", r.step.run))


def _describe(ran: list[Ran]) -> str:
    return "\n".join(f"--- {r.step.name}: exit {r.code}\n{r.out[-2500:]}\n{r.err[-2500:]}" for r in ran)


def guide_commands() -> list[str]:
    """The user guide's ```sh blocks, each a script run as written."""
    return re.findall(r"```sh\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.DOTALL)


def make_user_repo(repo: Path, own: OwnModel) -> None:
    """What the user has before the guide: their fine-tuned model, its labels, their images."""
    (repo / "models").mkdir(parents=True)
    shutil.copy(own.tflite, repo / "models" / "my-mobilenet.tflite")
    shutil.copy(own.labels, repo / "models" / "labels.txt")
    # the images stay links into the shared assets: a folder of links is a folder of images
    shutil.copytree(own.imagefolder, repo / "data" / "val", symlinks=True)
    shutil.copytree(own.csv_images, repo / "data" / "photos", symlinks=True)
    shutil.copy(own.csv, repo / "data" / "photos.csv")
    shutil.copytree(own.calibration, repo / "data" / "calibration", symlinks=True)


@pytest.fixture(scope="module")
def user_repo(tmp_path_factory, own_model):
    repo = tmp_path_factory.mktemp("user") / "my-repo"
    make_user_repo(repo, own_model)
    for script in guide_commands():
        done = shell(script, repo, ci=False)
        if done.returncode != 0:
            pytest.fail(
                f"{GUIDE.name}: exit {done.returncode} from\n{script}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
    for name in (CATALOGUE, BASELINE):
        assert (repo / name).is_file(), f"the guide did not write {name}"
    return repo


@pytest.fixture
def restored(user_repo):
    """The scenario may break the repository; put the committed files back afterwards."""
    saved = {name: (user_repo / name).read_bytes() for name in (CATALOGUE, BASELINE)}
    yield user_repo
    for name, data in saved.items():
        (user_repo / name).write_bytes(data)
    if (user_repo / "data" / "val-moved").exists():
        (user_repo / "data" / "val-moved").rename(user_repo / "data" / "val")


@pytest.mark.assets
def test_recipe_passes_on_the_committed_baseline(restored):
    ran = play_workflow(restored)
    assert all(r.code == 0 for r in ran) and len(ran) == len(github_steps()), _describe(ran)
    report = restored / "results" / "report.html"
    assert report.is_file() and MODEL in report.read_text(encoding="utf-8"), _describe(ran)


@pytest.mark.assets
def test_recipe_with_a_baseline_row_it_does_not_run_is_incomplete(restored):
    """The baseline re-recorded with the guide's INT8 IR too: the job gates FP32 and FP16 only, so the
    INT8 row has no result now. That is incomplete (exit 3), never a pass."""
    record = f"omz-mobilenet gate {MODEL} --catalogue {CATALOGUE} --baseline {BASELINE} --update-baseline"
    done = shell(f"{record} --dataset data/val --precision FP32,FP16,INT8 --no-progress", restored, ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    gate = _gate(ran := play_workflow(restored))
    assert gate.code == 3, _describe(ran)
    assert any(MODEL in line and "INT8" in line for line in (gate.out + gate.err).splitlines()), _describe(ran)


@pytest.mark.assets
def test_recipe_without_the_image_folder_is_bad_input(restored):
    (restored / "data" / "val").rename(restored / "data" / "val-moved")
    gate = _gate(ran := play_workflow(restored))
    assert gate.code == 2, _describe(ran)
    lines = error_lines(gate.err)
    assert len(lines) == 1 and "data/val" in lines[0], _describe(ran)
    assert "Traceback" not in gate.err


def _guide_add_command() -> str:
    adds = [c for script in guide_commands() for c in _commands(script) if c.startswith("omz-mobilenet add ")]
    assert len(adds) == 1, f"{GUIDE.name}: one `omz-mobilenet add` expected, found {adds}"
    return adds[0]


@pytest.mark.assets
def test_recipe_fails_on_a_swapped_colour_order_naming_the_row(restored):
    words = shlex.split(_guide_add_command())
    assert "--color" in words and words[words.index("--color") + 1] == "rgb", words
    words[words.index("--color") + 1] = "bgr"
    done = shell(shlex.join([*words, "--force"]), restored)
    assert done.returncode == 0, done.stdout + done.stderr
    gate = _gate(ran := play_workflow(restored))
    assert gate.code == 1, _describe(ran)
    failing = [line for line in (gate.out + gate.err).splitlines() if MODEL in line and "FP32" in line]
    assert any(re.search(r"FAIL|REGRESS", line, re.IGNORECASE) for line in failing), _describe(ran)
