"""The template's questions: which `--data` keys a project or a model render can answer."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml
from jinja2 import TemplateError as JinjaError
from jinja2.sandbox import SandboxedEnvironment

from .errors import InvalidInputError
from .names import is_remote


def known(source: str, vcs_ref: str | None, kind: str) -> list[str] | None:
    """The questions a render of `kind` asks (those whose `when` holds for it); None if unknown here."""
    found = _read(source, vcs_ref)
    return None if found is None else sorted(name for name, q in found.items() if _applies(q.get("when", True), kind))


def choices(source: str, vcs_ref: str | None, question: str) -> list[str] | None:
    """The values `question` offers at `vcs_ref`; None if they cannot be read here."""
    found = (_read(source, vcs_ref) or {}).get(question, {}).get("choices")
    if isinstance(found, dict):
        return [str(value) for value in found.values()]
    if not isinstance(found, list):
        return None
    return [str(item[-1] if isinstance(item, list) else item) for item in found]  # [label, value] or value


def _read(source: str, vcs_ref: str | None) -> dict[str, dict] | None:
    """The questions in copier.yml of a local template, at `vcs_ref` (the work tree without one).

    None when they cannot be read here (a remote template, an unknown version): copier then
    renders without this check, and reports a bad version itself.
    """
    root = Path(source)
    if is_remote(source) or not root.is_dir():
        return None
    if vcs_ref:
        shown = subprocess.run(["git", "show", f"{vcs_ref}:./copier.yml"], cwd=root, capture_output=True, text=True)
        text = shown.stdout if shown.returncode == 0 else None
    else:
        text = (root / "copier.yml").read_text() if (root / "copier.yml").is_file() else None
    try:
        config = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        return None
    if not isinstance(config, dict):
        return None
    return {key: value for key, value in config.items() if not key.startswith("_") and isinstance(value, dict)}


def _applies(when: object, kind: str) -> bool:
    if not isinstance(when, str):
        return bool(when)
    try:
        return SandboxedEnvironment().from_string(when).render(kind=kind).strip().lower() not in ("false", "")
    except JinjaError:
        return True  # a condition on other answers: it may apply


def check(data: dict[str, str], known: list[str] | None, fixed: dict[str, str], command: str) -> None:
    """Refuse --data keys the render does not ask (if `known`), and values that contradict what `command` sets."""
    for key, value in data.items():
        if key in fixed and value != fixed[key]:
            raise InvalidInputError(
                f"--data {key}='{value}' conflicts with `{command}`, which sets {key}='{fixed[key]}'"
            )
        if known is not None and key not in known:
            raise InvalidInputError(f"unknown question '{key}' in --data: `{command}` answers {', '.join(known)}")
