"""The files one model ships: its package code, and the artifacts its runs write for serving.

Both the inference bundle (`code/`) and a training job's source_dir carry the same code (the
core library's package with `core`, and the project package with its settings and that model;
one package in a monorepo), so the model imports the same way on this machine, in a training job
and on an endpoint. The core is copied from where it is installed: a models repository's bundles
carry the core version it pins. What never ships: caches, notebooks and the answers file are
left out; secrets and other dotfiles, and symlinks leading out of the project, are refused.
"""

from __future__ import annotations

from pathlib import Path

from ..basics import pins, project
from ..basics.errors import ProjectError
from ..catalog.model import Model

PACKAGE_DIR = Path(__file__).resolve().parents[2]  # the core library's package
LEFT_OUT = (
    "__pycache__",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".DS_Store",
    ".gitignore",
    ".gitkeep",
)
LEFT_OUT_SUFFIXES = (".pyc", ".pyo", ".ipynb")
ANSWERS_FILE = ".copier-answers.model.yml"
# What core's code imports beyond the AWS PyTorch images' torch and numpy; every job and bundle installs it.
CORE_REQUIREMENTS = ("omegaconf>=2.4,<3", "pyyaml>=6", "python-mimeparse>=2")


class UnshippableError(ProjectError):
    """A file that must not leave the project: a secret, junk, or a link to elsewhere."""


def package_files(model: Model) -> dict[str, Path]:
    """`<package>/...` relative names -> source files, for `model`: the core's package, then the project's."""
    core_dir = PACKAGE_DIR / "core"
    project_dir = Path(project.models().__file__).resolve().parents[1]
    files = {f"{project.CORE}/__init__.py": PACKAGE_DIR / "__init__.py"}
    files |= {f"{project.CORE}/core/{_relative(path, core_dir)}": path for path in _tree(core_dir)}
    for part in ("__init__.py", "settings.py", "models/__init__.py"):
        files[f"{project.package()}/{part}"] = project_dir / part
    files |= {
        f"{project.package()}/models/{model.name}/{_relative(path, model.folder)}": path for path in _tree(model.folder)
    }
    return files


def requirements(model: Model, header: str, extra: tuple[str, ...] = ()) -> str:
    """A requirements.txt for `model`'s code in a job or a bundle: core's needs, `extra`, then the model's own.

    Each is pinned to the version in the project's lock file when it has one (core/basics/pins.py).
    """
    own = (model.folder / "requirements.txt").read_text().splitlines()
    lines = [line.strip() for line in own if line.strip() and not line.lstrip().startswith("#")]
    return "\n".join([f"# {header}", *pins.pin([*CORE_REQUIREMENTS, *extra, *lines])]) + "\n"


def artifact(run_dir: Path, name: str) -> Path:
    """The file `name` of a run folder, checked to be fit to ship."""
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise UnshippableError(f"artifact '{name}' must be a path inside the run folder")
    if _left_out(relative):
        raise UnshippableError(f"artifact '{name}' is a cache or notebook: it is never shipped")
    path = run_dir / relative
    check_shippable(path, run_dir)
    if not path.is_file():
        raise UnshippableError(f"{run_dir}: missing {name}; is this a finished run?")
    return path


def check_shippable(path: Path, root: Path) -> None:
    """Refuse a dotfile (`.env`, keys) or a symlink resolving outside `root` and the project."""
    hidden = [part for part in path.relative_to(root).parts if part.startswith(".")]
    if hidden:
        raise UnshippableError(f"{path}: '{hidden[0]}' is a dotfile (secrets live there): it is never shipped")
    target = path.resolve()
    if not any(target.is_relative_to(place.resolve()) for place in (root, Path.cwd())):
        raise UnshippableError(f"{path} links to {target}, outside the project: it is never shipped")


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _left_out(relative: Path) -> bool:
    return (
        relative.name == ANSWERS_FILE
        or relative.suffix in LEFT_OUT_SUFFIXES
        or bool(set(relative.parts) & set(LEFT_OUT))
    )


def _tree(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _left_out(p.relative_to(folder)))
    for path in files:
        check_shippable(path, folder)
    return files
