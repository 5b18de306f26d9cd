"""CloudFormation stacks changed through change sets (so a dry run can show a change), and watched as they change.

Model stacks (core/cloud/deploy.py) and the project stack (core/cloud/bootstrap.py) both go
through `apply_stack`: a stack whose creation failed is cleared first, and a change set that
changes nothing is no error.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import botocore.exceptions

from . import aws

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
POLL_SECONDS = 3.0  # how often `watch` asks for a stack's new events


@dataclass(kw_only=True)
class StackChange:
    """What became of a stack: its parameters, the change set's changes and the stack's outputs."""

    stack: str
    action: str  # CREATE, UPDATE, NONE (nothing changed) or DRY-RUN
    parameters: dict[str, str]
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (action, logical id, type)
    outputs: dict[str, str] = field(default_factory=dict)


def apply_stack(
    cfn, stack: str, template: str, parameters: dict[str, str], dry_run: bool, capabilities: Sequence[str] = ()
) -> StackChange:
    """Create or update `stack` with `parameters` through a change set; returns what became of it."""
    action, changes, outputs = _change_stack(cfn, stack, template, parameters, dry_run, capabilities)
    return StackChange(stack=stack, action=action, parameters=parameters, changes=changes, outputs=outputs)


def _change_stack(
    cfn, stack: str, template: str, parameters: dict[str, str], dry_run: bool, capabilities: Sequence[str]
) -> tuple[str, list, dict]:
    """Create, execute (unless `dry_run`) and clean up a change set; returns (action, changes, outputs)."""
    _clear_failed_create(cfn, stack, dry_run)
    action = "UPDATE" if _stack_exists(cfn, stack) else "CREATE"
    name = f"deploy-{int(time.time())}"
    try:
        cfn.create_change_set(
            StackName=stack,
            ChangeSetName=name,
            ChangeSetType=action,
            TemplateBody=template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Tags=[{"Key": "managed-by", "Value": "deploy"}],
            Capabilities=list(capabilities),
        )
        described = _wait_for_change_set(cfn, stack, name)
    except botocore.exceptions.ClientError as error:
        if any(reason in aws.explain(error) for reason in NO_CHANGES):
            return "NONE", [], _outputs(cfn, stack)
        raise aws.AwsError(f"change set for {stack} could not be created: {aws.explain(error)}") from error
    changes = [_change(item) for item in described.get("Changes", [])]
    if described["Status"] == "FAILED":
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if any(reason in described.get("StatusReason", "") for reason in NO_CHANGES):
            return "NONE", [], _outputs(cfn, stack)
        raise aws.AwsError(f"change set for {stack} failed: {described.get('StatusReason')}")
    if dry_run:
        cfn.delete_change_set(StackName=stack, ChangeSetName=name)
        if action == "CREATE":
            cfn.delete_stack(StackName=stack)  # the empty REVIEW_IN_PROGRESS stack a CREATE change set leaves
        return "DRY-RUN", changes, {}
    _execute(cfn, stack, name, action)
    return action, changes, _outputs(cfn, stack)


def describe(cfn, stack: str) -> dict | None:
    """DescribeStacks' answer for `stack`, or None when there is no such stack."""
    try:
        return cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except botocore.exceptions.ClientError as error:
        if "does not exist" in aws.explain(error):
            return None
        raise aws.AwsError(aws.explain(error)) from error


@contextmanager
def watch(cfn, stack: str, progress: Callable[[dict], None], enabled: bool) -> Iterator[None]:
    """Pass each new event of `stack` to `progress`, oldest first, while the block runs (and once after it)."""
    if not enabled:
        yield
        return
    seen = {event["EventId"] for event in _recent_events(cfn, stack)}
    stop = threading.Event()

    def poll() -> None:
        while True:
            stopping = stop.wait(POLL_SECONDS)
            for event in reversed(_recent_events(cfn, stack)):
                if event["EventId"] not in seen:
                    seen.add(event["EventId"])
                    progress(event)
            if stopping:
                return

    tail = threading.Thread(target=poll, name="stack-events", daemon=True)
    tail.start()
    try:
        yield
    finally:
        stop.set()
        tail.join()


def _recent_events(cfn, stack: str) -> list[dict]:
    """The newest page of the stack's events, newest first ([] while there is no stack)."""
    try:
        return cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except botocore.exceptions.ClientError:
        return []


def _execute(cfn, stack: str, name: str, action: str) -> None:
    keeps = " CloudFormation rolls back: what the stack ran before keeps running." if action == "UPDATE" else ""
    try:
        cfn.execute_change_set(StackName=stack, ChangeSetName=name)
        waiter = cfn.get_waiter("stack_create_complete" if action == "CREATE" else "stack_update_complete")
        waiter.wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 360})
    except botocore.exceptions.ClientError as error:
        raise aws.AwsError(f"stack {stack} failed to {action.lower()}: {aws.explain(error)}.{keeps}") from error
    except botocore.exceptions.WaiterError as error:
        reasons = "; ".join(_failure_reasons(cfn, stack)) or str(error)
        raise aws.AwsError(f"stack {stack} failed to {action.lower()}: {reasons}.{keeps}") from error


def _wait_for_change_set(cfn, stack: str, name: str) -> dict:
    for _ in range(360):
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if described["Status"] in ("CREATE_COMPLETE", "FAILED"):
            return described
        time.sleep(2)
    raise aws.AwsError(f"change set {name} of {stack} was not ready after 12 minutes")


def _clear_failed_create(cfn, stack: str, dry_run: bool) -> None:
    """Delete a stack whose creation failed (ROLLBACK_COMPLETE): it holds nothing and cannot be updated."""
    try:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    except botocore.exceptions.ClientError:
        return
    if status != "ROLLBACK_COMPLETE":
        return
    if dry_run:
        raise aws.AwsError(f"stack {stack} failed to create before: run again without --dry-run to replace it")
    cfn.delete_stack(StackName=stack)
    cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 5, "MaxAttempts": 120})


def _stack_exists(cfn, stack: str) -> bool:
    described = describe(cfn, stack)
    return described is not None and described["StackStatus"] != "REVIEW_IN_PROGRESS"


def _outputs(cfn, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs") or []}


def _change(item: dict) -> tuple[str, str, str]:
    change = item.get("ResourceChange", {})
    return change.get("Action", "?"), change.get("LogicalResourceId", "?"), change.get("ResourceType", "?")


def _failure_reasons(cfn, stack: str) -> list[str]:
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    return [
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
        for event in events
        if event.get("ResourceStatus", "").endswith("_FAILED")
    ][:3]
