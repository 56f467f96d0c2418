"""drumnb's stand-in for the public names of DRUM's ``datarobot_drum`` package.

Installed under the name ``datarobot_drum`` (see :func:`drumnb.compat.install_datarobot_drum`)
only when DRUM is absent, so that ``custom.py`` files written for DRUM import
unchanged.  Everything here is drumnb's own implementation of the behaviour a
hook relies on; names DRUM keeps for itself are not provided.
"""
from .drum.exceptions import CustomHTTPError
from .runtime_parameters import RuntimeParameters

__drumnb_shim__ = True
__all__ = ["CustomHTTPError", "RuntimeParameters"]
