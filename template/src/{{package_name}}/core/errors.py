"""The exception types the CLI turns into a clear message instead of a traceback."""

import signal

# torch re-raises an error from a DataLoader worker with the worker's traceback in its message.
WORKER_TRACEBACK = "Original Traceback (most recent call last):"


class ProjectError(Exception):
    """A problem with the user's input: a config, a data file, a model name, a run, a bundle."""


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
