"""drumnb in Jupyter: magics, servers in child processes, widgets.

``%load_ext drumnb`` registers:

* ``%%drum_hooks NAME`` -- the cell becomes the model's ``custom.py`` (checked, reloaded everywhere);
* ``%%drum_score`` / ``%drum_score`` -- score a DataFrame or a file through the core, with a table and a plot;
* ``%drum_serve`` -- serve a model in a child process that dies with the kernel (``--list``, ``--stop``, ``--logs``).

Python equivalents and widgets::

    from drumnb import jupyter as dj
    srv = dj.serve("my_model")                   # the %drum_serve handle
    dj.inspector(srv)                            # unstructured request inspector
    dj.server_panel(); dj.score_panel(); dj.monitoring_panel("store.sqlite")

Importing this package is cheap: IPython, ipywidgets and matplotlib load on use.
"""
from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension", "serve", "servers", "stop_all", "model",
           "inspect_request", "inspector", "server_panel", "score_panel", "monitoring_panel", "monitoring_report"]

_LOADED: dict[int, Any] = {}


def load_ipython_extension(ip: Any) -> None:
    """Register drumnb's magics with IPython shell ``ip`` (``%load_ext drumnb``)."""
    from .magics import DrumMagics

    if id(ip) in _LOADED:
        return
    magics = DrumMagics(ip)
    ip.register_magics(magics)
    _LOADED[id(ip)] = magics


def unload_ipython_extension(ip: Any) -> None:
    """Remove the magics (servers keep running; they stop with the kernel or with --stop)."""
    magics = _LOADED.pop(id(ip), None)
    if magics is None:
        return
    table = ip.magics_manager.magics
    for kind, names in magics.magics.items():
        for name in names:
            table.get(kind, {}).pop(name, None)
    ip.magics_manager.registry.pop(type(magics).__name__, None)


def serve(model: str, target_type: str | None = None, *, code_dir: str | None = None, port: int = 0,
          timeout: float = 120.0, **load_kwargs: Any) -> Any:
    """Python twin of ``%drum_serve``: serve a model name or folder in a child process."""
    from . import launcher
    from .errors import boundary
    from .workspace import WORKSPACE

    with boundary():
        name, folder = WORKSPACE.resolve(model, code_dir)
        return launcher.start(name, folder, target_type, port=port, load_kwargs=load_kwargs, timeout=timeout)


def servers() -> dict[str, Any]:
    """This kernel's servers by name."""
    from . import launcher

    return launcher.servers()


def stop_all() -> list[str]:
    """Stop every server this kernel started."""
    from . import launcher

    return launcher.stop_all()


def model(name: str, target_type: str | None = None, **load_kwargs: Any) -> Any:
    """The loaded model named ``name`` (a %%drum_hooks name or a folder), as the magics see it."""
    from .errors import boundary
    from .workspace import WORKSPACE

    with boundary():
        _, folder = WORKSPACE.resolve(name)
        return WORKSPACE.model(folder, target_type, **load_kwargs)


def __getattr__(name: str) -> Any:
    if name == "inspect_request":
        from .inspection import inspect_request

        return inspect_request
    if name in ("inspector", "server_panel", "score_panel", "monitoring_panel", "monitoring_report"):
        import importlib

        return getattr(importlib.import_module(__name__ + ".widgets"), name)
    if name in ("launcher", "workspace", "magics", "widgets", "errors", "client", "display"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'drumnb.jupyter' has no attribute {name!r}")
