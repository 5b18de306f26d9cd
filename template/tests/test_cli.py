"""The project CLI: commands work, and user errors are one line with exit code 2."""

import importlib

import pytest
import yaml
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def cli(package):
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


def test_models_lists_every_model(core, cli):
    result = cli("models", "--plain")
    assert result.exit_code == 0
    assert result.output.split() == core.catalog.registry.names()
    table = cli("models")
    assert table.exit_code == 0, table.output
    assert "probe" in table.output and "val_accuracy (max)" in table.output


@pytest.mark.parametrize("group", [[], ["data"], ["models", "history", "--help"]])
def test_a_group_without_a_command_shows_its_help_and_no_error(cli, group):
    result = cli(*group)
    assert result.exit_code == (0 if "--help" in group else 2)
    assert "Usage:" in result.output and "error:" not in result.output


def test_help_lists_every_command_group(cli):
    result = cli("--help")
    assert result.exit_code == 0
    assert all(name in result.output for name in ("train", "bundle", "serve", "promote", "deploy", "data", "models"))


def test_train_then_bundle_the_latest_run(core, cli, workdir):
    model = "probe"
    trained = cli("train", model, "trainer.max_epochs=2", "trainer.progress=false")
    assert trained.exit_code == 0, trained.output
    run_dir = core.catalog.runs.find_run(model)
    assert {"model.pt", "config.yaml", "metrics.json", "history.jsonl"} <= {p.name for p in run_dir.iterdir()}
    bundled = cli("bundle", model, "--out", workdir / "out.tar.gz")
    assert bundled.exit_code == 0, bundled.output
    assert (workdir / "out.tar.gz").is_file()


def test_a_run_resumes_in_its_own_folder_with_its_own_config(core, cli, workdir):
    started = cli("train", "probe", "trainer.max_epochs=2", "trainer.checkpoint_every=1", "optimizer.lr=0.05")
    assert started.exit_code == 0, started.output
    run_dir = core.catalog.runs.find_run("probe")
    resumed = cli("train", "probe", "--resume", run_dir.name, "trainer.max_epochs=4")
    assert resumed.exit_code == 0, resumed.output
    assert core.catalog.runs.list_runs("probe") == [run_dir]
    assert [entry["step"] for entry in core.trainer.tracking.read_history(run_dir)] == [1, 2, 3, 4]
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert (saved["trainer"]["max_epochs"], saved["optimizer"]["lr"]) == (4, 0.05)  # the run's own lr, kept


def test_bad_config_fails_before_training_starts(core, cli, workdir):
    result = cli("train", "probe", "data.batch_size=many")
    assert result.exit_code == 2
    assert "key: data.batch_size" in result.output
    assert not (workdir / "runs").exists()


def test_config_prints_what_training_would_use(core, cli, workdir):
    model = "probe"
    result = cli("config", model, "trainer.max_epochs=3", "optimizer.lr=0.5")
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.output)
    assert (printed["trainer"]["max_epochs"], printed["optimizer"]["lr"]) == (3, 0.5)
    assert set(printed) >= {"data", "model", "optimizer", "trainer", "deploy"}


def test_runs_are_listed_and_the_best_one_bundled(core, cli, workdir):
    model = "probe"
    for epochs, seed in ((1, 0), (3, 1), (2, 2)):  # different seeds: runs keep their best epoch, which may be the 1st
        settings = (f"trainer.max_epochs={epochs}", f"trainer.seed={seed}", "optimizer.lr=0.001")
        trained = cli("train", model, *settings, "trainer.progress=false")
        assert trained.exit_code == 0, trained.output
    summaries = core.catalog.run_summaries.summaries(model)
    best = min(summaries, key=lambda run: run.metrics["val_loss"])
    listed = cli("runs", model, "--sort", "val_loss")
    assert listed.exit_code == 0, listed.output
    assert listed.output.index(best.path.name[-6:]) < min(
        listed.output.index(run.path.name[-6:]) for run in summaries if run is not best
    )
    bundled = cli("bundle", model, "--best", "val_loss")
    assert bundled.exit_code == 0, bundled.output
    assert (best.path / "model.tar.gz").is_file()
    assert sum((run.path / "model.tar.gz").is_file() for run in summaries) == 1
    by_goal = cli("runs", model)  # the contract's goal metric and direction, and the params that vary
    assert by_goal.exit_code == 0, by_goal.output
    assert "val_accuracy (max)" in by_goal.output and "trainer.max_epochs" in by_goal.output
    assert "optimizer.lr" not in by_goal.output  # the same in every run
    unknown = cli("bundle", model, "--best", "val_f1")
    assert unknown.exit_code == 2 and "give --goal" in unknown.output


@pytest.mark.slow
def test_stage_and_local_sagemaker_job_from_the_cli(core, cli, workdir):
    model = "probe"
    staged = cli("train", model, "--stage", workdir / "source")
    assert staged.exit_code == 0, staged.output
    assert (workdir / "source" / "train.py").is_file()
    job = cli("train", model, "--sagemaker-local", "trainer.max_epochs=2", "trainer.progress=false")
    assert job.exit_code == 0, job.output
    bundled = cli("bundle", model, "--compression", "none")
    assert bundled.exit_code == 0, bundled.output
    assert (core.catalog.runs.find_run(model) / "model" / "code" / "inference.py").is_file()
