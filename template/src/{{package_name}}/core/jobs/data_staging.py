"""The code a data set's Processing job runs: the build script's files, what of core it needs, an entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..basics import fingerprint, project
from ..bundling import scripts, sources
from . import datasets
from .builds import DatasetError

ENTRY = "_build_data_set.py"  # the Processing job's entry point, written by `stage`
# Of core, what a job ships: builds.py and what it imports (the image has none of the project's dependencies).
JOB_MODULES = (
    "__init__.py",
    "basics/__init__.py",
    "basics/errors.py",
    "basics/fingerprint.py",
    "jobs/__init__.py",
    "jobs/builds.py",
)


def stage(name: str, dest: Path, details: dict | None = None) -> Path:
    """Write the code of data set `name`'s Processing job into `dest` (new or empty): the script's files, an entry.

    The entry point (`ENTRY`) takes the output folder as its one argument; `details` go into the manifest.
    """
    if dest.exists() and any(dest.iterdir()):
        raise DatasetError(f"{dest} is not empty: choose a new folder to stage into")
    path = datasets.script(name)
    files = _script_files(path)
    clashes = sorted({relative.split("/")[0] for relative in files} & {project.CORE, ENTRY})
    if clashes:
        raise DatasetError(f"{path.parent / clashes[0]} clashes with the code a Processing job adds: rename it")
    package = sources.PACKAGE_DIR  # only what builds.py imports: the image has none of the project's dependencies
    files[f"{project.CORE}/__init__.py"] = package / "__init__.py"
    files |= {f"{project.CORE}/core/{module}": package / "core" / module for module in JOB_MODULES}
    for relative, file in files.items():
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, dest / relative)
    (dest / ENTRY).write_text(
        entry_point(path.name, {"data_set": name, "script": datasets.shown(path), **(details or {})})
    )
    return dest


def entry_point(script_name: str, details: dict) -> str:
    """The source of a Processing job's entry point (core/bundling/script_templates/build.py)."""
    values = {"SCRIPT": repr(script_name), "DETAILS": repr(details), "DATA_SET": repr(details.get("data_set"))}
    return scripts.render("build.py", CORE=project.CORE, **values)


def _script_files(path: Path) -> dict[str, Path]:
    """What a Processing job gets of a build script: data/<name>/'s files, or only a model's build_data.py."""
    if path.name == datasets.MODEL_SCRIPT:
        return {path.name: path}
    return {
        relative: file
        for relative, file in fingerprint.files(path.parent).items()
        if "__pycache__" not in relative.split("/") and not relative.endswith((".pyc", ".pyo"))
    }
