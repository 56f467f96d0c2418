"""A worker's life: start-up without needless garbage collection, and asking its supervisor to replace it.

A worker asks to be replaced after a model call outlived the request timeout,
or after ``--max-requests``: the gunicorn workers (:mod:`drumnb.server.workers`)
register :func:`on_recycle` and stop taking requests at once; the master starts
a fresh worker.  A process without a supervisor (the in-process background
server) only logs the request."""
from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("drumnb.server")
_requested = threading.Event()
_lock = threading.Lock()
_callbacks: list[Callable[[], None]] = []


def on_recycle(callback: Callable[[], None]) -> None:
    """Call ``callback`` (once) when a recycle is requested: the worker then stops taking requests."""
    with _lock:
        _callbacks.append(callback)
        requested = _requested.is_set()
    if requested:
        callback()


def request_recycle(reason: str, level: int = logging.WARNING) -> None:
    """Ask, once, for this worker to finish the requests in flight and be replaced by a fresh one."""
    with _lock:
        if _requested.is_set():
            return
        _requested.set()
        callbacks = list(_callbacks)
    log.log(level, "worker %d will be replaced: %s", os.getpid(), reason)
    for callback in callbacks:
        callback()


def startup_begins() -> None:
    """Importing frameworks and loading a model allocate millions of objects that all live: the cyclic
    garbage collector would scan them again and again for nothing (about 12% of start-up)."""
    gc.disable()


def startup_done() -> None:
    """The app is built: collect as usual, but never rescan what start-up made (it stays, and shared with
    forked processes it stays unwritten)."""
    gc.freeze()
    gc.enable()
