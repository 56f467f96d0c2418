"""ipywidgets for the notebook: the unstructured inspector, the server, score and monitoring panels.

    from drumnb.jupyter import widgets
    widgets.inspector("echo")            # compose a request, see what the hook got and what it answered
    widgets.server_panel()               # every running server: health, memory, latency, logs, stop/restart
    widgets.score_panel()                # pick a DataFrame or a file and a model, score, see table and plot
    widgets.monitoring_panel("store.sqlite")   # charts of the local monitoring store
    widgets.monitoring_report("store.sqlite")  # the same charts as a static output

Each widget's text form (``repr``) is short and stable, so notebooks that show
them compare cleanly under nbval.
"""
from __future__ import annotations

from typing import Any

__all__ = ["inspector", "server_panel", "score_panel", "monitoring_panel", "monitoring_report",
           "Inspector", "ServerPanel", "ScorePanel", "MonitoringPanel"]


def inspector(target: Any = None, **kwargs: Any) -> Any:
    """An :class:`~drumnb.jupyter.widgets.unstructured.Inspector` for a model name, Model, server or URL."""
    from .unstructured import Inspector

    return Inspector(target, **kwargs)


def server_panel(**kwargs: Any) -> Any:
    from .servers import ServerPanel

    return ServerPanel(**kwargs)


def score_panel(**kwargs: Any) -> Any:
    from .score import ScorePanel

    return ScorePanel(**kwargs)


def monitoring_panel(path: str | None = None, **kwargs: Any) -> Any:
    from .monitoring import MonitoringPanel

    return MonitoringPanel(path, **kwargs)


def monitoring_report(path: str, **kwargs: Any) -> Any:
    from .monitoring import monitoring_report as report

    return report(path, **kwargs)


def __getattr__(name: str) -> Any:
    import importlib

    where = {"Inspector": "unstructured", "ServerPanel": "servers", "ScorePanel": "score",
             "MonitoringPanel": "monitoring"}
    if name in where:
        return getattr(importlib.import_module(f"{__name__}.{where[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
