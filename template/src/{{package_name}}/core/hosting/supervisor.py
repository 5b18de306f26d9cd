"""Run TorchServe for one bundle and stop all of it: the process `torchserve.spawn` starts.

    python -m <package>.core.hosting.supervisor MODEL_DIR --scratch DIR [--host H] [--port N] [--parent PID]

It writes TorchServe's config into DIR, runs `torchserve --foreground` in this process group
(a session of its own) and, on SIGTERM, Ctrl-C or SIGHUP, when process PID is gone, or when the
model's workers keep dying before it first answers (a model that cannot load: TorchServe would
retry it for ever), stops every process of the group. Once it has answered, workers that die are
TorchServe's to restart, as on an endpoint. Why it gave up by itself goes to DIR/failure.txt, for
`serve` to say.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..inference import client
from . import torchserve

MAX_WORKER_DEATHS = 3  # workers that died this often before the first answer will not load
STOP_TIMEOUT = 20  # seconds TorchServe gets to stop its workers before they are killed
DIED = "Backend worker process died"  # what TorchServe's model log says when a worker exits
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception): ")


class WorkerDeaths:
    """Reads TorchServe's model log as it grows: how often a worker died, and the first error printed."""

    def __init__(self, log: Path):
        self.log, self.offset, self.count, self.error = log, 0, 0, None

    def poll(self) -> int:
        if not self.log.is_file():
            return self.count
        with self.log.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode(errors="replace").splitlines():
            message = line.split("MODEL_LOG - ", 1)[-1].strip()
            if message.startswith(DIED):
                self.count += 1
            elif self.error is None and ERROR_LINE.match(message):
                self.error = message
        return self.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an unpacked bundle with TorchServe, as a SageMaker endpoint.")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--scratch", type=Path, required=True, help="folder for TorchServe's config, logs, sockets")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--parent", type=int, help="stop when the process of this id is gone")
    args = parser.parse_args(argv)
    stopping = threading.Event()  # first: a signal from now on stops the server and cleans up
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    for name in torchserve.ignored_settings():
        print(f"warning: {name} is ignored: TorchServe would let it replace this server's config", file=sys.stderr)
    for unmet in torchserve.unmet_requirements(args.model_dir):
        print(f"warning: the bundle pins {unmet}", file=sys.stderr, flush=True)
    for folder in ("store", "logs"):
        (args.scratch / folder).mkdir(parents=True, exist_ok=True)
    (args.scratch / "config.properties").write_text(torchserve.config(args.host, args.port))
    sockets = torchserve.socket_folder(args.scratch)
    env = torchserve.environment(args.model_dir, args.scratch, sockets)
    try:
        return supervise(torchserve.command(args.model_dir, args.scratch), env, args, stopping)
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def supervise(cmd: list[str], env: dict[str, str], args: argparse.Namespace, stopping: threading.Event) -> int:
    """Run TorchServe until it exits, a signal, the parent's exit or its workers' deaths; then stop its group."""
    deaths = WorkerDeaths(args.scratch / "logs" / "model_log.log")
    url = client.base_url(args.host, args.port)
    server = subprocess.Popen(cmd, cwd=args.scratch, env=env)
    code, answered = 0, False
    while not stopping.wait(0.2):
        if server.poll() is not None:  # it never stops unasked: its launcher exits 0 even when Java failed
            code = server.returncode or 1
            break
        if args.parent and os.getppid() != args.parent:
            break
        answered = answered or client.answered_by_handlers(url, timeout=1)  # short: signals wait for it
        if not answered and deaths.poll() >= MAX_WORKER_DEATHS:
            reason = f"the model's workers died {deaths.count} times: {deaths.error or 'see the model log'}"
            (args.scratch / torchserve.FAILURE).write_text(reason + "\n")
            print(f"error: {reason}", file=sys.stderr, flush=True)
            code = 3
            break
    stop_group()
    server.wait()
    return code


def stop_group() -> None:
    """Stop every other process of this process group (the launcher, Java, the model workers)."""
    import psutil  # a dependency of torchserve

    group = os.getpgid(0)
    others = [p for p in psutil.process_iter() if p.pid != os.getpid() and _group(p) == group]
    for process in others:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(others, timeout=STOP_TIMEOUT)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def _group(process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
