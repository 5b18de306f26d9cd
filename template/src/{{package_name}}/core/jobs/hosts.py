"""One host of a training job as SageMaker's training toolkit sets it up: config files, SM_* environment, command.

Each host gets /opt/ml/input/config (`hyperparameters.json`, `resourceconfig.json`,
`inputdataconfig.json`), the `SM_*` environment of its place in the cluster, and runs the staged
entry point as `python train.py --<hp> <value>`, or under torchrun in a `torch_distributed` job
(`torchrun_arguments`, as the toolkit builds them).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..basics import config
from ..trainer import tracking
from . import staging

MASTER_PORT = 7777  # where the training toolkit has the hosts of a torch_distributed job meet
INSTANCE_GROUP = "homogeneousCluster"  # the one instance group of a job without heterogeneous clusters


@dataclass(frozen=True)
class Host:
    """One host of a job: its name, every host of the job, its /opt/ml folder and its staged code."""

    name: str
    hosts: list[str]
    ml: Path
    code: Path


def prepare(host: Host, channels: list[str], hyperparameters: dict[str, str], remote: config.RemoteConfig) -> dict:
    """Write the host's /opt/ml/input/config files and output folders; returns the environment its entry point gets."""
    framework = staging.framework_parameters(remote)
    group = {"instance_group_name": INSTANCE_GROUP, "instance_type": remote.instance_type, "hosts": host.hosts}
    resources = {
        "current_host": host.name,
        "current_instance_type": remote.instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": host.hosts,
        "instance_groups": [group],
        "network_interface_name": "eth0",
    }
    inputs = {
        name: {"TrainingInputMode": remote.input_mode, "S3DistributionType": "FullyReplicated"} for name in channels
    }
    config_dir = host.ml / "input" / "config"
    config_dir.mkdir(parents=True)
    job_hyperparameters = {key: json.dumps(value) for key, value in {**hyperparameters, **framework}.items()}
    (config_dir / "hyperparameters.json").write_text(json.dumps(job_hyperparameters))
    (config_dir / "resourceconfig.json").write_text(json.dumps(resources))
    (config_dir / "inputdataconfig.json").write_text(json.dumps(inputs))
    for folder in ("model", "output/data"):
        (host.ml / folder).mkdir(parents=True, exist_ok=True)
    environment = {
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_FRAMEWORK_PARAMS": json.dumps(framework),
        "SM_CURRENT_INSTANCE_TYPE": remote.instance_type,
        "SM_RESOURCE_CONFIG": json.dumps(resources),
        "SM_INPUT_DATA_CONFIG": json.dumps(inputs),
    }
    return _environment(host, channels, hyperparameters) | environment


def _environment(host: Host, channels: list[str], hyperparameters: dict[str, str]) -> dict[str, str]:
    """This process's environment without PYTHONPATH and SM_*, the tracker's, and the host's place in the job."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("SM_")}
    env |= tracking.job_environment()
    env |= {
        "SM_MODEL_DIR": str(host.ml / "model"),
        "SM_OUTPUT_DATA_DIR": str(host.ml / "output" / "data"),
        "SM_CHANNELS": json.dumps(sorted(channels)),
        "SM_HPS": json.dumps(hyperparameters),
        "SM_NUM_GPUS": "0",
        "SM_NUM_CPUS": str(os.cpu_count() or 1),
        "SM_HOSTS": json.dumps(host.hosts),
        "SM_CURRENT_HOST": host.name,
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_MODULE_DIR": str(host.code),
        "SM_USER_ENTRY_POINT": "train.py",
    }
    env |= {f"SM_CHANNEL_{name.upper()}": str(host.ml / "input" / "data" / name) for name in channels}
    return env | {f"SM_HP_{key.upper()}": value for key, value in hyperparameters.items()}


def command(env: Mapping[str, str], hyperparameters: dict[str, str], distributed: bool, port: int) -> list[str]:
    """What the training toolkit runs on a host: the entry point, under torchrun for torch_distributed."""
    arguments = [part for key, value in hyperparameters.items() for part in (f"--{key}", value)]
    if not distributed:
        return [sys.executable, "train.py", *arguments]
    torchrun = torchrun_arguments(env, master_port=port, master_addr="127.0.0.1")
    return [sys.executable, "-m", "torch.distributed.run", *torchrun, "train.py", *arguments]


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
