"""Promotion against moto's server: one gated, registered bundle goes to dev, then, approved, to prod.

`promote` gates a run on its goal metric, bundles it, serves it here to check it answers,
uploads it by sha256 and registers it as a model package version; `deploy` takes a registered
version only (never builds), `approve` opens prod to it, `--version` rolls back.
"""

import hashlib
import importlib
import json
import os
import shutil
from pathlib import Path

import boto3
import pytest
import yaml
from typer.testing import CliRunner

FIXTURE_MODELS = Path(__file__).with_name("fixture_models")


@pytest.fixture
def cli(package, emulator):
    """The project CLI, talking to the emulator."""
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, [*map(str, args), "--endpoint-url", emulator])


@pytest.fixture
def at(monkeypatch):
    """`at(folder)`: make `folder` the working directory (runs and data live in one, infra/ in the project)."""
    return monkeypatch.chdir


@pytest.fixture
def strict_model(tmp_path, session_workdir, core, package, monkeypatch):
    """A copy of the probe model named `strict` whose gate no run can pass (val_accuracy >= 1.01), trained once."""
    folder = tmp_path / "models"
    shutil.copytree(FIXTURE_MODELS / "probe", folder / "strict", ignore=shutil.ignore_patterns("data", "__pycache__"))
    settings = yaml.safe_load((folder / "strict" / "config.yaml").read_text())
    settings.update(gate={"threshold": 1.01}, trainer={"max_epochs": 2})
    (folder / "strict" / "config.yaml").write_text(yaml.safe_dump(settings))
    models = importlib.import_module(f"{package}.models")
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(folder)])
    monkeypatch.chdir(session_workdir)
    core.catalog.registry.module("strict", "train").main(["trainer.progress=false"])
    return "strict"


def stack_parameters(emulator, stack):
    described = boto3.client("cloudformation", endpoint_url=emulator).describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}


def promoted(cli, model, *args):
    result = cli("promote", model, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def test_an_impossible_gate_refuses_the_run_in_one_line_and_registers_nothing(cli, aws_env, strict_model):
    result = cli("promote", strict_model)
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "fails its quality gate: val_accuracy = " in result.output and ">= 1.01" in result.output
    bucket = boto3.client("s3", endpoint_url=aws_env).list_objects_v2(Bucket=os.environ["ARTIFACTS_BUCKET"])
    assert bucket.get("KeyCount", 0) == 0
    groups = boto3.client("sagemaker", endpoint_url=aws_env).list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert groups == []


@pytest.mark.slow
def test_one_artifact_goes_from_registration_to_dev_to_prod_and_rolls_back(
    cli, core, aws_env, trained_run, session_workdir, at
):
    model = "probe"
    project = Path.cwd()  # holds infra/, which deploy reads
    first_run = trained_run(model)
    at(session_workdir)
    first = promoted(cli, model, "--run", first_run.name)
    assert (first["version"], first["status"]) == (1, "PendingManualApproval")
    assert promoted(cli, model, "--run", first_run.name)["arn"] == first["arn"]  # the same bundle: no new version
    bucket, key = first["bundle_uri"][len("s3://") :].split("/", 1)
    stored = boto3.client("s3", endpoint_url=aws_env).get_object(Bucket=bucket, Key=key)["Body"].read()
    assert (
        hashlib.sha256(stored).hexdigest() == first["sha256"] == core.cloud.uploads.sha256(first_run / "model.tar.gz")
    )

    at(project)
    assert "no approved version" in cli("deploy", model, "--stage", "prod").output
    dev = cli("deploy", model, "--stage", "dev")
    assert dev.exit_code == 0, dev.output
    dev_stack = core.cloud.aws.load(aws_env).endpoint_name(model, "dev")
    assert stack_parameters(aws_env, dev_stack)["ModelPackageArn"] == first["arn"]

    assert cli("approve", model, "--version", 1).exit_code == 0
    prod = cli("deploy", model, "--stage", "prod")
    assert prod.exit_code == 0, prod.output
    prod_stack = core.cloud.aws.load(aws_env).endpoint_name(model, "prod")
    prod_parameters = stack_parameters(aws_env, prod_stack)
    assert prod_parameters["ModelPackageArn"] == first["arn"]
    assert prod_parameters["ModelDataUrl"] == first["bundle_uri"]  # the very object dev was given

    at(session_workdir)
    second, third = (promoted(cli, model, "--run", retrained(core, model, seed)) for seed in (1, 2))
    assert (second["version"], third["version"]) == (2, 3) and second["sha256"] != first["sha256"]
    at(project)
    assert cli("deploy", model, "--stage", "dev").exit_code == 0  # dev takes the newest version
    assert stack_parameters(aws_env, dev_stack)["ModelPackageArn"] == third["arn"]
    assert cli("deploy", model, "--stage", "prod").exit_code == 0  # prod stays on the approved version
    assert stack_parameters(aws_env, prod_stack)["ModelPackageArn"] == first["arn"]

    history = cli("models", "history", model)
    assert history.exit_code == 0, history.output
    rows = {line.split("│")[1].strip(): line for line in history.output.splitlines() if line.count("│") > 3}
    assert "prod" in rows["1"] and "Approved" in rows["1"] and "dev" in rows["3"] and "dev" not in rows["2"]

    # Roll dev back to version 2 (moto compares a change set with the parameters a stack was created
    # with, not its current ones, so going back to the first version would look like "no changes" there).
    # Going back is deliberate: two CI runs finishing out of order must not do it by accident.
    refused = cli("deploy", model, "--stage", "dev", "--version", 2)
    assert refused.exit_code == 2 and "dev serves version 3, newer than 2: add --rollback" in refused.output
    rollback = cli("deploy", model, "--stage", "dev", "--version", 2, "--rollback")
    assert rollback.exit_code == 0, rollback.output
    assert stack_parameters(aws_env, dev_stack)["ModelDataUrl"] == second["bundle_uri"]

    # A registered bundle written over in S3 (the bucket keeps versions) is never deployed.
    bucket, key = third["bundle_uri"][len("s3://") :].split("/", 1)
    boto3.client("s3", endpoint_url=aws_env).put_object(Bucket=bucket, Key=key, Body=b"other bytes")
    tampered = cli("deploy", model, "--stage", "dev", "--version", 3)
    assert tampered.exit_code == 2 and "was written over since it was registered" in tampered.output
    assert stack_parameters(aws_env, dev_stack)["ModelDataUrl"] == second["bundle_uri"]


def retrained(core, model, seed):
    """The id of a new run of `model` trained with another seed (other weights: another bundle)."""
    result = core.catalog.registry.module(model, "train").main(["trainer.progress=false", f"trainer.seed={seed}"])
    return result.paths.model_dir.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deploy", "probe", "--stage", "dev"], "has no registered version yet: run `promote`"),
        (["deploy", "probe", "--stage", "qa"], "'qa' is not one of 'dev', 'prod'"),
        (["approve", "probe", "--version", "3"], "has no version 3"),
        (["models", "history", "nope"], "unknown model 'nope'"),
        (["promote", "nope"], "unknown model 'nope'"),
    ],
)
def test_registry_commands_refuse_in_one_line(cli, aws_env, args, message):
    result = cli(*args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert result.output.strip().count("\n") == 0
