"""Target types, labels and the output contract of each target type.

``resolve_config`` decides the target type and labels from (in this order) the
caller's arguments, DRUM's environment variables, ``model-metadata.yaml`` and
``class_labels.txt``; ``format_predictions`` turns a built-in predictor's raw
output into the labelled DataFrame; ``check_predictions`` enforces the
contract on whatever a hook returned.
"""
from __future__ import annotations

import logging
import os
import shlex
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigurationError, ContractError, UnsupportedError
from .metadata import ModelMetadata

log = logging.getLogger("drumnb")

REGRESSION, BINARY, MULTICLASS, ANOMALY = "regression", "binary", "multiclass", "anomaly"
TRANSFORM, UNSTRUCTURED, TEXTGENERATION = "transform", "unstructured", "textgeneration"
SUPPORTED = (REGRESSION, BINARY, MULTICLASS, ANOMALY, TRANSFORM, UNSTRUCTURED, TEXTGENERATION)
NOT_YET = ("multilabel", "geopoint", "vectordatabase", "agenticworkflow")
CLASSIFICATION = (BINARY, MULTICLASS)
PRED_COLUMN = "Predictions"
PROBA_TOLERANCE = 1e-5


@dataclass
class ModelConfig:
    """The resolved target type and labels of a model."""

    target_type: str
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    class_labels: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str] | None:
        """Output columns of a classifier, in order (binary: negative, positive)."""
        if self.target_type == BINARY:
            return [self.negative_class_label, self.positive_class_label]  # type: ignore[list-item]
        if self.target_type == MULTICLASS:
            return list(self.class_labels or [])
        return None

    def hook_kwargs(self) -> dict[str, Any]:
        return {"positive_class_label": self.positive_class_label,
                "negative_class_label": self.negative_class_label,
                "class_labels": self.labels if self.target_type in CLASSIFICATION else None}


def parse_label_list(text: str) -> list[str]:
    """``CLASS_LABELS``: a JSON list, or labels separated as a shell would."""
    text = text.strip()
    if text.startswith("["):
        import json

        try:
            return [str(x) for x in json.loads(text)]
        except ValueError as exc:
            raise ConfigurationError(f"CLASS_LABELS is not a valid JSON list: {exc}") from None
    return shlex.split(text)


def read_label_file(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            labels = [line.rstrip("\r\n") for line in fh]
    except OSError as exc:
        raise ConfigurationError(f"cannot read class labels file {path}: {exc.strerror}") from None
    labels = [x for x in labels if x.strip()]
    if not labels:
        raise ConfigurationError(f"class labels file {path} is empty", hint="write one label per line")
    return labels


def _first(*values: Any) -> Any:
    for value in values:
        if value is not None:
            return value
    return None


def resolve_config(code_dir: str, metadata: ModelMetadata, *, target_type: str | None = None,
                   positive_class_label: Any = None, negative_class_label: Any = None,
                   class_labels: Sequence[Any] | None = None, class_labels_file: str | None = None,
                   env: Mapping[str, str] | None = None) -> ModelConfig:
    env = os.environ if env is None else env
    notes: list[str] = []
    pos = _first(positive_class_label, env.get("POSITIVE_CLASS_LABEL"), metadata.positive_class_label)
    neg = _first(negative_class_label, env.get("NEGATIVE_CLASS_LABEL"), metadata.negative_class_label)
    labels: list[str] | None = None
    if class_labels is not None:
        labels = [str(x) for x in class_labels]
    elif class_labels_file:
        labels = read_label_file(class_labels_file)
    elif env.get("CLASS_LABELS"):
        labels = parse_label_list(env["CLASS_LABELS"])
    elif env.get("CLASS_LABELS_FILE"):
        labels = read_label_file(env["CLASS_LABELS_FILE"])
    elif metadata.class_labels:
        labels = metadata.class_labels
    elif os.path.isfile(os.path.join(code_dir, "class_labels.txt")):
        labels = read_label_file(os.path.join(code_dir, "class_labels.txt"))
    pos, neg = (None if pos is None else str(pos)), (None if neg is None else str(neg))

    target = _first(target_type, env.get("TARGET_TYPE") or None, metadata.target_type)
    if target is None:
        if pos is not None or neg is not None or (labels and len(labels) == 2):
            target = BINARY
        elif labels:
            target = MULTICLASS
        else:
            target = REGRESSION
        notes.append(f"no target type given; assuming {target} (set --target-type to be explicit)")
    target = str(target).strip().lower()
    if target in NOT_YET:
        raise UnsupportedError(f"target type {target!r} is not supported yet",
                               hint=f"supported target types: {', '.join(SUPPORTED)}")
    if target not in SUPPORTED:
        import difflib

        near = difflib.get_close_matches(target, SUPPORTED, n=1)
        raise ConfigurationError(f"unknown target type {target!r}",
                                 hint=(f"did you mean {near[0]!r}? " if near else "") +
                                 f"choose one of: {', '.join(SUPPORTED)}")

    if target == BINARY:
        if (pos is None or neg is None) and labels and len(labels) == 2:
            neg, pos = labels
        if pos is None or neg is None:
            raise ConfigurationError(
                "a binary model needs both a positive and a negative class label",
                hint="pass --positive-class-label and --negative-class-label "
                     "(or set positiveClassLabel/negativeClassLabel in model-metadata.yaml)")
        if pos == neg:
            raise ConfigurationError(f"positive and negative class labels are both {pos!r}")
        return ModelConfig(target, pos, neg, None, notes)
    if target == MULTICLASS:
        if not labels:
            raise ConfigurationError("a multiclass model needs its class labels",
                                     hint="pass --class-labels A B C, --class-labels-file, or "
                                          "put class_labels.txt (one label a line) in the model folder")
        if len(set(labels)) != len(labels):
            dup = sorted({x for x in labels if labels.count(x) > 1})
            raise ConfigurationError(f"class labels repeat: {dup}")
        if len(labels) < 2:
            raise ConfigurationError("a multiclass model needs at least two class labels")
        return ModelConfig(target, None, None, labels, notes)
    if positive_class_label is not None or negative_class_label is not None or class_labels is not None:
        notes.append(f"class labels are ignored for a {target} model")
    return ModelConfig(target, None, None, None, notes)


# --- the output contract -----------------------------------------------------------------------

def _row(df: pd.DataFrame, i: int) -> str:
    return "{" + ", ".join(f"{c!r}: {v!r}" for c, v in df.iloc[i].items()) + "}"


def format_predictions(raw: Any, cfg: ModelConfig, *, classes: Sequence[Any] | None = None) -> pd.DataFrame:
    """A built-in predictor's raw output (array-like) as the labelled DataFrame.

    ``classes`` is the predictor's own column order (e.g. scikit-learn's
    ``classes_``); when every label is found among them, columns are
    reordered to the label order, otherwise they are taken as given.
    """
    t = cfg.target_type
    if isinstance(raw, pd.DataFrame):
        if t in (REGRESSION, ANOMALY, TEXTGENERATION) and raw.shape[1] == 1:
            return raw.set_axis([PRED_COLUMN], axis=1)
        if t in CLASSIFICATION and classes is None:
            classes = list(raw.columns)
        raw = raw.to_numpy()
    arr = np.asarray(raw)
    if t in (REGRESSION, ANOMALY, TEXTGENERATION):
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ContractError("one value per row", f"a {t} model must give one value per row; "
                                f"the model gave an array of shape {arr.shape}")
        return pd.DataFrame({PRED_COLUMN: arr})
    if t in CLASSIFICATION:
        labels = cfg.labels or []
        if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
            if t != BINARY:
                raise ContractError("one column per class", f"a multiclass model with {len(labels)} labels "
                                    "gave one value per row")
            pos = arr.reshape(-1).astype("float64")
            arr = np.column_stack([1.0 - pos, pos])
            classes = None
        if arr.ndim != 2 or arr.shape[1] != len(labels):
            raise ContractError("one column per class",
                                f"the model gave {arr.shape[1] if arr.ndim == 2 else arr.shape} columns of "
                                f"probabilities for {len(labels)} labels {labels}",
                                hint="check the class labels (their number and order) passed for this model")
        if classes is not None:
            names = [str(c) for c in classes]
            if set(labels) <= set(names) and len(names) == len(labels):
                order = [names.index(label) for label in labels]
                arr = arr[:, order]
        return pd.DataFrame(arr, columns=list(labels))
    return raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(arr)


def check_predictions(pred: Any, cfg: ModelConfig, n_rows: int | None, *, source: str) -> pd.DataFrame:
    """Enforce the contract; returns predictions with prediction columns first.

    ``source`` names the step that produced ``pred`` (e.g. "the 'score' hook")
    so that the error says where to look.
    """
    t = cfg.target_type
    if t == TRANSFORM:
        _check_rows(pred, n_rows, source)
        return pred
    if not isinstance(pred, pd.DataFrame):
        raise ContractError("a DataFrame", f"{source} returned {type(pred).__name__}, expected a pandas DataFrame")
    _check_rows(pred, n_rows, source)
    names = [str(c) for c in pred.columns]
    if len(set(names)) != len(names):
        raise ContractError("unique columns", f"{source} returned repeated column names {names}")
    if names != list(pred.columns):
        pred = pred.set_axis(names, axis=1)
    if t in CLASSIFICATION:
        labels = cfg.labels or []
        missing = [label for label in labels if label not in names]
        if missing:
            raise ContractError("one column per class label",
                                f"{source} returned columns {names}; missing label column(s) {missing}",
                                hint=f"return one probability column per label: {labels}")
        cols = labels
    else:
        if PRED_COLUMN not in names:
            raise ContractError(f"a '{PRED_COLUMN}' column",
                                f"a {t} model must return a '{PRED_COLUMN}' column; {source} returned {names}")
        cols = [PRED_COLUMN]
    extra = [c for c in names if c not in cols]
    out = pred[cols + extra] if (names[: len(cols)] != cols) else pred
    values = out[cols]
    if t == TEXTGENERATION:
        return out
    if not all(pd.api.types.is_numeric_dtype(values[c]) and not pd.api.types.is_bool_dtype(values[c])
               for c in cols):
        bad = next(c for c in cols if not pd.api.types.is_numeric_dtype(values[c]))
        i = int(pd.to_numeric(values[bad], errors="coerce").isna().to_numpy().argmax())
        raise ContractError("numeric predictions", f"column {bad!r} from {source} is not numeric "
                            f"({values[bad].dtype})", row=_row(out, i))
    arr = values.to_numpy(dtype="float64")
    nan_rows = np.isnan(arr).any(axis=1)
    if nan_rows.any():
        raise ContractError("no missing predictions", f"{int(nan_rows.sum())} row(s) from {source} hold NaN",
                            row=_row(out, int(nan_rows.argmax())))
    if t in CLASSIFICATION:
        outside = ((arr < -PROBA_TOLERANCE) | (arr > 1 + PROBA_TOLERANCE)).any(axis=1)
        if outside.any():
            raise ContractError("probabilities in [0, 1]", f"{int(outside.sum())} row(s) from {source} hold "
                                "values outside [0, 1]", row=_row(out, int(outside.argmax())))
        off = np.abs(arr.sum(axis=1) - 1.0) > PROBA_TOLERANCE
        if off.any():
            i = int(off.argmax())
            raise ContractError("rows sum to 1", f"{int(off.sum())} row(s) from {source} do not sum to 1 "
                                f"(first: {arr[i].sum():.6g})", row=_row(out, i),
                                hint="return probabilities (e.g. apply softmax) with one column per label")
    return out


def _check_rows(pred: Any, n_rows: int | None, source: str) -> None:
    if n_rows is None:
        return
    try:
        got = pred.shape[0]
    except AttributeError:
        return
    if got != n_rows:
        raise ContractError("one prediction per row", f"{source} returned {got} row(s) for {n_rows} input row(s)")
