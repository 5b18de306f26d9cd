"""Which models a change touches: what CI/CD registers and deploys again, from a real git history."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NO_COMMIT = "0" * 40


@pytest.fixture(scope="module")
def models(core):
    return core.catalog.registry.names()


def git(repo: Path, *args: str) -> str:
    command = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args]
    return subprocess.run(command, cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def commit(repo: Path, path: str, text: str) -> str:
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"edit {path}")
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A git repository with one commit, made the current directory."""
    git(tmp_path, "init", "-q", "-b", "main")
    commit(tmp_path, "README.md", "project\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_model_folder_change_touches_that_model(core, models, package):
    model = models[0]
    assert core.catalog.changes.models_touched([f"src/{package}/models/{model}/config.yaml"]) == [model]
    assert core.catalog.changes.models_touched([f"tests/models/{model}/test_{model}.py"]) == [model]
    assert core.catalog.changes.models_touched([f"data/samples/{model}/more.csv"]) == [model]


def test_shared_code_touches_every_model(core, models, package):
    assert core.catalog.changes.models_touched([f"src/{package}/core/trainer/training.py"]) == models
    assert core.catalog.changes.models_touched(["infra/model.yaml"]) == models
    assert core.catalog.changes.models_touched(["data/shared/lookup.csv"]) == models
    assert core.catalog.changes.models_touched(["requirements/lock.txt"]) == models


def test_docs_touch_nothing(core):
    assert core.catalog.changes.models_touched(["README.md", ".github/workflows/ci.yml"]) == []


def test_commits_since_a_revision_touch_their_models(core, models, package, repo):
    before = git(repo, "rev-parse", "HEAD")
    commit(repo, f"src/{package}/models/{models[0]}/config.yaml", "x: 1\n")
    assert core.catalog.changes.changed_models(before) == [models[0]]
    docs_only = git(repo, "rev-parse", "HEAD")
    commit(repo, "README.md", "more\n")
    assert core.catalog.changes.changed_models(docs_only) == []


def test_no_base_to_compare_with_gives_every_model(core, models, repo):
    for since in (NO_COMMIT, "", None, "  "):
        assert core.catalog.changes.changed_models(since) == models


def test_a_force_pushed_away_revision_gives_every_model(core, models, package, repo):
    git(repo, "checkout", "-qb", "rewritten")
    gone = commit(repo, f"src/{package}/models/{models[0]}/config.yaml", "x: 1\n")
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-qD", "rewritten")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert subprocess.run(["git", "cat-file", "-e", gone], cwd=repo, capture_output=True).returncode != 0
    assert core.catalog.changes.changed_models(gone) == models


def test_a_file_name_is_never_taken_for_a_revision(core, models, repo):
    assert core.catalog.changes.changed_models("README.md") == models


def test_an_option_is_refused(core, repo):
    with pytest.raises(core.catalog.changes.ProjectError, match="not a git revision"):
        core.catalog.changes.changed_models("--output=/tmp/x")


def test_outside_a_repository_is_an_error(core, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(core.catalog.changes.ProjectError, match="git rev-parse"):
        core.catalog.changes.changed_models(NO_COMMIT)


@pytest.mark.slow  # fresh processes, as CI starts them
def test_the_command_ci_runs_prints_the_models_as_json(models, package, repo):
    """`models --changed-since "$BEFORE"`, exactly as ci.yml runs it (in a fresh process: the project's models only)."""
    own = [name for name in models if name != "probe"]  # the probe model is the test suite's, not the project's
    before = git(repo, "rev-parse", "HEAD")
    commit(repo, "infra/model.yaml", "shared\n")
    for since, expected in ((before, own), (NO_COMMIT, own)):  # a shared file changed; a first push
        command = [sys.executable, "-m", package, "models", "--changed-since", since]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        result = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == expected
