"""Local MLOps reporting: DRUM's ``mlops`` reporter, writing to SQLite.

With monitoring on (``--monitor-embedded`` or ``MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS``),
hooks get ``kwargs["mlops"]``, a :class:`Reporter` with DRUM's two methods;
with ``--monitor`` structured predictions are recorded automatically too.
Records go to a local SQLite file, by default one file per model under the
user's data directory, never inside the model folder.  Each process writes
through one connection on one writer thread fed by a queue (any number of
request threads may report at once); processes share the file through WAL
mode.  A call returns once its records are committed, so an answered request
is on disk, a record is never half-written, and nothing is lost when the
server stops on SIGTERM (queued records are written at exit too).

Read side: :func:`open` returns DataFrames; :func:`summary` aggregates per day.

The store (schema, reading) is :mod:`drumnb.monitoring.store`; the writing side (settings, the reporter,
the writer threads) :mod:`drumnb.monitoring.reporter`.
"""
from __future__ import annotations

from .reporter import MAX_BATCH, MonitorSettings, Reporter, close_all
from .store import SCHEMA, MonitoringError, Records, connect, default_path, open, summary  # noqa: A004

__all__ = ["MonitorSettings", "Reporter", "MonitoringError", "Records", "open", "summary", "connect", "default_path",
           "close_all", "SCHEMA", "MAX_BATCH"]
