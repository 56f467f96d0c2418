"""Stand-ins for packages that model folders import but drumnb does not depend on.

:mod:`drumnb.compat.datarobot_drum` answers ``import datarobot_drum`` (and the
submodules real ``custom.py`` files import) when DRUM itself is not installed;
:func:`install_datarobot_drum` puts it in place.  :mod:`drumnb.compat.tasks`
turns a custom task class (``class CustomTask(TransformerInterface)``) into the
hooks the model runner calls.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import pkgutil
import sys

SHIM = "drumnb.compat.datarobot_drum"
NAME = "datarobot_drum"


class _MissingDrumModule(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: a ``datarobot_drum.*`` module the stand-in lacks is a clear import error."""

    def find_spec(self, fullname, path=None, target=None):  # noqa: D102
        if not fullname.startswith(NAME + ".") or not getattr(sys.modules.get(NAME), "__drumnb_shim__", False):
            return None
        raise ModuleNotFoundError(
            f"No module named {fullname!r}: drumnb's stand-in for datarobot_drum provides the names model "
            "folders use (RuntimeParameters, CustomHTTPError, custom_task_interfaces, drum.exceptions, "
            "drum.enum), not DRUM's internals; install datarobot-drum to use them", name=fullname)


def install_datarobot_drum() -> bool:
    """Register the stand-in as ``datarobot_drum`` unless a real DRUM is importable.  True if installed now."""
    if NAME in sys.modules or importlib.util.find_spec(NAME) is not None:
        return False
    root = importlib.import_module(SHIM)
    modules = {NAME: root}
    for info in pkgutil.walk_packages(root.__path__, SHIM + "."):
        modules[NAME + info.name[len(SHIM):]] = importlib.import_module(info.name)
    sys.modules.update(modules)
    if not any(isinstance(f, _MissingDrumModule) for f in sys.meta_path):
        sys.meta_path.append(_MissingDrumModule())
    return True
