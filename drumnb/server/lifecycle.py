"""A worker process asking its supervisor to replace it (after a model call outlived its timeout, or after
``--max-requests``).  The gunicorn workers watch :func:`recycle_requested`; a process without a supervisor
(the in-process background server) only logs the request."""
from __future__ import annotations

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
