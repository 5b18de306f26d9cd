"""A rendered project works end to end: its own test suite and its train -> bundle -> serve loop."""

from __future__ import annotations

import sys
import tarfile
import zipfile

import pytest
from conftest import render, rendered_env, run


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"project_name": "fraud-detection", "model_name": "fraud", "tracking": "none", "ci": "none"},
        {"tracking": "wandb", "python_version": "3.10"},
    ],
    ids=["defaults", "custom-names-no-tracking-no-ci", "wandb"],
)
def test_rendered_project_passes_its_own_tests(tmp_path, answers):
    project = render(tmp_path / "project", **answers)
    result = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project, env=rendered_env())
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_cli_trains_bundles_and_smoke_tests_a_model(tmp_path):
    project = render(tmp_path / "project")
    cli = (sys.executable, "-m", "ml_project")
    env = {**rendered_env(), "PYTHONPATH": str(project / "src")}

    smoke = run(*cli, "smoke", "classifier", "trainer.max_epochs=40", "trainer.progress=false", cwd=project, env=env)
    assert "predicted" in smoke.stdout and "setosa" in smoke.stdout

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
    assert {"churn_lab/cli.py", "churn_lab/core/serving.py", "churn_lab/models/classifier/config.yaml"} <= names
    assert "churn_lab = churn_lab.cli:app" in entry_points
