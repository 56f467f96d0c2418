"""Inside a request: an inline waterfall of its steps, and the server's last requests with a Replay button.

* :func:`waterfall_html` draws one request's steps (read, transform, score, post_process, contract,
  serialize) as small horizontal bars, each starting where the previous ended, with its milliseconds.
  The score panel shows it under a prediction made in the kernel (``Model.last_timings``); the server
  panel under each kept request (the ``Server-Timing`` header the server sent).
* :class:`RequestsView` lists a server's last requests (``GET <prefix>/_drumnb/requests/``: status,
  input and output heads, waterfall) and replays one (``POST .../<id>/replay/``), showing the new answer.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from ...model import STEPS
from ...server.stats import REPLAY_BYTES, TIMED_STEPS

#: one colour a step (the same in every panel)
COLOURS = {"read": "#4c78a8", "transform": "#72b7b2", "score": "#f58518", "post_process": "#e45756",
           "contract": "#54a24b", "serialize": "#b279a2"}
BAR_PX = 240


def steps_ms(timings: "tuple[float | None, ...] | dict[str, float] | None") -> dict[str, float]:
    """``{step: milliseconds}`` in pipeline order from a model's ``last_timings`` (seconds, :data:`STEPS`)
    or a parsed ``Server-Timing`` (milliseconds)."""
    if not timings:
        return {}
    if isinstance(timings, dict):
        return {s: float(timings[s]) for s in TIMED_STEPS if s in timings}
    return {s: sec * 1000.0 for s, sec in zip(STEPS, timings) if sec is not None}


def waterfall_html(timings: Any, *, title: str = "") -> str:
    """The steps as a waterfall: one row a step, its bar offset by the steps before it."""
    steps = steps_ms(timings)
    if not steps:
        return ""
    total = sum(steps.values()) or 1.0
    rows, offset = [], 0.0
    for step, ms in steps.items():
        left = BAR_PX * offset / total
        width = max(BAR_PX * ms / total, 1.0)
        rows.append(
            "<div style='display:flex;align-items:center;height:16px;font-size:12px'>"
            f"<span style='width:7.5em;flex:none'>{html.escape(step)}</span>"
            f"<span style='position:relative;width:{BAR_PX}px;height:10px;flex:none;background:#f3f3f3'>"
            f"<span class='drumnb-bar' style='position:absolute;left:{left:.1f}px;width:{width:.1f}px;height:10px;"
            f"background:{COLOURS.get(step, '#888')}'></span></span>"
            f"<span style='margin-left:.6em;font-variant-numeric:tabular-nums'>{ms:,.3f} ms</span></div>")
        offset += ms
    head = (f"<div style='font-size:12px;color:#555;margin:2px 0'>{html.escape(title)} "
            f"<b>{total:,.3f} ms</b> in the model's steps</div>")
    return f"<div class='drumnb-waterfall'>{head}{''.join(rows)}</div>"


def waterfall(timings: Any, *, title: str = "") -> W.HTML:
    return W.HTML(waterfall_html(timings, title=title))


def _entry_html(entry: dict[str, Any]) -> str:
    ok = 200 <= int(entry.get("status") or 0) < 300
    colour = "#1a7f37" if ok else "#cf222e"
    source = " · replay of #%s" % entry["replay_of"] if entry.get("replay_of") else ""
    inp, out = entry.get("input") or {}, entry.get("output") or {}
    head = (f"<b>#{entry.get('id')}</b> {html.escape(entry.get('method', ''))} {html.escape(entry.get('path', ''))} "
            f"<span style='color:{colour}'>{entry.get('status')}</span> · {entry.get('ms', 0):,.1f} ms · "
            f"{inp.get('bytes', 0):,} bytes in{source}")
    pre = "margin:0;font-size:11px;max-height:5.5em;overflow:auto;background:#fafafa;white-space:pre-wrap"
    return (f"<div>{head}</div>"
            f"<div style='display:flex;gap:8px'><pre style='{pre};flex:1'>{html.escape(inp.get('head', ''))}</pre>"
            f"<pre style='{pre};flex:1'>{html.escape(out.get('head', ''))}</pre></div>"
            + waterfall_html(entry.get("timings") or {}))


class RequestsView(W.VBox):
    """A server's kept requests (newest first, at most ``limit``), each with a Replay button."""

    def __init__(self, url: str, *, limit: int = 5):
        self.url = url
        self.limit = limit
        self.entries: list[dict[str, Any]] = []
        self.message = W.HTML("")
        self.last_replay: dict[str, Any] | None = None
        super().__init__([])
        self.refresh()

    def _client(self) -> Any:
        from ...server.client import Client

        return Client(self.url, timeout=10)

    def refresh(self) -> list[dict[str, Any]]:
        client = self._client()
        try:
            r = client.get("/_drumnb/requests/", timeout=5)
            self.entries = r.json().get("requests", []) if r.status_code == 200 else []
            note = "" if r.status_code == 200 else "this server keeps no requests"
        except Exception as exc:  # noqa: BLE001 - a dead or busy server: said in the panel
            self.entries, note = [], f"requests unavailable: {type(exc).__name__}"
        finally:
            client.close()
        rows: list[W.Widget] = []
        for entry in self.entries[:self.limit]:
            button = W.Button(description="Replay", icon="repeat", layout=W.Layout(width="7em"),
                              disabled=not entry.get("replayable"),
                              tooltip="send this input again" if entry.get("replayable") else
                              f"larger than {REPLAY_BYTES // 1024} KiB: only its head was kept")
            button.on_click(lambda _b, i=entry["id"]: self.replay(i))
            rows.append(W.HBox([W.HTML(_entry_html(entry), layout=W.Layout(flex="1")), button],
                               layout=W.Layout(border_top="1px solid #eee", padding="2px 0")))
        if not rows:
            rows = [W.HTML(f"<i>{html.escape(note or 'no prediction requests yet')}</i>")]
        self.children = [self.message, *rows]
        return self.entries

    def replay(self, request_id: int) -> dict[str, Any]:
        """POST the kept input of request ``request_id`` again; shows and returns the new answer."""
        client = self._client()
        try:
            r = client.post(f"/_drumnb/requests/{request_id}/replay/", timeout=60)
            answer = r.json()
        except Exception as exc:  # noqa: BLE001
            answer = {"status": None, "message": f"{type(exc).__name__}: {exc}"}
        finally:
            client.close()
        self.last_replay = answer
        self.refresh()
        if answer.get("status") is None or "entry" not in answer:
            self.message.value = ("<span style='color:#cf222e'>replay failed: "
                                  f"{html.escape(str(answer.get('message', answer)))}</span>")
        else:
            head = (answer.get("output") or {}).get("head", "")
            self.message.value = (f"replayed #{request_id}: <b>{answer['status']}</b> "
                                  f"<code>{html.escape(head[:160])}</code>"
                                  + waterfall_html(answer.get("timings") or {}, title="new answer:"))
        return answer

    def __repr__(self) -> str:
        return f"RequestsView(url={self.url!r}, requests={len(self.entries)})"
