"""Shared by the in-process Jupyter tests: an IPython shell with drumnb loaded, cells run as a user types them.

Fixtures (import them into a test module): ``runtime`` (a private Jupyter runtime
folder, so the server registry is the test's own), ``ip`` (the shell; servers it
started are stopped at the end), ``ex`` (example model folders), ``fresh``
(autouse there: each test in its own notebook folder with an empty workspace).
"""
from __future__ import annotations

import os
import re
import socket
import textwrap

import pandas as pd
import pytest
from IPython.utils.capture import capture_output

ANSI = re.compile(r"\x1b\[[0-9;]*m")

@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    path = tmp_path_factory.mktemp("runtime")
    old = os.environ.get("JUPYTER_RUNTIME_DIR")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("JUPYTER_RUNTIME_DIR", None)
    else:
        os.environ["JUPYTER_RUNTIME_DIR"] = old


@pytest.fixture(scope="module")
def ip(runtime):
    from IPython.testing.globalipapp import start_ipython

    shell = start_ipython()
    shell.display_formatter.active_types = ["text/plain", "text/html", "image/png"]  # as a notebook shows
    shell.run_cell("%load_ext drumnb")
    yield shell
    from drumnb.jupyter import launcher

    launcher.stop_all()


@pytest.fixture(scope="module")
def ex(tmp_path_factory):
    from drumnb.examples import build

    out = tmp_path_factory.mktemp("nb-examples")
    build(str(out), ["sklearn_regressor", "sklearn_binary", "sklearn_multiclass", "all_hooks"])
    return out


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """Each test in its own notebook folder, with an empty workspace."""
    from drumnb.jupyter.workspace import WORKSPACE

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DRUMNB_MODELS_DIR", raising=False)
    WORKSPACE.folders.clear()
    WORKSPACE.forget()
    yield
    WORKSPACE.folders.clear()
    WORKSPACE.forget()


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
