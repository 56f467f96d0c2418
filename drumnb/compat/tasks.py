"""Custom task folders: ``class CustomTask(<Interface>)`` in ``custom.py`` instead of hook functions.

DRUM's task templates (and every folder ``drum fit`` writes) define one class
named ``CustomTask`` subclassing an interface of
``datarobot_drum.custom_task_interfaces``.  DRUM then ignores hook functions
and runs: ``CustomTask.load(code_dir)`` once (secrets set on the instance),
then per request ``transform(X)`` for a transformer, ``predict_proba(X,
**labels)`` for binary/multiclass, else ``predict(X, **kwargs)``; the result
is read like a ``score`` hook's DataFrame.  :func:`task_hooks` expresses
exactly that as the hook functions drumnb's model runner already calls
(``load_model``, ``transform``, ``score``), so nothing else needs to know.
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import os
import sys
import threading
import types
from typing import Any, Callable, Iterator

from ..core.errors import ConfigurationError
from ..core.hooks import MODULE_PREFIX, accepted_kwargs

CLASS_NAME = "CustomTask"
#: the module name ``drum fit`` pickles a task under (DRUM imports custom.py as ``custom``)
PICKLE_MODULE = "custom"
SECRETS_MOUNT_ENV, SECRETS_PREFIX_ENV = "USER_SECRETS_MOUNT_PATH", "USER_SECRETS_PREFIX"
PRED_COLUMN = "Predictions"

_lock = threading.RLock()


def task_class(module: types.ModuleType) -> type | None:
    """The ``CustomTask`` class a hooks module defines, if any."""
    cls = vars(module).get(CLASS_NAME)
    return cls if inspect.isclass(cls) else None


def _kinds(cls: type) -> set[str]:
    return {base.__name__ for base in cls.__mro__}


@contextlib.contextmanager
def as_custom_module(cls: type) -> Iterator[None]:
    """While pickling or unpickling a task of ``cls``, its folder module answers to the name ``custom``.

    drumnb loads each ``custom.py`` under a private module name; a task pickled by
    ``drum fit`` refers to ``custom.CustomTask`` and one saved here must too.  The
    helper modules ``custom.py`` imported from its folder (which drumnb forgets after
    loading) are lent back under their names as well, so that the classes they
    define pickle and unpickle as the very objects ``custom.py`` uses.
    """
    module = sys.modules.get(getattr(cls, "__module__", ""))
    if module is None or not module.__name__.startswith(MODULE_PREFIX):
        yield
        return
    with _lock:
        lent = {**getattr(module, "__drumnb_helpers__", {}), PICKLE_MODULE: module}
        previous = {name: sys.modules.get(name) for name in lent}
        own = [c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__]
        sys.modules.update(lent)
        for c in own:
            c.__module__ = PICKLE_MODULE
        try:
            yield
        finally:
            for c in own:
                c.__module__ = module.__name__
            for name, old in previous.items():
                if old is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = old


def load_secrets() -> dict[str, Any]:
    """The secrets DRUM would hand the task, from ``USER_SECRETS_MOUNT_PATH`` / ``USER_SECRETS_PREFIX``."""
    module = importlib.import_module("datarobot_drum.custom_task_interfaces.user_secrets")
    return module.load_secrets(os.environ.get(SECRETS_MOUNT_ENV) or None, os.environ.get(SECRETS_PREFIX_ENV) or None)


def task_hooks(cls: type) -> dict[str, Callable[..., Any]]:
    """The hooks that run custom task class ``cls`` as DRUM runs it.

    Raises TypeError when ``cls`` is not a custom task (DRUM refuses such a folder too).
    """
    kinds = _kinds(cls)
    if "CustomTaskInterface" not in kinds:
        raise TypeError(f"{CLASS_NAME} must subclass an interface of datarobot_drum.custom_task_interfaces "
                        "(TransformerInterface, RegressionEstimatorInterface, BinaryEstimatorInterface, ...)")
    transformer = "TransformerInterface" in kinds

    def load_model(code_dir: str) -> Any:
        with as_custom_module(cls):
            task = cls.load(code_dir)
        if task is None:
            raise TypeError(f"{CLASS_NAME}.load({code_dir!r}) returned None; it must return the task")
        if isinstance(getattr(type(task), "secrets", None), property):
            task.secrets = load_secrets()
        return task

    def transform(data: Any, model: Any) -> Any:
        return model.transform(data)

    def score(data: Any, model: Any, **kwargs: Any) -> Any:
        if transformer:
            raise ConfigurationError(f"{CLASS_NAME} is a TransformerInterface: it transforms, it does not predict",
                                     hint="run this folder with --target-type transform")
        labels = {k: v for k, v in kwargs.items() if v is not None}
        if "positive_class_label" in labels:  # binary: DRUM hands the two labels, not the list
            labels.pop("class_labels", None)
        classification = "positive_class_label" in labels or "class_labels" in labels
        method = model.predict_proba if classification else model.predict
        out = method(data, **accepted_kwargs(method, labels))
        if not classification and getattr(out, "ndim", 0) == 2 and out.shape[1] == 1 and hasattr(out, "set_axis"):
            out = out.set_axis([PRED_COLUMN], axis=1)  # DRUM reads a one-column answer whatever its name
        return out

    hooks: dict[str, Callable[..., Any]] = {"load_model": load_model, "score": score}
    if transformer:
        hooks["transform"] = transform
    for fn in hooks.values():
        fn.__qualname__ = f"{CLASS_NAME}.{fn.__name__}"
    return hooks
