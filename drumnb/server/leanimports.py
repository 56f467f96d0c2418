"""Start-up trims for server workers: import-time work a server never uses, skipped.

SciPy 1.16+ rewrites the docstring of every function it tags with
``xp_capabilities`` when ``scipy.stats`` & co. are imported (about 470
docstrings parsed and re-rendered: 0.15-0.2 s of a scikit-learn server's
start on this machine).  A server never shows those docstrings, so a server
worker installs :func:`install` before it loads the model: when (and only
when) the model's own imports reach ``scipy._lib._array_api``, its
``xp_capabilities`` is replaced by one that records the same capabilities in
SciPy's table and leaves the docstring as written.  Nothing is imported ahead
of the model, nothing changes for a model that does not use SciPy, and an
unknown SciPy layout leaves SciPy untouched.

The worker also loads with the cyclic garbage collector paused
(:func:`no_gc_passes`): importing pandas, scikit-learn and SciPy allocates
hundreds of thousands of long-lived objects, and the collector's passes over
them cost 0.15-0.25 s of a 1.3-1.5 s load on this machine.  It runs again as
soon as the app is built.

``DRUMNB_LEAN_IMPORTS=0`` turns both off.  Notebooks never install them (``help()``
there should show SciPy's notes).
"""
from __future__ import annotations

import contextlib
import gc
import importlib.abc
import importlib.machinery
import inspect
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("drumnb.server")

ENV = "DRUMNB_LEAN_IMPORTS"
TARGET = "scipy._lib._array_api"


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def install() -> bool:
    """Skip SciPy's import-time docstring rewriting in this process; False when there is nothing to do."""
    if not enabled() or TARGET in sys.modules or any(isinstance(f, _Finder) for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, _Finder())
    return True


@contextlib.contextmanager
def no_gc_passes() -> Iterator[None]:
    """No cyclic garbage collection inside the block (the app's load); the collector's state comes back after."""
    if not enabled() or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself; wraps the loader of :data:`TARGET` so that its module is trimmed once loaded."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _TrimmingLoader(spec.loader)
        return spec


class _TrimmingLoader(importlib.abc.Loader):
    def __init__(self, loader: Any):
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        try:
            trim(module)
        except Exception:  # noqa: BLE001 - an unknown layout: SciPy as it is
            log.debug("SciPy left as it is", exc_info=True)


def trim(module: Any) -> bool:
    """Replace ``module.xp_capabilities`` by a decorator that only records the capabilities."""
    original = getattr(module, "xp_capabilities", None)
    table = getattr(module, "xp_capabilities_table", None)
    if not callable(original) or not isinstance(table, dict):
        return False
    signature = inspect.signature(original)
    if "capabilities_table" not in signature.parameters:
        return False
    kept_out = {"capabilities_table", "extra_note"}

    def xp_capabilities(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        where = values.pop("capabilities_table", None)
        where = table if where is None else where
        if values.get("out_of_scope"):
            values["np_only"] = True
        capabilities = {k: v for k, v in values.items() if k not in kept_out}

        def decorator(f: Any) -> Any:
            where[f] = capabilities
            return f

        return decorator

    xp_capabilities.__doc__ = original.__doc__
    xp_capabilities.__wrapped__ = original  # type: ignore[attr-defined]
    module.xp_capabilities = xp_capabilities
    return True
