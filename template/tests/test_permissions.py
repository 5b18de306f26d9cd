"""Least privilege, proven: the project's own code runs with each GitHub role of infra/project.yaml.

The roles are deployed on an emulator that enforces IAM (tests/iam_emulator.py): what a role's
policy does not allow is denied, as on AWS. Each role does its job (publish uploads and trains,
dev deploys and invokes), is refused another's (prod cannot touch dev), and a copy of the template
without one permission shows the same call denied, so these tests can fail. Every call the code made
is then checked against the role's policy as deployed, with what CloudFormation and SageMaker do on
the caller's behalf (iam:PassRole, the model stack's resources). The trust policies are checked on
the template: each GitHub role is assumable from exactly its subjects.
"""

import importlib.util
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import botocore.awsrequest
import pytest
import yaml

# A moto server of its own, started once (about 7 s): CI runs these; a plain `pytest` skips them.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "infra" / "project.yaml"
MODEL = "probe"


def _sibling(name: str):
    """Import tests/<name>.py (tests are imported in importlib mode: their folder is not on sys.path)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


iam = _sibling("iam_emulator")


@pytest.fixture(scope="session")
def iam_emulator():
    """moto's server enforcing IAM, started once (about a second), killed with its process group at the end."""
    emulator = iam.Emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def project(iam_emulator, core):
    """infra/project.yaml deployed as the project (RESOURCE_PREFIX), with a session of each GitHub role."""
    return iam_emulator.deploy_project(core.basics.project.settings().RESOURCE_PREFIX, TEMPLATE.read_text())


@pytest.fixture(scope="module")
def recorder():
    """The AWS calls of the scenarios below, labelled with their role."""
    with iam.CallRecorder().installed() as calls:
        yield calls


@contextmanager
def acting_as(project, role: str, recorder=None, cwd: Path = ROOT):
    """The project's code runs as `role` of `project`, from `cwd` (deploy reads infra/model.yaml from the root)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_PROFILE", raising=False)
        for name, value in project.environment(role).items():
            patch.setenv(name, value)
        patch.chdir(cwd)
        with recorder.acting_as(role) if recorder else nullcontext():
            yield


def deploy(core, bundle: Path, stage: str):
    """`deploy` of `bundle` to `stage`, as the CLI calls it (endpoint from the environment)."""
    return core.cloud.deploy.deploy(
        MODEL, bundle, stage, core.basics.config.DeployConfig(), None, False, progress=lambda n: None
    )


def upload(core, bundle: Path) -> str:
    """What promote does first: the bundle into the project's bucket; its S3 URI."""
    config = core.cloud.aws.load()
    return core.cloud.uploads.upload_bundle(core.cloud.aws.client(config, "s3"), config, MODEL, bundle, lambda n: None)[
        0
    ]


# Scenarios: each role doing its job, recorded ---------------------------------------------------


@pytest.fixture(scope="module")
def bundle(core, trained_run, tmp_path_factory) -> Path:
    return core.bundling.bundle.build(
        MODEL, trained_run(MODEL), tmp_path_factory.mktemp("permissions") / "model.tar.gz"
    )


@pytest.fixture(scope="module")
def published(core, project, recorder, bundle) -> str:
    with acting_as(project, "publish", recorder):
        return upload(core, bundle)


@pytest.fixture(scope="module")
def dev_deployment(core, project, recorder, bundle, published):
    with acting_as(project, "dev", recorder):
        return deploy(core, bundle, "dev")


@pytest.fixture(scope="module")
def invocation(core, project, recorder, dev_deployment) -> bytes:
    with acting_as(project, "dev", recorder):
        endpoint = core.cloud.aws.load().endpoint_name(MODEL, "dev")
        return core.cloud.endpoints.invoke(endpoint, b"0.5,0.1", "text/csv", "application/json", None)[0]


@pytest.fixture(scope="module")
def training_job(core, project, recorder, session_workdir) -> dict:
    with acting_as(project, "publish", recorder, cwd=session_workdir):  # the probe's data path is relative
        run_config = core.basics.config.load(
            core.catalog.registry.module(MODEL, "model").Config, core.catalog.registry.folder(MODEL) / "config.yaml"
        )
        job = core.jobs.remote.launch_training(MODEL, run_config, {}, None)
        return core.jobs.remote.describe_training(job, None)


@pytest.fixture(scope="module")
def promotion(core, project, recorder, trained_run, session_workdir):
    """`promote`: gate, check, upload and register a run, as the publish role."""
    with acting_as(project, "publish", recorder, cwd=session_workdir):
        return core.cloud.promotion.publish(
            core.cloud.promotion.prepare(MODEL, trained_run(MODEL)), None, lambda n: None
        )


def deploy_registered(core, stage: str, approved_only: bool, approve: bool = False):
    """What `deploy` (after `approve`, for prod) does: pick the registered version, then deploy it."""
    config = core.cloud.aws.load()
    sagemaker, group = core.cloud.aws.client(config, "sagemaker"), config.group_name(MODEL)
    chosen = core.cloud.packages.choose(
        core.cloud.packages.versions(sagemaker, group), group, None, approved_only=False
    )
    if approve:
        chosen = core.cloud.packages.approve(sagemaker, chosen, "approved in the permission tests")
    chosen = core.cloud.packages.choose(
        core.cloud.packages.versions(sagemaker, group), group, chosen.number, approved_only
    )
    return core.cloud.deploy.deploy_version(MODEL, chosen, stage, core.basics.config.DeployConfig(), None, False)


@pytest.fixture(scope="module")
def registered_dev_deployment(core, project, recorder, promotion):
    """`deploy --stage dev`: the newest registered version, as the dev role."""
    with acting_as(project, "dev", recorder):
        return deploy_registered(core, "dev", approved_only=False)


@pytest.fixture(scope="module")
def approved_prod_deployment(core, project, recorder, promotion, registered_dev_deployment):
    """`approve` then `deploy --stage prod`, as the prod role."""
    with acting_as(project, "prod", recorder):
        return deploy_registered(core, "prod", approved_only=True, approve=True)


def test_the_dev_role_deploys_the_newest_registered_version(promotion, registered_dev_deployment):
    assert registered_dev_deployment.parameters["ModelPackageArn"] == promotion.version.arn


def test_the_prod_role_approves_and_deploys_the_same_version(
    promotion, registered_dev_deployment, approved_prod_deployment
):
    prod, dev = approved_prod_deployment.parameters, registered_dev_deployment.parameters
    assert prod["ModelPackageArn"] == dev["ModelPackageArn"] == promotion.version.arn
    assert prod["ModelDataUrl"] == dev["ModelDataUrl"]


def test_the_dev_role_cannot_approve(core, project, promotion):
    with acting_as(project, "dev"), pytest.raises(core.cloud.aws.AwsError, match=r"AccessDenied|403"):
        deploy_registered(core, "dev", approved_only=False, approve=True)


def test_the_publish_role_promotes_runs(project, promotion):
    assert promotion.version.arn.split(":model-package/")[1].startswith(f"{project.name}--{MODEL}/")


def test_the_publish_role_uploads_bundles_under_the_projects_prefix(core, project, published):
    assert published.startswith(f"s3://{project.outputs['ArtifactsBucketName']}/{project.name}/{MODEL}/bundles/")


def test_the_dev_role_deploys_a_published_bundle_to_dev(core, project, iam_emulator, dev_deployment):
    assert dev_deployment.action in ("CREATE", "UPDATE") and not dev_deployment.uploaded  # also deployed: a version
    cfn = iam_emulator.client("cloudformation")
    status = cfn.describe_stacks(StackName=dev_deployment.stack)["Stacks"][0]["StackStatus"]
    assert status == f"{dev_deployment.action}_COMPLETE"


def test_the_dev_role_invokes_its_endpoint(invocation):
    assert invocation  # moto answers with a canned body: the call was allowed


def test_the_publish_role_launches_training_jobs(project, training_job):
    assert training_job["TrainingJobName"].startswith(f"{project.name}--{MODEL}-")
    assert training_job["RoleArn"] == project.outputs["ExecutionRoleArn"]


# Refusals -----------------------------------------------------------------------------------------


def test_the_prod_role_cannot_deploy_to_dev(core, project, bundle, published):
    with (
        acting_as(project, "prod"),
        pytest.raises(core.cloud.aws.AwsError, match="not authorized to perform: cloudformation"),
    ):
        deploy(core, bundle, "dev")


def test_the_dev_role_cannot_upload_bundles(core, project, bundle, tmp_path):
    unpublished = tmp_path / "model.tar.gz"
    unpublished.write_bytes(bundle.read_bytes() + b"\0")
    with acting_as(project, "dev"), pytest.raises(core.cloud.aws.AwsError, match=r"AccessDenied.*PutObject") as raised:
        deploy(core, unpublished, "dev")
    assert "\n" not in str(raised.value)


def test_the_dev_role_cannot_invoke_prod_endpoints(core, project):
    with acting_as(project, "dev"), pytest.raises(core.cloud.aws.AwsError, match="403"):
        core.cloud.endpoints.invoke(
            core.cloud.aws.load().endpoint_name(MODEL, "prod"), b"0.5,0.1", "text/csv", "text/csv", None
        )


def test_without_one_permission_the_same_deploy_is_denied(core, iam_emulator, project, bundle):
    """The check can fail: a copy of the template whose dev role lacks cloudformation:CreateChangeSet."""
    stripped = iam.without(TEMPLATE.read_text(), "GitHubDevDeployRole", "cloudformation:CreateChangeSet")
    provider = f"arn:aws:iam::{iam.ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"  # the account has one
    other = iam_emulator.deploy_project(f"{project.name}-b", stripped, oidc_provider=provider)
    with acting_as(other, "publish"):
        upload(core, bundle)
    with acting_as(other, "dev"):
        stack = core.cloud.aws.load().endpoint_name(MODEL, "dev")
        with pytest.raises(
            core.cloud.aws.AwsError, match=rf"change set for {stack} could not be created: AccessDenied"
        ) as raised:
            deploy(core, bundle, "dev")
    assert "cloudformation:CreateChangeSet" in str(raised.value) and "\n" not in str(raised.value)


def test_a_403_for_a_missing_bundle_is_one_line_naming_the_key_and_permission(core, project, bundle, tmp_path):
    """Real S3 answers 403, not 404, for a missing key when the caller lacks s3:ListBucket (moto says 404)."""

    def forbidden(request, **kwargs):
        return botocore.awsrequest.AWSResponse(request.url, 403, {}, _EmptyBody())

    with acting_as(project, "dev"), iam.handler("before-send.s3.HeadObject", forbidden):
        with pytest.raises(core.cloud.aws.AwsError) as raised:
            deploy(core, bundle, "dev")
        key = core.cloud.aws.load().key(MODEL, "bundles", core.cloud.uploads.sha256(bundle)[:16], "model.tar.gz")
    message = str(raised.value)
    assert key in message and "s3:ListBucket" in message and "\n" not in message


class _EmptyBody:
    def stream(self, **kwargs):
        yield b""


# Every call the code made, against the role's policy ----------------------------------------------


def test_every_call_the_code_made_is_allowed_by_its_roles_policy(
    project,
    recorder,
    published,
    dev_deployment,
    invocation,
    training_job,
    promotion,
    registered_dev_deployment,
    approved_prod_deployment,
):
    made = {(call.role, call.service, call.operation) for call in recorder.calls}
    assert {
        ("publish", "s3", "PutObject"),
        ("publish", "sagemaker", "CreateTrainingJob"),
        ("dev", "s3", "HeadObject"),
        ("dev", "cloudformation", "CreateChangeSet"),
        ("dev", "sagemaker-runtime", "InvokeEndpoint"),
        ("publish", "sagemaker", "CreateModelPackage"),
        ("dev", "sagemaker", "ListModelPackages"),
        ("prod", "sagemaker", "UpdateModelPackage"),
        ("prod", "cloudformation", "ExecuteChangeSet"),
    } <= made
    refused = [
        (call.role, call.operation, *need)
        for call in recorder.calls
        for need in iam.required(call)
        if not iam.allows(project.policies[call.role], *need)
    ]
    assert not refused


@pytest.mark.parametrize(
    ("role", "other"), [("dev", "prod"), ("dev", "publish"), ("publish", "dev"), ("publish", "prod")]
)
def test_another_roles_calls_are_not_allowed(project, recorder, dev_deployment, training_job, role, other):
    """The check above can fail: what one role's job needs, another's policy does not (all) allow."""
    calls = [call for call in recorder.calls if call.role == role]
    assert calls and not all(
        iam.allows(project.policies[other], *need) for call in calls for need in iam.required(call)
    )


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("{p}--probe-dev", True),
        ("{p}--probe-prod", False),  # another stage
        ("{p}-b--probe-dev", False),  # a project whose name starts the same
        ("{p}--probe-dev-x-prod", False),
    ],
)
def test_the_dev_roles_stack_pattern_matches_its_projects_dev_stacks_only(project, name, allowed):
    stack = iam.resource_arn("cloudformation", "CreateChangeSet", {"StackName": name.format(p=project.name)})
    assert iam.allows(project.policies["dev"], "cloudformation:CreateChangeSet", stack, {}) is allowed


@pytest.mark.parametrize(
    ("model", "allowed"),
    [("{p}--probe-dev-0123456789ab", True), ("{p}--x-dev-prod-0123456789ab", False), ("{p}--probe-dev", False)],
)
def test_the_dev_role_makes_models_of_dev_endpoints_only(project, model, allowed):
    arn = iam.resource_arn("sagemaker", "CreateModel", {"ModelName": model.format(p=project.name)})
    assert iam.allows(project.policies["dev"], "sagemaker:CreateModel", arn, {}) is allowed


# Trust, on the template --------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags, each read as {"Fn::<tag>" or "Ref": value}."""


def _tag(loader, suffix, node):
    value = {
        yaml.ScalarNode: loader.construct_scalar,
        yaml.SequenceNode: loader.construct_sequence,
        yaml.MappingNode: loader.construct_mapping,
    }[type(node)](node)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)
RESOURCES = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Resources"]
GITHUB = "token.actions.githubusercontent.com"
SUBJECTS = {
    "GitHubPublishRole": {"repo:octo/proj:ref:refs/heads/main", "repo:octo/proj:pull_request"},
    "GitHubDevDeployRole": {"repo:octo/proj:environment:dev"},
    "GitHubProdDeployRole": {"repo:octo/proj:environment:prod"},
}


def trust(role: str) -> dict:
    """The role's one trust statement, its !Sub strings filled in for the repository octo/proj."""
    (statement,) = RESOURCES[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return _filled(statement)


def _filled(value):
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"].replace("${GitHubRepository}", "octo/proj")
        return {key: _filled(item) for key, item in value.items()}
    return [_filled(item) for item in value] if isinstance(value, list) else value


@pytest.mark.parametrize("role", sorted(SUBJECTS))
def test_each_github_role_trusts_exactly_its_subjects(role):
    statement = trust(role)
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert set(statement["Condition"]) == {"StringEquals"}  # no StringLike: no wildcards
    conditions = statement["Condition"]["StringEquals"]
    assert conditions[f"{GITHUB}:aud"] == "sts.amazonaws.com"
    subjects = set(iam.listed(conditions[f"{GITHUB}:sub"]))
    assert subjects == SUBJECTS[role] and not any("*" in s or "?" in s for s in subjects)


@pytest.mark.parametrize(
    ("role", "subject", "allowed"),
    [
        ("GitHubDevDeployRole", "repo:octo/proj:environment:dev", True),
        ("GitHubDevDeployRole", "repo:octo/proj:environment:prod", False),
        ("GitHubProdDeployRole", "repo:octo/proj:environment:dev", False),
        ("GitHubProdDeployRole", "repo:octo/proj:ref:refs/heads/main", False),
        ("GitHubPublishRole", "repo:octo/proj:pull_request", True),
        ("GitHubPublishRole", "repo:octo/proj:environment:prod", False),
        ("GitHubPublishRole", "repo:octo/proj:ref:refs/heads/feature", False),
        ("GitHubPublishRole", "repo:octo/proj-fork:pull_request", False),
    ],
)
def test_a_github_role_is_assumed_from_its_subjects_only(role, subject, allowed):
    context = {f"{GITHUB}:aud": "sts.amazonaws.com", f"{GITHUB}:sub": subject}
    assert iam.conditions_hold(trust(role)["Condition"], context) is allowed


def test_sagemaker_assumes_the_execution_role_for_this_account_only():
    statement = RESOURCES["SageMakerExecutionRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    arn = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert arn == "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:*"


def test_the_stack_gives_every_roles_arn():
    outputs = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)["Outputs"]
    assert set(outputs) == {"ArtifactsBucketName", "ExecutionRoleArn", *iam.ROLES.values()}
