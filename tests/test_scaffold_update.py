"""`scaffold update` and `scaffold list` on a small template's history (git tags v1.0.0, v1.1.0).

Odd histories and the table of refused inputs are in test_update_scenarios.py.
"""

from __future__ import annotations

import pytest
import yaml
from helpers import DEFAULT_PACKAGE, ROOT, commit_all, generated, git, scaffold
from mini_template import COPIER_YML, INFERENCE, MODEL, TABULAR, TABULAR_MODEL, make, release

PKG = f"src/{DEFAULT_PACKAGE}"
MODELS = ("classifier", "churn", "fraud")
HELPER = "\n\ndef user_helper() -> int:\n    return 42\n"
INFERENCE_V1_1 = INFERENCE.replace("by name.", "by name, v1.1.")
MODEL_V1_1 = TABULAR_MODEL.replace('"""The network."""', '"""Network v1.1."""')
RUNS_V1_1 = '"""v1.1: Local run folders."""\n'
V1_1 = {  # template changes: untouched files, a file users edit elsewhere, new files
    f"core_template/{MODEL}/inference.py": INFERENCE_V1_1,
    f"core_template/{TABULAR}/model.py": MODEL_V1_1,
    "template/src/{{package_name}}/core/runs.py": RUNS_V1_1,
    "template/CHANGELOG.md": "v1.1.0\n",
    f"core_template/{MODEL}/MODEL_CARD.md": "# Model card\n",
}


@pytest.fixture
def template_repo(tmp_path):
    """The small template (not this one), tagged v1.0.0."""
    return make(tmp_path / "template-repo")


@pytest.fixture
def project(tmp_path, template_repo):
    """A project with the first model and two added ones, committed, then edited by its user."""
    root = generated(tmp_path / "project", template_repo, *MODELS[1:])
    with (root / f"{PKG}/models/churn/model.py").open("a") as handle:
        handle.write(HELPER)
    (root / f"{PKG}/models/fraud/config.yaml").write_text("max_epochs: 55\nlr: 0.01\n")
    (root / f"{PKG}/core/features.py").write_text('"""Our own feature code."""\n')
    (root / f"{PKG}/models/churn/NOTES.md").write_text("our notes\n")
    (root / "data/samples/README.md").unlink()
    commit_all(root, "user edits")
    return root


def text(root, path: str) -> str:
    return (root / path).read_text()


def commit_of(root, answers_file: str = ".copier-answers.yml") -> str:
    return yaml.safe_load(text(root, answers_file))["_commit"]


def test_update_keeps_user_edits_and_brings_template_changes_everywhere(project, template_repo):
    release(template_repo, "v1.1.0", V1_1)
    head = git("rev-parse", "HEAD", cwd=project)
    result = scaffold("update", "--project", project)
    assert result.exit_code == 0, result.output
    for part in ("project", *MODELS):
        assert part in result.output
    assert "v1.0.0" in result.output and "v1.1.0" in result.output

    # every user edit is still there, merged with the template's change to the same file
    assert text(project, f"{PKG}/models/churn/model.py") == MODEL_V1_1 + HELPER
    assert text(project, f"{PKG}/models/fraud/config.yaml") == "max_epochs: 55\nlr: 0.01\n"
    assert text(project, f"{PKG}/core/features.py") == '"""Our own feature code."""\n'
    assert text(project, f"{PKG}/models/churn/NOTES.md") == "our notes\n"
    assert not (project / "data/samples/README.md").exists()
    # template changes arrived in the project and in every model
    assert text(project, f"{PKG}/core/runs.py") == RUNS_V1_1
    assert text(project, "CHANGELOG.md") == "v1.1.0\n"
    for model in MODELS:
        folder = f"{PKG}/models/{model}"
        assert text(project, f"{folder}/inference.py") == INFERENCE_V1_1
        assert text(project, f"{folder}/MODEL_CARD.md") == "# Model card\n"
        assert commit_of(project, f"{folder}/.copier-answers.model.yml") == "v1.1.0"
    assert text(project, f"{PKG}/models/fraud/model.py") == MODEL_V1_1
    assert commit_of(project) == "v1.1.0"
    # nothing is committed for the user: all changes are staged for review
    assert git("rev-parse", "HEAD", cwd=project) == head
    assert git("diff", "--cached", "--name-only", cwd=project)


def test_overlapping_edit_is_reported_as_a_conflict(project, template_repo):
    churn_model = f"{PKG}/models/churn/model.py"
    (project / churn_model).write_text(TABULAR_MODEL.replace('"""The network."""', '"""Our churn net."""'))
    commit_all(project, "user edits the docstring")
    release(template_repo, "v1.1.0", V1_1)
    result = scaffold("update", "--project", project)
    assert result.exit_code == 6
    assert "conflict" in result.output and churn_model in result.output
    assert text(project, churn_model).startswith(
        '<<<<<<< before updating\n"""Our churn net."""\n=======\n"""Network v1.1."""\n>>>>>>> after updating\n'
    )
    assert text(project, f"{PKG}/models/fraud/inference.py") == INFERENCE_V1_1  # the rest updated
    assert git("diff", "--name-only", "--diff-filter=U", cwd=project) == churn_model


def test_update_only_one_model(project, template_repo):
    release(template_repo, "v1.1.0", V1_1)
    result = scaffold("update", "--project", project, "--only", "fraud")
    assert result.exit_code == 0, result.output
    assert text(project, f"{PKG}/models/fraud/inference.py") == INFERENCE_V1_1
    assert text(project, f"{PKG}/models/churn/inference.py") == INFERENCE
    assert commit_of(project) == "v1.0.0"


def test_update_refuses_a_downgrade(project, template_repo):
    release(template_repo, "v1.1.0", V1_1)
    assert scaffold("update", "--project", project).exit_code == 0
    commit_all(project, "updated")
    result = scaffold("update", "--project", project, "--vcs-ref", "v1.0.0")
    assert result.exit_code == 4 and "owngrad" in result.output
    assert git("status", "--porcelain", cwd=project) == ""


def test_list_shows_versions_and_available_updates(project, template_repo):
    before = scaffold("list", "--project", project)
    assert before.exit_code == 0, before.output
    assert before.output.count("v1.0.0") >= 4 and "yes" not in before.output
    release(template_repo, "v1.1.0", V1_1)
    after = scaffold("list", "--project", project)
    assert after.output.count("yes") == 4 and "1.1.0" in after.output


def test_update_from_a_git_url_keeps_the_url(tmp_path, template_repo):
    url = f"git+file://{template_repo}"
    root = generated(tmp_path / "remote-project", url, "churn")
    release(template_repo, "v1.1.0", V1_1)
    listed = scaffold("list", "--project", root)  # the tags come from `git ls-remote`
    assert listed.exit_code == 0 and listed.output.count("yes") == 3, listed.output
    result = scaffold("update", "--project", root)
    assert result.exit_code == 0, result.output
    for answers_file in (".copier-answers.yml", f"{PKG}/models/churn/.copier-answers.model.yml"):
        answers = yaml.safe_load(text(root, answers_file))
        assert (answers["_src_path"], answers["_commit"]) == (url, "v1.1.0")
    assert text(root, f"{PKG}/models/churn/inference.py") == INFERENCE_V1_1


def test_the_small_template_keeps_the_real_templates_structure():
    real, small = (yaml.safe_load(text) for text in ((ROOT / "copier.yml").read_text(), COPIER_YML))
    for key in ("_subdirectory", "_answers_file", "_external_data"):
        assert small[key] == real[key], key
    assert set(small["_exclude"]) <= set(real["_exclude"])
    assert set(small["starter"]["choices"]) <= set(real["starter"]["choices"].values())
    assert {key for key in small if not key.startswith("_")} <= {key for key in real if not key.startswith("_")}
