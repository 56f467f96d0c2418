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

``concurrency=[1, 4, 16]`` adds a load test, level by level as Triton's
``perf_analyzer`` does (:mod:`.loadgen`): that many client threads send
``batch_rows``-row requests for ``duration`` seconds (or ``max_requests``
requests) each; p50 / p90 / p99 latency, requests/s and rows/s per level.
Given concurrency, the size cases run only when ``sizes`` / ``large_file_mb``
are given.  ``compare=`` a saved ``to_dict()`` (a ``--json PATH`` file) adds
ratios now / before (:mod:`.perfcompare`).

The progress bar counts MB processed (each request weighs its body plus a
fixed overhead), advancing during a long request at the rate measured so far,
then seconds of load.  Ctrl-C stops the client threads and the server this
function started and raises :class:`PerfInterrupted` (a KeyboardInterrupt
holding the partial report).

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
from typing import Any, Sequence

from ..core.targets import TargetType
from ..server.stats import parse_server_timing
from . import perfcompare
from .loadgen import Payloads, PerfLevel, run_level
from .perfreport import MB, PerfCase, PerfReport
from .progress import WorkBar

DEFAULT_SIZES = (1, 10, 100, 1_000, 100_000)
LARGE_FILE_MB = 50.0
REQUEST_WEIGHT = 100 * 1024  # the fixed cost of a request, as bytes of CSV that take as long to process


class PerfInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`perf_test`: the client threads and the server it started are stopped.

    ``report`` holds what was measured until then.
    """

    def __init__(self, message: str, report: PerfReport | None = None):
        super().__init__(message)
        self.report = report


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


# --- cases -------------------------------------------------------------------------------------

def _cases(payloads: Payloads, sizes: Sequence[int], large_file_mb: float) -> list[tuple[str, int]]:
    """(name, rows) per case; the large file's rows are as many as make ``large_file_mb`` of CSV."""
    out = [(f"{n:,} row{'s' if n != 1 else ''}", int(n)) for n in sizes]
    if large_file_mb and large_file_mb > 0:
        per_row = max(1.0, (payloads.size(1000) - len(payloads.header)) / 1000)
        rows = max(1, int(math.ceil(large_file_mb * MB / per_row)))
        out.append((f"{large_file_mb:g} MB file", rows))
    return out


def _requests_for(rows: int, requests: int) -> int:
    if rows <= 1_000:
        return requests
    if rows <= 10_000:
        return max(1, min(requests, 5))
    return max(1, min(requests, 3))


# --- the test -----------------------------------------------------------------------------------

def perf_test(model: Any = None, data: Any = None, target_type: str | None = None, *, url: str | None = None,
              in_server: bool = False, sizes: Sequence[int] | None = None, large_file_mb: float | None = None,
              requests: int = 10, case_budget: float = 60.0, timeout: float = 600.0, workers: int | None = None,
              concurrency: Sequence[int] | None = None, duration: float = 10.0, batch_rows: int = 1,
              max_requests: int = 100_000, compare: Any = None, progress: bool | None = None,
              startup_timeout: float = 120.0, **load_kwargs: Any) -> PerfReport:
    """Measure the model behind a prediction server; returns a :class:`PerfReport`.

    ``model``: a model folder or loaded Model (a server is started for it on
    127.0.0.1 and stopped at the end), or None with ``url`` (a running
    server).  ``data``: a DataFrame or a file path whose rows make the
    requests.  ``sizes``: rows per request; ``large_file_mb``: the size of
    the large-file case (0: none).  ``concurrency``: levels of the load test
    (``duration`` seconds, at most ``max_requests`` requests of ``batch_rows``
    rows each).  ``compare``: a saved run to compare with.  ``progress``: a
    bar on stderr (default: when stderr is a terminal).  ``workers``: serve
    with gunicorn and this many workers.
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
    levels = [int(c) for c in concurrency or ()]
    if sizes is None:
        sizes = () if levels else DEFAULT_SIZES
    if large_file_mb is None:
        large_file_mb = 0.0 if levels else LARGE_FILE_MB
    if requests < 1 or max_requests < 1 or batch_rows < 1:
        raise ConfigurationError("requests, max_requests and batch_rows must be at least 1")
    if any(int(n) < 1 for n in sizes) or any(c < 1 for c in levels):
        raise ConfigurationError(f"sizes and concurrency must be positive, got {list(sizes)} and {levels}")
    previous = perfcompare.load(compare) if compare is not None else None  # a bad file fails before the run
    import requests as http

    started = time.perf_counter()
    deadline = time.monotonic() + timeout
    load_kwargs.pop("monitor", None)
    server = None
    sampler: _Sampler | None = None
    session = http.Session()
    report: PerfReport | None = None
    interrupted = False
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
            _describe(report, session)
        else:
            from ..server.background import serve

            t0 = time.perf_counter()
            server = serve(model, target_type, process=True, workers=workers, with_error_server=False,
                           timeout=startup_timeout, **load_kwargs)
            base = server.url
            report = PerfReport(base, None, None, started_server=True, in_server=in_server,
                                startup_seconds=time.perf_counter() - t0, server_pid=server.pid)
            _describe(report, session)
            if report.target_type == TargetType.UNSTRUCTURED:
                raise ConfigurationError("perf-test sends structured rows to /predict/; this model is unstructured")
            try:
                sampler = _Sampler(server.pid)
            except Exception:  # noqa: BLE001 - psutil missing: memory from /stats/ only
                sampler = None
        payloads = Payloads(frame)
        _warm_up(session, base, payloads)
        stats = _stats(session, base)
        if stats:
            report.machine = {k: (stats.get("mem_info") or {}).get(k) for k in ("total", "avail")}
        if sampler is not None:
            sampler.reset()
            report.rss_start_mb = round(sampler.last, 1)
        elif stats:
            report.rss_start_mb = (stats.get("mem_info") or {}).get("drum_rss")
        show = sys.stderr.isatty() if progress is None else progress
        _run_cases(report, session, base, payloads, sizes, large_file_mb, requests, case_budget, deadline,
                   sampler, show)
        if levels:
            _run_levels(report, base, payloads, levels, batch_rows, duration, max_requests, deadline, sampler,
                        show)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if sampler is not None:
            sampler.stop()
        session.close()
        if server is not None:
            server.stop()  # SIGTERM to its PID, SIGKILL after a grace period
    if interrupted:
        if server is not None:
            stopped = f"the client threads and the server it started (pid {server.pid})"
        else:  # Ctrl-C while the server started: serve() stops the child it was waiting for
            stopped = "the client threads" + ("" if url else " and the server it was starting")
        if report is not None:
            report.interrupted = True
            report.seconds = time.perf_counter() - started
        raise PerfInterrupted(f"perf-test interrupted after {time.perf_counter() - started:.1f}s; "
                              f"{stopped} stopped", report) from None
    report.seconds = time.perf_counter() - started
    if previous is not None:
        report.compare(compare if not isinstance(compare, dict) else previous)
    return report


def _describe(report: PerfReport, session: Any) -> None:
    try:
        info = session.get(report.url + "/info/", timeout=10).json()
        report.model, report.target_type = info.get("codeDir"), info.get("targetType")
    except Exception:  # noqa: BLE001 - not every server has /info/
        pass


def _warm_up(session: Any, base: str, payloads: Payloads) -> None:
    from ..core.errors import InputError

    response = session.post(base + "/predict/", data=payloads.body(1), headers={"Content-Type": "text/csv"},
                            timeout=120)
    if response.status_code != 200:
        raise InputError(f"the server cannot score one row of the input: HTTP {response.status_code}: "
                         f"{_message(response)}", hint="check the input with 'drumnb score' first")


def _message(response: Any) -> str:
    try:
        return str(response.json().get("message", ""))[:300]
    except ValueError:
        return response.text[:300]


def _run_cases(report: PerfReport, session: Any, base: str, payloads: Payloads, sizes: Sequence[int],
               large_file_mb: float, requests: int, case_budget: float, deadline: float,
               sampler: _Sampler | None, show: bool) -> None:
    plan = [(name, rows, payloads.size(rows), _requests_for(rows, requests))
            for name, rows in _cases(payloads, sizes, large_file_mb)]
    if not plan:
        return

    def weight(size: int) -> float:  # MB of work a request stands for
        return (size + REQUEST_WEIGHT) / MB

    bar = WorkBar(sum(weight(size) * n for _, _, size, n in plan), unit="MB", desc="perf-test", show=show,
                  file=sys.stderr)
    try:
        for name, rows, size, n_requests in plan:
            if time.monotonic() >= deadline:
                report.cases.append(PerfCase(name, rows, 0, skipped="time limit reached"))
                bar.skip(weight(size) * n_requests)
                continue
            bar.describe(f"perf-test {name}")
            body = payloads.body(rows)
            case = PerfCase(name, rows, len(body))
            report.cases.append(case)
            before = _timing(_stats(session, base)) if report.in_server else None
            if sampler is not None:
                sampler.reset()
            case_start = time.monotonic()
            counted = n_requests  # requests of this case the bar still counts
            for k in range(n_requests):
                remaining = deadline - time.monotonic()
                if k and (remaining <= 0 or time.monotonic() - case_start > case_budget):
                    case.skipped = f"{k} of {n_requests} requests (time budget)"
                    bar.skip(weight(size) * (counted - k))
                    break
                try:
                    with bar.step(weight(size)):
                        t0 = time.perf_counter()
                        response = session.post(base + "/predict/", data=body,
                                                headers={"Content-Type": "text/csv"}, timeout=max(5.0, remaining))
                        elapsed = time.perf_counter() - t0
                except KeyboardInterrupt:
                    raise
                except Exception as exc:  # noqa: BLE001 - timeouts, dropped connections
                    case.error = f"{type(exc).__name__}: {str(exc)[:200]}"
                    bar.skip(weight(size) * (counted - k - 1))
                    break
                if response.status_code != 200:
                    case.error = f"HTTP {response.status_code}: {_message(response)}"
                    bar.skip(weight(size) * (counted - k - 1))
                    break
                case.latencies.append(elapsed)
                for step, ms in parse_server_timing(response.headers.get("Server-Timing", "")).items():
                    case.server_ms[step] = case.server_ms.get(step, 0.0) + ms
                fit = k + 1 + _more_within(time.monotonic() - case_start, elapsed, case_budget)
                if fit < counted:  # the budget will stop this case early: the bar stops counting those
                    bar.shrink(weight(size) * (counted - fit))
                    counted = fit
                if sampler is None:
                    stats = _stats(session, base)
                    rss = (stats or {}).get("mem_info", {}).get("drum_rss")
                    if rss is not None:
                        case.rss_after_mb = rss
                        case.rss_peak_mb = max(case.rss_peak_mb or 0.0, rss)
            if sampler is not None:
                case.rss_peak_mb = round(max(sampler.peak, sampler.last), 1)
                case.rss_after_mb = round(sampler.read(), 1)
            for step in case.server_ms:  # sums -> a request's average
                case.server_ms[step] /= max(1, len(case.latencies))
            if report.in_server and case.latencies:
                after = _timing(_stats(session, base))
                if before and after:
                    done = after[1] - before[1] or len(case.latencies)
                    case.in_server_ms = (after[0] - before[0]) / done * 1000.0
            del body
    finally:
        bar.close()


def _more_within(spent: float, per_request: float, budget: float) -> int:
    """How many more requests of ``per_request`` seconds start before ``budget`` (``spent`` of it gone)."""
    if spent > budget:
        return 0
    return int((budget - spent) // max(per_request, 1e-6)) + 1


def _run_levels(report: PerfReport, base: str, payloads: Payloads, levels: Sequence[int], batch_rows: int,
                duration: float, max_requests: int, deadline: float, sampler: _Sampler | None, show: bool) -> None:
    body = payloads.body(batch_rows)
    bar = WorkBar(duration * len(levels), unit="s", desc="perf-test load", show=show, file=sys.stderr)
    try:
        for concurrency in levels:
            if time.monotonic() >= deadline:
                level = PerfLevel(concurrency, batch_rows, len(body), error="time limit reached")
                report.levels.append(level)
                bar.skip(duration)
                continue
            bar.describe(f"perf-test concurrency {concurrency}")
            if sampler is not None:
                sampler.reset()
            with bar.step(duration, rate=1.0):
                level = run_level(base, body, batch_rows, concurrency, duration=duration, max_requests=max_requests,
                                  timeout=max(5.0, deadline - time.monotonic()),
                                  tick=lambda _s, n: bar.postfix(f"{n:,} requests"))
            if sampler is not None:
                level.rss_peak_mb = round(max(sampler.peak, sampler.last), 1)
            report.levels.append(level)
    finally:
        bar.close()


__all__ = ["perf_test", "PerfReport", "PerfCase", "PerfLevel", "PerfInterrupted", "DEFAULT_SIZES"]
