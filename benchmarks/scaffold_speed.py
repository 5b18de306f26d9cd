"""What generating and updating cost: the command lines against copier's own start-up.

- rendering a project (`copier copy --defaults`) and `scaffold add-model`, each against bare
  `copier --version`;
- `scaffold list` of a project with 5 models against bare `copier --version` (it reads the answers
  files and the template's tags, without running copier);
- `scaffold update` of a project with 5 models against one project-only `copier update`.

Each figure is the median wall time of the real command line, on a template history built in
a temporary folder (this template, tagged v1.0.0 and v1.1.0). The list and update rows run
ours and the baseline in turn, so both meet the same load.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from project import BIN, Row, commit_all, make_template_repo, median_seconds, sh

MODELS = ["churn", "fraud", "ranking", "forecast"]  # plus the first model: 5 in all


def measure(folder: Path, repeat: int = 3) -> list[Row]:
    template = make_template_repo(folder / "template")
    project = folder / "project"
    copier_start = median_seconds(lambda: sh(BIN / "copier", "--version"), repeat)
    copy = median_seconds(
        lambda: sh(BIN / "copier", "copy", "--defaults", "--quiet", template, project),
        repeat,
        after=lambda: shutil.rmtree(project),
    )
    sh(BIN / "scaffold", "new", project, "--template", template)
    sh("git", "init", "-q", cwd=project)
    commit_all(project, "generated")
    add_model = median_seconds(
        lambda: sh(BIN / "scaffold", "add-model", "extra", "-p", project), repeat, after=lambda: reset(project)
    )
    for model in MODELS:
        sh(BIN / "scaffold", "add-model", model, "-p", project)
    commit_all(project, "five models")
    release(template)
    listing, list_start = paired(
        lambda: sh(BIN / "scaffold", "list", "-p", project), lambda: sh(BIN / "copier", "--version"), repeat
    )
    scaffold_update, copier_update = paired(
        lambda: sh(BIN / "scaffold", "update", "-p", project),
        lambda: sh(BIN / "copier", "update", "--defaults", "--quiet", cwd=project),
        repeat,
        after=lambda: reset(project),
    )
    start = f"`copier --version` {copier_start:.2f} s"
    return [
        Row("render a project (`copier copy`): time", f"{copy:.2f} s", start, copy / copier_start, "<= 5x"),
        Row("`scaffold add-model`: time", f"{add_model:.2f} s", start, add_model / copier_start, "<= 3x"),
        Row(
            "`scaffold list`, project + 5 models: time",
            f"{listing:.2f} s",
            f"`copier --version` {list_start:.2f} s",
            listing / list_start,
            "<= 1.5x",
        ),
        Row(
            "`scaffold update`, project + 5 models: time",
            f"{scaffold_update:.2f} s",
            f"project-only `copier update` {copier_update:.2f} s",
            scaffold_update / copier_update,
            "<= 2.5x (6 parts)",
        ),
    ]


def paired(
    ours: Callable[[], object], baseline: Callable[[], object], repeat: int, after: Callable[[], object] = lambda: None
) -> tuple[float, float]:
    """Median wall times of `ours` and `baseline`, run in turn so both meet the same load on a shared machine."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for action, spent in ((baseline, times[1]), (ours, times[0])):
            start = time.perf_counter()
            action()
            spent.append(time.perf_counter() - start)
            after()
    return statistics.median(times[0]), statistics.median(times[1])


def reset(repo: Path) -> None:
    sh("git", "reset", "-q", "--hard", cwd=repo)
    sh("git", "clean", "-fdq", cwd=repo)


def release(repo: Path) -> None:
    """Tag v1.1.0 with a change to every model and a new project file."""
    model = repo / "core_template/src/{{package_name}}/models/{{model_name}}/inference.py"
    model.write_text(model.read_text().replace("calls these four", "calls these four (v1.1)"))
    (repo / "template/CHANGELOG.md").write_text("v1.1.0\n")
    commit_all(repo, "v1.1.0")
    sh("git", "tag", "v1.1.0", cwd=repo)
