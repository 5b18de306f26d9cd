"""The project stack's outputs per AWS account and region: `infra/accounts/<account>-<region>.json`.

`bootstrap` writes one file for each account and region it deploys infra/project.yaml to. The
files hold resource names and ARNs only (no secrets) and are checked in, so everyone and CI read
the same settings. Paths are relative to the project's root folder (the working directory).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import boto3
import botocore.exceptions

from ..basics import project
from ..basics.errors import ProjectError

FOLDER = Path("infra") / "accounts"
NAME = re.compile(r"^(\d{12})-([a-z0-9-]+)\.json$")
OUTPUTS = {"ARTIFACTS_BUCKET": "ArtifactsBucketName", "SAGEMAKER_ROLE_ARN": "ExecutionRoleArn"}  # setting: output


class AccountsError(ProjectError):
    """An accounts file that cannot be read, or no way to tell which account's file applies."""


def path(account: str, region: str) -> Path:
    return FOLDER / f"{account}-{region}.json"


def write(account: str, region: str, stack: str, outputs: dict[str, str]) -> tuple[Path, bool]:
    """Record `stack`'s outputs for `account` and `region`; returns the file and whether its content changed."""
    record = {"account": account, "region": region, "stack": stack, "outputs": dict(sorted(outputs.items()))}
    text = json.dumps(record, indent=2) + "\n"
    target = path(account, region)
    if target.is_file() and target.read_text() == text:
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target, True


def settings_in_force(region: str, endpoint_url: str | None) -> dict[str, str]:
    """Each setting of OUTPUTS: its environment variable, else the region's accounts file, else settings.py."""
    values = {name: os.environ.get(name, "") for name in OUTPUTS}
    if all(values.values()):
        return values
    recorded = outputs(region, endpoint_url)
    return {
        name: values[name] or recorded.get(key) or getattr(project.settings(), name) for name, key in OUTPUTS.items()
    }


def outputs(region: str, endpoint_url: str | None) -> dict[str, str]:
    """The outputs recorded for `region`: the only file there is, or the caller's account's if there are several."""
    files = {match[1]: FOLDER / match[0] for match in map(NAME.match, _names()) if match and match[2] == region}
    if not files:
        return {}
    account = next(iter(files)) if len(files) == 1 else caller_account(region, endpoint_url, sorted(files))
    return read(files[account]).get("outputs", {}) if account in files else {}


def read(file: Path) -> dict:
    try:
        record = json.loads(file.read_text())
    except (OSError, ValueError) as error:
        raise AccountsError(f"{file} cannot be read ({error}): run bootstrap again to rewrite it") from error
    if not isinstance(record, dict) or not isinstance(record.get("outputs", {}), dict):
        raise AccountsError(f"{file} is not a bootstrap record (no 'outputs' object): run bootstrap again")
    return record


def caller_account(region: str, endpoint_url: str | None, candidates: list[str]) -> str:
    """The account of the credentials in use (sts:GetCallerIdentity, which needs no permission)."""
    try:
        sts = boto3.session.Session(region_name=region).client("sts", endpoint_url=endpoint_url)
        return sts.get_caller_identity()["Account"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise AccountsError(
            f"{FOLDER} has settings for {region} in accounts {', '.join(candidates)}, "
            f"and the caller's account is unknown ({error}): configure AWS credentials"
        ) from error


def _names() -> list[str]:
    return [entry.name for entry in FOLDER.iterdir()] if FOLDER.is_dir() else []
