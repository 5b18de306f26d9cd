"""Promote a finished run: bundle it once, gate it, check it answers, upload it and register it.

    gate      the run's goal metric (the contract's, measured on held-out data by exactly the
              weights the bundle holds) against the model's `gate.threshold` (default: the
              contract's goal threshold); a bundle that falls short is refused before anything
              is uploaded
    check     the bundle is served on this machine and must answer every example request
              of the model's contract
    register  the bundle goes to S3 under its sha256 and becomes a version of the model's
              package group (core/cloud/packages.py), pending approval for prod

A bundle holds code, weights and config with reproducible bytes, so changed code always makes
a new bundle and a new version, and promoting the same run twice registers it once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..basics.errors import ProjectError
from ..bundling import bundle as bundles
from ..catalog import contract, records, run_summaries, runs, selection
from ..hosting import local_endpoint
from ..inference import client
from . import aws, deploy, packages, uploads


class GateError(ProjectError):
    """A run whose goal metric does not reach the model's quality gate."""


@dataclass(frozen=True)
class Promotion:
    """What `promote` did."""

    version: packages.Version
    uploaded: bool
    verdict: str  # the gate's verdict, one line


def gate(model: str, run_dir: Path) -> tuple[dict[str, float], str]:
    """The run's metrics and the gate's verdict; raises GateError when the goal metric falls short."""
    declared = contract.of(model)
    metrics = _metrics(run_dir)
    metric = declared.goal.metric
    value = metrics.get(metric)
    if value is None or not math.isfinite(value):
        raise GateError(f"run {run_dir.name} of '{model}' has no finite {metric} to gate on (metrics.json)")
    threshold = selection.model_config(model).gate.threshold
    goal = contract.Goal(metric, declared.goal.direction, declared.goal.threshold if threshold is None else threshold)
    comparison = ">=" if goal.direction == "max" else "<="
    if goal.threshold is None:
        return metrics, f"{metric} = {value:.4f} (no gate threshold set)"
    verdict = f"{metric} = {value:.4f}, gate {comparison} {goal.threshold:g}"
    if not goal.reached(value):
        raise GateError(f"'{model}' run {run_dir.name} fails its quality gate: {verdict}; nothing was registered")
    return metrics, verdict


def check_answers(model: str, bundle_path: Path, run_dir: Path) -> None:
    """Serve the bundle here and send it the contract's example requests: each must be answered (200)."""
    examples = contract.of(model).examples(run_dir, 3)
    with local_endpoint.running(bundle_path, "127.0.0.1", client.free_port()) as (url, _):
        try:
            answers = [client.invoke(url, example.body, example.content_type) for example in examples]
        except OSError as error:  # the server went away or did not answer in time
            raise GateError(f"the bundle of '{model}' did not answer an example request: {error}") from error
    failed = [answer for answer in answers if answer.status != 200]
    if failed:
        detail = failed[0].body.decode(errors="replace")[:200]
        raise GateError(f"the bundle of '{model}' answered {failed[0].status} to an example request: {detail}")


@dataclass(frozen=True)
class Candidate:
    """A run's bundle that passed its gate and answered its example requests, ready to upload and register."""

    model: str
    run_dir: Path
    bundle: Path
    compression: str
    metrics: dict[str, float]
    verdict: str


def prepare(model: str, run_dir: Path, compression: str = "gzip") -> Candidate:
    """Gate run `run_dir` of `model`, bundle it and check the bundle answers: nothing leaves this machine."""
    metrics, verdict = gate(model, run_dir)
    bundle_path = bundles.default_path(run_dir, compression)
    bundles.build(model, run_dir, bundle_path, compression)
    check_answers(model, bundle_path, run_dir)
    return Candidate(model, run_dir, bundle_path, compression, metrics, verdict)


def publish(candidate: Candidate, endpoint_url: str | None, progress: Callable[[int], None]) -> Promotion:
    """Upload a prepared bundle by its sha256 and register it as a version of the model's package group."""
    model, bundle_path = candidate.model, candidate.bundle
    settings = aws.load(endpoint_url)
    image = deploy.serving_image(selection.model_config(model).deploy, settings.region)
    s3, sagemaker = aws.client(settings, "s3"), aws.client(settings, "sagemaker")
    upload = uploads.upload_folder if candidate.compression == "none" else uploads.upload_bundle
    uri, uploaded = upload(s3, settings, model, bundle_path, progress)
    stored = uploads.stored_version(s3, settings, uri)
    declared = contract.of(model)
    registered = packages.Bundle(
        uri=uri,
        sha256=uploads.folder_sha256(bundle_path) if bundle_path.is_dir() else uploads.sha256(bundle_path),
        image=image,
        compression=candidate.compression,
        metrics=candidate.metrics,
        metrics_uri=_put_metrics(s3, settings, model, _digest(uri), candidate.metrics),
        commit=run_summaries.summarize(candidate.run_dir).provenance.get("git_commit") or "",
        accepts=declared.accepts,
        answers=declared.answers,
        s3_version=stored,
    )
    group = settings.group_name(model)
    packages.ensure_group(sagemaker, group, model)
    return Promotion(packages.register(sagemaker, group, registered), uploaded, candidate.verdict)


def _metrics(run_dir: Path) -> dict[str, float]:
    path = run_dir / runs.METRICS
    if not path.is_file():
        raise GateError(f"run {run_dir.name} has no {runs.METRICS}: it did not finish")
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise GateError(f"{path}: not readable as JSON ({error})") from error
    if not isinstance(found, dict):
        raise GateError(f"{path}: expected an object of metric names and values")
    return {name: float(value) for name, value in found.items() if isinstance(value, (int, float))}


def _digest(uri: str) -> str:
    """The bundle's hash as its S3 key holds it: `.../bundles/<hash>/model.tar.gz` or `.../bundles/<hash>/model/`."""
    return uri.rstrip("/").rsplit("/", 2)[-2]


def _put_metrics(s3, settings: aws.AwsConfig, model: str, digest: str, metrics: dict[str, float]) -> str:
    """The gate's metrics as a JSON object next to the bundle (the model package's quality statistics)."""
    key = settings.key(model, "bundles", digest, "metrics.json")
    body = records.json_text(metrics, indent=2, sort_keys=True).encode()
    try:
        s3.put_object(Bucket=settings.bucket, Key=key, Body=body, ContentType="application/json")
    except Exception as error:  # botocore's ClientError, or a connection error
        raise aws.AwsError(f"S3: could not write s3://{settings.bucket}/{key}: {error}") from error
    return f"s3://{settings.bucket}/{key}"
