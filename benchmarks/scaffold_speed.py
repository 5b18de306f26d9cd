"""How much `scaffold` costs on top of copier itself; prints ratios in one run.

    .venv/bin/python benchmarks/scaffold_speed.py [--repeat N]

- `scaffold add-model` against bare `copier --version` (copier's own start-up);
- `scaffold update` of a project with 5 models against one project-only `copier update`.

Each figure is the median wall time of N runs of the real command line, on a template history
built in a temporary folder (this template, tagged v1.0.0 and v1.1.0).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
MODELS = ["churn", "fraud", "ranking", "forecast"]  # plus the first model: 5 in all


def sh(*command: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(c) for c in command], cwd=cwd, check=True, capture_output=True)


def commit(repo: Path, message: str) -> None:
    sh("git", "add", "-A", cwd=repo)
    sh("git", *GIT_ID, "commit", "-qm", message, cwd=repo)


def timed(command: list, cwd: Path, reset: Path | None, repeat: int) -> float:
    """Median seconds of `command`; `reset` is a repository put back to HEAD after each run."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([str(c) for c in command], cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        if reset:
            sh("git", "reset", "-q", "--hard", cwd=reset)
            sh("git", "clean", "-fdq", cwd=reset)
    return statistics.median(times)


def template_history(folder: Path) -> Path:
    repo = folder / "template"
    repo.mkdir()
    for part in ("copier.yml", "template", "core_template"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy2
        copy(ROOT / part, repo / part, **({"symlinks": True} if (ROOT / part).is_dir() else {}))
    sh("git", "init", "-q", cwd=repo)
    commit(repo, "v1.0.0")
    sh("git", "tag", "v1.0.0", cwd=repo)
    return repo


def release(repo: Path) -> None:
    model = repo / "core_template/src/{{package_name}}/models/{{model_name}}/inference.py"
    model.write_text(model.read_text().replace("calls these four", "calls these four (v1.1)"))
    (repo / "template/CHANGELOG.md").write_text("v1.1.0\n")
    commit(repo, "v1.1.0")
    sh("git", "tag", "v1.1.0", cwd=repo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = template_history(folder)
        project = folder / "project"
        sh(BIN / "scaffold", "new", project, "--template", template)
        sh("git", "init", "-q", cwd=project)
        commit(project, "generated")

        copier_start = timed([BIN / "copier", "--version"], folder, None, repeat)
        add_model = timed([BIN / "scaffold", "add-model", "extra", "-p", project], folder, project, repeat)

        for model in MODELS:
            sh(BIN / "scaffold", "add-model", model, "-p", project)
        commit(project, "five models")
        release(template)
        copier_update = timed([BIN / "copier", "update", "--defaults", "--quiet"], project, project, repeat)
        scaffold_update = timed([BIN / "scaffold", "update", "-p", project], folder, project, repeat)

    print(f"copier --version                       {copier_start:6.2f} s")
    print(f"scaffold add-model                     {add_model:6.2f} s   ratio {add_model / copier_start:5.2f}x")
    print(f"copier update (project only)           {copier_update:6.2f} s")
    print(
        f"scaffold update (project + 5 models)   {scaffold_update:6.2f} s   "
        f"ratio {scaffold_update / copier_update:5.2f}x  ({scaffold_update / copier_update / 6:4.2f}x per part)"
    )


if __name__ == "__main__":
    main()
