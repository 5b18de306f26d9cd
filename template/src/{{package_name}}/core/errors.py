"""The exception types the CLI turns into a clear message instead of a traceback."""

import signal


class ProjectError(Exception):
    """A problem with the user's input: a config, a data file, a model name, a run, a bundle."""


class Interrupted(KeyboardInterrupt):
    """Work stopped by Ctrl-C (SIGINT) or SIGTERM: `signal` says which; the message, what became of it."""

    def __init__(self, message: str = "interrupted", number: int = signal.SIGINT):
        super().__init__(message)
        self.signal = number
