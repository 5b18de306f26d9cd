"""The core library every model builds on, in layers: each subpackage imports from itself and from the
layers below it only (tests/test_architecture.py checks it; docs: Architecture).

Modules are imported explicitly (`from ...core.basics import config`), so importing one never pulls in
the heavy dependencies of another: the inference bundle's server imports `inference` and `basics` only.
"""

# Bottom to top; subpackages on one rank do not import each other.
LAYERS = (
    ("basics",),
    ("loading", "inference"),
    ("catalog",),
    ("trainer", "bundling"),
    ("hosting",),
    ("cloud",),
    ("jobs",),
    ("commands",),
)

# Where the modules of the flat core (before the layers) live now. Model folders written against it
# (`from ...core import config, data`) keep working, with a DeprecationWarning naming the new place.
MOVED = {
    "errors": "basics",
    "project": "basics",
    "config": "basics",
    "tasks": "basics",
    "fingerprint": "basics",
    "pins": "basics",
    "data": "loading",
    "tables": "loading",
    "streaming": "loading",
    "codecs": "inference",
    "instances": "inference",
    "handling": "inference",
    "serving": "inference",
    "payloads": "inference",
    "client": "inference",
    "registry": "catalog",
    "runs": "catalog",
    "checkpoints": "catalog",
    "contract": "catalog",
    "changes": "catalog",
    "training": "trainer",
    "devices": "trainer",
    "distributed": "trainer",
    "optimization": "trainer",
    "stopping": "trainer",
    "environment": "trainer",
    "tracking": "trainer",
    "mlflow_tracking": "trainer",
    "wandb_tracking": "trainer",
    "bundle": "bundling",
    "sources": "bundling",
    "local_endpoint": "hosting",
    "torchserve": "hosting",
    "supervisor": "hosting",
    "aws": "cloud",
    "accounts": "cloud",
    "bootstrap": "cloud",
    "packages": "cloud",
    "images": "cloud",
    "deploy": "cloud",
    "promotion": "cloud",
    "staging": "jobs",
    "remote": "jobs",
    "datasets": "jobs",
    "builds": "jobs",
}


def __getattr__(name: str):
    """`from ...core import config` as the flat core had it: the module from its layer, with a warning."""
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    new = f"{MOVED[name]}.{name}"
    warnings.warn(f"core.{name} is core.{new} now: import it from there", DeprecationWarning, stacklevel=2)
    return importlib.import_module(f"{__name__}.{new}")
