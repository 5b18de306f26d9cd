"""SIGTERM, SIGHUP and SIGINT stop a command the way Ctrl-C does: by an exception its clean-up sees.

Without this, `kill PID` ends the process at once: no `except`/`finally` runs, so an update's
temporary commits, a half-written model folder or copier's clones stay behind. While stopping,
further signals are ignored, so a second Ctrl-C cannot break the clean-up; a signal arriving
inside `deferred()` (a short git command of scaffold's own) waits until it ends.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """The command was stopped by a signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _State:
    depth = 0  # how many deferred() blocks are running
    pending: int | None = None  # a signal that arrived inside one
    stopping = False  # Stopped was raised: ignore later signals


def _handle(signum: int, _frame: object) -> None:
    if _State.stopping:
        return
    if _State.depth:
        _State.pending = _State.pending or signum
        return
    _State.stopping = True
    raise Stopped(signum)


def install() -> Callable[[], None]:
    """Handle the stopping signals (main thread only); returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    _State.depth, _State.pending, _State.stopping = 0, None, False
    # a signal ignored on entry (`nohup`, a background job's SIGINT) stays ignored
    wanted = [signum for signum in SIGNALS if signal.getsignal(signum) is not signal.SIG_IGN]
    previous = {signum: signal.signal(signum, _handle) for signum in wanted}

    def uninstall() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return uninstall


@contextmanager
def deferred() -> Iterator[None]:
    """Let the block finish before a stopping signal takes effect."""
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
        if not _State.depth and _State.pending and not _State.stopping:
            _State.stopping = True
            raise Stopped(_State.pending)


def exit_code(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal's number, as shells report a command a signal ended."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def describe(interrupt: KeyboardInterrupt) -> str:
    return signal.Signals(getattr(interrupt, "signum", signal.SIGINT)).name
