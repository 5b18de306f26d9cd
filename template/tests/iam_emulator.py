"""An AWS emulator that enforces IAM, with the project's roles deployed on it, for the permission tests.

moto's server checks every request against the caller's policies once `INITIAL_NO_AUTH_ACTION_COUNT`
unauthenticated calls are spent. It runs in its own process group (moto's backends are process-wide,
so it cannot share a process with the session's emulator) and is killed with it at the end.
`Emulator.start` makes an admin user with the first unauthenticated calls; `deploy_project`
deploys infra/project.yaml through CloudFormation as that admin and assumes each GitHub role.

Run as a script, this module is that server, closer to AWS than moto's own in two ways:
- SageMaker, SageMaker Runtime and CloudFormation requests are checked against the ARN of the
  resource they name (moto checks them against "*", which no scoped `Resource` matches);
- policy patterns are IAM globs: `*` any characters, `?` one, everything else literal.
The same `resource_arn` and `glob_match` serve the static check of recorded calls (`allows`).
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import boto3
import botocore.handlers

REGION, ACCOUNT, PARTITION = "us-east-1", "123456789012", "aws"
BOOTSTRAP_CALLS = 3  # CreateUser, PutUserPolicy, CreateAccessKey: unauthenticated, then IAM is enforced
ROLES = {"publish": "PublishRoleArn", "dev": "DevDeployRoleArn", "prod": "ProdDeployRoleArn"}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

SAGEMAKER_RESOURCES = {  # operation: (ARN resource type, the parameter naming the resource)
    **dict.fromkeys(
        ("CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"), ("training-job", "TrainingJobName")
    ),
    **dict.fromkeys(
        ("CreateProcessingJob", "DescribeProcessingJob", "StopProcessingJob"), ("processing-job", "ProcessingJobName")
    ),
    **dict.fromkeys(("CreateModel", "DescribeModel", "DeleteModel"), ("model", "ModelName")),
    **dict.fromkeys(
        ("CreateEndpointConfig", "DescribeEndpointConfig", "DeleteEndpointConfig"),
        ("endpoint-config", "EndpointConfigName"),
    ),
    **dict.fromkeys(
        ("CreateEndpoint", "DescribeEndpoint", "UpdateEndpoint", "DeleteEndpoint", "InvokeEndpoint"),
        ("endpoint", "EndpointName"),
    ),
    **dict.fromkeys(
        ("CreateModelPackageGroup", "DescribeModelPackageGroup"), ("model-package-group", "ModelPackageGroupName")
    ),
    "CreateModelPackage": ("model-package", "ModelPackageGroupName"),
    "DescribeModelPackage": ("model-package", "ModelPackageName"),
    "UpdateModelPackage": ("model-package", "ModelPackageArn"),
    "AddTags": (None, "ResourceArn"),
}


def resource_arn(service: str, operation: str, params: dict, region: str = REGION, account: str = ACCOUNT) -> str:
    """The ARN IAM checks `operation` against ("*" for actions without resource-level permissions)."""
    if service == "cloudformation":
        stack = params.get("StackName")
        if not stack:
            return "*"
        return (
            stack if stack.startswith("arn:") else f"arn:{PARTITION}:cloudformation:{region}:{account}:stack/{stack}/*"
        )
    kind, parameter = SAGEMAKER_RESOURCES.get(operation, (None, None))
    name = params.get(parameter) if parameter else None
    if not name:
        return "*"
    if name.startswith("arn:"):
        return name
    return f"arn:{PARTITION}:sagemaker:{region}:{account}:{kind}/{name.lower()}"  # SageMaker ARNs are lower-case


def glob_match(pattern: str, value: str) -> bool:
    """IAM's pattern matching: `*` any characters, `?` one character, the rest literal."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


# The server ----------------------------------------------------------------------------------


def serve(port: int) -> None:
    """moto's server, checking SageMaker and CloudFormation calls against their resources' ARNs."""
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.iam import access_control
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
    from moto.server import main

    def sagemaker(self) -> str:
        return resource_arn(
            "sagemaker", self._get_action(), json.loads(self.body or "{}"), self.region, self.current_account
        )

    def runtime(self) -> str:
        found = re.search(r"/endpoints/([^/]+)/invocations", self.path)
        params = {"EndpointName": found.group(1)} if found else {}
        return resource_arn("sagemaker", "InvokeEndpoint", params, self.region, self.current_account)

    def cloudformation(self) -> str:
        params = {key: values[0] for key, values in self.querystring.items()}
        return resource_arn("cloudformation", self._get_action(), params, self.region, self.current_account)

    SageMakerResponse._determine_resource = sagemaker
    SageMakerRuntimeResponse._determine_resource = runtime
    CloudFormationResponse._determine_resource = cloudformation
    access_control.IAMPolicyStatement._match = staticmethod(lambda pattern, value: glob_match(pattern, value) or None)
    main(["-H", "127.0.0.1", "-p", str(port)])


# The emulator and the project on it ---------------------------------------------------------


@dataclass
class Project:
    """infra/project.yaml deployed on the emulator: its outputs, its roles' policies and sessions."""

    name: str
    outputs: dict[str, str]
    policies: dict[str, list[dict]]  # role ("publish", "dev", "prod"): its policy documents, as deployed
    sessions: dict[str, dict[str, str]]  # role: its assumed-role credentials, as environment variables
    endpoint_url: str

    def environment(self, role: str) -> dict[str, str]:
        """What the project's code needs to run as `role`: credentials, endpoint, bucket, execution role, prefix."""
        return {
            **self.sessions[role],
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "ARTIFACTS_BUCKET": self.outputs["ArtifactsBucketName"],
            "SAGEMAKER_ROLE_ARN": self.outputs["ExecutionRoleArn"],
            "RESOURCE_PREFIX": self.name,
        }


@dataclass
class Emulator:
    """moto's server enforcing IAM, in a process group of its own."""

    url: str
    process: subprocess.Popen
    admin: dict[str, str] = field(default_factory=dict)  # boto3 client arguments of the admin user

    @classmethod
    def start(cls) -> Emulator:
        port = free_port()
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(BOOTSTRAP_CALLS)}
        command = [sys.executable, __file__, str(port)]
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        emulator = cls(f"http://127.0.0.1:{port}", process)
        try:
            emulator._wait_until_up()
            emulator._create_admin()
        except BaseException:
            emulator.stop()
            raise
        return emulator

    def stop(self) -> None:
        """Kill the server's process group; wait for it."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def client(self, service: str, **credentials: str):
        """A boto3 client of the emulator, as the admin unless given other credentials."""
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **(credentials or self.admin))

    def deploy_project(self, name: str, template: str, oidc_provider: str = "") -> Project:
        """Deploy `template` (a version of infra/project.yaml) as project `name`; assume each of its GitHub roles."""
        cfn = self.client("cloudformation")
        parameters = {"ProjectName": name, "GitHubRepository": "octo/proj", "GitHubOidcProviderArn": oidc_provider}
        cfn.create_stack(
            StackName=f"{name}-project",
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        stack = cfn.describe_stacks(StackName=f"{name}-project")["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        policies = {role: self._policies(outputs[output]) for role, output in ROLES.items()}
        with self.unenforced():  # the roles trust GitHub's OIDC only; their trust policies are tested on the template
            sessions = {role: self._assume(outputs[output]) for role, output in ROLES.items()}
        return Project(name, outputs, policies, sessions, self.url)

    @contextmanager
    def unenforced(self) -> Iterator[None]:
        """IAM checks off for a moment (moto's reset-auth)."""
        self._reset_auth("inf")
        try:
            yield
        finally:
            self._reset_auth("0")

    def _reset_auth(self, count: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/moto-api/reset-auth",
            data=count.encode(),
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(request, timeout=10).close()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"the IAM-enforcing emulator did not start on {self.url}") from None
                time.sleep(0.05)

    def _create_admin(self) -> None:
        iam = self.client("iam", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_POLICY))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}

    def _policies(self, role_arn: str) -> list[dict]:
        """The role's inline policies, stored again as JSON.

        moto 5.2.5 keeps the policies of a role CloudFormation made as Python objects, which its IAM
        check cannot read (a 500 on every call); GetRolePolicy returns their repr.
        """
        iam, role = self.client("iam"), role_arn.rsplit("/", 1)[-1]
        documents = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            stored = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            document = ast.literal_eval(stored) if isinstance(stored, str) else stored
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
            documents.append(document)
        return documents

    def _assume(self, role_arn: str) -> dict[str, str]:
        credentials = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="github-actions")["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
        }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def without(template: str, role: str, action: str) -> str:
    """`template` with `action` taken out of the policies of resource `role` (exactly one line)."""
    start = template.index(f"\n  {role}:\n") + 1
    following = re.compile(r"^ {0,2}\S", re.MULTILINE).search(template, template.index("\n", start) + 1)
    end = following.start() if following else len(template)
    block, line = template[start:end], f"\n                  - {action}\n"
    if block.count(line) != 1:
        raise ValueError(f"{role} does not list {action} once")
    return template[:start] + block.replace(line, "\n") + template[end:]


# Calls the code makes, and whether a role's policies allow them -------------------------------


@dataclass(frozen=True)
class Call:
    role: str
    service: str  # botocore's service name: s3, sagemaker, sagemaker-runtime, cloudformation
    operation: str
    params: dict = field(hash=False, compare=False)


class CallRecorder:
    """Every AWS call boto3 clients make while installed, labelled with the role in use."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.role: str | None = None

    def __call__(self, params, model, **kwargs) -> None:  # botocore's before-parameter-build event
        if self.role:
            self.calls.append(Call(self.role, model.service_model.service_name, model.name, dict(params)))

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        """Registered on every botocore session made meanwhile (the project's code makes its own)."""
        with handler("before-parameter-build", self):
            yield self

    @contextmanager
    def acting_as(self, role: str) -> Iterator[None]:
        self.role = role
        try:
            yield
        finally:
            self.role = None


@contextmanager
def handler(event: str, function) -> Iterator[None]:
    """`function` registered for `event` on every botocore session created meanwhile."""
    original = botocore.handlers.BUILTIN_HANDLERS
    botocore.handlers.BUILTIN_HANDLERS = [*original, (event, function)]
    try:
        yield
    finally:
        botocore.handlers.BUILTIN_HANDLERS = original


S3_ACTIONS = {
    "HeadObject": "GetObject",
    "ListObjectsV2": "ListBucket",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
}


def required(call: Call) -> list[tuple[str, str, dict[str, str]]]:
    """The IAM (action, resource, condition context) triples `call` needs, including what it makes AWS do for it."""
    if call.service == "s3":
        bucket, key = call.params.get("Bucket", ""), call.params.get("Key")
        action = f"s3:{S3_ACTIONS.get(call.operation, call.operation)}"
        if key is None:
            return [(action, f"arn:{PARTITION}:s3:::{bucket}", {"s3:prefix": call.params.get("Prefix", "")})]
        return [(action, f"arn:{PARTITION}:s3:::{bucket}/{key}", {})]
    service = "sagemaker" if call.service == "sagemaker-runtime" else call.service
    needs = [(f"{service}:{call.operation}", resource_arn(service, call.operation, call.params), {})]
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    if call.operation in ("CreateTrainingJob", "CreateProcessingJob"):
        needs.append(("iam:PassRole", call.params["RoleArn"], passed))
    if call.operation == "CreateChangeSet":  # CloudFormation makes the model stack's resources as the caller
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in call.params.get("Parameters", [])}
        endpoint, version = parameters["EndpointName"], f"{parameters['EndpointName']}-{parameters['ReleaseHash']}"
        for kind, name in (("Model", version), ("EndpointConfig", version), ("Endpoint", endpoint)):
            operations = ["Create", "Describe", "Delete"] + (["Update"] if kind == "Endpoint" else [])
            for operation in [f"{verb}{kind}" for verb in operations] + ["AddTags"]:
                arn = resource_arn("sagemaker", f"Describe{kind}", {SAGEMAKER_RESOURCES[f"Describe{kind}"][1]: name})
                needs.append((f"sagemaker:{operation}", arn, {}))
        needs.append(("iam:PassRole", parameters["ExecutionRoleArn"], passed))
    return needs


def allows(documents: list[dict], action: str, resource: str, context: dict[str, str]) -> bool:
    """Whether an Allow statement of `documents` covers `action` on `resource` with `context` (no Deny used)."""
    return any(
        statement["Effect"] == "Allow"
        and any(glob_match(p.lower(), action.lower()) for p in listed(statement["Action"]))
        and any(glob_match(p, resource) for p in listed(statement["Resource"]))
        and conditions_hold(statement.get("Condition", {}), context)
        for document in documents
        for statement in listed(document["Statement"])
    )


def conditions_hold(conditions: dict, context: dict[str, str]) -> bool:
    """StringEquals, StringLike and ArnLike on the keys of `context`; a key the call does not set fails."""
    tests = {"StringEquals": str.__eq__, "StringLike": glob_match, "ArnLike": glob_match}
    return all(
        key in context and any(tests[operator](expected, context[key]) for expected in listed(values))
        for operator, keys in conditions.items()
        for key, values in keys.items()
    )


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


if __name__ == "__main__":
    serve(int(sys.argv[1]))
