"""drumnb's prediction server: DRUM's HTTP routes over the core model.

* :func:`create_app` (``app.py``): the Flask app factory.
* :func:`serve` (``background.py``): a server in the background, as a context manager.
* ``runner.py`` (one threaded process) and ``gunicorn.py`` (pre-forked workers)
  run ``drumnb server``; ``commands.py`` adds the ``server`` and ``env`` verbs.

Importing this package imports nothing heavy; the names below load on use.
"""
from __future__ import annotations

from typing import Any

__all__ = ["Server", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name in ("serve", "Server"):
        from . import background

        return getattr(background, name)
    raise AttributeError(f"module 'drumnb.server' has no attribute {name!r}")
