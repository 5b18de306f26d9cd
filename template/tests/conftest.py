"""Shared fixtures: the package under test, a scratch working folder, trained runs, live servers.

Tests import the project through the `core` fixture (a namespace of the core modules), so no
test file has to spell out the package name.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = next(p.parent.name for p in (ROOT / "src").glob("*/settings.py"))
SAMPLES = ROOT / "data" / "samples"


def import_project(module: str):
    """Import `<package>.<module>`."""
    return importlib.import_module(f"{PACKAGE}.{module}")


@pytest.fixture(scope="session")
def core() -> SimpleNamespace:
    """The core library's modules, by name: `core.config`, `core.data`, ..."""
    names = [info.name for info in pkgutil.iter_modules(import_project("core").__path__)]
    return SimpleNamespace(**{name: import_project(f"core.{name}") for name in names})


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
    shutil.copytree(SAMPLES, tmp_path / "data" / "samples")
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
    shutil.copytree(SAMPLES, folder / "data" / "samples")
    return folder


@pytest.fixture(scope="session")
def trained_run(session_workdir, core):
    """`trained_run(model)`: the folder of a run of `model` trained once per test session."""
    done: dict[str, Path] = {}

    def train(model: str) -> Path:
        if model not in done:
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(session_workdir)
                result = core.registry.module(model, "train").main(["trainer.progress=false"])
            done[model] = session_workdir / result.paths.model_dir
        return done[model]

    return train


@pytest.fixture(scope="session")
def unpacked_bundle(core, trained_run, tmp_path_factory):
    """`unpacked_bundle(model)`: a new folder with the bundle of `model`'s trained run, unpacked like the container."""

    def unpack(model: str) -> Path:
        folder = tmp_path_factory.mktemp(f"bundle-{model}")
        return core.bundle.unpack(
            core.bundle.build(model, trained_run(model), folder / "model.tar.gz"), folder / "model"
        )

    return unpack


@pytest.fixture(scope="session")
def start_endpoint(core):
    """`start_endpoint(model_dir)`: the URL of a local endpoint serving an unpacked bundle (stopped at the end)."""
    processes = []

    def start(model_dir: Path) -> str:
        port = core.client.free_port()
        processes.append(core.serving.spawn(model_dir, "127.0.0.1", port))
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
            core.client.wait_until_ready(urls[model])
        return urls[model]

    return serve


def sample_requests(model_dir: Path, n: int = 10) -> tuple[list[dict], list[str]]:
    """`n` rows of a run's own data as feature dicts, and their true labels."""
    cfg = yaml.safe_load((model_dir / "config.yaml").read_text())["data"]
    source = model_dir.parents[2] / cfg["path"]  # data paths are relative to the run's working folder
    return import_project("core.data").labelled_samples(source, cfg["features"], cfg["target"], n, seed=3)


@pytest.fixture(scope="session")
def samples():
    """`samples(run_dir, n)`: feature rows of a run's own data and their true labels."""
    return sample_requests
