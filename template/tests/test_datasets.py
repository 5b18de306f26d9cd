"""Building data sets: a script's shards and their fingerprint, here or as a SageMaker Processing job (on moto)."""

import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "points"  # the project's example data set (the tests skip it once it is gone)
OUTPUT = "/opt/ml/processing/output"  # where a Processing job's script writes the data set

# A build script as every data set has one: `python build.py --out FOLDER` writes the data set into FOLDER.
SCRIPT = textwrap.dedent(
    """
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    assert out.is_dir() and not any(out.iterdir()), "the output folder is new or empty"
    (out / "part-0.csv").write_text("x,y,side\\n0.1,0.9,above\\n0.8,0.1,below\\n")
    (out / "part-1.csv").write_text("x,y,side\\n0.2,0.7,above\\n0.9,0.3,below\\n")
    print("built", Path.cwd())
    """
)


def add_data_set(root: Path, name: str, source: str = SCRIPT, file: str = "build.py") -> Path:
    path = root / "data" / name / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.fixture
def cli(package):
    app = importlib.import_module(f"{package}.cli").app
    return lambda *args: CliRunner().invoke(app, [str(a) for a in args])


def test_a_data_set_builds_into_data_built_with_its_fingerprint(core, git_workdir, head_commit):
    add_data_set(git_workdir, "tiny")
    built = core.jobs.datasets.build("tiny")
    out = git_workdir / "data" / "built" / "tiny"
    assert Path(built.location) == Path("data/built/tiny")
    assert sorted(p.name for p in out.iterdir()) == [".fingerprint.json", "part-0.csv", "part-1.csv"]
    manifest = json.loads((out / ".fingerprint.json").read_text())
    assert manifest == built.manifest == core.basics.fingerprint.read_manifest(out)
    found = core.basics.fingerprint.of(out)  # the manifest is hidden: a run on this folder records the same value
    assert (manifest["fingerprint"], manifest["short"], manifest["files"]) == (found.value, found.short, 2)
    assert manifest["bytes"] == sum(p.stat().st_size for p in out.glob("*.csv"))
    assert (manifest["data_set"], manifest["script"]) == ("tiny", "data/tiny/build.py")
    assert (manifest["git_commit"], manifest["git_dirty"]) == (head_commit, True)  # data/tiny is not committed
    assert manifest["built_at"].endswith("Z")
    tabular = core.loading.data.load_tabular(out, "side")  # a folder of CSV shards is one data set
    assert len(tabular) == 4 and tabular.classes == ["above", "below"]


def test_a_build_never_overwrites_and_a_failed_one_leaves_nothing(core, workdir):
    add_data_set(workdir, "tiny")
    core.jobs.datasets.build("tiny", workdir / "out")
    with pytest.raises(core.jobs.datasets.DatasetError, match="out is not empty"):
        core.jobs.datasets.build("tiny", workdir / "out")
    (workdir / "empty").mkdir()
    assert core.jobs.datasets.build("tiny", workdir / "empty").manifest["files"] == 2  # an empty folder is fine
    add_data_set(workdir, "broken", "import sys, pathlib\npathlib.Path(sys.argv[2], 'half.csv').touch()\n1/0\n")
    with pytest.raises(core.jobs.datasets.DatasetError, match=r"data/broken/build\.py failed with exit code 1"):
        core.jobs.datasets.build("broken")
    assert not (workdir / "data" / "built" / "broken").exists()
    add_data_set(workdir, "lazy", "print('nothing to do')\n")
    (workdir / "lazy-out").mkdir()
    with pytest.raises(core.jobs.datasets.DatasetError, match="wrote no files"):
        core.jobs.datasets.build("lazy", workdir / "lazy-out")
    assert (workdir / "lazy-out").is_dir() and not any((workdir / "lazy-out").iterdir())


def test_where_build_scripts_are_looked_for(core, workdir, tmp_path, monkeypatch):
    with pytest.raises(
        core.jobs.datasets.DatasetError, match=r"looked for data/nope/build\.py and \S*/nope/build_data\.py"
    ):
        core.jobs.datasets.script("nope")
    with pytest.raises(core.jobs.datasets.DatasetError, match="not a data set name"):
        core.jobs.datasets.script("../etc")
    models = importlib.import_module(f"{core.basics.project.package()}.models")
    extra = tmp_path / "extra_models"
    (extra / "maker").mkdir(parents=True)
    (extra / "maker" / "train.py").write_text("")
    (extra / "maker" / "build_data.py").write_text(SCRIPT)
    monkeypatch.setattr(models, "__path__", [*models.__path__, str(extra)])
    assert core.jobs.datasets.script("maker") == extra / "maker" / "build_data.py"
    assert core.jobs.datasets.build("maker").manifest["script"] == "extra_models/maker/build_data.py"
    add_data_set(workdir, "maker")
    with pytest.raises(core.jobs.datasets.DatasetError, match="two build scripts"):
        core.jobs.datasets.script("maker")


@pytest.mark.skipif(not (EXAMPLE / "build.py").is_file(), reason="the project's example data set was removed")
def test_the_example_data_set_builds_csv_shards_a_tabular_model_reads(core, workdir):
    shutil.copytree(EXAMPLE, workdir / "data" / "points")
    built = core.jobs.datasets.build("points")
    assert built.manifest["files"] == 4
    tabular = core.loading.data.load_tabular(Path(built.location), "side")
    assert len(tabular) == 1000 and tabular.feature_names == ["x", "y"] and tabular.classes == ["above", "below"]


def test_data_build_command(core, cli, workdir):
    add_data_set(workdir, "tiny")
    built = cli("data", "build", "tiny")
    assert built.exit_code == 0, built.output
    manifest = core.basics.fingerprint.read_manifest(workdir / "data" / "built" / "tiny")
    assert "data/built/tiny: 2 files" in built.output and manifest["fingerprint"] in built.output
    again = cli("data", "build", "tiny")
    assert again.exit_code == 2 and "is not empty" in again.output
    elsewhere = cli("data", "build", "tiny", "--out", workdir / "second")
    assert elsewhere.exit_code == 0 and manifest["short"] in elsewhere.output  # the same data, the same fingerprint
    for args, message in (
        (["nope"], "no build script for data set 'nope': looked for data/nope/build.py and"),
        (["tiny", "remote.instance_type=ml.c5.xlarge"], "only apply to a --remote build"),
        (["tiny", "--wait"], "--wait only applies to a --remote build"),
    ):
        failed = cli("data", "build", *args)
        assert failed.exit_code == 2 and message in failed.output, failed.output


@pytest.fixture
def aws_env(fresh_emulator, monkeypatch, workdir):
    """Fake credentials, a fresh emulator with the project's bucket, and the settings naming it and a role."""
    emulator = fresh_emulator
    for name, value in {
        "ARTIFACTS_BUCKET": "artifacts",
        "SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/project-execution",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3", endpoint_url=emulator).create_bucket(Bucket="artifacts")
    return emulator


@pytest.fixture(scope="module")
def training_image(core):
    """The image training jobs run on (looking it up loads the SageMaker SDK: once)."""
    return core.cloud.images.training_image(core.basics.config.RemoteConfig(), "us-east-1")


def s3_keys(endpoint: str, uri: str) -> dict[str, bytes]:
    bucket, prefix = uri[len("s3://") :].split("/", 1)
    s3 = boto3.client("s3", endpoint_url=endpoint)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {item["Key"][len(prefix) :]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed}


@pytest.mark.slow  # a SageMaker client, and moto's SageMaker, take a second to start
def test_a_processing_job_builds_the_data_set_on_the_training_image(core, aws_env, workdir, training_image):
    add_data_set(workdir, "tiny")
    (workdir / "data" / "tiny" / "requirements.txt").write_text("pyarrow\n")
    (workdir / "data" / "tiny" / "config.yaml").write_text("remote:\n  instance_type: ml.c5.xlarge\n")
    job = core.jobs.processing.launch("tiny", endpoint_url=aws_env, overrides=["remote.volume_size_gb=50"])
    config = core.cloud.aws.load(aws_env)
    assert job.name.startswith(f"{config.prefix}--data-tiny-") and len(job.name) <= 63
    assert job.output == f"s3://artifacts/{config.key('tiny', 'data', 'built', job.name)}/"
    described = core.jobs.processing.describe(job.name, aws_env)
    app = described["AppSpecification"]
    assert app["ImageUri"] == training_image and "pytorch-training" in app["ImageUri"]
    assert app["ContainerEntrypoint"] == ["python", f"/opt/ml/processing/input/code/{core.jobs.data_staging.ENTRY}"]
    assert app["ContainerArguments"] == [OUTPUT]
    assert described["RoleArn"] == "arn:aws:iam::123456789012:role/project-execution"
    [code] = described["ProcessingInputs"]
    assert code["S3Input"]["LocalPath"] == "/opt/ml/processing/input/code"
    assert code["S3Input"]["S3Uri"] == f"s3://artifacts/{config.key('tiny', 'data', 'source', job.name)}/"
    [output] = described["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"] == {"S3Uri": job.output, "LocalPath": OUTPUT, "S3UploadMode": "EndOfJob"}
    shipped = s3_keys(aws_env, code["S3Input"]["S3Uri"])
    package = core.basics.project.CORE
    assert set(shipped) == {
        "build.py",
        "requirements.txt",
        "config.yaml",
        core.jobs.data_staging.ENTRY,
        f"{package}/__init__.py",
        *(f"{package}/core/{module}" for module in core.jobs.data_staging.JOB_MODULES),
    }
    assert shipped["build.py"].decode() == SCRIPT
    assert f"'job': '{job.name}'" in shipped[core.jobs.data_staging.ENTRY].decode()


def test_the_processing_request_takes_its_instance_from_the_config(core, aws_env, workdir, training_image):
    add_data_set(workdir, "tiny")
    (workdir / "data" / "tiny" / "config.yaml").write_text("remote:\n  instance_type: ml.c5.xlarge\n")
    remote = core.jobs.datasets.settings("tiny", ["remote.volume_size_gb=50"]).remote
    config = core.cloud.aws.load(aws_env)
    provenance = {"git_commit": "abc123", "git_dirty": False}
    request = core.jobs.processing.processing_request(
        "job-1", "s3://a/code/", "s3://a/out/", remote, config, provenance
    )
    cluster = request["ProcessingResources"]["ClusterConfig"]
    assert cluster == {"InstanceCount": 1, "InstanceType": "ml.c5.xlarge", "VolumeSizeInGB": 50}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 24 * 3600}
    assert request["Environment"] == {"PROJECT_GIT_COMMIT": "abc123", "PROJECT_GIT_DIRTY": "false"}
    assert (
        core.jobs.datasets.settings("elsewhere").remote == core.basics.config.RemoteConfig()
    )  # no config.yaml: the defaults
    with pytest.raises(core.jobs.datasets.DatasetError, match="one instance"):
        remote.instance_count = 2
        core.jobs.processing.processing_request("job-1", "s3://a/code/", "s3://a/out/", remote, config, provenance)


@pytest.mark.slow  # a SageMaker client, and moto's SageMaker, take a second to start
def test_waiting_for_a_processing_job_gives_its_manifest(core, aws_env, workdir, training_image):
    add_data_set(workdir, "tiny")
    job = core.jobs.processing.launch("tiny", endpoint_url=aws_env)  # moto completes every job at once, and runs none
    bucket, prefix = job.output[len("s3://") :].split("/", 1)
    manifest = {"fingerprint": "sha256:" + "0" * 64, "short": "sha256:000000000000", "files": 2, "bytes": 10}
    boto3.client("s3", endpoint_url=aws_env).put_object(
        Bucket=bucket, Key=prefix + ".fingerprint.json", Body=json.dumps(manifest)
    )
    assert core.jobs.processing.wait(job.name, aws_env) == core.jobs.datasets.Built(job.output, manifest)
    with pytest.raises(core.jobs.datasets.DatasetError, match="is not empty"):
        core.jobs.processing.launch("tiny", out=job.output, endpoint_url=aws_env)
    with pytest.raises(core.jobs.datasets.DatasetError, match="give --out s3://"):
        core.jobs.processing.launch("tiny", out="data/built/tiny", endpoint_url=aws_env)


def test_a_local_build_can_go_to_s3(core, aws_env, workdir):
    add_data_set(workdir, "tiny")
    built = core.jobs.datasets.build("tiny", "s3://artifacts/sets/tiny", endpoint_url=aws_env)
    assert built.location == "s3://artifacts/sets/tiny/"
    uploaded = s3_keys(aws_env, built.location)
    assert set(uploaded) == {"part-0.csv", "part-1.csv", ".fingerprint.json"}
    assert json.loads(uploaded[".fingerprint.json"]) == built.manifest
    with pytest.raises(core.jobs.datasets.DatasetError, match="is not empty"):
        core.jobs.datasets.build("tiny", "s3://artifacts/sets/tiny/", endpoint_url=aws_env)


@pytest.mark.slow  # a SageMaker client, and moto's SageMaker, take a second to start
def test_data_build_remote_command(core, cli, aws_env, workdir, training_image):
    add_data_set(workdir, "tiny")
    launched = cli("data", "build", "tiny", "--remote", "remote.instance_type=ml.c5.xlarge", "--endpoint-url", aws_env)
    assert launched.exit_code == 0, launched.output
    assert "processing job" in launched.output and "s3://artifacts/" in launched.output
    waited = cli("data", "build", "tiny", "--remote", "--wait", "--endpoint-url", aws_env)  # moto runs no job
    assert waited.exit_code == 2 and "completed, but left no .fingerprint.json" in waited.output
    local_out = cli("data", "build", "tiny", "--remote", "--out", "here", "--endpoint-url", aws_env)
    assert local_out.exit_code == 2 and "give --out s3://" in local_out.output


def test_the_staged_processing_code_builds_and_fingerprints_as_the_job_would(core, workdir, tmp_path):
    """The job's entry point, run with only the code a job gets and the standard library (no site-packages)."""
    add_data_set(workdir, "tiny")
    code = core.jobs.data_staging.stage("tiny", tmp_path / "code", {"job": "job-1", "git_commit": "abc123"})
    out = tmp_path / "output"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    entry = [sys.executable, "-S", str(code / core.jobs.data_staging.ENTRY), str(out)]
    done = subprocess.run(entry, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"built {code}" in done.stdout  # the script runs in its own folder
    manifest = core.basics.fingerprint.read_manifest(out)
    assert manifest["fingerprint"] == core.basics.fingerprint.of(out).value and manifest["files"] == 2
    assert (manifest["data_set"], manifest["job"], manifest["git_commit"]) == ("tiny", "job-1", "abc123")
    with pytest.raises(core.jobs.datasets.DatasetError, match="not empty"):
        core.jobs.data_staging.stage("tiny", code)
