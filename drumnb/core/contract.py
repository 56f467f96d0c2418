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

from .errors import ConfigurationError, ContractError
from .metadata import ModelMetadata
from .targets import TargetType

log = logging.getLogger("drumnb")

#: The names below are the enum's values as plain strings (what ``ModelConfig.target_type`` holds).
REGRESSION, BINARY, MULTICLASS, ANOMALY = (TargetType.REGRESSION.value, TargetType.BINARY.value,
                                           TargetType.MULTICLASS.value, TargetType.ANOMALY.value)
TRANSFORM, UNSTRUCTURED, TEXTGENERATION = (TargetType.TRANSFORM.value, TargetType.UNSTRUCTURED.value,
                                           TargetType.TEXTGENERATION.value)
MULTILABEL, GEOPOINT, VECTORDATABASE, AGENTICWORKFLOW = (TargetType.MULTILABEL.value, TargetType.GEOPOINT.value,
                                                         TargetType.VECTORDATABASE.value,
                                                         TargetType.AGENTICWORKFLOW.value)
SUPPORTED = TargetType.values()
CLASSIFICATION = (BINARY, MULTICLASS)
#: Target types whose models need class labels (one output column per label).
LABELLED = (BINARY, MULTICLASS, MULTILABEL)
#: Target types whose prediction is the hook's column named by the target name (TARGET_NAME), written as
#: ``Predictions``, as DRUM does.  (DRUM also refuses to load them without TARGET_NAME; drumnb asks for it only
#: when a hook returns more than one column, so that chat-only folders run without it.)
NAMED_BY_TARGET = (TEXTGENERATION, VECTORDATABASE, AGENTICWORKFLOW)
#: Target types that give one value per row.
SINGLE_COLUMN = (REGRESSION, ANOMALY, GEOPOINT) + NAMED_BY_TARGET
#: Target types whose single column holds numbers (the others may hold text).
NUMERIC_SINGLE = (REGRESSION, ANOMALY)
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
    target_name: str | None = None

    @property
    def labels(self) -> list[str] | None:
        """The label columns of a classifier (binary: negative, positive); None for other target types.

        The *order* of the output columns is the model's (see :func:`format_predictions`)."""
        if self.target_type == BINARY:
            return [self.negative_class_label, self.positive_class_label]  # type: ignore[list-item]
        if self.target_type in (MULTICLASS, MULTILABEL):
            return list(self.class_labels or [])
        return None

    def hook_kwargs(self) -> dict[str, Any]:
        return {"positive_class_label": self.positive_class_label,
                "negative_class_label": self.negative_class_label,
                "class_labels": self.labels if self.target_type in LABELLED else None}


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


def _given_labels(positive_class_label: Any, negative_class_label: Any, class_labels: Sequence[Any] | None,
                  class_labels_file: str | None, env: Mapping[str, str]) -> tuple[Any, Any, list[str] | None]:
    """Labels given by the caller (flags) or DRUM's environment twins, not by the folder."""
    pos = _first(positive_class_label, env.get("POSITIVE_CLASS_LABEL") or None)
    neg = _first(negative_class_label, env.get("NEGATIVE_CLASS_LABEL") or None)
    labels: list[str] | None = None
    if class_labels is not None:
        labels = [str(x) for x in class_labels]
    elif class_labels_file:
        labels = read_label_file(class_labels_file)
    elif env.get("CLASS_LABELS"):
        labels = parse_label_list(env["CLASS_LABELS"])
    elif env.get("CLASS_LABELS_FILE"):
        labels = read_label_file(env["CLASS_LABELS_FILE"])
    return (None if pos is None else str(pos)), (None if neg is None else str(neg)), labels


def _check_against_metadata(pos: str | None, neg: str | None, labels: list[str] | None,
                            metadata: ModelMetadata) -> None:
    """Labels given on the command line must be those of ``model-metadata.yaml`` (else a silent mislabel)."""
    where = "model-metadata.yaml"
    meta = (metadata.positive_class_label, metadata.negative_class_label)
    if any(g is not None and m is not None and g != m for g, m in zip((pos, neg), meta)):
        raise ConfigurationError(
            f"the class labels given (positive {pos!r}, negative {neg!r}) differ from {where}'s "
            f"(positive {meta[0]!r}, negative {meta[1]!r})",
            hint=f"drop the label flags to use {where}'s, or correct one of them")
    if labels is not None and metadata.class_labels is not None and sorted(labels) != sorted(metadata.class_labels):
        raise ConfigurationError(f"the class labels given {labels} differ from {where}'s {metadata.class_labels}",
                                 hint=f"drop --class-labels / CLASS_LABELS to use {where}'s, or correct one of them")


def resolve_config(code_dir: str, metadata: ModelMetadata, *, target_type: str | None = None,
                   positive_class_label: Any = None, negative_class_label: Any = None,
                   class_labels: Sequence[Any] | None = None, class_labels_file: str | None = None,
                   target_name: str | None = None, env: Mapping[str, str] | None = None) -> ModelConfig:
    env = os.environ if env is None else env
    notes: list[str] = []
    pos, neg, labels = _given_labels(positive_class_label, negative_class_label, class_labels, class_labels_file, env)
    _check_against_metadata(pos, neg, labels, metadata)
    pos = _first(pos, metadata.positive_class_label)
    neg = _first(neg, metadata.negative_class_label)
    if labels is None and metadata.class_labels:
        labels = list(metadata.class_labels)
    elif labels is None and os.path.isfile(os.path.join(code_dir, "class_labels.txt")):
        labels = read_label_file(os.path.join(code_dir, "class_labels.txt"))
    name = _first(target_name, env.get("TARGET_NAME") or None, metadata.target_name)
    name = None if name is None else str(name)

    given_type = _first(target_type, env.get("TARGET_TYPE") or None)
    if given_type is not None and metadata.target_type is not None and \
            str(given_type).strip().lower() != metadata.target_type:
        raise ConfigurationError(f"the target type given ({str(given_type).strip().lower()!r}) differs from "
                                 f"model-metadata.yaml's ({metadata.target_type!r})",
                                 hint="drop --target-type / TARGET_TYPE to use model-metadata.yaml's, or correct "
                                      "one of them")
    target = _first(given_type, metadata.target_type)
    if target is None:
        if pos is not None or neg is not None or (labels and len(labels) == 2):
            target = BINARY
        elif labels:
            target = MULTICLASS
        else:
            target = REGRESSION
        notes.append(f"no target type given; assuming {target} (set --target-type to be explicit)")
    target = str(target).strip().lower()
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
        return ModelConfig(target, pos, neg, None, notes, name)
    if target in (MULTICLASS, MULTILABEL):
        if not labels:
            raise ConfigurationError(f"a {target} model needs its class labels",
                                     hint="pass --class-labels A B C, --class-labels-file, or "
                                          "put class_labels.txt (one label a line) in the model folder")
        if len(set(labels)) != len(labels):
            dup = sorted({x for x in labels if labels.count(x) > 1})
            raise ConfigurationError(f"class labels repeat: {dup}")
        if len(labels) < 2 and target == MULTICLASS:
            raise ConfigurationError("a multiclass model needs at least two class labels")
        return ModelConfig(target, None, None, labels, notes, name)
    if positive_class_label is not None or negative_class_label is not None or class_labels is not None:
        notes.append(f"class labels are ignored for a {target} model")
    return ModelConfig(target, None, None, None, notes, name)


# --- the output contract -----------------------------------------------------------------------

def _row(df: pd.DataFrame, i: int) -> str:
    return "{" + ", ".join(f"{c!r}: {v!r}" for c, v in df.iloc[i].items()) + "}"


_TRUE_WORDS, _FALSE_WORDS = ("1", "yes", "true"), ("0", "no", "false")


def _canonical(value: Any) -> str:
    """A label as DRUM compares it: case-insensitive, numbers by value, yes/true ~ 1 and no/false ~ 0."""
    text = str(value).strip().lower()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        text = repr(int(number)) if number.is_integer() else repr(number)
    if text in _TRUE_WORDS:
        return "1"
    if text in _FALSE_WORDS:
        return "0"
    return text


def _same_label(a: Any, b: str) -> bool:
    """A framework's class value and a label string name the same class (``1`` ~ ``"1"``, ``"yes"`` ~ ``"Yes"``,
    ``"yes"`` ~ ``"1"``), as DRUM 1.18.1 matches them."""
    return str(a) == b or _canonical(a) == _canonical(b)


def match_classes(classes: Sequence[Any], cfg: ModelConfig, *, source: str) -> list[str]:
    """The model's own classes as the configured label strings, in the model's order.

    A classifier whose classes are not the labels given would be silently
    mislabelled: that is a :class:`ConfigurationError` naming both sets.
    """
    labels = cfg.labels or []
    out: list[str] = []
    for c in classes:
        hit = next((label for label in labels if str(c) == label), None)  # exact first, then DRUM's loose match
        hit = hit if hit is not None else next((label for label in labels if _same_label(c, label)), None)
        if hit is None or hit in out:
            break
        out.append(hit)
    if len(out) == len(labels) == len(classes):
        return out
    raise ConfigurationError(
        f"the classes of {source} {[str(c) for c in classes]} are not the class labels given {labels}",
        hint="pass the labels the model was trained with (--positive-class-label/--negative-class-label, "
             "--class-labels, or model-metadata.yaml)")


def unnamed_binary(positive: Any, cfg: ModelConfig, negative: Any = None) -> pd.DataFrame:
    """An unnamed binary output as DRUM writes it: columns ``[positive, negative]``.

    Values follow the seed: ``positive`` holds the positive class's probability
    (``negative``, when the model gave it, the negative class's; else ``1 - positive``).
    """
    pos = np.asarray(positive, dtype="float64").reshape(-1)
    neg = 1.0 - pos if negative is None else np.asarray(negative, dtype="float64").reshape(-1)
    return pd.DataFrame({cfg.positive_class_label: pos, cfg.negative_class_label: neg})


def format_predictions(raw: Any, cfg: ModelConfig, *, classes: Sequence[Any] | None = None,
                       source: str = "the model") -> pd.DataFrame:
    """A built-in predictor's (or ``post_process``'s) raw output as the labelled DataFrame.

    Named outputs keep the model's column order (scikit-learn ``classes_``,
    ONNX ZipMap keys, a DataFrame's columns), and classes that are not the
    labels given are an error.  Unnamed outputs follow the seed: binary, one
    value per row is the positive class's probability and two values are
    ``[negative, positive]``, written as DRUM does, ``[positive, negative]``;
    multiclass, one column per label in label order (two labels and one value
    per row: the second label's probability).
    """
    t = cfg.target_type
    if isinstance(raw, pd.DataFrame):
        if t in SINGLE_COLUMN and raw.shape[1] == 1:
            return raw.set_axis([PRED_COLUMN], axis=1)
        if t in CLASSIFICATION and classes is None and not isinstance(raw.columns, pd.RangeIndex):
            classes = list(raw.columns)
        raw = raw.to_numpy()
    arr = np.asarray(raw)
    if t in SINGLE_COLUMN:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise ContractError("one value per row", f"a {t} model must give one value per row; "
                                f"{source} gave an array of shape {arr.shape}")
        return pd.DataFrame({PRED_COLUMN: arr})
    if t in CLASSIFICATION or t == MULTILABEL:
        labels = cfg.labels or []
        if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
            if len(labels) != 2:
                raise ContractError("one column per class", f"a {t} model with {len(labels)} labels "
                                    f"{labels} gave one value per row")
            if t == BINARY:
                return unnamed_binary(arr, cfg)
            second = arr.reshape(-1).astype("float64")  # multiclass with two labels: the second label's probability
            return pd.DataFrame({labels[0]: 1.0 - second, labels[1]: second})
        if arr.ndim != 2 or arr.shape[1] != len(labels):
            raise ContractError("one column per class",
                                f"{source} gave {arr.shape[1] if arr.ndim == 2 else arr.shape} columns of "
                                f"probabilities for {len(labels)} labels {labels}",
                                hint="check the class labels (their number and order) passed for this model")
        if classes is not None:
            return pd.DataFrame(arr, columns=match_classes(classes, cfg, source=source))
        if t == BINARY:  # unnamed [negative, positive]
            return unnamed_binary(arr[:, 1], cfg, arr[:, 0])
        return pd.DataFrame(arr, columns=list(labels))
    return raw if isinstance(raw, pd.DataFrame) else pd.DataFrame(arr)


def check_predictions(pred: Any, cfg: ModelConfig, n_rows: int | None, *, source: str) -> pd.DataFrame:
    """Enforce the contract; returns predictions with the prediction columns first.

    Label columns keep the order ``pred`` gives them (DRUM writes the model's
    order); other columns follow as extra model output.  ``source`` names the
    step that produced ``pred`` (e.g. "the 'score' hook") so that the error
    says where to look.  A binary hook's two unnamed columns (``0, 1``) are
    ``[negative, positive]``, as the seed and DRUM read them.
    """
    t = cfg.target_type
    if t == TRANSFORM:
        _check_rows(pred, n_rows, source)
        return pred
    if not isinstance(pred, pd.DataFrame):
        raise ContractError("a DataFrame", f"{source} returned {type(pred).__name__}, expected a pandas DataFrame")
    _check_rows(pred, n_rows, source)
    if t == BINARY and isinstance(pred.columns, pd.RangeIndex) and pred.shape[1] == 2:
        pred = pred.set_axis(cfg.labels, axis=1)
    names = [str(c) for c in pred.columns]
    if len(set(names)) != len(names):
        raise ContractError("unique columns", f"{source} returned repeated column names {names}")
    if names != list(pred.columns):
        pred = pred.set_axis(names, axis=1)
    if t in LABELLED:
        labels = cfg.labels or []
        missing = [label for label in labels if label not in names]
        if missing:
            raise ContractError("one column per class label",
                                f"{source} returned columns {names}; missing label column(s) {missing}",
                                hint=f"return one probability column per label: {labels}")
        cols = [c for c in names if c in labels]
    else:
        if t in NAMED_BY_TARGET:
            pred, names = _target_column(pred, names, cfg, source)
        elif len(names) == 1 and names[0] != PRED_COLUMN:  # one column is the prediction whatever its name (DRUM)
            pred, names = pred.set_axis([PRED_COLUMN], axis=1), [PRED_COLUMN]
        if PRED_COLUMN not in names:
            raise ContractError(f"a '{PRED_COLUMN}' column",
                                f"a {t} model must return a '{PRED_COLUMN}' column; {source} returned {names}")
        cols = [PRED_COLUMN]
    extra = [c for c in names if c not in cols]
    out = pred[cols + extra] if (names[: len(cols)] != cols) else pred
    if t in SINGLE_COLUMN and t not in NUMERIC_SINGLE:
        return out  # text (or any value) per row
    dtypes = list(out.dtypes[: len(cols)])  # the prediction columns come first in ``out``
    if not all(pd.api.types.is_numeric_dtype(d) and not pd.api.types.is_bool_dtype(d) for d in dtypes):
        bad = next(c for c, d in zip(cols, dtypes) if not pd.api.types.is_numeric_dtype(d)
                   or pd.api.types.is_bool_dtype(d))
        i = int(pd.to_numeric(out[bad], errors="coerce").isna().to_numpy().argmax())
        raise ContractError("numeric predictions", f"column {bad!r} from {source} is not numeric "
                            f"({out[bad].dtype})", row=_row(out, i))
    # one block of floats when there is no extra output (the common case): no column frame is built
    arr = (out if len(cols) == out.shape[1] else out.iloc[:, : len(cols)]).to_numpy(dtype="float64")
    # NaN has no meaning here (but a multilabel model may leave a label unscored, as DRUM allows), and infinity has
    # no JSON form
    bad_rows = (np.isinf(arr) if t == MULTILABEL else ~np.isfinite(arr)).any(axis=1)
    if bad_rows.any():
        raise ContractError("finite predictions", f"{int(bad_rows.sum())} row(s) from {source} hold NaN or "
                            "infinity", row=_row(out, int(bad_rows.argmax())),
                            hint="return a number for every row (impute, clip or fix the model)")
    if t in LABELLED:
        outside = ((arr < -PROBA_TOLERANCE) | (arr > 1 + PROBA_TOLERANCE)).any(axis=1)
        if outside.any():
            raise ContractError("probabilities in [0, 1]", f"{int(outside.sum())} row(s) from {source} hold "
                                "values outside [0, 1]", row=_row(out, int(outside.argmax())))
    if t in CLASSIFICATION:
        off = np.abs(arr.sum(axis=1) - 1.0) > PROBA_TOLERANCE
        if off.any():
            i = int(off.argmax())
            raise ContractError("rows sum to 1", f"{int(off.sum())} row(s) from {source} do not sum to 1 "
                                f"(first: {arr[i].sum():.6g})", row=_row(out, i),
                                hint="return probabilities (e.g. apply softmax) with one column per label")
    return out


def _target_column(pred: pd.DataFrame, names: list[str], cfg: ModelConfig,
                   source: str) -> tuple[pd.DataFrame, list[str]]:
    """textgeneration & co.: one column is the prediction whatever its name; of several, the one named by the
    target name is (the rest are extra output).  It is written as ``Predictions``, as DRUM writes it."""
    if len(names) == 1:
        return pred.set_axis([PRED_COLUMN], axis=1), [PRED_COLUMN]
    target = cfg.target_name
    if not target:
        raise ContractError("a target name", f"{source} returned columns {names}; with more than one column, the "
                            "prediction is the column named by the target name, and none is given",
                            hint="set TARGET_NAME (or targetName under inferenceModel in model-metadata.yaml)")
    if target not in names:
        raise ContractError(f"a '{target}' column", f"{source} returned columns {names}; with more than one column, "
                            f"the prediction is the column named by the target name {target!r}",
                            hint=f"name the prediction column {target!r}, or return that column alone")
    if target != PRED_COLUMN and PRED_COLUMN in names:
        raise ContractError("unique columns", f"{source} returned both {target!r} (the target) and "
                            f"'{PRED_COLUMN}', which is what the target column is written as",
                            hint=f"rename or drop the '{PRED_COLUMN}' column")
    names = [PRED_COLUMN if c == target else c for c in names]
    return pred.set_axis(names, axis=1), names


def _check_rows(pred: Any, n_rows: int | None, source: str) -> None:
    if n_rows is None:
        return
    try:
        got = pred.shape[0]
    except AttributeError:
        return
    if got != n_rows:
        raise ContractError("one prediction per row", f"{source} returned {got} row(s) for {n_rows} input row(s)")
