"""Runtime parameters: ``RuntimeParameters.get(NAME)`` inside hooks.

Values come from a YAML file (``--runtime-params-file``: ``NAME: value``) and
from ``MLOPS_RUNTIME_PARAM_<NAME>`` environment variables holding DRUM's JSON
form ``{"type": "string", "payload": ...}``; the file wins.  When
``model-metadata.yaml`` declares ``runtimeParameterDefinitions``, values are
checked against them when the model loads (not at first use): undefined
names, wrong types and out-of-range numbers are errors naming the parameter;
declared defaults fill the gaps.  A required parameter (``allowEmpty: false``)
without a value is a warning at load and an error when a hook reads it (as
DRUM does).  Messages never repeat a string's or a credential's value.

The values a hook sees are those of the model whose hook runs: a context
variable set around each call (:func:`activate`), so two models in one process
(Dask worker threads, a notebook serving in a thread) never read each other's.

Types: ``string``, ``numeric`` (``minValue``/``maxValue``), ``boolean``,
``credential`` (a mapping with ``credentialType``).  A parameter with
``allowEmpty: false`` is required.
"""
from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from typing import Any, Mapping

from .errors import ConfigurationError

log = logging.getLogger("drumnb")

ENV_PREFIX = "MLOPS_RUNTIME_PARAM_"
TYPES = ("string", "numeric", "boolean", "credential")


class RuntimeParameterError(ConfigurationError, ValueError):
    """A runtime parameter is undefined, missing or of the wrong type (a ValueError too, as DRUM raises:
    hooks written ``except ValueError:`` keep working)."""


def _env_values(env: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX):]
        try:
            value = json.loads(raw)
        except ValueError:
            out[name] = raw
            continue
        out[name] = value.get("payload") if isinstance(value, dict) and "payload" in value else value
    return out


def read_params_file(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except OSError as exc:
        raise RuntimeParameterError(f"cannot read runtime parameters file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise RuntimeParameterError(f"runtime parameters file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise RuntimeParameterError(f"runtime parameters file {path} must map names to values")
    return {str(k): v for k, v in data.items()}


def _check(defn: dict[str, Any], value: Any) -> Any:
    name, kind = defn["fieldName"], defn.get("type", "string")
    where = f"runtime parameter {name!r} ({kind})"
    if kind == "string":
        if not isinstance(value, str):  # the value may be a secret (a credential given here): not echoed
            raise RuntimeParameterError(f"{where} must be a string, got {_kind(value)}")
    elif kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuntimeParameterError(f"{where} must be a number, got {_kind(value)}")
        lo, hi = defn.get("minValue"), defn.get("maxValue")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise RuntimeParameterError(f"{where} = {value} is outside [{lo}, {hi}]")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise RuntimeParameterError(f"{where} must be true or false, got {_kind(value)}")
    elif kind == "credential":
        if not isinstance(value, dict) or "credentialType" not in value:
            raise RuntimeParameterError(f"{where} must be a mapping with a credentialType",
                                        hint="e.g. {credentialType: basic, user: u, password: p}")
        want = defn.get("credentialType")
        if want and value["credentialType"] != want:
            raise RuntimeParameterError(f"{where} must be a {want!r} credential, got {value['credentialType']!r}")
    return value


def _kind(value: Any) -> str:
    """What a value is, showing it only when it is a number or a boolean (never text: it may be a secret)."""
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    if isinstance(value, dict):
        return "a mapping" + (f" (credentialType {value['credentialType']!r})" if "credentialType" in value else "")
    return f"a {type(value).__name__}"


class Missing:
    """A declared, required parameter that has no value: reading it is the error."""

    def __init__(self, name: str):
        self.name = name

    def error(self) -> "RuntimeParameterError":
        return RuntimeParameterError(f"runtime parameter {self.name!r} is required and has no value",
                                     hint="give it in --runtime-params-file or MLOPS_RUNTIME_PARAM_" + self.name)

    def __repr__(self) -> str:
        return f"<missing runtime parameter {self.name}>"


def resolve(definitions: list[dict[str, Any]] | None, *, file: str | None = None,
            env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The runtime parameter values of a model, checked against its definitions."""
    env = os.environ if env is None else env
    values = _env_values(env)
    if file:
        values.update(read_params_file(file))
    if not definitions:
        return values
    defs = {}
    for d in definitions:
        if not isinstance(d, dict) or "fieldName" not in d:
            raise RuntimeParameterError(f"runtimeParameterDefinitions: each entry needs a fieldName, got {d!r}")
        if d.get("type", "string") not in TYPES:
            raise RuntimeParameterError(f"runtime parameter {d['fieldName']!r} has unknown type {d.get('type')!r}",
                                        hint=f"types: {', '.join(TYPES)}")
        defs[d["fieldName"]] = d
    if file:  # DRUM ignores them; a warning says so, and reading one in a hook is the error
        unknown = sorted(set(read_params_file(file)) - set(defs))
        if unknown:
            log.warning("runtime parameter(s) %s in %s are not defined in model-metadata.yaml and are ignored "
                        "(defined: %s)", unknown, file, sorted(defs))
    out = {}
    for name, d in defs.items():
        if name in values and values[name] is not None:
            out[name] = _check(d, values[name])
        elif "defaultValue" in d and d["defaultValue"] is not None:
            out[name] = _check(d, d["defaultValue"])
        elif d.get("allowEmpty", True) is False:
            out[name] = missing = Missing(name)
            log.warning("%s (reading it in a hook will fail)", missing.error().render().replace("\n", "; "))
        else:
            out[name] = None
    return out


_CURRENT: ContextVar["dict[str, Any] | None"] = ContextVar("drumnb_runtime_parameters", default=None)


def activate(values: "dict[str, Any] | None") -> None:
    """Make ``values`` what ``RuntimeParameters`` reads in this thread / context (the model's hooks run next)."""
    if _CURRENT.get() is not values:
        _CURRENT.set(values)


class RuntimeParameters:
    """Read-only access to the runtime parameters of the running model (DRUM's API)."""

    @classmethod
    def _set(cls, values: dict[str, Any]) -> None:
        _CURRENT.set(dict(values))

    @classmethod
    def _current(cls) -> dict[str, Any]:
        values = _CURRENT.get()
        return values if values is not None else _env_values(os.environ)

    @classmethod
    def has(cls, name: str) -> bool:
        return name in cls._current()

    @classmethod
    def get(cls, name: str) -> Any:
        values = cls._current()
        if name not in values:
            raise RuntimeParameterError(f"runtime parameter {name!r} is not defined",
                                        hint=f"defined: {sorted(values)}" if values else
                                        "pass --runtime-params-file FILE.yaml with a value for it")
        value = values[name]
        if isinstance(value, Missing):
            raise value.error()
        return value
