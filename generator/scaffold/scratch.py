"""One temporary folder per command, holding every temporary folder of scaffold, copier and git.

copier clones the template into temporary folders and removes them when it finishes; a signal
can stop it while a `git clone` it started is still writing into one, so copier's clean-up runs
first and the clone's files come back. The command's own folder is removed last, again while
something keeps writing into it (for at most a few seconds), so nothing is left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SETTLE = 0.3  # seconds the folder must stay gone
GRACE = 10.0  # seconds to keep removing it while a stopped child process still writes


@contextmanager
def folder() -> Iterator[Path]:
    """While the block runs, `tempfile` and child processes make their temporary folders in one new folder."""
    root = Path(tempfile.mkdtemp(prefix="scaffold-"))
    previous = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir, os.environ["TMPDIR"] = str(root), str(root)
    try:
        yield root
    finally:
        tempfile.tempdir = previous[0]
        if previous[1] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous[1]
        _remove(root)


def _remove(root: Path) -> None:
    """Remove `root`; when something was left in it, keep removing it until it stays gone (or GRACE ends)."""
    left_over = any(root.iterdir())
    shutil.rmtree(root, ignore_errors=True)
    deadline = time.monotonic() + GRACE
    while left_over and time.monotonic() < deadline:
        time.sleep(SETTLE)
        if not root.exists():
            return
        shutil.rmtree(root, ignore_errors=True)
