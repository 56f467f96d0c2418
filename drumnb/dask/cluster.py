"""Dask clusters: a local one on 127.0.0.1 (its dashboard link printed), or a running scheduler."""
from __future__ import annotations

import logging
import os
import sys
from typing import IO, Any

from ..core.errors import ConfigurationError
from .errors import require


def local_cluster(n_workers: int | None = 2, *, memory_limit: str | float | None = "auto",
                  threads_per_worker: int = 1, dashboard: bool = True, file: IO[str] | None = None,
                  quiet: bool = True, **cluster_kwargs: Any) -> Any:
    """Start a Dask cluster of ``n_workers`` processes on 127.0.0.1; returns its ``Client``.

    The dashboard (also on 127.0.0.1, a free port) is printed to ``file``
    (default stdout).  Use it as a context manager, or call ``.close()``:
    closing the client stops the cluster and its processes::

        with drumnb.dask.local_cluster(2, memory_limit="300MB") as client:
            ...

    ``memory_limit`` is per worker (``"300MB"``; ``"auto"`` splits the
    machine's memory).  ``quiet`` silences Dask's own logs (a failing partition
    is raised to the caller anyway); ``quiet=False`` shows its warnings, such as
    a worker restarted for going over its memory limit.
    """
    require("distributed")
    from distributed import Client

    if n_workers is not None and n_workers < 1:
        raise ConfigurationError(f"a local cluster needs at least one worker, not {n_workers}")
    kwargs: dict[str, Any] = dict(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=threads_per_worker,
                                  processes=True, memory_limit=memory_limit, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0",
                                  silence_logs=logging.CRITICAL if quiet else logging.WARNING)
    if not dashboard:  # the scheduler still serves /health and /metrics: on 127.0.0.1 and a free port, not 8787
        kwargs["scheduler_kwargs"] = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
    kwargs.update(cluster_kwargs)
    client = Client(**kwargs)
    link = client.dashboard_link if dashboard else ""
    out = file or sys.stdout
    workers = kwargs["n_workers"]
    if link:
        print(f"Dask dashboard: {link}  ({workers} worker process{'es' if workers != 1 else ''})", file=out)
    elif dashboard:
        print("Dask dashboard: not available (pip install 'bokeh>=3.1')", file=out)
    return client


def connect(address: str, *, timeout: float = 10) -> Any:
    """A ``Client`` of the running Dask scheduler at ``address``; a ``ConfigurationError`` when unreachable."""
    require("distributed")
    from distributed import Client

    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigurationError(f"cannot reach the Dask scheduler at {address}: {type(exc).__name__}: {exc}",
                                 hint="start one with 'dask scheduler' (and 'dask worker ADDRESS'), "
                                      "or use --workers N for a local cluster") from None
