"""The AWS PyTorch images a training job or an endpoint runs on, looked up with the SageMaker SDK.

The SDK (`sagemaker-core`, the `sagemaker` extra of this project) carries AWS's own table of
Deep Learning Container images: the registry account of every region and partition, and which
framework and Python versions exist. A GPU instance type (ml.g*, ml.p*) gets the GPU image, any
other the CPU one. The SDK is imported only here, when an image is looked up, so training,
bundling and serving never load it.
"""

from __future__ import annotations

import re

from ..basics.config import RemoteConfig
from ..basics.errors import ProjectError

# Endpoints' PyTorch: 2.6.0 tags the image infra/model.yaml used to default to, so endpoints keep theirs.
INFERENCE_FRAMEWORK_VERSION = "2.6.0"
PY_VERSION = "py312"
INSTALL_HINT = "pip install -e '.[sagemaker]' (or: pip install 'sagemaker-core>=2.10,<3')"
_FAMILY = re.compile(r"^ml[._]([a-z0-9-]+)")


class ImageError(ProjectError):
    """An image that cannot be looked up: the SDK is missing, or no such image exists."""


def is_gpu(instance_type: str) -> bool:
    """Whether `instance_type` has NVIDIA GPUs (the ml.g* and ml.p* families), as the SDK decides it."""
    family = _FAMILY.match(instance_type)
    return bool(family) and family.group(1)[0] in "gp"


def training_image(remote: RemoteConfig, region: str) -> str:
    """The image of a training job: `remote.image_uri` when set, else the AWS PyTorch training image."""
    if remote.image_uri:
        return remote.image_uri
    return _retrieve("training", remote.instance_type, region, remote.framework_version, remote.py_version)


def inference_image(
    instance_type: str | None,
    region: str,
    framework_version: str = INFERENCE_FRAMEWORK_VERSION,
    py_version: str = PY_VERSION,
) -> str:
    """The AWS PyTorch inference image for endpoints on `instance_type` (None: serverless, which is CPU)."""
    return _retrieve("inference", instance_type or "ml.m5.large", region, framework_version, py_version)


def _retrieve(scope: str, instance_type: str, region: str, framework_version: str, py_version: str) -> str:
    try:
        from sagemaker.core import image_uris
    except ImportError as error:
        raise ImageError(f"looking up the AWS PyTorch image needs the SageMaker SDK: {INSTALL_HINT}") from error
    try:
        return image_uris.retrieve(
            framework="pytorch",
            region=region,
            version=framework_version,
            py_version=py_version,
            instance_type=instance_type,
            image_scope=scope,
        )
    except ValueError as error:
        reason = str(error).split(". You may need")[0].splitlines()[0]  # not the SDK's advice to upgrade `sagemaker`
        wanted = f"PyTorch {framework_version} {py_version} {scope} image for {instance_type} in {region}"
        raise ImageError(f"no AWS {wanted}: {reason} (a newer sagemaker-core may know it)") from error
