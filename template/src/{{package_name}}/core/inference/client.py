"""Talk to a running endpoint over HTTP: wait for it, send it rows, read its answers."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

JSON = "application/json"


@dataclass
class Answer:
    """An endpoint's HTTP answer."""

    status: int
    content_type: str
    body: bytes

    def json(self):
        return json.loads(self.body)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def base_url(host: str, port: int) -> str:
    """`http://host:port`, an IPv6 address in brackets."""
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def wait_until_ready(url: str, process: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    """Poll `url/ping` until it answers 200; fail early if `process` exits."""
    _wait(lambda: ping(url) == 200, process, timeout, 0.1, f"{url} was not ready after {timeout:.0f} s")


def wait_until_answering(url: str, process: subprocess.Popen | None = None, timeout: float = 180.0) -> None:
    """Send `url/invocations` an empty request until the bundle's handlers answer it (any status, as
    long as the handlers wrote it); fail early if `process` exits. TorchServe answers /ping while
    its model is still loading, so only an invocation tells it is ready."""
    late = f"{url} did not answer an invocation within {timeout:.0f} s"
    _wait(lambda: answered_by_handlers(url), process, timeout, 0.25, late)


def _wait(ready, process: subprocess.Popen | None, timeout: float, every: float, late: str) -> None:
    """Call `ready()` every `every` s until it is true; fail if `process` exits or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before it was ready")
        if ready():
            return
        time.sleep(every)
    raise TimeoutError(late)


def answered_by_handlers(url: str, timeout: float = 30) -> bool:
    """Whether an empty request got the handlers' answer: a 2xx, or a JSON {"error": ...} of theirs
    with any other status but 503, which servers answer while the model loads (TorchServe's own
    errors are {"code", "type", "message"})."""
    try:
        answer = invoke(url, b"", timeout=timeout)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False
    if 200 <= answer.status < 300:
        return True
    try:
        return answer.status != 503 and "error" in dict(answer.json())
    except (ValueError, TypeError):
        return False


def ping(url: str) -> int | None:
    """The status of `GET url/ping`, or None when nothing answers."""
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def invoke(
    url: str,
    body: bytes | str,
    content_type: str = JSON,
    accept: str = JSON,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Answer:
    """`POST url/invocations` and return the answer, whatever its status."""
    data = body.encode() if isinstance(body, str) else body
    all_headers = {"Content-Type": content_type, "Accept": accept, **(headers or {})}
    request = urllib.request.Request(f"{url}/invocations", data=data, method="POST", headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Answer(response.status, response.headers.get("Content-Type", ""), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get("Content-Type", ""), error.read())
