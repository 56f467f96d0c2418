"""H2O-3 models: MOJO (``.zip``, ``hex.genmodel.MojoModel``) and POJO (``.java``, compiled at load), both
wrapped in an ``EasyPredictModelWrapper`` and scored by drumnb's ``H2OScorer`` helper class."""
from __future__ import annotations

import logging
import os
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ...core.errors import ArtifactError, InputError
from .columns import java_columns
from .jvm import LOCK, context_loader, is_java_exception, java_message, jvm, url_loader
from .toolchain import compile_java, extra_classpath, genmodel_jar, helper_source

log = logging.getLogger("drumnb")

_state: dict[str, Any] = {}


def h2o_loader() -> Any:
    """A class loader with the genmodel jar and drumnb's H2O helper."""
    with LOCK:
        if "h2o_loader" not in _state:
            jar = genmodel_jar()
            helper = compile_java({**helper_source("RowScorer"), **helper_source("H2OScorer")}, [jar],
                                  key_extra=os.path.realpath(jar))
            _state["h2o_loader"] = url_loader([jar, *extra_classpath(), helper])
            _state["h2o_jar"] = jar
        return _state["h2o_loader"]


@dataclass
class H2OModel:
    kind: str  # "mojo" | "pojo"
    path: str
    wrapper: Any
    features: list[str]
    categorical: set[str]
    category: str
    labels: list[str] | None
    scorer: Any = None
    warned: set[tuple[str, ...]] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"<H2O {self.kind} {os.path.basename(self.path)} {self.category}>"


#: genmodel extensions by MOJO algorithm: the Maven artifact holding each one's MOJO reader
_EXTENSIONS = {"xgboost": "ai.h2o:h2o-genmodel-ext-xgboost"}


def mojo_info(path: str) -> dict[str, str]:
    """The ``[info]`` section of a MOJO zip's ``model.ini`` (empty if it has none)."""
    out: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read("model.ini").decode("utf-8", errors="replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return out
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "info" and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _missing_extension(path: str, said: str) -> ArtifactError:
    info = mojo_info(path)
    algo = info.get("algorithm") or info.get("algo") or "?"
    artifact = _EXTENSIONS.get(info.get("algo", "").lower())
    jar_name = f"{artifact.rpartition(':')[2]}.jar" if artifact else "the-extension.jar"
    jar = os.path.basename(_state.get("h2o_jar", "?"))
    return ArtifactError(
        f"{os.path.basename(path)} is an H2O {algo} MOJO: reading it needs genmodel's {algo} extension"
        + (f" ({artifact})" if artifact else "") + f", which is not on the class path (genmodel jar {jar}"
        + (", DRUMNB_JAVA_CLASSPATH" if os.environ.get("DRUMNB_JAVA_CLASSPATH") else "") + ")"
        + ("" if artifact else f"; Java said: {said}"),
        hint=f"add the extension jar with DRUMNB_JAVA_CLASSPATH=/path/to/{jar_name}, or point "
             "DRUMNB_H2O_GENMODEL_JAR at a genmodel jar that includes it (h2o==3.46.0.11's h2o.jar, used when "
             "that variable is unset, and the h2o-genmodel.jar its cluster serves both include XGBoost's)")


def _warn_missing(model: "H2OModel", missing: list[str]) -> None:
    """Say once per model and set of columns that they are scored as missing (H2O warns the same way)."""
    key = tuple(missing)
    with LOCK:
        if key in model.warned:
            return
        model.warned.add(key)
    log.warning("the input lacks column(s) %s of the H2O model %s: scored as missing (NA) in every row, as H2O "
                "does", missing, os.path.basename(model.path))


def _wrap(kind: str, path: str, genmodel: Any) -> H2OModel:
    jpype = jvm()
    loader = h2o_loader()
    Config = jpype.JClass("hex.genmodel.easy.EasyPredictModelWrapper$Config", loader=loader)
    Wrapper = jpype.JClass("hex.genmodel.easy.EasyPredictModelWrapper", loader=loader)
    cfg = Config().setModel(genmodel).setConvertUnknownCategoricalLevelsToNa(True) \
        .setConvertInvalidNumbersToNa(True)
    wrapper = Wrapper(cfg)
    names = [str(n) for n in genmodel.getNames()]
    nfeatures = int(genmodel.nfeatures())
    features = names[:nfeatures]
    categorical = {n for i, n in enumerate(features) if genmodel.getDomainValues(i) is not None}
    category = str(wrapper.getModelCategory().toString())
    labels = None
    if category in ("Binomial", "Multinomial", "Ordinal"):
        labels = [str(x) for x in wrapper.getResponseDomainValues()]
    scorer = jpype.JClass("drumnb.H2OScorer", loader=loader)
    return H2OModel(kind, path, wrapper, features, categorical, category, labels, scorer)


def load_mojo(path: str) -> H2OModel:
    jpype = jvm()
    loader = h2o_loader()
    MojoModel = jpype.JClass("hex.genmodel.MojoModel", loader=loader)
    try:
        with context_loader(loader):
            genmodel = MojoModel.load(os.path.realpath(path))
    except Exception as exc:  # noqa: BLE001
        if is_java_exception(exc) and "not supported by this version of h2o-genmodel" in java_message(exc):
            raise _missing_extension(path, java_message(exc)) from None
        raise
    return _wrap("mojo", path, genmodel)


def load_pojo(path: str) -> H2OModel:
    cls_name = os.path.splitext(os.path.basename(path))[0]
    with open(path, encoding="utf-8", errors="replace") as fh:
        source = fh.read()
    if f"class {cls_name}" not in source:
        raise ArtifactError(f"{os.path.basename(path)} does not define class {cls_name}",
                            hint="an H2O POJO cannot be renamed: keep the file name H2O gave it")
    loader = h2o_loader()
    classes = compile_java({os.path.basename(path): source}, [_state["h2o_jar"]], key_extra="pojo")
    jpype = jvm()
    pojo_loader = url_loader([classes], parent=loader)
    pojo = jpype.JClass(cls_name, loader=pojo_loader)()
    return _wrap("pojo", path, pojo)


def predict_h2o(model: H2OModel, data: pd.DataFrame, classification: bool, n: int):
    if classification and model.labels is None:
        raise ArtifactError(f"the H2O model {os.path.basename(model.path)} is a {model.category} model; it "
                            "gives no class probabilities", hint="score it as regression")
    if not classification and model.labels is not None:
        raise ArtifactError(f"the H2O model {os.path.basename(model.path)} is a {model.category} classifier",
                            hint=f"score it as binary or multiclass with labels {model.labels}")
    k = len(model.labels) if model.labels else 1
    have = {str(c): c for c in data.columns}
    present = [f for f in model.features if f in have]
    if not present:
        raise InputError(f"the input has none of the columns the H2O model {os.path.basename(model.path)} was "
                         f"trained on: {model.features[:20]}", hint="send a header row with those column names")
    if len(present) < len(model.features):
        _warn_missing(model, [f for f in model.features if f not in have])
    data = data[[have[f] for f in present]].set_axis(present, axis=1)
    names, cols = java_columns(data, present, model.categorical)  # an absent column is missing in every row
    out = np.array(model.scorer.score(model.wrapper, names, cols, n, k), dtype="float64")
    if model.labels:
        return out.reshape(n, k), model.labels
    return out, None
