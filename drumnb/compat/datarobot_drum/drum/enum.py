"""Enumerations and keyword names hooks may compare against."""
from __future__ import annotations

from enum import Enum


class TargetType(Enum):
    BINARY = "binary"
    REGRESSION = "regression"
    ANOMALY = "anomaly"
    UNSTRUCTURED = "unstructured"
    MULTICLASS = "multiclass"
    TRANSFORM = "transform"
    TEXT_GENERATION = "textgeneration"
    GEO_POINT = "geopoint"
    VECTOR_DATABASE = "vectordatabase"
    AGENTIC_WORKFLOW = "agenticworkflow"
    MULTILABEL = "multilabel"

    def is_classification(self) -> bool:
        return self in (TargetType.BINARY, TargetType.MULTICLASS)


#: keyword arguments ``score`` (and a custom task's ``predict``/``predict_proba``) receives
POSITIVE_CLASS_LABEL_ARG_KEYWORD = "positive_class_label"
NEGATIVE_CLASS_LABEL_ARG_KEYWORD = "negative_class_label"
CLASS_LABELS_ARG_KEYWORD = "class_labels"
TARGET_TYPE_ARG_KEYWORD = "target_type"
#: the prediction column of single-column target types
PRED_COLUMN = REGRESSION_PRED_COLUMN = "Predictions"
#: the hooks file, and the class name that makes it a custom task
CUSTOM_FILE_NAME = "custom"
CUSTOM_PY_CLASS_NAME = "CustomTask"
