"""One train.py for a laptop, torchrun and SageMaker training jobs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def model(core):
    return "probe"


def finished_runs(folder: Path, model: str) -> list[Path]:
    return sorted(p.parent for p in (folder / "runs" / model).glob("*/model.pt"))


def run_config(core, model: str, *overrides: str):
    """`model`'s config as `train MODEL OVERRIDES...` resolves it (data paths: relative to the working folder)."""
    return core.basics.config.load(
        core.catalog.registry.module(model, "model").Config,
        core.catalog.registry.folder(model) / "config.yaml",
        overrides,
    )


def test_staged_source_dir_holds_entry_point_package_and_requirements(core, model, package, tmp_path):
    staged = core.jobs.staging.stage(model, tmp_path / "source")
    names = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    assert {
        "train.py",
        "requirements.txt",
        f"{package}/core/trainer/training.py",
        f"{package}/models/{model}/train.py",
    } <= names
    assert not [n for n in names if "__pycache__" in n or n.endswith("cli.py")]
    others = set(core.catalog.registry.names()) - {model}
    assert not [n for n in names if any(f"/models/{other}/" in n for other in others)]
    requirements = (staged / "requirements.txt").read_text().splitlines()
    omegaconf = [r for r in requirements if r.startswith("omegaconf")]
    assert omegaconf and omegaconf[0].startswith("omegaconf==")  # pinned from requirements/lock.txt
    assert not [r for r in requirements if r.startswith("torch")]


def test_staging_refuses_a_folder_with_files(core, model, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(core.jobs.staging.JobError, match="not empty"):
        core.jobs.staging.stage(model, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_a_model_is_found_once_with_its_folder_modules_and_contract(core, model, tmp_path):
    found = core.catalog.model.find(model)
    assert found.folder == core.catalog.registry.folder(model)
    assert found.module("train") is core.catalog.registry.module(model, "train")
    assert found.contract is core.catalog.contract.of(model)
    staged = core.jobs.staging.stage(found, tmp_path / "source")  # what launching a job hands down
    assert (staged / "train.py").read_text() == core.jobs.staging.entry_point(found)
    with pytest.raises(core.catalog.registry.UnknownModelError, match="unknown model 'nope'"):
        core.catalog.model.find("nope")


@pytest.mark.slow
def test_staged_entry_point_runs_as_a_training_job(core, model, workdir):
    """`python train.py --<hp> <value>` with the SM_* environment, as SageMaker's toolkit runs it."""
    staged = core.jobs.staging.stage(model, workdir / "job" / "code")
    channel = workdir / "job" / "input" / "data" / "train"
    shutil.copytree(workdir / "data" / "samples" / "probe", channel)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env |= {
        "SM_MODEL_DIR": str(workdir / "job" / "model"),
        "SM_OUTPUT_DATA_DIR": str(workdir / "job" / "output"),
        "SM_CHANNEL_TRAIN": str(channel),
        "SM_HPS": json.dumps({"trainer.max_epochs": 2}),
    }
    command = [sys.executable, "train.py", "--trainer.progress", "false"]
    subprocess.run(command, cwd=staged, env=env, check=True)
    saved = (workdir / "job" / "model" / "config.yaml").read_text()
    assert "max_epochs: 2" in saved and str(channel) in saved
    assert (workdir / "job" / "model" / "model.pt").is_file()
    assert json.loads((workdir / "job" / "output" / "metrics.json").read_text())["val_accuracy"] >= 0
    records = {"metrics.json", "history.jsonl", "run.json"}  # so a fetched job's model is a complete run
    assert records <= {p.name for p in (workdir / "job" / "model").iterdir()}
    assert not (workdir / "runs").exists()  # a job writes only where SageMaker says


def test_job_hyperparameters_override_arguments_which_override_config_yaml(core, model, workdir, monkeypatch):
    monkeypatch.setenv("SM_HPS", json.dumps({"trainer.max_epochs": 2}))
    train = core.catalog.registry.module(model, "train")
    result = train.main(["trainer.max_epochs=7", "trainer.seed=5", "trainer.progress=false"])
    saved = core.basics.config.load(
        core.catalog.registry.module(model, "model").Config, result.paths.model_dir / "config.yaml"
    )
    defaults = core.basics.config.load(core.catalog.registry.module(model, "model").Config, train.CONFIG_FILE)
    assert (saved.trainer.max_epochs, saved.trainer.seed) == (2, 5)
    assert saved.optimizer == defaults.optimizer  # untouched keys keep config.yaml's values


@pytest.mark.slow
def test_local_sagemaker_job_becomes_a_local_run(core, model, git_workdir, head_commit):
    workdir = git_workdir
    run_dir = core.jobs.emulator.run_local_job(model, run_config(core, model), {"trainer.max_epochs": "3"})
    assert [workdir / run_dir] == finished_runs(workdir, model)
    provenance = json.loads((run_dir / "run.json").read_text())  # the job has no checkout, yet knows its commit
    assert (provenance["git_commit"], provenance["git_dirty"]) == (head_commit, False)
    saved = (run_dir / "config.yaml").read_text()
    assert "max_epochs: 3" in saved and "/opt/ml/input/data/train" in saved
    assert {"model.pt", "metrics.json", "history.jsonl"} <= {p.name for p in run_dir.iterdir()}


@pytest.mark.slow
def test_failed_local_job_is_a_clear_error(core, model, workdir):
    with pytest.raises(core.jobs.staging.JobError, match="failed with exit code"):
        core.jobs.emulator.run_local_job(model, run_config(core, model), {"trainer.max_epochs": "many"})


@pytest.mark.slow
def test_torchrun_trains_on_two_processes_and_only_rank_0_saves(core, model, package, workdir, tmp_path_factory):
    staged = core.jobs.staging.stage(model, tmp_path_factory.mktemp("source"))  # the package as a job receives it
    env = {**os.environ, "PYTHONPATH": str(staged)}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "-m"]
    command += [f"{package}.models.{model}.train", "trainer.max_epochs=3", "trainer.checkpoint_every=1"]
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "rank 0/2" in result.stdout and "rank 1/2" in result.stdout
    [run_dir] = finished_runs(workdir, model)  # one run, written once
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "checkpoints",
        "config.yaml",
        "history.jsonl",
        "metrics.json",
        "model.pt",
        "run.json",
        "status.json",
    ]
    assert len((run_dir / "history.jsonl").read_text().splitlines()) == 3  # rank 0 alone logged


def test_remote_jobs_inherit_provenance_and_tracker_settings_but_no_credentials(
    core, git_workdir, head_commit, monkeypatch
):
    monkeypatch.setenv("WANDB_PROJECT", "team-project")
    monkeypatch.setenv("WANDB_API_KEY", "secret")
    environment = core.trainer.tracking.job_environment()
    assert (environment["PROJECT_GIT_COMMIT"], environment["PROJECT_GIT_DIRTY"]) == (head_commit, "false")
    assert environment["WANDB_PROJECT"] == "team-project"
    assert environment["MLFLOW_TRACKING_URI"].startswith("sqlite:")
    assert "WANDB_API_KEY" not in environment  # anyone who can describe the job could read it
