"""`scaffold update`, `list` and `adopt` on odd histories, and the table of bad inputs they refuse.

One small template's history (v1.0.0, then v1.1.0 that deletes two project files and changes the
tabular starter) and one project made from v1.0.0 are built once; each test works on its own copy.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import copier
import pytest
import yaml
from helpers import DEFAULT_PACKAGE, commit_all, generated, git, replace, scaffold
from jinja2.sandbox import SandboxedEnvironment
from mini_template import MODEL, TABULAR, TABULAR_MODEL, make, release

PKG = f"src/{DEFAULT_PACKAGE}"
EDITED_THEN_DELETED = ".pre-commit-config.yaml"  # the user edits it; v1.1.0 deletes it
DELETED = f"{PKG}/core/pins.py"  # v1.1.0 deletes it, the user never touched it
CHURN_MODEL = f"{PKG}/models/churn/model.py"
CHURN_ANSWERS = f"{PKG}/models/churn/.copier-answers.model.yml"
MODEL_DELETED = "requirements.txt"  # v1.1.0 deletes it from every tabular model; the user edits churn's
MODEL_V1_1 = TABULAR_MODEL.replace('"""The network."""', '"""Network v1.1."""')
SLOWLY = "slowly"  # the model name for which v1.1.0 takes many seconds to render
V1_1 = {
    f"template/{EDITED_THEN_DELETED}": None,
    "template/src/{{package_name}}/core/pins.py": None,
    f"core_template/{TABULAR}/model.py": MODEL_V1_1,
    f"core_template/{TABULAR}/{MODEL_DELETED}": None,
    f"core_template/{MODEL}/{{% if model_name == '{SLOWLY}' %}}zz_slow.txt{{% endif %}}.jinja": (
        "{% for i in range(100000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}"
    ),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, Path]:
    """(template repository tagged v1.0.0 and v1.1.0, a committed project made from v1.0.0 with a second model)."""
    folder = tmp_path_factory.mktemp("history")
    template = make(folder / "template-repo")
    project = generated(folder / "project", template, "churn")
    release(template, "v1.1.0", V1_1)
    return template, project


@pytest.fixture
def project(history, tmp_path) -> Path:
    """A copy of the project, free to change."""
    return Path(shutil.copytree(history[1], tmp_path / "project", symlinks=True))


def answers(root: Path, path: str = ".copier-answers.yml") -> dict:
    return yaml.safe_load((root / path).read_text())


def test_conflicts_stay_unmerged_and_edited_deleted_files_stay(project):
    replace(project / CHURN_MODEL, '"""The network."""', '"""Our churn net."""')
    for path in (EDITED_THEN_DELETED, f"{PKG}/models/churn/{MODEL_DELETED}"):
        with (project / path).open("a") as handle:
            handle.write("# our own settings\n")
    commit_all(project, "user edits")
    result = scaffold("update", "--project", project)
    assert result.exit_code == 6, result.output
    kept = [EDITED_THEN_DELETED, f"{PKG}/models/churn/{MODEL_DELETED}"]
    assert CHURN_MODEL in result.output and all(path in result.output for path in kept)
    # edited files the template deleted are kept with the user's text; untouched ones are gone
    assert [(project / path).read_text() for path in kept] == [
        "repos: []\n# our own settings\n",
        "numpy\n# our own settings\n",
    ]
    assert not (project / DELETED).exists() and not (project / PKG / "models/classifier" / MODEL_DELETED).exists()
    # all are unmerged, as a git merge leaves them: git refuses to commit until they are resolved
    assert git("diff", "--name-only", "--diff-filter=U", cwd=project).split() == sorted([*kept, CHURN_MODEL])
    assert "UD " + EDITED_THEN_DELETED in git("status", "--porcelain", cwd=project)
    refused = subprocess.run(["git", "commit", "-qm", "x"], cwd=project, capture_output=True, text=True)
    assert refused.returncode != 0 and "unmerged" in refused.stderr
    replace(project / CHURN_MODEL, "<<<<<<< before updating", "")
    git("add", CHURN_MODEL, *kept, cwd=project)
    commit_all(project, "resolved")
    assert answers(project, CHURN_ANSWERS)["_commit"] == "v1.1.0"


def test_a_model_without_answers_file_is_reported_then_adopted(project):
    (project / CHURN_ANSWERS).unlink()
    commit_all(project, "answers file lost")
    listed = scaffold("list", "--project", project)
    assert listed.exit_code == 0, listed.output
    assert "no answers file" in listed.output and "scaffold adopt churn" in listed.output
    adopted = scaffold("adopt", "churn", "--project", project, "--vcs-ref", "v1.0.0")
    assert adopted.exit_code == 0, adopted.output
    assert answers(project, CHURN_ANSWERS) | {"_src_path": None} == {
        "_commit": "v1.0.0",
        "_src_path": None,
        "kind": "model",
        "model_name": "churn",
        "package_name": DEFAULT_PACKAGE,
        "starter": "tabular-classifier",
    }
    commit_all(project, "adopted")
    result = scaffold("update", "--project", project, "--only", "churn")
    assert result.exit_code == 0, result.output
    assert (project / CHURN_MODEL).read_text() == MODEL_V1_1


def test_update_points_every_answers_file_at_a_moved_template(project, history):
    files = [".copier-answers.yml", CHURN_ANSWERS, f"{PKG}/models/classifier/.copier-answers.model.yml"]
    for path in files:
        replace(project / path, f"_src_path: {history[0]}", "_src_path: /gone/template-repo")
    commit_all(project, "the template moved")
    for command in ("list", "update"):
        result = scaffold(command, "--project", project)
        assert result.exit_code == 4 and "/gone/template-repo" in result.output and "--template" in result.output
    result = scaffold("update", "--project", project, "--only", "project", "--template", history[0])
    assert result.exit_code == 0, result.output
    assert all(answers(project, path)["_src_path"] == str(history[0]) for path in files)
    assert answers(project)["_commit"] == "v1.1.0" and answers(project, CHURN_ANSWERS)["_commit"] == "v1.0.0"


def test_update_of_a_project_in_a_monorepo_folder_leaves_the_rest_alone(history, tmp_path):
    mono = tmp_path / "mono"
    shutil.copytree(history[1], mono / "apps" / "ml", symlinks=True, ignore=shutil.ignore_patterns(".git"))
    (mono / "web").mkdir()
    (mono / "web/app.js").write_text("one\n")
    git("init", "-q", cwd=mono)
    commit_all(mono, "monorepo")
    (mono / "web/app.js").write_text("two\n")  # someone's work in progress elsewhere
    (mono / "web/new.js").write_text("new\n")
    git("add", "web/new.js", cwd=mono)
    failed = scaffold("update", "--project", mono / "apps/ml", "--vcs-ref", "v9")
    assert failed.exit_code == 4
    assert git("diff", "--name-only", cwd=mono) == "web/app.js"
    assert git("diff", "--cached", "--name-only", cwd=mono) == "web/new.js"
    result = scaffold("update", "--project", mono / "apps/ml", "--only", "churn")
    assert result.exit_code == 0, result.output
    assert answers(mono / "apps/ml", CHURN_ANSWERS)["_commit"] == "v1.1.0"
    assert git("diff", "--name-only", cwd=mono) == "web/app.js"
    assert "web/new.js" in git("diff", "--cached", "--name-only", cwd=mono).split()
    assert (mono / "web/app.js").read_text() == "two\n"


def snapshot(root: Path) -> dict[str, str]:
    """Every file of `root` (git's own folder aside) with a digest of its content, and HEAD."""
    files = {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout
    return files | {"HEAD": head}


def lose_churn_answers(root: Path) -> None:
    (root / CHURN_ANSWERS).unlink()
    commit_all(root, "answers file lost")


def forget_version(root: Path) -> None:
    replace(root / CHURN_ANSWERS, "_commit: v1.0.0\n", "")
    commit_all(root, "no version")


def unversioned_listing(root: Path) -> None:
    forget_version(root)
    assert "unknown" in scaffold("list", "--project", root).output


def record_v0_9(root: Path) -> None:
    replace(root / CHURN_ANSWERS, "_commit: v1.0.0", "_commit: v0.9")
    commit_all(root, "a version the template never had")
    churn = next(line for line in scaffold("list", "--project", root).output.splitlines() if "churn" in line)
    assert "not a template version" in churn and "yes" not in churn, churn


def strip_churn(root: Path) -> None:
    """churn without its answers file, its sample data and tests, and with files no starter wrote."""
    (root / CHURN_ANSWERS).unlink()
    shutil.rmtree(root / "data/samples/churn")
    shutil.rmtree(root / "tests/models/churn")
    for path in (root / PKG / "models/churn").iterdir():
        path.write_text("# ours\n")
    commit_all(root, "churn rewritten")


BAD_INPUTS = [
    # (id, prepare the project copy, argv after the command, exit code, one-line message)
    ("dirty-tree", lambda p: (p / "scratch.txt").write_text("wip"), ["update"], 5, "commit or stash"),
    ("unknown-version", None, ["update", "--vcs-ref", "v9.9.9"], 4, "'v9.9.9' does not exist"),
    ("unknown-part", None, ["update", "--only", "nope"], 2, "--only nope: not the project"),
    ("template-not-a-template", None, ["update", "--template", "/nonexistent"], 4, "no copier.yml"),
    ("not-a-project", lambda p: (p / ".copier-answers.yml").unlink(), ["update"], 3, "not found"),
    ("corrupted-answers", lambda p: (p / ".copier-answers.yml").write_text("[: x"), ["list"], 3, "not YAML"),
    ("outside-git", lambda p: shutil.rmtree(p / ".git"), ["update"], 5, "not in a git repository"),
    ("model-without-version", forget_version, ["update"], 4, "records no template version"),
    ("list-no-folder", None, ["list", "--project", "/nonexistent/x"], 3, "is not a folder"),
    ("adopt-has-answers", None, ["adopt", "churn"], 3, "nothing to adopt"),
    ("adopt-no-folder", None, ["adopt", "nothere"], 3, "no model folder"),
    ("adopt-bad-name", None, ["adopt", "../x"], 2, "invalid model name"),
    ("adopt-bad-starter", lose_churn_answers, ["adopt", "churn", "--starter", "bogus"], 2, "Invalid choice"),
    ("adopt-unknown-version", lose_churn_answers, ["adopt", "churn", "--vcs-ref", "v7"], 4, "'v7' does not exist"),
    ("list-shows-unknown", unversioned_listing, ["update", "--only", "churn"], 4, "records no template version"),
    (
        "recorded-unknown-version",
        record_v0_9,
        ["update"],
        4,
        "template version 'v0.9' does not exist: " + CHURN_ANSWERS,
    ),
    ("adopt-no-starter-matches", strip_churn, ["adopt", "churn"], 2, "cannot tell which starter model 'churn'"),
]


@pytest.mark.parametrize(
    ("prepare", "argv", "code", "message"), [row[1:] for row in BAD_INPUTS], ids=[row[0] for row in BAD_INPUTS]
)
def test_bad_input_is_one_line_and_changes_nothing(project, prepare, argv, code, message):
    if prepare:
        prepare(project)
    before = snapshot(project)
    project_option = [] if "--project" in argv else ["--project", project]
    result = scaffold(*argv, *project_option)
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert "Traceback" not in result.output
    assert snapshot(project) == before


def test_shared_compiles_keep_apart_what_compiles_differently():
    from jinja2.sandbox import SandboxedEnvironment
    from scaffold import compiles

    plain, other = SandboxedEnvironment(), SandboxedEnvironment(variable_start_string="[[", variable_end_string="]]")
    source = "{{ x }}[[ x ]]"
    with compiles.shared():
        assert plain.from_string(source).render(x=1) == "1[[ x ]]"
        assert plain.from_string(source).render(x=2) == "2[[ x ]]"  # the cached code, rendered anew
        assert other.from_string(source).render(x=3) == "{{ x }}3"
    assert "compile" not in vars(SandboxedEnvironment)


def _environment(filters: dict) -> SandboxedEnvironment:
    env = SandboxedEnvironment()
    env.filters.update(filters)
    return env


def _times(n: int) -> Callable[[int], int]:
    return lambda x: x * n  # a new closure of the same code each call


def _as_copier_does() -> dict:
    """A `to_json` filter as copier makes it for each environment: a partial over a partial over a new closure."""

    def fallback(value: object) -> object:
        return value

    return {"to_json": functools.partial(json.dumps, default=functools.partial(str, fallback))}


def test_shared_compiles_keep_apart_filters_that_fold_or_take_the_context_differently():
    from jinja2 import pass_context
    from scaffold import compiles

    source = "{{ 2 | f }}"  # constant: the compiler folds the filter's result into the code
    with compiles.shared():
        assert _environment({"f": _times(2)}).from_string(source).render() == "4"
        assert _environment({"f": _times(3)}).from_string(source).render() == "6"  # same code, other closure
        assert _environment({"f": functools.partial(pow, exp=3)}).from_string(source).render() == "8"
        assert _environment({"f": functools.partial(pow, exp=4)}).from_string(source).render() == "16"
        with_context = _environment({"f": pass_context(lambda context, x: f"{x}{context['y']}")})
        assert with_context.from_string(source).render(y="!") == "2!"
        compiled = [_environment(_as_copier_does()).compile("{{ x | to_json }}") for _ in range(2)]
        assert compiled[0] is compiled[1]  # copier's environments still share their compiles
        assert _environment({"f": _times(2)}).compile(source) is _environment({"f": _times(2)}).compile(source)


def test_a_text_model_is_adopted_as_a_text_model(project, history):
    answers_file = f"{PKG}/models/texty/.copier-answers.model.yml"
    data = {"kind": "model", "model_name": "texty", "package_name": DEFAULT_PACKAGE, "starter": "text-classifier"}
    copier.run_copy(str(history[0]), project, data=data, vcs_ref="v1.0.0", answers_file=answers_file, quiet=True)
    (project / answers_file).unlink()
    with (project / PKG / "models/texty/config.yaml").open("a") as handle:
        handle.write("# tuned by us\n")  # a model its user changed is still recognised
    commit_all(project, "a text model, its answers file lost")
    result = scaffold("adopt", "texty", "--project", project)
    assert result.exit_code == 0, result.output
    assert "starter text-classifier" in result.output
    assert answers(project, answers_file)["starter"] == "text-classifier"


def test_moving_between_long_paths_with_spaces_keeps_every_answers_file_whole(project, history, tmp_path):
    files = [".copier-answers.yml", CHURN_ANSWERS, f"{PKG}/models/classifier/.copier-answers.model.yml"]
    gone, moved = (tmp_path / f"{'a folder with spaces ' * 4}{name}" for name in ("gone", "template repo"))
    shutil.copytree(history[0], moved, symlinks=True)
    before = {path: answers(project, path) for path in files}
    for path in files:
        text = (project / path).read_text().replace(f"_src_path: {history[0]}\n", "")
        (project / path).write_text(text + yaml.safe_dump({"_src_path": str(gone)}, indent=4))  # as copier folds it
    assert "\n    " in (project / CHURN_ANSWERS).read_text()  # the long path takes two lines
    commit_all(project, "the template moved to a long path")
    result = scaffold("update", "--project", project, "--only", "churn", "--template", moved)
    assert result.exit_code == 0, result.output
    after = {path: answers(project, path) for path in files}
    unchanged = {path: before[path] | {"_src_path": str(moved)} for path in files}
    assert after == unchanged | {CHURN_ANSWERS: unchanged[CHURN_ANSWERS] | {"_commit": "v1.1.0"}}
    assert (project / files[0]).read_text().startswith("# Changes here will be overwritten by Copier")


def test_list_reads_tags_only_from_a_template_that_is_its_own_repository(project, history, tmp_path):
    outer = tmp_path / "outer"  # a repository with a tag of its own, holding a plain copy of the template
    shutil.copytree(history[0], outer / "template", symlinks=True, ignore=shutil.ignore_patterns(".git"))
    git("init", "-q", cwd=outer)
    commit_all(outer, "vendored template")
    git("tag", "v5.0.0", cwd=outer)
    plain = Path(shutil.copytree(outer / "template", tmp_path / "plain"))  # in no repository at all
    for before, template in ((history[0], plain), (plain, outer / "template")):
        replace(project / ".copier-answers.yml", f"_src_path: {before}\n", f"_src_path: {template}\n")
        commit_all(project, "the template is a plain folder")
        result = scaffold("list", "--project", project)
        assert result.exit_code == 0, result.output
        assert "v5.0.0" not in result.output and "none tagged" in result.output
        assert "Traceback" not in result.output


def test_temporary_commits_run_no_git_hooks(project, tmp_path):
    witness = tmp_path / "hooks-ran"
    hooks = project / ".git/hooks"
    for hook in ("post-commit", "prepare-commit-msg", "reference-transaction", "post-checkout"):
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> '{witness}'\n")
        (hooks / hook).chmod(0o755)
    result = scaffold("update", "--project", project, "--only", "churn")
    assert result.exit_code == 0, result.output
    assert not witness.exists(), witness.read_text()
    commit_all(project, "the user's own commit")
    assert "post-commit" in witness.read_text()  # the hooks work: they are skipped for scaffold's commits only


def _interrupted(argv: list[str], cwd: Path, started: Callable[[], bool], signum: int, tmp: Path):
    """Run `scaffold argv` in a process, send it `signum` once `started()` holds; its exit code and output."""
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}  # so the test sees every temporary folder it makes
    command = [sys.executable, "-c", "from scaffold.cli import app; app()", *argv]
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not started() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert process.poll() is None, "the command ended before the signal: nothing was interrupted"
    assert started(), "the command did not reach the point to interrupt in time"
    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)
    return process.returncode, output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_update_leaves_the_branch_and_files_as_they_were(project, tmp_path, signum):
    assert scaffold("add-model", SLOWLY, "--project", project).exit_code == 0  # at v1.0.0: quick to add
    commit_all(project, "a model whose update renders slowly")
    head, status = git("rev-parse", "HEAD", cwd=project), git("status", "--porcelain", cwd=project)
    files = snapshot(project)

    def midway() -> bool:  # the project step is committed (temporarily): the models' steps run next
        return "scaffold update: project" in git("log", "-3", "--format=%s", cwd=project)

    code, output = _interrupted(["update"], project, midway, signum, tmp_path / "tmp")
    assert code == 128 + signum, output
    assert (
        output.strip().splitlines()[-1]
        == f"stopped: {signal.Signals(signum).name} received; nothing was left half-done"
    )
    assert "Traceback" not in output
    assert git("rev-parse", "HEAD", cwd=project) == head and git("status", "--porcelain", cwd=project) == status
    assert "scaffold update" not in git("log", "--all", "--format=%s", cwd=project)
    assert snapshot(project) == files
    assert not list((tmp_path / "tmp").iterdir())  # copier's clones were removed


@pytest.mark.parametrize(
    ("command", "signum"),
    [("add-model", signal.SIGTERM), ("add-model", signal.SIGINT), ("new", signal.SIGTERM)],
    ids=["add-model-SIGTERM", "add-model-SIGINT", "new-SIGTERM"],
)
def test_a_stopped_render_leaves_no_folder_behind(history, tmp_path, command, signum):
    project = tmp_path / "project"
    if command == "add-model":
        copier.run_copy(str(history[0]), project, defaults=True, quiet=True)  # v1.1.0: slow for SLOWLY
        git("init", "-q", cwd=project)
        commit_all(project, "generated")
        argv, made = ["add-model", SLOWLY, "--project", str(project)], project / PKG / "models" / SLOWLY
    else:
        argv = ["new", str(project), "--template", str(history[0]), "-d", f"model_name={SLOWLY}"]
        made = project / PKG / "models" / SLOWLY
    before = snapshot(project) if project.exists() else None
    code, output = _interrupted(argv, tmp_path, made.is_dir, signum, tmp_path / "tmp")
    assert code == 128 + signum and "stopped:" in output and "Traceback" not in output, output
    assert not made.exists()
    assert (snapshot(project) == before) if before else not project.exists()
    assert not list((tmp_path / "tmp").iterdir())
