"""Model folders belong to their own answers files: they update and grow on their own."""

from __future__ import annotations

import sys

import copier
import yaml
from file_lists import expected, files
from helpers import DEFAULT_MODEL, DEFAULT_PACKAGE, TABULAR_STARTER, commit_all, git, render, rendered_env, run

MODEL_FILE = f"src/{DEFAULT_PACKAGE}/models/{DEFAULT_MODEL}/model.py"
MODEL_ANSWERS = f"src/{DEFAULT_PACKAGE}/models/{DEFAULT_MODEL}/.copier-answers.model.yml"
TEMPLATE_MODEL_FILE = f"{TABULAR_STARTER}/model.py"


def test_first_model_updates_through_its_own_answers_file(tmp_path, template_repo):
    project = render(tmp_path / "project", src=template_repo)
    git("init", "-q", cwd=project)
    commit_all(project, "generated")
    (template_repo / TEMPLATE_MODEL_FILE).write_text(
        (template_repo / TEMPLATE_MODEL_FILE).read_text() + "\n\nTEMPLATE_V2 = True\n"
    )
    (template_repo / "template" / "NEWS.md").write_text("v1.1.0\n")
    commit_all(template_repo, "template v1.1.0")
    git("tag", "v1.1.0", cwd=template_repo)

    copier.run_update(project, defaults=True, overwrite=True, unsafe=False, quiet=True)
    assert (project / "NEWS.md").is_file()
    assert "TEMPLATE_V2" not in (project / MODEL_FILE).read_text()  # models are not the project's
    commit_all(project, "project updated")

    copier.run_update(project, answers_file=MODEL_ANSWERS, defaults=True, overwrite=True, unsafe=False, quiet=True)
    assert "TEMPLATE_V2" in (project / MODEL_FILE).read_text()
    assert yaml.safe_load((project / MODEL_ANSWERS).read_text())["_commit"] == "v1.1.0"


def test_a_deleted_first_model_stays_deleted_after_a_project_update(tmp_path, template_repo):
    project = render(tmp_path / "project", src=template_repo)
    git("init", "-q", cwd=project)
    commit_all(project, "generated")
    model_parts = (f"src/{DEFAULT_PACKAGE}/models/classifier", "tests/models/classifier", "data/samples/classifier")
    run("git", "rm", "-rq", *model_parts, cwd=project)
    commit_all(project, "example model removed")
    (template_repo / "template" / "NEWS.md").write_text("v1.1.0\n")
    commit_all(template_repo, "template v1.1.0")
    git("tag", "v1.1.0", cwd=template_repo)

    copier.run_update(project, defaults=True, overwrite=True, unsafe=False, quiet=True)
    assert (project / "NEWS.md").is_file()
    assert not any((project / part).exists() for part in model_parts)


def test_an_added_model_trains_serves_and_is_tested_by_the_project_suite(tmp_path, template_repo):
    project = render(tmp_path / "project", src=template_repo)
    answers_file = f"src/{DEFAULT_PACKAGE}/models/churn/.copier-answers.model.yml"
    copier.run_copy(
        str(template_repo),
        project,
        data={"kind": "model", "model_name": "churn"},
        answers_file=answers_file,
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    assert yaml.safe_load((project / answers_file).read_text())["package_name"] == DEFAULT_PACKAGE
    pytest = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/models")
    result = run(*pytest, cwd=project, env=rendered_env())
    assert "10 passed" in result.stdout  # five contract-driven tests for each of the two models


def test_a_new_tracking_answer_brings_its_backend_and_keeps_user_edits(tmp_path, template_repo):
    project = render(tmp_path / "project", src=template_repo, tracking="none")
    assert files(project) == expected(tracking="none")
    (project / MODEL_FILE).write_text((project / MODEL_FILE).read_text() + "\n\nUSER_EDIT = True\n")
    git("init", "-q", cwd=project)
    commit_all(project, "generated, then edited")

    copier.run_update(project, data={"tracking": "wandb"}, defaults=True, overwrite=True, unsafe=False, quiet=True)
    assert files(project) == expected(tracking="wandb")
    assert 'TRACKING = "wandb"' in (project / "src" / DEFAULT_PACKAGE / "settings.py").read_text()
    assert "wandb>=" in (project / "pyproject.toml").read_text()
    assert "USER_EDIT = True" in (project / MODEL_FILE).read_text()
