"""``%%drum_score --engine dask``: the same model folder scored on a Dask cluster from a cell.

The cluster is chosen in this order: ``--scheduler ADDRESS`` (a running one),
the notebook's own ``distributed.Client`` when there is one, else a local
cluster of ``--workers N`` processes on 127.0.0.1, started once and reused by
later cells (its dashboard link is printed when it starts; it stops with the
kernel, or with :func:`close`).  The scoring itself is :mod:`drumnb.dask`.
"""
from __future__ import annotations

import atexit
import os
import sys
import time
from typing import Any, Sequence

import pandas as pd

from .. import dask as ddask
from ..core.errors import InputError
from ..tools.progress import bar as progress_bar
from . import errors

_LOCAL: dict[str, Any] = {}      # "client", "workers", "memory_limit" of the cluster this kernel started
_REMOTE: dict[str, Any] = {}     # scheduler address -> Client


def client_for(scheduler: str | None, workers: int | None, memory_limit: str | None) -> Any:
    """The Dask client a cell's flags ask for (see the module's notes)."""
    if scheduler:
        if workers is not None or memory_limit:
            raise errors.usage("--scheduler uses a running cluster; --workers and --memory-limit start a local one",
                               "give one or the other")
        client = _REMOTE.get(scheduler)
        if client is None or client.status not in ("running", "connecting"):
            client = _REMOTE[scheduler] = ddask.connect(scheduler)
        return client
    if workers is None and not memory_limit:
        own = _LOCAL.get("client")
        if own is not None and own.status == "running":
            return own
        try:
            from distributed import default_client

            return default_client()  # the notebook's own client
        except ValueError:
            pass
    wanted = (workers or min(2, os.cpu_count() or 1), memory_limit or "auto")
    own = _LOCAL.get("client")
    if own is not None and own.status == "running" and _LOCAL.get("shape") == wanted:
        return own
    close()
    client = ddask.local_cluster(wanted[0], memory_limit=wanted[1], file=sys.stdout)
    _LOCAL.update(client=client, shape=wanted)
    return client


def close() -> None:
    """Stop the local cluster this kernel started (if any)."""
    client = _LOCAL.pop("client", None)
    _LOCAL.pop("shape", None)
    if client is not None:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


atexit.register(close)


def _partitioned(data: Any, client: Any) -> Any:
    """A Dask DataFrame for ``data``: a Dask DataFrame, a pandas DataFrame, or CSV/Parquet paths."""
    import dask.dataframe as dd

    if isinstance(data, dd.DataFrame):
        return data
    if isinstance(data, pd.DataFrame):
        workers = len(client.scheduler_info().get("workers", {})) if client is not None else 1
        return dd.from_pandas(data, npartitions=max(1, min(len(data), 2 * max(1, workers))), sort=False)
    if isinstance(data, (str, os.PathLike, list, tuple)):
        return data  # drumnb.dask.read takes paths, globs and folders
    raise errors.error(InputError, f"--engine dask scores a DataFrame, a Dask DataFrame or CSV/Parquet paths, "
                                     f"not {type(data).__name__}", "pass --data df or --data 'data/*.parquet'")


def score(model: Any, folder: str, data: Any, *, client: Any, passthrough: Sequence[str] | None,
          output_path: str | None, load_kwargs: dict[str, Any]) -> tuple[Any, pd.DataFrame | None, int, float]:
    """Score ``data`` with the folder on ``client``.

    ``model`` is the folder already loaded in the kernel (its resolved target
    type and labels are passed on, so workers resolve nothing themselves).
    Returns ``(lazy predictions, pandas predictions or None, rows, seconds)``:
    with ``output_path`` the predictions are written there and not collected.
    """
    if load_kwargs.get("monitor") is not None:
        raise errors.usage("--engine dask does not record to the monitoring store",
                           "score with the local engine to monitor, or drop --monitor")
    if output_path:
        ddask.check_output(output_path)
    config = model.config
    labels = dict(positive_class_label=config.positive_class_label, negative_class_label=config.negative_class_label,
                  class_labels=config.class_labels) if config.labels else {}
    kwargs = {k: v for k, v in load_kwargs.items() if k not in ("positive_class_label", "negative_class_label",
                                                                  "class_labels", "class_labels_file")}
    started = time.perf_counter()
    preds = ddask.score(_partitioned(data, client), folder, model.target_type, passthrough=passthrough,
                        client=client, **labels, **kwargs)
    with progress_bar(total=preds.npartitions, unit="partition", desc="scoring on Dask", leave=False,
                      disable=None) as bar:  # None: a widget in a notebook, nothing on a non-terminal stderr
        step = lambda done, total: bar.update(1)  # noqa: E731
        if output_path:
            rows = ddask.write(preds, output_path, client=client, progress=step)
            frame = None
        else:
            frame = ddask.collect(preds, client=client, progress=step)
            rows = len(frame)
    return preds, frame, rows, time.perf_counter() - started
