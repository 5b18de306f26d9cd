"""One sub-package per model, each rendered from the model template (see `core.catalog.registry`)."""
