"""Update a generated project, then each model, to a template version; report what moved.

Copier updates one answers file at a time and needs a clean git tree for each. scaffold runs
the project first, then every model, committing after each step on a temporary basis; at the
end the temporary commits are dropped and all changes stay staged for the user to review. If
any step fails, the tree is put back as it was. Conflicts do not stop the run (copier reports
none: they are found in git) but make it end with an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import copier
from copier.errors import CopierError

from . import answers, mirror, repo
from .errors import ConflictError, InvalidInputError, from_copier


@dataclass
class Step:
    """One answers file's update."""

    target: str  # "project" or a model name
    answers_file: Path  # relative to the project root
    before: str | None
    after: str | None = None
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def plan(project: answers.Project, only: str | None) -> list[Step]:
    """The steps of an update: the project, then every model (or just `only`)."""
    steps = [Step("project", Path(answers.PROJECT_ANSWERS), project.answers.version)]
    for model in project.models():
        steps.append(Step(model.path.parent.name, model.path.relative_to(project.root), model.version))
    if only is None:
        return steps
    chosen = [step for step in steps if step.target == only]
    if not chosen:
        known = ", ".join(step.target for step in steps)
        raise InvalidInputError(f"--only {only}: not the project or one of its models ({known})")
    return chosen


def update(project_dir: Path, vcs_ref: str | None = None, only: str | None = None) -> list[Step]:
    """Run every step; returns them with what changed and what conflicts."""
    project = answers.open_project(project_dir)
    steps = plan(project, only)
    base = repo.ensure_clean(project.root)
    try:
        with mirror.reuse_one_clone(project.answers.source):
            for step in steps:
                _run(project.root, step, vcs_ref)
                repo.checkpoint(project.root, f"scaffold update: {step.target}")
    except BaseException:
        repo.restore(project.root, base)
        raise
    repo.keep_changes_uncommitted(project.root, base)
    return steps


def conflict_error(steps: list[Step]) -> ConflictError | None:
    """The error to end with when any step left conflicts."""
    files = [path for step in steps for path in step.conflicts]
    return ConflictError(f"conflicts in {', '.join(files)}: resolve them, then commit") if files else None


def _run(root: Path, step: Step, vcs_ref: str | None) -> None:
    try:
        copier.run_update(
            root,
            answers_file=step.answers_file,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            unsafe=False,
            quiet=True,
            conflict="inline",
        )
    except (CopierError, ValueError) as error:
        problem = from_copier(error, vcs_ref)
        raise type(problem)(f"{step.target}: {problem}") from error
    step.after = answers.read(root / step.answers_file).version
    step.changed = repo.changed_files(root)
    step.conflicts = sorted(set(repo.conflicted_files(root)) | set(_files_with_markers(root, step.changed)))


def _files_with_markers(root: Path, paths: list[str]) -> list[str]:
    """Changed files holding copier's inline conflict markers but not marked unmerged."""
    marked = []
    for path in paths:
        file = root / path
        if file.is_file() and not path.endswith(".rej"):
            text = file.read_text(errors="replace")
            if "<<<<<<< before updating" in text and ">>>>>>> after updating" in text:
                marked.append(path)
    return marked
