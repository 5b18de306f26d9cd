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
