"""Fixtures for testing the template; the helpers themselves live in helpers.py (shared with the benchmarks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_template_repo


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """A git repository holding a copy of this template, committed and tagged v1.0.0."""
    return make_template_repo(tmp_path / "template-repo")
