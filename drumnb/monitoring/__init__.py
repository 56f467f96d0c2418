"""Local MLOps reporting: DRUM's ``mlops`` reporter, writing to SQLite.

With monitoring on (``--monitor-embedded`` or ``MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS``),
hooks get ``kwargs["mlops"]``, a :class:`Reporter` with DRUM's two methods;
with ``--monitor`` structured predictions are recorded automatically too.
Records go to a local SQLite file (WAL mode: several processes may write at
once; a committed record survives a crash), by default one file per model
under the user's data directory, never inside the model folder.

Read side: :func:`open` returns DataFrames; :func:`summary` aggregates per day.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Sequence

from ..core.errors import ConfigurationError, DrumnbError

SCHEMA = """
CREATE TABLE IF NOT EXISTS deployment_stats (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, model TEXT, deployment_id TEXT, model_id TEXT,
    num_predictions INTEGER NOT NULL, execution_time_ms REAL NOT NULL, pid INTEGER);
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY, ts REAL NOT NULL, model TEXT, deployment_id TEXT, model_id TEXT,
    association_id TEXT, features TEXT, prediction TEXT NOT NULL, class_names TEXT, pid INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS predictions_assoc ON predictions (model, ifnull(deployment_id, ''), association_id)
    WHERE association_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);
CREATE INDEX IF NOT EXISTS stats_ts ON deployment_stats (ts);
"""


class MonitoringError(DrumnbError):
    """An invalid reporting call (lengths, duplicate association ids, types)."""

    status = 500


def default_path(model_name: str) -> str:
    """``<user data dir>/drumnb/monitoring/<model>.sqlite``."""
    import platformdirs

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_name).strip("_") or "model"
    folder = os.path.join(platformdirs.user_data_dir("drumnb"), "monitoring")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, f"{safe}.sqlite")


def connect(path: str) -> sqlite3.Connection:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.executescript(SCHEMA)
    return conn


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


class Reporter:
    """DRUM's ``mlops`` object, recording locally.  Safe across processes."""

    def __init__(self, path: str, *, model: str | None = None, deployment_id: str | None = None,
                 model_id: str | None = None, target_type: str | None = None):
        self.path, self.model, self.deployment_id, self.model_id = path, model, deployment_id, model_id
        self.target_type = target_type
        self._conn: sqlite3.Connection | None = None
        self._pid = os.getpid()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():  # a forked worker opens its own connection
            self._conn, self._pid = connect(self.path), os.getpid()
        return self._conn

    def report_deployment_stats(self, num_predictions: int, execution_time: float) -> None:
        """Record that ``num_predictions`` took ``execution_time`` milliseconds."""
        if isinstance(num_predictions, bool) or not isinstance(num_predictions, int) or num_predictions < 0:
            raise MonitoringError(f"report_deployment_stats: num_predictions must be a non-negative int, "
                                  f"got {num_predictions!r}")
        if not isinstance(execution_time, (int, float)) or execution_time < 0:
            raise MonitoringError(f"report_deployment_stats: execution_time (ms) must be a non-negative number, "
                                  f"got {execution_time!r}")
        self.conn.execute("INSERT INTO deployment_stats (ts, model, deployment_id, model_id, num_predictions, "
                          "execution_time_ms, pid) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (time.time(), self.model, self.deployment_id, self.model_id, num_predictions,
                           float(execution_time), os.getpid()))

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
        if self.target_type in ("binary", "multiclass") and not all(two_d):
            raise MonitoringError("report_predictions_data: classification predictions must be 2-D "
                                  "(one list of class probabilities a row)")
        if self.target_type in ("regression", "anomaly") and any(two_d):
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
        rows = [(now, self.model, self.deployment_id, self.model_id, ids[i] if ids else None, feats[i],
                 json.dumps(preds[i]), names, pid) for i in range(n)]
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO predictions (ts, model, deployment_id, model_id, association_id, features, "
                             "prediction, class_names, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            raise MonitoringError("report_predictions_data: an association id was already reported for this "
                                  "model; association ids must be unique") from None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@dataclass
class Records:
    """What a monitoring store holds, as DataFrames."""

    path: str
    stats: Any
    predictions: Any


def open(path: str) -> Records:  # noqa: A001 - mirrors the reading verb users expect
    """Read a monitoring store into DataFrames (timestamps as UTC datetimes)."""
    import pandas as pd

    if not os.path.isfile(path):
        raise ConfigurationError(f"no monitoring store at {path}",
                                 hint="run a model with --monitor or --monitor-embedded first")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=60)
    try:
        stats = pd.read_sql_query("SELECT * FROM deployment_stats ORDER BY id", conn)
        preds = pd.read_sql_query("SELECT * FROM predictions ORDER BY id", conn)
    finally:
        conn.close()
    for df in (stats, preds):
        df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
    preds["prediction"] = preds["prediction"].map(json.loads)
    return Records(path, stats, preds)


def summary(path: str) -> Any:
    """Per day: predictions recorded, calls, latency percentiles (ms) and prediction distribution."""
    import numpy as np
    import pandas as pd

    rec = open(path)
    days = []
    stats = rec.stats.assign(day=rec.stats["ts"].dt.date)
    preds = rec.predictions.assign(day=rec.predictions["ts"].dt.date)
    for day in sorted(set(stats["day"]) | set(preds["day"])):
        s = stats[stats["day"] == day]
        p = preds[preds["day"] == day]
        values = [v if not isinstance(v, list) else max(v) for v in p["prediction"]]
        numeric = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").dropna()
        lat = s["execution_time_ms"].to_numpy()
        days.append({
            "day": day, "calls": len(s), "predictions_reported": int(s["num_predictions"].sum()),
            "prediction_rows": len(p),
            "latency_p50_ms": float(np.percentile(lat, 50)) if len(lat) else None,
            "latency_p95_ms": float(np.percentile(lat, 95)) if len(lat) else None,
            "latency_p99_ms": float(np.percentile(lat, 99)) if len(lat) else None,
            "prediction_mean": float(numeric.mean()) if len(numeric) else None,
            "prediction_std": float(numeric.std()) if len(numeric) > 1 else None,
            "prediction_min": float(numeric.min()) if len(numeric) else None,
            "prediction_max": float(numeric.max()) if len(numeric) else None,
        })
    return pd.DataFrame(days)
