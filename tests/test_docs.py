"""The documentation site builds strictly and covers every question and command."""

from __future__ import annotations

import sys

import yaml
from helpers import DEFAULT_PACKAGE, ROOT, render, rendered_env, run
from scaffold.cli import app as scaffold_app
from typer.main import get_command

DOCS = ROOT / "docs"


def test_site_builds_strictly(tmp_path):
    run(sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", tmp_path / "site", cwd=ROOT)
    assert (tmp_path / "site" / "tracking" / "index.html").is_file()
    assert "<table>" in (tmp_path / "site" / "benchmarks" / "index.html").read_text()  # the included results


def test_every_template_question_is_documented():
    entries = yaml.safe_load((ROOT / "copier.yml").read_text()).items()
    # computed values (`when: false`: the rules stated once) are never asked
    questions = [key for key, entry in entries if not key.startswith("_") and entry.get("when") is not False]
    page = (DOCS / "questions.md").read_text()
    assert questions and all(f"| `{question}` |" in page for question in questions), questions


def test_every_scaffold_command_is_documented():
    page = (DOCS / "scaffold.md").read_text()
    commands = get_command(scaffold_app).commands
    assert len(commands) >= 4 and all(f"`scaffold {name}" in page for name in commands), sorted(commands)


def test_every_project_command_is_in_the_rendered_readme_and_the_tour(tmp_path):
    project = render(tmp_path / "project")
    env = {**rendered_env(), "PYTHONPATH": str(project / "src")}
    code = f"import typer.main, {DEFAULT_PACKAGE}.cli as c; print(*typer.main.get_command(c.app).commands)"
    commands = run(sys.executable, "-c", code, cwd=project, env=env).stdout.split()
    readme, tour = (project / "README.md").read_text(), (DOCS / "tour.md").read_text()
    assert {"train", "runs", "config", "bundle", "serve", "deploy"} <= set(commands)
    assert all(f"| `{DEFAULT_PACKAGE} {command}" in readme for command in commands), commands
    assert all(f"| `{DEFAULT_PACKAGE} {command}" in tour for command in commands), commands
