"""``model-metadata.yaml``: the one module that reads it.

Only the fields the runner needs are interpreted here (name, type, targetType,
targetName, labels, the type schema of :mod:`drumnb.core.schema`); the raw
mapping is kept in ``ModelMetadata.raw`` so later features (runtime
parameters) read from the same parsed object.
DataRobot's files put the labels under ``inferenceModel:``; they are accepted
there and at the top level.
"""
from __future__ import annotations

import difflib
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError

FILENAME = "model-metadata.yaml"

KNOWN_KEYS = {
    "name", "type", "targetType", "targetName", "environmentID", "modelID", "description",
    "majorVersion", "inferenceModel", "training", "validation", "typeSchema",
    "inputRequirements", "outputRequirements", "runtimeParameterDefinitions",
    "positiveClassLabel", "negativeClassLabel", "classLabels", "userCredentialSpecifications",
    "input_requirements", "output_requirements",
}
INFERENCE_KEYS = {"targetName", "positiveClassLabel", "negativeClassLabel", "classLabels",
                  "predictionThreshold", "language"}


@dataclass
class ModelMetadata:
    path: str | None = None
    name: str | None = None
    type: str | None = None
    target_type: str | None = None
    target_name: str | None = None
    positive_class_label: str | None = None
    negative_class_label: str | None = None
    class_labels: list[str] | None = None
    runtime_parameter_definitions: list[dict[str, Any]] | None = None
    type_schema: Any = None  # core.schema.TypeSchema, or None when the file declares no requirements
    raw: dict[str, Any] = field(default_factory=dict)


def _label(value: Any) -> str | None:
    return None if value is None else str(value)


def _labels_as_written(text: str) -> dict[str, Any]:
    """The file parsed again where only ``true`` / ``false`` are booleans (YAML 1.2), so that labels
    written ``yes`` / ``no`` / ``on`` / ``off`` stay those strings, as DRUM reads them."""
    import re

    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
                                      for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                 list("tTfF"))
    try:
        raw = yaml.load(text, Loader=Loader) or {}  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError:
        return {}
    return raw if isinstance(raw, dict) else {}


def read_metadata(code_dir: str) -> ModelMetadata:
    """Parse ``code_dir/model-metadata.yaml``; an empty object when absent."""
    path = os.path.join(code_dir, FILENAME)
    if not os.path.isfile(path):
        return ModelMetadata()
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigurationError(f"{FILENAME} is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                                 hint="fix the YAML syntax (indentation, colons, quotes)") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{FILENAME} must hold a mapping of keys, got {type(raw).__name__}")
    for key in raw:
        if key not in KNOWN_KEYS:
            near = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            warnings.warn(f"{FILENAME}: unknown key {key!r}" + (f"; did you mean {near[0]!r}?" if near else ""),
                          stacklevel=2)
    inference = raw.get("inferenceModel") or {}
    if not isinstance(inference, dict):
        raise ConfigurationError(f"{FILENAME}: inferenceModel must be a mapping")

    def pick(key: str, source: dict[str, Any] = raw) -> Any:
        inner = source.get("inferenceModel") if isinstance(source.get("inferenceModel"), dict) else {}
        return inner.get(key, source.get(key))

    written = _labels_as_written(text)
    labels = pick("classLabels", written)
    if labels is not None and not isinstance(labels, list):
        raise ConfigurationError(f"{FILENAME}: classLabels must be a list, got {labels!r}")
    definitions = raw.get("runtimeParameterDefinitions")
    if definitions is not None and not isinstance(definitions, list):
        raise ConfigurationError(f"{FILENAME}: runtimeParameterDefinitions must be a list")
    target = raw.get("targetType")
    from .schema import parse_type_schema  # pandas: labext reads FILENAME from here at server start-up

    type_schema = parse_type_schema(raw)
    return ModelMetadata(
        path=path,
        name=raw.get("name"),
        type=raw.get("type"),
        target_type=str(target).lower() if target is not None else None,
        target_name=pick("targetName"),
        positive_class_label=_label(pick("positiveClassLabel", written)),
        negative_class_label=_label(pick("negativeClassLabel", written)),
        class_labels=[str(x) for x in labels] if labels is not None else None,
        runtime_parameter_definitions=definitions,
        type_schema=type_schema,
        raw=raw,
    )
