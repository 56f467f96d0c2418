"""The Java predictor: H2O MOJO / POJO and DataRobot-interface jars, scored in the JVM."""
from __future__ import annotations

import os
from typing import Any

import pandas as pd

from ...core.contract import CLASSIFICATION
from ...core.errors import ArtifactError, InputError
from .. import Predictor
from .h2o import H2OModel, load_mojo, load_pojo, predict_h2o
from .jar import JarModel, load_jar, predict_jar
from .jvm import LOCK, is_java_exception, java_message


class JavaPredictor(Predictor):
    """H2O MOJO / POJO and DataRobot-interface jars, scored in the JVM."""

    name = "java"
    language = "Java"

    def load(self, path: str) -> Any:
        ext = os.path.splitext(path)[1].lower()
        if ext == ".mojo":
            raise ArtifactError(
                f"{os.path.basename(path)} is an H2O Driverless AI MOJO pipeline; scoring it needs Driverless AI's "
                "licensed runtime (daimojo / mojo2-runtime and a license key), which drumnb cannot provide",
                hint="export the model as an H2O-3 MOJO (.zip) or POJO (.java), or score the pipeline with "
                     "Driverless AI's own scorer")
        try:
            with LOCK:
                if ext == ".zip":
                    return load_mojo(path)
                if ext == ".java":
                    return load_pojo(path)
                if ext == ".jar":
                    return load_jar(path)
        except Exception as exc:  # noqa: BLE001
            if is_java_exception(exc):
                raise ArtifactError(f"Java could not load {os.path.basename(path)}: {java_message(exc)}",
                                    hint="check the file is an H2O-3 MOJO/POJO or a predictor jar, exported by a "
                                         "compatible version") from None
            raise
        raise ArtifactError(f"the Java predictor does not read {os.path.basename(path)}")

    # scoring ---------------------------------------------------------------------------------
    def predict(self, model: Any, data: Any, config: Any):
        if not isinstance(data, pd.DataFrame):
            raise InputError(f"a Java model scores a DataFrame, not a {type(data).__name__}")
        classification = config.target_type in CLASSIFICATION
        n = len(data)
        try:
            if isinstance(model, H2OModel):
                return predict_h2o(model, data, classification, n)
            if isinstance(model, JarModel):
                return predict_jar(model, data, classification, n)
        except Exception as exc:  # noqa: BLE001
            if is_java_exception(exc):
                raise InputError(f"the Java model rejected the input: {java_message(exc)}") from None
            raise
        raise ArtifactError(f"the Java predictor cannot score a {type(model).__name__}")

    def classes(self, model: Any) -> list[str] | None:
        """An H2O classifier's response domain, a jar classifier's getClassLabels(): the output's order."""
        if isinstance(model, (H2OModel, JarModel)):
            return list(model.labels) if model.labels else None
        return None

    def expected_columns(self, model: Any) -> list[str] | None:
        if isinstance(model, H2OModel):
            return None  # H2O scores an absent column as missing: predict_h2o selects the features itself
        if isinstance(model, JarModel) and model.features:
            return list(model.features)
        return None

    def describe(self, model: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"predictor": self.name, "model": repr(model)}
        if isinstance(model, H2OModel):
            out.update(h2oKind=model.kind, modelCategory=model.category, features=model.features)
        return out

