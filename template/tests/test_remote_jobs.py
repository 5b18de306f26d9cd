"""SageMaker training jobs at scale: images, instances, spot, input modes, channels, torch_distributed.

Jobs are created on moto's emulator (the `aws_env` fixture) and read back with
DescribeTrainingJob, which returns the request as SageMaker stored it. moto never runs a job;
`run_local_job` stands in for one, on as many local hosts as `remote.instance_count`.
"""

import json
import sys
from pathlib import Path

import boto3
import pytest

MODEL = "probe"
DATA = "data/samples/probe/points.csv"  # the probe's data, in `workdir`
GPU_TRAINING = "pytorch-training:2.6-gpu-py312"
CPU_TRAINING = "pytorch-training:2.6-cpu-py312"


def probe_config(core, *overrides: str):
    """The probe's config as `train probe OVERRIDES...` resolves it."""
    return core.basics.config.load(
        core.catalog.registry.module(MODEL, "model").Config,
        core.catalog.registry.folder(MODEL) / "config.yaml",
        list(overrides),
    )


def launch(core, emulator_url: str, *overrides: str, hyperparameters=None) -> dict:
    """Create the probe's job with `overrides` on the emulator; returns its description."""
    run_config = probe_config(core, *overrides)
    job = core.jobs.remote.launch_training(MODEL, run_config, hyperparameters or {}, emulator_url)
    return core.jobs.remote.describe_training(job, emulator_url)


def channels(described: dict) -> dict[str, str]:
    return {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in described["InputDataConfig"]}


def keys(core, emulator_url: str, prefix: str = "") -> list[str]:
    """The keys under `prefix` in the project's bucket."""
    s3 = boto3.client("s3", endpoint_url=emulator_url)
    listed = s3.list_objects_v2(Bucket=core.cloud.aws.load(emulator_url).bucket, Prefix=prefix)
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def jobs(aws_env, workdir, monkeypatch):
    """The emulator, with the sample data in the working folder (the probe's data.path is relative to it)."""
    monkeypatch.chdir(workdir)
    return aws_env


# Images ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "region", "expected"),
    [
        ("ml.m5.large", "us-east-1", f"763104351884.dkr.ecr.us-east-1.amazonaws.com/{CPU_TRAINING}"),
        ("ml.g5.xlarge", "eu-west-1", f"763104351884.dkr.ecr.eu-west-1.amazonaws.com/{GPU_TRAINING}"),
        ("ml.p4d.24xlarge", "us-west-2", f"763104351884.dkr.ecr.us-west-2.amazonaws.com/{GPU_TRAINING}"),
        ("ml.c5.xlarge", "ap-east-1", f"871362719292.dkr.ecr.ap-east-1.amazonaws.com/{CPU_TRAINING}"),
        ("ml.m5.large", "cn-north-1", f"727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/{CPU_TRAINING}"),
    ],
)
def test_training_images_come_from_the_sdk_gpu_ones_for_gpu_instances(core, instance_type, region, expected):
    remote = core.basics.config.RemoteConfig(instance_type=instance_type)
    assert core.cloud.images.training_image(remote, region) == expected


def test_inference_images_gpu_for_gpu_instances_cpu_for_serverless(core):
    assert core.cloud.images.inference_image("ml.g5.xlarge", "us-east-1").endswith("pytorch-inference:2.6.0-gpu-py312")
    assert core.cloud.images.inference_image("ml.c5.xlarge", "us-east-1").endswith("pytorch-inference:2.6.0-cpu-py312")
    assert core.cloud.images.inference_image(None, "us-east-1").endswith("pytorch-inference:2.6.0-cpu-py312")


def test_an_image_uri_is_used_as_is_and_needs_no_sdk(core, monkeypatch):
    mine = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1"
    monkeypatch.setitem(sys.modules, "sagemaker.core", None)  # as if sagemaker-core were not installed
    assert core.cloud.images.training_image(core.basics.config.RemoteConfig(image_uri=mine), "us-east-1") == mine
    with pytest.raises(core.cloud.images.ImageError, match=r"pip install -e '\.\[sagemaker\]'") as raised:
        core.cloud.images.training_image(core.basics.config.RemoteConfig(), "us-east-1")
    assert "\n" not in str(raised.value)


def test_an_image_that_does_not_exist_is_a_clear_error(core):
    with pytest.raises(core.cloud.images.ImageError, match=r"no AWS PyTorch 9\.9 py312 training image .*9\.9"):
        core.cloud.images.training_image(core.basics.config.RemoteConfig(framework_version="9.9"), "us-east-1")


# torch_distributed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "count", "distributed"),
    [("ml.m5.large", 1, False), ("ml.m5.large", 2, True), ("ml.g5.xlarge", 1, True), ("ml.p4d.24xlarge", 4, True)],
)
def test_several_instances_or_gpus_make_a_torch_distributed_job(core, instance_type, count, distributed):
    remote = core.basics.config.RemoteConfig(instance_type=instance_type, instance_count=count)
    assert core.jobs.staging.torch_distributed(remote) is distributed
    expected = {"sagemaker_torch_distributed_enabled": True, "sagemaker_instance_type": instance_type}
    assert core.jobs.staging.framework_parameters(remote) == (expected if distributed else {})


def test_torchrun_arguments_follow_the_hosts_environment(core):
    one = {"SM_HOSTS": '["algo-1"]', "SM_CURRENT_HOST": "algo-1", "SM_NUM_GPUS": "0"}
    assert core.jobs.hosts.torchrun_arguments(one) == ["--nnodes", "1", "--nproc_per_node", "1"]
    second_of_two = {"SM_HOSTS": '["algo-1", "algo-2"]', "SM_CURRENT_HOST": "algo-2", "SM_NUM_GPUS": "8"}
    assert core.jobs.hosts.torchrun_arguments(second_of_two) == [
        "--nnodes", "2", "--nproc_per_node", "8",
        "--master_addr", "algo-1", "--master_port", "7777", "--node_rank", "1",
    ]  # fmt: skip
    local = core.jobs.hosts.torchrun_arguments(second_of_two, master_port=29400, master_addr="127.0.0.1")
    assert local[4:] == ["--master_addr", "127.0.0.1", "--master_port", "29400", "--node_rank", "1"]


# Jobs on the emulator --------------------------------------------------------------------------


def test_a_gpu_job_on_two_instances_is_torch_distributed_on_gpu_images(core, jobs):
    overrides = ["remote.instance_type=ml.g5.xlarge", "remote.instance_count=2", "remote.volume_size_gb=100"]
    described = launch(core, jobs, *overrides, "remote.max_runtime_seconds=3600")
    assert described["AlgorithmSpecification"]["TrainingImage"].endswith(GPU_TRAINING)
    hyperparameters = described["HyperParameters"]
    assert json.loads(hyperparameters["sagemaker_torch_distributed_enabled"]) is True
    assert json.loads(hyperparameters["sagemaker_instance_type"]) == "ml.g5.xlarge"
    assert json.loads(hyperparameters["sagemaker_program"]) == "train.py"
    assert described["ResourceConfig"] == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 100}
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert described["EnableManagedSpotTraining"] is False


@pytest.mark.slow
def test_a_cpu_job_on_one_instance_runs_the_entry_point_alone(core, jobs):
    described = launch(core, jobs, hyperparameters={"trainer.max_epochs": "3"})
    algorithm = described["AlgorithmSpecification"]
    assert algorithm["TrainingImage"].endswith(CPU_TRAINING) and algorithm["TrainingInputMode"] == "File"
    assert not [key for key in described["HyperParameters"] if "distributed" in key]
    assert json.loads(described["HyperParameters"]["trainer.max_epochs"]) == "3"
    assert described["ResourceConfig"] == {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30}


@pytest.mark.slow
def test_spot_jobs_wait_for_capacity_and_checkpoint_to_s3(core, jobs):
    described = launch(core, jobs, "remote.spot=true", "remote.max_runtime_seconds=3600")
    assert described["EnableManagedSpotTraining"] is True
    assert described["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    checkpoints = described["CheckpointConfig"]
    assert checkpoints["LocalPath"] == "/opt/ml/checkpoints"  # where core/trainer/environment.py checkpoints in a job
    assert checkpoints["S3Uri"].endswith(f"/{MODEL}/training/checkpoints/{described['TrainingJobName']}")
    waited = launch(core, jobs, "remote.spot=true", "remote.max_wait_seconds=5000", "remote.max_runtime_seconds=60")
    assert waited["StoppingCondition"] == {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 5000}


@pytest.mark.slow
def test_an_s3_channel_is_read_in_place_and_local_ones_are_uploaded(core, jobs):
    config = core.cloud.aws.load(jobs)
    in_s3 = f"s3://{config.bucket}/datasets/probe/"
    boto3.client("s3", endpoint_url=jobs).upload_file(DATA, config.bucket, "datasets/probe/points.csv")
    overrides = [f"data.path={in_s3}", f"data.validation={DATA}", f"data.test={DATA}", "remote.input_mode=FastFile"]
    described = launch(core, jobs, *overrides)
    job = described["TrainingJobName"]
    uploaded = f"s3://{config.bucket}/{config.key(MODEL, 'training', 'data', job)}"
    assert channels(described) == {
        "train": in_s3,  # as given: nothing uploaded
        "validation": f"{uploaded}/validation/",
        "test": f"{uploaded}/test/",
    }
    data_keys = keys(core, jobs, config.key(MODEL, "training", "data", job))
    assert sorted(key.rsplit("/", 2)[-2:][0] for key in data_keys) == ["test", "validation"]
    assert all(key.endswith("/points.csv") for key in data_keys)
    assert described["AlgorithmSpecification"]["TrainingInputMode"] == "FastFile"
    source = described["InputDataConfig"][0]["DataSource"]["S3DataSource"]
    assert (source["S3DataType"], source["S3DataDistributionType"]) == ("S3Prefix", "FullyReplicated")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (["remote.input_mode=Pipe"], "remote.input_mode: 'Pipe' is not allowed"),
        (["remote.volume_size_gb=0"], "remote.volume_size_gb must be at least 1"),
        (["remote.spot=true", "remote.max_wait_seconds=10"], "max_wait_seconds .* is less than"),
    ],
)
def test_remote_settings_sagemaker_would_refuse_fail_before_anything_is_uploaded(core, jobs, override, message):
    with pytest.raises(core.basics.errors.ConfigError, match=message):
        launch(core, jobs, *override)
    assert keys(core, jobs) == []


def test_without_the_sdk_a_job_fails_before_anything_is_uploaded(core, jobs, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker.core", None)
    with pytest.raises(core.cloud.images.ImageError, match="needs the SageMaker SDK"):
        launch(core, jobs)
    assert keys(core, jobs) == []


@pytest.mark.slow
def test_deploy_serves_gpu_instances_with_the_gpu_inference_image(core, aws_env, trained_run, tmp_path):
    bundle = core.bundling.bundle.build(MODEL, trained_run(MODEL), tmp_path / "model.tar.gz")
    serving = core.basics.config.DeployConfig(
        endpoint_type="realtime", instance_type="ml.g4dn.xlarge"
    )  # in moto's list
    done = core.cloud.deploy.deploy(MODEL, bundle, "dev", serving, aws_env, True, progress=lambda n: None)
    assert done.action == "DRY-RUN" and "Model" in {change[1] for change in done.changes}  # the template took it
    assert done.parameters["ImageUri"].endswith("pytorch-inference:2.6.0-gpu-py312")
    serverless = core.basics.config.DeployConfig(instance_type="ml.g4dn.xlarge")  # serverless: instance type unused
    assert core.cloud.deploy.serving_image(serverless, "us-east-1").endswith("pytorch-inference:2.6.0-cpu-py312")


# The local stand-in ----------------------------------------------------------------------------

REPORTER = '''"""Writes what the job's host sees: its SM_* environment, channels and config files."""
import json, os, pathlib
model = pathlib.Path(os.environ["SM_MODEL_DIR"])
host = os.environ["SM_CURRENT_HOST"]
config = pathlib.Path(os.environ["SM_INPUT_CONFIG_DIR"])
data = pathlib.Path(os.environ["SM_CHANNEL_TRAIN"]).parent
seen = {
    "env": {k: v for k, v in os.environ.items() if k.startswith("SM_") or k in ("RANK", "WORLD_SIZE", "MASTER_ADDR")},
    "files": sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()),
    "resourceconfig": json.loads((config / "resourceconfig.json").read_text()),
    "hyperparameters": json.loads((config / "hyperparameters.json").read_text()),
}
(model / f"{host}.json").write_text(json.dumps(seen))
if os.environ.get("RANK", "0") == "0" or os.environ.get("EVERY_RANK_SAVES"):
    (model / "model.pt").write_text("weights")
'''


@pytest.fixture
def reporter(core, monkeypatch):
    """Local jobs run REPORTER instead of the model's entry point."""
    monkeypatch.setattr(core.jobs.staging, "entry_point", lambda model: REPORTER)


def test_a_local_job_lays_out_every_channel_on_every_host(core, workdir, reporter):
    overrides = [f"data.validation={DATA}", "data.test=data/samples/probe", "remote.instance_type=ml.c5.xlarge"]
    run_dir = core.jobs.emulator.run_local_job(MODEL, probe_config(core, *overrides), {"trainer.max_epochs": "2"})
    seen = json.loads((run_dir / "algo-1.json").read_text())
    assert seen["files"] == ["test/points.csv", "train/points.csv", "validation/points.csv"]
    env = seen["env"]
    assert json.loads(env["SM_CHANNELS"]) == ["test", "train", "validation"]
    assert env["SM_CHANNEL_VALIDATION"].endswith("/opt/ml/input/data/validation")
    assert (env["SM_HOSTS"], env["SM_CURRENT_HOST"], env["SM_CURRENT_INSTANCE_TYPE"]) == (
        '["algo-1"]',
        "algo-1",
        "ml.c5.xlarge",
    )
    assert json.loads(env["SM_HPS"]) == {"trainer.max_epochs": "2"} and env["SM_FRAMEWORK_PARAMS"] == "{}"
    assert "RANK" not in env  # one instance, no GPU: the entry point runs alone, not under torchrun
    assert seen["resourceconfig"]["hosts"] == ["algo-1"]


def test_a_local_job_refuses_data_in_s3(core, workdir):
    with pytest.raises(core.jobs.staging.JobError, match=r"in S3: train \(s3://bucket/data/\)"):
        core.jobs.emulator.run_local_job(MODEL, probe_config(core, "data.path=s3://bucket/data/"), {})


@pytest.mark.slow
def test_a_two_host_local_job_runs_torchrun_on_each_host_as_sagemaker_would(core, workdir, reporter):
    run_dir = core.jobs.emulator.run_local_job(MODEL, probe_config(core, "remote.instance_count=2"), {})
    for number, host in enumerate(("algo-1", "algo-2")):
        seen = json.loads((run_dir / f"{host}.json").read_text())
        env = seen["env"]
        assert (env["SM_HOSTS"], env["SM_CURRENT_HOST"]) == ('["algo-1", "algo-2"]', host)
        assert (env["RANK"], env["WORLD_SIZE"], env["MASTER_ADDR"]) == (str(number), "2", "127.0.0.1")
        assert json.loads(env["SM_FRAMEWORK_PARAMS"])["sagemaker_torch_distributed_enabled"] is True
        assert seen["resourceconfig"]["current_host"] == host and seen["files"] == ["train/points.csv"]
        assert json.loads(seen["hyperparameters"]["sagemaker_torch_distributed_enabled"]) is True


@pytest.mark.slow
def test_hosts_that_save_the_same_file_are_an_error(core, workdir, reporter, monkeypatch):
    monkeypatch.setenv("EVERY_RANK_SAVES", "1")
    with pytest.raises(
        core.jobs.staging.JobError, match=r"algo-1 and algo-2 both wrote model\.pt: only rank 0 should save"
    ):
        core.jobs.emulator.run_local_job(MODEL, probe_config(core, "remote.instance_count=2"), {})


@pytest.mark.slow
def test_a_two_host_torch_distributed_job_trains_the_probe_and_only_rank_0_saves(core, git_workdir, capfd):
    overrides = ["remote.instance_count=2", "trainer.max_epochs=3", "trainer.progress=false"]
    hyperparameters = dict(item.split("=", 1) for item in overrides)
    run_dir = core.jobs.emulator.run_local_job(MODEL, probe_config(core, *overrides), hyperparameters)
    printed = capfd.readouterr().out
    assert "rank 0/2" in printed and "rank 1/2" in printed  # one process on each host, one group
    [found] = sorted(p.parent for p in (git_workdir / "runs" / MODEL).glob("*/model.pt"))
    assert found == git_workdir / run_dir  # one run, written once
    files = sorted(p.name for p in Path(run_dir).iterdir() if p.is_file())  # each written by one host, or it fails
    assert files == ["config.yaml", "history.jsonl", "metrics.json", "model.pt", "run.json", "status.json"]
    assert {p.name for p in Path(run_dir).iterdir() if p.is_dir()} <= {"checkpoints"}
    assert len((run_dir / "history.jsonl").read_text().splitlines()) == 3  # rank 0 alone logged
    saved = (run_dir / "config.yaml").read_text()
    assert "instance_count: 2" in saved and "/opt/ml/input/data/train" in saved
