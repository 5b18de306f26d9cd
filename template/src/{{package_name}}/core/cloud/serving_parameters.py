"""The serving parameters of a model's stack (infra/model.yaml), from a config's `deploy` section."""

from __future__ import annotations

from ..basics.config import DeployConfig


def serving_parameters(serving: DeployConfig) -> dict[str, str]:
    """infra/model.yaml's parameters that say how the endpoint serves: its type, capacity, capture and rollout."""
    return {
        "EndpointType": serving.endpoint_type,
        "MemorySizeInMB": str(serving.memory_size_mb),
        "MaxConcurrency": str(serving.max_concurrency),
        "InstanceType": serving.instance_type,
        "InstanceCount": str(serving.instance_count),
        "MaxInstanceCount": str(serving.max_instances or serving.instance_count),
        "TargetInvocationsPerInstance": str(serving.target_invocations_per_instance),
        "DataCapturePercent": str(serving.data_capture_percent),
        "AsyncMaxConcurrency": str(serving.async_max_concurrency),
        "CanaryPercent": str(serving.canary_percent),
        "BakeSeconds": str(serving.bake_seconds),
        "RollbackErrorsPerMinute": str(serving.rollback_errors_per_minute),
        "RollbackLatencyMicroseconds": str(serving.rollback_latency_ms * 1000),
    }
