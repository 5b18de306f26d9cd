"""One compile per Jinja source for all the copier runs of a `scaffold update`.

Each copier update renders the template three times (old version, new version, the project)
and compiles every path name of the template, and the answers-file name, anew for each file:
most of a model's update went into compiling the same few strings thousands of times. Copier
offers no hook for this, so while an update runs, the sandboxed environment copier uses keeps
the compiled code of each source and uses it again for an environment that would compile it
the same way: same syntax and options, same extension classes, and the same filters and tests
(the compiler decides whether a filter takes the context, and folds constant calls of it, into
the code). Filters are the same when they are the same objects, or partials and closures of the
same code over the same values (copier makes a new `to_json` partial for each environment).
Rendering is unchanged: only compiling is shared.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import CodeType, FunctionType

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
    "is_async",
    "code_generator_class",
)
_PLAIN = (str, bytes, int, float, bool, type(None))
_DEPTH = 4  # how deep partials and closures are compared by what they hold; deeper, by identity


@contextmanager
def shared() -> Iterator[None]:
    """While the block runs, a source compiled once by an environment of a given make is not compiled again."""
    own = "compile" in vars(SandboxedEnvironment)
    original: Callable[..., CodeType | str] = SandboxedEnvironment.compile
    cache: dict[tuple, CodeType | str] = {}
    makes: dict[tuple, int] = {}  # each make of environment seen, numbered
    known: weakref.WeakKeyDictionary[SandboxedEnvironment, tuple[tuple, int]] = weakref.WeakKeyDictionary()

    def cached_compile(env: SandboxedEnvironment, source: object, *args: object, **kwargs: object) -> CodeType | str:
        if not isinstance(source, str):
            return original(env, source, *args, **kwargs)
        key = (_make_number(env, known, makes), source, args, tuple(sorted(kwargs.items())))
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


def _make_number(env: SandboxedEnvironment, known: weakref.WeakKeyDictionary, makes: dict[tuple, int]) -> int:
    """The number of `env`'s make in `makes`; worked out again only when what it reads changed (~100 filters)."""
    state = (
        tuple(env.filters.items()),
        tuple(env.tests.items()),
        tuple(env.extensions.items()),
        *(getattr(env, name) for name in ("autoescape", "finalize", "intercepted_binops", "intercepted_unops")),
        *(getattr(env, name) for name in _SYNTAX),
    )
    seen = known.get(env)
    if seen is None or seen[0] != state:
        seen = known[env] = (state, makes.setdefault(_make(env), len(makes)))
    return seen[1]


def _make(env: SandboxedEnvironment) -> tuple:
    """What decides the code a source compiles to in `env`."""
    autoescape = env.autoescape if isinstance(env.autoescape, bool) else _Same(env.autoescape)
    extensions = frozenset(type(extension) for extension in env.extensions.values())
    callables = tuple(
        tuple(sorted((name, _behaviour(function)) for name, function in table.items()))
        for table in (env.filters, env.tests)
    )
    operators = (frozenset(env.intercepted_binops), frozenset(env.intercepted_unops), _behaviour(env.finalize))
    return (type(env), autoescape, extensions, callables, operators, *(getattr(env, name) for name in _SYNTAX))


class _Same:
    """An object compared by identity (and kept alive while the key holding it is)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


def _behaviour(value: object, depth: int = 0) -> object:
    """A hashable stand-in for `value`, equal for values that act the same: plain data by value,
    partials and functions by their code and what they hold, anything else by identity."""
    if type(value) in _PLAIN:
        return (type(value), value)
    if depth >= _DEPTH:
        return _Same(value)
    if isinstance(value, tuple):
        return tuple(_behaviour(item, depth + 1) for item in value)
    if isinstance(value, functools.partial):
        keywords = tuple(sorted((key, _behaviour(item, depth + 1)) for key, item in value.keywords.items()))
        return ("partial", _behaviour(value.func, depth + 1), _behaviour(value.args, depth + 1), keywords)
    if isinstance(value, FunctionType) and "<locals>" in value.__qualname__:  # a closure made per call
        defaults = _behaviour(value.__defaults__ or (), depth + 1)
        keywords = tuple(
            sorted((key, _behaviour(item, depth + 1)) for key, item in (value.__kwdefaults__ or {}).items())
        )
        cells = tuple(_behaviour(_contents(cell), depth + 1) for cell in value.__closure__ or ())
        return ("function", value.__code__, _Same(value.__globals__), defaults, keywords, cells)
    return _Same(value)


def _contents(cell: object) -> object:
    try:
        return cell.cell_contents  # type: ignore[attr-defined]
    except ValueError:  # a cell not filled yet
        return cell
