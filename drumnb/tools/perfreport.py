"""The report of ``drumnb perf-test``: size cases and concurrency levels as a table, HTML, JSON and plots."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _render, perfcompare
from .loadgen import PerfLevel, latency_stats

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
    server_ms: dict[str, float] = field(default_factory=dict)  # the server's steps (Server-Timing), a request's avg

    def stats(self) -> dict[str, float] | None:
        """min / avg / p50 / p90 / p99 / max latency in milliseconds (None when nothing was measured)."""
        return latency_stats(self.latencies)

    def to_dict(self) -> dict[str, Any]:
        stats = self.stats()
        out: dict[str, Any] = {"name": self.name, "rows": self.rows, "bytes": self.bytes,
                               "requests": len(self.latencies),
                               "latency_ms": {k: round(v, 3) for k, v in stats.items()} if stats else None,
                               "memory_mb": {"peak": self.rss_peak_mb, "after": self.rss_after_mb}}
        if self.in_server_ms is not None:
            out["in_server_avg_ms"] = round(self.in_server_ms, 3)
        if self.server_ms:
            out["server_steps_ms"] = {k: round(v, 3) for k, v in self.server_ms.items()}
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
    levels: list[PerfLevel] = field(default_factory=list)
    rss_start_mb: float | None = None
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    comparison: perfcompare.Comparison | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not any(c.error for c in self.cases) and not any(lv.errors for lv in self.levels)

    def compare(self, previous: Any) -> perfcompare.Comparison:
        """Ratios now / before against a saved run (a ``--json PATH`` file, its dict, or a PerfReport)."""
        source = previous if isinstance(previous, (str, bytes)) or hasattr(previous, "__fspath__") else None
        self.comparison = perfcompare.compare(self.to_dict(), perfcompare.load(previous),
                                              str(source) if source is not None else "the previous run")
        return self.comparison

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "model": self.model, "targetType": self.target_type,
                "startedServer": self.started_server, "serverPid": self.server_pid,
                "startupSeconds": None if self.startup_seconds is None else round(self.startup_seconds, 3),
                "ok": self.ok, "seconds": round(self.seconds, 3), "memory_mb": {"start": self.rss_start_mb,
                                                                                 **self.machine},
                "cases": [c.to_dict() for c in self.cases], "levels": [lv.to_dict() for lv in self.levels],
                **({"comparison": self.comparison.to_dict()} if self.comparison else {}),
                **({"interrupted": True} if self.interrupted else {})}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for c in self.cases:
            s = c.stats() or {}
            row = {"case": c.name, "rows": c.rows, "MB": round(c.bytes / MB, 3), "requests": len(c.latencies),
                   **{f"{k} ms": s.get(k) for k in ("min", "avg", "p50", "p90", "p99", "max")},
                   "server RSS peak MB": c.rss_peak_mb}
            if self.in_server:
                row["in-server avg ms"] = c.in_server_ms
            row["note"] = c.error or c.skipped or ""
            rows.append(row)
        return pd.DataFrame(rows)

    def _rows(self) -> tuple[list[str], list[list[str]]]:
        headers = ["CASE", "ROWS", "PAYLOAD", "REQUESTS", "MIN ms", "AVG ms", "P50 ms", "P90 ms", "P99 ms",
                   "MAX ms", "RSS PEAK MB"]
        if self.in_server:
            headers.append("IN-SERVER ms")
        headers.append("NOTE")
        rows = []
        for c in self.cases:
            s = c.stats()
            cells = [c.name, f"{c.rows:,}", _size(c.bytes), str(len(c.latencies))]
            cells += [f"{s[k]:.1f}" for k in ("min", "avg", "p50", "p90", "p99", "max")] if s else ["-"] * 6
            cells.append("-" if c.rss_peak_mb is None else f"{c.rss_peak_mb:.0f}")
            if self.in_server:
                cells.append("-" if c.in_server_ms is None else f"{c.in_server_ms:.1f}")
            cells.append(c.error or c.skipped or "")
            rows.append(cells)
        return headers, rows

    def _level_rows(self) -> tuple[list[str], list[list[str]]]:
        headers = ["CONCURRENCY", "ROWS/REQ", "REQUESTS", "ERRORS", "P50 ms", "P90 ms", "P99 ms", "REQ/S", "ROWS/S",
                   "RSS PEAK MB", "NOTE"]
        rows = []
        for lv in self.levels:
            s = lv.stats()
            cells = [str(lv.concurrency), f"{lv.rows:,}", f"{len(lv.latencies):,}", f"{lv.errors:,}"]
            cells += [f"{s[k]:.1f}" for k in ("p50", "p90", "p99")] if s else ["-"] * 3
            cells += [f"{lv.requests_per_s:,.1f}", f"{lv.rows_per_s:,.0f}",
                      "-" if lv.rss_peak_mb is None else f"{lv.rss_peak_mb:.0f}", lv.error or ""]
            rows.append(cells)
        return headers, rows

    def _head(self) -> str:
        where = (f"server started in {self.startup_seconds:.1f}s, pid {self.server_pid}" if self.started_server
                 else "a running server")
        what = f"{self.model} ({self.target_type})" if self.model else "model"
        return f"drumnb perf-test: {what} at {self.url} ({where}); {self.seconds:.1f}s in all"

    def _steps_line(self) -> str:
        """Where the largest case's time went on the server (its Server-Timing steps)."""
        measured = [c for c in self.cases if c.server_ms and c.latencies]
        if not measured:
            return ""
        case = max(measured, key=lambda c: c.bytes)
        total = (case.stats() or {}).get("avg") or 0.0
        steps = ", ".join(f"{k} {v:,.0f} ms" for k, v in case.server_ms.items())
        rest = total - sum(case.server_ms.values())
        return f"server steps of the {case.name} case (a request's average): {steps}; " \
               f"HTTP and client {max(rest, 0.0):,.0f} ms"

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

    def _tables(self) -> list[tuple[list[str], list[list[str]]]]:
        return ([self._rows()] if self.cases else []) + ([self._level_rows()] if self.levels else [])

    def to_text(self, colour: bool = False) -> str:
        out = [self._head() + (" (interrupted)" if self.interrupted else "")]
        for headers, rows in self._tables():
            out += ["", _render.text_table(headers, rows, align_right=tuple(range(1, len(headers) - 1)))]
        lines = [line for line in (self._steps_line(), self._memory_line()) if line]
        if lines:
            out += [""] + lines
        if self.comparison:
            out += ["", self.comparison.to_text(colour)]
        return "\n".join(out)

    __str__ = to_text

    def _repr_html_(self) -> str:
        tables = "".join(_render.html_table(h, r, align_right=tuple(range(1, len(h) - 1))) for h, r in self._tables())
        return (f"<div><b>drumnb perf-test</b>: {_render.esc(self._head().split(': ', 1)[1])}</div>" + tables
                + "".join(f"<div>{_render.esc(line)}</div>" for line in (self._steps_line(), self._memory_line())
                          if line)
                + (self.comparison._repr_html_() if self.comparison else ""))

    def plot(self, ax: Any = None) -> Any:
        """p50 latency per case with min-max bars (log scales); returns the matplotlib Axes."""
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

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
        plain = FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}")
        ax.xaxis.set_major_formatter(plain)
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))  # 10, 20, 50, 100 ...
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("rows per request")
        ax.set_ylabel("latency (ms)")
        ax.set_title("drumnb perf-test")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        return ax

    def plot_levels(self, ax_latency: Any, ax_throughput: Any = None) -> Any:
        """Latency percentiles (and, on a second Axes, requests/s and rows/s) against concurrency."""
        from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

        measured = [lv for lv in self.levels if lv.latencies]
        x = [lv.concurrency for lv in measured]
        stats = [lv.stats() for lv in measured]
        for p, style in (("p50", "o-"), ("p90", "s--"), ("p99", "^:")):
            ax_latency.plot(x, [s[p] for s in stats], style, label=p)  # type: ignore[index]
        ax_latency.set_ylabel("latency (ms)")
        ax_latency.set_title("latency")
        if ax_throughput is not None:
            ax_throughput.plot(x, [lv.requests_per_s for lv in measured], "o-", color="C2", label="requests/s")
            ax_throughput.set_ylabel("requests/s")
            ax_throughput.set_title("throughput")
            ax_throughput.set_ylim(bottom=0)
            rows = {lv.rows for lv in measured}
            if len(rows) == 1 and rows != {1}:  # rows/s is requests/s times the rows: a second scale, same line
                n = rows.pop()
                twin = ax_throughput.secondary_yaxis("right", functions=(lambda v: v * n, lambda v: v / n))
                twin.set_ylabel(f"rows/s ({n:,} rows a request)")
                twin.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        spread = max(x) / max(1, min(x)) if x else 1
        for ax in (ax_latency, ax_throughput):
            if ax is None:
                continue
            if spread >= 8:  # 1, 4, 16, 64: even steps on a log axis, the levels as ticks
                ax.set_xscale("log", base=2)
                ax.set_xticks(x)
                ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                ax.xaxis.set_minor_locator(NullLocator())
            else:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_xlabel("concurrency (client threads)")
            ax.grid(True, alpha=0.3)
            ax.legend(loc="best")
        ax_latency.set_ylim(bottom=0)
        return ax_latency

    def __repr__(self) -> str:
        what = f"{len(self.cases)} case(s)" + (f", {len(self.levels)} level(s)" if self.levels else "")
        return f"<PerfReport {self.url} {what}{'' if self.ok else ', with errors'}>"


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n / 1024:.1f} kB"


__all__ = ["PerfCase", "PerfReport", "MB"]
