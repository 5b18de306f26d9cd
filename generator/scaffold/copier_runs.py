"""Every copier run scaffold makes: one set of settings, and copier's failures as ScaffoldErrors.

Each run takes its answers from data and defaults (never a prompt), runs without `--trust` (the
template needs none) and quietly. copier is imported inside each function, so commands that do
not render (`list`) start without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2

from .errors import TemplateError, from_copier

_SETTINGS = {"defaults": True, "unsafe": False, "quiet": True}


def copy(source: str, dest: Path, data: dict, vcs_ref: str | None, answers_file: Path | None = None) -> None:
    """Render the template `source` at `vcs_ref` into `dest` (copier copy); copier's failures raised as they are."""
    import copier

    copier.run_copy(source, dest, data=data, vcs_ref=vcs_ref, answers_file=answers_file, **_SETTINGS)


def update(root: Path, answers_file: Path, vcs_ref: str | None, data: dict[str, str]) -> None:
    """Update the part of `root` that `answers_file` records (copier update), conflicts marked inline."""
    import copier
    from copier.errors import MissingFileWarning

    with warnings.catch_warnings():
        # copier renders a model's old version where the project's answers are not (copier #2202)
        warnings.simplefilter("ignore", MissingFileWarning)
        copier.run_update(
            root,
            answers_file=answers_file,
            vcs_ref=vcs_ref,
            data=data,
            overwrite=True,
            skip_answered=True,
            conflict="inline",
            **_SETTINGS,
        )


@contextmanager
def reported(vcs_ref: str | None) -> Iterator[None]:
    """Turn copier's failures in the block (it raises ValueError or CopierError) into a ScaffoldError."""
    from copier.errors import CopierError

    try:
        yield
    except (ValueError, CopierError) as error:
        raise from_copier(error, vcs_ref) from error
    except jinja2.TemplateError as error:
        raise TemplateError(f"the template cannot render: {error}") from error
