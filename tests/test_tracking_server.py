"""A rendered project tracks to a team MLflow server when MLFLOW_TRACKING_URI points at one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DEFAULT_MODEL, cli, free_port, render, wait_ready
from mlflow import MlflowClient


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """A real `mlflow server` on loopback (SQLite store, artifacts proxied by the server)."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{folder / 'store.db'}", "--artifacts-destination", folder / "art"]
    url = f"http://127.0.0.1:{port}"
    with (folder / "server.log").open("w") as log:
        server = subprocess.Popen([str(c) for c in command], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_ready(f"{url}/health", server, folder / "server.log")
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_training_runs_are_tracked_on_the_team_server(tmp_path, mlflow_server):
    project = render(tmp_path / "project")
    server = {"MLFLOW_TRACKING_URI": mlflow_server}
    cli(project, "train", DEFAULT_MODEL, "trainer.max_epochs=3", "trainer.progress=false", **server)
    (run_dir,) = (project / "runs" / DEFAULT_MODEL).iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["mlflow_tracking_uri"] == mlflow_server
    assert not (project / "mlflow.db").exists()  # nothing went to the local store

    client = MlflowClient(mlflow_server)
    tracked = client.get_run(record["mlflow_run_id"])
    assert tracked.info.status == "FINISHED" and tracked.data.params["trainer.max_epochs"] == "3"
    assert [m.step for m in client.get_metric_history(tracked.info.run_id, "val_accuracy")] == [1, 2, 3]
    weights = client.download_artifacts(tracked.info.run_id, "model/model.pt", str(tmp_path))
    assert Path(weights).read_bytes() == (run_dir / "model.pt").read_bytes()

    listing = cli(project, "runs", DEFAULT_MODEL, COLUMNS="200", **server)
    assert record["mlflow_run_id"] in listing.stdout
