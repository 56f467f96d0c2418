"""``custom_flask.py``: a model folder's own additions to the Flask app.

A file ``custom_flask.py`` beside ``custom.py`` that defines ``init_app(app)``
is loaded by path (under its own module name, exactly as the core loads
``custom.py``) and called once with the app, after drumnb's routes exist.  It
may add routes, ``before_request`` checks (e.g. a token), or headers.
"""
from __future__ import annotations

import os
from typing import Any

from ..core.errors import HookLoadError
from ..core.hooks import call_hook, folder_imports, load_python_hooks

FILENAME = "custom_flask.py"


def apply_extension(app: Any, code_dir: str) -> str | None:
    """Run ``code_dir/custom_flask.py``'s ``init_app(app)``; returns its path, or None without one."""
    path = os.path.join(code_dir, FILENAME)
    if not os.path.isfile(path):
        return None
    hooks = load_python_hooks(code_dir, FILENAME)  # fresh module; errors name file and line
    init_app = getattr(hooks.module, "init_app", None)
    if not callable(init_app):
        raise HookLoadError("init_app", f"{FILENAME} defines no init_app(app) function", file=path,
                            hint="define def init_app(app): ... to add routes or checks to the server")
    hooks.functions["init_app"] = init_app
    with folder_imports(code_dir):
        call_hook(hooks, "init_app", app, required_result=False, loading=True)
    return path
