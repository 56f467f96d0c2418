"""Rich output of a scoring call: a summary line, the predictions table and a small plot.

:class:`ScoreReport` has ``_repr_html_`` (summary, table, plot as an inline
PNG) and a plain-text ``__repr__`` (summary and table), so it renders in
JupyterLab, in a terminal IPython and in nbval's comparisons alike.  The
plot is a matplotlib ``Figure`` drawn off-screen (no pyplot state is touched):
for regression and anomaly scores a histogram, for classification the
distribution of the class probabilities.
"""
from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..core.targets import TargetType

PLOT_SIZE = (4.6, 2.3)
PLOT_DPI = 90  # with 9 pt tick labels: readable at 100% zoom


def fmt_seconds(seconds: float) -> str:
    """``"12.3 ms"`` / ``"1.52 s"``; ``"0.04 ms"`` for what takes under a millisecond (never ``"0.0 ms"``)."""
    if seconds < 0.001:
        return f"{seconds * 1000:.2f} ms"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _num(x: float) -> str:
    return f"{x:.4g}"


def summarize(pred: pd.DataFrame, target_type: str, labels: list[str] | None) -> str:
    """One line about the predictions: mean/min/max, or the predicted-class counts."""
    if not isinstance(pred, pd.DataFrame) or pred.empty or target_type == TargetType.TRANSFORM:
        return ""
    if target_type in (TargetType.BINARY, TargetType.MULTICLASS) and labels and all(str(c) in map(str, pred.columns) for c in labels):
        cols = [c for c in pred.columns if str(c) in map(str, labels)]
        winners = pred[cols].idxmax(axis=1).astype(str).value_counts()
        return "predicted class: " + ", ".join(f"{k} {v:,}" for k, v in winners.items())
    col = "Predictions" if "Predictions" in pred.columns else pred.columns[0]
    values = pd.to_numeric(pred[col], errors="coerce").dropna()
    if values.empty:
        return ""
    return f"{col}: mean {_num(values.mean())} · min {_num(values.min())} · max {_num(values.max())}"


def figure_png(draw: Any, size: tuple[float, float] = (6, 3.5), dpi: int = 100) -> bytes:
    """PNG bytes of ``draw(ax)`` on a fresh figure (no pyplot: the same in a notebook and a test shell)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    fig.tight_layout(pad=0.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def plot_png(pred: pd.DataFrame, target_type: str, labels: list[str] | None) -> bytes | None:
    """A small PNG of the prediction distribution, or None when there is nothing to plot."""
    if not isinstance(pred, pd.DataFrame) or pred.empty:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=PLOT_SIZE, dpi=PLOT_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if target_type in (TargetType.BINARY, TargetType.MULTICLASS) and labels:
        cols = [c for c in pred.columns if str(c) in map(str, labels)]
        if target_type == TargetType.BINARY and len(cols) == 2:
            # the positive class (labels are [negative, positive]; the columns keep the model's order)
            cols = [c for c in cols if str(c) == str(labels[-1])] or cols[1:]
        for col in cols:
            ax.hist(pd.to_numeric(pred[col], errors="coerce").dropna(), bins=20, range=(0, 1),
                    histtype="stepfilled" if len(cols) == 1 else "step", linewidth=1.5, label=str(col))
        ax.set_xlabel("probability" if len(cols) > 1 else f"P({cols[0]})" if cols else "probability")
        if len(cols) > 1:
            ax.legend(fontsize=8, frameon=False)
    elif target_type in (TargetType.REGRESSION, TargetType.ANOMALY) or "Predictions" in pred.columns:
        col = "Predictions" if "Predictions" in pred.columns else pred.columns[0]
        values = pd.to_numeric(pred[col], errors="coerce").dropna()
        if values.empty:
            return None
        ax.hist(values, bins=30)
        ax.set_xlabel(str(col))
    else:
        return None
    from matplotlib.ticker import MaxNLocator

    ax.set_ylabel("rows")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # row counts: no 2.5
    ax.tick_params(labelsize=9)
    ax.xaxis.label.set_size(9)
    ax.yaxis.label.set_size(9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout(pad=0.4)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


@dataclass
class ScoreReport:
    """What ``%%drum_score`` shows: the model, the timing, the predictions and their plot."""

    name: str
    target_type: str
    predictions: Any
    seconds: float
    rows: int | None
    labels: list[str] | None = None
    max_rows: int = 10
    plot: bool = True
    note: str = ""
    png: bytes | None = field(default=None, repr=False)
    render_seconds: float = 0.0
    _table_html: str = field(default="", repr=False)

    def render(self) -> "ScoreReport":
        """Build the table and the plot now (timed as ``render_seconds``)."""
        started = time.perf_counter()
        self._table_html = self._table().to_html(max_rows=None, max_cols=30, border=0, classes="dataframe")
        self.png = plot_png(self.predictions, self.target_type, self.labels) if self.plot else None
        self.render_seconds = time.perf_counter() - started
        return self

    def _table(self) -> pd.DataFrame:
        pred = self.predictions
        if isinstance(pred, pd.DataFrame):
            return pred.head(self.max_rows)
        head = pred[: self.max_rows]  # sparse or array outputs of transform models
        return pd.DataFrame(head.toarray() if hasattr(head, "toarray") else head)

    @property
    def headline(self) -> str:
        rows = f"{self.rows:,} rows" if self.rows is not None else "scored"
        return f"{self.name} · {self.target_type} · {rows} scored in {fmt_seconds(self.seconds)}"

    def _more(self) -> str:
        n = self.rows or 0
        more = n - self.max_rows
        return f"… {more:,} more rows" if more > 0 else ""

    def __repr__(self) -> str:
        parts = [self.headline]
        summary = summarize(self.predictions, self.target_type, self.labels)
        if summary:
            parts.append(summary)
        parts.append(self._table().to_string())
        if self._more():
            parts.append(self._more())
        if self.note:
            parts.append(self.note)
        return "\n".join(parts)

    def _repr_html_(self) -> str:
        if not self._table_html:
            self.render()
        summary = summarize(self.predictions, self.target_type, self.labels)
        img = ""
        if self.png:
            data = base64.b64encode(self.png).decode()
            img = f'<img alt="prediction distribution" src="data:image/png;base64,{data}"/>'
        more = f"<div style='color:#666'>{self._more()}</div>" if self._more() else ""
        note = f"<div style='color:#666'>{html.escape(self.note)}</div>" if self.note else ""
        return (
            "<div class='drumnb-score'>"
            f"<div><b>{html.escape(self.name)}</b> · {html.escape(self.target_type)} · "
            f"{f'{self.rows:,}' if self.rows is not None else ''} rows scored in {fmt_seconds(self.seconds)}</div>"
            + (f"<div style='color:#444'>{html.escape(summary)}</div>" if summary else "")
            + "<div style='display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap'>"
            f"<div>{self._table_html}{more}</div><div>{img}</div></div>{note}</div>"
        )

