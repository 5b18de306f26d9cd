"""Update a generated project, then each model, to a template version; report what moved.

Copier updates one answers file at a time and needs a clean tree for each. scaffold runs the
project first, then every model, committing after each step on a temporary basis; at the end
the temporary commits are dropped, all changes stay staged for review, and every conflict is
recorded in the index as unmerged (as a git merge leaves it), so git refuses to commit it until
it is resolved. If any step fails, or a signal stops it, the project's files are put back as they were.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import answers, compiles, core_pin, mirror, repo, signals, template
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
) -> list[Step]:
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
                repoint(project, source)
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
    return steps


def repoint(project: answers.Project, source: str) -> None:
    """Record `source` as the template of the project and of every model (their comment header kept)."""
    for part in [project.answers, *project.models()]:
        text = part.path.read_text()
        header = "".join(itertools.takewhile(lambda line: line.startswith("#"), text.splitlines(keepends=True)))
        blank_end = text[len(text.rstrip("\n")) + 1 :]
        # as copier's `to_nice_yaml` writes answers, so no other line changes
        body = yaml.safe_dump(part.data | {"_src_path": source}, indent=4, allow_unicode=True, default_flow_style=False)
        part.path.write_text(header + body + blank_end)


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
        _copier_update(checkout.root, step.answers_file, vcs_ref, data)
        updated = answers.read(checkout.root / step.answers_file)
        step.after = updated.version
        status = checkout.status()
        step.changed = sorted(path for _, path in status)
        step.unmerged = checkout.unmerged()
        step.unmerged += _marked_files(checkout, step.changed, step.unmerged)
        if deleted := [path for code, path in status if code == " D"]:
            step.unmerged += _edited_deletions(checkout, step, deleted, updated.source)
    except (CopierError, ValueError) as error:
        problem = from_copier(error, vcs_ref)
        if unknown_revision(error) == step.before != vcs_ref:
            problem = TemplateError(
                f"{problem}: {step.answers_file} records it (_commit); set it to a tag of the template"
            )
        raise type(problem)(f"{step.target}: {problem}") from error
    step.conflicts = sorted({entry.split("\t", 1)[1].removeprefix(checkout.prefix) for entry in step.unmerged})


def _copier_update(root: Path, answers_file: Path, vcs_ref: str | None, data: dict[str, str]) -> None:
    import copier
    from copier.errors import MissingFileWarning

    with warnings.catch_warnings():
        # copier renders a model's old version where the project's answers are not (copier #2202)
        warnings.simplefilter("ignore", MissingFileWarning)
        copier.run_update(
            root,
            answers_file=answers_file,
            vcs_ref=vcs_ref,
            data=data,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            unsafe=False,
            quiet=True,
            conflict="inline",
        )


def _marked_files(checkout: repo.Checkout, paths: list[str], unmerged: list[str]) -> list[str]:
    """Conflict entries for changed files holding copier's inline markers but not marked unmerged."""
    known = {entry.split("\t", 1)[1] for entry in unmerged}
    entries = []
    for path in paths:
        file = checkout.root / path
        if checkout.prefix + path in known or not file.is_file():
            continue
        text = file.read_text(errors="replace")
        if "<<<<<<< before updating" in text and ">>>>>>> after updating" in text:
            ours = checkout.blob("HEAD", path)
            mode = ours[0] if ours else "100644"
            entries += [f"{mode} {ours[1]} 2\t{checkout.prefix}{path}"] if ours else []
            entries.append(f"{mode} {checkout.store(file)} 3\t{checkout.prefix}{path}")
    return entries


def _edited_deletions(checkout: repo.Checkout, step: Step, deleted: list[str], source: str) -> list[str]:
    """Files the new version deletes that the user had changed: put back, as "deleted by them" conflicts."""
    import copier

    data = {key: value for key, value in step.old_answers.items() if not key.startswith("_")}
    entries = []
    with tempfile.TemporaryDirectory(prefix="scaffold-old-") as folder:
        old = Path(folder)
        if step.target != "project":  # a model reads the project's answers
            shutil.copyfile(checkout.root / answers.PROJECT_ANSWERS, old / answers.PROJECT_ANSWERS)
        copier.run_copy(
            source,
            old,
            data=data,
            vcs_ref=step.before,
            answers_file=step.answers_file,
            defaults=True,
            quiet=True,
            unsafe=False,
        )
        for path in deleted:
            ours = checkout.blob("HEAD", path)
            base = checkout.store(old / path) if (old / path).is_file() else None
            if ours is None or base is None or base == ours[1]:
                continue  # unchanged since the template made it: its deletion stands
            full = checkout.prefix + path
            checkout.git("checkout", "HEAD", "--", full)
            entries += [f"{ours[0]} {base} 1\t{full}", f"{ours[0]} {ours[1]} 2\t{full}"]
    return entries
