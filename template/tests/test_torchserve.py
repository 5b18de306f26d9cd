"""`serve --engine torchserve`: TorchServe with SageMaker's handler service, as the endpoint runs it.

Quick tests check what the engine writes and refuses; slow ones start it: two servers of two
projects at once, stopped by SIGTERM with nothing left behind, and the container's pip step.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path

import psutil
import pytest

PROBE = "probe"
GOOD = ("0.5,0.1", "text/csv")
TOOLKIT_PORTS = {8080, 8081, 8082, 7070, 7071}  # what the container binds, on every address


def properties(text: str) -> dict[str, str]:
    lines = [line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")]
    return {key.strip(): value.strip() for key, value in lines}  # later lines win, as in Java


def test_config_is_the_toolkits_with_loopback_addresses_and_ports_of_its_own(core, monkeypatch):
    monkeypatch.setenv("SAGEMAKER_MODEL_SERVER_TIMEOUT", "77")
    config = properties(core.hosting.torchserve.config("127.0.0.1", 18123))
    assert config["inference_address"] == "http://127.0.0.1:18123"
    assert config["default_response_timeout"] == "77"
    assert config["default_service_handler"] == "sagemaker_pytorch_serving_container.handler_service:handle"
    assert config["decode_input_request"] == "false"  # the toolkit's own defaults are kept
    others = [config[f"{kind}_address"] for kind in ("management", "metrics")]
    assert all(address.startswith("http://127.0.0.1:") for address in others)
    assert config["grpc_inference_address"] == config["grpc_management_address"] == "127.0.0.1"
    ports = {int(address.rsplit(":", 1)[1]) for address in others}
    ports |= {int(config[f"grpc_{kind}_port"]) for kind in ("inference", "management")}
    assert len(ports) == 4 and not ports & (TOOLKIT_PORTS | {18123})


def test_the_servers_environment_has_the_bundles_code_and_no_address_overrides(core, monkeypatch, tmp_path):
    settings = {"TS_INFERENCE_ADDRESS": "http://0.0.0.0:8080", "TS_CONFIG_FILE": "/etc/x", "TS_GRPC_PORT": "7"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    env = core.hosting.torchserve.environment(tmp_path / "model", tmp_path / "scratch", tmp_path / "sockets")
    assert not [name for name in env if name.startswith("TS_")]
    assert core.hosting.torchserve.ignored_settings() == sorted(settings)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(tmp_path / "model" / "code")
    assert env["TMPDIR"] == env["TEMP"] == str(tmp_path / "sockets")


def test_worker_sockets_go_where_their_paths_fit(core, tmp_path):
    """A Unix socket's path has at most 107 bytes: a deep scratch folder gets its sockets in /tmp."""
    assert core.hosting.torchserve.socket_folder(tmp_path / "s") == tmp_path / "s" / "sockets"
    deep = tmp_path.joinpath(*["deep-folder"] * 8)
    sockets = core.hosting.torchserve.socket_folder(deep)
    try:
        assert sockets.parent == Path("/tmp") and len(str(sockets / ".ts.sock.65535")) <= 107
    finally:
        sockets.rmdir()


def test_a_missing_part_is_named_in_one_line_with_how_to_install_it(core, monkeypatch, tmp_path):
    monkeypatch.setattr(core.hosting.torchserve, "HANDLER_SERVICE", "no_such_toolkit.handler_service")
    with pytest.raises(core.basics.errors.ProjectError, match=r"needs SageMaker's handler service: pip install"):
        core.hosting.torchserve.check_installed()
    monkeypatch.undo()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-java"))
    with pytest.raises(core.basics.errors.ProjectError, match=r"needs Java 17\+, found none: apt install"):
        core.hosting.torchserve.check_installed()
    old_java = tmp_path / "old" / "bin" / "java"
    old_java.parent.mkdir(parents=True)
    old_java.write_text("#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\n")
    old_java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(old_java.parents[1]))
    with pytest.raises(core.basics.errors.ProjectError, match=r"found Java 8"):
        core.hosting.torchserve.check_installed()


def test_pins_this_environment_lacks_are_listed(core, tmp_path):
    import yaml

    (tmp_path / "code").mkdir()
    requirements = [
        "# header",
        f"pyyaml=={yaml.__version__}",
        "pyyaml==0.0.1",
        "no-such-package-here==1.0",
        "pyyaml==0.0.2; python_version < '3'",
    ]
    (tmp_path / "code" / "requirements.txt").write_text("\n".join(requirements) + "\n")
    unmet = core.hosting.torchserve.unmet_requirements(tmp_path)
    assert unmet == [
        f"pyyaml==0.0.1 (this environment has {yaml.__version__})",
        "no-such-package-here==1.0 (this environment has none)",
    ]


@pytest.fixture(scope="module")
def probe_bundle(core, trained_run, tmp_path_factory) -> Path:
    return core.bundling.bundle.build(PROBE, trained_run(PROBE), tmp_path_factory.mktemp("probe") / "model.tar.gz")


def serve(package: str, source: Path, bundle: Path, port: int, folder: Path) -> tuple[subprocess.Popen, Path]:
    """`serve --engine torchserve` of the project whose package is in `source`, its temporary files in `folder/tmp`."""
    (folder / "tmp").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(source), "TMPDIR": str(folder / "tmp"), "COLUMNS": "300"}
    command = [sys.executable, "-m", package, "serve", "--bundle", str(bundle), "--engine", "torchserve"]
    out = (folder / "out.txt").open("w")
    process = subprocess.Popen([*command, "--port", str(port)], cwd=folder, env=env, stdout=out, stderr=out)
    return process, folder / "out.txt"


def wait_for(out: Path, text: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while text not in out.read_text() and time.monotonic() < deadline:
        assert process.poll() is None, out.read_text()
        time.sleep(0.2)
    assert text in out.read_text(), out.read_text()


def group_of(cli: subprocess.Popen) -> int:
    """The process group TorchServe runs in: its supervisor's, a child of `cli`."""
    [supervisor] = [p for p in psutil.Process(cli.pid).children() if "core.hosting.supervisor" in " ".join(p.cmdline())]
    return supervisor.pid


def members(group: int) -> list[psutil.Process]:
    """The live processes of a process group (zombies are gone, only not yet reaped)."""
    found = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == group and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (OSError, psutil.Error):
            continue
    return found


@pytest.mark.slow
def test_two_projects_serve_at_once_and_sigterm_leaves_nothing_behind(core, package, probe_bundle, tmp_path):
    """Two projects' `serve --engine torchserve` side by side: each answers; SIGTERM stops one whole
    (no process of its group, its port free, its temporary folder empty) and the other goes on."""
    source = Path(core.hosting.torchserve.__file__).resolve().parents[3]
    other = tmp_path / "other-project" / "src"
    shutil.copytree(source / package, other / package, ignore=shutil.ignore_patterns("__pycache__"))
    ports = [core.inference.client.free_port(), core.inference.client.free_port()]
    short_folders = set(Path("/tmp").glob("torchserve-*"))  # where sockets go when a path is too long
    servers = [
        serve(package, src, probe_bundle, port, tmp_path / name)
        for src, port, name in zip((source, other), ports, ("first", "second"), strict=True)
    ]
    try:
        for process, out in servers:
            wait_for(out, "(Ctrl-C stops)", process)
        groups = [group_of(process) for process, _ in servers]
        for port in ports:
            assert core.inference.client.invoke(f"http://127.0.0.1:{port}", *GOOD).status == 200
        (first, out), _ = servers
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0 and "stopped" in out.read_text()
        assert "Exception" not in out.read_text()
        assert members(groups[0]) == []
        core.hosting.local_endpoint.check_port("127.0.0.1", ports[0])  # free again
        assert list((tmp_path / "first" / "tmp").iterdir()) == []
        assert core.inference.client.invoke(f"http://127.0.0.1:{ports[1]}", *GOOD).status == 200
    finally:
        for process, _ in servers:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    assert members(groups[1]) == []
    assert set(Path("/tmp").glob("torchserve-*")) == short_folders


@pytest.mark.slow
def test_the_containers_pip_step_installs_the_pins_once_then_resolves_nothing(core, unpacked_bundle, tmp_path):
    """The container runs `pip install -r code/requirements.txt` at every start. The bundle's pins
    (from the lock) install once; the next start finds them all, with no index to ask."""
    requirements = unpacked_bundle(PROBE) / "code" / "requirements.txt"
    venv.create(tmp_path / "env", with_pip=True)
    python = str(tmp_path / "env" / "bin" / "python")
    step = [python, "-m", "pip", "install", "--disable-pip-version-check", "-r", str(requirements)]
    first = subprocess.run(step, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    pins = [line for line in requirements.read_text().splitlines() if line and not line.startswith("#")]
    assert pins and all("==" in pin for pin in pins)
    frozen = subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True).stdout.lower()
    assert all(pin.lower().replace("_", "-") in frozen.replace("_", "-") for pin in pins), (pins, frozen)
    second = subprocess.run(step, capture_output=True, text=True, env={**os.environ, "PIP_NO_INDEX": "1"})
    assert second.returncode == 0, second.stderr
    assert "already satisfied" in second.stdout
    assert not any(word in second.stdout for word in ("Collecting", "Downloading", "Installing", "Uninstalling"))


@pytest.mark.slow
def test_a_model_that_cannot_load_fails_serve_in_one_line_with_its_error(core, package, unpacked_bundle, tmp_path):
    """TorchServe retries a worker whose model_fn fails for ever; serve gives up after a few deaths."""
    model_dir = unpacked_bundle(PROBE)
    broken = "def model_fn(model_dir):\n    raise RuntimeError('the weights are corrupt')\n\n\n"
    broken += "def transform_fn(model, data, content_type, accept):\n    return data\n"
    (model_dir / "code" / "inference.py").write_text(broken)
    source = Path(core.hosting.torchserve.__file__).resolve().parents[3]
    process, out = serve(package, source, model_dir, core.inference.client.free_port(), tmp_path)
    try:
        assert process.wait(timeout=120) == 2
    finally:
        if process.poll() is None:
            process.kill()
    last = out.read_text().strip().splitlines()[-1]
    assert last.startswith("error: serving") and "RuntimeError: the weights are corrupt" in last, last
    assert list((tmp_path / "tmp").iterdir()) == []
