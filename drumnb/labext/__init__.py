"""drumnb's Jupyter server extension: the REST calls of the JupyterLab extension (``extension/``).

Enabled by ``etc/jupyter/jupyter_server_config.d/drumnb.json`` (installed with
the wheel), which names this module.  It only translates HTTP to drumnb's own
functions -- the model folders under the server's root directory
(:mod:`drumnb.labext.folders`), the registry of running servers
(:mod:`drumnb.server_registry`), and ``drumnb new`` (:func:`drumnb.tools.new_model`).

Routes, under the server's base URL (JSON; Jupyter's token/XSRF auth applies)::

    GET  /drumnb/api/info                     version, root dir, whether the front-end files are installed
    GET  /drumnb/api/models?path=SUBDIR       model folders (drumnb.tools.describe): target type, labels, hooks
    GET  /drumnb/api/frameworks               languages and frameworks of "New DRUM model" (the registry)
    POST /drumnb/api/models                   {"path", "language", "framework", "name"} -> drumnb new model
    GET  /drumnb/api/servers                  registry entries + health (GET /health/) + memory
    POST /drumnb/api/servers/PID/stop         stop a server listed in the registry (no other PID)
"""
from __future__ import annotations

import os
from typing import Any

__all__ = ["_jupyter_server_extension_points", "_jupyter_labextension_paths", "_load_jupyter_server_extension"]

LABEXTENSION = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "labextension")


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "drumnb.labext"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built front end lies (``drumnb/labextension``), for ``jupyter labextension develop``."""
    return [{"src": LABEXTENSION, "dest": "drumnb"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from .handlers import setup_handlers

    setup_handlers(server_app.web_app, server_app.root_dir if hasattr(server_app, "root_dir") else os.getcwd())
    server_app.log.info("drumnb server extension loaded: /drumnb/api/")


# older jupyter_server / notebook name
load_jupyter_server_extension = _load_jupyter_server_extension
