"""What an unstructured request does: the hook's input, the rule that decoded it, and the response.

:func:`inspect_request` sends one request to a model -- a loaded model in the
kernel, or a running server -- and returns an :class:`Inspection`: what the
hook received (``str`` or ``bytes``, a preview, the exact keyword arguments),
which of DRUM's decoding rules applied and why, and the response (status,
headers, body).  For a model in the kernel the hook's view is the one the
core recorded; for a server it is worked out with the same pure rules
(:func:`drumnb.core.unstructured.decode_request`), since HTTP does not carry
it back.  It renders as HTML (two columns) and as text.
"""
from __future__ import annotations

import base64
import html
import time
from dataclasses import dataclass, field
from typing import Any


PREVIEW = 400
HEX_BYTES = 256


@dataclass
class Inspection:
    name: str
    target: str                         # "kernel" or the server URL
    body: bytes
    content_type: str | None
    query: dict[str, str]
    data_type: str | None = None        # "str" / "bytes": what the hook's data argument was
    data_preview: str = ""
    data_length: int | None = None
    kwargs: dict[str, str] = field(default_factory=dict)   # name -> repr, as the hook saw them
    kwargs_source: str = ""
    rule: str | None = None
    reason: str | None = None
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    response_rule: str | None = None
    response_reason: str | None = None
    returned_type: str | None = None
    seconds: float = 0.0
    error: str | None = None
    hint: str | None = None

    @property
    def response_content_type(self) -> str:
        return self.response_headers.get("Content-Type", "")

    @property
    def response_text(self) -> str | None:
        """The response body decoded with its charset, when it is text."""
        from ..core.unstructured import is_text, parse_content_type

        mimetype, charset = parse_content_type(self.response_content_type)
        if mimetype and not is_text(mimetype) and not charset:
            return None
        try:
            return self.response_body.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            return None

    def view(self) -> str:
        """How the body is best shown: ``"image"``, ``"text"`` or ``"hex"``."""
        if self.response_content_type.lower().startswith("image/"):
            return "image"
        return "text" if self.response_text is not None else "hex"

    def __repr__(self) -> str:
        return render_text(self)

    def _repr_html_(self) -> str:
        return render_html(self)


def _preview(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= PREVIEW else text[:PREVIEW] + f"… ({len(text)} characters)"


def _set_data(ins: Inspection, data: "str | bytes") -> None:
    ins.data_type, ins.data_preview, ins.data_length = type(data).__name__, _preview(data), len(data)


def hexdump(data: bytes, limit: int = HEX_BYTES) -> str:
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off:off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes")
    return "\n".join(lines) or "(empty)"


def with_charset(content_type: str | None, charset: str | None) -> str | None:
    """``content_type`` with ``; charset=`` set to ``charset`` (when given)."""
    if not charset:
        return content_type
    base = (content_type or "text/plain").split(";")[0].strip()
    return f"{base}; charset={charset}"


def inspect_request(target: Any, body: "str | bytes", *, content_type: str | None = None,
                    charset: str | None = None, query: "str | dict | None" = None,
                    name: str | None = None) -> Inspection:
    """Send one unstructured request to ``target`` (a Model, a server handle, a Client or a URL)."""
    from ..core.unstructured import DEFAULT_CHARSET, parse_content_type, parse_query

    content_type = with_charset(content_type, charset)
    if isinstance(body, str):
        try:
            body = body.encode(parse_content_type(content_type)[1] or DEFAULT_CHARSET)
        except (LookupError, UnicodeEncodeError):
            body = body.encode(DEFAULT_CHARSET)  # the decoding rules then say what is wrong with the charset
    body = bytes(body)
    q = parse_query(query if not isinstance(query, dict) else {k: str(v) for k, v in query.items()})
    if hasattr(target, "predict_unstructured") and hasattr(target, "hooks"):
        return _in_kernel(target, body, content_type, q, name or _model_name(target))
    url = getattr(target, "url", target)
    return _over_http(str(url), body, content_type, q, name or getattr(target, "name", None) or str(url))


def _model_name(model: Any) -> str:
    import os

    return os.path.basename(os.path.normpath(getattr(model, "code_dir", "model")))


def _in_kernel(model: Any, body: bytes, content_type: str | None, query: dict, name: str) -> Inspection:
    from ..core.errors import DrumnbError, HookError
    from ..core.unstructured import decode_request

    ins = Inspection(name, "kernel", body, content_type, query, kwargs_source="recorded by the core")
    try:
        decoded = decode_request(body, content_type)
        ins.rule, ins.reason = decoded.rule, decoded.reason
        _set_data(ins, decoded.data)
    except DrumnbError as exc:
        ins.status, ins.error, ins.hint = exc.status, exc.message, exc.hint
        return ins
    started = time.perf_counter()
    try:
        result = model.predict_unstructured(body, content_type=content_type, query=query)
    except HookError as exc:
        ins.seconds = time.perf_counter() - started
        from .errors import from_exception
        from .workspace import WORKSPACE

        err = from_exception(exc, WORKSPACE.cell_maps_for(getattr(model, "code_dir", "")))
        ins.status, ins.error, ins.hint = exc.status, err.message, err.hint
        ins.kwargs = {k: repr(v) for k, v in {**decoded.kwargs, "query": query, "mlops": None}.items()}
        ins.kwargs_source = "what the core passes (the hook failed)"
        return ins
    except DrumnbError as exc:
        ins.seconds = time.perf_counter() - started
        ins.status, ins.error, ins.hint = exc.status, exc.message, exc.hint
        return ins
    ins.seconds = result.seconds
    ins.kwargs = {k: repr(v) for k, v in result.kwargs.items()}
    ins.status = 200
    ins.response_headers = {"Content-Type": result.encoded.content_type}
    ins.response_body = result.encoded.body
    ins.response_rule, ins.response_reason = result.encoded.rule, result.encoded.reason
    ins.returned_type = _returned_type(result.returned)
    return ins


def _returned_type(value: Any) -> str:
    if isinstance(value, tuple) and len(value) == 2:
        return f"({type(value[0]).__name__}, {value[1]!r})"
    return type(value).__name__


def _over_http(url: str, body: bytes, content_type: str | None, query: dict, name: str) -> Inspection:
    from ..core.errors import DrumnbError
    from ..core.unstructured import decode_request
    from ..server.client import Client

    ins = Inspection(name, url, body, content_type, query,
                     kwargs_source="worked out with drumnb's rules (the server does not send them back)")
    try:
        decoded = decode_request(body, content_type)
        ins.rule, ins.reason = decoded.rule, decoded.reason
        _set_data(ins, decoded.data)
        ins.kwargs = {k: repr(v) for k, v in {**decoded.kwargs, "query": query}.items()}
        ins.kwargs["headers"] = "{...the request's HTTP headers...}"
        ins.kwargs["mlops"] = "None"
    except DrumnbError as exc:
        ins.rule, ins.reason = "not decoded", exc.message
    client = Client(url)
    try:
        r = client.predict_unstructured(body, content_type=content_type, query=query, raise_for_status=False)
    except Exception as exc:  # noqa: BLE001
        ins.error, ins.hint = f"{type(exc).__name__}: {exc}", "is the server running? (%drum_serve --list)"
        return ins
    finally:
        client.close()
    ins.status, ins.seconds = r.status, r.seconds
    ins.response_headers = {k: v for k, v in r.headers.items() if k.lower() in
                            ("content-type", "content-length", "x-drumnb-version", "x-request-id")}
    ins.response_body = r.body
    if r.status >= 400:
        try:
            payload = r.json()
            ins.error = str(payload.get("message", "")).removeprefix("ERROR: ")
            ins.hint = payload.get("hint")
        except ValueError:
            ins.error = r.text[:300]
    return ins


# --- rendering ---------------------------------------------------------------------------------

def render_text(ins: Inspection) -> str:
    lines = [f"{ins.name} ({ins.target}): POST {len(ins.body)} bytes, Content-Type: {ins.content_type or '(none)'}"
             + (f", query {ins.query}" if ins.query else "")]
    lines.append("hook received:")
    if ins.data_type:
        unit = "characters" if ins.data_type == "str" else "bytes"
        lines.append(f"  data: {ins.data_type} ({ins.data_length} {unit}) {ins.data_preview}")
    else:
        lines.append("  nothing: the hook was not called")
    if ins.rule and ins.data_type:
        lines.append(f"  rule: {ins.rule} -- {ins.reason}")
    for k, v in ins.kwargs.items():
        lines.append(f"  kwargs[{k!r}] = {v}")
    lines.append(f"response: {ins.status if ins.status is not None else 'none'}"
                 + (f" {ins.response_content_type}" if ins.response_content_type else ""))
    if ins.returned_type:
        lines.append(f"  hook returned: {ins.returned_type}")
    if ins.response_rule:
        lines.append(f"  rule: {ins.response_rule} -- {ins.response_reason}")
    if ins.error:
        lines.append(f"  error: {ins.error}" + (f"\n  hint: {ins.hint}" if ins.hint else ""))
    elif ins.status is not None:
        view = ins.view()
        if view == "text":
            lines.append(f"  body: {ins.response_text!r}")
        elif view == "image":
            lines.append(f"  body: {ins.response_content_type} image, {len(ins.response_body)} bytes")
        else:
            lines.append("  body (hex):\n" + "\n".join("    " + x for x in hexdump(ins.response_body).splitlines()))
    return "\n".join(lines)


_CELL = "padding:2px 8px;text-align:left;vertical-align:top"
_HEAD = _CELL + ";white-space:nowrap"  # labels such as "Content-Type" never break or get cut


def _rows(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th style='{_HEAD}'>{k}</th><td style='{_CELL}'>{v}</td></tr>"
                               for k, v in rows) + "</table>"


def _ms(seconds: float) -> str:
    """Always milliseconds (one unit, whatever the load): ``"0.04 ms"``, ``"12.3 ms"``, ``"1534.2 ms"``."""
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 1 else f"{ms:.1f} ms"


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def render_html(ins: Inspection, view: str | None = None) -> str:
    esc = html.escape
    req = [("body", f"{len(ins.body)} bytes"), ("Content-Type", _code(ins.content_type or "(none)"))]
    if ins.query:
        req.append(("query", _code(repr(ins.query))))
    if ins.data_type:
        left = [("data type", _code(ins.data_type)),
                ("data", f"<pre style='margin:0;white-space:pre-wrap;max-width:28em'>{esc(ins.data_preview)}</pre>")]
    else:
        left = [("data", "<i>nothing: the hook was not called</i>")]
    if ins.rule:
        left.append(("rule", f"<b>{esc(ins.rule)}</b>: {esc(ins.reason or '')}"))
    left += [(f"kwargs[{esc(repr(k))}]", _code(v)) for k, v in ins.kwargs.items()]
    status_colour = "#1a7f37" if ins.status and ins.status < 400 else "#cf222e"
    right = [("status", f"<b style='color:{status_colour}'>{ins.status if ins.status is not None else '—'}</b>"
                        + (f" in {_ms(ins.seconds)}" if ins.seconds else ""))]
    right += [(esc(k), _code(v)) for k, v in ins.response_headers.items()]
    if ins.returned_type:
        right.append(("hook returned", _code(ins.returned_type)))
    if ins.response_rule:
        right.append(("rule", f"<b>{esc(ins.response_rule)}</b>: {esc(ins.response_reason or '')}"))
    if ins.error:
        right.append(("error", f"<span style='color:#cf222e'>{esc(ins.error)}</span>"
                               + (f"<br/><i>hint: {esc(ins.hint)}</i>" if ins.hint else "")))
    if ins.status is not None and not ins.error:
        right.append(("body", _body_html(ins, view or ins.view())))
    col = "flex:1;min-width:22em;border:1px solid #ddd;border-radius:4px;padding:4px"
    request_table = _rows(req).replace("<table>", "<table style='display:inline-table'>")
    return (f"<div class='drumnb-inspect'><div><b>{esc(ins.name)}</b> · {esc(ins.target)} · "
            f"{request_table}</div>"
            f"<div style='display:flex;gap:1em;flex-wrap:wrap'>"
            f"<div style='{col}'><b>what the hook received</b> <small>({esc(ins.kwargs_source)})</small>"
            f"{_rows(left)}</div>"
            f"<div style='{col}'><b>response</b>{_rows(right)}</div></div></div>")


def _body_html(ins: Inspection, view: str) -> str:
    if view == "image" and ins.response_body:
        data = base64.b64encode(ins.response_body).decode()
        mime = html.escape(ins.response_content_type.split(";")[0])
        return f"<img style='max-width:20em' src='data:{mime};base64,{data}'/>"
    if view == "text" and ins.response_text is not None:
        text = html.escape(ins.response_text[:4000])
        return f"<pre style='margin:0;white-space:pre-wrap;max-width:28em'>{text}</pre>"
    return f"<pre style='margin:0'>{html.escape(hexdump(ins.response_body))}</pre>"


def describe_result(result: Any, *, name: str, body: bytes = b"", content_type: str | None = None,
                    query: dict | None = None) -> Inspection:
    """An :class:`Inspection` of an ``UnstructuredResult`` the core already returned."""
    d = result.decoded
    ins = Inspection(name, "kernel", body, content_type if content_type is not None else d.content_type,
                     query or {}, kwargs_source="recorded by the core")
    _set_data(ins, d.data)
    ins.rule, ins.reason = d.rule, d.reason
    ins.kwargs = {k: repr(v) for k, v in result.kwargs.items()}
    ins.status, ins.seconds = 200, result.seconds
    ins.response_headers = {"Content-Type": result.encoded.content_type}
    ins.response_body = result.encoded.body
    ins.response_rule, ins.response_reason = result.encoded.rule, result.encoded.reason
    ins.returned_type = _returned_type(result.returned)
    return ins
