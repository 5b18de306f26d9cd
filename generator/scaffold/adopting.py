"""Give a model folder that lost its answers file a new one, so updates reach it again."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import answers, template
from .errors import DestinationError, InvalidInputError, TemplateError, from_copier


def adopt(project_dir: Path, name: str, starter: str | None, vcs_ref: str | None) -> Path:
    """Write `name`'s answers file as the template at `vcs_ref` (default: the project's version) writes it."""
    project = answers.open_project(project_dir)
    if not name.isidentifier():
        raise InvalidInputError(f"invalid model name '{name}': a model folder's name is a Python identifier")
    folder, answers_file = project.models_dir / name, project.model_answers_path(name)
    if not folder.is_dir():
        raise DestinationError(f"no model folder {folder}: `scaffold add-model {name}` creates one")
    if answers_file.exists():
        raise DestinationError(f"model '{name}' has its answers file already ({answers_file}): nothing to adopt")
    version = vcs_ref or project.answers.version
    if not version:
        raise TemplateError(f"{project.answers.path} records no template version: pass --vcs-ref")
    source = template.check_reachable(project.answers.source, str(project.answers.path))
    data = {"kind": "model", "model_name": name, "package_name": project.package}
    data |= {"starter": starter} if starter else {}
    relative = answers_file.relative_to(project.root)
    with tempfile.TemporaryDirectory(prefix="scaffold-adopt-") as folder_copy:
        shutil.copyfile(project.answers.path, Path(folder_copy) / answers.PROJECT_ANSWERS)  # what a model reads
        _render(source, Path(folder_copy), data, version, relative)
        shutil.copyfile(Path(folder_copy) / relative, answers_file)
    return answers_file


def _render(source: str, dest: Path, data: dict, version: str, answers_file: Path) -> None:
    """The model as the template renders it at `version`, into a scratch folder."""
    import copier
    from copier.errors import CopierError

    try:
        copier.run_copy(
            source, dest, data=data, vcs_ref=version, answers_file=answers_file, defaults=True, unsafe=False, quiet=True
        )
    except (ValueError, CopierError) as error:
        raise from_copier(error, version) from error
