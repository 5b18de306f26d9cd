"""One temporary folder per command, holding every temporary folder of scaffold, copier and git.

copier clones the template into temporary folders and removes them when it finishes; a signal
can stop it while a `git clone` it started is still writing into one. The command's own folder is
removed last, once no child process is left to write into it, so nothing is left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHILDREN_GRACE = 10.0  # seconds to let child processes (git) finish before the folder goes


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
        _wait_for_children(CHILDREN_GRACE)
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_children(grace: float) -> None:
    """Reap child processes still running (a git command a signal interrupted), for at most `grace` seconds."""
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no children at all
        if pid == 0:
            time.sleep(0.05)  # some still running
