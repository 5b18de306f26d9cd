"""The project CLI: commands work, and user errors are one line with exit code 2."""

import importlib

import pytest
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def cli(package):
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


def test_models_lists_every_model(core, cli):
    result = cli("models", "--plain")
    assert result.exit_code == 0
    assert result.output.split() == core.registry.names()


def test_train_then_bundle_the_latest_run(core, cli, workdir):
    model = core.registry.names()[0]
    trained = cli("train", model, "trainer.max_epochs=2", "trainer.progress=false")
    assert trained.exit_code == 0, trained.output
    run_dir = core.runs.find_run(model)
    assert {"model.pt", "config.yaml", "metrics.json", "history.jsonl"} <= {p.name for p in run_dir.iterdir()}
    bundled = cli("bundle", model, "--out", workdir / "out.tar.gz")
    assert bundled.exit_code == 0, bundled.output
    assert (workdir / "out.tar.gz").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "no_such_model"], "unknown model 'no_such_model'"),
        (["train", "../etc"], "unknown model"),
        (["train", "{model}", "trainer.max_epochz=1"], "max_epochz"),
        (["train", "{model}", "data.path=missing.csv"], "data not found"),
        (["bundle", "{model}", "--run", "nope"], "no finished run 'nope'"),
        (["serve"], "give either a MODEL or --bundle"),
        (["serve", "--bundle", "missing.tar.gz"], "not a readable tar archive"),
        (["train", "{model}", "--stage", "data"], "is not empty"),
        (["train", "{model}", "--sagemaker-local", "trainer.speed=1"], "speed"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(core, cli, workdir, args, message):
    model = core.registry.names()[0]
    result = cli(*[a.format(model=model) for a in args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_stage_and_local_sagemaker_job_from_the_cli(core, cli, workdir):
    model = core.registry.names()[0]
    staged = cli("train", model, "--stage", workdir / "source")
    assert staged.exit_code == 0, staged.output
    assert (workdir / "source" / "train.py").is_file()
    job = cli("train", model, "--sagemaker-local", "trainer.max_epochs=2", "trainer.progress=false")
    assert job.exit_code == 0, job.output
    bundled = cli("bundle", model, "--compression", "none")
    assert bundled.exit_code == 0, bundled.output
    assert (core.runs.find_run(model) / "model" / "code" / "inference.py").is_file()
