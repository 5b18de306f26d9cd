"""The exception types the CLI turns into a clear message instead of a traceback, and SIGTERM as one."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# torch re-raises an error from a DataLoader worker with the worker's traceback in its message.
WORKER_TRACEBACK = "Original Traceback (most recent call last):"


class ProjectError(Exception):
    """A problem with the user's input: a config, a data file, a model name, a run, a bundle."""


class DataError(ProjectError):
    """A data source that is missing or does not have the expected columns and values."""


class ConfigError(ProjectError):
    """A config file or override that does not fit the model's config schema."""


class Interrupted(KeyboardInterrupt):
    """Work stopped by Ctrl-C (SIGINT) or SIGTERM: `signal` says which; the message, what became of it."""

    def __init__(self, message: str = "interrupted", number: int = signal.SIGINT):
        super().__init__(message)
        self.signal = number


def one_line(error: BaseException | str, limit: int | None = 300) -> str:
    """An error's message (or a text) on one line of at most `limit` characters.

    For an error a DataLoader worker raised, the message is the worker's own: its traceback's last line.
    """
    text = str(error)
    if WORKER_TRACEBACK in text:
        text = text.strip().splitlines()[-1].partition(": ")[2] or text
    message = " ".join(text.split()) or type(error).__name__
    return message if limit is None or len(message) <= limit else message[: limit - 3] + "..."


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM (`kill PID`) raises `Interrupted`, as Ctrl-C would, so clean-ups run.

    A second SIGTERM is ignored, so it cannot cut a clean-up short. Only the main thread gets signals.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(f"interrupted by {signal.Signals(number).name}", number)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
