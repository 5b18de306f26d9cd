"""A rendered project tracks to a team MLflow server when MLFLOW_TRACKING_URI points at one."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import DEFAULT_PACKAGE, render, rendered_env, run
from mlflow import MlflowClient


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on loopback (SQLite store, artifacts proxied by the server)."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'store.db'}", "--artifacts-destination", folder / "art"]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([str(c) for c in command], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, folder / "server.log")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, f"mlflow server exited:\n{log.read_text()[-3000:]}"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"mlflow server not healthy after {timeout} s:\n{log.read_text()[-3000:]}")


def test_training_runs_are_tracked_on_the_team_server(tmp_path, mlflow_server):
    project = render(tmp_path / "project")
    env = {**rendered_env(), "PYTHONPATH": str(project / "src"), "MLFLOW_TRACKING_URI": mlflow_server}
    cli = (sys.executable, "-m", DEFAULT_PACKAGE)
    run(*cli, "train", "classifier", "trainer.max_epochs=3", "trainer.progress=false", cwd=project, env=env)
    (run_dir,) = (project / "runs" / "classifier").iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["mlflow_tracking_uri"] == mlflow_server
    assert not (project / "mlflow.db").exists()  # nothing went to the local store

    client = MlflowClient(mlflow_server)
    tracked = client.get_run(record["mlflow_run_id"])
    assert tracked.info.status == "FINISHED" and tracked.data.params["trainer.max_epochs"] == "3"
    assert [m.step for m in client.get_metric_history(tracked.info.run_id, "val_accuracy")] == [1, 2, 3]
    weights = client.download_artifacts(tracked.info.run_id, "model/model.pt", str(tmp_path))
    assert Path(weights).read_bytes() == (run_dir / "model.pt").read_bytes()

    listing = run(*cli, "runs", "classifier", cwd=project, env={**env, "COLUMNS": "200"})
    assert record["mlflow_run_id"] in listing.stdout
