"""The package files one model needs at run time: the package root, `core` and that model.

Both the inference bundle (`code/`) and a training job's source_dir carry exactly these, so
the model's code imports the same way on this machine, in a training job and on an endpoint.
"""

from __future__ import annotations

from pathlib import Path

from . import registry

PACKAGE_DIR = Path(__file__).resolve().parents[1]
SKIPPED = ("__pycache__", ".pyc", ".copier-answers")


def package_files(model: str) -> dict[str, Path]:
    """`<package>/...` relative names -> source files, for `model`."""
    model_dir = registry.folder(model)
    paths = [PACKAGE_DIR / "__init__.py", PACKAGE_DIR / "settings.py", PACKAGE_DIR / "models" / "__init__.py"]
    paths += _tree(PACKAGE_DIR / "core") + _tree(model_dir)
    return {f"{registry.PACKAGE}/{path.relative_to(PACKAGE_DIR).as_posix()}": path for path in paths}


def _tree(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not any(s in p.as_posix() for s in SKIPPED))
