"""The files a render is expected to hold: the lists in tests/expected_files/ (its README says how they read)."""

from __future__ import annotations

from pathlib import Path

EXPECTED = Path(__file__).with_name("expected_files")
REWRITE = "WRITE_EXPECTED_FILES"  # set to 1 to rewrite the lists from what renders now (test_render.py)


def files(root: Path) -> set[str]:
    """Every file below `root` (git's own folder aside), by its path from there."""
    paths = (path.relative_to(root) for path in root.rglob("*") if path.is_file())
    return {path.as_posix() for path in paths if path.parts[0] != ".git"}


def expected(**answers: str) -> set[str]:
    """The files a project rendered with these answers holds: the default's, with each answer's changes."""
    result = set(_listed("default"))
    for question, answer in answers.items():
        if (EXPECTED / f"{question}={answer}.txt").is_file():
            result = _applied(result, _listed(f"{question}={answer}"))
    return result


def changes(default: set[str], rendered: set[str]) -> list[str]:
    """`rendered` as lines against `default`: `+ path` added, `- path` removed, `- folder/` gone with all it held."""
    removed = default - rendered
    folders = {f"{parent.as_posix()}/" for path in removed for parent in Path(path).parents if parent != Path(".")}
    gone = {folder for folder in folders if not any(path.startswith(folder) for path in rendered)}
    outermost = {folder for folder in gone if not any(folder != other and folder.startswith(other) for other in gone)}
    lines = [f"- {folder}" for folder in outermost] + [f"+ {path}" for path in rendered - default]
    lines += [f"- {path}" for path in removed if not any(path.startswith(folder) for folder in outermost)]
    return sorted(lines, key=lambda line: (line[2:], line))


def _applied(default: set[str], lines: list[str]) -> set[str]:
    """`default` with the changes of `lines` (as `changes` writes them)."""
    result = set(default)
    for line in lines:
        sign, path = line[0], line[2:]
        if sign == "+":
            result.add(path)
        else:
            result = {p for p in result if p != path and not (path.endswith("/") and p.startswith(path))}
    return result


def _listed(name: str) -> list[str]:
    return (EXPECTED / f"{name}.txt").read_text().splitlines()
