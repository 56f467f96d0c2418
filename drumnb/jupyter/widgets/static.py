"""A static view of a widget, saved next to the live one, for readers who did not run the notebook.

GitHub, nbviewer and a notebook opened without its kernel cannot draw an ipywidget: they show its
``text/plain`` (``MonitoringPanel(store=...)``).  :class:`StaticFallback` adds a ``text/html``
snapshot of what the widget shows -- its HTML parts (charts as inline PNG, tables), the values of
its inputs, its buttons greyed -- to the widget's output; JupyterLab still draws the live widget.
"""
from __future__ import annotations

import base64
import html
import os
from typing import Any

import ipywidgets as W

from ..workspace import display_path

#: The class of the snapshot's outer ``div`` (nbval_sanitize.cfg masks the snapshot by it).
CSS_CLASS = "drumnb-static"


class StaticFallback:
    """Mixin for an ``ipywidgets`` widget: its mimebundle also carries a static HTML snapshot."""

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        if isinstance(bundle, dict):
            bundle["text/html"] = snapshot(self)  # type: ignore[arg-type]
        return bundle


def snapshot(widget: W.Widget) -> str:
    """What ``widget`` shows now, as HTML that needs no kernel and no JavaScript."""
    return (f"<div class='{CSS_CLASS}' style='border:1px dashed #bbb;padding:6px;max-width:72em;overflow:auto'>"
            f"{_html(widget)}<div style='color:#888;font-size:85%'>static view: run the notebook for the "
            f"live panel</div></div><!--/{CSS_CLASS}-->")


def _html(w: Any) -> str:
    esc = html.escape
    if isinstance(w, W.Box):
        direction = "row" if isinstance(w, W.HBox) else "column"
        inner = "".join(_html(c) for c in w.children)
        return (f"<div style='display:flex;flex-direction:{direction};gap:0.5em;flex-wrap:wrap;min-width:0'>"
                f"{inner}</div>")
    if isinstance(w, (W.HTML, W.HTMLMath)):  # a wide log scrolls inside the view instead of widening it
        return f"<div style='min-width:0;max-width:100%;overflow:auto'>{w.value}</div>" if w.value else ""
    if isinstance(w, W.Label):
        return f"<span>{esc(str(w.value))}</span>"
    if isinstance(w, (W.Button, W.ToggleButton)):
        return f"<button disabled>{esc(w.description)}</button>" if w.description else ""
    if isinstance(w, W.Checkbox):
        return f"<span>{'☑' if w.value else '☐'} {esc(w.description)}</span>"
    if isinstance(w, W.Image):
        data = base64.b64encode(w.value).decode()
        return f"<img src='data:image/{esc(w.format)};base64,{data}'/>"
    if isinstance(w, W.Output):
        return "".join(_output(o) for o in w.outputs)
    if isinstance(w, W.FileUpload):
        return ""
    if isinstance(w, W.ValueWidget) and hasattr(w, "value"):
        label = f"<b>{esc(w.description)}</b> " if getattr(w, "description", "") else ""
        value = w.value if w.value not in (None, "") else getattr(w, "placeholder", "")
        if isinstance(value, str) and os.path.isabs(value) and os.path.exists(value):
            value = display_path(value)  # the notebook's folder, not this machine's
        return f"<span>{label}<code>{esc(str(value))}</code></span>"
    return ""


def _output(out: dict[str, Any]) -> str:
    data = out.get("data", {})
    if "text/html" in data:
        return f"<div>{data['text/html']}</div>"
    if "image/png" in data:
        return f"<img src='data:image/png;base64,{data['image/png']}'/>"
    text = data.get("text/plain") or out.get("text") or ""
    return f"<pre>{html.escape(text)}</pre>" if text else ""
