"""The load side of ``drumnb perf-test``: request bodies and concurrency levels.

``Payloads`` builds CSV bodies of any row count from the input's rows: the
input is written to CSV once and its row lines are repeated as bytes, so the
~50 MB body of the large-file case takes tens of milliseconds instead of the
seconds that repeating a DataFrame and writing it again took.

``run_level`` is one concurrency level, as Triton's ``perf_analyzer`` runs
one: ``concurrency`` client threads, each with its own keep-alive HTTP
connection (``http.client``: a third of the client CPU per request that
``requests`` needs, which counts when client and server share the cores),
send the same body back to back until ``duration`` seconds have passed or
``max_requests`` requests were sent.  Latency percentiles, requests/s and
rows/s come from the requests that answered 200.  A KeyboardInterrupt in
the waiting (main) thread stops the client threads, aborting their requests
in flight, before it propagates.
"""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from ..core import codecs

PERCENTILES = (50, 90, 99)


class Payloads:
    """CSV bodies of ``n`` rows, the rows of ``data`` repeated in order (byte for byte ``write_csv`` of them)."""

    def __init__(self, data: pd.DataFrame):
        self.data = data
        csv = codecs.write_csv(data)
        cut = csv.index(b"\n") + 1
        self.header, self.block = csv[:cut], csv[cut:]
        lines = self.block.splitlines(keepends=True)
        # a quoted field with a line break in it: rows are not lines, repeat the frame instead
        self.lines: list[bytes] | None = lines if len(lines) == len(data) else None

    def size(self, n: int) -> int:
        """The length in bytes of :meth:`body` ``(n)`` (estimated when rows are not lines)."""
        if self.lines is None:
            return len(self.header) + int(n * len(self.block) / max(1, len(self.data)))
        reps, rest = divmod(n, len(self.lines))
        return len(self.header) + reps * len(self.block) + sum(map(len, self.lines[:rest]))

    def body(self, n: int) -> bytes:
        if self.lines is None:
            return codecs.write_csv(self.data.iloc[np.arange(n) % len(self.data)].reset_index(drop=True))
        reps, rest = divmod(n, len(self.lines))
        out = bytearray(self.header)
        for _ in range(reps):  # no temporary block * reps copy of a 50 MB body
            out += self.block
        out += b"".join(self.lines[:rest])
        return bytes(out)


def latency_stats(latencies: list[float]) -> dict[str, float] | None:
    """min / avg / p50 / p90 / p99 / max of ``latencies`` (seconds) in milliseconds; None when empty."""
    if not latencies:
        return None
    ms = np.asarray(latencies) * 1000.0
    out = {"min": float(ms.min()), "avg": float(ms.mean())}
    out.update({f"p{p}": float(np.percentile(ms, p)) for p in PERCENTILES})
    out["max"] = float(ms.max())
    return out


@dataclass
class PerfLevel:
    """One concurrency level: latencies (seconds) of the requests that answered 200, errors, wall time."""

    concurrency: int
    rows: int
    bytes: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error: str | None = None
    seconds: float = 0.0
    rss_peak_mb: float | None = None

    def stats(self) -> dict[str, float] | None:
        """min / avg / p50 / p90 / p99 / max latency in milliseconds (None when no request answered)."""
        return latency_stats(self.latencies)

    @property
    def requests_per_s(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds > 0 else 0.0

    @property
    def rows_per_s(self) -> float:
        return self.requests_per_s * self.rows

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats()
        out: dict[str, Any] = {"concurrency": self.concurrency, "rows": self.rows, "bytes": self.bytes,
                               "requests": len(self.latencies), "errors": self.errors,
                               "seconds": round(self.seconds, 3),
                               "requests_per_s": round(self.requests_per_s, 2),
                               "rows_per_s": round(self.rows_per_s, 1),
                               "latency_ms": {k: round(v, 3) for k, v in stats.items()} if stats else None,
                               "memory_mb": {"peak": self.rss_peak_mb}}
        if self.error:
            out["error"] = self.error
        return out


def _message(status: int, data: bytes) -> str:
    try:
        text = str(json.loads(data).get("message", ""))
    except (ValueError, AttributeError):
        text = data.decode("utf-8", "replace")
    return f"HTTP {status}: {text[:300]}"


class _Client(threading.Thread):
    """One client thread: a keep-alive connection, the same POST until told to stop or out of budget."""

    def __init__(self, level: "_Run", index: int):
        super().__init__(name=f"drumnb-perf-client-{index}", daemon=True)
        self.run_ = level
        self.conn = http.client.HTTPConnection(level.host, level.port, timeout=level.timeout)
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def connect(self) -> None:
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def abort(self) -> None:
        sock = self.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # a recv in flight returns at once
            except OSError:
                pass

    def run(self) -> None:
        r = self.run_
        headers = {"Content-Type": "text/csv"}
        while not r.stop.is_set() and time.perf_counter() < r.end and r.take():
            t0 = time.perf_counter()
            try:
                self.conn.request("POST", r.path, body=r.body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except Exception as exc:  # noqa: BLE001 - a dropped connection counts as an error, then reconnect
                if r.stop.is_set():
                    break
                self.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
                self.conn.close()
                continue
            elapsed = time.perf_counter() - t0
            if response.status == 200:
                self.latencies.append(elapsed)
            else:
                self.errors.append(_message(response.status, data))
            r.finished = time.perf_counter()
        self.conn.close()


class _Run:
    def __init__(self, url: str, body: bytes, duration: float, max_requests: int, timeout: float):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.path = (parts.path.rstrip("/") or "") + "/predict/"
        self.body, self.timeout = body, timeout
        self.duration = duration
        self.stop = threading.Event()
        self.budget = max_requests
        self.lock = threading.Lock()
        self.start = self.end = self.finished = 0.0

    def take(self) -> bool:
        with self.lock:
            if self.budget <= 0:
                return False
            self.budget -= 1
            return True


def run_level(url: str, body: bytes, rows: int, concurrency: int, *, duration: float, max_requests: int,
              timeout: float = 120.0, tick: Callable[[float, int], None] | None = None) -> PerfLevel:
    """Run one level against ``url`` (the server's base URL); ``tick(seconds, requests)`` every 0.2 s."""
    run = _Run(url, body, duration, max_requests, timeout)
    clients = [_Client(run, i) for i in range(concurrency)]
    level = PerfLevel(concurrency, rows, len(body))
    try:
        for client in clients:  # connections open before the clock starts
            client.connect()
        run.start = run.finished = time.perf_counter()
        run.end = run.start + duration
        for client in clients:
            client.start()
        alive = clients
        while alive:
            alive[0].join(0.2)  # a wait with a timeout: Ctrl-C reaches this thread
            alive = [c for c in clients if c.is_alive()]
            if tick is not None:
                tick(time.perf_counter() - run.start, sum(len(c.latencies) for c in clients))
    except BaseException:
        run.stop.set()
        for client in clients:
            client.abort()
        for client in clients:
            if client.is_alive():
                client.join(5)
        raise
    finally:
        for client in clients:
            client.conn.close()
    for client in clients:
        level.latencies += client.latencies
        level.errors += len(client.errors)
        if client.errors and level.error is None:
            level.error = client.errors[0]
    level.seconds = max(run.finished - run.start, 1e-9)
    return level


__all__ = ["Payloads", "PerfLevel", "run_level", "latency_stats", "PERCENTILES"]
