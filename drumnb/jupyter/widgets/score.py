"""The score panel: pick a DataFrame (or a file) and a model with its target type, score, see table and plot.

It scores through the same code as ``%%drum_score`` (the workspace's cached
model, the core's ``predict``), so the answer is the CLI's and the server's.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from ...core.targets import TargetType
from ..magics import TARGET_TYPES
from .static import StaticFallback

AUTO = "(from the folder)"
#: Room for the longest label ("target type"), so none is cut.
LABELS = {"description_width": "6.5em"}


def _frames(namespace: dict[str, Any]) -> list[str]:
    import pandas as pd

    return sorted(k for k, v in namespace.items() if isinstance(v, pd.DataFrame) and not k.startswith("_"))


class ScorePanel(StaticFallback, W.VBox):
    """Score a DataFrame or a file with a model; ``.predictions`` holds the last answer."""

    def __init__(self, *, model: str = "", data: str = "", target_type: str | None = None,
                 namespace: dict[str, Any] | None = None):
        from ..workspace import WORKSPACE

        self.namespace = namespace if namespace is not None else _user_ns()
        self.predictions: Any = None
        self.report: Any = None
        frames = _frames(self.namespace)
        self.data = W.Dropdown(options=["(a file)"] + frames, value=data if data in frames else
                               (frames[0] if frames else "(a file)"), description="DataFrame", style=LABELS)
        self.path = W.Text(value="" if data in frames else data, placeholder="data.csv (used when set)",
                           description="or file", style=LABELS)
        self.model = W.Combobox(value=model, options=sorted(WORKSPACE.folders), placeholder="name or folder",
                                description="model", ensure_option=False,
                                style=LABELS)
        self.target_type = W.Dropdown(options=[AUTO, *TARGET_TYPES], value=target_type or AUTO,
                                      description="target type", style=LABELS)
        self.labels = W.Text(placeholder="binary: negative,positive · multiclass: a,b,c", description="labels", style=LABELS)
        self.rows = W.BoundedIntText(value=10, min=1, max=1000, description="table rows", style=LABELS)
        self.button = W.Button(description="Score", button_style="primary", icon="play")
        self.reload_names = W.Button(description="", icon="refresh", tooltip="re-read DataFrames and model names",
                                     layout=W.Layout(width="3em"))
        self.message = W.HTML("")
        self.output = W.Output()
        self.button.on_click(self._clicked)
        self.reload_names.on_click(lambda _: self.refresh_choices())
        super().__init__([W.HBox([self.data, self.path, self.reload_names]),
                          W.HBox([self.model, self.target_type]), W.HBox([self.labels, self.rows]),
                          W.HBox([self.button, self.message]), self.output])

    def refresh_choices(self) -> None:
        from ..workspace import WORKSPACE

        current = self.data.value
        self.data.options = ["(a file)"] + _frames(self.namespace)
        if current in self.data.options:
            self.data.value = current
        self.model.options = sorted(WORKSPACE.folders)

    def _load_kwargs(self, target_type: str | None) -> dict[str, Any]:
        labels = [x.strip() for x in self.labels.value.split(",") if x.strip()]
        if not labels:
            return {}
        if target_type == TargetType.BINARY or (target_type is None and len(labels) == 2):
            if len(labels) != 2:
                from ..errors import usage

                raise usage("binary labels: negative,positive")
            return {"negative_class_label": labels[0], "positive_class_label": labels[1]}
        return {"class_labels": labels}

    def _clicked(self, _button: Any = None) -> None:
        try:
            self.score()
        except Exception:  # noqa: BLE001 - shown in the panel; a callback must not raise
            pass

    def score(self) -> Any:
        """Score with the current choices; shows and returns the predictions."""
        from ..errors import CellError, boundary
        from ..scoring import resolve_data, score
        from ..workspace import WORKSPACE

        self.output.clear_output()
        try:
            with boundary(show_notes=False):
                if not self.model.value.strip():
                    from ..errors import usage

                    raise usage("choose a model (a %%drum_hooks name or a folder)")
                name, folder = WORKSPACE.resolve(self.model.value.strip())
                target = None if self.target_type.value == AUTO else self.target_type.value
                source = self.path.value.strip() or (None if self.data.value == "(a file)" else self.data.value)
                if not source:
                    from ..errors import usage

                    raise usage("choose a DataFrame or type a file path")
                data = resolve_data(source, self.namespace)
                model = WORKSPACE.model(folder, target, **self._load_kwargs(target))
                note = WORKSPACE.reload_note(folder)  # "hooks reloaded in 4 ms" after an edit of custom.py
                scored = score(model, data, name=name, max_rows=int(self.rows.value))
        except CellError as exc:
            text = f"{html.escape(exc.kind)}: {html.escape(exc.message)}"
            self.message.value = f"<span style='color:#cf222e'>{text}</span>"
            raise
        self.predictions, self.report = scored.value, scored.report
        self.message.value = html.escape(note or "")
        with self.output:
            from IPython.display import display

            from .timing import waterfall

            display(scored.report)
            display(waterfall(getattr(model, "last_timings", None), title="inside the prediction:"))
        return self.predictions

    def __repr__(self) -> str:
        return f"ScorePanel(model={self.model.value!r}, data={self.path.value.strip() or self.data.value!r})"


def _user_ns() -> dict[str, Any]:
    try:
        from IPython import get_ipython

        ip = get_ipython()
        return ip.user_ns if ip is not None else {}
    except ImportError:  # pragma: no cover
        return {}
