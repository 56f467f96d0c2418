"""Charts of the local monitoring store: predictions over time, latency percentiles, distribution.

:func:`monitoring_report` reads a store (``drumnb.monitoring.open``) and
returns a static :class:`MonitoringReport` (HTML with one PNG of three
charts, and a text form); :class:`MonitoringPanel` shows the same for a chosen
store and refreshes on demand or every few seconds.
"""
from __future__ import annotations

import base64
import glob
import html
import io
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as W

from ..display import fmt_seconds
from .static import StaticFallback

BUCKETS = ["1s", "5s", "15s", "1min", "5min", "15min", "1h", "6h", "1D", "7D"]


def stores() -> list[str]:
    """The stores in the default folder (one per model)."""
    import platformdirs

    folder = os.path.join(platformdirs.user_data_dir("drumnb"), "monitoring")
    return sorted(glob.glob(os.path.join(folder, "*.sqlite")))


def pick_bucket(span_seconds: float, target: int = 30) -> str:
    import pandas as pd

    for freq in BUCKETS:
        if span_seconds / pd.Timedelta(freq).total_seconds() <= target:
            return freq
    return BUCKETS[-1]


def _scalar(value: Any, class_names: list[str] | None) -> float | None:
    """A number to plot for one recorded prediction: the value, P(positive) for binary, else max probability."""
    if isinstance(value, list):
        if not value:
            return None
        if len(value) == 2:
            return float(value[1])
        return float(max(value))
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class MonitoringReport:
    path: str
    calls: int
    rows_reported: int
    prediction_rows: int
    first: Any
    last: Any
    latency_ms: dict[str, float] = field(default_factory=dict)
    bucket: str = ""
    models: list[str] = field(default_factory=list)
    value_label: str = "prediction"
    png: bytes | None = field(default=None, repr=False)

    def lines(self) -> list[str]:
        out = [f"monitoring store {os.path.basename(self.path)}"
               + (f" (models: {', '.join(self.models)})" if self.models else ""),
               f"{_n(self.calls, 'call')}, {_n(self.rows_reported, 'row')} scored, "
               f"{_n(self.prediction_rows, 'prediction')} recorded"]
        if self.first is not None:
            out.append(f"from {_ts(self.first)} to {_ts(self.last)} (one point per {_bucket_words(self.bucket)})")
        if self.latency_ms:
            out.append("latency per call: "
                       + ", ".join(f"{k} {fmt_seconds(v / 1000)}" for k, v in self.latency_ms.items()))
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        text = "<br/>".join(html.escape(x) for x in self.lines())
        img = ""
        if self.png:
            img = f'<img alt="monitoring charts" src="data:image/png;base64,{base64.b64encode(self.png).decode()}"/>'
        return f"<div class='drumnb-monitoring'><div>{text}</div>{img}</div>"


def _n(count: int, word: str) -> str:
    """``"1 call"``, ``"10,000 calls"``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def _ts(value: Any) -> str:
    try:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    except AttributeError:
        return str(value)


def monitoring_report(path: str, *, bucket: str | None = None, plot: bool = True) -> MonitoringReport:
    """Read the store at ``path`` and chart it."""
    import numpy as np
    import pandas as pd

    from ... import monitoring

    rec = monitoring.open(path)
    stats, preds = rec.stats, rec.predictions
    times = (pd.concat([stats["ts"], preds["ts"]]) if len(stats) or len(preds)
             else pd.Series([], dtype="datetime64[ns, UTC]"))
    first = times.min() if len(times) else None
    last = times.max() if len(times) else None
    span = (last - first).total_seconds() if first is not None else 0.0
    freq = bucket or pick_bucket(span)
    lat = stats["execution_time_ms"].to_numpy() if len(stats) else np.array([])
    latency = ({f"p{q}": float(np.percentile(lat, q)) for q in (50, 95, 99)} if len(lat) else {})
    models = sorted({m for m in pd.concat([stats.get("model", pd.Series([], dtype=object)),
                                           preds.get("model", pd.Series([], dtype=object))]).dropna()})
    report = MonitoringReport(path, len(stats), int(stats["num_predictions"].sum()) if len(stats) else 0, len(preds),
                              first, last, latency, freq, models)
    names = None
    if len(preds) and preds["class_names"].notna().any():
        names = json.loads(preds["class_names"].dropna().iloc[0])
        report.value_label = f"P({names[1]})" if len(names) == 2 else "top probability"
    if plot and (len(stats) or len(preds)):
        report.png = _png(_figure(stats, preds, freq, names, report.value_label))
    return report


def chart_figure(path: str, *, bucket: str | None = None) -> Any:
    """The charts of the store at ``path`` as a matplotlib ``Figure`` (what the report's PNG shows)."""
    from ... import monitoring

    report = monitoring_report(path, bucket=bucket, plot=False)
    rec = monitoring.open(path)
    names = None
    if len(rec.predictions) and rec.predictions["class_names"].notna().any():
        names = json.loads(rec.predictions["class_names"].dropna().iloc[0])
    return _figure(rec.stats, rec.predictions, report.bucket, names, report.value_label)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _figure(stats: Any, preds: Any, freq: str, names: list[str] | None, value_label: str) -> Any:
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(11, 3.3), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3)
    if len(stats):
        per = stats.set_index("ts")["num_predictions"].resample(freq).sum()
    else:
        per = preds.set_index("ts")["id"].resample(freq).count()
    _line(ax1, per, label=None)
    ax1.set_title(f"predictions per {_bucket_words(freq)}")
    ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax1.set_ylim(bottom=0, top=max(1.0, float(per.max()) * 1.1) if len(per) else 1.0)
    if len(stats):
        g = stats.set_index("ts")["execution_time_ms"].resample(freq)
        for q in (50, 95, 99):
            _line(ax2, g.quantile(q / 100).dropna(), label=f"p{q}")
        ax2.legend(frameon=False)
        ax2.set_ylim(bottom=0)
    ax2.set_title("latency per call (ms)")
    values = pd.Series([_scalar(v, names) for v in preds["prediction"]], dtype="float64").dropna() if len(preds) \
        else pd.Series([], dtype="float64")
    if len(values):
        ax3.hist(values, bins=20, range=(0, 1)) if names else ax3.hist(values, bins=30)
        ax3.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax3.set_title(f"distribution of {value_label}")
    ax3.set_ylabel("predictions")
    for ax in (ax1, ax2):
        _time_axis(ax, per.index, freq)
    for ax in (ax1, ax2, ax3):
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    fig.tight_layout(pad=0.6)
    return fig


#: Chart resolution; with matplotlib's 10 pt ticks and 11 pt titles the labels read at 100% zoom.
CHART_DPI = 90


def _line(ax: Any, series: Any, *, label: str | None) -> None:
    """A series over time; markers when there are few points (a single point is a dot, not nothing)."""
    x = series.index.tz_convert(None) if getattr(series.index, "tz", None) is not None else series.index
    few = len(series) <= 40
    ax.plot(x, series.to_numpy(), marker="o" if few else None, markersize=4, linewidth=1.5, label=label)


def _time_axis(ax: Any, index: Any, freq: str) -> None:
    """Dates that fit any span: at least a bucket either side of one point, concise tick labels, no overlap."""
    import matplotlib.dates as mdates
    import pandas as pd

    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    formatter = mdates.ConciseDateFormatter(locator, show_offset=True)
    formatter.formats = ["%Y", "%b", "%d %b", "%H:%M", "%H:%M", "%H:%M:%S"]
    formatter.zero_formats = ["", "%Y", "%d %b", "%d %b", "%H:%M", "%H:%M"]
    formatter.offset_formats = ["", "%Y", "%b %Y", "%d %b %Y", "%d %b %Y", "%d %b %Y %H:%M"]
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    if len(index):
        times = index.tz_convert(None) if getattr(index, "tz", None) is not None else index
        step = pd.Timedelta(freq)
        lo, hi = times.min(), times.max()
        # one point: a minute at least around it, so ticks are whole seconds or more (never 17:51:03 twice)
        pad = max(step, pd.Timedelta("30s")) if lo == hi else (hi - lo) * 0.04
        ax.set_xlim(lo - pad, hi + pad)


def _bucket_words(freq: str) -> str:
    """``"5s"`` -> ``"5 s"``, ``"1min"`` -> ``"minute"``, ``"1D"`` -> ``"day"``."""
    import re

    n, unit = re.fullmatch(r"(\d*)(\D+)", freq).groups()  # type: ignore[union-attr]
    word = {"s": "second", "min": "minute", "h": "hour", "D": "day"}.get(unit, unit)
    if n in ("", "1"):
        return word
    return f"{n} {word}s"


class MonitoringPanel(StaticFallback, W.VBox):
    """Pick a store (or type its path), see its charts; *auto* refreshes every few seconds."""

    def __init__(self, path: str | None = None, *, interval: float = 5.0, auto: bool = False):
        options = stores()
        if path and os.path.abspath(path) not in options:
            options = [os.path.abspath(path)] + options
        self.path = W.Combobox(value=os.path.abspath(path) if path else (options[0] if options else ""),
                               options=options, description="store", ensure_option=False,
                               layout=W.Layout(width="48em"))
        self.button = W.Button(description="Refresh", icon="refresh")
        self.auto = W.Checkbox(value=False, description=f"auto ({interval:g} s)", indent=False)
        self.output = W.HTML("")
        self.report: MonitoringReport | None = None
        self.interval = interval
        self._stop = threading.Event()
        self.button.on_click(lambda _: self._safe_refresh())
        self.path.observe(lambda _: self._safe_refresh(), names="value")
        self.auto.observe(self._on_auto, names="value")
        super().__init__([W.HBox([self.path, self.button, self.auto]), self.output])
        self._safe_refresh()
        if auto:
            self.auto.value = True

    def refresh(self) -> MonitoringReport | None:
        from ..errors import boundary

        path = self.path.value.strip()
        if not path:
            self.output.value = "<i>no monitoring store yet: score with --monitor first</i>"
            return None
        with boundary(show_notes=False):
            self.report = monitoring_report(path)
        self.output.value = self.report._repr_html_()
        return self.report

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - shown in the panel
            self.output.value = f"<span style='color:#cf222e'>{html.escape(str(exc))}</span>"

    def _on_auto(self, change: Any) -> None:
        if change["new"]:
            self._stop.clear()
            threading.Thread(target=self._loop, name="drumnb-monitoring-panel", daemon=True).start()
        else:
            self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._safe_refresh()

    def close(self) -> None:
        self._stop.set()
        super().close()

    def __repr__(self) -> str:
        return f"MonitoringPanel(store={os.path.basename(self.path.value)!r})"
