"""One local clone of a remote template, reused by every copier run of an update.

`scaffold update` runs copier once per answers file, and each run clones the template (twice:
the old and the new version). For a remote template, scaffold clones it once into a temporary
mirror and tells git, through `url.<mirror>.insteadOf`, to fetch from there instead; copier
still records the original URL in the answers files.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import TemplateError
from .names import git_url, is_remote, is_shorthand


@contextmanager
def reuse_one_clone(source: str | None) -> Iterator[None]:
    """While the block runs, git fetches of `source` come from one local mirror."""
    if not source or not is_remote(source) or is_shorthand(source):
        yield  # a local template is cloned locally anyway; copier expands a shorthand to its own URL (…/repo.git)
        return
    from plumbum import local  # copier's process runner, whose environment its git commands use

    url = git_url(source)
    with tempfile.TemporaryDirectory(prefix="scaffold-template-") as folder:
        mirror = Path(folder) / "template.git"
        result = subprocess.run(
            ["git", "clone", "--quiet", "--mirror", url, str(mirror)], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise TemplateError(f"cannot clone the template {source}: {result.stderr.strip()}")
        config = {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{mirror}.insteadOf", "GIT_CONFIG_VALUE_0": url}
        with local.env(**config):
            yield
