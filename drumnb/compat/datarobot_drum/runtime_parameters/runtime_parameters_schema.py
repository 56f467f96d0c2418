"""The types a runtime parameter can have (``model-metadata.yaml``'s ``runtimeParameterDefinitions``)."""
from enum import Enum


class RuntimeParameterTypes(Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    CREDENTIAL = "credential"
    DEPLOYMENT = "deployment"
    NUMERIC = "numeric"
