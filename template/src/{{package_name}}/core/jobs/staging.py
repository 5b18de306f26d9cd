"""The source_dir of a SageMaker training job, and a local stand-in for the job itself.

`stage` writes what a job receives: `train.py` (the entry point, which runs the model's own
`train.main`), `requirements.txt` and the package with `core` and this model. `run_local_job`
runs the job as SageMaker would on `remote.instance_count` hosts, here in temporary folders: each
host gets an /opt/ml-style tree with every configured data channel (`channels`), the
`resourceconfig.json` and `SM_*` environment of its place in the cluster, and runs the staged
entry point as `python train.py --<hp> <value>`, or under torchrun when the job is a
`torch_distributed` one (several instances, or GPUs; see `torch_distributed` and
`torchrun_arguments`). The hosts' model and output folders, merged as SageMaker merges them, are
kept as a local run, so job behaviour can be checked without Docker.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from ..basics import config, project
from ..basics.errors import ProjectError
from ..bundling import sources
from ..catalog import runs
from ..cloud import images
from ..inference import client
from ..loading import data
from ..trainer import tracking

# What a job installs beyond the image's torch (a tracking server's client, not a local store).
TRACKING_REQUIREMENTS = {"mlflow": ["mlflow-skinny>=2.16"], "wandb": ["wandb>=0.19"]}
TRAINING_REQUIREMENTS = ("rich>=13", "pyarrow>=15")
MASTER_PORT = 7777  # where the training toolkit has the hosts of a torch_distributed job meet
INSTANCE_GROUP = "homogeneousCluster"  # the one instance group of a job without heterogeneous clusters


class JobError(ProjectError):
    """A staging folder that cannot be written, or a local job that failed."""


def stage(model: str, dest: Path) -> Path:
    """Write the training job source_dir of `model` into `dest` (new or empty)."""
    if dest.exists() and any(dest.iterdir()):
        raise JobError(f"{dest} is not empty: choose a new folder to stage into")
    for name, path in sources.package_files(model).items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest / name)
    (dest / "train.py").write_text(entry_point(model))
    header = "Installed by SageMaker's training toolkit before train.py runs; the image has torch."
    (dest / "requirements.txt").write_text(sources.requirements(model, header, training_requirements()))
    return dest


def training_requirements() -> tuple[str, ...]:
    """What a job installs beyond the image's torch and core's needs: training's, and the tracker's client."""
    return (*TRAINING_REQUIREMENTS, *TRACKING_REQUIREMENTS.get(project.settings().TRACKING, []))


def entry_point(model: str) -> str:
    """The source of the job's `train.py`."""
    module = f"{project.package()}.models.{model}.train"
    return (
        f'"""Training job entry point of model {model!r} (written by `train --stage`)."""\n\n'
        f"from {module} import main\n\n"
        'if __name__ == "__main__":\n'
        "    main()\n"
    )


def channels(data_config: config.DataConfig) -> dict[str, str]:
    """A job's input channels, name -> source (a local file or folder, or an `s3://` URI); unset ones are left out.

    `data.path` is the `train` channel, `data.validation` and `data.test` the `validation` and `test` ones.
    """
    return config.channel_sources(data_config)


def is_s3(source: str) -> bool:
    """Whether a channel's source is in S3 (a job reads it in place) rather than on this machine."""
    return str(source).startswith("s3://")


def torch_distributed(remote: config.RemoteConfig) -> bool:
    """Whether the job runs its entry point under torchrun: SageMaker's `torch_distributed` distribution.

    So it does on several instances, and on GPU instances, where the training toolkit starts one
    process per GPU (on a one-GPU instance that is a single process, just as without torchrun).
    """
    return remote.instance_count > 1 or images.is_gpu(remote.instance_type)


def framework_parameters(remote: config.RemoteConfig) -> dict[str, object]:
    """The job's `sagemaker_*` distribution hyperparameters, as the SageMaker PyTorch estimator writes them."""
    if not torch_distributed(remote):
        return {}
    return {"sagemaker_torch_distributed_enabled": True, "sagemaker_instance_type": remote.instance_type}


def torchrun_arguments(
    environ: Mapping[str, str], master_port: int = MASTER_PORT, master_addr: str | None = None
) -> list[str]:
    """torchrun's options on one host of a `torch_distributed` job, from that host's `SM_*` environment.

    As SageMaker's training toolkit builds them: a node per host (`SM_HOSTS`) and a process per
    GPU (`SM_NUM_GPUS`; one without GPUs). With several hosts they meet at the first one
    (`master_addr` overrides its name, e.g. 127.0.0.1 when every host is this machine), and this
    host's rank is its place in `SM_HOSTS` (`SM_CURRENT_HOST`).
    """
    hosts = json.loads(environ["SM_HOSTS"])
    arguments = ["--nnodes", str(len(hosts)), "--nproc_per_node", str(int(environ.get("SM_NUM_GPUS") or 0) or 1)]
    if len(hosts) > 1:
        rank = hosts.index(environ["SM_CURRENT_HOST"])
        arguments += ["--master_addr", master_addr or hosts[0], "--master_port", str(master_port)]
        arguments += ["--node_rank", str(rank)]
    return arguments


def run_local_job(model: str, run_config: config.RunConfig, hyperparameters: dict[str, str]) -> Path:
    """Run `model`'s job as SageMaker would, on `run_config.remote.instance_count` local hosts.

    The channels are `run_config.data`'s local sources; the job's hyperparameters are
    `hyperparameters` (its config overrides). Returns the new local run folder.
    """
    remote, found = run_config.remote, channels(run_config.data)
    in_s3 = [f"{name} ({source})" for name, source in found.items() if is_s3(source)]
    if in_s3:
        raise JobError(f"a local job reads local data only; in S3: {', '.join(in_s3)} (override with a local copy)")
    if remote.instance_count < 1:
        raise JobError(f"remote.instance_count must be at least 1, got {remote.instance_count}")
    hosts = [f"algo-{number}" for number in range(1, remote.instance_count + 1)]
    with tempfile.TemporaryDirectory(prefix="sagemaker-job-") as folder:
        trees = {host: Path(folder) / host / "opt" / "ml" for host in hosts}
        _lay_out_channels(trees, found)
        port = client.free_port()
        processes = []
        try:
            for host, ml in trees.items():
                code = stage(model, ml / "code")
                env = _job_environment(ml, code, list(found), hyperparameters, remote, hosts, host)
                command = _command(env, hyperparameters, torch_distributed(remote), port)
                processes.append(subprocess.Popen(command, cwd=code, env=env))
            failed = _wait(processes)
        finally:
            _stop(processes)
        if failed:
            raise JobError(f"the training job failed with exit code {failed}")
        return _keep_as_run(model, trees)


def _lay_out_channels(trees: dict[str, Path], found: dict[str, str]) -> None:
    """Every channel in every host's /opt/ml/input/data/<channel> (FullyReplicated: each host gets it all)."""
    first, *others = trees.values()
    for name, source in found.items():
        channel = first / "input" / "data" / name
        for relative, file in data.channel_files(Path(source)).items():
            (channel / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, channel / relative)
    for ml in others:  # hard links: the same bytes, laid out again
        shutil.copytree(first / "input" / "data", ml / "input" / "data", copy_function=os.link)


def _command(env: dict[str, str], hyperparameters: dict[str, str], distributed: bool, port: int) -> list[str]:
    """What the training toolkit runs on a host: the entry point, under torchrun for torch_distributed."""
    arguments = [part for key, value in hyperparameters.items() for part in (f"--{key}", value)]
    if not distributed:
        return [sys.executable, "train.py", *arguments]
    torchrun = torchrun_arguments(env, master_port=port, master_addr="127.0.0.1")
    return [sys.executable, "-m", "torch.distributed.run", *torchrun, "train.py", *arguments]


def _job_environment(
    ml: Path,
    code: Path,
    names: list[str],
    hyperparameters: dict[str, str],
    remote: config.RemoteConfig,
    hosts: list[str],
    host: str,
) -> dict[str, str]:
    """One host's /opt/ml/input/config files and the SM_* environment the training toolkit gives the entry point."""
    framework = framework_parameters(remote)
    group = {"instance_group_name": INSTANCE_GROUP, "instance_type": remote.instance_type, "hosts": hosts}
    resources = {
        "current_host": host,
        "current_instance_type": remote.instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": hosts,
        "instance_groups": [group],
        "network_interface_name": "eth0",
    }
    inputs = {name: {"TrainingInputMode": remote.input_mode, "S3DistributionType": "FullyReplicated"} for name in names}
    config_dir = ml / "input" / "config"
    config_dir.mkdir(parents=True)
    job_hyperparameters = {key: json.dumps(value) for key, value in {**hyperparameters, **framework}.items()}
    (config_dir / "hyperparameters.json").write_text(json.dumps(job_hyperparameters))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resources))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(inputs))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SM_")}
    env |= tracking.job_environment()
    env |= {
        "SM_MODEL_DIR": str(ml / "model"),
        "SM_OUTPUT_DATA_DIR": str(ml / "output" / "data"),
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_CHANNELS": json.dumps(sorted(names)),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_FRAMEWORK_PARAMS": json.dumps(framework),
        "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_HOSTS": json.dumps(hosts),
        "SM_CURRENT_HOST": host,
        "SM_CURRENT_INSTANCE_TYPE": remote.instance_type,
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_RESOURCE_CONFIG": json.dumps(resources),
        "SM_INPUT_DATA_CONFIG": json.dumps(inputs),
        "SM_MODULE_DIR": str(code),
        "SM_USER_ENTRY_POINT": "train.py",
    }
    env |= {f"SM_CHANNEL_{name.upper()}": str(ml / "input" / "data" / name) for name in names}
    env |= {f"SM_HP_{key.upper()}": value for key, value in hyperparameters.items()}
    for folder in ("model", "output/data"):
        (ml / folder).mkdir(parents=True, exist_ok=True)
    return env


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


def _keep_as_run(model: str, trees: dict[str, Path]) -> Path:
    """Every host's model and output folders merged into a new local run, as SageMaker merges them into its archives."""
    folders = [(host, folder) for host, ml in trees.items() for folder in (ml / "model", ml / "output" / "data")]
    writers: dict[str, str] = {}
    for host, folder in folders:
        for path in (p for p in folder.rglob("*") if p.is_file()):
            name = path.relative_to(folder).as_posix()
            if writers.setdefault(name, host) != host:
                raise JobError(f"{writers[name]} and {host} both wrote {name}: only rank 0 should save")
    run_dir = runs.new_run_dir(model)
    for _, folder in folders:
        shutil.copytree(folder, run_dir, dirs_exist_ok=True)
    if not (run_dir / runs.WEIGHTS).is_file():
        raise JobError(f"the job saved no {runs.WEIGHTS} to SM_MODEL_DIR")
    return run_dir
