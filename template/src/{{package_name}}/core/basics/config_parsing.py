"""Config text into OmegaConf trees: a YAML file and command-line overrides, every problem a one-line `ConfigError`.

Overrides are OmegaConf's dotlist items (`trainer.max_epochs=2`) or `--trainer.max_epochs 2`
(how SageMaker passes hyperparameters). A file whose YAML aliases expand beyond `MAX_VALUES`
values, or contain themselves, is refused before OmegaConf sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import ConfigError

MAX_VALUES = 100_000  # values a config file may hold, its YAML aliases expanded


def read_file(path: Path):
    """The YAML mapping of sections at `path`, as an OmegaConf tree."""
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as error:
        raise ConfigError(f"config file not found: {path}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (at byte offset {error.start})") from error
    except OSError as error:  # a folder, say, or a file that may not be read
        raise ConfigError(f"{path}: not readable: {error.strerror or error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {_yaml_problem(error)}") from error
    except RecursionError as error:
        raise ConfigError(f"{path}: nested too deeply") from error
    if not isinstance(content, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(content).__name__}")
    _check_size(content, path)
    try:
        return OmegaConf.create(content)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{path}: {describe(error)}") from error


def read_overrides(overrides: Sequence[str]):
    """Override arguments (see `normalize_overrides`) as an OmegaConf tree."""
    parsed = OmegaConf.create()
    for item in normalize_overrides(overrides):
        try:
            parsed.merge_with_dotlist([item])
        except OmegaConfBaseException as error:
            raise ConfigError(f"overrides: {describe(error)}") from error
        except yaml.YAMLError as error:
            raise ConfigError(f"override {item!r}: its value is not valid YAML: {_yaml_problem(error)}") from error
        except RecursionError as error:
            raise ConfigError(f"override {item!r}: its value is nested too deeply") from error
        except (IndexError, KeyError, TypeError, ValueError) as error:  # OmegaConf's reading of odd keys
            raise ConfigError(f"override {item!r}: not a key OmegaConf can read") from error
    return parsed


def normalize_overrides(args: Sequence[str]) -> list[str]:
    """Turn `a.b=1`, `--a.b=1` and `--a.b 1` arguments into dotlist items `a.b=1`."""
    items: list[str] = []
    args = list(args)
    while args:
        arg = args.pop(0)
        if arg.startswith("--"):
            arg = arg[2:]
            if "=" not in arg:
                if not args:
                    raise ConfigError(f"override {'--' + arg!r} has no value")
                arg = f"{arg}={args.pop(0)}"
        if "=" not in arg or arg.startswith("="):
            raise ConfigError(f"override {arg!r} is not of the form key=value")
        items.append(arg)
    return items


def merge(base, update, source: object):
    """`update` merged into `base`; a value that does not fit is an error about `source`."""
    try:
        return OmegaConf.merge(base, update)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{source}: {describe(error)}") from error


def describe(error: OmegaConfBaseException) -> str:
    """OmegaConf's message without its multi-line context dump."""
    message = str(error).splitlines()[0] if str(error).strip() else type(error).__name__
    key = " ".join(str(getattr(error, "full_key", None) or "").splitlines())  # a key may hold a newline
    return f"{message} (key: {key})" if key and key not in message else message


def _check_size(content: object, source: object) -> None:
    """Refuse a YAML alias that contains itself (`a: &x [*x]`), or aliases that expand beyond MAX_VALUES."""
    seen, pending = 0, [(content, ())]
    while pending:
        value, outer = pending.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise ConfigError(f"{source}: more than {MAX_VALUES} values once its YAML aliases are expanded")
        if isinstance(value, (dict, list)):
            if any(value is parent for parent in outer):
                raise ConfigError(f"{source}: a YAML alias refers to a value that contains it (a value inside itself)")
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, (*outer, value)) for child in children)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML error's problem and where it is, on one line."""
    problem = getattr(error, "problem", None) or (str(error).splitlines() or [type(error).__name__])[0]
    mark = getattr(error, "problem_mark", None)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem
