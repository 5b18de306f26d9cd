"""The project's git repository, as `scaffold update` needs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import RepositoryError

# Commits scaffold makes itself are temporary; an identity keeps them working on fresh machines.
IDENTITY = ("-c", "user.name=scaffold", "-c", "user.email=scaffold@localhost", "-c", "commit.gpgsign=false")


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        raise RepositoryError(f"git {' '.join(args)} failed in {root}: {result.stderr.strip()}")
    return result.stdout


def ensure_clean(root: Path) -> str:
    """The HEAD commit of `root`, which must be the top of a git repository with no changes."""
    probe = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True)
    if probe.returncode != 0 or Path(probe.stdout.strip()).resolve() != Path(root).resolve():
        raise RepositoryError(f"{root} is not the top folder of a git repository: `git init` and commit first")
    if git(root, "status", "--porcelain").strip():
        raise RepositoryError(f"{root} has uncommitted changes: commit or stash them, then update")
    return git(root, "rev-parse", "HEAD").strip()


def changed_files(root: Path) -> list[str]:
    """Paths that differ from HEAD, untracked ones included."""
    return sorted({line[3:].split(" -> ")[-1] for line in git(root, "status", "--porcelain", "-uall").splitlines()})


def conflicted_files(root: Path) -> list[str]:
    """Files an update left in conflict: unmerged paths and copier's `.rej` files."""
    unmerged = git(root, "diff", "--name-only", "--diff-filter=U").split()
    rejected = [path for path in changed_files(root) if path.endswith(".rej")]
    return sorted(set(unmerged) | set(rejected))


def checkpoint(root: Path, message: str) -> None:
    """Commit everything (a temporary commit `restore` folds back into the work tree)."""
    git(root, "add", "-A")
    git(root, *IDENTITY, "commit", "--quiet", "--no-verify", "--allow-empty", "-m", message)


def keep_changes_uncommitted(root: Path, base: str) -> None:
    """Drop the temporary commits after `base`, keeping their changes staged."""
    git(root, "reset", "--soft", base)


def restore(root: Path, base: str) -> None:
    """Put the work tree back exactly as it was at `base` (it was clean then)."""
    git(root, "reset", "--hard", "--quiet", base)
    git(root, "clean", "-fdq")
