"""What a model folder tells without a full load: artifact kind, target type, labels, hooks, problems.

:func:`describe_folder` reads, in this order, and stops at the first that answers:

1. ``model-metadata.yaml`` (``targetType``, labels) and ``class_labels.txt``, resolved as ``drumnb score``
   would (:func:`drumnb.core.contract.resolve_config`, without the environment);
2. the artifact, found through the predictor registry: an H2O MOJO's ``model.ini`` (its model category and
   the response column's domain), an H2O POJO's source (``getModelCategory`` and ``DOMAINS``), a small
   pickled scikit-learn-like estimator (``classes_`` and its kind; unpickled only when it is small and
   imports nothing but the frameworks listed in :data:`PICKLE_MODULES`);
3. the hooks, read with :mod:`ast` (or a pattern for R and Julia): ``chat`` makes a text generation model
   (as DRUM serves chat for it), ``score_unstructured`` an unstructured one.

Nothing else runs: no ``custom.py``, no JVM.  The JupyterLab sidebar (:mod:`drumnb.labext.folders`) shows
the result; :meth:`FolderDescription.load_kwargs` gives what ``load_model`` needs beyond the folder.
"""
from __future__ import annotations

import ast
import os
import re
import warnings
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import predictors
from ..core.contract import LABELLED, read_label_file, resolve_config
from ..core.errors import DrumnbError
from ..core.hooks import ALL_HOOKS
from ..core.metadata import FILENAME, ModelMetadata, read_metadata
from ..core.targets import TargetType
from ..predictors.saving import pickle_modules

HOOK_FILES = {"custom.py": "python", "custom.R": "r", "custom.r": "r", "custom.jl": "julia"}
#: a pickle is unpickled for its classes only when it is at most this big ...
PICKLE_MAX_BYTES = 5_000_000
#: ... and imports only these top-level modules (no torch, no user code)
PICKLE_MODULES = {"sklearn", "numpy", "scipy", "xgboost", "lightgbm", "imblearn", "joblib", "builtins",
                  "copyreg", "collections", "_codecs", "pandas", "datetime", "functools"}
#: a POJO's source is searched for its category and labels in its first bytes only
POJO_MAX_BYTES = 4_000_000
_R_HOOK = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:<-|=)\s*function\b", re.M)
_JL_HOOK = re.compile(r"^\s*function\s+([A-Za-z_][A-Za-z0-9_!]*)\s*\(", re.M)
#: H2O model categories -> target types
H2O_CATEGORIES = {"Binomial": TargetType.BINARY, "Multinomial": TargetType.MULTICLASS,
                  "Ordinal": TargetType.MULTICLASS, "Regression": TargetType.REGRESSION,
                  "AnomalyDetection": TargetType.ANOMALY}


@dataclass
class FolderDescription:
    """See :func:`describe_folder`.  ``labels``: binary ``[negative, positive]``, multiclass in order."""

    folder: str
    name: str
    metadata: str | None = None
    model_name: str | None = None
    target_type: str | None = None
    #: "metadata" | "labels" (given without a type) | "artifact" | "hooks" | "assumed" | None (see problems)
    target_type_source: str | None = None
    target_type_reason: str = ""
    labels: list[str] | None = None
    labels_source: str | None = None
    artifacts: list[str] = field(default_factory=list)
    artifact_kind: str | None = None
    predictor: str | None = None
    language: str | None = None
    hook_file: str | None = None
    hooks: list[str] = field(default_factory=list)
    #: ``{"level": "error" | "warning" | "info", "message"}``
    problems: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_kwargs(self) -> dict[str, Any]:
        """``load_model`` keywords for what the folder's metadata does not say itself (inferred type, labels)."""
        if self.target_type is None or self.target_type_source in ("metadata", "labels") and \
                self.labels_source in ("metadata", "class_labels.txt", None):
            return {}
        out: dict[str, Any] = {"target_type": self.target_type}
        if self.labels and self.target_type == TargetType.BINARY and len(self.labels) == 2:
            out.update(negative_class_label=self.labels[0], positive_class_label=self.labels[1])
        elif self.labels and self.target_type in LABELLED:
            out["class_labels"] = list(self.labels)
        return out

    def _say(self, level: str, message: str) -> None:
        self.problems.append({"level": level, "message": message})


@dataclass
class _Inferred:
    target_type: str | None = None
    labels: list[str] | None = None
    kind: str | None = None
    reason: str = ""


# --- artifacts ---------------------------------------------------------------------------------------

def _mojo(path: str) -> _Inferred:
    """An H2O MOJO's category and response domain, from ``model.ini`` (and ``domains/``) inside the zip."""
    out = _Inferred(kind="H2O MOJO")
    try:
        with zipfile.ZipFile(path) as zf:
            sections: dict[str, list[str]] = {}
            current = None
            for line in zf.read("model.ini").decode("utf-8", "replace").splitlines():
                line = line.strip()
                if line.startswith("[") and line.endswith("]"):
                    current = sections.setdefault(line[1:-1], [])
                elif line and current is not None:
                    current.append(line)
            info = dict(x.split("=", 1) for x in sections.get("info", []) if "=" in x)
            info = {k.strip(): v.strip() for k, v in info.items()}
            category = info.get("category", "")
            out.kind = f"H2O MOJO ({info.get('algo', '?')}, {category or 'no category'})"
            out.target_type = H2O_CATEGORIES.get(category)
            out.reason = f"model.ini: category = {category}"
            columns = sections.get("columns", [])
            if out.target_type in LABELLED and columns and info.get("supervised", "true") == "true":
                response = len(columns) - 1
                for entry in sections.get("domains", []):
                    index, _, rest = entry.partition(":")
                    if index.strip() == str(response):
                        name = rest.split()[-1]
                        text = zf.read(f"domains/{name}").decode("utf-8", "replace")
                        out.labels = [x for x in text.splitlines() if x != ""]
    except (OSError, KeyError, ValueError, IndexError, zipfile.BadZipFile):
        if out.target_type is None:
            out.kind = "zip (not an H2O MOJO: no model.ini)"
    return out


_JAVA_STRING = r'"((?:[^"\\]|\\.)*)"'


def _java_strings(text: str) -> list[str]:
    return [bytes(s, "utf-8").decode("unicode_escape") if "\\" in s else s for s in re.findall(_JAVA_STRING, text)]


def _pojo(path: str) -> _Inferred:
    """An H2O POJO's ``getModelCategory`` and the domain of its response column (``DOMAINS``' last entry)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(POJO_MAX_BYTES)
    except OSError:
        return _Inferred(kind="Java source")
    found = re.search(r"hex\.ModelCategory\.(\w+)", text)
    if not found:
        return _Inferred(kind="Java source (not an H2O POJO)")
    category = found.group(1)
    algo = re.search(r'@ModelPojo\(name="[^"]*", algorithm="(\w+)"', text)
    out = _Inferred(H2O_CATEGORIES.get(category), None, f"H2O POJO ({algo.group(1) if algo else '?'}, {category})",
                    f"getModelCategory() = {category}")
    domains = re.search(r"DOMAINS\s*=\s*new String\[\]\[\]\s*\{(.*?)\n\s*\};", text, re.S)
    if out.target_type in LABELLED and domains:
        last = [x.strip() for x in re.sub(r"/\*.*?\*/", "", domains.group(1)).split(",") if x.strip()][-1]
        holder = re.match(r"(\w+)\.VALUES$", last)
        if holder:  # the values sit in class HOLDER (and its nested fill classes), up to the next top-level class
            block = re.search(rf"^class {holder.group(1)}\b(.*?)(?=^\S)", text[domains.end():], re.S | re.M)
            if block:
                out.labels = _java_strings("".join(re.findall(r"sa\[\d+\]\s*=\s*(\"(?:[^\"\\]|\\.)*\");",
                                                              block.group(1))))
        elif last.startswith("new String"):
            out.labels = _java_strings(last)
    return out


_PICKLES: dict[tuple[str, int, int], _Inferred] = {}


def _pickle(path: str, spec: predictors.PredictorSpec) -> _Inferred:
    """:func:`_read_pickle`, remembered by path, size and modification time (a sidebar asks every refresh)."""
    try:
        st = os.stat(path)
    except OSError:
        return _Inferred(kind="pickle")
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns)
    if key not in _PICKLES:
        if len(_PICKLES) > 256:
            _PICKLES.clear()
        _PICKLES[key] = _read_pickle(path, spec, st.st_size)
    return _PICKLES[key]


def _read_pickle(path: str, spec: predictors.PredictorSpec, size: int) -> _Inferred:
    """A small pickled estimator's kind and classes (unpickled only when it imports known frameworks only)."""
    out = _Inferred(kind="pickle")
    try:
        if size > PICKLE_MAX_BYTES:
            return out
        with open(path, "rb") as fh:
            modules = pickle_modules(fh.read())
    except Exception:  # noqa: BLE001 - a joblib file, or not a pickle: left to the full load
        return out
    if not modules or not modules <= PICKLE_MODULES:
        return out
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # version mismatch warnings belong to the full load
            predictor = spec.load_class()(None)
            model = predictor.load(path)
            classes = predictor.classes(model)
    except Exception:  # noqa: BLE001 - the full load will say what is wrong
        return out
    out.kind = f"pickle ({type(model).__name__})"
    if classes is not None and len(classes) >= 2:
        out.labels = [str(c) for c in classes]
        out.target_type = TargetType.BINARY if len(classes) == 2 else TargetType.MULTICLASS
        out.reason = f"{type(model).__name__}.classes_"
        return out
    kind = getattr(model, "_estimator_type", None)
    try:
        kind = model.__sklearn_tags__().estimator_type or kind
    except Exception:  # noqa: BLE001 - not scikit-learn >= 1.6
        pass
    if kind == "regressor":
        out.target_type, out.reason = TargetType.REGRESSION, f"{type(model).__name__} is a regressor"
    elif kind == "outlier_detector":
        out.target_type, out.reason = TargetType.ANOMALY, f"{type(model).__name__} is an outlier detector"
    elif callable(getattr(model, "transform", None)) and not callable(getattr(model, "predict", None)):
        out.target_type, out.reason = TargetType.TRANSFORM, f"{type(model).__name__} only transforms"
    return out


def _from_artifact(path: str, spec: predictors.PredictorSpec) -> _Inferred:
    name = path.lower()
    if spec.name == "java" and name.endswith(".zip"):
        return _mojo(path)
    if spec.name == "java" and name.endswith(".java"):
        return _pojo(path)
    if spec.name == "sklearn":
        return _pickle(path, spec)
    return _Inferred(kind=spec.name)


# --- hooks -------------------------------------------------------------------------------------------

def read_hooks(folder: str) -> tuple[str | None, str | None, list[str]]:
    """(hook file, language, hooks it defines) -- Python by :mod:`ast`, R and Julia by pattern."""
    for filename, language in HOOK_FILES.items():
        path = os.path.join(folder, filename)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            return filename, language, []
        if language == "python":
            try:
                tree = ast.parse(text)
            except SyntaxError:
                return filename, language, []
            names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        else:
            names = set((_R_HOOK if language == "r" else _JL_HOOK).findall(text))
        return filename, language, [h for h in ALL_HOOKS if h in names]
    return None, None, []


def _from_hooks(hooks: list[str]) -> _Inferred:
    if "chat" in hooks:
        return _Inferred(TargetType.TEXTGENERATION, reason="custom.py defines chat")
    if "score_unstructured" in hooks:
        return _Inferred(TargetType.UNSTRUCTURED, reason="custom.py defines score_unstructured")
    return _Inferred()


# --- the folder --------------------------------------------------------------------------------------

def _metadata(out: FolderDescription) -> ModelMetadata:
    metadata = ModelMetadata()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            metadata = read_metadata(out.folder)
        except DrumnbError as exc:
            out._say("error", exc.render())
    for w in caught:
        out._say("warning", str(w.message))
    if metadata.path:
        out.metadata, out.model_name = FILENAME, metadata.name
    return metadata


def _labels_of(config: Any) -> list[str] | None:
    if config.target_type == TargetType.BINARY:
        return [str(config.negative_class_label), str(config.positive_class_label)]
    return [str(x) for x in config.class_labels] if config.class_labels else None


def describe_folder(folder: str) -> FolderDescription:
    """What ``folder`` tells without loading it: see the module's doc.  Never raises for a bad folder."""
    folder = os.path.abspath(folder)
    out = FolderDescription(folder=folder, name=os.path.basename(folder))
    metadata = _metadata(out)
    try:
        artifacts = predictors.find_artifacts(folder)
    except OSError:
        artifacts = []
    out.artifacts = [os.path.basename(a) for a in artifacts]
    spec = predictors.for_artifact(artifacts[0]) if artifacts else None
    if spec is not None:
        out.predictor, out.language = spec.name, spec.language
    out.hook_file, language, out.hooks = read_hooks(folder)
    out.language = language or out.language
    if len(artifacts) > 1 and "load_model" not in out.hooks:
        out._say("warning", f"{len(artifacts)} artifacts ({', '.join(out.artifacts)}); DRUM wants one, or a "
                            "load_model hook that picks")

    labels_file = os.path.isfile(os.path.join(folder, "class_labels.txt"))
    given = metadata.target_type or (metadata.positive_class_label and metadata.negative_class_label) or \
        metadata.class_labels or labels_file
    reads_artifact = spec is not None and "load_model" not in out.hooks
    # H2O files are read in a millisecond; a pickle is loaded only when the metadata leaves a question
    artifact = _from_artifact(artifacts[0], spec) if reads_artifact and (spec.name == "java" or not given) \
        else _Inferred(kind=spec.name if spec else None)
    out.artifact_kind = artifact.kind
    if given:
        try:
            config = resolve_config(folder, metadata, env={})
            out.target_type = config.target_type
            out.labels = _labels_of(config)
            out.labels_source = (("metadata" if metadata.class_labels or metadata.positive_class_label
                                  else "class_labels.txt") if out.labels else None)
            out.target_type_source = "metadata" if metadata.target_type else "labels"
            out.target_type_reason = (f"{FILENAME}: targetType" if metadata.target_type
                                      else "labels given without a target type")
        except DrumnbError as exc:
            out.target_type = metadata.target_type
            out.target_type_source = "metadata" if metadata.target_type else None
            if out.target_type in LABELLED and reads_artifact and not artifact.labels and spec.name != "java":
                artifact = _from_artifact(artifacts[0], spec)
                out.artifact_kind = artifact.kind
            if out.target_type in LABELLED and artifact.labels:
                out.labels, out.labels_source = artifact.labels, "artifact"
                out._say("warning", f"{FILENAME} names no class labels; the artifact's are "
                                    f"{', '.join(artifact.labels)} (the Score panel passes them; add them to "
                                    f"{FILENAME} for drumnb score and DRUM)")
            else:
                out._say("error", exc.render())
        if artifact.target_type and out.target_type and artifact.target_type != out.target_type:
            out._say("warning", f"{FILENAME} says {out.target_type}, but {artifact.kind} is "
                                f"{artifact.target_type} ({artifact.reason})")
    else:
        hooks = _from_hooks(out.hooks)
        inferred, source = (artifact, "artifact") if artifact.target_type else (hooks, "hooks")
        if inferred.target_type:
            out.target_type, out.target_type_source = inferred.target_type, source
            out.target_type_reason, out.labels = inferred.reason, inferred.labels
            out.labels_source = "artifact" if inferred.labels else None
            if out.target_type in LABELLED and not out.labels:
                out._say("warning", f"{out.target_type} ({inferred.reason}), but its class labels are unknown: "
                                    "pass them (--positive-class-label/--negative-class-label or --class-labels)")
        elif artifacts or out.hooks:
            out.target_type, out.target_type_source = TargetType.REGRESSION, "assumed"
            out.target_type_reason = "nothing says: drumnb assumes regression"
            out._say("warning", f"no target type: drumnb assumes regression (set targetType in {FILENAME} or "
                                "pass -t)")
    _check_scorable(out, artifacts)
    return out


def _check_scorable(out: FolderDescription, artifacts: list[str]) -> None:
    scores = set(out.hooks) & {"score", "score_unstructured", "chat", "transform", "load_model"}
    if not artifacts and not scores:
        out._say("error", "no artifact and no load_model/score hook: nothing to score")
    if out.target_type == TargetType.UNSTRUCTURED and out.hook_file and "score_unstructured" not in out.hooks:
        out._say("error", "an unstructured model needs a score_unstructured hook")
    if out.target_type in (TargetType.TEXTGENERATION, TargetType.AGENTICWORKFLOW) and out.hook_file and \
            not set(out.hooks) & {"chat", "score"}:
        out._say("error", f"a {out.target_type} model needs a chat or score hook")
