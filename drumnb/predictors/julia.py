"""Julia models (``.jlso`` MLJ machines, ``custom.jl`` hooks) through ``juliacall``.

**Status: not verified.**  Julia cannot be installed on the machine drumnb is
built on (no Debian package; juliacall's installer and Julia's package server
are unreachable: see feasibility.md §3).  What *is* verified: a Julia model
folder fails at load with :class:`JuliaUnavailableError`, a typed
:class:`ArtifactError` that says what is missing and how to install it.

The adapter below is written against juliacall's documented API
(``juliacall.Main.seval``, PythonCall's ``PyTable``) and DRUM's Julia contract
(``JLSO.load(path)[:model]`` / ``MLJ.predict``; ``custom.jl`` hooks with the
Python hooks' names), and is exercised in the tests only with a stand-in for
``juliacall.Main``.  Treat it as a starting point for a machine with Julia.
"""
from __future__ import annotations

import itertools
import os
from typing import Any

import pandas as pd

from ..core.contract import CLASSIFICATION
from ..core.errors import ArtifactError, HookError, HookLoadError
from ..core.hooks import Hooks
from . import Predictor

HOOK_FILE = "custom.jl"
JULIA_HOOKS = ("init", "load_model", "read_input_data", "transform", "score", "post_process", "score_unstructured")
INSTALL_HINT = ("install Julia (>= 1.6, from julialang.org or juliaup), then 'pip install juliacall' and, in Julia, "
                "add the packages the model needs: ] add MLJ JLSO DataFrames CSV (and the model's own, e.g. "
                "MLJLinearModels); set PYTHON_JULIACALL_EXE to the julia binary to use an existing install")

_counter = itertools.count(1)
_state: dict[str, Any] = {}


class JuliaUnavailableError(ArtifactError):
    """The Julia runtime (juliacall + Julia) is not available in this environment."""


def julia() -> Any:
    """``juliacall.Main``, starting Julia once; a typed error when it cannot run."""
    if "jl" in _state:
        return _state["jl"]
    try:
        from juliacall import Main as jl  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        raise JuliaUnavailableError(
            f"Julia runtime not available: the Python package {exc.name!r} is not installed, so drumnb cannot "
            "run Julia models (.jlso, custom.jl)", hint=INSTALL_HINT) from None
    except Exception as exc:  # noqa: BLE001 - juliacall fails in many ways when Julia cannot be fetched
        raise JuliaUnavailableError(
            f"Julia runtime not available: juliacall could not start Julia ({type(exc).__name__}: {exc})",
            hint=INSTALL_HINT) from None
    _state["jl"] = jl
    return jl


def _using(jl: Any, *packages: str) -> None:
    try:
        jl.seval("using " + ", ".join(packages))
    except Exception as exc:  # noqa: BLE001
        raise JuliaUnavailableError(f"Julia cannot load {', '.join(packages)}: {exc}", hint=INSTALL_HINT) from None


def to_julia(jl: Any, value: Any) -> Any:
    """pandas -> DataFrames.DataFrame (through PythonCall's PyTable); other values as juliacall converts them."""
    if isinstance(value, pd.DataFrame):
        return jl.seval("df -> DataFrames.DataFrame(PythonCall.PyTable(df))")(value)
    return value


def to_python(jl: Any, value: Any) -> Any:
    """DataFrames.DataFrame -> pandas; ``nothing`` -> None; others as juliacall gives them."""
    if value is None:
        return None
    try:
        is_table = bool(jl.seval("x -> x isa DataFrames.AbstractDataFrame")(value))
    except Exception:  # noqa: BLE001
        is_table = False
    if is_table:
        return jl.seval("df -> PythonCall.pytable(df, :pandas)")(value)
    return value


class JuliaPredictor(Predictor):
    """An MLJ machine saved with JLSO (``.jlso``); needs a Julia runtime."""

    name = "julia"
    language = "Julia"

    def load(self, path: str) -> Any:
        jl = julia()
        _using(jl, "JLSO", "MLJ", "DataFrames", "PythonCall")
        try:
            saved = jl.JLSO.load(os.path.realpath(path))
            return jl.seval("d -> haskey(d, :model) ? d[:model] : first(values(d))")(saved)
        except Exception as exc:  # noqa: BLE001
            raise ArtifactError(f"Julia cannot read {os.path.basename(path)}: {exc}",
                                hint="save the machine with JLSO.save(path, :model => mach)") from None

    def predict(self, model: Any, data: Any, config: Any):
        jl = julia()
        table = to_julia(jl, data)
        if config.target_type in CLASSIFICATION:
            probs = jl.seval("(m, X) -> begin p = MLJ.predict(m, X); ls = MLJ.classes(p[1]); "
                             "(string.(ls), [MLJ.pdf(d, l) for d in p, l in ls]) end")(model, table)
            labels, matrix = probs
            return matrix.to_numpy() if hasattr(matrix, "to_numpy") else matrix, [str(x) for x in labels]
        out = jl.seval("(m, X) -> collect(MLJ.predict(m, X))")(model, table)
        return out.to_numpy() if hasattr(out, "to_numpy") else out, None


def load_julia_hooks(code_dir: str) -> Hooks:
    """Hooks of ``custom.jl``, each as a Python callable over pandas objects (needs a Julia runtime)."""
    path = os.path.realpath(os.path.join(code_dir, HOOK_FILE))
    jl = julia()
    _using(jl, "DataFrames", "PythonCall")
    module = f"DrumnbCustom{next(_counter)}"
    try:
        jl.seval(f"module {module}\nusing DataFrames\ninclude({path!r})\nend")
    except Exception as exc:  # noqa: BLE001
        raise HookLoadError("import", str(exc), file=path, cause_type="JuliaError") from None
    mod = jl.seval(module)
    hooks = Hooks(path=path, language="Julia")
    for name in JULIA_HOOKS:
        if bool(jl.seval(f"isdefined({module}, :{name})")):
            hooks.functions[name] = _wrap(jl, name, getattr(mod, name), path)
    return hooks


def _wrap(jl: Any, hook: str, fn: Any, path: str) -> Any:
    error = HookLoadError if hook in ("init", "load_model") else HookError

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            out = fn(*[to_julia(jl, a) for a in args], **kwargs)
        except Exception as exc:  # noqa: BLE001 - juliacall.JuliaError
            raise error(hook, str(exc), file=path, cause_type="JuliaError") from None
        return out if hook == "load_model" else to_python(jl, out)

    wrapper.__name__ = hook
    return wrapper


__all__ = ["JuliaPredictor", "JuliaUnavailableError", "load_julia_hooks", "julia"]
