"""The unstructured inspector: compose a request, send it, see what the hook received and what came back.

Left: the request (body as text, an uploaded file, or bytes typed as hex;
content type; charset; query).  After *Send*, side by side: what the hook
received (``str`` or ``bytes``, a preview, the exact keyword arguments) and
which decoding rule applied and why; and the response (status, headers, body
as text, hex or an image).  The target is a model in the kernel (the core
records what the hook saw) or a running server.
"""
from __future__ import annotations

import binascii
from typing import Any

import ipywidgets as W

from ...core.errors import InputError
from ..errors import CellError, boundary, error
from ..inspection import Inspection, inspect_request, render_html
from .static import StaticFallback

CONTENT_TYPES = ["text/plain", "application/json", "text/csv", "application/octet-stream", "image/png",
                 "text/plain; charset=latin-1", "(none)"]
CHARSETS = ["", "utf-8", "latin-1", "utf-16", "ascii"]

#: Room for the longest label ("content type"), so none is cut to "content ty…".
LABELS = {"description_width": "6.5em"}


def resolve_target(target: Any) -> tuple[str, Any]:
    """``(label, target)``: a model name or folder becomes the model loaded in the kernel."""
    if target is None:
        return "", None
    if isinstance(target, str) and not target.startswith(("http://", "https://")):
        from ..workspace import WORKSPACE

        name, folder = WORKSPACE.resolve(target)
        return f"{name} (in the kernel)", WORKSPACE.model(folder, "unstructured")
    if hasattr(target, "hooks") and hasattr(target, "predict_unstructured"):
        import os

        return f"{os.path.basename(os.path.normpath(target.code_dir))} (in the kernel)", target
    name = getattr(target, "name", None)
    url = getattr(target, "url", target)
    return (f"server {name} ({url})" if name else str(url)), target


class Inspector(StaticFallback, W.VBox):
    """Compose and send unstructured requests; the last answer is ``.result`` (an Inspection)."""

    def __init__(self, target: Any = None, *, body: "str | bytes" = "", content_type: str | None = "text/plain",
                 charset: str = "", query: str = "", send: bool = False):
        label, obj = resolve_target(target)
        self._targets: dict[str, Any] = {}
        if obj is not None:
            self._targets[label] = obj
        self._add_servers()
        self.result: Inspection | None = None
        self.target_dd = W.Dropdown(options=list(self._targets), description="target", style=LABELS,
                                    layout=W.Layout(width="36em"))
        if isinstance(body, bytes):
            self._bytes: bytes | None = body
            body_text = ""
        else:
            self._bytes = None
            body_text = body
        self.body = W.Textarea(value=body_text, placeholder="request body", description="body", style=LABELS,
                               layout=W.Layout(width="36em", height="6em"))
        self.as_hex = W.Checkbox(value=False, description="body is hex bytes", indent=False)
        self.upload = W.FileUpload(description="file…", multiple=False)
        self.clear_file = W.Button(description="no file", tooltip="send the text body again")
        self.file_label = W.HTML("")
        self.content_type = W.Combobox(value="(none)" if content_type is None else content_type,
                                       options=CONTENT_TYPES, description="content type", ensure_option=False,
                                       style=LABELS)
        self.charset = W.Combobox(value=charset, options=CHARSETS, description="charset", ensure_option=False,
                                  style=LABELS)
        self.query = W.Text(value=query, placeholder="a=1&b=2", description="query", style=LABELS)
        self.view = W.ToggleButtons(options=["auto", "text", "hex", "image"], value="auto", description="body view",
                                    style={"button_width": "5em", **LABELS})
        self.send_button = W.Button(description="Send", button_style="primary", icon="paper-plane")
        self.output = W.HTML("")
        self.send_button.on_click(self._clicked)
        self.upload.observe(self._on_upload, names="value")
        self.clear_file.on_click(lambda _: self._set_bytes(None))
        self.view.observe(lambda _: self._render(), names="value")
        if self._bytes is not None:
            self._set_bytes(self._bytes, "bytes given")
        super().__init__([
            self.target_dd,
            self.body, W.HBox([self.as_hex, self.upload, self.clear_file, self.file_label]),
            W.HBox([self.content_type, self.charset]), self.query,
            W.HBox([self.send_button, self.view]), self.output,
        ])
        if send:
            self.send()

    def _add_servers(self) -> None:
        from .. import launcher

        for server in launcher.servers().values():
            if server.running:
                self._targets.setdefault(f"server {server.name} ({server.url})", server)

    def _on_upload(self, change: Any) -> None:
        value = change["new"]
        if value:
            item = value[0] if isinstance(value, (list, tuple)) else next(iter(value.values()))
            self._set_bytes(bytes(item["content"]), f"{item.get('name', 'file')} ({item.get('size', '?')} bytes)")
            if item.get("type"):
                self.content_type.value = item["type"]

    def _set_bytes(self, data: bytes | None, label: str = "") -> None:
        self._bytes = data
        self.file_label.value = f"<i>sending {label}</i>" if data is not None else ""

    # --- the request -----------------------------------------------------------------------------
    @property
    def target(self) -> Any:
        return self._targets.get(self.target_dd.value)

    def request_body(self) -> "str | bytes":
        if self._bytes is not None:
            return self._bytes
        if self.as_hex.value:
            try:
                return binascii.unhexlify("".join(self.body.value.split()))
            except (binascii.Error, ValueError) as exc:
                raise error(InputError, f"the body is not hex: {exc}",
                            "type pairs of hex digits, e.g. 89 50 4e 47") from None
        return self.body.value

    def _clicked(self, _button: Any = None) -> None:
        try:
            self.send()
        except Exception:  # noqa: BLE001 - shown in the widget already; a callback must not raise
            pass

    def send(self) -> Inspection:
        """Send the composed request; returns (and shows) the :class:`Inspection`."""

        target = self.target
        if target is None:
            self.output.value = "<span style='color:#cf222e'>no target: pass a model name, a Model or a server</span>"
            raise ValueError("no target")
        ct = self.content_type.value.strip()
        try:
            with boundary(show_notes=False):
                self.result = inspect_request(target, self.request_body(),
                                              content_type=None if ct in ("", "(none)") else ct,
                                              charset=self.charset.value.strip() or None,
                                              query=self.query.value.strip() or None)
        except CellError as exc:
            self.output.value = f"<span style='color:#cf222e'>{exc.kind}: {exc.message}</span>"
            raise
        self._render()
        return self.result

    def _render(self) -> None:
        if self.result is not None:
            view = None if self.view.value == "auto" else self.view.value
            self.output.value = render_html(self.result, view)

    def report(self) -> str:
        """The last answer as text."""
        return repr(self.result) if self.result is not None else "(nothing sent yet)"

    def __repr__(self) -> str:
        ct = self.content_type.value
        return (f"Inspector(target={self.target_dd.value!r}, content_type={ct!r}"
                + (f", charset={self.charset.value!r}" if self.charset.value else "")
                + (f", status={self.result.status}" if self.result is not None else "") + ")")
