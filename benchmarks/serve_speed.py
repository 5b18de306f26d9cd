"""`/invocations` throughput and latency against a bare uvicorn app returning the same bytes.

    .venv/bin/python benchmarks/serve_speed.py [--requests 3000] [--clients 16]

Both servers run in their own process on loopback; the same client (threads with keep-alive
connections) sends the same request to each. Prints requests per second, p50 and p99 latency,
and our throughput as a share of the bare app's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from project import MODEL, PACKAGE, cli, trained_project

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


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port: int, path: str) -> None:
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"port {port} not ready")


def load(port: int, requests: int, clients: int) -> tuple[float, list[float]]:
    """Requests per second and every request's latency."""

    def worker(count: int) -> list[float]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies = []
        for _ in range(count):
            start = time.perf_counter()
            connection.request("POST", "/invocations", BODY, HEADERS)
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200, answer.status
            latencies.append(time.perf_counter() - start)
        connection.close()
        return latencies

    shares = [requests // clients] * clients
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        latencies = [t for part in pool.map(worker, shares) for t in part]
    return len(latencies) / (time.perf_counter() - start), latencies


def report(name: str, rate: float, latencies: list[float]) -> None:
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{name:16} {rate:8.0f} req/s   p50 {cuts[49] * 1000:6.2f} ms   p99 {cuts[98] * 1000:6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        project, _ = trained_project(folder)
        cli(project, "bundle", MODEL, "--compression", "none", "--out", folder / "model")
        ours_port, bare_port = free_port(), free_port()
        env = {**os.environ, "PYTHONPATH": str(folder / "model" / "code")}
        ours = subprocess.Popen(
            [sys.executable, "-m", f"{PACKAGE}.core.serving", folder / "model", "--port", str(ours_port)], env=env
        )
        wait_ready(ours_port, "/ping")
        connection = http.client.HTTPConnection("127.0.0.1", ours_port)
        connection.request("POST", "/invocations", BODY, HEADERS)
        answer = connection.getresponse().read()
        (folder / "bare.py").write_text(BARE_APP.format(body=answer))
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare:app", "--port", str(bare_port), "--log-level", "warning"],
            cwd=folder,
        )
        try:
            wait_ready(bare_port, "/")
            load(ours_port, 200, args.clients)  # warm-up
            bare_rate, bare_latencies = load(bare_port, args.requests, args.clients)
            ours_rate, ours_latencies = load(ours_port, args.requests, args.clients)
        finally:
            for process in (ours, bare):
                process.terminate()
                process.wait()
    print(f"{args.requests} requests from {args.clients} clients, keep-alive, loopback")
    report("bare uvicorn", bare_rate, bare_latencies)
    report("our /invocations", ours_rate, ours_latencies)
    print(f"throughput ratio (ours / bare): {ours_rate / bare_rate:.2f}x")


if __name__ == "__main__":
    main()
