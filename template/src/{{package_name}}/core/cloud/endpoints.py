"""Call a deployed endpoint: real-time and serverless ones answer the call, async ones answer through S3."""

from __future__ import annotations

import time
import uuid

import botocore.exceptions

from . import aws

ASYNC_TIMEOUT_SECONDS = 900.0  # how long `invoke` waits for an async answer (SageMaker's default invocation timeout)


def invoke(
    endpoint: str,
    body: bytes,
    content_type: str,
    accept: str,
    endpoint_url: str | None,
    endpoint_type: str = "realtime",
    model: str | None = None,
    timeout: float = ASYNC_TIMEOUT_SECONDS,
) -> tuple[bytes, str]:
    """Call a deployed endpoint; returns the answer and its content type.

    An `async` endpoint (`endpoint_type`, from the model's deploy config) reads the request from
    S3 under `<prefix>/<model>/async/input/` and writes its answer to S3: this waits up to
    `timeout` seconds for it. Real-time and serverless endpoints answer the call itself.
    """
    config = aws.load(endpoint_url)
    runtime = aws.client(config, "sagemaker-runtime")
    try:
        if endpoint_type == "async":
            return _invoke_async(config, runtime, endpoint, model, body, content_type, accept, timeout)
        answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType=content_type, Accept=accept)
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"endpoint {endpoint}: {aws.explain(error)}") from error
    return answer["Body"].read(), answer.get("ContentType", accept)


def _invoke_async(config, runtime, endpoint, model, body, content_type, accept, timeout) -> tuple[bytes, str]:
    """Put the request in S3, queue it, and wait for its answer (or failure) to appear in S3."""
    if not model:
        raise aws.AwsError(f"endpoint {endpoint} is async: name the model, whose S3 folder takes the request")
    s3 = aws.client(config, "s3")
    key = config.key(model, "async", "input", uuid.uuid4().hex)
    s3.put_object(Bucket=config.bucket, Key=key, Body=body, ContentType=content_type)
    queued = runtime.invoke_endpoint_async(
        EndpointName=endpoint, InputLocation=f"s3://{config.bucket}/{key}", ContentType=content_type, Accept=accept
    )
    places = {"answer": queued["OutputLocation"], "failure": queued.get("FailureLocation")}
    deadline, pause = time.monotonic() + timeout, 0.2
    while True:
        for outcome, uri in places.items():
            found = _s3_object(s3, uri) if uri else None
            if found and outcome == "failure":
                raise aws.AwsError(f"endpoint {endpoint} failed on the request: {found['Body'].read().decode()[:500]}")
            if found:
                return found["Body"].read(), found.get("ContentType") or accept
        if time.monotonic() >= deadline:
            raise aws.AwsError(f"endpoint {endpoint}: no answer at {places['answer']} after {timeout:.0f} s")
        time.sleep(pause)
        pause = min(pause * 1.5, 10.0)


def _s3_object(s3, uri: str) -> dict | None:
    """GetObject's answer for an `s3://` URI, or None while the object is not there.

    Whether it is there is asked by listing its key as a prefix: a role allowed to list only the
    project's prefix is answered 403, not 404, when it reads a key that does not exist yet.
    """
    bucket, key = uri[5:].split("/", 1)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("Contents", [])
    if not any(item["Key"] == key for item in listed):
        return None
    return s3.get_object(Bucket=bucket, Key=key)
