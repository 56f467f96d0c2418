"""The built-in predictor for ``.rds`` files: ``readRDS`` and R's ``predict``."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from ...core.contract import CLASSIFICATION
from ...core.errors import ArtifactError, InputError
from .. import Predictor
from .calls import call_r, emit_warnings, missing_package, package_hint
from .convert import all_sparse, clear_cache, frame_to_csv, recall, to_py, to_r
from .hooks import read_csv_in_r
from .runtime import R_LOCK, r_env, refuse_after_jvm, rinterface, support_fn


class RPredictor(Predictor):
    """``readRDS`` + R's ``predict`` (caret: ``type = "prob"`` for classifiers, NA rows kept)."""

    name = "r"
    language = "R"

    def load(self, path: str) -> Any:
        refuse_after_jvm(os.path.basename(path))
        with R_LOCK:
            r_env()
            ri = rinterface()
            res = call_r(ri.baseenv["readRDS"], [os.path.realpath(path)])
            if not res.ok:
                self._package_error(res.message, path)
                raise ArtifactError(f"R cannot read {os.path.basename(path)}: {res.message}",
                                    hint="save the model with saveRDS(model, 'model.rds')")
            model = res.value
            self.prepare(model, os.path.basename(path))
            return model

    def prepare(self, model: Any, what: str) -> None:
        """Check and load the R packages the model needs, so that a missing one fails at load."""
        packages = [str(p) for p in support_fn("model_packages")(model)]
        missing = [str(p) for p in support_fn("missing_packages")(rinterface().StrSexpVector(packages))] if packages else []
        if missing:
            raise ArtifactError(f"the R model {what} needs the R package(s) {', '.join(missing)}, "
                                "which are not installed", hint=package_hint(missing))
        if packages:
            res = call_r(support_fn("load_packages"), [packages])
            if not res.ok:
                self._package_error(res.message, what)
                raise ArtifactError(f"cannot load the R packages {packages} for {what}: {res.message}")

    @staticmethod
    def _package_error(message: str, what: str) -> None:
        package = missing_package(message)
        if package:
            raise ArtifactError(f"the R model {os.path.basename(what)} needs the R package {package!r}, "
                                f"which is not installed ({message})", hint=package_hint([package]))

    def read_bytes(self, raw: bytes) -> pd.DataFrame:
        """CSV bytes parsed by R's ``read.csv`` (for the core, when no read_input_data hook is defined).

        The result is the pandas view; ``predict`` gets the R data.frame itself back from it.
        """
        with R_LOCK:
            r_env()
            clear_cache()
            return read_csv_in_r(bytes(raw))

    def _r_frame(self, data: Any) -> Any:
        cached = recall(data)
        if cached is not None:
            return cached
        if isinstance(data, pd.DataFrame) and not all_sparse(data):  # the same path as CSV bytes: R's read.csv
            res = call_r(support_fn("read_csv_raw"), [frame_to_csv(data)])
            if not res.ok:
                raise InputError(f"R's read.csv cannot read the data: {res.message}")
            return res.value
        return to_r(data)

    def predict(self, model: Any, data: Any, config: Any):
        classification = config.target_type in CLASSIFICATION
        with R_LOCK:
            ri = rinterface()
            if not isinstance(model, ri.Sexp):
                raise ArtifactError(f"the R predictor cannot score a {type(model).__name__}",
                                    hint="return an R model object from load_model in custom.R")
            frame = self._r_frame(data)
            res = call_r(support_fn("predict_model"), [model, frame, classification])
            if not res.ok:
                package = missing_package(res.message)
                if package or "Required package" in res.message:
                    raise ArtifactError(f"R cannot score the model: {res.message}",
                                        hint=package_hint([package]) if package else None)
                raise InputError(f"the R model rejected the input: {res.message}"
                                 + (f" (in {res.fname}())" if res.fname else ""),
                                 hint="send the columns the model was trained on, with values of the same type")
            failing = emit_warnings(res, "R's predict")
            if failing is not None:
                raise InputError(f"R's predict warned: {failing}", hint="unset DRUMNB_R_WARNINGS=error to allow it")
            out = to_py(res.value)
        if isinstance(out, pd.DataFrame):
            return out, (list(out.columns) if classification else None)
        if isinstance(out, pd.Series):
            return out.to_numpy(), None
        return np.asarray(out), None

    def transform(self, model: Any, data: Any) -> Any:
        raise ArtifactError("an R model has no built-in transform",
                            hint="define transform(data, model) in custom.R")

    @staticmethod
    def _names_of(model: Any, fn: str) -> list[str] | None:
        """The character vector the support function ``fn`` gives for an R model (None for NULL)."""
        with R_LOCK:
            ri = rinterface()
            if not isinstance(model, ri.Sexp):
                return None
            names = support_fn(fn)(model)
            return None if names is ri.NULL else [str(c) for c in names]

    def classes(self, model: Any) -> list[str] | None:
        """A caret classifier's levels: the columns of its type = "prob" output, in that order."""
        return self._names_of(model, "model_classes")

    def expected_columns(self, model: Any) -> list[str] | None:
        return self._names_of(model, "expected_columns")

    def describe(self, model: Any) -> dict[str, Any]:
        with R_LOCK:
            kind = str(support_fn("describe")(model)[0]) if isinstance(model, rinterface().Sexp) else type(model).__name__
        return {"predictor": self.name, "model": f"R {kind}"}

