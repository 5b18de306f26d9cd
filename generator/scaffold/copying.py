"""Render the template: a new project, or a new model inside an existing project."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from . import answers, copier_runs, questions, signals, template
from .errors import DestinationError, InvalidInputError
from .names import check_model_name


def parse_data(items: list[str]) -> dict[str, str]:
    """`key=value` items as a dict; a key given twice with two values is refused."""
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"--data '{item}' is not of the form key=value")
        set_once(data, key.strip(), value)
    return data


def set_once(data: dict[str, str], key: str, value: str | None) -> dict[str, str]:
    """`data` with `key` set to `value` (None: unchanged), refusing a different value set already."""
    if value is not None:
        if data.get(key, value) != value:
            raise InvalidInputError(f"{key} is given twice, as '{data[key]}' and as '{value}': give it once")
        data[key] = value
    return data


def new_project(dest: Path, source: str, data: dict[str, str], vcs_ref: str | None) -> Path:
    """Render a whole project into `dest`, which must not exist or be empty."""
    dest = Path(dest).resolve()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise DestinationError(f"{dest} exists and is not empty: choose a new folder")
    fixed = {"kind": "project"}
    questions.check(data, questions.known(source, vcs_ref, "project"), fixed, "scaffold new")
    created = (lambda: list(dest.iterdir())) if dest.exists() else (lambda: [dest])
    with _removed_on_failure(created):
        _render(source, dest, {**data, **fixed}, vcs_ref, None)
    return dest


def add_model(project_dir: Path, name: str, data: dict[str, str], vcs_ref: str | None) -> Path:
    """Render a model folder (with tests and its own answers file) into a generated project."""
    project = answers.open_project(project_dir)
    if project.answers.data.get("layout") == "core":
        raise InvalidInputError(
            f"{project.root} is a core repository (layout=core): its models live in models repositories "
            "(layout=models), so its package ships no model"
        )
    check_model_name(name, project.resource_prefix)
    folders = (project.models_dir / name, project.root / "tests" / "models" / name, project.samples_dir / name)
    if folders[0].exists() or folders[1].exists():
        raise DestinationError(f"model '{name}' exists already in {project.root}: pick another name")
    if folders[2].exists():
        raise DestinationError(
            f"{folders[2]} exists already (the new model's sample data would go there): pick another name"
        )
    source, version = project.answers.source, vcs_ref or project.answers.version
    fixed = {"kind": "model", "model_name": name, "package_name": project.package}
    questions.check(data, questions.known(source, version, "model"), fixed, "scaffold add-model")
    answers_file = project.model_answers_path(name).relative_to(project.root)
    created = _first_new(project.root, folders)
    with _removed_on_failure(lambda: created):
        _render(source, project.root, {**data, **fixed}, version, answers_file)
    return folders[0]


def _first_new(root: Path, paths: Iterable[Path]) -> list[Path]:
    """For each path, its outermost folder below `root` that does not exist yet (what a render would create)."""
    created = []
    for path in paths:
        while path.parent != root and not path.parent.exists():
            path = path.parent
        created.append(path)
    return created


@contextmanager
def _removed_on_failure(created: Callable[[], list[Path]]) -> Iterator[None]:
    """If the block fails in any way (Ctrl-C included), remove what `created()` lists, then re-raise."""
    try:
        yield
    except BaseException:
        with signals.deferred():
            for path in created():
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)
        raise


def _render(source: str, dest: Path, data: dict, vcs_ref: str | None, answers_file: Path | None) -> None:
    """Run copier, turning its failures and the disk's into a ScaffoldError."""
    try:
        with copier_runs.reported(vcs_ref):
            copier_runs.copy(source, dest, data, vcs_ref, answers_file)
    except OSError as error:
        raise DestinationError(f"cannot write {error.filename or dest}: {error.strerror or error}") from error


def resolve_source(given: str | None) -> str:
    return template.normalize(given) if given else template.default_source()
