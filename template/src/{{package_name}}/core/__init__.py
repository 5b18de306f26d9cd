"""The core library every model builds on: configs, data, training, tracking, bundling, serving.

Modules are imported explicitly (`from ..core import config`), so importing one never pulls in
the heavy dependencies of another: the inference bundle ships only what serving needs.
"""
