"""``drumnb perf-test``: latency and memory of a model behind the prediction server.

    report = perf_test("my_model/", "data.csv")                  # starts a server on 127.0.0.1, stops it after
    report = perf_test(data="data.csv", url="http://127.0.0.1:8080")  # a server that already runs
    print(report); report.to_dict(); report.plot()               # table, JSON-ready dict, latency plot

For each case (1, 10, 100, 1,000 and 100,000 rows, then a ~50 MB CSV file;
rows are the input's, repeated as needed) it sends CSV requests to
``/predict/`` and reports min / avg / p50 / p99 / max latency and the
server's memory (RSS of its processes: sampled every 50 ms when this process
started the server, else read from ``/stats/`` after each request).
``in_server=True`` adds the model's own time per request, from the server's
``/stats/`` (DRUM's ``--in-server``), so HTTP overhead can be told apart.

Bounded in time: at most ``requests`` requests a case (fewer for large
ones), no new request in a case after ``case_budget`` seconds, and no new
case after ``timeout`` seconds (the rest are reported as skipped).  The
server this function starts listens on 127.0.0.1 only and is stopped, by its
PID, whatever happens.
"""
from __future__ import annotations

import math
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..core.targets import TargetType
from . import _render

DEFAULT_SIZES = (1, 10, 100, 1_000, 100_000)
LARGE_FILE_MB = 50.0
MB = 1024 * 1024


@dataclass
class PerfCase:
    """One request size: latencies (seconds), memory (MB) and what went wrong, if anything."""

    name: str
    rows: int
    bytes: int
    latencies: list[float] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None
    rss_peak_mb: float | None = None
    rss_after_mb: float | None = None
    in_server_ms: float | None = None

    def stats(self) -> dict[str, float] | None:
        """min / avg / p50 / p99 / max latency in milliseconds (None when nothing was measured)."""
        if not self.latencies:
            return None
        ms = np.asarray(self.latencies) * 1000.0
        return {"min": float(ms.min()), "avg": float(ms.mean()), "p50": float(np.percentile(ms, 50)),
                "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats()
        out: dict[str, Any] = {"name": self.name, "rows": self.rows, "bytes": self.bytes,
                               "requests": len(self.latencies),
                               "latency_ms": {k: round(v, 3) for k, v in stats.items()} if stats else None,
                               "memory_mb": {"peak": self.rss_peak_mb, "after": self.rss_after_mb}}
        if self.in_server_ms is not None:
            out["in_server_avg_ms"] = round(self.in_server_ms, 3)
        if self.error:
            out["error"] = self.error
        if self.skipped:
            out["skipped"] = self.skipped
        return out


@dataclass
class PerfReport:
    """What :func:`perf_test` measured; prints as a table, renders as HTML, ``plot()`` draws latencies."""

    url: str
    model: str | None
    target_type: str | None
    started_server: bool
    startup_seconds: float | None = None
    server_pid: int | None = None
    in_server: bool = False
    cases: list[PerfCase] = field(default_factory=list)
    rss_start_mb: float | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(c.error for c in self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "model": self.model, "targetType": self.target_type,
                "startedServer": self.started_server, "serverPid": self.server_pid,
                "startupSeconds": None if self.startup_seconds is None else round(self.startup_seconds, 3),
                "ok": self.ok, "seconds": round(self.seconds, 3), "memory_mb": {"start": self.rss_start_mb,
                                                                                 **self.machine},
                "cases": [c.to_dict() for c in self.cases]}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for c in self.cases:
            s = c.stats() or {}
            row = {"case": c.name, "rows": c.rows, "MB": round(c.bytes / MB, 3), "requests": len(c.latencies),
                   **{f"{k} ms": s.get(k) for k in ("min", "avg", "p50", "p99", "max")},
                   "server RSS peak MB": c.rss_peak_mb}
            if self.in_server:
                row["in-server avg ms"] = c.in_server_ms
            row["note"] = c.error or c.skipped or ""
            rows.append(row)
        return pd.DataFrame(rows)

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        headers = ["CASE", "ROWS", "PAYLOAD", "REQUESTS", "MIN ms", "AVG ms", "P50 ms", "P99 ms", "MAX ms",
                   "RSS PEAK MB"]
        if self.in_server:
            headers.append("IN-SERVER ms")
        headers.append("NOTE")
        rows = []
        for c in self.cases:
            s = c.stats()
            cells = [c.name, f"{c.rows:,}", _size(c.bytes), str(len(c.latencies))]
            cells += [f"{s[k]:.1f}" for k in ("min", "avg", "p50", "p99", "max")] if s else ["-"] * 5
            cells.append("-" if c.rss_peak_mb is None else f"{c.rss_peak_mb:.0f}")
            if self.in_server:
                cells.append("-" if c.in_server_ms is None else f"{c.in_server_ms:.1f}")
            cells.append(c.error or c.skipped or "")
            rows.append(cells)
        return headers, rows

    def _head(self) -> str:
        where = (f"server started in {self.startup_seconds:.1f}s, pid {self.server_pid}" if self.started_server
                 else "a running server")
        what = f"{self.model} ({self.target_type})" if self.model else "model"
        return f"drumnb perf-test: {what} at {self.url} ({where}); {self.seconds:.1f}s in all"

    def _memory_line(self) -> str:
        peaks = [c.rss_peak_mb for c in self.cases if c.rss_peak_mb is not None]
        parts = []
        if self.rss_start_mb is not None:
            parts.append(f"server RSS {self.rss_start_mb:.0f} MB before the first case")
        if peaks:
            parts.append(f"{max(peaks):.0f} MB at most")
        if self.machine.get("total"):
            parts.append(f"machine {self.machine['total']:.0f} MB, {self.machine.get('avail', 0):.0f} MB available")
        return "memory: " + ", ".join(parts) if parts else ""

    def to_text(self) -> str:
        headers, rows = self._rows()
        right = tuple(range(1, len(headers) - 1))
        out = [self._head(), "", _render.text_table(headers, rows, align_right=right)]
        line = self._memory_line()
        if line:
            out += ["", line]
        return "\n".join(out)

    __str__ = to_text

    def _repr_html_(self) -> str:
        headers, rows = self._rows()
        right = tuple(range(1, len(headers) - 1))
        return (f"<div><b>drumnb perf-test</b>: {_render.esc(self._head().split(': ', 1)[1])}</div>"
                + _render.html_table(headers, rows, align_right=right)
                + f"<div>{_render.esc(self._memory_line())}</div>")

    def plot(self, ax: Any = None) -> Any:
        """p50 latency per case with min-max bars (log scales); returns the matplotlib Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        measured = [c for c in self.cases if c.latencies]
        x = [c.rows for c in measured]
        stats = [c.stats() for c in measured]
        p50 = np.array([s["p50"] for s in stats])  # type: ignore[index]
        low = p50 - np.array([s["min"] for s in stats])  # type: ignore[index]
        high = np.array([s["max"] for s in stats]) - p50  # type: ignore[index]
        ax.errorbar(x, p50, yerr=[low, high], marker="o", capsize=3, label="p50 (min-max)")
        ax.plot(x, [s["p99"] for s in stats], "x--", label="p99")  # type: ignore[index]
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows per request")
        ax.set_ylabel("latency (ms)")
        ax.set_title("drumnb perf-test")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return f"<PerfReport {self.url} {len(self.cases)} case(s){'' if self.ok else ', with errors'}>"


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n / 1024:.1f} kB"


# --- memory -------------------------------------------------------------------------------------

class _Sampler:
    """RSS of a process tree, sampled in a thread; ``peak`` since the last ``reset``."""

    def __init__(self, pid: int, interval: float = 0.05):
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak = 0.0
        self.last = self.read()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drumnb-perf-memory", daemon=True)
        self._thread.start()

    def read(self) -> float:
        import psutil

        total = 0
        try:
            procs = [self.root] + self.root.children(recursive=True)
        except psutil.Error:
            return self.last if hasattr(self, "last") else 0.0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total / MB

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.last = self.read()
            self.peak = max(self.peak, self.last)

    def reset(self) -> None:
        self.last = self.read()
        self.peak = self.last

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def _stats(session: Any, url: str) -> dict[str, Any] | None:
    try:
        response = session.get(url + "/stats/", timeout=10)
        return response.json() if response.status_code == 200 else None
    except Exception:  # noqa: BLE001 - a server without /stats/: no memory figures
        return None


def _timing(stats: dict[str, Any] | None) -> tuple[float, float] | None:
    if not stats:
        return None
    run = (stats.get("time_info") or {}).get("run_predictor_total") or {}
    total = run.get("total")
    if total is None:
        return None
    count = stats.get("predictions")
    if count is None and run.get("avg"):
        count = total / run["avg"]
    return float(total), float(count or 0)


# --- payloads -----------------------------------------------------------------------------------

def _frame_of(data: pd.DataFrame, n: int) -> pd.DataFrame:
    return data.iloc[np.arange(n) % len(data)].reset_index(drop=True)


def _csv(df: pd.DataFrame) -> bytes:
    from ..core import codecs

    return codecs.write_csv(df)


def _cases(data: pd.DataFrame, sizes: Sequence[int], large_file_mb: float) -> list[tuple[str, int, Any]]:
    """(name, rows, a function building the body) per case; bodies are built only when their case runs."""
    out: list[tuple[str, int, Any]] = []
    for n in sizes:
        out.append((f"{n:,} row{'s' if n != 1 else ''}", int(n), lambda n=n: _csv(_frame_of(data, n))))
    if large_file_mb and large_file_mb > 0:
        sample = _csv(_frame_of(data, 1000))
        header = sample.index(b"\n") + 1
        per_row = max(1.0, (len(sample) - header) / 1000)
        rows = max(1, int(math.ceil(large_file_mb * MB / per_row)))
        out.append((f"{large_file_mb:g} MB file", rows, lambda rows=rows: _csv(_frame_of(data, rows))))
    return out


def _requests_for(rows: int, requests: int) -> int:
    if rows <= 1_000:
        return requests
    if rows <= 10_000:
        return max(1, min(requests, 5))
    return max(1, min(requests, 3))


# --- the test -----------------------------------------------------------------------------------

def perf_test(model: Any = None, data: Any = None, target_type: str | None = None, *, url: str | None = None,
              in_server: bool = False, sizes: Sequence[int] = DEFAULT_SIZES, large_file_mb: float = LARGE_FILE_MB,
              requests: int = 10, case_budget: float = 60.0, timeout: float = 600.0, workers: int | None = None,
              progress: bool | None = None, startup_timeout: float = 120.0, **load_kwargs: Any) -> PerfReport:
    """Measure the model behind a prediction server; returns a :class:`PerfReport`.

    ``model``: a model folder or loaded Model (a server is started for it on
    127.0.0.1 and stopped at the end), or None with ``url`` (a running
    server).  ``data``: a DataFrame or a file path whose rows make the
    requests.  ``sizes``: rows per request; ``large_file_mb``: the size of
    the large-file case (0: none).  ``progress``: a bar on stderr (default:
    when stderr is a terminal).  ``workers``: serve with gunicorn and this
    many workers.
    """
    from ..core.errors import ConfigurationError, InputError
    from .validation import read_data

    if data is None:
        raise InputError("perf-test needs input data", hint="pass --input FILE (rows are repeated to each size)")
    frame = read_data(data)
    if len(frame) == 0:
        raise InputError("the perf-test input has no rows", hint="pass a file with a header and rows of data")
    if model is None and not url:
        raise ConfigurationError("perf-test needs a model folder or the URL of a running server",
                                 hint="pass --code-dir DIR, or --url http://HOST:PORT")
    if requests < 1:
        raise ConfigurationError("requests must be at least 1")
    if any(int(n) < 1 for n in sizes):
        raise ConfigurationError(f"sizes must be positive row counts, got {list(sizes)}")
    import requests as http

    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    load_kwargs.pop("monitor", None)
    server = None
    sampler: _Sampler | None = None
    session = http.Session()
    try:
        if url:
            base = url.rstrip("/")
            try:
                answer = session.get(base + "/", timeout=10)
            except http.RequestException as exc:
                raise ConfigurationError(f"no prediction server answers at {base}: {type(exc).__name__}",
                                         hint="start one with 'drumnb server --code-dir DIR --address HOST:PORT', "
                                              "or check the URL (and its URL_PREFIX)") from None
            if answer.status_code != 200:
                raise ConfigurationError(f"the server at {base} answers HTTP {answer.status_code} on /: "
                                         f"{_message(answer)}",
                                         hint="a 513 means its model did not load; a 404, a wrong URL_PREFIX")
            report = PerfReport(base, None, None, started_server=False, in_server=in_server)
            try:
                info = session.get(base + "/info/", timeout=10).json()
                report.model, report.target_type = info.get("codeDir"), info.get("targetType")
            except Exception:  # noqa: BLE001 - not every server has /info/
                pass
        else:
            from ..server.background import serve

            t0 = time.perf_counter()
            server = serve(model, target_type, process=True, workers=workers, with_error_server=False,
                           timeout=startup_timeout, **load_kwargs)
            base = server.url
            report = PerfReport(base, None, None, started_server=True, in_server=in_server,
                                startup_seconds=time.perf_counter() - t0, server_pid=server.pid)
            try:
                info = session.get(base + "/info/", timeout=10).json()
                report.model, report.target_type = info.get("codeDir"), info.get("targetType")
            except Exception:  # noqa: BLE001
                pass
            if report.target_type == TargetType.UNSTRUCTURED:
                raise ConfigurationError("perf-test sends structured rows to /predict/; this model is unstructured")
            try:
                sampler = _Sampler(server.pid)
            except Exception:  # noqa: BLE001 - psutil missing: memory from /stats/ only
                sampler = None
        _warm_up(session, base, frame)
        stats = _stats(session, base)
        if stats:
            report.machine = {k: (stats.get("mem_info") or {}).get(k) for k in ("total", "avail")}
        if sampler is not None:
            sampler.reset()
            report.rss_start_mb = round(sampler.last, 1)
        elif stats:
            report.rss_start_mb = (stats.get("mem_info") or {}).get("drum_rss")
        _run_cases(report, session, base, frame, sizes, large_file_mb, requests, case_budget, deadline, sampler,
                   progress)
    finally:
        if sampler is not None:
            sampler.stop()
        session.close()
        if server is not None:
            server.stop()  # SIGTERM to its PID, SIGKILL after a grace period
    report.seconds = time.perf_counter() - started
    return report


def _warm_up(session: Any, base: str, frame: pd.DataFrame) -> None:
    from ..core.errors import InputError

    body = _csv(frame.iloc[:1])
    response = session.post(base + "/predict/", data=body, headers={"Content-Type": "text/csv"}, timeout=120)
    if response.status_code != 200:
        raise InputError(f"the server cannot score one row of the input: HTTP {response.status_code}: "
                         f"{_message(response)}", hint="check the input with 'drumnb score' first")


def _message(response: Any) -> str:
    try:
        return str(response.json().get("message", ""))[:300]
    except ValueError:
        return response.text[:300]


def _run_cases(report: PerfReport, session: Any, base: str, frame: pd.DataFrame, sizes: Sequence[int],
               large_file_mb: float, requests: int, case_budget: float, deadline: float,
               sampler: _Sampler | None, progress: bool | None) -> None:
    from .progress import bar as progress_bar  # a widget in a notebook, text on a terminal

    plan = _cases(frame, sizes, large_file_mb)
    total = sum(_requests_for(rows, requests) for _, rows, _ in plan)
    show = sys.stderr.isatty() if progress is None else progress
    bar = progress_bar(total=total, unit="req", desc="perf-test", file=sys.stderr, disable=not show, leave=False)
    try:
        for name, rows, build in plan:
            n_requests = _requests_for(rows, requests)
            if time.monotonic() >= deadline:
                report.cases.append(PerfCase(name, rows, 0, skipped="time limit reached"))
                bar.update(n_requests)
                continue
            bar.set_description(f"perf-test {name}")
            body = build()
            case = PerfCase(name, rows, len(body))
            report.cases.append(case)
            before = _timing(_stats(session, base)) if report.in_server else None
            if sampler is not None:
                sampler.reset()
            case_start = time.monotonic()
            for k in range(n_requests):
                remaining = deadline - time.monotonic()
                if k and (remaining <= 0 or time.monotonic() - case_start > case_budget):
                    case.skipped = f"{k} of {n_requests} requests (time budget)"
                    bar.update(n_requests - k)
                    break
                try:
                    t0 = time.perf_counter()
                    response = session.post(base + "/predict/", data=body, headers={"Content-Type": "text/csv"},
                                            timeout=max(5.0, remaining))
                    elapsed = time.perf_counter() - t0
                except Exception as exc:  # noqa: BLE001 - timeouts, dropped connections
                    case.error = f"{type(exc).__name__}: {str(exc)[:200]}"
                    bar.update(n_requests - k)
                    break
                if response.status_code != 200:
                    case.error = f"HTTP {response.status_code}: {_message(response)}"
                    bar.update(n_requests - k)
                    break
                case.latencies.append(elapsed)
                bar.update(1)
                if sampler is None:
                    stats = _stats(session, base)
                    rss = (stats or {}).get("mem_info", {}).get("drum_rss")
                    if rss is not None:
                        case.rss_after_mb = rss
                        case.rss_peak_mb = max(case.rss_peak_mb or 0.0, rss)
            if sampler is not None:
                case.rss_peak_mb = round(max(sampler.peak, sampler.last), 1)
                case.rss_after_mb = round(sampler.read(), 1)
            if report.in_server and case.latencies:
                after = _timing(_stats(session, base))
                if before and after:
                    done = after[1] - before[1] or len(case.latencies)
                    case.in_server_ms = (after[0] - before[0]) / done * 1000.0
            del body
    finally:
        bar.close()


__all__ = ["perf_test", "PerfReport", "PerfCase", "DEFAULT_SIZES"]
