"""The target types: one enum, standard library only (the CLI builds its flags from it before pandas loads).

``TargetType`` is a ``StrEnum``: a member equals its value (``TargetType.BINARY == "binary"``), hashes like
it and formats as it, so code that compares with strings, or receives strings, keeps working.
:mod:`drumnb.core.contract` exports it with the rules of each target type.
"""
from __future__ import annotations

import difflib
import enum


class TargetType(enum.StrEnum):
    """Every target type drumnb runs, in the order its messages list them."""

    REGRESSION = "regression"
    BINARY = "binary"
    MULTICLASS = "multiclass"
    ANOMALY = "anomaly"
    TRANSFORM = "transform"
    UNSTRUCTURED = "unstructured"
    TEXTGENERATION = "textgeneration"
    MULTILABEL = "multilabel"
    GEOPOINT = "geopoint"
    VECTORDATABASE = "vectordatabase"
    AGENTICWORKFLOW = "agenticworkflow"

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The values as plain strings, in order."""
        return tuple(t.value for t in cls)

    @classmethod
    def parse(cls, text: str) -> "TargetType":
        """``text`` (any case, spaces around) as a member; ``ValueError`` naming the closest one otherwise."""
        value = str(text).strip().lower()
        try:
            return cls(value)
        except ValueError:
            near = difflib.get_close_matches(value, cls.values(), n=1)
            raise ValueError(f"unknown target type {value!r}" + (f" (did you mean {near[0]!r}?)" if near else "")
                             + f"; choose one of: {', '.join(cls.values())}") from None
