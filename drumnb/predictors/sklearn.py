"""Pickled estimators (``.pkl`` / ``.joblib``): scikit-learn, xgboost, any object
with ``predict`` / ``predict_proba``.  Nothing is imported up front: unpickling
imports exactly the framework the artifact needs."""
from __future__ import annotations

import pickle
from typing import Any

from ..core.contract import LABELLED, SINGLE_COLUMN
from ..core.errors import ArtifactError, InputError
from . import Predictor


def _encoded_classes(model: Any) -> bool:
    """xgboost / lightgbm classifiers trained on label-encoded targets: ``classes_`` is ``0 .. k-1``, which says
    nothing of the labels."""
    classes = getattr(model, "classes_", None)
    if classes is None or not type(model).__module__.split(".")[0] in ("xgboost", "lightgbm"):
        return False
    return [str(c) for c in classes] == [str(i) for i in range(len(classes))]


def _label_order(model: Any, config: Any) -> Any:
    """The columns of an encoded classifier: the labels, in label order ``[negative, positive]`` (DRUM reads an
    XGBClassifier's so), or by the codes when the labels are those codes."""
    if not _encoded_classes(model):
        return None
    labels = list(config.labels or [])
    codes = [str(i) for i in range(len(model.classes_))]
    return codes if sorted(labels) == codes else labels


def _is_booster(model: Any) -> bool:
    return type(model).__name__ == "Booster" and type(model).__module__.startswith("xgboost")


class PicklePredictor(Predictor):
    name = "sklearn"

    def load(self, path: str) -> Any:
        if path.lower().endswith(".joblib"):
            import joblib

            return joblib.load(path)
        with open(path, "rb") as fh:
            try:
                return pickle.load(fh)
            except Exception as first:  # noqa: BLE001 - maybe a joblib-compressed pickle
                try:
                    import joblib

                    return joblib.load(path)
                except Exception:  # noqa: BLE001
                    raise first from None

    def predict(self, model: Any, data: Any, config: Any):
        t = config.target_type
        if _is_booster(model):
            import xgboost

            out = model.predict(xgboost.DMatrix(data))
            return out, None
        if t in LABELLED:
            if not callable(getattr(model, "predict_proba", None)):
                raise ArtifactError(f"{type(model).__name__} has no predict_proba, so it cannot give "
                                    f"{t} probabilities",
                                    hint="use a classifier with predict_proba or define a 'score' hook")
            classes = self.classes(model)
            return model.predict_proba(data), (_label_order(model, config) if classes is None else classes)
        if t in SINGLE_COLUMN:
            return model.predict(data), None
        raise ArtifactError(f"a pickled model cannot be scored as {t}")

    def transform(self, model: Any, data: Any) -> Any:
        if not callable(getattr(model, "transform", None)):
            return super().transform(model, data)
        return model.transform(data)

    def drum_name(self, model: Any) -> str:
        return "xgboost" if type(model).__module__.startswith("xgboost") else "scikit-learn"

    def check(self, model: Any, config: Any) -> None:
        if _is_booster(model) or any(callable(getattr(model, m, None))
                                     for m in ("predict", "predict_proba", "transform")):
            return
        raise ArtifactError(f"the pickled {type(model).__name__} has no predict(), predict_proba() or transform(), "
                            "so it is not a model drumnb can score",
                            hint="pickle the fitted estimator itself, or define load_model / score hooks in custom.py")

    def classes(self, model: Any) -> Any:
        if _is_booster(model) or not callable(getattr(model, "predict_proba", None)) or _encoded_classes(model):
            return None
        return getattr(model, "classes_", None)

    def expected_columns(self, model: Any) -> list[str] | None:
        names = getattr(model, "feature_names_in_", None)
        if names is None and _is_booster(model):
            names = model.feature_names
        return [str(n) for n in names] if names is not None else None


def check_columns(data: Any, expected: list[str] | None) -> Any:
    """Select ``expected`` columns in order; missing ones are a 422 input error."""
    if expected is None or not hasattr(data, "columns"):
        return data
    have = [str(c) for c in data.columns]
    if have == expected:
        return data
    missing = [c for c in expected if c not in set(have)]
    if missing:
        extra = [c for c in have if c not in set(expected)]
        raise InputError(f"the input lacks {len(missing)} column(s) the model was trained on: "
                         f"{missing[:10]}{' ...' if len(missing) > 10 else ''}"
                         + (f"; unexpected column(s): {extra[:10]}" if extra else ""),
                         hint=f"send the columns {expected[:20]}{' ...' if len(expected) > 20 else ''}")
    if have != [str(c) for c in data.columns]:
        data = data.set_axis(have, axis=1)
    return data[expected]
