"""A rendered project works end to end: its own test suite and its train -> bundle -> serve loop."""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from helpers import DEFAULT_PACKAGE, render, rendered_env, run, scaffold

STARTERS = {  # starter -> (model name, something its smoke table shows)
    "tabular-regressor": ("prices", "regression"),
    "image-classifier": ("shapes", "circle"),
    "text-classifier": ("topics", "cooking"),
}


def project_suite(project, *paths: str, slow: bool = True) -> str:
    """The project's own tests; plain `pytest` in a project skips its slow end-to-end tests, `slow=True` runs them."""
    everything = ("-m", "slow or not slow") if slow else ()
    pytest = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *everything, *paths)
    result = run(*pytest, cwd=project, env=rendered_env())
    assert " passed" in result.stdout and "failed" not in result.stdout
    return result.stdout


def with_more_samples(project) -> None:
    """The core tests are the project's own: they pass with no model and other data beside theirs."""
    assert not (project / "tests" / "models").exists()
    (project / "data" / "samples" / "another.csv").write_text("a,b,label\nx,1,y\n")


@pytest.mark.parametrize(
    ("answers", "change"),
    [
        (  # a core repository: the core and its tests, no model
            {"layout": "core", "project_name": "fraud-detection", "tracking": "none", "ci": "none"},
            with_more_samples,
        ),
        ({"tracking": "wandb", "python_version": "3.10"}, None),
    ],
    ids=["core-layout-custom-names-no-tracking-no-ci", "wandb"],
)
def test_rendered_project_passes_its_own_tests(tmp_path, answers, change):
    project = render(tmp_path / "project", **answers)
    if change:
        change(project)
    # the slow end-to-end tests once (wandb); names and the layout change nothing they exercise
    project_suite(project, slow=change is None)


def test_a_project_for_the_lowest_python_uses_nothing_newer(tmp_path, template_repo):
    """Rendered code and tests run here on a newer Python; vermin checks each line against 3.10."""
    project = render(tmp_path / "project", src=template_repo, python_version="3.10", tracking="wandb")
    for starter, (name, _) in STARTERS.items():
        added = scaffold("add-model", name, "--project", project, "--starter", starter)
        assert added.exit_code == 0, added.output
    # `long` and `str.decode` are Python 2 names vermin also sees in torch's `.long()` and bytes' `.decode()`.
    vermin = (Path(sys.executable).parent / "vermin", "-t=3.10-", "--violations", "--no-tips", "--eval-annotations")
    run(*vermin, "--exclude", "long", "--exclude", "str.decode", "src", "tests", cwd=project, env=rendered_env())


@pytest.mark.slow
def test_a_project_with_a_model_of_every_starter_passes_its_tests_and_smokes_each(tmp_path, template_repo):
    project = render(tmp_path / "project", src=template_repo)
    for starter, (name, _) in STARTERS.items():
        result = scaffold("add-model", name, "--project", project, "--starter", starter)
        assert result.exit_code == 0, result.output
    project_suite(project, "tests/models")  # the core tests run in the tests above; these are the models'
    cli = (sys.executable, "-m", DEFAULT_PACKAGE)
    env = {**rendered_env(), "PYTHONPATH": str(project / "src"), "COLUMNS": "200"}
    for name, shown in [("classifier", "setosa"), *STARTERS.values()]:
        smoke = run(*cli, "smoke", name, "trainer.progress=false", cwd=project, env=env)
        assert "expected" in smoke.stdout and "predicted" in smoke.stdout and shown in smoke.stdout, smoke.stdout


def test_cli_trains_and_bundles_a_model(tmp_path):
    project = render(tmp_path / "project")
    cli = (sys.executable, "-m", "ml_project")
    env = {**rendered_env(), "PYTHONPATH": str(project / "src")}

    trained = run(*cli, "train", "classifier", "trainer.max_epochs=2", "trainer.progress=false", cwd=project, env=env)
    run_dir = next(line.split()[3] for line in trained.stdout.splitlines() if line.startswith("run saved to"))
    bundle = project / "model.tar.gz"
    run(*cli, "bundle", "classifier", "--run", run_dir.split("/")[-1], "--out", bundle, cwd=project, env=env)
    with tarfile.open(bundle) as tar:
        names = set(tar.getnames())
    assert {"model.pt", "config.yaml", "code/inference.py", "code/requirements.txt"} <= names
    assert "code/ml_project/models/classifier/inference.py" in names

    listing = run(*cli, "models", cwd=project, env=env)
    assert "classifier" in listing.stdout and "2" in listing.stdout


def test_rendered_project_builds_a_wheel_with_its_cli(tmp_path):
    project = render(tmp_path / "project", project_name="churn-lab")
    wheels = tmp_path / "wheels"
    pip = (sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, project)
    run(*pip, cwd=tmp_path, env=rendered_env())
    wheel = next(wheels.glob("churn_lab-0.1.0-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read("churn_lab-0.1.0.dist-info/entry_points.txt").decode()
    shipped = {"churn_lab/cli.py", "churn_lab/core/inference/serving.py", "churn_lab/models/classifier/config.yaml"}
    assert shipped <= names
    assert "churn_lab = churn_lab.cli:app" in entry_points
