"""``datarobot_drum.runtime_parameters``: drumnb's :class:`~drumnb.core.params.RuntimeParameters`."""
from .runtime_parameters import RuntimeParameters

__all__ = ["RuntimeParameters"]
