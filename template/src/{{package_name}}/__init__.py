"""The project package: a core library (`core`), one sub-package per model (`models`) and a CLI."""
