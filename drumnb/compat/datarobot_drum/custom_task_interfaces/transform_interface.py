"""Transformers: ``transform(X)`` returns the transformed frame, one row per input row."""
from __future__ import annotations

from .custom_task_interface import CustomTaskInterface


class TransformerInterface(CustomTaskInterface):
    def transform(self, X):
        raise NotImplementedError(f"{type(self).__name__} does not define transform(X)")
