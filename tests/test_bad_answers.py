"""Bad generator input: each refused with one line and its exit code, nothing written or changed.

The table runs `scaffold new` and `scaffold add-model` in-process against a copy of this template
that is not a git repository (copier then reads it in place: no clone per row, so the table is fast).
"""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
from helpers import ROOT, TEMPLATE_PARTS, commit_all, git, render, scaffold
from scaffold import names

PACKAGE = "ml_project"
MODELS = Path("src") / PACKAGE / "models"
TOO_LONG = "m" * 34  # ml-project--<model>-prod-<12-hex hash>: at most 33 characters fit in 63
# Files of the test's template copy that fail to render (copier has written other files by then).
BROKEN = (
    "core_template/src/{{package_name}}/models/{{model_name}}/{% if model_name == 'breaks' %}x{% endif %}.jinja",
    "template/src/{{package_name}}/{% if description == 'breaks' %}x{% endif %}.jinja",
)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    for part in TEMPLATE_PARTS:
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, folder / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / part)
    for path in BROKEN:
        (folder / path).write_text("{{ no_such_answer.field }}\n")
    return folder


@pytest.fixture(scope="module")
def project(tmp_path_factory, template) -> Path:
    """A generated project, committed: every add-model row must leave `git status` empty."""
    folder = render(tmp_path_factory.mktemp("generated") / "project", src=template)
    git("init", "-q", "-b", "main", cwd=folder)
    commit_all(folder, "generated")
    return folder


def new(*data: str) -> list[str]:
    return ["new", "{dest}", *(arg for item in data for arg in ("-d", item))]


def add(name: str, *args: str) -> list[str]:
    return ["add-model", name, "--project", "{project}", *args]


# `scaffold new -d <item>` refused with exit code 2: (the --data item, the one-line message: a regex).
# Which names each rule refuses is tests/test_rules.py's table; here, that `new` reports each rule.
NEW_REFUSED = [
    # Names of the package, the project and its AWS resources
    ("package_name=class", "'class' is a Python keyword"),
    ("package_name=1abc", r"not starting with a digit \(got '1abc'\)"),
    ("package_name=", r"\(got ''\)"),
    ("package_name=os", "'os' would shadow the module of that name in the standard library"),
    ("project_title=Json", "'json' would shadow"),  # a derived default is validated too
    ("package_name=con", "'con' is a name Windows reserves"),
    ("project_name=-bad-", "Project name must be"),
    ("resource_prefix=Fraud", "Resource prefix must be 1-30 lower-case"),
    ("resource_prefix=fraud--x", "Resource prefix must be"),
    ("resource_prefix=" + "r" * 31, "Resource prefix must be"),
    # Free text: one line, no control characters
    ("project_title=Fraud\nDetection", "Project title must be one line of text"),
    ("description=two\nlines", "Description must be one line of text"),
    ("description=nul\x00byte", "Description must be one line"),
    ("description=line\u2028separator", "Description must be one line"),
    ("author_name=tab\there", "Author name must be one line"),
    ("author_email=nobody", "'nobody' is not an e-mail address"),
    ('author_email=a"b@example.com', "is not an e-mail address"),
    ("author_email=a b@example.com", "is not an e-mail address"),
    ("aws_region=mars-1", "is not an AWS region name"),
    ("tracking=tensorboard", "tensorboard"),
    # The first model's name
    ("model_name=my model", r"\(got 'my model'\)"),
    ("model_name=lambda", "is a Python keyword"),
    ("model_name=core", "is reserved"),
    ("model_name=nul", "'nul' is a name Windows reserves"),
    (f"model_name={TOO_LONG}", r"too long: at most 33 characters fit SageMaker's 63-character names"),
    # --data itself
    ("colour=blue", r"unknown question 'colour' in --data: `scaffold new` answers .*project_title"),
    ("kind=model", "conflicts with `scaffold new`, which sets kind='project'"),
    ("novalue", "not of the form key=value"),
]
# `scaffold add-model <name>` refused with exit code 2: (the model's name, the one-line message: a regex).
ADD_REFUSED = [
    ("a" * 250, "250 characters, at most 33 fit SageMaker's 63-character names"),
    (TOO_LONG, "34 characters, at most 33"),
    ("lpt1", "Windows cannot create a folder of that name"),
    ("Churn", "invalid model name 'Churn'"),
    ("class", "Python keyword"),
    ("core", "clashes with a module"),
]
# (argv, exit code, the one-line message: a regex)
TABLE = [
    *((new(item), 2, message) for item, message in NEW_REFUSED),
    *((add(name), 2, message) for name, message in ADD_REFUSED),
    (new("project_name=" + "p" * 30, "model_name=" + "m" * 14), 2, "at most 13 characters"),
    (new("package_name=a", "package_name=b"), 2, "package_name is given twice"),
    (["new", "{taken}"], 3, "exists and is not empty"),
    (new("description=breaks"), 4, "cannot render: 'no_such_answer' is undefined"),
    (["new", "{empty}", "-d", "description=breaks"], 4, "cannot render"),  # it stays, empty
    (add("classifier"), 3, "exists already"),
    (add("churn", "-d", "model_name=other"), 2, "conflicts with `scaffold add-model`, which sets model_name='churn'"),
    (add("churn", "-d", "package_name=other"), 2, "which sets package_name='ml_project'"),
    (add("churn", "-d", "tracking=none"), 2, "unknown question 'tracking' in --data: .* answers kind, model_name, "),
    (add("churn", "-d", "starter=text-classifier", "--starter", "image-classifier"), 2, "starter is given twice"),
    (add("churn", "--starter", "audio-tagger"), 2, "audio-tagger"),
    (add("breaks"), 4, "cannot render: 'no_such_answer' is undefined"),  # fails after the model folder exists
]


@pytest.mark.parametrize(("argv", "code", "message"), TABLE, ids=lambda value: repr(value)[:60])
def test_bad_input_is_refused_with_one_line_and_changes_nothing(tmp_path, template, project, argv, code, message):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    before = _state(project)
    (tmp_path / "empty").mkdir()
    places = {"dest": tmp_path / "new", "project": project, "taken": taken, "empty": tmp_path / "empty"}
    args = [arg.format(**places) if arg.startswith("{") else arg for arg in argv]
    if args[0] == "new":
        args += ["--template", str(template)]
    result = scaffold(*args)
    assert result.exit_code == code, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len([line for line in lines if line.startswith("error:")]) == 1, result.output
    assert re.search(message, result.output), result.output
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]
    assert not any((tmp_path / "empty").iterdir())
    assert _state(project) == before


def _state(project: Path) -> tuple[str, list[str]]:
    """What a failed add-model must not change: git's view of the project, and its model folders."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--ignored"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return status, sorted(p.name for p in (project / MODELS).iterdir())


def test_add_model_accepts_a_model_name_in_data_that_agrees_with_its_argument(tmp_path, template):
    project = render(tmp_path / "project", src=template)
    result = scaffold(
        "add-model", "churn", "--project", project, "-d", "model_name=churn", "--starter", "text-classifier"
    )
    assert result.exit_code == 0, result.output
    assert (project / MODELS / "churn" / "contract.py").is_file()


@pytest.mark.parametrize(
    ("answer", "message"), [("package_name", "is a Python keyword"), ("model_name", "is reserved")]
)
def test_plain_copier_refuses_before_writing(tmp_path, template, answer, message):
    value = {"package_name": "class", "model_name": "cli"}[answer]
    with pytest.raises(ValueError, match=message):
        copier.run_copy(str(template), tmp_path / "project", data={answer: value}, defaults=True, quiet=True)
    assert not (tmp_path / "project").exists()


def test_taken_names_cover_this_python_and_every_dependency_of_the_project():
    assert {name.lower() for name in sys.stdlib_module_names} <= names.STDLIB
    pyproject = (ROOT / "template" / "pyproject.toml.jinja").read_text()
    wanted = {_canonical(d) for d in re.findall(r'^\s*"([A-Za-z0-9_.-]+)[\[<>=~!]', pyproject, re.MULTILINE)}
    wanted |= {_canonical(d) for d in re.findall(r'= \["([A-Za-z0-9_.-]+)[<>=]', pyproject)}
    providers = importlib.metadata.packages_distributions()
    installed = {module.lower() for module, dists in providers.items() if wanted & {_canonical(d) for d in dists}}
    assert len(installed) > 20  # the dependencies are installed here, so the check has teeth
    assert installed <= names.DEPENDENCIES, sorted(installed - names.DEPENDENCIES)


def _canonical(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_model_name_limits_follow_the_resource_prefix():
    prefix = "a" * 30
    assert names.check_model_name("m" * 13, prefix) and names.longest_model_name("ml-project") == 33
    model_in_prod = f"{prefix}--{'m' * 13}-{names.LONGEST_STAGE}-{'0' * 12}"  # infra/model.yaml's ModelName
    assert len(model_in_prod) == names.SAGEMAKER_NAME_MAX
    assert names.resource_prefix("Churn.Models__v2") == "churn-models-v2"
