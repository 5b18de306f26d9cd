"""The `scaffold` CLI: new projects and new models, and bad input that writes nothing."""

from __future__ import annotations

import pytest
import yaml
from helpers import DEFAULT_PACKAGE, ROOT, render, scaffold


@pytest.fixture
def project(tmp_path, template_repo):
    return render(tmp_path / "project", src=template_repo)


def test_new_renders_a_project_with_answers(tmp_path):
    result = scaffold("new", tmp_path / "churn", "--data", "project_name=churn-lab", "-d", "tracking=none")
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "churn" / ".copier-answers.yml").read_text())
    assert (answers["package_name"], answers["tracking"], answers["_src_path"]) == ("churn_lab", "none", str(ROOT))


def test_add_model_renders_a_model_with_its_own_answers(project):
    result = scaffold("add-model", "churn", "--project", project)
    assert result.exit_code == 0, result.output
    folder = project / "src" / DEFAULT_PACKAGE / "models" / "churn"
    assert {p.name for p in folder.iterdir()} >= {"model.py", "train.py", "inference.py", "config.yaml"}
    assert (project / "tests" / "models" / "churn" / "test_churn.py").is_file()
    answers = yaml.safe_load((folder / ".copier-answers.model.yml").read_text())
    assert answers["kind"] == "model" and answers["model_name"] == "churn"
    assert answers["package_name"] == DEFAULT_PACKAGE and answers["_commit"] == "v1.0.0"
    assert answers["starter"] == "tabular-classifier"
    assert (project / "data" / "samples" / "churn" / "iris.csv").is_file()
    project_answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert project_answers["kind"] == "project"  # the project's answers are untouched


def test_add_model_with_a_starter_records_it_for_later_updates(project):
    result = scaffold("add-model", "reviews", "--project", project, "--starter", "text-classifier")
    assert result.exit_code == 0, result.output
    folder = project / "src" / DEFAULT_PACKAGE / "models" / "reviews"
    answers = yaml.safe_load((folder / ".copier-answers.model.yml").read_text())
    assert answers["starter"] == "text-classifier"
    assert "codecs.TEXT" in (folder / "contract.py").read_text()  # the text starter, not the default
    assert (project / "data" / "samples" / "reviews").is_dir()


def test_add_model_refuses_an_unknown_starter_and_writes_nothing(project):
    before = listing(project)
    result = scaffold("add-model", "churn", "--project", project, "--starter", "audio-tagger")
    assert result.exit_code == 2 and "audio-tagger" in result.output
    assert listing(project) == before


def test_add_model_never_writes_over_sample_data_of_the_same_name(project):
    (project / "data" / "samples" / "churn").mkdir(parents=True)
    (project / "data" / "samples" / "churn" / "ours.csv").write_text("a,b\n")
    before = listing(project)
    result = scaffold("add-model", "churn", "--project", project)
    assert result.exit_code == 3 and "exists already" in result.output
    assert listing(project) == before


def listing(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(
    ("name", "message", "code"),
    [
        ("Churn", "invalid model name", 2),
        ("2churn", "invalid model name", 2),
        ("class", "Python keyword", 2),
        ("core", "clashes with a module", 2),
        ("cli", "clashes with a module", 2),
        ("probe", "clashes with a module", 2),
        ("../x", "invalid model name", 2),
        ("a/b", "invalid model name", 2),
        ("classifier", "exists already", 3),
    ],
)
def test_add_model_refuses_bad_names_and_writes_nothing(project, name, message, code):
    before = listing(project)
    result = scaffold("add-model", name, "--project", project)
    assert result.exit_code == code
    assert message in result.output
    assert listing(project) == before


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: (p / ".copier-answers.yml").unlink(), "not found"),
        (lambda p: (p / ".copier-answers.yml").write_text("{{ not yaml"), "corrupted"),
        (lambda p: (p / ".copier-answers.yml").write_text("a: 1\n"), "corrupted"),
    ],
    ids=["no-answers", "answers-not-yaml", "answers-not-copier"],
)
def test_add_model_refuses_a_folder_that_is_not_a_generated_project(project, setup, message):
    setup(project)
    before = listing(project)
    result = scaffold("add-model", "churn", "--project", project)
    assert result.exit_code == 3
    assert message in result.output
    assert listing(project) == before


def test_new_refuses_an_existing_folder(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    result = scaffold("new", tmp_path / "taken")
    assert result.exit_code == 3 and "not empty" in result.output
    assert listing(tmp_path / "taken") == ["notes.txt"]


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--data", "package_name=class"], "is a Python keyword", 2),
        (["--data", "novalue"], "not of the form key=value", 2),
        (["--vcs-ref", "v99.0.0"], "does not exist", 4),
    ],
)
def test_new_refuses_bad_input_and_leaves_nothing(tmp_path, args, message, code):
    result = scaffold("new", tmp_path / "project", *args)
    assert result.exit_code == code
    assert message in result.output
    assert not (tmp_path / "project").exists()


def test_version_and_help():
    assert "scaffold" in scaffold("--version").output
    assert "add-model" in scaffold("--help").output


def test_add_model_refuses_a_template_version_that_does_not_exist(project):
    before = listing(project)
    result = scaffold("add-model", "churn", "--project", project, "--vcs-ref", "v9.9.9")
    assert result.exit_code == 4 and "'v9.9.9' does not exist" in result.output
    assert listing(project) == before
