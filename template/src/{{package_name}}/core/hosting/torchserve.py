"""Serve a bundle with the production stack, on this machine: TorchServe and SageMaker's handler service.

A SageMaker PyTorch endpoint runs TorchServe with the handler service of the
`sagemaker-pytorch-inference` toolkit. `spawn` runs the same, without Docker or root:

    python -m <package>.core.hosting.supervisor MODEL_DIR --scratch DIR --port N --parent PID

writes TorchServe's config into DIR (the toolkit's defaults and its SAGEMAKER_MODEL_SERVER_*
settings, the inference address asked for, every other port free on 127.0.0.1; its logs, pid
file and worker sockets in DIR too), runs `torchserve --foreground` in its own process group,
and stops that whole group on SIGTERM, Ctrl-C, when process PID is gone or when the model's
workers keep dying (core/hosting/supervisor.py).

What the container's start-up does and this does not: it writes /etc/sagemaker-ts.properties,
pip-installs code/requirements.txt at every start, binds 0.0.0.0 and finds its server by
scanning every process (two servers would interfere). Instead, the bundle's pinned requirements
are compared with this environment and each difference is logged.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

from ..basics import project
from ..basics.errors import ProjectError
from ..inference.client import base_url, free_port

HANDLER_SERVICE = "sagemaker_pytorch_serving_container.handler_service"
MODEL_NAME = "model"  # the toolkit's name for the one model of an endpoint
MIN_JAVA = 17  # TorchServe 0.12
SOCKET_PATH_MAX = 107  # bytes, on Linux
FAILURE = "failure.txt"  # in the scratch folder: why the supervisor stopped the server by itself
INSTALL = "pip install -e '.[torchserve]'"
JAVA_INSTALL = "apt install openjdk-17-jre-headless (or any Java 17+ on PATH or JAVA_HOME)"


def check_installed() -> None:
    """Refuse, in one line, when TorchServe, SageMaker's handler service or Java is missing."""
    wanted = {"torchserve": "ts", "SageMaker's handler service": HANDLER_SERVICE}
    missing = [name for name, module in wanted.items() if not _found(module)]
    if missing:
        raise ProjectError(f"--engine torchserve needs {' and '.join(missing)}: {INSTALL}")
    version = java_version()
    if version is None:
        raise ProjectError(f"--engine torchserve needs Java {MIN_JAVA}+, found none: {JAVA_INSTALL}")
    if version < MIN_JAVA:
        raise ProjectError(f"--engine torchserve needs Java {MIN_JAVA}+, found Java {version}: {JAVA_INSTALL}")


def java_version() -> int | None:
    """The major version of the `java` TorchServe would run (JAVA_HOME's, else PATH's), or None."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home, "bin", "java")) if home else shutil.which("java")
    return _major_version(java) if java and Path(java).is_file() else None


@functools.cache  # `serve` checks before it bundles, and again as it starts the server
def _major_version(java: str) -> int | None:
    try:
        shown = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', shown)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def spawn(model_dir: Path, scratch: Path, host: str, port: int, output: IO | None = None) -> subprocess.Popen:
    """Start TorchServe for the unpacked bundle in `model_dir`, its files in `scratch` (its log to `output`).

    It runs in a session of its own (a terminal's Ctrl-C reaches the caller, who stops it with
    SIGTERM) and stops by itself when the caller is gone.
    """
    module = f"{project.CORE}.core.hosting.supervisor"
    command = [sys.executable, "-m", module, str(Path(model_dir).resolve()), "--scratch", str(scratch)]
    command += ["--host", host, "--port", str(port), "--parent", str(os.getpid())]
    source = str(Path(__file__).resolve().parents[3])  # where this package is, installed or not
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen(command, env=env, start_new_session=True, stdout=output, stderr=output)


def config(host: str, port: int) -> str:
    """TorchServe's config: the toolkit's defaults and settings, with addresses and sockets of this server's own."""
    from sagemaker_inference.environment import Environment  # the toolkit's reading of SAGEMAKER_* settings

    env = Environment()
    defaults = importlib.resources.files("sagemaker_pytorch_serving_container").joinpath("etc/default-ts.properties")
    settings = {
        "default_response_timeout": env.model_server_timeout,
        "default_workers_per_model": env.model_server_workers,
        "inference_address": base_url(host, port),
        "management_address": f"http://127.0.0.1:{free_port()}",
        "metrics_address": f"http://127.0.0.1:{free_port()}",
        "grpc_inference_address": "127.0.0.1",
        "grpc_inference_port": free_port(),
        "grpc_management_address": "127.0.0.1",
        "grpc_management_port": free_port(),
        "default_service_handler": f"{HANDLER_SERVICE}:handle",
    }
    lines = [f"{key}={value}" for key, value in settings.items() if value]
    return defaults.read_text() + "\n" + "\n".join(lines) + "\n"


def command(model_dir: Path, scratch: Path) -> list[str]:
    """The `torchserve` command line the toolkit runs, in the foreground, with files in `scratch`."""
    log_config = importlib.resources.files("sagemaker_pytorch_serving_container").joinpath("etc/log4j2.xml")
    launcher = shutil.which("torchserve", path=os.pathsep.join([str(Path(sys.executable).parent), os.defpath]))
    return [
        *([launcher] if launcher else [sys.executable, "-c", "from ts.model_server import start; start()"]),
        *("--start", "--foreground", "--model-store", str(scratch / "store")),
        *("--ts-config", str(scratch / "config.properties"), "--log-config", str(log_config)),
        *("--models", f"{MODEL_NAME}={model_dir}"),
    ]


def environment(model_dir: Path, scratch: Path, sockets: Path) -> dict[str, str]:
    """The server's environment: the bundle's code first on the import path, logs in `scratch`,
    temporary files in `sockets`, and no TS_* settings (TorchServe lets them replace its config)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TS_")}
    code = str(Path(model_dir) / "code")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [code, os.environ.get("PYTHONPATH")]))
    env.update(LOG_LOCATION=str(scratch / "logs"), METRICS_LOCATION=str(scratch / "logs"))
    # Its pid file (tempfile's folder) and its workers' sockets (Java's, from TEMP): one set per
    # server, not one per machine in /tmp, where a second server would find the first.
    env.update(TMPDIR=str(sockets), TEMP=str(sockets))
    return env


def ignored_settings() -> list[str]:
    """The TS_* settings of this environment, which the server is started without."""
    return sorted(key for key in os.environ if key.startswith("TS_"))


def unmet_requirements(model_dir: Path) -> list[str]:
    """The bundle's pinned requirements this environment does not have (the container would pip-install them)."""
    from packaging.requirements import InvalidRequirement, Requirement

    unmet = []
    listed = (Path(model_dir) / "code" / "requirements.txt").read_text().splitlines()
    for line in (line.split("#")[0].strip() for line in listed):
        try:
            requirement = Requirement(line) if line and not line.startswith("-") else None
        except InvalidRequirement:
            continue
        if requirement is None or (requirement.marker and not requirement.marker.evaluate()):
            continue
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed is None or not requirement.specifier.contains(installed, prereleases=True):
            unmet.append(f"{requirement} (this environment has {installed or 'none'})")
    return unmet


def socket_folder(scratch: Path) -> Path:
    """A new folder for the workers' sockets: in `scratch`, or in /tmp when a socket's path there
    would pass the 107 bytes a Unix socket's path may have."""
    longest = len(str(scratch.resolve() / "sockets" / ".ts.sock.65535").encode())
    if longest <= SOCKET_PATH_MAX:
        (scratch / "sockets").mkdir(parents=True, exist_ok=True)
        return scratch / "sockets"
    return Path(tempfile.mkdtemp(prefix="torchserve-", dir="/tmp"))


def failure(scratch: Path) -> str | None:
    """Why the server in `scratch` gave up, when its supervisor said (see core/hosting/supervisor.py)."""
    path = Path(scratch) / FAILURE
    return path.read_text().strip() if path.is_file() else None


def _found(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing
        return False
