"""The CloudFormation templates are clean under cfn-lint and checkov (skips carry their reasons)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted((ROOT / "infra").glob("*.yaml"))
BIN = Path(sys.executable).parent


def test_there_are_templates():
    assert {t.name for t in TEMPLATES} >= {"project.yaml", "model.yaml"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_cfn_lint_finds_nothing(template):
    result = subprocess.run([str(BIN / "cfn-lint"), str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkov_finds_nothing():
    command = [BIN / "checkov", "-d", ROOT / "infra", "--framework", "cloudformation", "--quiet", "--skip-download"]
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Failed checks: 0" in result.stdout
