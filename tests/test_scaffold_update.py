"""`scaffold update` and `scaffold list` on real template histories (git tags v1.0.0, v1.1.0).

Odd histories and the table of refused inputs are in test_update_scenarios.py.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import DEFAULT_PACKAGE, MODEL_TEMPLATE, TABULAR_STARTER, commit_all, git, replace, scaffold

PKG = f"src/{DEFAULT_PACKAGE}"
MODELS = ("classifier", "churn", "fraud")
CORE_RUNS = "src/{{package_name}}/core/runs.py"
MODEL_DOCSTRING = '"""The network and its config schema."""'


@pytest.fixture
def project(tmp_path, template_repo):
    """A project with the example model and two added ones, committed, then edited by its user."""
    root = tmp_path / "project"
    assert scaffold("new", root, "--template", template_repo).exit_code == 0
    for model in MODELS[1:]:
        result = scaffold("add-model", model, "--project", root)
        assert result.exit_code == 0, result.output
    git("init", "-q", cwd=root)
    commit_all(root, "generated")
    with (root / f"{PKG}/models/churn/model.py").open("a") as handle:
        handle.write("\n\ndef user_helper() -> int:\n    return 42\n")
    replace(root / f"{PKG}/models/fraud/config.yaml", "max_epochs: 30", "max_epochs: 55")
    (root / f"{PKG}/core/features.py").write_text('"""Our own feature code."""\n')
    (root / f"{PKG}/models/churn/NOTES.md").write_text("our notes\n")
    (root / "data/samples/README.md").unlink()
    commit_all(root, "user edits")
    return root


def release_v1_1_0(template_repo):
    """Template changes: untouched files, a file users edit elsewhere, new files."""
    replace(
        template_repo / MODEL_TEMPLATE / "inference.py", "calls these four by name", "calls these four by name, v1.1"
    )
    replace(
        template_repo / TABULAR_STARTER / "model.py", '"""The network and its config schema."""', '"""Network v1.1."""'
    )
    replace(
        template_repo / "template/src/{{package_name}}/core/runs.py",
        '"""Local run folders',
        '"""v1.1: Local run folders',
    )
    (template_repo / "template/CHANGELOG.md").write_text("v1.1.0\n")
    (template_repo / MODEL_TEMPLATE / "MODEL_CARD.md").write_text("# Model card\n")
    commit_all(template_repo, "template v1.1.0")
    git("tag", "v1.1.0", cwd=template_repo)


def test_update_keeps_user_edits_and_brings_template_changes_everywhere(project, template_repo):
    release_v1_1_0(template_repo)
    head = git("rev-parse", "HEAD", cwd=project)
    result = scaffold("update", "--project", project)
    assert result.exit_code == 0, result.output
    for part in ("project", *MODELS):
        assert part in result.output
    assert "v1.0.0" in result.output and "v1.1.0" in result.output

    # every user edit is still there
    assert "def user_helper" in (project / f"{PKG}/models/churn/model.py").read_text()
    assert "max_epochs: 55" in (project / f"{PKG}/models/fraud/config.yaml").read_text()
    assert (project / f"{PKG}/core/features.py").is_file()
    assert (project / f"{PKG}/models/churn/NOTES.md").is_file()
    assert not (project / "data/samples/README.md").exists()
    # template changes arrived in the project and in every model
    assert (project / f"{PKG}/core/runs.py").read_text().startswith('"""v1.1: Local run folders')
    assert (project / "CHANGELOG.md").is_file()
    for model in MODELS:
        folder = project / PKG / "models" / model
        assert "v1.1" in (folder / "inference.py").read_text()
        assert (folder / "model.py").read_text().startswith('"""Network v1.1."""')
        assert (folder / "MODEL_CARD.md").is_file()
        assert yaml.safe_load((folder / ".copier-answers.model.yml").read_text())["_commit"] == "v1.1.0"
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.1.0"
    # nothing is committed for the user: all changes are staged for review
    assert git("rev-parse", "HEAD", cwd=project) == head
    assert git("diff", "--cached", "--name-only", cwd=project)


def test_overlapping_edit_is_reported_as_a_conflict(project, template_repo):
    replace(
        project / f"{PKG}/models/churn/model.py", '"""The network and its config schema."""', '"""Our churn net."""'
    )
    commit_all(project, "user edits the docstring")
    release_v1_1_0(template_repo)
    result = scaffold("update", "--project", project)
    assert result.exit_code == 6
    assert "conflict" in result.output and f"{PKG}/models/churn/model.py" in result.output
    text = (project / f"{PKG}/models/churn/model.py").read_text()
    assert "<<<<<<<" in text and "Our churn net" in text and "Network v1.1" in text
    assert "v1.1" in (project / f"{PKG}/models/fraud/inference.py").read_text()  # the rest updated
    assert git("diff", "--name-only", "--diff-filter=U", cwd=project) == f"{PKG}/models/churn/model.py"


def test_update_only_one_model(project, template_repo):
    release_v1_1_0(template_repo)
    result = scaffold("update", "--project", project, "--only", "fraud")
    assert result.exit_code == 0, result.output
    assert "v1.1" in (project / f"{PKG}/models/fraud/inference.py").read_text()
    assert "v1.1" not in (project / f"{PKG}/models/churn/inference.py").read_text()
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["_commit"] == "v1.0.0"


def unchanged(project) -> bool:
    return git("status", "--porcelain", cwd=project) == ""


def test_update_refuses_a_downgrade(project, template_repo):
    release_v1_1_0(template_repo)
    assert scaffold("update", "--project", project).exit_code == 0
    commit_all(project, "updated")
    result = scaffold("update", "--project", project, "--vcs-ref", "v1.0.0")
    assert result.exit_code == 4 and "owngrad" in result.output
    assert unchanged(project)


def test_list_shows_versions_and_available_updates(project, template_repo):
    before = scaffold("list", "--project", project)
    assert before.exit_code == 0, before.output
    assert before.output.count("v1.0.0") >= 4 and "yes" not in before.output
    release_v1_1_0(template_repo)
    after = scaffold("list", "--project", project)
    assert after.output.count("yes") == 4 and "1.1.0" in after.output


def test_update_from_a_git_url_keeps_the_url(tmp_path, template_repo):
    url = f"git+file://{template_repo}"
    root = tmp_path / "remote-project"
    assert scaffold("new", root, "--template", url).exit_code == 0
    assert scaffold("add-model", "churn", "--project", root).exit_code == 0
    git("init", "-q", cwd=root)
    commit_all(root, "generated")
    release_v1_1_0(template_repo)
    listed = scaffold("list", "--project", root)  # the tags come from `git ls-remote`
    assert listed.exit_code == 0 and listed.output.count("yes") == 3, listed.output
    result = scaffold("update", "--project", root)
    assert result.exit_code == 0, result.output
    for answers_file in (".copier-answers.yml", f"{PKG}/models/churn/.copier-answers.model.yml"):
        answers = yaml.safe_load((root / answers_file).read_text())
        assert (answers["_src_path"], answers["_commit"]) == (url, "v1.1.0")
