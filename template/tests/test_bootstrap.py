"""`bootstrap`: the project stack is deployed and its outputs recorded where `aws.load()` finds them."""

import importlib
import json
import shutil
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT = "123456789012"  # moto's account
RECORD = Path("infra") / "accounts" / f"{ACCOUNT}-us-east-1.json"


@pytest.fixture
def project(fresh_emulator, tmp_path, monkeypatch) -> str:
    """The emulator, and a project folder holding infra/project.yaml as the working directory, no settings set."""
    (tmp_path / "infra").mkdir()
    shutil.copy(ROOT / "infra" / "project.yaml", tmp_path / "infra")
    monkeypatch.chdir(tmp_path)
    for name in ("ARTIFACTS_BUCKET", "SAGEMAKER_ROLE_ARN", "RESOURCE_PREFIX", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    _resolve_change_set_outputs(monkeypatch)
    return fresh_emulator


def _resolve_change_set_outputs(monkeypatch) -> None:
    """moto 5.2.5 leaves a stack made through a change set without Outputs; CloudFormation resolves them."""
    from moto.cloudformation import models, parsing

    apply = models.ChangeSet.apply

    def apply_and_resolve(change_set) -> None:
        apply(change_set)
        stack = change_set.stack
        stack.output_map = parsing.OutputMap(stack.resource_map, change_set.template_dict, stack.stack_id)

    monkeypatch.setattr(models.ChangeSet, "apply", apply_and_resolve)


@pytest.fixture
def cli(package):
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, ["bootstrap", *map(str, args)])


def stack_outputs(emulator: str, stack: str) -> dict[str, str]:
    described = boto3.client("cloudformation", endpoint_url=emulator).describe_stacks(StackName=stack)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}


def test_bootstrap_deploys_the_project_stack_and_records_its_outputs(core, cli, project):
    created = cli("--github-repository", "octo/ml", "--endpoint-url", project)
    assert created.exit_code == 0, created.output
    stack = f"{core.basics.project.settings().RESOURCE_PREFIX}-project"
    assert f"stack {stack}: created" in created.output
    assert "CREATE_COMPLETE" in created.stderr  # the stack's events, as they arrive
    record = json.loads(RECORD.read_text())
    outputs = stack_outputs(project, stack)
    assert record == {"account": ACCOUNT, "region": "us-east-1", "stack": stack, "outputs": outputs}
    assert {"ArtifactsBucketName", "ExecutionRoleArn"} <= set(outputs)
    boto3.client("s3", endpoint_url=project).head_bucket(Bucket=outputs["ArtifactsBucketName"])
    secrets = core.cloud.bootstrap.github_secrets(outputs)
    assert secrets, outputs
    for name, environment, arn in secrets:
        assert f"gh secret set {name}{f' --env {environment}' if environment else ''} --body {arn}" in created.output

    again = cli("--endpoint-url", project)  # the repository given before is kept
    assert again.exit_code == 0, again.output
    assert f"stack {stack}: no changes" in again.output and f"{RECORD} unchanged" in again.output
    assert json.loads(RECORD.read_text()) == record

    config = core.cloud.aws.load(project)
    assert (config.bucket, config.role_arn) == (outputs["ArtifactsBucketName"], outputs["ExecutionRoleArn"])


def test_the_workflows_role_secrets_are_named_after_the_outputs(core):
    outputs = {"ExecutionRoleArn": "e", "PublishRoleArn": "p", "DevDeployRoleArn": "d", "ProdDeployRoleArn": "q"}
    assert core.cloud.bootstrap.github_secrets(outputs | {"ArtifactsBucketName": "b"}) == [
        ("AWS_PUBLISH_ROLE_ARN", None, "p"),
        ("AWS_DEPLOY_ROLE_ARN", "dev", "d"),
        ("AWS_DEPLOY_ROLE_ARN", "prod", "q"),
    ]


def test_bootstrap_uses_an_existing_bucket_and_oidc_provider(core, project):
    boto3.client("s3", endpoint_url=project).create_bucket(Bucket="team-artifacts")
    iam = boto3.client("iam", endpoint_url=project)
    provider = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    choices = {"ExistingBucketName": "team-artifacts", "GitHubRepository": "octo/ml"}
    done = core.cloud.bootstrap.bootstrap(choices, "team-project", project, False, lambda event: None)
    assert done.action == "CREATE" and done.parameters["GitHubOidcProviderArn"] == provider
    assert done.outputs["ArtifactsBucketName"] == "team-artifacts"
    assert json.loads(RECORD.read_text())["outputs"]["ArtifactsBucketName"] == "team-artifacts"


def test_dry_run_shows_the_change_set_and_changes_nothing(core, cli, project):
    result = cli("--dry-run", "--endpoint-url", project)
    assert result.exit_code == 0, result.output
    assert "SageMakerExecutionRole" in result.output and "dry run: nothing executed" in result.output
    assert not RECORD.parent.exists()
    with pytest.raises(botocore.exceptions.ClientError, match="does not exist"):
        boto3.client("cloudformation", endpoint_url=project).describe_stacks(
            StackName=f"{core.basics.project.settings().RESOURCE_PREFIX}-project"
        )


@pytest.mark.parametrize(
    ("args", "prefix", "message"),
    [
        ([], "Bad--Name", "RESOURCE_PREFIX 'Bad--Name' must be"),
        (["--existing-bucket", "no-such-bucket"], None, "bucket 'no-such-bucket' does not exist"),
        (["--github-repository", "just-a-name"], None, "GitHub repository 'just-a-name' is not OWNER/NAME"),
    ],
)
def test_bad_choices_are_one_line_and_write_nothing(cli, project, monkeypatch, args, prefix, message):
    if prefix:
        monkeypatch.setenv("RESOURCE_PREFIX", prefix)
    result = cli(*args, "--endpoint-url", project)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), result.stderr
    assert not RECORD.parent.exists()


def test_an_environment_variable_wins_over_the_accounts_file_which_wins_over_settings(
    core, project, monkeypatch, package
):
    core.cloud.accounts.write(
        ACCOUNT, "us-east-1", "p", {"ArtifactsBucketName": "recorded", "ExecutionRoleArn": "arn:role"}
    )
    monkeypatch.setattr(core.basics.project.settings(), "SAGEMAKER_ROLE_ARN", "arn:settings-role")
    monkeypatch.setenv("ARTIFACTS_BUCKET", "from-env")
    config = core.cloud.aws.load(project)
    assert (config.bucket, config.role_arn) == ("from-env", "arn:role")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # no file for this region
    assert core.cloud.aws.load(project).role_arn == "arn:settings-role"
    monkeypatch.setattr(core.basics.project.settings(), "SAGEMAKER_ROLE_ARN", "")
    with pytest.raises(core.cloud.aws.AwsError, match=rf"SAGEMAKER_ROLE_ARN is not set: run `{package} bootstrap`"):
        core.cloud.aws.load(project)


def test_with_several_accounts_the_callers_file_is_used(core, project, monkeypatch, tmp_path):
    for account in ("111111111111", ACCOUNT):
        core.cloud.accounts.write(
            account, "us-east-1", "p", {"ArtifactsBucketName": f"b{account}", "ExecutionRoleArn": "r"}
        )
    assert core.cloud.aws.load(project).bucket == f"b{ACCOUNT}"  # sts:GetCallerIdentity says which
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(core.cloud.accounts.AccountsError, match="accounts 111111111111, 123456789012"):
        core.cloud.aws.load(project)
    (tmp_path / RECORD).unlink()
    assert core.cloud.aws.load(project).bucket == "b111111111111"  # the only file: no need to ask STS
