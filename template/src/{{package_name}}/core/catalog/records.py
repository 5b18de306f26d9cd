"""JSON and YAML records in run folders: written atomically (NaN and infinities as null), read forgivingly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import yaml


def json_text(record: object, **options) -> str:
    """`record` as JSON text (`options` as for `json.dumps`); NaN and infinities become null (JSON has none)."""
    return json.dumps(_finite(record), allow_nan=False, **options)


def write_json(path: Path, record: dict) -> None:
    """Write `record` as JSON, atomically; NaN and infinities become null."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json_text(record, indent=2) + "\n")
    partial.replace(path)


def read_json(path: Path) -> dict:
    """The JSON object in `path`; empty when it is missing, unreadable or not an object."""
    try:
        content = json.loads(path.read_text())
    except (OSError, ValueError):  # missing, unreadable, not JSON (nor UTF-8)
        return {}
    return content if isinstance(content, dict) else {}


def read_yaml(path: Path) -> dict:
    """The YAML mapping in `path`; empty when it is missing or not a mapping."""
    try:
        content = yaml.safe_load(path.read_text())
    except (FileNotFoundError, yaml.YAMLError):
        return {}
    return content if isinstance(content, dict) else {}


def _finite(value: object) -> object:
    """`value` with every NaN or infinite float in it replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
