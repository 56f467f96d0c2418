"""Prometheus metrics of one app, and the prediction timing ``/stats/`` reports.

One :class:`Metrics` per app, each on its own registry, so that several apps
live in one process (tests, notebooks).  Under gunicorn the environment
variable ``PROMETHEUS_MULTIPROC_DIR`` is set before any worker imports
``prometheus_client``: every worker then writes its values to memory-mapped
files in that folder, and ``/metrics`` and ``/stats/`` read all workers'
values from there (``multiprocess=True``).
"""
from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
PREFIX = "drumnb"


class Metrics:
    """Request counts, latencies, errors, rows scored and model time."""

    def __init__(self, *, multiprocess: bool = False):
        self.multiprocess = multiprocess
        self.registry = CollectorRegistry(auto_describe=False)
        reg = self.registry
        self.requests = Counter(f"{PREFIX}_requests", "HTTP requests answered", ["route", "method", "status"],
                                registry=reg)
        self.latency = Histogram(f"{PREFIX}_request_seconds", "Time to answer a request", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=reg)
        self.errors = Counter(f"{PREFIX}_errors", "Requests answered with an error", ["route", "error"],
                              registry=reg)
        self.rows = Counter(f"{PREFIX}_rows_scored", "Rows scored by the model", registry=reg)
        self.predict = Histogram(f"{PREFIX}_predict_seconds", "Time spent in the model per request",
                                 buckets=LATENCY_BUCKETS, registry=reg)
        self.predict_min = Gauge(f"{PREFIX}_predict_seconds_min", "Shortest model time", ["kind"],
                                 multiprocess_mode="min", registry=reg)
        self.predict_max = Gauge(f"{PREFIX}_predict_seconds_max", "Longest model time", ["kind"],
                                 multiprocess_mode="max", registry=reg)
        self.worker_predictions = Gauge(f"{PREFIX}_worker_predictions", "Predictions served by this process",
                                        multiprocess_mode="liveall", registry=reg)
        self._lock = threading.Lock()
        self._min: float | None = None
        self._max: float | None = None
        self._count = 0

    # --- recording (hot path: keep it cheap) -------------------------------------------------
    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_error(self, route: str, error: str) -> None:
        self.errors.labels(route, error).inc()

    def observe_predict(self, seconds: float, rows: int | None) -> None:
        self.predict.observe(seconds)
        if rows:
            self.rows.inc(rows)
        with self._lock:
            self._count += 1
            count = self._count
            if self._min is None or seconds < self._min:
                self._min = seconds
                self.predict_min.labels("run_predictor_total").set(seconds)
            if self._max is None or seconds > self._max:
                self._max = seconds
                self.predict_max.labels("run_predictor_total").set(seconds)
        self.worker_predictions.set(count)

    # --- reading -------------------------------------------------------------------------------
    def _collect(self) -> Any:
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry(auto_describe=False)
            multiprocess.MultiProcessCollector(registry)
            return registry
        return self.registry

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition of every worker's metrics."""
        return generate_latest(self._collect()), CONTENT_TYPE_LATEST

    def timing(self) -> dict[str, Any]:
        """Model time over all workers: ``time_info`` and per-process prediction counts for ``/stats/``."""
        total = count = 0.0
        low: float | None = None
        high: float | None = None
        per_pid: dict[int, int] = {}
        for family in self._collect().collect():
            for sample in family.samples:
                if sample.name == f"{PREFIX}_predict_seconds_sum":
                    total += sample.value
                elif sample.name == f"{PREFIX}_predict_seconds_count":
                    count += sample.value
                elif sample.name == f"{PREFIX}_predict_seconds_min":
                    low = sample.value if low is None else min(low, sample.value)
                elif sample.name == f"{PREFIX}_predict_seconds_max":
                    high = sample.value if high is None else max(high, sample.value)
                elif sample.name == f"{PREFIX}_worker_predictions":
                    pid = int(sample.labels.get("pid", os.getpid()))
                    per_pid[pid] = int(sample.value)
        run = {"avg": (total / count) if count else None, "max": high, "min": low, "total": total}
        return {"run_predictor_total": run, "count": int(count), "per_pid": per_pid}
