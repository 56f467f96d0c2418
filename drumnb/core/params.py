"""Runtime parameters: ``RuntimeParameters.get(NAME)`` inside hooks.

Values come, as in DRUM, from ``MLOPS_RUNTIME_PARAM_<NAME>`` environment
variables holding JSON ``{"type": ..., "payload": ...}``, or from a YAML file
(``--runtime-params-file``) mapping names to values; credential values are
mappings with a ``credentialType``.
"""
from __future__ import annotations

import json
import os
from typing import Any

from .errors import ConfigurationError

ENV_PREFIX = "MLOPS_RUNTIME_PARAM_"


class RuntimeParameters:
    """Read-only access to the runtime parameters of the running model."""

    _values: dict[str, Any] = {}

    @classmethod
    def load_file(cls, path: str) -> None:
        import yaml

        try:
            with open(path, encoding="utf-8") as fh:
                data = yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"cannot read runtime parameters file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"runtime parameters file {path} must map names to values")
        cls._values = dict(data)

    @classmethod
    def has(cls, name: str) -> bool:
        return name in cls._values or (ENV_PREFIX + name) in os.environ

    @classmethod
    def get(cls, name: str) -> Any:
        if name in cls._values:
            return cls._values[name]
        raw = os.environ.get(ENV_PREFIX + name)
        if raw is None:
            known = sorted(set(cls._values) | {k[len(ENV_PREFIX):] for k in os.environ if k.startswith(ENV_PREFIX)})
            raise ConfigurationError(f"runtime parameter {name!r} is not defined",
                                     hint=f"defined: {known}" if known else
                                     "pass --runtime-params-file FILE.yaml with a value for it")
        try:
            value = json.loads(raw)
        except ValueError:
            return raw
        return value.get("payload") if isinstance(value, dict) and "payload" in value else value
