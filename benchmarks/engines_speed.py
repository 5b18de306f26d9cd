"""Our server against TorchServe with SageMaker's handler service (what an endpoint runs), on one bundle.

The default classifier's model.tar.gz from a trained project is unpacked once and every server
serves that folder, each engine at its defaults: ours (core/inference/serving.py) with one handler thread,
TorchServe (core/hosting/torchserve.py) with one model worker per CPU; plus ours with two handler threads
(SAGEMAKER_MODEL_SERVER_WORKERS=2). The servers alternate, REPEATS times each:
- start: wall time from spawn to the first 200 answer to the model's example request (POST
  /invocations polled, not /ping, which TorchServe answers before its model is loaded);
- throughput: once every worker is ready and after WARM_UP seconds of load, CLIENTS threads with
  keep-alive connections send that request for SECONDS (serve_speed's client, run for a set time);
- memory: resident memory (RSS) summed over the server's process group, sampled during that load
  (peak) and a second after it (steady); TorchServe's group holds core/hosting/torchserve.py's supervisor,
  the `torchserve` launcher, Java and the model workers. RSS counts pages the processes share once
  for each of them.
Ratios are ours over TorchServe's per repeat: the median is shown, their spread beside it. MB are MiB.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import json
import os
import statistics
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import psutil
from project import MODEL, PACKAGE, Row, cli, trained_project
from serve_speed import HEADERS, p99, timed_post

REPEATS, CLIENTS, SECONDS, WARM_UP = 5, 16, 10.0, 2.0
HOST, START_TIMEOUT, MB = "127.0.0.1", 180.0, 2**20
WORKERS = "SAGEMAKER_MODEL_SERVER_WORKERS"
SERVERS = {  # name -> (engine, environment)
    "ours": ("builtin", {}),
    "TorchServe": ("torchserve", {}),
    "ours, 2 threads": ("builtin", {WORKERS: "2"}),
}


def measure(folder: Path) -> list[Row]:
    project, run_dir = trained_project(folder)
    cli(project, "bundle", MODEL, "--out", folder / "model.tar.gz")
    core = _core(project)
    model_dir = core.unpacking.unpack(folder / "model.tar.gz", folder / "model")
    example = _example(core, project, run_dir)
    runs: dict[str, list[dict]] = {name: [] for name in SERVERS}
    for repeat in range(REPEATS):
        for index, (name, (engine, env)) in enumerate(SERVERS.items()):
            runs[name].append(run(core, engine, env, model_dir, folder / f"server-{repeat}-{index}", example))
    return [start_row(runs), throughput_row(runs, "ours"), throughput_row(runs, "ours, 2 threads"), memory_row(runs)]


def run(core: SimpleNamespace, engine: str, env: dict[str, str], model_dir: Path, scratch: Path, example) -> dict:
    """One server's start time, throughput and memory; the server is stopped before this returns."""
    scratch.mkdir()
    port = core.client.free_port()
    url = f"http://{HOST}:{port}"
    with open(scratch / "server.log", "w") as log, _environ(PYTHONPATH=str(model_dir / "code"), **env):
        start = time.perf_counter()
        if engine == "torchserve":
            process = core.torchserve.spawn(model_dir, scratch, HOST, port, output=log)
        else:
            process = core.serving.spawn(model_dir, HOST, port, output=log)
        workers = core.app.workers()
    try:
        first_answer(core.client, url, process, example, scratch / "server.log")
        started = time.perf_counter() - start
        if engine == "torchserve":
            workers = ready_workers(scratch / "config.properties")
        load(port, example, WARM_UP)
        group = process_group(process.pid)
        with _peak_memory(group) as peak:
            rate, latencies = load(port, example, SECONDS)
        time.sleep(1)
        steady = memory(group)
    finally:
        core.local_endpoint.stop(process)
    peak = max(peak[0], steady["rss"])
    return {"start": started, "rate": rate, "p99": p99(latencies), "workers": workers, "peak": peak, **steady}


def first_answer(client, url: str, process, example, log: Path) -> None:
    """Send the example request until it is answered with 200 (the server's exit or the timeout fails)."""
    deadline = time.perf_counter() + START_TIMEOUT
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode}):\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError):  # not listening yet, or a connection reset
            if client.invoke(url, example.body, example.content_type).status == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer the example within {START_TIMEOUT:.0f} s")


def ready_workers(config: Path) -> int:
    """Wait until every TorchServe worker of the model is READY (its management API says); how many."""
    settings = dict(line.split("=", 1) for line in config.read_text().splitlines() if "=" in line)
    deadline = time.perf_counter() + START_TIMEOUT
    while time.perf_counter() < deadline:
        with urllib.request.urlopen(f"{settings['management_address']}/models/model", timeout=10) as answer:
            workers = json.load(answer)[0]["workers"]
        if workers and all(worker["status"] == "READY" for worker in workers):
            return len(workers)
        time.sleep(0.2)
    raise TimeoutError("TorchServe's workers were not all ready in time")


def load(port: int, example, seconds: float, clients: int = CLIENTS) -> tuple[float, list[float]]:
    """Requests per second and every request's latency: `clients` threads, each with its keep-alive
    connection, send the example for `seconds` (requests under way at the end are counted)."""
    headers = {**HEADERS, "Content-Type": example.content_type}
    barrier = threading.Barrier(clients + 1)

    def worker() -> list[float]:
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        connection.connect()
        barrier.wait()
        latencies, end = [], time.perf_counter() + seconds
        while time.perf_counter() < end:
            latencies.append(timed_post(connection, example.body, headers))
        connection.close()
        return latencies

    with ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker) for _ in range(clients)]
        barrier.wait()
        start = time.perf_counter()
        latencies = [t for future in futures for t in future.result()]
    return len(latencies) / (time.perf_counter() - start), latencies


def process_group(group: int) -> list[tuple[str, psutil.Process]]:
    """The processes of process group `group`, each with its kind: Java, a model worker or other."""
    members = []
    for process in psutil.process_iter(["name", "cmdline"]):
        with contextlib.suppress(OSError):
            if os.getpgid(process.pid) == group:
                command = " ".join(process.info["cmdline"] or [])
                kind = "java" if process.info["name"] == "java" else "other"
                members.append(("model workers" if "model_service_worker" in command else kind, process))
    return members


def memory(group: list[tuple[str, psutil.Process]]) -> dict[str, int]:
    """RSS summed over the processes of `group` still alive: in all (rss) and per kind."""
    parts = {"rss": 0, "java": 0, "model workers": 0, "other": 0}
    for kind, process in group:
        with contextlib.suppress(psutil.Error):
            rss = process.memory_info().rss
            parts["rss"] += rss
            parts[kind] += rss
    return parts


def start_row(runs: dict[str, list[dict]]) -> Row:
    ours, theirs = runs["ours"], runs["TorchServe"]
    ratios = _ratios(ours, theirs, "start")
    return Row(
        "engines: time to first successful invocation (spawn to the first 200 to the example request)",
        f"{_median(ours, 'start'):.2f} s (ratio {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} repeats)",
        f"TorchServe 0.12 + SageMaker's handler service {_median(theirs, 'start'):.2f} s",
        statistics.median(ratios),
        "ours/TorchServe: < 1x starts sooner",
    )


def throughput_row(runs: dict[str, list[dict]], name: str) -> Row:
    ours, theirs = runs[name], runs["TorchServe"]
    ratios = _ratios(ours, theirs, "rate")
    threads, workers = ours[0]["workers"], theirs[0]["workers"]
    return Row(
        f"engines: throughput, {CLIENTS} clients for {SECONDS:.0f} s, ours with {threads} handler "
        f"thread{'s' if threads > 1 else ''} ({'its default' if name == 'ours' else f'{WORKERS}={threads}'}), "
        f"TorchServe with its default {workers} workers (one per CPU)",
        f"{_median(ours, 'rate'):.0f} req/s, p99 {_median(ours, 'p99'):.1f} ms "
        f"(ratio {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} repeats)",
        f"TorchServe {_median(theirs, 'rate'):.0f} req/s, p99 {_median(theirs, 'p99'):.1f} ms",
        statistics.median(ratios),
        "ours/TorchServe: > 1x serves more",
    )


def memory_row(runs: dict[str, list[dict]]) -> Row:
    ours, theirs = runs["ours"], runs["TorchServe"]
    ratios = _ratios(ours, theirs, "peak")
    mb = {key: _median(theirs, key) / MB for key in ("peak", "rss", "java", "model workers", "other")}
    return Row(
        "engines: server memory, RSS summed over its process group, during (peak) and after (steady) the load",
        f"peak {_median(ours, 'peak') / MB:.0f} MB, steady {_median(ours, 'rss') / MB:.0f} MB, one process "
        f"(peak ratio {ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} repeats)",
        f"TorchServe peak {mb['peak']:.0f} MB, steady {mb['rss']:.0f} MB: Java {mb['java']:.0f}, "
        f"{theirs[0]['workers']} model workers {mb['model workers']:.0f}, supervisor and launcher {mb['other']:.0f}",
        statistics.median(ratios),
        "ours/TorchServe: < 1x uses less",
    )


def _core(project: Path) -> SimpleNamespace:
    """The rendered project's core modules (the bundle holds the same code)."""
    sys.path.insert(0, str(project / "src"))
    paths = ("bundling.unpacking", "inference.client", "catalog.contract", "inference.app", "inference.serving")
    paths += ("hosting.local_endpoint", "hosting.torchserve")
    modules = {path.split(".")[1]: importlib.import_module(f"{PACKAGE}.core.{path}") for path in paths}
    return SimpleNamespace(**modules)


def _example(core: SimpleNamespace, project: Path, run_dir: Path):
    """The model's first example request (its contract reads the run's data, by paths relative to the project)."""
    here = Path.cwd()
    os.chdir(project)
    try:
        return core.contract.of(MODEL).examples(run_dir, 1)[0]
    finally:
        os.chdir(here)


@contextlib.contextmanager
def _environ(**changes: str):
    """os.environ with `changes` and without the serving settings they do not name, while the block runs."""
    saved = dict(os.environ)
    os.environ.pop(WORKERS, None)
    os.environ.update(changes)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _peak_memory(group: list[tuple[str, psutil.Process]], every: float = 0.25):
    """Sample `group`'s summed RSS while the block runs; yields a list whose item 0 is the peak so far."""
    peak, done = [memory(group)["rss"]], threading.Event()

    def sample() -> None:
        while not done.wait(every):
            peak[0] = max(peak[0], memory(group)["rss"])

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        done.set()
        sampler.join()


def _ratios(ours: list[dict], theirs: list[dict], key: str) -> list[float]:
    return sorted(o[key] / t[key] for o, t in zip(ours, theirs, strict=True))


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)
