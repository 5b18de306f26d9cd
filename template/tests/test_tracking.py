"""Tracking that every backend shares: history, provenance (git commit, dirty flag), run ranking."""

import json
import re
from pathlib import Path

import pytest


def test_provenance_is_the_commit_and_whether_the_tree_was_clean(core, git_workdir, monkeypatch, head_commit):
    assert core.trainer.tracking.source_version(git_workdir) == {"git_commit": head_commit, "git_dirty": False}
    (git_workdir / "runs").mkdir()
    (git_workdir / "runs" / "ignored.txt").write_text("outputs do not count\n")
    assert core.trainer.tracking.source_version(git_workdir) == {"git_commit": head_commit, "git_dirty": False}
    (git_workdir / "notes.py").write_text("x = 2\n")
    assert core.trainer.tracking.source_version(git_workdir) == {"git_commit": head_commit, "git_dirty": True}
    monkeypatch.setenv(core.trainer.tracking.COMMIT_VARIABLE, "abc123")  # how a SageMaker job learns it
    monkeypatch.setenv(core.trainer.tracking.DIRTY_VARIABLE, "false")
    assert core.trainer.tracking.source_version(git_workdir) == {"git_commit": "abc123", "git_dirty": False}


def test_outside_git_provenance_is_unknown(core, tmp_path):
    assert core.trainer.tracking.source_version(tmp_path) == {"git_commit": None, "git_dirty": None}


def test_run_folder_records_history_and_provenance_without_a_backend(core, git_workdir, head_commit):
    run_dir = git_workdir / "runs" / "m" / "r1"
    with core.trainer.tracking.Tracker("m", run_dir, backend="none") as tracker:
        tracker.log_params({"optimizer": {"lr": 0.1}})
        for step in (1, 2):
            tracker.log_metrics({"val_loss": 1.0 / step}, step=step)
    assert core.trainer.tracking.read_history(run_dir) == [{"step": 1, "val_loss": 1.0}, {"step": 2, "val_loss": 0.5}]
    provenance = json.loads((run_dir / "run.json").read_text())
    assert provenance["experiment"] == "m" and provenance["tracking"] == "none"
    assert (provenance["git_commit"], provenance["git_dirty"]) == (head_commit, False)


def test_a_non_finite_metric_is_recorded_as_null_in_valid_json(core, tmp_path):
    run_dir = tmp_path / "runs" / "m" / "r1"
    with core.trainer.tracking.Tracker("m", run_dir, backend="none") as tracker:
        tracker.log_metrics({"val_loss": float("nan"), "accuracy": float("inf")}, step=1)
    strict = json.JSONDecoder(parse_constant=lambda name: pytest.fail(f"bare {name} in history.jsonl"))
    line = (run_dir / "history.jsonl").read_text().splitlines()[0]
    assert strict.decode(line) == {"step": 1, "val_loss": None, "accuracy": None}


def test_an_unknown_backend_is_a_clear_error(core, tmp_path):
    expected = r"unknown tracking backend .tensorboard. in settings\.TRACKING: choose none, mlflow, wandb"
    with pytest.raises(core.trainer.tracking.TrackingError, match=expected):
        core.trainer.tracking.Tracker("m", tmp_path / "run", backend="tensorboard")


def test_disabled_tracker_writes_nothing(core, tmp_path):
    with core.trainer.tracking.Tracker("m", tmp_path / "run", enabled=False) as tracker:
        tracker.log_metrics({"val_loss": 1.0}, step=1)
    assert not (tmp_path / "run").exists()


def fake_run(core, model, name, **metrics):
    run_dir = core.catalog.runs.runs_root() / model / name
    run_dir.mkdir(parents=True)
    (run_dir / "model.pt").write_bytes(b"")
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    return run_dir


def test_best_run_follows_the_metric_direction(core, workdir):
    first = fake_run(core, "m", "1", val_loss=0.5, val_accuracy=0.9)
    second = fake_run(core, "m", "2", val_loss=0.2, val_accuracy=0.8)
    tie = fake_run(core, "m", "3", val_loss=0.2)
    assert core.catalog.run_summaries.best_run("m", "val_accuracy", "max") == first
    assert core.catalog.run_summaries.best_run("m", "val_loss", "min") == tie  # ties go to the latest run
    assert core.catalog.run_summaries.best_run("m", "val_accuracy", "min") == second
    assert [run.path for run in core.catalog.run_summaries.ranked("m", "val_accuracy", "max")] == [first, second]
    with pytest.raises(core.catalog.runs.RunError, match="metrics: val_accuracy, val_loss"):
        core.catalog.run_summaries.best_run("m", "f1", "max")
    with pytest.raises(core.catalog.runs.RunError, match="'min' or 'max'"):
        core.catalog.run_summaries.best_run("m", "val_loss", "lowest")


def test_only_a_backend_module_imports_its_tracking_library(package):
    source = Path(__file__).resolve().parents[1] / "src" / package
    for path in source.rglob("*.py"):
        for library in ("mlflow", "wandb"):
            if re.search(rf"^\s*(import|from) {library}\b", path.read_text(), re.MULTILINE):
                assert path.name == f"{library}_tracking.py", f"{path} imports {library}"
