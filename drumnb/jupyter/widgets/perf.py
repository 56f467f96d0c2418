"""What ``%drum_perf`` shows under its cell: the perf-test plots (the table is the report's own HTML).

    from drumnb.jupyter.widgets.perf import perf_png, show
    show(report)          # display the plots of a PerfReport (a static PNG: it reads the same on GitHub)

With concurrency levels: latency p50 / p90 / p99 and throughput (requests/s,
rows/s when a request holds more than one row) against concurrency, one tick
per level.  With size cases: latency against rows per request (log scales:
sizes span five orders of magnitude).  Both when the run had both.
"""
from __future__ import annotations

import io
import os
from typing import Any

FONT_SIZE = 11
PANEL = (4.6, 3.4)  # inches per panel
DPI = 110


def perf_png(report: Any) -> bytes | None:
    """The plots of ``report`` as PNG bytes, or None when nothing was measured."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    levels = any(lv.latencies for lv in report.levels)
    cases = any(c.latencies for c in report.cases)
    panels = (2 if levels else 0) + (1 if cases else 0)
    if not panels:
        return None
    with rc_context({"font.size": FONT_SIZE, "axes.titlesize": FONT_SIZE + 1, "legend.fontsize": FONT_SIZE - 1}):
        fig = Figure(figsize=(PANEL[0] * panels, PANEL[1]), dpi=DPI)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, panels, squeeze=False)[0]
        if levels:
            report.plot_levels(axes[0], axes[1])
        if cases:
            ax = report.plot(axes[-1])
            ax.set_title("latency by request size")
        title = os.path.basename(str(report.model).rstrip("/")) if report.model else report.url
        fig.suptitle(f"drumnb perf-test: {title}", fontsize=FONT_SIZE + 1)
        fig.tight_layout(pad=0.6)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def show(report: Any) -> None:
    """Display the plots of ``report`` in the notebook (nothing when nothing was measured)."""
    from IPython.display import Image, display

    png = perf_png(report)
    if png is not None:
        display(Image(data=png))


__all__ = ["perf_png", "show"]
