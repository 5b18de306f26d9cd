"""Render the template: a new project, or a new model inside an existing project."""

from __future__ import annotations

import shutil
from pathlib import Path

import copier
from copier.errors import CopierError

from . import answers, template
from .errors import DestinationError, InvalidInputError, from_copier
from .names import check_model_name


def parse_data(items: list[str]) -> dict[str, str]:
    """`key=value` items as a dict."""
    data = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--data '{item}' is not of the form key=value")
        data[key.strip()] = value
    return data


def new_project(dest: Path, source: str, data: dict[str, str], vcs_ref: str | None) -> Path:
    """Render a whole project into `dest`, which must not exist or be empty."""
    dest = Path(dest).resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DestinationError(f"{dest} exists and is not empty: choose a new folder")
    cleanup = [] if dest.exists() else [dest]
    _render(source, dest, {**data, "kind": "project"}, vcs_ref, None, cleanup)
    return dest


def add_model(project_dir: Path, name: str, data: dict[str, str], vcs_ref: str | None) -> Path:
    """Render a model folder (with tests and its own answers file) into a generated project."""
    project = answers.open_project(project_dir)
    check_model_name(name)
    folder, tests, samples = (
        project.models_dir / name,
        project.root / "tests" / "models" / name,
        project.samples_dir / name,
    )
    if folder.exists() or tests.exists():
        raise DestinationError(f"model '{name}' exists already in {project.root}: pick another name")
    if samples.exists():
        raise DestinationError(
            f"{samples} exists already (the new model's sample data would go there): pick another name"
        )
    source = project.answers.source
    model_data = {**data, "kind": "model", "model_name": name, "package_name": project.package}
    answers_file = project.model_answers_path(name).relative_to(project.root)
    _render(
        source, project.root, model_data, vcs_ref or project.answers.version, answers_file, [folder, tests, samples]
    )
    return folder


def _render(
    source: str, dest: Path, data: dict, vcs_ref: str | None, answers_file: Path | None, cleanup: list[Path]
) -> None:
    """Run copier; on failure remove the folders in `cleanup` (those this render created)."""
    try:
        copier.run_copy(
            source,
            dest,
            data=data,
            answers_file=answers_file,
            vcs_ref=vcs_ref,
            defaults=True,
            unsafe=False,
            quiet=True,
        )
    except (ValueError, CopierError) as error:
        for path in cleanup:
            shutil.rmtree(path, ignore_errors=True)
        raise from_copier(error, vcs_ref) from error


def resolve_source(given: str | None) -> str:
    return template.normalize(given) if given else template.default_source()
