"""Shared by the in-process Jupyter tests: an IPython shell with drumnb loaded, cells run as a user types them.

The fixtures are in ``conftest.py``: ``runtime`` (a private Jupyter runtime folder,
so the server registry is the test's own), ``ip`` (the shell; servers it started
are stopped at the end), ``ex`` (example model folders) and ``fresh`` (each test
in its own notebook folder with an empty workspace; modules use it with
``pytestmark = pytest.mark.usefixtures("fresh")``).
"""
from __future__ import annotations

import re
import socket
import textwrap

import pandas as pd
from IPython.utils.capture import capture_output

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Cell:
    def __init__(self, result, text, outputs):
        self.result, self.text, self.outputs = result, text, outputs

    @property
    def error(self):
        return self.result.error_in_exec

    @property
    def html(self) -> str:
        return "".join(o.data.get("text/html", "") for o in self.outputs)

    @property
    def plain(self) -> str:
        return "".join(o.data.get("text/plain", "") for o in self.outputs)


def run(ip, code: str) -> Cell:
    with capture_output() as cap:
        result = ip.run_cell(textwrap.dedent(code).strip("\n"))
    return Cell(result, ANSI.sub("", cap.stdout + cap.stderr), cap.outputs)


def hooks(ip, name: str, body: str, flags: str = "") -> Cell:
    return run(ip, f"%%drum_hooks {name} {flags}\n" + textwrap.dedent(body).strip("\n") + "\n")


def short_error(cell: Cell, kind: str, *parts: str) -> None:
    """The cell failed with a short message: its kind, the given parts, no traceback."""
    assert cell.error is not None, cell.text
    assert type(cell.error).__name__ == kind, (type(cell.error).__name__, cell.text)
    for part in parts:
        assert part in cell.text, (part, cell.text)
    assert "Traceback" not in cell.text and "File \"" not in cell.text, cell.text
    assert len(cell.text.strip().splitlines()) <= 4, cell.text


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def frame(n: int = 5) -> pd.DataFrame:
    return pd.DataFrame({"a": range(n), "b": [1.0] * n})


def execute(kc, code: str, timeout: float = 90) -> tuple[str, str]:
    """Run a cell in a real kernel (a jupyter_client ``kc``): (status, what it showed, a line per output).

    Streams as they came, ``text/plain`` of results and displays, and ``ename: evalue`` of an error.
    """
    out: list[str] = []

    def hook(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            out.append(content["text"])
        elif kind in ("execute_result", "display_data"):
            out.append(content["data"].get("text/plain", "") + "\n")
        elif kind == "error":
            out.append(f"{content['ename']}: {content['evalue']}\n")

    reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"]["status"], "".join(out)
