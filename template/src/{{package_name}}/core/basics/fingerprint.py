"""Content fingerprints of data: a file, a folder of files, or an `s3://` URI.

A local source is fingerprinted by content: the files a training job's channel receives (`files`:
any type, any depth, hidden files left out), in name order, each by its relative name, size and
sha256 (read in 1 MiB chunks, several files at a time); a file and a folder holding only that file
fingerprint the same. An S3 source is fingerprinted from its listing, without downloading it:
every object's key (relative to the URI), size and ETag. An ETag is not a sha256, so the two kinds
never compare equal: their values start `sha256:` (content) and `s3etag:` (an S3 listing).

Every run records its channels' fingerprints in `run.json` (core/trainer/tracking.py); a data set
built by `data build` carries its own in the hidden `.fingerprint.json` (`MANIFEST`: neither
fingerprinted nor shipped to jobs). Only the standard library (and boto3 for S3) is imported: a
Processing job building a data set runs this on an image without the project's dependencies.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import ProjectError

CHUNK = 1 << 20  # bytes read (and hashed) at a time
SHORT_HEX = 12  # hex digits of the short form: sha256:1a2b3c4d5e6f
MANIFEST = ".fingerprint.json"


class FingerprintError(ProjectError):
    """Data that cannot be fingerprinted: missing, without files, or an S3 prefix that cannot be listed."""


@dataclass(frozen=True)
class Fingerprint:
    """What a data source holds, in one value: `<kind>:<64 hex digits>`, and how many files and bytes."""

    value: str  # sha256:<hex> (local content) or s3etag:<hex> (an S3 listing)
    files: int
    bytes: int

    @property
    def short(self) -> str:
        """The printable form: the kind and the first 12 hex digits."""
        kind, digest = self.value.split(":", 1)
        return f"{kind}:{digest[:SHORT_HEX]}"

    def as_dict(self) -> dict:
        return {"fingerprint": self.value, "short": self.short, "files": self.files, "bytes": self.bytes}


def of(source: str | os.PathLike, s3=None) -> Fingerprint:
    """The fingerprint of a file, a folder or an `s3://` URI (listed with `s3`, default a boto3 client)."""
    text = os.fspath(source)
    return of_s3(text, s3) if text.startswith("s3://") else of_local(Path(text))


def of_local(source: Path, workers: int | None = None) -> Fingerprint:
    """The content fingerprint of a file or a folder's files (hidden ones left out)."""
    found = files(source)
    names = sorted(found)
    paths = [found[name] for name in names]
    if len(paths) > 1:  # hashlib releases the GIL on large buffers: threads hash files side by side
        with ThreadPoolExecutor(workers or min(8, os.cpu_count() or 1)) as pool:
            digests = list(pool.map(_file_digest, paths))
    else:
        digests = [_file_digest(path) for path in paths]
    entries = [(name, size, digest) for name, (size, digest) in zip(names, digests, strict=True)]
    return _combine("sha256", entries)


def of_s3(uri: str, s3=None) -> Fingerprint:
    """The fingerprint of an S3 object, or of every object under a prefix, from their keys, sizes and ETags.

    `s3://bucket/key` is that object when it exists, else the folder `key/`; hidden keys (a part
    starting with '.') and folder markers are left out, as for local folders.
    """
    bucket, key = _split_uri(uri)
    if s3 is None:
        import boto3  # imported here: local fingerprints never need it

        s3 = boto3.client("s3")
    try:
        objects = _s3_objects(s3, bucket, key)
    except Exception as error:  # botocore's ClientError and connection errors
        raise FingerprintError(f"{uri}: cannot list it: {_explain(error)}") from error
    if not objects:
        raise FingerprintError(f"no data files in {uri}")
    return _combine("s3etag", sorted(objects))


def files(source: Path) -> dict[str, Path]:
    """What a training job's data channel receives: a file, or a folder's files (any type, any depth).

    Keys are paths relative to the channel; hidden files and folders are left out.
    """
    source = Path(source)
    if source.is_file():
        return {source.name: source}
    if not source.is_dir():
        raise FingerprintError(f"data not found: {source}")
    found = {
        path.relative_to(source).as_posix(): path
        for path in sorted(source.rglob("*"))
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(source).parts)
    }
    if not found:
        raise FingerprintError(f"no data files in {source}")
    return found


def write_manifest(folder: Path, details: dict | None = None) -> dict:
    """Fingerprint the data in `folder` and write `folder/.fingerprint.json`: the fingerprint, counts and `details`."""
    found = of_local(Path(folder))
    manifest = {**found.as_dict(), "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **(details or {})}
    (Path(folder) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def read_manifest(folder: Path) -> dict | None:
    """The manifest `write_manifest` left in `folder`, if any."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError):  # none, or `folder` is a file
        return None


def of_channels(sources: dict[str, str], s3=None) -> dict[str, dict]:
    """The fingerprint of every channel's source ({"train": "data/x.csv", ...}; see config.channel_sources).

    Never raises: a channel that cannot be fingerprinted gets an `error` instead, so a run goes
    on (reading its data will say what is wrong with it).
    """
    found: dict[str, dict] = {}
    for channel, source in sources.items():
        try:
            found[channel] = {"source": str(source), **of(source, s3).as_dict()}
        except Exception as error:  # an unreadable source must not stop training
            found[channel] = {"source": str(source), "error": _explain(error)}
    return found


def shown(record: dict) -> str:
    """The short fingerprint of a run's training data, from its run.json record ("-" when it has none)."""
    channel = (record.get("data") or {}).get("train") or {}
    return channel.get("short") or "-"


def _file_digest(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            size += read
    return size, digest.hexdigest()


def _combine(kind: str, entries: list[tuple[str, int, str]]) -> Fingerprint:
    """One digest over (name, size, digest) entries, in the order given."""
    total = hashlib.sha256()
    for entry in entries:
        total.update(json.dumps(list(entry)).encode() + b"\n")  # JSON: no name can run into the next field
    return Fingerprint(f"{kind}:{total.hexdigest()}", len(entries), sum(size for _, size, _ in entries))


def _split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise FingerprintError(f"'{uri}' is not an S3 URI: expected s3://bucket/key")
    return bucket, key


def _s3_objects(s3, bucket: str, key: str) -> list[tuple[str, int, str]]:
    """(relative name, size, ETag) of the object `key`, or of the objects under the folder `key/`."""
    if key and not key.endswith("/"):
        first = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
        if first and first[0]["Key"] == key:
            return [(key.rsplit("/", 1)[-1], first[0]["Size"], first[0]["ETag"].strip('"'))]
        key += "/"
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
        for item in page.get("Contents", []):
            name = item["Key"][len(key) :]
            if name and not name.endswith("/") and not any(part.startswith(".") for part in name.split("/")):
                objects.append((name, item["Size"], item["ETag"].strip('"')))
    return objects


def _explain(error: Exception) -> str:
    response = getattr(error, "response", None)  # botocore's ClientError
    details = response.get("Error", {}) if isinstance(response, dict) else {}
    if details:
        return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"
    return str(error) if isinstance(error, ProjectError) else f"{type(error).__name__}: {error}"
