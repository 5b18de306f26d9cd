"""Update a generated project, then each model, to a template version; report what moved.

Copier updates one answers file at a time and needs a clean tree for each. scaffold runs the
project first, then every model, committing after each step on a temporary basis; at the end
the temporary commits are dropped, all changes stay staged for review, and every conflict is
recorded in the index as unmerged (as a git merge leaves it), so git refuses to commit it until
it is resolved. If any step fails, or a signal stops it, the project's files are put back as they were.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import answers, compiles, conflicts, copier_runs, core_pin, mirror, repo, signals, template
from .errors import ConflictError, InvalidInputError, TemplateError, from_copier, unknown_revision


@dataclass
class Step:
    """One answers file's update."""

    target: str  # "project" or a model name
    answers_file: Path  # relative to the project root
    before: str | None
    old_answers: dict = field(default_factory=dict)
    after: str | None = None
    changed: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unmerged: list[str] = field(default_factory=list)  # `git update-index --index-info` lines


@dataclass(frozen=True)
class Report:
    """What an update did: its steps, and the model folders it could not reach (no answers file)."""

    steps: list[Step]
    orphans: list[str]


def plan(project: answers.Project, only: str | None) -> list[Step]:
    """The steps of an update: the project, then every model (or just `only`)."""
    parts = [("project", project.answers)] + [(model.path.parent.name, model) for model in project.models()]
    steps = [Step(name, part.path.relative_to(project.root), part.version, part.data) for name, part in parts]
    if only is not None:
        steps = [step for step in steps if step.target == only]
        if not steps:
            known = ", ".join(name for name, _ in parts)
            raise InvalidInputError(f"--only {only}: not the project or one of its models ({known})")
    for step in steps:
        if not step.before:
            raise TemplateError(
                f"{step.answers_file} records no template version (_commit): set it to the version "
                "the files came from, or remove the file and `scaffold adopt` the model"
            )
    return steps


def update(
    project_dir: Path,
    vcs_ref: str | None = None,
    only: str | None = None,
    new_source: str | None = None,
    data: dict[str, str] | None = None,
) -> Report:
    """Run every step (after pointing every answers file at `new_source`, if given); `data` changes project answers."""
    project = answers.open_project(project_dir)
    steps = plan(project, only)
    data = data or {}
    if data and only not in (None, "project"):
        raise InvalidInputError(f"--data changes the project's answers: use it without --only {only}")
    core_pin.check_tag(project, data)
    source = template.normalize(new_source) if new_source else project.answers.source
    for step in [] if new_source else steps:
        template.check_reachable(step.old_answers.get("_src_path"), str(step.answers_file))
    checkout = repo.open_checkout(project.root)
    base = checkout.ensure_clean()
    try:
        with mirror.reuse_one_clone(source), compiles.shared():
            if new_source and source != project.answers.source:
                answers.repoint(project, source)
                checkout.checkpoint("scaffold update: template moved")
            for step in steps:
                _run(checkout, step, vcs_ref, data if step.target == "project" else {})
                checkout.checkpoint(f"scaffold update: {step.target}")
    except BaseException:
        with signals.deferred():  # Ctrl-C or `kill` included: put everything back first
            checkout.restore(base)
        raise
    with signals.deferred():  # all or nothing: conflicts are never left staged as resolved
        checkout.uncommit(base)
        if entries := [entry for step in steps for entry in step.unmerged]:
            checkout.mark_unmerged(entries)
    return Report(steps, project.orphan_models() if only is None else [])


def conflict_error(steps: list[Step]) -> ConflictError | None:
    """The error to end with when any step left conflicts."""
    files = [path for step in steps for path in step.conflicts]
    if not files:
        return None
    return ConflictError(
        f"conflicts in {', '.join(files)}: unmerged until resolved (see `git status`); resolve, `git add`, commit"
    )


def _run(checkout: repo.Checkout, step: Step, vcs_ref: str | None, data: dict[str, str]) -> None:
    from copier.errors import CopierError  # here, so `scaffold list` starts without copier

    try:
        copier_runs.update(checkout.root, step.answers_file, vcs_ref, data)
        updated = answers.read(checkout.root / step.answers_file)
        step.after = updated.version
        status = checkout.status()
        step.changed = sorted(path for _, path in status)
        step.unmerged = checkout.unmerged()
        step.unmerged += conflicts.marked_files(checkout, step.changed, step.unmerged)
        if deleted := [path for code, path in status if code == " D"]:
            with _rendered_before(checkout, step, updated.source) as old:
                step.unmerged += conflicts.edited_deletions(checkout, deleted, old)
    except (CopierError, ValueError) as error:
        problem = from_copier(error, vcs_ref)
        if unknown_revision(error) == step.before != vcs_ref:
            problem = TemplateError(
                f"{problem}: {step.answers_file} records it (_commit); set it to a tag of the template"
            )
        raise type(problem)(f"{step.target}: {problem}") from error
    step.conflicts = sorted({entry.split("\t", 1)[1].removeprefix(checkout.prefix) for entry in step.unmerged})


@contextmanager
def _rendered_before(checkout: repo.Checkout, step: Step, source: str) -> Iterator[Path]:
    """A temporary folder holding the step's part as its old version rendered it (before the user's edits)."""
    data = {key: value for key, value in step.old_answers.items() if not key.startswith("_")}
    with tempfile.TemporaryDirectory(prefix="scaffold-old-") as folder:
        old = Path(folder)
        if step.target != "project":  # a model reads the project's answers
            shutil.copyfile(checkout.root / answers.PROJECT_ANSWERS, old / answers.PROJECT_ANSWERS)
        copier_runs.copy(source, old, data, step.before, step.answers_file)
        yield old
