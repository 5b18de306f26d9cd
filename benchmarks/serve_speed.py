"""`/invocations` throughput and latency against a bare uvicorn app returning the same bytes.

Both servers run in their own process on loopback; the same client (threads with keep-alive
connections) sends the same request to each. The ratio is our throughput over the bare app's.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from project import MODEL, PACKAGE, Row, cli, free_port, trained_project, wait_ready

BODY = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]})
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
BARE_APP = """
BODY = {body!r}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({{"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}})
    await send({{"type": "http.response.body", "body": BODY}})
"""


def timed_post(connection: http.client.HTTPConnection, body, headers: dict[str, str]) -> float:
    """Seconds one `POST /invocations` takes on a keep-alive connection (it must answer 200)."""
    start = time.perf_counter()
    connection.request("POST", "/invocations", body, headers)
    answer = connection.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
    return time.perf_counter() - start


def load(port: int, requests: int, clients: int) -> tuple[float, list[float]]:
    """Requests per second and every request's latency."""

    def worker(count: int) -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        for _ in range(count):
            latencies.append(timed_post(connection, BODY, HEADERS))
        connection.close()
        return latencies

    shares = [requests // clients] * clients
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(worker, shares) for t in part]
    return len(latencies) / (time.perf_counter() - start), latencies


def measure(folder: Path, requests: int = 3000, clients: int = 16) -> list[Row]:
    project, _ = trained_project(folder)
    cli(project, "bundle", MODEL, "--compression", "none", "--out", folder / "model")
    ours_port, bare_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(folder / "model" / "code")}
    ours = subprocess.Popen(
        [sys.executable, "-m", f"{PACKAGE}.core.inference.serving", folder / "model", "--port", str(ours_port)], env=env
    )
    bare = None
    try:
        wait_ready(f"http://127.0.0.1:{ours_port}/ping", ours)
        connection = http.client.HTTPConnection("127.0.0.1", ours_port)
        connection.request("POST", "/invocations", BODY, HEADERS)
        (folder / "bare.py").write_text(BARE_APP.format(body=connection.getresponse().read()))
        command = [sys.executable, "-m", "uvicorn", "bare:app", "--port", str(bare_port), "--log-level", "warning"]
        bare = subprocess.Popen(command, cwd=folder)
        wait_ready(f"http://127.0.0.1:{bare_port}/", bare)
        load(ours_port, 200, clients)  # warm-up
        bare_rate, bare_latencies = load(bare_port, requests, clients)
        ours_rate, ours_latencies = load(ours_port, requests, clients)
    finally:
        for process in (ours, bare):
            if process:
                process.terminate()
                process.wait()
    return [
        Row(
            f"serve: throughput, {requests} requests from {clients} clients",
            f"{ours_rate:.0f} req/s, p99 {p99(ours_latencies):.1f} ms",
            f"bare uvicorn app {bare_rate:.0f} req/s, p99 {p99(bare_latencies):.1f} ms",
            ours_rate / bare_rate,
            ">= 0.8x",
        )
    ]


def p99(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000
