"""``custom.R`` hooks as Python callables over pandas objects (the core's hook loader for R)."""
from __future__ import annotations

import inspect
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import pandas as pd

from ...core.errors import HookError, HookLoadError, InputError
from ...core.hooks import Hooks, near_miss
from .calls import RResult, call_r, emit_warnings, missing_package, package_hint
from .convert import clear_cache, r_names, to_py, to_r
from .runtime import R_LOCK, RWarning, r_env, refuse_after_jvm, rinterface, support_fn

HOOK_FILES = ("custom.R", "custom.r")
R_HOOKS = ("init", "load_model", "read_input_data", "transform", "score", "post_process", "score_unstructured")
LOAD_HOOKS = ("init", "load_model")


@dataclass
class RHooks(Hooks):
    """Hooks from ``custom.R`` (without ``read_input_data`` the R predictor's ``read_bytes`` reads the input)."""

    env: Any = None


def _signature(formals: list[str]) -> inspect.Signature:
    params = []
    for name in formals:
        if name == "...":  # R's dots take positional and named arguments alike
            params.append(inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL))
            params.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
        elif name.isidentifier() and not any(p.name == name for p in params):
            params.append(inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD))
    params.sort(key=lambda p: p.kind)  # named, then *args, then **kwargs (stable: R's order kept)
    return inspect.Signature(params)


def _target_to_r(y: Any) -> Any:
    """The target values for ``transform``'s third argument: a data.frame, as DRUM reads them (read.csv)."""
    if isinstance(y, (bytes, bytearray, memoryview)):
        res = call_r(support_fn("read_csv_raw"), [bytes(y)])
        if not res.ok:
            raise InputError(f"R's read.csv cannot read the target values: {res.message}",
                             hint="send y as CSV with a header row")
        return res.value
    if isinstance(y, pd.Series):
        y = y.to_frame(name=y.name if y.name is not None else "y")
    return to_r(y)


def _raise_r_error(hook: str, res: RResult, path: str, *, loading: bool, warning: str | None = None) -> None:
    error = HookLoadError if loading else HookError
    message = warning if warning is not None else res.message
    if res.fname and warning is None:
        message = f"{message} (in {res.fname}())"
    package = missing_package(message)
    hint = package_hint([package]) if package else None
    raise error(hook, message, file=res.file or path, line=res.line,
                cause_type="RWarning" if warning is not None else "RError", hint=hint)


def _wrap(hook: str, fn: Any, formals: list[str], path: str, root: str) -> Callable[..., Any]:
    loading = hook in LOAD_HOOKS

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with R_LOCK:
            if hook == "read_input_data":
                clear_cache()
            if hook == "score_unstructured" and "mlops" in kwargs and "mlops" not in formals:
                kwargs.pop("mlops")
            args = list(args)
            if hook == "transform" and (len(args) > 2 or "y" in kwargs):
                # DRUM's R runner calls transform(data, model, y) for transform models: y is the third
                # argument, a data.frame or NULL; a transform that takes two arguments gets two
                y = args.pop(2) if len(args) > 2 else kwargs.pop("y")
                if len(formals) > 2 or "..." in formals:
                    args.insert(2, _target_to_r(y))
            res = call_r(fn, args, kwargs, root)
            if not res.ok:
                with warnings.catch_warnings():  # the error wins; the warnings before it are still shown
                    warnings.simplefilter("always", RWarning)
                    emit_warnings(res, f"'{hook}' ({os.path.basename(path)})")
                _raise_r_error(hook, res, path, loading=loading)
            failing = emit_warnings(res, f"'{hook}' ({os.path.basename(path)})")
            if failing is not None:
                _raise_r_error(hook, res, path, loading=loading, warning=failing)
            if hook == "load_model":
                ri = rinterface()
                return None if res.value is ri.NULL else res.value  # the model stays an R object
            value = to_py(res.value)
            if hook == "score_unstructured" and isinstance(value, list):
                value = tuple(value)
            return value

    wrapper.__name__ = hook
    wrapper.__qualname__ = f"custom.R:{hook}"
    wrapper.__signature__ = _signature(formals)  # type: ignore[attr-defined]
    wrapper.__doc__ = f"R function '{hook}' of {path}"
    return wrapper


def read_csv_in_r(raw: bytes) -> Any:
    """CSV bytes read by R's ``read.csv`` (R's NA rules); returns the pandas view of the data.frame."""
    ri = rinterface()
    res = call_r(support_fn("read_csv_raw"), [bytes(raw)])
    if not res.ok:
        raise InputError(f"R's read.csv cannot read the input: {res.message}",
                         hint="send CSV with a header row")
    emit_warnings(res, "read.csv")
    return to_py(res.value) if res.value is not ri.NULL else None


def load_r_hooks(code_dir: str) -> Hooks:
    """The hooks of ``code_dir/custom.R``, as Python callables over pandas objects."""
    path = next((os.path.join(code_dir, f) for f in HOOK_FILES if os.path.isfile(os.path.join(code_dir, f))), None)
    if path is None:
        return Hooks()
    path = os.path.realpath(path)
    root = os.path.dirname(path)
    refuse_after_jvm(os.path.basename(path))
    with R_LOCK:
        r_env()
        res = call_r(support_fn("source_hooks"), [path], root=root)
        if not res.ok:
            message = res.message
            line = res.line
            m = re.search(r":(\d+):(\d+): ", message)
            if m and line is None:
                line = int(m.group(1))
            package = missing_package(message)
            raise HookLoadError("import", message, file=res.file or path, line=line, cause_type="RError",
                                hint=package_hint([package]) if package else
                                f"fix {os.path.basename(path)} (Rscript -e 'source(\"{os.path.basename(path)}\")' "
                                "shows the same error)")
        emit_warnings(res, os.path.basename(path))
        parts = dict(zip(r_names(res.value) or [], list(res.value)))
        env = parts["env"]
        names = [str(n) for n in parts["functions"]]
        hooks = RHooks(path=path, language="R", env=env)
        for name in names:
            fn = env[name]
            if name in R_HOOKS:
                formals = [str(x) for x in support_fn("formals_of")(fn)]
                hooks.functions[name] = _wrap(name, fn, formals, path, root)
            else:
                miss = near_miss(name)
                if miss and miss not in names:
                    hooks.warnings.append(f"{os.path.basename(path)} defines {name!r}, which is not a hook; "
                                          f"did you mean {miss!r}?")
        return hooks
