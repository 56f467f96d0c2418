"""The monitoring store: one SQLite file (WAL mode) of DRUM's deployment stats and prediction rows.

Its schema and connection (:func:`connect`, used by the writer of :mod:`drumnb.monitoring.reporter`), where
it goes by default, and the read side: :func:`open` gives DataFrames, :func:`summary` aggregates per day
(pandas is imported there only: the writer side runs in servers without needing it).
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import dataclass
from typing import Any

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
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.executescript(SCHEMA)
    return conn


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
