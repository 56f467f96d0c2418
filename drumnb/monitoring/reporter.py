"""Writing to the monitoring store: DRUM's ``mlops`` reporter, one writer thread per process and store.

A call is validated at once and returns when its records are committed; request threads queue their
records to the process's one writer (several calls share a commit), processes share the file through
SQLite's WAL, and what is queued is written at exit too.
"""
from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Sequence

from ..core.errors import DrumnbError
from ..core.targets import TargetType
from .store import MonitoringError, connect


@dataclass
class MonitorSettings:
    """What the monitoring flags asked for."""

    embedded: bool = False          # hooks get an mlops reporter
    record_predictions: bool = False  # structured predictions recorded automatically (--monitor)
    db: str | None = None
    deployment_id: str | None = None
    model_id: str | None = None
    webserver: str | None = None

    @property
    def on(self) -> bool:
        return self.embedded or self.record_predictions

    @classmethod
    def from_env(cls, env: dict | None = None, **flags: Any) -> "MonitorSettings":
        env = dict(os.environ) if env is None else env
        truthy = lambda v: str(v).strip().lower() in ("1", "true", "yes", "on")  # noqa: E731
        return cls(
            embedded=bool(flags.get("embedded")) or truthy(env.get("MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS", "")),
            record_predictions=bool(flags.get("record_predictions")),
            db=flags.get("db") or env.get("DRUMNB_MONITOR_DB") or None,
            deployment_id=flags.get("deployment_id") or env.get("DEPLOYMENT_ID") or None,
            model_id=flags.get("model_id") or env.get("MODEL_ID") or None,
            webserver=flags.get("webserver") or env.get("EXTERNAL_WEB_SERVER_URL") or None,
        )


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


class _Job:
    """Statements to run in one transaction, and the outcome the caller waits for."""

    def __init__(self, ops: list[tuple[str, list[tuple]]]):
        self.ops = ops
        self.done = threading.Event()
        self.error: BaseException | None = None

    def wait(self, writer: "_Writer") -> None:
        while not self.done.wait(1.0):
            if not writer.thread.is_alive() and not self.done.is_set():  # stopped before it took this job
                raise MonitoringError(f"the monitoring store {writer.path} was closed before this record "
                                      "was written")
        if self.error is not None:
            raise self.error


_STOP = object()
#: Jobs one transaction may take at most (several requests' records share a commit).
MAX_BATCH = 256


class _Writer:
    """This process's one connection to a store, on one thread fed by a queue.

    Each job runs in a savepoint of a transaction that also holds the jobs
    queued behind it (one commit, one write lock for all of them); a job that
    fails rolls back alone.  Callers wait for the commit, so an answered call
    is on disk (WAL) and a job is never half-written.
    """

    def __init__(self, path: str):
        self.path = path
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="drumnb-monitoring", daemon=True)
        self.thread.start()

    def submit(self, ops: list[tuple[str, list[tuple]]]) -> None:
        if not self.thread.is_alive():
            raise MonitoringError("the monitoring store is closed")
        job = _Job(ops)
        self.queue.put(job)
        job.wait(self)

    def close(self) -> None:
        """Write what is queued, then stop (idempotent)."""
        if self.thread.is_alive():
            self.queue.put(_STOP)
            self.thread.join()

    def _run(self) -> None:
        conn = None
        stopping = False
        while not stopping:
            first = self.queue.get()
            if first is _STOP:
                break
            jobs = [first]
            while len(jobs) < MAX_BATCH:
                try:
                    job = self.queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                    break
                jobs.append(job)
            try:
                if conn is None:
                    conn = connect(self.path)
                self._write(conn, jobs)
            except BaseException as exc:  # noqa: BLE001 - every waiting caller hears about it
                for job in jobs:
                    if job.error is None:
                        job.error = (exc if isinstance(exc, DrumnbError) else
                                     MonitoringError(f"cannot write to the monitoring store {self.path}: "
                                                     f"{type(exc).__name__}: {exc}"))
            finally:
                for job in jobs:
                    job.done.set()
        if conn is not None:
            conn.close()

    @staticmethod
    def _write(conn: sqlite3.Connection, jobs: list[_Job]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for job in jobs:
                conn.execute("SAVEPOINT job")
                try:
                    for sql, rows in job.ops:
                        conn.executemany(sql, rows)
                except sqlite3.IntegrityError:
                    conn.execute("ROLLBACK TO job")
                    job.error = MonitoringError("report_predictions_data: an association id was already reported "
                                                "for this model; association ids must be unique")
                conn.execute("RELEASE job")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


_writers: dict[tuple[int, str], _Writer] = {}
_writers_lock = threading.Lock()


def _writer(path: str) -> _Writer:
    """The writer of ``path`` in this process (a forked child gets its own)."""
    key = (os.getpid(), os.path.realpath(path))
    with _writers_lock:
        writer = _writers.get(key)
        if writer is None or not writer.thread.is_alive():
            writer = _writers[key] = _Writer(path)
        return writer


@atexit.register
def close_all() -> None:
    """Write every queued record of this process (runs at exit, after SIGTERM's clean stop too)."""
    with _writers_lock:
        mine = [(key, w) for key, w in _writers.items() if key[0] == os.getpid()]
        for key, _ in mine:
            del _writers[key]
    for _, writer in mine:
        writer.close()


_STATS_SQL = ("INSERT INTO deployment_stats (ts, model, deployment_id, model_id, num_predictions, "
              "execution_time_ms, pid) VALUES (?, ?, ?, ?, ?, ?, ?)")
_PREDICTIONS_SQL = ("INSERT INTO predictions (ts, model, deployment_id, model_id, association_id, features, "
                    "prediction, class_names, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


class Reporter:
    """DRUM's ``mlops`` object, recording locally.  Safe across threads and processes.

    Every call is validated at once and returns when its records are committed
    (an invalid call raises :class:`MonitoringError` and writes nothing).
    All threads of a process share one writer (see :class:`_Writer`);
    processes share the store through SQLite's WAL.  Calls made inside
    :meth:`batch` are committed together, all or none.
    """

    def __init__(self, path: str, *, model: str | None = None, deployment_id: str | None = None,
                 model_id: str | None = None, target_type: str | None = None):
        self.path, self.model, self.deployment_id, self.model_id = path, model, deployment_id, model_id
        self.target_type = target_type
        self._local = threading.local()

    def __getstate__(self) -> dict:  # picklable (to another process): the thread-local state stays here
        return {k: v for k, v in self.__dict__.items() if k != "_local"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _submit(self, sql: str, rows: list[tuple]) -> None:
        pending = getattr(self._local, "pending", None)
        if pending is not None:
            pending.append((sql, rows))
        else:
            _writer(self.path).submit([(sql, rows)])

    @contextlib.contextmanager
    def batch(self) -> Iterator["Reporter"]:
        """Calls inside the block (on this thread) are written in one transaction when it ends."""
        if getattr(self._local, "pending", None) is not None:  # nested: the outer block writes
            yield self
            return
        self._local.pending = []
        try:
            yield self
            ops = self._local.pending
        finally:
            self._local.pending = None
        if ops:
            _writer(self.path).submit(ops)

    def report_deployment_stats(self, num_predictions: int, execution_time: float) -> None:
        """Record that ``num_predictions`` took ``execution_time`` milliseconds."""
        if isinstance(num_predictions, bool) or not isinstance(num_predictions, int) or num_predictions < 0:
            raise MonitoringError(f"report_deployment_stats: num_predictions must be a non-negative int, "
                                  f"got {num_predictions!r}")
        if not isinstance(execution_time, (int, float)) or execution_time < 0:
            raise MonitoringError(f"report_deployment_stats: execution_time (ms) must be a non-negative number, "
                                  f"got {execution_time!r}")
        self._submit(_STATS_SQL, [(time.time(), self.model, self.deployment_id, self.model_id, num_predictions,
                                   float(execution_time), os.getpid())])

    def report_predictions_data(self, features_df: Any = None, predictions: Sequence[Any] | None = None,
                                association_ids: Sequence[Any] | None = None,
                                class_names: Sequence[str] | None = None) -> None:
        """Record features, predictions and association ids, one row each, in one transaction."""
        if predictions is None:
            raise MonitoringError("report_predictions_data: predictions are required")
        preds = _jsonable(predictions)
        if not isinstance(preds, list):
            raise MonitoringError(f"report_predictions_data: predictions must be a list, got {type(predictions).__name__}")
        n = len(preds)
        two_d = [isinstance(p, list) for p in preds]
        if self.target_type in (TargetType.BINARY, TargetType.MULTICLASS) and not all(two_d):
            raise MonitoringError("report_predictions_data: classification predictions must be 2-D "
                                  "(one list of class probabilities a row)")
        if self.target_type in (TargetType.REGRESSION, TargetType.ANOMALY) and any(two_d):
            raise MonitoringError("report_predictions_data: regression predictions must be 1-D (one number a row)")
        if class_names is not None and all(two_d) and any(len(p) != len(class_names) for p in preds):
            raise MonitoringError(f"report_predictions_data: each row needs {len(class_names)} probabilities "
                                  f"for class_names {list(class_names)}")
        ids = None
        if association_ids is not None:
            ids = [str(a) for a in _jsonable(association_ids)]
            if len(ids) != n:
                raise MonitoringError(f"report_predictions_data: {len(ids)} association ids for {n} predictions")
            if len(set(ids)) != n:
                dup = sorted({a for a in ids if ids.count(a) > 1})[:5]
                raise MonitoringError(f"report_predictions_data: association ids repeat: {dup}")
        feats: list[str | None] = [None] * n
        if features_df is not None:
            if len(features_df) != n:
                raise MonitoringError(f"report_predictions_data: {len(features_df)} feature rows for {n} predictions")
            feats = features_df.to_json(orient="records", lines=True).splitlines()
        now, pid = time.time(), os.getpid()
        names = json.dumps(list(class_names)) if class_names is not None else None
        self._submit(_PREDICTIONS_SQL, [(now, self.model, self.deployment_id, self.model_id, ids[i] if ids else None,
                                         feats[i], json.dumps(preds[i]), names, pid) for i in range(n)])

    def close(self) -> None:
        """Write what this process has queued for the store (later calls open it again)."""
        key = (os.getpid(), os.path.realpath(self.path))
        with _writers_lock:
            writer = _writers.pop(key, None)
        if writer is not None:
            writer.close()
