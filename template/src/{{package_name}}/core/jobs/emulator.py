"""A training job run on this machine as SageMaker would run it, kept as a local run (no Docker needed).

`run_local_job` runs the job on `remote.instance_count` hosts, here in temporary folders: each
host gets an /opt/ml-style tree with every configured data channel, and is set up and started as
core/jobs/hosts.py describes. The hosts' model and output folders, merged as SageMaker merges
them, are kept as a local run, so job behaviour can be checked without Docker.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..basics import config
from ..catalog import runs
from ..catalog.model import Model, find
from ..inference import client
from ..loading import data
from . import hosts, staging
from .staging import JobError


def run_local_job(model: str, run_config: config.RunConfig, hyperparameters: dict[str, str]) -> Path:
    """Run `model`'s job as SageMaker would, on `run_config.remote.instance_count` local hosts.

    The channels are `run_config.data`'s local sources; the job's hyperparameters are
    `hyperparameters` (its config overrides). Returns the new local run folder.
    """
    found, remote, channels = find(model), run_config.remote, staging.channels(run_config.data)
    in_s3 = [f"{name} ({source})" for name, source in channels.items() if staging.is_s3(source)]
    if in_s3:
        raise JobError(f"a local job reads local data only; in S3: {', '.join(in_s3)} (override with a local copy)")
    if remote.instance_count < 1:
        raise JobError(f"remote.instance_count must be at least 1, got {remote.instance_count}")
    names = [f"algo-{number}" for number in range(1, remote.instance_count + 1)]
    with tempfile.TemporaryDirectory(prefix="sagemaker-job-") as folder:
        trees = {name: Path(folder) / name / "opt" / "ml" for name in names}
        cluster = [hosts.Host(name, names, ml, ml / "code") for name, ml in trees.items()]
        _lay_out_channels(list(trees.values()), channels)
        failed = _run_hosts(found, cluster, list(channels), hyperparameters, remote)
        if failed:
            raise JobError(f"the training job failed with exit code {failed}")
        return _keep_as_run(found, cluster)


def _run_hosts(
    model: Model, cluster: list[hosts.Host], channels: list[str], hyperparameters: dict, remote: config.RemoteConfig
) -> int:
    """Stage, set up and start every host; returns the first failure's exit code (0: none)."""
    port, processes = client.free_port(), []
    try:
        for host in cluster:
            staging.stage(model, host.code)
            env = hosts.prepare(host, channels, hyperparameters, remote)
            command = hosts.command(env, hyperparameters, staging.torch_distributed(remote), port)
            processes.append(subprocess.Popen(command, cwd=host.code, env=env))
        return _wait(processes)
    finally:
        _stop(processes)


def _lay_out_channels(trees: list[Path], channels: dict[str, str]) -> None:
    """Every channel in every host's /opt/ml/input/data/<channel> (FullyReplicated: each host gets it all)."""
    first, *others = trees
    for name, source in channels.items():
        channel = first / "input" / "data" / name
        for relative, file in data.channel_files(Path(source)).items():
            (channel / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, channel / relative)
    for ml in others:  # hard links: the same bytes, laid out again
        shutil.copytree(first / "input" / "data", ml / "input" / "data", copy_function=os.link)


def _wait(processes: list[subprocess.Popen]) -> int:
    """Wait until every host is done, or one failed; returns the first failure's exit code (0: none)."""
    while True:
        codes = [process.poll() for process in processes]
        failed = [code for code in codes if code not in (None, 0)]
        if failed or None not in codes:
            return failed[0] if failed else 0
        time.sleep(0.2)


def _stop(processes: list[subprocess.Popen]) -> None:
    """End the hosts still running (those of a failed job)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _keep_as_run(model: Model, cluster: list[hosts.Host]) -> Path:
    """Every host's model and output folders merged into a new local run, as SageMaker merges them into its archives."""
    folders = [(host.name, folder) for host in cluster for folder in (host.ml / "model", host.ml / "output" / "data")]
    writers: dict[str, str] = {}
    for host, folder in folders:
        for path in (p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            if writers.setdefault(name, host) != host:
                raise JobError(f"{writers[name]} and {host} both wrote {name}: only rank 0 should save")
    run_dir = runs.new_run_dir(model.name)
    for _, folder in folders:
        shutil.copytree(folder, run_dir, dirs_exist_ok=True)
    if not (run_dir / runs.WEIGHTS).is_file():
        raise JobError(f"the job saved no {runs.WEIGHTS} to SM_MODEL_DIR")
    return run_dir
