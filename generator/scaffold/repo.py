"""The git repository holding a project, as `scaffold update` needs it.

The project may be the whole repository or one folder of a larger one (a monorepo): every
command runs at the repository's top with the project's folder as pathspec, so files outside
the project are neither checked, committed for good, nor put back.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import signals
from .errors import RepositoryError

# Commits scaffold makes itself are temporary; an identity keeps them working on fresh machines.
IDENTITY = ("-c", "user.name=scaffold", "-c", "user.email=scaffold@localhost", "-c", "commit.gpgsign=false")
# ... and the user's hooks (post-commit, post-checkout, reference-transaction ...) must not see them.
NO_HOOKS = ("-c", f"core.hooksPath={os.devnull}")
NO_FILE = "0" * 40


@dataclass(frozen=True)
class Checkout:
    """A project folder inside a git work tree."""

    root: Path  # the project folder
    top: Path  # the work tree's top folder
    prefix: str  # `root` relative to `top`: "" or "some/folder/"

    @property
    def pathspec(self) -> str:
        return self.prefix or "."

    def git(self, *args: str, stdin: str | None = None) -> str:
        with signals.deferred():  # a git command stopped half-way could leave the index locked
            command = ["git", *NO_HOOKS, *args]
            result = subprocess.run(command, cwd=self.top, input=stdin, capture_output=True, text=True)
        if result.returncode != 0:
            raise RepositoryError(f"git {' '.join(args)} failed in {self.top}: {result.stderr.strip()}")
        return result.stdout

    def status(self) -> list[tuple[str, str]]:
        """(XY status, path relative to the project) for every change in the project, untracked included."""
        fields = iter(self.git("status", "--porcelain", "-z", "-uall", "--", self.pathspec).split("\0"))
        entries = []
        for field in fields:
            if field:
                entries.append((field[:2], field[3:].removeprefix(self.prefix)))
                if field[0] in "RC":
                    next(fields)  # a rename's old path
        return entries

    def ensure_clean(self) -> str:
        """The HEAD commit; the project's files must have no uncommitted change."""
        if self.status():
            raise RepositoryError(f"{self.root} has uncommitted changes: commit or stash them, then update")
        return self.git("rev-parse", "HEAD").strip()

    def unmerged(self) -> list[str]:
        """The index's conflict entries in the project, as `git update-index --index-info` lines."""
        lines = self.git("ls-files", "-u", "-z", "--", self.pathspec).split("\0")
        return [line for line in lines if line]

    def blob(self, rev: str, path: str) -> tuple[str, str] | None:
        """(mode, object id) of the project's file `path` at `rev`, or None if it has no such file."""
        listing = self.git("ls-tree", rev, "--", self.prefix + path).split("\t")[0].split()
        return (listing[0], listing[2]) if listing else None

    def store(self, file: Path) -> str:
        """Write `file` into the object store; its object id."""
        return self.git("hash-object", "-w", "--", str(file)).strip()

    def mark_unmerged(self, entries: list[str]) -> None:
        """Record conflict entries (stage 1 base, 2 ours, 3 theirs) so git refuses to commit them."""
        paths = sorted({entry.split("\t", 1)[1] for entry in entries})
        removals = [f"0 {NO_FILE}\t{path}" for path in paths]
        self.git("update-index", "--index-info", stdin="\n".join([*removals, *entries]) + "\n")

    def checkpoint(self, message: str) -> None:
        """Commit the project's changes (a temporary commit `restore` or `uncommit` undoes)."""
        self.git("add", "-A", "--", self.pathspec)
        self.git(*IDENTITY, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)

    def uncommit(self, base: str) -> None:
        """Drop the temporary commits after `base`, keeping their changes staged."""
        self.git("reset", "--soft", base)

    def restore(self, base: str) -> None:
        """Put the project's files back as they were at `base` (they were clean then)."""
        self.git("reset", "--soft", base)
        self.git("restore", "--source", base, "--staged", "--worktree", "--", self.pathspec)
        self.git("clean", "-fdq", "--", self.pathspec)


def open_checkout(root: Path) -> Checkout:
    """The git work tree holding the project folder `root`, which must have a commit."""
    result = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--show-prefix"], cwd=root, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RepositoryError(f"{root} is not in a git repository: `git init` and commit first")
    top, prefix = [*result.stdout.splitlines(), ""][:2]
    checkout = Checkout(Path(root), Path(top), prefix)
    if subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=root, capture_output=True).returncode:
        raise RepositoryError(f"{root} has no commit yet: commit the project first, then update")
    return checkout
