"""``RuntimeParameters.get(NAME)`` / ``has(NAME)``: values from ``--runtime-params-file`` or the environment."""
from ....core.params import RuntimeParameters

__all__ = ["RuntimeParameters"]
