"""A worker's life: start-up without needless garbage collection, and asking its supervisor to replace it (after a model call outlived its timeout, or after
``--max-requests``).  The gunicorn workers watch :func:`recycle_requested`; a process without a supervisor
(the in-process background server) only logs the request."""
from __future__ import annotations

import gc
import logging
import os
import threading

log = logging.getLogger("drumnb.server")
_requested = threading.Event()


def request_recycle(reason: str, level: int = logging.WARNING) -> None:
    """Ask, once, for this worker to finish the requests in flight and be replaced by a fresh one."""
    if not _requested.is_set():
        _requested.set()
        log.log(level, "worker %d will be replaced: %s", os.getpid(), reason)


def recycle_requested() -> bool:
    return _requested.is_set()


def startup_begins() -> None:
    """Importing frameworks and loading a model allocate millions of objects that all live: the cyclic
    garbage collector would scan them again and again for nothing (about 12% of start-up)."""
    gc.disable()


def startup_done() -> None:
    """The app is built: collect as usual, but never rescan what start-up made (it stays, and shared with
    forked processes it stays unwritten)."""
    gc.freeze()
    gc.enable()
