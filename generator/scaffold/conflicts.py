"""What an update left for the user to resolve: files copier marked, and deleted files the user had edited.

Each is returned as `git update-index --index-info` lines, so the update can record it in the index
as unmerged (as a git merge leaves a conflict).
"""

from __future__ import annotations

from pathlib import Path

from . import repo


def marked_files(checkout: repo.Checkout, paths: list[str], unmerged: list[str]) -> list[str]:
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


def edited_deletions(checkout: repo.Checkout, deleted: list[str], old: Path) -> list[str]:
    """Files the new version deletes that the user had changed since `old` (the old version's render).

    Each is put back, and returned as a "deleted by them" conflict.
    """
    entries = []
    for path in deleted:
        ours = checkout.blob("HEAD", path)
        base = checkout.store(old / path) if (old / path).is_file() else None
        if ours is None or base is None or base == ours[1]:
            continue  # unchanged since the template made it: its deletion stands
        full = checkout.prefix + path
        checkout.git("checkout", "HEAD", "--", full)
        entries += [f"{ours[0]} {base} 1\t{full}", f"{ours[0]} {ours[1]} 2\t{full}"]
    return entries
