# Written by `bundle` from core/bundling/script_templates/inference.py (see core/bundling/scripts.py).
"""SageMaker entry point of model '__MODEL__': written by `bundle`, edit __PACKAGE__.models.__MODEL__.inference.

Core library: __CORE__ __CORE_VERSION__.
"""

from __CORE__.core.inference import handling
from __PACKAGE__.models.__MODEL__ import inference as handlers

model_fn = handlers.model_fn
transform_fn = handling.transform_fn(handlers)
handling.receive_raw_bodies()  # JSON and CSV too: the handlers' codecs decode them

__all__ = ["model_fn", "transform_fn"]
