"""Shared fixtures: the package under test, a scratch working folder, trained runs, live servers.

Tests import the project through the `core` fixture (a namespace of the core modules), so no
test file has to spell out the package name. Core tests use the probe model of
tests/fixture_models/ (added to the package's models path here), never the project's own
models, so replacing or removing those leaves them green. Each model's tests are in
tests/models/<name>/ and run from its contract. In a models repository (no core tests, no
probe model) the same fixtures serve its models' tests on the installed core.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(p.parent.name for p in (ROOT / "src").glob("*/settings.py"))
SAMPLES = ROOT / "data" / "samples"
FIXTURE_MODELS = Path(__file__).with_name("fixture_models")  # the probe model, and its data in data/
PROBE = "probe"
TOOLKIT_DRIVER = Path(__file__).with_name("sagemaker_toolkit_driver.py")


def import_project(module: str):
    """Import `<package>.<module>`."""
    return importlib.import_module(f"{PACKAGE}.{module}")


# The core library's package: the project's own, or the shared core's (a models repository's `core` is its alias).
CORE = import_project("core").__name__.split(".")[0]
import_project("models").__path__.append(str(FIXTURE_MODELS))
os.environ.setdefault("COLUMNS", "200")  # the CLI's tables, as a wide terminal shows them


def import_core(module: str):
    """Import `<core package>.core.<module>`."""
    return importlib.import_module(f"{CORE}.core.{module}")


def copy_samples(dest: Path) -> None:
    """The project's sample data and the probe model's, in `dest/data/samples/`."""
    if SAMPLES.is_dir():
        shutil.copytree(SAMPLES, dest / "data" / "samples")
    if FIXTURE_MODELS.is_dir():  # a models repository has none: the core's tests stay in the core
        shutil.copytree(FIXTURE_MODELS / "data", dest / "data" / "samples", dirs_exist_ok=True)


@pytest.fixture(scope="session")
def core() -> ModuleType:
    """The core library with every module imported: `core.basics.config`, `core.loading.data`, ..."""
    package = importlib.import_module(f"{CORE}.core")
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        importlib.import_module(info.name)
    return package


@pytest.fixture(scope="session")
def package() -> str:
    return PACKAGE


@pytest.fixture(autouse=True)
def _isolated_tracking(tmp_path_factory, monkeypatch):
    """Keep tracking stores out of the project folder and off the network (MLflow, W&B)."""
    store = tmp_path_factory.getbasetemp() / "tracking"
    store.mkdir(exist_ok=True)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store / 'mlflow.db'}")
    monkeypatch.setenv("WANDB_MODE", "offline")
    for variable in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR"):
        monkeypatch.setenv(variable, str(store))


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """A scratch working folder holding the sample data, made the current directory."""
    copy_samples(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def git_workdir(workdir) -> Path:
    """`workdir` as a git repository with one commit (runs/ ignored, as in the project)."""
    (workdir / ".gitignore").write_text("runs/\nmlruns/\nwandb/\n")
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "data"]):
        subprocess.run(["git", *args], cwd=workdir, check=True, capture_output=True)
    return workdir


@pytest.fixture
def head_commit(git_workdir) -> str:
    """The commit `git_workdir` is at."""
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=git_workdir, capture_output=True, text=True).stdout.strip()


@pytest.fixture(scope="session")
def session_workdir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("project")
    copy_samples(folder)
    return folder


@pytest.fixture(scope="session")
def emulator():
    """The URL of moto's AWS emulator, served over HTTP for the test session (boto3 is never patched)."""
    from moto.server import ThreadedMotoServer  # only where a test talks to AWS

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def fresh_emulator(emulator, monkeypatch) -> str:
    """The emulator, emptied, with fake credentials and a region in the environment."""
    urllib.request.urlopen(urllib.request.Request(f"{emulator}/moto-api/reset", method="POST"))
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return emulator


@pytest.fixture
def aws_env(fresh_emulator, monkeypatch, core, tmp_path):
    """Fake credentials, a fresh emulator, and the project stack (bucket and role) deployed on it.

    The working folder is a scratch project holding a copy of infra/'s templates only, so no
    accounts file `bootstrap` wrote into this project's infra/accounts/ is read.
    """
    emulator = fresh_emulator
    cfn = boto3.client("cloudformation", endpoint_url=emulator)
    cfn.create_stack(
        StackName="project",
        TemplateBody=(ROOT / "infra" / "project.yaml").read_text(),
        Parameters=[{"ParameterKey": "ProjectName", "ParameterValue": core.basics.project.settings().RESOURCE_PREFIX}],
        Capabilities=["CAPABILITY_IAM"],
    )
    outputs = {
        o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="project")["Stacks"][0]["Outputs"]
    }
    versioned = {"Status": "Enabled"}  # as infra/project.yaml declares: moto's CloudFormation skips it
    boto3.client("s3", endpoint_url=emulator).put_bucket_versioning(
        Bucket=outputs["ArtifactsBucketName"], VersioningConfiguration=versioned
    )
    monkeypatch.setenv("ARTIFACTS_BUCKET", outputs["ArtifactsBucketName"])
    monkeypatch.setenv("SAGEMAKER_ROLE_ARN", outputs["ExecutionRoleArn"])
    (tmp_path / "infra").mkdir(exist_ok=True)
    for template in (ROOT / "infra").glob("*.yaml"):
        shutil.copy(template, tmp_path / "infra")
    monkeypatch.chdir(tmp_path)  # deploy reads infra/model.yaml from the project's root folder
    return emulator


@pytest.fixture(scope="session")
def trained_run(session_workdir, core):
    """`trained_run(model)`: the folder of a run of `model` trained once per test session."""
    done: dict[str, Path] = {}

    def train(model: str) -> Path:
        if model not in done:
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(session_workdir)
                result = core.catalog.registry.module(model, "train").main(["trainer.progress=false"])
            done[model] = session_workdir / result.paths.model_dir
        return done[model]

    return train


@pytest.fixture(scope="session")
def unpacked_bundle(core, trained_run, tmp_path_factory):
    """`unpacked_bundle(model)`: a new folder with the bundle of `model`'s trained run, unpacked like the container."""

    def unpack(model: str) -> Path:
        folder = tmp_path_factory.mktemp(f"bundle-{model}")
        return core.bundling.unpacking.unpack(
            core.bundling.bundle.build(model, trained_run(model), folder / "model.tar.gz"), folder / "model"
        )

    return unpack


@pytest.fixture(scope="session")
def start_endpoint(core):
    """`start_endpoint(model_dir)`: the URL of a local endpoint serving an unpacked bundle (stopped at the end)."""
    processes = []

    def start(model_dir: Path) -> str:
        port = core.inference.client.free_port()
        processes.append(core.inference.serving.spawn(model_dir, "127.0.0.1", port))
        return f"http://127.0.0.1:{port}"

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def served_model(core, unpacked_bundle, start_endpoint):
    """`served_model(model)`: the URL of a ready local endpoint serving the bundle of a trained run."""
    urls: dict[str, str] = {}

    def serve(model: str) -> str:
        if model not in urls:
            urls[model] = start_endpoint(unpacked_bundle(model))
            core.inference.client.wait_until_ready(urls[model])
        return urls[model]

    return serve


@pytest.fixture(scope="session")
def served_by_torchserve(core, unpacked_bundle, tmp_path_factory):
    """`served_by_torchserve(model)`: the URL of TorchServe with SageMaker's handler service serving
    the bundle of a trained run (what a SageMaker PyTorch endpoint runs), ready to answer."""
    urls: dict[str, str] = {}
    processes = []

    def serve(model: str) -> str:
        if model not in urls:
            core.hosting.torchserve.check_installed()  # Java or the extra missing: say which, in one line
            port = core.inference.client.free_port()
            scratch = tmp_path_factory.mktemp(f"torchserve-{model}")
            with (scratch / "server.log").open("wb") as log:
                processes.append(core.hosting.torchserve.spawn(unpacked_bundle(model), scratch, "127.0.0.1", port, log))
            urls[model] = f"http://127.0.0.1:{port}"
            core.inference.client.wait_until_answering(urls[model], processes[-1])
        return urls[model]

    yield serve
    for process in processes:
        core.hosting.local_endpoint.stop(process)


@pytest.fixture(scope="session")
def examples(core, session_workdir, trained_run):
    """`examples(model, n)`: the example requests `model`'s contract makes from its trained run's data."""

    def make(model: str, n: int = 10) -> list:
        run_dir = trained_run(model)
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(session_workdir)  # data paths are relative to the run's working folder
            return core.catalog.contract.of(model).examples(run_dir, n)

    return make


@pytest.fixture(scope="session")
def samples():
    """`samples(run_dir, n)`: rows of a run's CSV data and their labels (for model tests rendered before contracts)."""

    def sample(run_dir: Path, n: int = 10) -> tuple[list[dict], list[str]]:
        cfg = yaml.safe_load((run_dir / "config.yaml").read_text())["data"]
        source = run_dir.parents[2] / cfg["path"]  # data paths are relative to the run's working folder
        return import_core("loading.data").labelled_samples(source, cfg["features"], cfg["target"], n, seed=3)

    return sample


@pytest.fixture(scope="session")
def ask_toolkit():
    """`ask_toolkit(model_dir, requests)`: answers of SageMaker's own PyTorch serving toolkit for an unpacked bundle.

    Requests are `{"body": str | bytes, "headers": {...}}`; answers `{"status", "content_type", "body"}`.
    """

    def ask(model_dir: Path, requests: list[dict]) -> list[dict]:
        encoded = [dict(r, body=_as_text(r["body"]), binary=isinstance(r["body"], bytes)) for r in requests]
        env = {**os.environ, "PYTHONPATH": str(model_dir / "code"), "SAGEMAKER_PROGRAM": "inference.py"}
        command = [sys.executable, TOOLKIT_DRIVER, str(model_dir)]
        result = subprocess.run(
            command, input=json.dumps(encoded), capture_output=True, text=True, env=env, cwd=model_dir.parent
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return ask


def _as_text(body: str | bytes) -> str:
    """A request body as JSON-safe text (bytes as latin-1, which maps every byte to one character)."""
    return body.decode("latin-1") if isinstance(body, bytes) else body
