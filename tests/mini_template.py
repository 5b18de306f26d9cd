"""A tiny template with the structure scaffold relies on, built per test (as copier's own tests build theirs).

Like the real one: one copier.yml whose `kind` (project | model) picks `_subdirectory` and `_answers_file`,
`template/` for the project (its first model linked in from the model template), `core_template/` for a
model with its own answers file, starters chosen by conditional folder names, and model folders excluded
from project updates. Each file holds a few lines, so tests assert exact text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from helpers import commit_all, git

COPIER_YML = """\
_subdirectory: "{{ 'template' if kind == 'project' else 'core_template' }}"
_answers_file: >-
  {{ '.copier-answers.yml' if kind == 'project'
     else 'src/' ~ package_name ~ '/models/' ~ model_name ~ '/.copier-answers.model.yml' }}
_external_data:
  project: .copier-answers.yml
_exclude:
  - "{% if kind == 'project' and _copier_operation == 'update' %}src/*/models/*/**{% endif %}"
  - "{% if kind == 'project' and _copier_operation == 'update' %}tests/models/*/**{% endif %}"
  - "{% if kind == 'project' and _copier_operation == 'update' %}data/samples/*/**{% endif %}"
kind: {type: str, choices: [project, model], default: project}
project_name: {type: str, when: "{{ kind == 'project' }}", default: ml-project}
package_name:
  type: str
  default: "{{ _external_data.project.package_name if kind == 'model' else project_name | replace('-', '_') }}"
model_name: {type: str, default: classifier}
starter: {type: str, choices: [tabular-classifier, text-classifier], default: tabular-classifier}
"""

MODEL = "src/{{package_name}}/models/{{model_name}}"
TABULAR = "src/{{package_name}}/models/{% if starter == 'tabular-classifier' %}{{model_name}}{% endif %}"
TEXT = "src/{{package_name}}/models/{% if starter == 'text-classifier' %}{{model_name}}{% endif %}"
TABULAR_SAMPLES = "data/samples/{% if starter == 'tabular-classifier' %}{{model_name}}{% endif %}"
TEXT_SAMPLES = "data/samples/{% if starter == 'text-classifier' %}{{model_name}}{% endif %}"
MODEL_TESTS = "tests/models/{{model_name}}"

INFERENCE = '"""Serving: the toolkit calls these four by name."""\n'
TABULAR_MODEL = '"""The network."""\n\nLAYERS = 2\nWIDTH = 16\nDROPOUT = 0.1\nACTIVATION = "relu"\n'
MODEL_ANSWERS = """\
# This model's own answers.
{% if kind == 'model' -%}
{{ _copier_answers | to_nice_yaml -}}
{% else -%}
{% for key in ['_commit', '_src_path'] if key in _copier_answers -%}
{{ {key: _copier_answers[key]} | to_nice_yaml -}}
{% endfor -%}
{{ {'kind': 'model', 'model_name': model_name, 'package_name': package_name, 'starter': starter} | to_nice_yaml -}}
{% endif %}"""

MODEL_FILES = {  # under core_template/
    f"{MODEL}/.copier-answers.model.yml.jinja": MODEL_ANSWERS,
    f"{MODEL}/__init__.py": '"""A model package."""\n',
    f"{MODEL}/inference.py": INFERENCE,
    f"{TABULAR}/model.py": TABULAR_MODEL,
    f"{TABULAR}/config.yaml": "max_epochs: 30\nlr: 0.01\n",
    f"{TABULAR}/requirements.txt": "numpy\n",
    f"{TEXT}/model.py": '"""A text network."""\n\nVOCABULARY = "vocab.txt"\nEMBEDDING = 32\n',
    f"{TEXT}/config.yaml": "max_epochs: 10\nvocab_size: 5000\n",
    f"{TEXT}/vocab.txt": "the\na\n",
    f"{MODEL_TESTS}/test_{{{{model_name}}}}.py.jinja": "from {{ package_name }}.models import {{ model_name }}\n",
    f"{TABULAR_SAMPLES}/rows.csv": "x,y\n1,0\n",
    f"{TEXT_SAMPLES}/texts.csv": "text,label\nhi,0\n",
}
PROJECT_FILES = {  # under template/
    "{{_copier_conf.answers_file}}.jinja": "# Changes here will be overwritten by Copier\n"
    "{{ _copier_answers | to_nice_yaml -}}\n",
    "README.md.jinja": "# {{ project_name }}\n",
    ".pre-commit-config.yaml": "repos: []\n",
    "src/{{package_name}}/__init__.py": "",
    "src/{{package_name}}/core/runs.py": '"""Local run folders."""\n',
    "src/{{package_name}}/core/pins.py": '"""Pinned versions."""\n',
    "src/{{package_name}}/models/__init__.py": "",
    "data/samples/README.md": "One folder per model.\n",
}
# The project's first model is the model template itself, linked in as the real template does.
FIRST_MODEL = (MODEL, TABULAR, TEXT, TABULAR_SAMPLES, TEXT_SAMPLES, MODEL_TESTS)


class Link(str):
    """A symbolic link's target, as a value of `build_file_tree`."""


def build_file_tree(root: Path, spec: Mapping[str, str | None]) -> None:
    """Write each path of `spec` below `root` with its text (a `Link`: a symlink to it; None: delete the path)."""
    for name, content in spec.items():
        path = root / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            path.symlink_to(content)
        else:
            path.write_text(content)


def template_files() -> dict[str, str]:
    """Every file of the template, by path from its root."""
    links = {
        f"template/{part}": Link(os.path.relpath(f"core_template/{part}", Path(f"template/{part}").parent))
        for part in FIRST_MODEL
    }
    return (
        {"copier.yml": COPIER_YML}
        | {f"template/{path}": text for path, text in PROJECT_FILES.items()}
        | {f"core_template/{path}": text for path, text in MODEL_FILES.items()}
        | links
    )


def make(repo: Path, extra: Mapping[str, str | None] | None = None) -> Path:
    """The template (with `extra` files) in the new git repository `repo`, tagged v1.0.0."""
    build_file_tree(repo, template_files() | dict(extra or {}))
    git("init", "-q", "-b", "main", cwd=repo)
    release(repo, "v1.0.0", {})
    return repo


def release(repo: Path, version: str, changes: Mapping[str, str | None]) -> None:
    """Apply `changes` (see `build_file_tree`) to the template in `repo`, commit and tag `version`."""
    build_file_tree(repo, changes)
    commit_all(repo, f"template {version}")
    git("tag", version, cwd=repo)
