"""Where the template comes from: this checkout, `--template`, or `SCAFFOLD_TEMPLATE`."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import TemplateError
from .names import is_remote

CHECKOUT = Path(__file__).resolve().parents[2]


def default_source() -> str:
    """The template to use when none is given."""
    if env := os.environ.get("SCAFFOLD_TEMPLATE"):
        return normalize(env)
    if (CHECKOUT / "copier.yml").is_file() and (CHECKOUT / "core_template").is_dir():
        return str(CHECKOUT)
    raise TemplateError("no template found: pass --template or set SCAFFOLD_TEMPLATE")


def normalize(source: str) -> str:
    """A URL as given, a local path made absolute (copier records it for later updates)."""
    if is_remote(source):
        return source
    path = Path(source).expanduser().resolve()
    if not (path / "copier.yml").is_file():
        raise TemplateError(f"{source} is not a sagescaffold template (no copier.yml)")
    return str(path)


def check_reachable(source: str | None, owner: str) -> str:
    """`source`, the template an answers file (`owner`) records, if it still exists on this machine."""
    if not source:
        raise TemplateError(f"{owner} records no template (_src_path): point it at one with `--template`")
    if not is_remote(source) and not (Path(source) / "copier.yml").is_file():
        raise TemplateError(
            f"the template {source} that {owner} records is missing (moved?): "
            "pass `scaffold update --template NEW` to point the project and its models at its new place"
        )
    return source
