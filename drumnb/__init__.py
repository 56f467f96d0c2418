"""drumnb: run DataRobot DRUM custom model folders from Python, the CLI, a server and Jupyter.

Public API::

    import drumnb
    model = drumnb.load_model("model_dir", target_type="regression")
    model.predict(df)
"""
from __future__ import annotations

from typing import Any

from ._version import __version__
__all__ = ["load_model", "Model", "RuntimeParameters", "serve", "load_ipython_extension", "__version__"]


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext drumnb``: register the magics (see :mod:`drumnb.jupyter`)."""
    from . import jupyter

    jupyter.load_ipython_extension(ip)


def unload_ipython_extension(ip: Any) -> None:
    from . import jupyter

    jupyter.unload_ipython_extension(ip)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The JupyterLab extension's files (``jupyter labextension develop``); see :mod:`drumnb.labext`."""
    from .labext import _jupyter_labextension_paths as paths

    return paths()


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter server extension of the JupyterLab extension: :mod:`drumnb.labext`."""
    return [{"module": "drumnb.labext"}]


def __getattr__(name: str) -> Any:  # lazy, so that `import drumnb` stays fast
    if name in ("load_model", "Model"):
        from . import model

        return getattr(model, name)
    if name == "RuntimeParameters":
        from .core.params import RuntimeParameters

        return RuntimeParameters
    if name == "serve":
        from .server.background import serve

        return serve
    if name in ("DrumnbError",):
        from .core import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'drumnb' has no attribute {name!r}")
