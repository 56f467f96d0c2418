"""The one registry of predictors, keyed by artifact extension (the built-in entries are registered
in ``drumnb/predictors/__init__.py``).

A predictor is registered by *name*, the artifact extensions it reads, the
top-level modules whose objects it can score (for models returned by a
``load_model`` hook), and an import path ``"package.module:Class"``.  The
class is imported only when an artifact of its kind is used, so scoring an
ONNX model never imports torch, TensorFlow or scikit-learn.

Third-party predictors register through the ``drumnb.predictors`` entry
point group: each entry point is a callable that calls :func:`register`.

An entry is the whole of what drumnb knows about a framework, so adding one
is one module (see tests/predictors/test_framework_registry.py):

* reading: ``extensions``, ``modules`` and the predictor class ``target``;
* saving (``drumnb export`` of a notebook object): ``save``, a
  ``"module:function"`` called as ``save(obj, folder, name, example)`` that
  writes the artifact and returns its file name (or None: not this
  framework's object), tried for objects of the ``save_modules`` packages;
* requirements: ``requirements``, modules a model of this kind imports when
  scored (pinned by ``drumnb export``; an item ``"module:function"`` is called
  with the artifact's path and returns more), ``extra``, drumnb's extra that
  installs the framework (hints, ``drumnb env``), and ``env_keep``, the
  distributions of that extra a serving image needs (None: all);
* the template of ``drumnb new`` (its ``--framework`` name is the entry's
  name; for R, Java, Julia its ``--language``): ``template``, a
  ``"package:folder"`` of template files, ``artifact``, the file the
  template's training writes, and ``template_needs``, modules training needs.

A predictor class implements::

    class MyPredictor(Predictor):
        name = "myframework"
        def load(self, path: str) -> Any: ...                 # the deserialized model
        def predict(self, model, data: DataFrame, config) -> tuple[array-like, classes | None]
        def transform(self, model, data) -> DataFrame | sparse matrix   # optional
        def expected_columns(self, model) -> list[str] | None           # optional
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any, Sequence

from ..core.errors import ArtifactError


@dataclass(frozen=True)
class PredictorSpec:
    name: str
    extensions: tuple[str, ...]
    target: str
    modules: tuple[str, ...] = ()
    language: str = "python"
    save: str | None = None
    save_modules: tuple[str, ...] = ()
    requirements: tuple[str, ...] = ()
    extra: str | None = None
    env_keep: tuple[str, ...] | None = None
    template: str | None = None
    artifact: str | None = None
    template_needs: tuple[str, ...] = ()

    def load_class(self) -> type["Predictor"]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def required_modules(self, artifact: str) -> set[str]:
        """Modules scoring ``artifact`` imports: ``requirements``, where an item ``"module:function"`` is
        called with the artifact's path and returns module names (e.g. the globals a pickle imports)."""
        out: set[str] = set()
        for item in self.requirements:
            if ":" in item:
                module, _, attr = item.partition(":")
                out |= set(getattr(importlib.import_module(module), attr)(artifact))
            else:
                out.add(item)
        return out

    def saver(self) -> Any:
        """The ``save`` function (imported now), or None when this framework has none."""
        if not self.save:
            return None
        module, _, attr = self.save.partition(":")
        return getattr(importlib.import_module(module), attr)


_BY_NAME: dict[str, PredictorSpec] = {}
_BY_EXT: dict[str, PredictorSpec] = {}
_entry_points_loaded = False


def register(name: str, extensions: Sequence[str], target: str, *, modules: Sequence[str] = (),
             language: str = "python", save: str | None = None, save_modules: Sequence[str] = (),
             requirements: Sequence[str] = (), extra: str | None = None, env_keep: Sequence[str] | None = None,
             template: str | None = None, artifact: str | None = None,
             template_needs: Sequence[str] = ()) -> PredictorSpec:
    """Register a framework (see the module's doc); a later registration of the same extension wins."""
    spec = PredictorSpec(name, tuple(e.lower() for e in extensions), target, tuple(modules), language, save,
                         tuple(save_modules), tuple(requirements), extra,
                         tuple(env_keep) if env_keep is not None else None, template, artifact,
                         tuple(template_needs))
    _BY_NAME[name] = spec
    for ext in spec.extensions:
        _BY_EXT[ext] = spec
    return spec


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="drumnb.predictors"):
        ep.load()()


def registered() -> dict[str, PredictorSpec]:
    _load_entry_points()
    return dict(_BY_NAME)


def templates(language: str | None = "python") -> dict[str, PredictorSpec]:
    """Entries with a ``drumnb new`` template, in registration order (``language=None``: every language)."""
    return {n: s for n, s in registered().items()
            if s.template and (language is None or s.language.lower() == language)}


def template_languages() -> list[str]:
    """``drumnb new --language`` choices: python, then each other language's template entry name."""
    return ["python"] + [n for n, s in registered().items() if s.template and s.language.lower() != "python"]


def env_frameworks() -> dict[str, PredictorSpec]:
    """Entries ``drumnb env --framework`` can install (those naming a drumnb extra)."""
    return {n: s for n, s in registered().items() if s.extra and s.language == "python"}


def savers() -> list[PredictorSpec]:
    """Entries that save notebook objects, in registration order."""
    return [s for s in registered().values() if s.save]


def extension_of(path: str) -> str:
    name = os.path.basename(path).lower()
    for ext in sorted(_BY_EXT, key=len, reverse=True):  # longest first: ".tar.gz" before ".gz"
        if name.endswith(ext):
            return ext
    return os.path.splitext(name)[1]


def find_artifacts(code_dir: str) -> list[str]:
    """Files at the top of ``code_dir`` whose extension a predictor reads."""
    _load_entry_points()
    out = []
    for entry in sorted(os.listdir(code_dir)):
        path = os.path.join(code_dir, entry)
        if os.path.isfile(path) and extension_of(path) in _BY_EXT:
            out.append(path)
    return out


def for_artifact(path: str) -> PredictorSpec:
    _load_entry_points()
    try:
        return _BY_EXT[extension_of(path)]
    except KeyError:
        raise ArtifactError(f"no predictor reads {os.path.basename(path)!r}",
                            hint=f"known artifact extensions: {', '.join(sorted(_BY_EXT))}") from None


def for_object(obj: Any) -> PredictorSpec | None:
    """The predictor for a model object returned by ``load_model`` (by its type's package)."""
    _load_entry_points()
    for klass in type(obj).__mro__:
        top = (klass.__module__ or "").split(".")[0]
        for spec in _BY_NAME.values():
            if top in spec.modules:
                return spec
    if callable(getattr(obj, "predict", None)) or callable(getattr(obj, "predict_proba", None)):
        return _BY_NAME.get("sklearn")  # any estimator-like object
    return None


class Predictor:
    """Base class: a framework's way to load an artifact and score a DataFrame."""

    name = "base"
    language = "python"

    def __init__(self, config: Any):
        self.config = config

    def load(self, path: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict(self, model: Any, data: Any, config: Any) -> tuple[Any, Sequence[Any] | None]:
        raise NotImplementedError  # pragma: no cover - abstract

    def transform(self, model: Any, data: Any) -> Any:
        raise ArtifactError(f"a {self.name} model cannot transform data",
                            hint="define a 'transform' hook in custom.py")

    def expected_columns(self, model: Any) -> list[str] | None:
        return None

    def drum_name(self, model: Any) -> str:
        """The predictor's name as DRUM's ``/info/`` gives it (``scikit-learn``, ``xgboost``, ``torch``, ...)."""
        return self.name

    def check(self, model: Any, config: Any) -> None:
        """Raise :class:`ArtifactError` now when ``model`` loaded but cannot be scored as ``config`` asks."""

    def classes(self, model: Any) -> Sequence[Any] | None:
        """The classes a classifier was trained on, in its output order (None when the model does not say)."""
        return None

    def describe(self, model: Any) -> dict[str, Any]:
        return {"predictor": self.name, "model": type(model).__module__ + "." + type(model).__qualname__}
