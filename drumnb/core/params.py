"""Runtime parameters: ``RuntimeParameters.get(NAME)`` inside hooks.

Values come from a YAML file (``--runtime-params-file``: ``NAME: value``) and
from ``MLOPS_RUNTIME_PARAM_<NAME>`` environment variables holding DRUM's JSON
form ``{"type": "string", "payload": ...}``; the file wins.  When
``model-metadata.yaml`` declares ``runtimeParameterDefinitions``, values are
checked against them when the model loads (not at first use): undefined
names, wrong types, out-of-range numbers and missing required values are
errors naming the parameter; declared defaults fill the gaps.

Types: ``string``, ``numeric`` (``minValue``/``maxValue``), ``boolean``,
``credential`` (a mapping with ``credentialType``).  A parameter with
``allowEmpty: false`` is required.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

from .errors import ConfigurationError

ENV_PREFIX = "MLOPS_RUNTIME_PARAM_"
TYPES = ("string", "numeric", "boolean", "credential")


class RuntimeParameterError(ConfigurationError):
    """A runtime parameter is undefined, missing or of the wrong type."""


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
        if not isinstance(value, str):
            raise RuntimeParameterError(f"{where} must be a string, got {value!r}")
    elif kind == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuntimeParameterError(f"{where} must be a number, got {value!r}")
        lo, hi = defn.get("minValue"), defn.get("maxValue")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise RuntimeParameterError(f"{where} = {value} is outside [{lo}, {hi}]")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise RuntimeParameterError(f"{where} must be true or false, got {value!r}")
    elif kind == "credential":
        if not isinstance(value, dict) or "credentialType" not in value:
            raise RuntimeParameterError(f"{where} must be a mapping with a credentialType",
                                        hint="e.g. {credentialType: basic, user: u, password: p}")
        want = defn.get("credentialType")
        if want and value["credentialType"] != want:
            raise RuntimeParameterError(f"{where} must be a {want!r} credential, got {value['credentialType']!r}")
    return value


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
    if file:
        unknown = sorted(set(read_params_file(file)) - set(defs))
        if unknown:
            raise RuntimeParameterError(f"runtime parameter(s) {unknown} in {file} are not defined in "
                                        "model-metadata.yaml", hint=f"defined: {sorted(defs)}")
    out = {}
    for name, d in defs.items():
        if name in values and values[name] is not None:
            out[name] = _check(d, values[name])
        elif "defaultValue" in d and d["defaultValue"] is not None:
            out[name] = _check(d, d["defaultValue"])
        elif d.get("allowEmpty", True) is False:
            raise RuntimeParameterError(f"runtime parameter {name!r} is required and has no value",
                                        hint="give it in --runtime-params-file or MLOPS_RUNTIME_PARAM_" + name)
        else:
            out[name] = None
    return out


class RuntimeParameters:
    """Read-only access to the runtime parameters of the running model (DRUM's API)."""

    _values: dict[str, Any] | None = None

    @classmethod
    def _set(cls, values: dict[str, Any]) -> None:
        cls._values = dict(values)

    @classmethod
    def _current(cls) -> dict[str, Any]:
        return cls._values if cls._values is not None else _env_values(os.environ)

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
        return values[name]
