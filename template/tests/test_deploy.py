"""Deploying against a local AWS emulator: moto's server over HTTP, never patched boto3.

moto covers S3, CloudFormation (stacks, change sets, IAM roles, SageMaker resources) and
SageMaker's control plane. It does not run models or training jobs, does not fail stack
updates the way AWS does, and renames resources that templates name explicitly; those parts
are covered by cfn-lint and checkov (test_infra.py) and the local endpoint tests. The
`emulator` and `aws_env` fixtures are in conftest.py.
"""

import importlib
import json
import tarfile

import boto3
import pytest
from typer.testing import CliRunner


@pytest.fixture
def bundle(core, trained_run, tmp_path):
    model = "probe"
    return model, core.bundling.bundle.build(model, trained_run(model), tmp_path / "model.tar.gz")


def deploy(core, model, bundle_path, emulator, dry_run=False, **serving):
    settings = core.basics.config.DeployConfig(**serving)
    return core.cloud.deploy.deploy(model, bundle_path, "dev", settings, emulator, dry_run, progress=lambda n: None)


def test_deploy_uploads_the_bundle_and_creates_the_endpoint_stack(core, aws_env, bundle):
    model, path = bundle
    done = deploy(core, model, path, aws_env)
    assert done.action == "CREATE" and done.uploaded
    bucket, key = done.bundle_uri[5:].split("/", 1)
    head = boto3.client("s3", endpoint_url=aws_env).head_object(Bucket=bucket, Key=key)
    assert head["Metadata"]["sha256"] == core.cloud.uploads.sha256(path)
    assert key.startswith(f"{core.basics.project.settings().RESOURCE_PREFIX}/{model}/bundles/")
    cfn = boto3.client("cloudformation", endpoint_url=aws_env)
    assert cfn.describe_stacks(StackName=done.stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert done.parameters["EndpointType"] == "serverless" and done.parameters["ModelDataUrl"] == done.bundle_uri
    resources = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in cfn.describe_stack_resources(StackName=done.stack)["StackResources"]
        if "LogicalResourceId" in r  # moto lists the resources it skipped (false conditions) as blank entries
    }
    endpoint = resources["Endpoint"].rsplit("/", 1)[-1]
    described = boto3.client("sagemaker", endpoint_url=aws_env).describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"


def test_the_same_bundle_is_uploaded_once_and_a_new_one_updates_the_stack(core, aws_env, bundle, tmp_path):
    model, path = bundle
    deploy(core, model, path, aws_env)
    again = deploy(core, model, path, aws_env)
    assert not again.uploaded and again.action == "NONE"  # nothing to change
    with path.open("ab") as handle:  # a different bundle: a new hash, a new model version
        handle.write(b"\0")
    newer = deploy(core, model, path, aws_env)
    assert newer.uploaded and newer.action == "UPDATE" and newer.bundle_uri != again.bundle_uri
    cfn = boto3.client("cloudformation", endpoint_url=aws_env)
    stack = cfn.describe_stacks(StackName=newer.stack)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["ReleaseHash"] == newer.parameters["ReleaseHash"] != again.parameters["ReleaseHash"]


def test_new_serving_settings_alone_name_a_new_endpoint_configuration(core, aws_env, bundle):
    """Endpoint configurations cannot change in place: their name follows every parameter, not just the bundle."""
    model, path = bundle
    first = deploy(core, model, path, aws_env)
    resized = deploy(core, model, path, aws_env, max_concurrency=7)
    assert resized.action == "UPDATE" and resized.parameters["ReleaseHash"] != first.parameters["ReleaseHash"]


def test_a_failed_update_is_reported_and_the_previous_endpoint_keeps_serving(core, aws_env, bundle):
    model, path = bundle
    first = deploy(core, model, path, aws_env)
    with path.open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(core.cloud.aws.AwsError, match=r"failed to update.*what the stack ran before keeps running"):
        deploy(core, model, path, aws_env, memory_size_mb=1500)  # not a serverless memory size
    cfn = boto3.client("cloudformation", endpoint_url=aws_env)
    resources = cfn.describe_stack_resources(StackName=first.stack)["StackResources"]
    endpoint = next(r["PhysicalResourceId"] for r in resources if r.get("LogicalResourceId") == "Endpoint")
    endpoint = endpoint.rsplit("/", 1)[-1]
    described = boto3.client("sagemaker", endpoint_url=aws_env).describe_endpoint(EndpointName=endpoint)
    assert described["EndpointStatus"] == "InService"


def test_large_bundles_are_uploaded_in_parts(core, aws_env, bundle, tmp_path):
    model, _ = bundle
    large = tmp_path / "large.tar.gz"
    large.write_bytes(bytes(range(256)) * (40 * 2**20 // 256))  # 40 MiB: three 16 MiB parts
    seen = []
    config = core.cloud.aws.load(aws_env)
    uri, uploaded = core.cloud.uploads.upload_bundle(
        core.cloud.aws.client(config, "s3"), config, model, large, seen.append
    )
    bucket, key = uri[5:].split("/", 1)
    head = boto3.client("s3", endpoint_url=aws_env).head_object(Bucket=bucket, Key=key)
    assert uploaded and sum(seen) == large.stat().st_size
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag counts its parts


def test_an_uncompressed_bundle_deploys_from_an_s3_prefix(core, aws_env, bundle, trained_run, tmp_path):
    model, _ = bundle
    folder = core.bundling.bundle.build(model, trained_run(model), tmp_path / "model", compression="none")
    done = deploy(core, model, folder, aws_env)
    assert done.uploaded and done.bundle_uri.endswith("/model/")
    assert done.parameters["ModelDataCompression"] == "None"
    bucket, prefix = done.bundle_uri[5:].split("/", 1)
    listed = boto3.client("s3", endpoint_url=aws_env).list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]
    keys = {item["Key"][len(prefix) :] for item in listed}
    assert {"model.pt", "config.yaml", "code/inference.py"} <= keys
    again = deploy(core, model, folder, aws_env)
    assert not again.uploaded and again.bundle_uri == done.bundle_uri


def test_dry_run_shows_the_change_set_and_executes_nothing(core, aws_env, bundle):
    model, path = bundle
    done = deploy(core, model, path, aws_env, dry_run=True)
    assert done.action == "DRY-RUN"
    # moto lists every resource of the template, its conditions ignored (AWS lists these three only)
    assert {change[1] for change in done.changes} >= {"Model", "EndpointConfig", "Endpoint"}
    stacks = boto3.client("cloudformation", endpoint_url=aws_env).list_stacks()["StackSummaries"]
    assert not [s for s in stacks if s["StackName"] == done.stack and s["StackStatus"] != "DELETE_COMPLETE"]


def test_realtime_endpoints_take_instances_from_the_model_config(core, aws_env, bundle):
    model, path = bundle
    done = deploy(core, model, path, aws_env, endpoint_type="realtime", instance_type="ml.c5.xlarge")
    assert done.parameters["EndpointType"] == "realtime" and done.parameters["InstanceType"] == "ml.c5.xlarge"
    assert done.action == "CREATE"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("ARTIFACTS_BUCKET", "no-such-bucket", "bucket 'no-such-bucket' does not exist"),
        ("AWS_REGION", "mars-east-1", "unknown AWS region 'mars-east-1'"),
        ("SAGEMAKER_ROLE_ARN", "", "SAGEMAKER_ROLE_ARN is not set"),
    ],
)
def test_deploy_problems_are_clear_errors(core, aws_env, bundle, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    model, path = bundle
    with pytest.raises(core.cloud.aws.AwsError, match=message):
        deploy(core, model, path, aws_env)


def test_an_endpoint_name_too_long_to_name_its_sagemaker_model_is_refused(core, aws_env, monkeypatch):
    monkeypatch.setenv("RESOURCE_PREFIX", "p" * 30)
    config = core.cloud.aws.load(aws_env)
    assert len(config.endpoint_name("m" * 13, "prod")) == core.cloud.aws.ENDPOINT_NAME_MAX
    with pytest.raises(core.cloud.aws.AwsError, match="has 51 characters, SageMaker allows 50 here"):
        config.endpoint_name("m" * 14, "prod")


def test_no_credentials_is_a_clear_error(core, aws_env, bundle, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    model, path = bundle
    with pytest.raises(core.cloud.aws.AwsError, match="no AWS credentials"):
        deploy(core, model, path, aws_env)


def test_training_job_is_created_and_its_model_fetched_as_a_run(core, aws_env, workdir, monkeypatch):
    model = "probe"
    monkeypatch.chdir(workdir)
    schema, config_file = (
        core.catalog.registry.module(model, "model").Config,
        core.catalog.registry.folder(model) / "config.yaml",
    )
    run_config = core.basics.config.load(schema, config_file)
    job = core.jobs.remote.launch_training(model, run_config, {"trainer.max_epochs": "3"}, aws_env)
    described = core.jobs.remote.describe_training(job, aws_env)
    hyperparameters = described["HyperParameters"]
    assert json.loads(hyperparameters["sagemaker_program"]) == "train.py"
    assert json.loads(hyperparameters["trainer.max_epochs"]) == "3"
    assert described["AlgorithmSpecification"]["TrainingImage"].endswith("pytorch-training:2.6-cpu-py312")
    source = json.loads(hyperparameters["sagemaker_submit_directory"])
    bucket, key = source[5:].split("/", 1)
    assert boto3.client("s3", endpoint_url=aws_env).head_object(Bucket=bucket, Key=key)["ContentLength"] > 0
    with pytest.raises(core.cloud.aws.AwsError, match="has no model yet"):
        core.jobs.job_files.fetch_model(model, {**described, "TrainingJobStatus": "InProgress"}, aws_env)


def test_a_finished_jobs_model_becomes_a_local_run(core, aws_env, trained_run, workdir, monkeypatch, tmp_path):
    """moto never runs the job: its model.tar.gz is put where SageMaker would write it."""
    model = "probe"
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("model.pt", "config.yaml"):
            tar.add(trained_run(model) / name, arcname=name)
    config = core.cloud.aws.load(aws_env)
    key = config.key(model, "training", "output", "job-1", "output", "model.tar.gz")
    boto3.client("s3", endpoint_url=aws_env).upload_file(str(archive), config.bucket, key)
    job = {"TrainingJobName": "job-1", "TrainingJobStatus": "Completed"}
    job["ModelArtifacts"] = {"S3ModelArtifacts": f"s3://{config.bucket}/{key}"}
    monkeypatch.chdir(workdir)
    run_dir = core.jobs.job_files.fetch_model(model, job, aws_env)
    assert core.catalog.runs.find_run(model) == run_dir
    core.bundling.bundle.build(model, run_dir, tmp_path / "bundle.tar.gz")  # ready for bundle and deploy


def test_invoke_calls_the_endpoint(core, aws_env):
    body, _ = core.cloud.endpoints.invoke("any-endpoint", b"0.5,0.1", "text/csv", "application/json", aws_env)
    assert body  # moto answers invocations with a canned body; real answers are tested locally


@pytest.mark.slow
def test_cli_promotes_a_trained_model_deploys_it_and_invokes_it(core, aws_env, workdir, package, monkeypatch):
    assert (workdir / "infra" / "model.yaml").is_file()  # aws_env's copy, in the same scratch folder
    monkeypatch.chdir(workdir)
    app = importlib.import_module(f"{package}.cli").app
    model = "probe"

    def cli(*args):
        return CliRunner().invoke(app, [*map(str, args), "--endpoint-url", aws_env])

    trained = CliRunner().invoke(app, ["train", model, "trainer.max_epochs=2", "trainer.progress=false"])
    assert trained.exit_code == 0, trained.output
    promoted = cli("promote", model)
    assert promoted.exit_code == 0, promoted.output
    assert "gate passed: val_accuracy = " in promoted.output and "version 1 (PendingManualApproval)" in promoted.output
    dry = cli("deploy", model, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing executed" in dry.output and "EndpointConfig" in dry.output
    assert cli("approve", model, "--version", 1).exit_code == 0
    done = cli("deploy", model, "--stage", "prod")
    assert done.exit_code == 0, done.output
    assert f"stack {core.cloud.aws.load(aws_env).endpoint_name(model, 'prod')}: created" in done.output
    (workdir / "request.csv").write_text("0.5,0.1\n")
    invoked = cli("invoke", model, "--stage", "prod", "--data", "request.csv")
    assert invoked.exit_code == 0, invoked.output
    remote = cli("train", model, "--remote", "trainer.max_epochs=2")
    assert remote.exit_code == 0 and "training job" in remote.output
