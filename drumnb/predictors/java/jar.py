"""``.jar`` predictors implementing DataRobot's public ``com.datarobot.prediction`` interfaces
(DataRobot Scoring Code through its ``Predictors.getPredictor``), scored by drumnb's ``RowScorer`` helper."""
from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import ArtifactError
from .columns import java_columns
from .jvm import LOCK, is_java_exception, jvm, url_loader
from .toolchain import compile_java, extra_classpath, helper_source

_state: dict[str, Any] = {}


def row_scorer() -> Any:
    with LOCK:
        if "row_scorer" not in _state:
            helper = compile_java(helper_source("RowScorer"), [])
            jpype = jvm()
            _state["row_scorer"] = jpype.JClass("drumnb.RowScorer", loader=url_loader([helper]))
        return _state["row_scorer"]


@dataclass
class JarModel:
    path: str
    predictor: Any
    method: Any
    kind: str  # "regression" | "classification"
    labels: list[str] | None
    features: dict[str, str] = field(default_factory=dict)  # name -> "str" | "num"
    model_id: str | None = None

    def __repr__(self) -> str:
        return f"<Java {self.kind} predictor {type(self.predictor).__name__} from {os.path.basename(self.path)}>"


def load_jar(path: str) -> JarModel:
    jpype = jvm()
    loader = url_loader([os.path.realpath(path), *extra_classpath()])
    Class = jpype.JClass("java.lang.Class")

    def find(name: str) -> Any:
        try:
            return Class.forName(name, False, loader)
        except Exception as exc:  # noqa: BLE001 - ClassNotFoundException, NoClassDefFoundError
            if is_java_exception(exc):
                return None
            raise

    reg, cls = find("com.datarobot.prediction.IRegressionPredictor"), \
        find("com.datarobot.prediction.IClassificationPredictor")
    if reg is None and cls is None:
        raise ArtifactError(f"{os.path.basename(path)} holds no com.datarobot.prediction.IRegressionPredictor or "
                            "IClassificationPredictor interface",
                            hint="build the jar against datarobot-prediction (its interfaces inside the jar), "
                                 "or use DataRobot Scoring Code")
    instance = None
    predictors_cls = find("com.datarobot.prediction.Predictors")
    if predictors_cls is not None:  # DataRobot Scoring Code
        ClassLoader = jpype.JClass("java.lang.ClassLoader")
        method = predictors_cls.getMethod("getPredictor", ClassLoader.class_)
        instance = method.invoke(None, loader)
    else:
        candidates = []
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if n.endswith(".class") and "$" not in n
                     and not n.startswith("META-INF/")]
        Modifier = jpype.JClass("java.lang.reflect.Modifier")
        for entry in names:
            cname = entry[:-6].replace("/", ".")
            if cname.startswith("com.datarobot.prediction.") and cname.count(".") == 3:
                continue  # the interfaces themselves
            k = find(cname)
            if k is None or k.isInterface() or Modifier.isAbstract(k.getModifiers()):
                continue
            if any(i is not None and i.isAssignableFrom(k) for i in (reg, cls)):
                candidates.append(k)
        if not candidates:
            raise ArtifactError(f"{os.path.basename(path)} holds no concrete class implementing "
                                "IRegressionPredictor or IClassificationPredictor",
                                hint="add a public class with a public no-argument constructor that "
                                     "implements one of them")
        if len(candidates) > 1:
            raise ArtifactError(f"{os.path.basename(path)} holds {len(candidates)} predictor classes: "
                                f"{[str(c.getName()) for c in candidates]}; drumnb needs exactly one")
        ctor = candidates[0].getDeclaredConstructor()
        ctor.setAccessible(True)
        instance = ctor.newInstance()
    Map = jpype.JClass("java.util.Map")
    if cls is not None and cls.isInstance(instance):
        kind, iface = "classification", cls
        labels = [str(x) for x in cls.getMethod("getClassLabels").invoke(instance)]
    elif reg is not None and reg.isInstance(instance):
        kind, iface, labels = "regression", reg, None
    else:
        raise ArtifactError(f"the predictor in {os.path.basename(path)} implements neither interface")
    method = iface.getMethod("score", Map.class_)
    features: dict[str, str] = {}
    model_id = None
    try:
        fmap = iface.getMethod("getFeatures").invoke(instance)
        if fmap is not None:
            for key in fmap.keySet():
                typ = fmap.get(key)
                simple = str(typ.getSimpleName()) if typ is not None else ""
                features[str(key)] = "str" if simple == "String" else "num"
    except Exception as exc:  # noqa: BLE001 - getFeatures is optional
        if not is_java_exception(exc):
            raise
    try:
        model_id = str(iface.getMethod("getModelId").invoke(instance))
    except Exception as exc:  # noqa: BLE001
        if not is_java_exception(exc):
            raise
    return JarModel(path, instance, method, kind, labels, features, model_id)


def predict_jar(model: JarModel, data: pd.DataFrame, classification: bool, n: int):
    if classification != (model.kind == "classification"):
        raise ArtifactError(f"the jar's predictor is a {model.kind} predictor; the target type asks for "
                            f"{'classification' if classification else 'regression'}")
    names = [str(c) for c in data.columns]
    categorical = {c for c in names if model.features.get(c) == "str"}
    numeric_features = {c for c, t in model.features.items() if t == "num"}
    jnames, cols = java_columns(data.set_axis(names, axis=1), names,
                                 categorical | {c for c in names if c not in numeric_features
                                                and not pd.api.types.is_numeric_dtype(data[c].dtype)})
    jpype = jvm()
    labels = jpype.JArray(jpype.JClass("java.lang.String"))(model.labels) if model.labels else None
    out = np.array(row_scorer().score(model.predictor, model.method, jnames, cols, n, labels), dtype="float64")
    if model.labels:
        return out.reshape(n, len(model.labels)), model.labels
    return out, None
