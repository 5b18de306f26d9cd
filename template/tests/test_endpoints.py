"""Endpoints that scale and can be watched: autoscaling, data capture, guarded updates, async inference.

What moto proves: the model stack with these parameters reaches CREATE_COMPLETE and the
endpoint configuration it creates carries the data capture and async settings. What it does not:
moto's CloudFormation skips the resource types it does not implement (Application Auto Scaling,
CloudWatch alarms; listed as blank entries in DescribeStackResources) and ignores conditions in
change sets. So which resources each endpoint type gets is checked here by evaluating the
template's own conditions, and the resources themselves by cfn-lint and checkov (test_infra.py).
"""

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
import yaml
from cfnlint.decode import cfn_yaml

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
SCALING = {"ScalableTarget", "ScalingPolicy"}
ALARMS = {"ErrorsAlarm", "LatencyAlarm"}


@pytest.fixture
def bundle(core, trained_run, tmp_path):
    return core.bundling.bundle.build("probe", trained_run("probe"), tmp_path / "model.tar.gz")


def deploy(core, bundle_path, emulator, **serving):
    settings = core.basics.config.DeployConfig(**serving)
    return core.cloud.deploy.deploy("probe", bundle_path, "dev", settings, emulator, False, progress=lambda n: None)


def endpoint_config(emulator, stack: str) -> dict:
    """The endpoint configuration `stack` created (moto gives stacks made by change sets no outputs)."""
    resources = boto3.client("cloudformation", endpoint_url=emulator).describe_stack_resources(StackName=stack)
    found = {r.get("LogicalResourceId"): r.get("PhysicalResourceId") for r in resources["StackResources"]}
    arn = found["EndpointConfig"]  # moto lists the resources it skipped as blank entries
    sagemaker = boto3.client("sagemaker", endpoint_url=emulator)
    return sagemaker.describe_endpoint_config(EndpointConfigName=arn.rsplit("/", 1)[-1])


def created_resources(parameters: dict[str, str]) -> set[str]:
    """The logical ids of the resources infra/model.yaml creates with `parameters`, by its own conditions."""
    template = cfn_yaml.loads((ROOT / "infra" / "model.yaml").read_text())
    values = {k: str(v.get("Default", "")) for k, v in template["Parameters"].items()} | parameters

    def holds(node) -> bool | str:
        if "Ref" in node:
            return values[node["Ref"]]
        if "Condition" in node:
            return holds(template["Conditions"][node["Condition"]])
        (function, args), *_ = node.items()
        resolved = [holds(a) if isinstance(a, dict) else str(a) for a in args]
        return {"Fn::Equals": lambda: resolved[0] == resolved[1], "Fn::Not": lambda: not resolved[0]}.get(
            function, lambda: all(resolved)
        )()

    return {name for name, r in template["Resources"].items() if "Condition" not in r or holds(r)}


@pytest.mark.parametrize(
    ("serving", "expected"),
    [
        ({}, set()),  # serverless: scales by itself, no guardrails
        ({"endpoint_type": "realtime"}, {"ErrorsAlarm"}),  # fixed instances, updates watched for 5XX errors
        ({"endpoint_type": "realtime", "max_instances": 4, "rollback_latency_ms": 500}, SCALING | ALARMS),
        ({"endpoint_type": "async", "max_instances": 4}, set()),  # async: default updates, fixed instances
    ],
)
def test_each_endpoint_type_gets_its_scaling_and_alarms(core, serving, expected):
    parameters = core.cloud.serving_parameters.serving_parameters(core.basics.config.DeployConfig(**serving))
    assert created_resources(parameters) - {"Model", "EndpointConfig", "Endpoint"} == expected


def test_a_realtime_endpoint_with_autoscaling_deploys(core, aws_env, bundle):
    done = deploy(core, bundle, aws_env, endpoint_type="realtime", instance_count=2, max_instances=6)
    assert done.action == "CREATE"
    stack = boto3.client("cloudformation", endpoint_url=aws_env).describe_stacks(StackName=done.stack)["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert (parameters["InstanceCount"], parameters["MaxInstanceCount"]) == ("2", "6")  # the scalable target's range
    assert parameters["TargetInvocationsPerInstance"] == "100" and parameters["DataCaptureUri"] == ""
    variant = endpoint_config(aws_env, done.stack)["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 2)


def test_data_capture_reaches_the_endpoint_config(core, aws_env, bundle):
    done = deploy(core, bundle, aws_env, endpoint_type="realtime", data_capture_percent=25)
    config = core.cloud.aws.load(aws_env)
    capture = endpoint_config(aws_env, done.stack)["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == f"s3://{config.bucket}/{config.prefix}/probe/capture/"
    assert capture["EnableCapture"] and capture["InitialSamplingPercentage"] == 25
    assert {option["CaptureMode"] for option in capture["CaptureOptions"]} == {"Input", "Output"}


def test_an_async_endpoint_writes_its_answers_under_the_models_folder(core, aws_env, bundle):
    done = deploy(core, bundle, aws_env, endpoint_type="async", async_max_concurrency=2)
    config = core.cloud.aws.load(aws_env)
    settings = endpoint_config(aws_env, done.stack)["AsyncInferenceConfig"]
    folder = f"s3://{config.bucket}/{config.prefix}/probe/async/"
    assert settings["OutputConfig"] == {"S3OutputPath": f"{folder}output", "S3FailurePath": f"{folder}failures"}
    assert settings["ClientConfig"]["MaxConcurrentInvocationsPerInstance"] == 2
    assert "ServerlessConfig" not in endpoint_config(aws_env, done.stack)["ProductionVariants"][0]


def test_async_endpoints_on_gpu_instances_get_the_gpu_image(core):
    serving = core.basics.config.DeployConfig(endpoint_type="async", instance_type="ml.g5.xlarge")
    assert "-gpu-" in core.cloud.deploy.serving_image(serving, "us-east-1")


def test_invoking_an_async_endpoint_puts_the_request_in_s3_and_returns_the_answer(core, aws_env):
    """moto queues nothing: it writes a canned answer at once to the OutputLocation it returns."""
    body, _ = core.cloud.endpoints.invoke("any", b"0.5,0.1", "text/csv", "application/json", aws_env, "async", "probe")
    assert json.loads(body) == {"default": "response"}
    config = core.cloud.aws.load(aws_env)
    s3 = boto3.client("s3", endpoint_url=aws_env)
    listed = s3.list_objects_v2(Bucket=config.bucket, Prefix=f"{config.prefix}/probe/async/input/")["Contents"]
    assert [s3.get_object(Bucket=config.bucket, Key=item["Key"])["Body"].read() for item in listed] == [b"0.5,0.1"]


def test_a_failed_async_request_is_a_clear_error(core, aws_env):
    results = {"results": [{"is_failure": True, "data": "the model's code failed"}]}
    request = urllib.request.Request(
        f"{aws_env}/moto-api/static/sagemaker/async-endpoint-results", json.dumps(results).encode(), method="POST"
    )
    urllib.request.urlopen(request)
    with pytest.raises(core.cloud.aws.AwsError, match="failed on the request: the model's code failed"):
        core.cloud.endpoints.invoke(
            "any", b"0.5,0.1", "text/csv", "application/json", aws_env, "async", "probe", timeout=5
        )
    with pytest.raises(core.cloud.aws.AwsError, match="is async: name the model"):
        core.cloud.endpoints.invoke("any", b"0.5,0.1", "text/csv", "application/json", aws_env, "async")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["deploy.endpoint_type=batch"], "deploy.endpoint_type: 'batch' is not allowed; expected one of serverless"),
        (["deploy.instance_count=3", "deploy.max_instances=2"], "deploy.max_instances: 2 is not allowed"),
        (["deploy.instance_count=0"], "deploy.instance_count: 0"),
        (["deploy.target_invocations_per_instance=0"], "deploy.target_invocations_per_instance: 0"),
        (["deploy.data_capture_percent=10"], "deploy.data_capture_percent: 10 is not allowed; .* 0 when serverless"),
        (["deploy.endpoint_type=realtime", "deploy.data_capture_percent=101"], "deploy.data_capture_percent: 101"),
        (["deploy.async_max_concurrency=0"], "deploy.async_max_concurrency: 0"),
        (["deploy.canary_percent=60"], "deploy.canary_percent: 60"),
        (["deploy.bake_seconds=3601"], "deploy.bake_seconds: 3601"),
        (["deploy.rollback_errors_per_minute=0"], "deploy.rollback_errors_per_minute: 0"),
        (["deploy.rollback_latency_ms=-1"], "deploy.rollback_latency_ms: -1"),
    ],
)
def test_deploy_settings_no_endpoint_can_use_are_refused(core, overrides, message):
    schema, config_file = (
        core.catalog.registry.module("probe", "model").Config,
        core.catalog.registry.folder("probe") / "config.yaml",
    )
    with pytest.raises(core.basics.errors.ConfigError, match=message):
        core.basics.config.load(schema, config_file, overrides)


def test_deploy_settings_that_fit_are_accepted(core):
    schema, config_file = (
        core.catalog.registry.module("probe", "model").Config,
        core.catalog.registry.folder("probe") / "config.yaml",
    )
    fixed = core.basics.config.load(schema, config_file, ["deploy.endpoint_type=realtime", "deploy.instance_count=3"])
    parameters = core.cloud.serving_parameters.serving_parameters
    assert parameters(fixed.deploy)["MaxInstanceCount"] == "3"  # no max_instances: no autoscaling
    overrides = ["deploy.endpoint_type=async", "deploy.data_capture_percent=100", "deploy.rollback_latency_ms=250"]
    watched = parameters(core.basics.config.load(schema, config_file, overrides).deploy)
    assert watched["DataCapturePercent"] == "100" and watched["RollbackLatencyMicroseconds"] == "250000"


# Answers every request that gets past the size check, without loading torch (the servers start fast).
ECHO_ENTRY_POINT = """
def model_fn(model_dir):
    return None


def transform_fn(model, body, content_type, accept):
    return f"{len(body)} bytes", "text/plain"
"""


@pytest.fixture(scope="module")
def endpoints_by_type(core, unpacked_bundle, start_endpoint):
    """A local endpoint for each endpoint type: the probe's bundle with that `deploy.endpoint_type`."""
    urls = {}
    for kind in ("serverless", "realtime", "async"):
        model_dir = unpacked_bundle("probe")
        (model_dir / "code" / "inference.py").write_text(ECHO_ENTRY_POINT)
        config = yaml.safe_load((model_dir / "config.yaml").read_text())
        config["deploy"]["endpoint_type"] = kind
        (model_dir / "config.yaml").write_text(yaml.safe_dump(config))
        urls[kind] = start_endpoint(model_dir)
    with ThreadPoolExecutor() as pool:
        list(pool.map(core.inference.client.wait_until_ready, urls.values()))
    return urls


@pytest.mark.parametrize(
    ("kind", "size", "status"),
    [
        ("serverless", 4 * MB, 200),
        ("serverless", 4 * MB + 1, 413),
        ("realtime", 6 * MB, 200),
        ("realtime", 6 * MB + 1, 413),
        ("async", 6 * MB + 1, 200),  # async requests wait in S3, up to 1 GB
    ],
)
def test_the_payload_limit_follows_the_endpoint_type(core, endpoints_by_type, kind, size, status):
    answer = core.inference.client.invoke(
        endpoints_by_type[kind], b"\0" * size, "application/octet-stream", "text/plain"
    )
    assert answer.status == status
    if status == 413:
        assert answer.json()["error"] == f"payload larger than {size - 1} bytes, the limit of {kind} endpoints"
    else:
        assert answer.body == f"{size} bytes".encode()
