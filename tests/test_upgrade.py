"""Projects made with earlier releases update to this one: user edits kept, every model still works.

An earlier release is this repository's template at one commit, tagged v1.0.0 in a scratch
template repository; this checkout is v2.0.0. PRE_CONTRACT_RELEASE is the last commit before
model contracts; PREVIOUS_RELEASE the last release before this one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import DEFAULT_PACKAGE, ROOT, TEMPLATE_PARTS, commit_all, git, rendered_env, replace, run, scaffold

PRE_CONTRACT_RELEASE = "11f18486e68b811fdf2158da93b2ab6daa8c38e4"
PREVIOUS_RELEASE = "13bed3b1313c568a1572fe59872a90c44eb6d98a"  # one core, many repositories: the flat core
PKG = f"src/{DEFAULT_PACKAGE}"


def assert_suite_passes(project: Path, *args: str, env: dict[str, str]) -> None:
    """The rendered project's own tests (`args` select them) pass."""
    suite = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, cwd=project, env=env)
    assert " passed" in suite.stdout and "failed" not in suite.stdout, suite.stdout[-3000:]


def committed_project(project: Path, repo: Path, *models: tuple[str, str]) -> Path:
    """A project of the template in `repo` with `models` added (name, starter), committed to git."""
    assert scaffold("new", project, "--template", repo).exit_code == 0
    for name, starter in models:
        added = scaffold("add-model", name, "--starter", starter, "--project", project)
        assert added.exit_code == 0, added.output
    git("init", "-q", cwd=project)
    commit_all(project, "generated")
    return project


@pytest.fixture
def releases(tmp_path, request):
    """A template repository with an earlier release (v1.0.0); `releases()` then commits this one as v2.0.0.

    The earlier release is PRE_CONTRACT_RELEASE unless the test is parametrized with another commit.
    """
    repo = tmp_path / "template-repo"
    repo.mkdir()
    commit = getattr(request, "param", PRE_CONTRACT_RELEASE)
    archive = subprocess.run(
        ["git", "archive", commit, *TEMPLATE_PARTS], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", repo], input=archive, check=True)
    git("init", "-q", "-b", "main", cwd=repo)
    commit_all(repo, "previous release")
    git("tag", "v1.0.0", cwd=repo)

    def release_this_checkout():
        for part in TEMPLATE_PARTS:
            target = repo / part
            shutil.rmtree(target) if target.is_dir() else target.unlink()
            source = ROOT / part
            if source.is_dir():
                shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        commit_all(repo, "this release")
        git("tag", "v2.0.0", cwd=repo)

    return repo, release_this_checkout


@pytest.mark.slow
def test_a_previous_release_project_updates_and_its_models_train_bundle_and_serve(tmp_path, releases):
    repo, release_this_checkout = releases
    project = tmp_path / "project"
    assert scaffold("new", project, "--template", repo).exit_code == 0
    added = scaffold("add-model", "churn", "--project", project)
    assert added.exit_code == 0, added.output
    # a model of the user's own, copied from the example, with its own data and no answers file
    mine = project / PKG / "models" / "mine"
    shutil.copytree(project / PKG / "models" / "classifier", mine)
    (mine / ".copier-answers.model.yml").unlink()
    replace(mine / "config.yaml", "path: data/samples/iris.csv", "path: data/mine.csv")
    shutil.copy(project / "data" / "samples" / "iris.csv", project / "data" / "mine.csv")
    git("init", "-q", cwd=project)
    commit_all(project, "generated")
    replace(project / PKG / "models/churn/config.yaml", "max_epochs: 30", "max_epochs: 45")
    with (project / PKG / "models/churn/model.py").open("a") as handle:
        handle.write("\n\ndef user_helper() -> int:\n    return 42\n")
    commit_all(project, "user edits")

    release_this_checkout()
    result = scaffold("update", "--project", project)
    assert result.exit_code == 0, result.output
    commit_all(project, "updated")

    churn = project / PKG / "models" / "churn"
    assert "max_epochs: 45" in (churn / "config.yaml").read_text()
    assert "def user_helper" in (churn / "model.py").read_text()
    for model in ("classifier", "churn"):
        folder = project / PKG / "models" / model
        assert (folder / "contract.py").is_file()
        assert f"path: data/samples/{model}/iris.csv" in (folder / "config.yaml").read_text()
        assert (project / "data" / "samples" / model / "iris.csv").is_file()
        answers = yaml.safe_load((folder / ".copier-answers.model.yml").read_text())
        assert (answers["_commit"], answers["starter"]) == ("v2.0.0", "tabular-classifier")
    assert not (mine / "contract.py").exists()  # not the template's to touch
    assert not (project / "data" / "samples" / "iris.csv").exists()  # moved to each model's own samples

    env = {**rendered_env(), "PYTHONPATH": str(project / "src")}
    cli = (sys.executable, "-m", DEFAULT_PACKAGE)
    listed = run(*cli, "models", cwd=project, env={**env, "COLUMNS": "200"})
    assert "mine: no contract.py" in listed.stdout
    for model in ("churn", "mine"):
        smoke = run(*cli, "smoke", model, "trainer.progress=false", cwd=project, env=env)
        assert "predicted" in smoke.stdout and ("versicolor" in smoke.stdout or "setosa" in smoke.stdout), smoke.stdout
    assert_suite_passes(project, env=rendered_env())


@pytest.mark.slow
@pytest.mark.parametrize("releases", [PREVIOUS_RELEASE], indirect=True)
def test_a_previous_release_project_updates_keeping_edits_and_gains_the_new_settings(tmp_path, releases):
    repo, release_this_checkout = releases
    project = committed_project(tmp_path / "project", repo, ("reviews", "text-classifier"))
    reviews = project / PKG / "models" / "reviews"
    replace(reviews / "config.yaml", "max_epochs: 15", "max_epochs: 12")
    helper = "def user_helper() -> int:\n    return 42\n\n\ndef pad("
    replace(reviews / "model.py", "def pad(", helper)  # away from what the template changes
    model_tests = project / "tests" / "models" / "reviews" / "test_reviews.py"
    first_test = "def test_training_reaches_the_goal_of_the_contract"
    replace(model_tests, first_test, f"def test_of_my_own():\n    assert 1 + 1 == 2\n\n\n{first_test}")
    commit_all(project, "user edits")

    release_this_checkout()
    result = scaffold("update", "--project", project)
    assert result.exit_code == 0, result.output
    commit_all(project, "updated")

    config_text = (reviews / "config.yaml").read_text()
    model_text = (reviews / "model.py").read_text()
    assert "max_epochs: 12" in config_text and "def user_helper" in model_text
    assert "from ...core.trainer import distributed" in (reviews / "train.py").read_text()  # this release: layers
    assert "def test_of_my_own" in model_tests.read_text()
    core = project / PKG / "core"
    assert not (core / "serving.py").exists() and (core / "inference" / "serving.py").is_file()
    assert (core / "commands" / "app.py").is_file() and (core / "trainer" / "wandb_tracking.py").is_file()
    assert not any(
        "<<<<<<<" in path.read_text() for path in (reviews / "config.yaml", reviews / "model.py", model_tests)
    )
    env = {**rendered_env(), "PYTHONPATH": str(project / "src")}
    cli = (sys.executable, "-m", DEFAULT_PACKAGE)
    smoke = run(*cli, "smoke", "reviews", "trainer.progress=false", cwd=project, env=env)
    assert "predicted" in smoke.stdout, smoke.stdout
    # the models' bundles served by TorchServe too
    assert_suite_passes(project, "-m", "slow or not slow", "tests/models", env=env)


@pytest.mark.slow
@pytest.mark.parametrize("releases", [PREVIOUS_RELEASE], indirect=True)
def test_edits_in_core_files_this_release_moves_are_reported_not_lost(tmp_path, releases):
    repo, release_this_checkout = releases
    project = committed_project(tmp_path / "project", repo)
    served = project / PKG / "core" / "serving.py"  # this release moves it to core/inference/
    replace(served, "DEFAULT_PORT = 8080", "DEFAULT_PORT = 8080\nOUR_PATCH = True")
    trained = project / PKG / "core" / "training.py"  # moved to core/trainer/ (no edit: its move just happens)
    commit_all(project, "user edits")

    release_this_checkout()
    result = scaffold("update", "--project", project)
    assert result.exit_code != 0 and f"conflicts in {PKG}/core/serving.py" in result.output, result.output
    assert "OUR_PATCH = True" in served.read_text()
    status = git("status", "--porcelain", cwd=project)
    assert f"UD {PKG}/core/serving.py" in status.splitlines()  # deleted by them, kept for the user to resolve
    assert not trained.exists() and (project / PKG / "core" / "trainer" / "training.py").is_file()
    assert "DEFAULT_PORT" in (project / PKG / "core" / "inference" / "serving.py").read_text()
