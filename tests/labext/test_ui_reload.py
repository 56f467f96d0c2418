"""Browser tests of the save-and-see loop and of seeing inside a request (real JupyterLab + Chromium).

1. ``custom.py`` edited on disk (as any editor saves it): the next ``%drum_score`` shows the new behaviour
   and says "hooks reloaded in N ms", and the artifact was not loaded again (its load count stays 1).
2. The score panel draws the prediction's steps as a waterfall; the server panel lists a server's last
   requests with their waterfalls and replays one.
"""
from __future__ import annotations

import re
import textwrap
import time

import pytest
from test_ui import browser, cell_output, expect, lab, open_notebook, page, run_all, wait_idle  # noqa: F401
from ui_support import chromium_missing, shot

_missing = chromium_missing()
pytestmark = [pytest.mark.skipif(_missing is not None, reason=_missing or ""), pytest.mark.timeout(300)]

#: load_model counts its runs in loads.log (not an artifact: writing it reloads nothing)
CUSTOM = """
import os
import pandas as pd

def load_model(code_dir):
    with open(os.path.join(code_dir, "loads.log"), "a") as fh:
        fh.write("x")
    return {{"offset": 0.5}}

def score(data, model, **kwargs):
    return pd.DataFrame({{"Predictions": data["x"] * {mult} + model["offset"]}})
"""

SETUP = "%load_ext drumnb\nimport pandas as pd\ndf = pd.DataFrame({'x': [1.0, 2.0]})"


def write_model(lab, name: str, mult: int) -> None:
    folder = lab.root / name
    folder.mkdir(exist_ok=True)
    path = folder / "custom.py"
    before = path.stat().st_mtime_ns if path.exists() else None
    path.write_text(textwrap.dedent(CUSTOM.format(mult=mult)).lstrip())
    while before is not None and path.stat().st_mtime_ns == before:  # a coarse clock: make the edit visible
        time.sleep(0.01)
        path.write_text(textwrap.dedent(CUSTOM.format(mult=mult)).lstrip())


def run_cell(page, i: int) -> None:
    """Run cell ``i`` again (Shift+Enter on it) and wait for the kernel to be idle."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(i)
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")
    time.sleep(0.3)
    wait_idle(page)


def test_editing_custom_py_on_disk_reloads_the_hooks_not_the_artifact(page, lab):
    write_model(lab, "saveandsee", mult=10)
    open_notebook(page, lab, "saveandsee.ipynb", [SETUP, "%drum_score saveandsee --data df -t regression"])
    run_all(page, 2)
    out = cell_output(page, 1)
    expect(out).to_contain_text("10.5")
    expect(out).to_contain_text("20.5")
    write_model(lab, "saveandsee", mult=100)  # an editor saves custom.py
    run_cell(page, 1)
    expect(out).to_contain_text(re.compile(r"saveandsee: hooks reloaded in \d+ ms"))
    expect(out).to_contain_text("100.5")
    expect(out).to_contain_text("200.5")
    assert (lab.root / "saveandsee" / "loads.log").read_text() == "x"  # loaded once: the artifact was kept
    shot(page, "test_ui_reload-score-after-edit")


def test_panels_show_the_steps_and_replay_a_request(page, lab):
    write_model(lab, "inside", mult=3)
    open_notebook(page, lab, "inside.ipynb", [
        SETUP,
        "from drumnb.jupyter import widgets\nsp = widgets.score_panel(model='inside', data='df')\nsp.score()\nsp",
        "srv = %drum_serve inside\nfor _ in range(3):\n    srv.client.predict(df)",
        "panel = widgets.server_panel()\npanel"])
    run_all(page, 4)
    score = cell_output(page, 1)
    expect(score.locator(".drumnb-waterfall")).to_be_visible(timeout=30_000)
    expect(score.locator(".drumnb-waterfall")).to_contain_text("score")
    expect(score.locator(".drumnb-bar")).to_have_count(3)  # read, score, contract
    score.locator(".drumnb-waterfall").scroll_into_view_if_needed()
    shot(page, "test_ui_reload-score-panel-waterfall")
    servers = cell_output(page, 3)
    expect(servers).to_contain_text("health 200", timeout=30_000)
    expect(servers.locator(".drumnb-waterfall")).to_contain_text("an average prediction")
    servers.locator("button", has_text="Requests").click()
    expect(servers).to_contain_text("#3 POST /predict/", timeout=30_000)
    servers.locator("button", has_text="Replay").first.click()
    expect(servers).to_contain_text(re.compile(r"replayed #3: 200"), timeout=30_000)
    expect(servers).to_contain_text("replay of #3")
    servers.locator("button", has_text="Replay").first.scroll_into_view_if_needed()
    shot(page, "test_ui_reload-server-panel-requests")
    # an edit on disk reaches the served model too (its watcher), still without loading again
    write_model(lab, "inside", mult=7)
    probe = "import time\nfor _ in range(100):\n    if srv.client.predict(df)['Predictions'][0] == 7.5:\n" \
            "        break\n    time.sleep(0.1)\nprint('served', srv.client.predict(df)['Predictions'].tolist())"
    page.locator(".jp-Notebook .jp-Cell").nth(3).locator(".jp-InputArea-prompt").click()
    page.keyboard.press("b")  # a new cell below
    page.keyboard.press("Enter")
    page.keyboard.insert_text(probe)
    page.keyboard.press("Shift+Enter")
    wait_idle(page)
    expect(cell_output(page, 4)).to_contain_text("served [7.5, 14.5]", timeout=30_000)
    # loads.log: one load in the kernel (score panel) and one in the server
    assert (lab.root / "inside" / "loads.log").read_text() == "xx"
    servers.locator("button", has_text="Refresh").click()
    expect(servers).to_contain_text(re.compile(r"hooks reloaded in \d+ ms"))
    servers.locator("button", has_text="Refresh").scroll_into_view_if_needed()
    shot(page, "test_ui_reload-server-panel-after-edit")
    # a broken edit: the served model keeps its hooks, and the panel says why in one line
    (lab.root / "inside" / "custom.py").write_text(CUSTOM.format(mult=9) + "\ndef score(:\n")
    time.sleep(1.0)
    servers.locator("button", has_text="Refresh").click()
    expect(servers).to_contain_text(re.compile(r"did not reload, the previous hooks serve: .*SyntaxError"))
    shot(page, "test_ui_reload-server-panel-broken-edit")
