"""Bad generator input: each refused with one line and its exit code, nothing written or changed.

The table runs `scaffold new` and `scaffold add-model` in-process against a copy of this template
that is not a git repository (copier then reads it in place: no clone per row, so the table is fast).
"""

from __future__ import annotations

import ast
import importlib.metadata
import keyword
import re
import shutil
import subprocess
import sys
from pathlib import Path

import copier
import pytest
import yaml
from conftest import ROOT, TEMPLATE_PARTS, commit_all, git, render, scaffold
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


# (argv, exit code, the one-line message: a regex)
TABLE = [
    # Names of the package, the project and its AWS resources
    (new("package_name=class"), 2, "'class' is a Python keyword"),
    (new("package_name=1abc"), 2, r"not starting with a digit \(got '1abc'\)"),
    (new("package_name=my-pkg"), 2, r"\(got 'my-pkg'\)"),
    (new("package_name="), 2, r"\(got ''\)"),
    (new("package_name=os"), 2, "'os' would shadow the module of that name in the standard library"),
    (new("package_name=json"), 2, "'json' would shadow"),
    (new("package_name=numpy"), 2, "'numpy' would shadow"),
    (new("package_name=yaml"), 2, "'yaml' would shadow"),
    (new("package_name=tests"), 2, "'tests' would shadow"),
    (new("project_title=Json"), 2, "'json' would shadow"),  # a derived default is validated too
    (new("package_name=con"), 2, "'con' is a name Windows reserves"),
    (new("project_name=-bad-"), 2, "Project name must be"),
    (new("resource_prefix=Fraud"), 2, "Resource prefix must be 1-30 lower-case"),
    (new("resource_prefix=fraud--x"), 2, "Resource prefix must be"),
    (new("resource_prefix=" + "r" * 31), 2, "Resource prefix must be"),
    # Free text: one line, no control characters
    (new("project_title=Fraud\nDetection"), 2, "Project title must be one line of text"),
    (new("description=two\nlines"), 2, "Description must be one line of text"),
    (new("description=nul\x00byte"), 2, "Description must be one line"),
    (new("description=line\u2028separator"), 2, "Description must be one line"),
    (new("author_name=tab\there"), 2, "Author name must be one line"),
    (new("author_email=nobody"), 2, "'nobody' is not an e-mail address"),
    (new('author_email=a"b@example.com'), 2, "is not an e-mail address"),
    (new("author_email=a b@example.com"), 2, "is not an e-mail address"),
    (new("aws_region=mars-1"), 2, "is not an AWS region name"),
    (new("tracking=tensorboard"), 2, "tensorboard"),
    # The first model's name
    (new("model_name=Classifier"), 2, r"\(got 'Classifier'\)"),
    (new("model_name=my model"), 2, r"\(got 'my model'\)"),
    (new("model_name=lambda"), 2, "is a Python keyword"),
    (new("model_name=core"), 2, "is reserved"),
    (new("model_name=nul"), 2, "'nul' is a name Windows reserves"),
    (new(f"model_name={TOO_LONG}"), 2, r"too long: at most 33 characters fit SageMaker's 63-character names"),
    (new("project_name=" + "p" * 30, "model_name=" + "m" * 14), 2, "at most 13 characters"),
    # --data itself
    (new("colour=blue"), 2, r"unknown question 'colour' in --data: `scaffold new` answers .*project_title"),
    (new("kind=model"), 2, "conflicts with `scaffold new`, which sets kind='project'"),
    (new("novalue"), 2, "not of the form key=value"),
    (new("package_name=a", "package_name=b"), 2, "package_name is given twice"),
    (["new", "{taken}"], 3, "exists and is not empty"),
    (new("description=breaks"), 4, "cannot render: 'no_such_answer' is undefined"),
    (["new", "{empty}", "-d", "description=breaks"], 4, "cannot render"),  # it stays, empty
    # add-model: the name, then --data
    (add("a" * 250), 2, "250 characters, at most 33 fit SageMaker's 63-character names"),
    (add(TOO_LONG), 2, "34 characters, at most 33"),
    (add("con"), 2, "Windows cannot create a folder of that name"),
    (add("lpt1"), 2, "Windows cannot create"),
    (add("Churn"), 2, "invalid model name 'Churn'"),
    (add("class"), 2, "Python keyword"),
    (add("core"), 2, "clashes with a module"),
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


# copier.yml carries the lists of generator/scaffold/names.py: both must agree.


def _validator_lists(question: str) -> list[list[str]]:
    validator = yaml.safe_load((ROOT / "copier.yml").read_text())[question]["validator"]
    return [ast.literal_eval(found) for found in re.findall(rf"{question} in (\[[^\]]*\])", validator)]


def test_copier_yml_refuses_the_names_the_generator_refuses():
    keywords, shadowed, windows = _validator_lists("package_name")
    assert keywords == [word for word in keyword.kwlist if word.islower()]
    assert shadowed == sorted(names.SHADOWED), "paste sorted(scaffold.names.SHADOWED) into copier.yml"
    assert windows == sorted(names.WINDOWS_RESERVED)
    model_keywords, reserved, model_windows = _validator_lists("model_name")
    assert model_keywords == keywords and model_windows == windows
    assert reserved == sorted(names.MODEL_RESERVED)
    budget = names.SAGEMAKER_NAME_MAX - names.RELEASE_SUFFIX - len("---" + names.LONGEST_STAGE)
    assert f"> {budget} - resource_prefix | length" in (ROOT / "copier.yml").read_text()


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
