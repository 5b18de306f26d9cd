"""Give a model folder that lost its answers file a new one, so updates reach it again."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from . import answers, compiles, copier_runs, mirror, questions, signals, template
from .errors import DestinationError, InvalidInputError, TemplateError


def adopt(project_dir: Path, name: str, starter: str | None, vcs_ref: str | None) -> tuple[Path, str]:
    """Write `name`'s answers file as the template at `vcs_ref` (default: the project's version) writes it.

    Without `starter`, the one whose render matches the model's files clearly best; the file and the starter.
    """
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
    with tempfile.TemporaryDirectory(prefix="scaffold-adopt-") as scratch, mirror.reuse_one_clone(source):
        with compiles.shared():
            starter = starter or _detect_starter(project, name, source, version, Path(scratch))
            rendered = _render(project, name, source, version, starter, Path(scratch) / "chosen")
        with signals.deferred():  # never half a file
            shutil.copyfile(rendered / answers_file.relative_to(project.root), answers_file)
    return answers_file, starter


def _detect_starter(project: answers.Project, name: str, source: str, version: str, scratch: Path) -> str:
    """The starter whose render of `name` is clearly closest to the model's files, or a one-line refusal."""
    starters = questions.choices(source, version, "starter")
    if starters is None:
        _render(project, name, source, version, None, scratch / "default")  # an unknown version fails here
        raise InvalidInputError(f"cannot read the template's starters here: pass --starter for model '{name}'")
    renders = {
        starter: _files(_render(project, name, source, version, starter, scratch / starter)) for starter in starters
    }
    scores = _scores(renders, project.root)
    ranked = sorted(scores, key=scores.__getitem__, reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]] if len(ranked) > 1 else 0.0
    if best < 1 or best < 2 * second:  # at least a file's worth, and twice as close as any other
        closest = ", ".join(f"{starter} {scores[starter]:.1f}" for starter in ranked)
        raise InvalidInputError(
            f"cannot tell which starter model '{name}' was made from (files matched: {closest}): pass --starter"
        )
    return ranked[0]


def _render(project: answers.Project, name: str, source: str, version: str, starter: str | None, dest: Path) -> Path:
    """The model as the template renders it at `version`, into the scratch folder `dest`."""
    dest.mkdir(parents=True)
    shutil.copyfile(project.answers.path, dest / answers.PROJECT_ANSWERS)  # what a model reads
    data = {"kind": "model", "model_name": name, "package_name": project.package}
    data |= {"starter": starter} if starter else {}
    answers_file = project.model_answers_path(name).relative_to(project.root)
    with copier_runs.reported(version):
        copier_runs.copy(source, dest, data, version, answers_file)
    return dest


def _files(root: Path) -> dict[str, bytes]:
    """The files a model render wrote (its answers files aside), by path."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.name.startswith(".copier-answers")
    }


def _scores(renders: dict[str, dict[str, bytes]], root: Path) -> dict[str, float]:
    """For each starter, how much of what only its render holds the project holds too, in files' worth."""
    paths = {path for files in renders.values() for path in files}
    scores = dict.fromkeys(renders, 0.0)
    for path in paths:
        mine = _lines((root / path).read_bytes()) if (root / path).is_file() else set()
        versions = {starter: _lines(files[path]) for starter, files in renders.items() if path in files}
        for starter, lines in versions.items():
            own = lines.difference(*(other for name, other in versions.items() if name != starter))
            scores[starter] += len(own & mine) / len(own) if own else 0.0
    return scores


def _lines(content: bytes) -> set[bytes]:
    """A text file's distinct non-blank lines; a binary file as one piece."""
    try:
        content.decode()
    except UnicodeDecodeError:
        return {content}
    return {line.strip() for line in content.splitlines() if line.strip()}
