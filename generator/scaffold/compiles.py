"""One compile per Jinja source for all the copier runs of a `scaffold update`.

Each copier update renders the template three times (old version, new version, the project)
and compiles every path name of the template, and the answers-file name, anew for each file:
most of a model's update went into compiling the same few strings thousands of times. Copier
offers no hook for this, so while an update runs, the sandboxed environment copier uses keeps
the compiled code of each source, keyed on everything that changes how it compiles (syntax,
extensions, options), and uses it again. Rendering is unchanged: only compiling is shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType

from jinja2.sandbox import SandboxedEnvironment

_SYNTAX = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
)


@contextmanager
def shared() -> Iterator[None]:
    """While the block runs, a source compiled once by an environment of a given make is not compiled again."""
    own = "compile" in vars(SandboxedEnvironment)
    original: Callable[..., CodeType | str] = SandboxedEnvironment.compile
    cache: dict[tuple, CodeType | str] = {}

    def cached_compile(env: SandboxedEnvironment, source: object, *args: object, **kwargs: object) -> CodeType | str:
        if not isinstance(source, str):
            return original(env, source, *args, **kwargs)
        key = (_make(env), source, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = original(env, source, *args, **kwargs)
        return cache[key]

    SandboxedEnvironment.compile = cached_compile
    try:
        yield
    finally:
        if own:
            SandboxedEnvironment.compile = original
        else:
            del SandboxedEnvironment.compile


def _make(env: SandboxedEnvironment) -> tuple:
    """What decides the code a source compiles to in `env`."""
    autoescape = env.autoescape if isinstance(env.autoescape, bool) else id(env.autoescape)
    extensions = tuple(sorted(type(extension).__qualname__ for extension in env.extensions.values()))
    return (type(env), autoescape, extensions, *(getattr(env, name) for name in _SYNTAX))
