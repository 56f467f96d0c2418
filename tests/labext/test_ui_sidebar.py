"""Browser tests of the DRUM sidebar's poll: rows kept across polls, and a quiet back-off while Jupyter is gone.

The sidebar polls ``/drumnb/api/servers`` every 3 s.  A poll must update only
what changed: the rows are keyed (a server by PID, a folder by path) and kept,
so a hovered or focused button, a text selection and the sidebar's scroll
position survive it, and a server started between two polls gets a row of its
own.  When the Jupyter server does not answer, the sidebar says so in one line
and polls less and less often (3 s doubling up to 30 s) until it answers.

Real JupyterLab, real drumnb servers (``drumnb server`` processes entered in
the lab's registry), headless Chromium; the module's lab and browser are
tests/labext/test_ui.py's fixtures.
"""
from __future__ import annotations

import time

import pytest
from server_support import start_server  # noqa: F401 - a fixture
from test_ui import EX, EXAMPLES, browser, expect, lab, open_lab, open_sidebar, page  # noqa: F401 - fixtures
from ui_support import Lab, chromium_missing, shot

_missing = chromium_missing()
pytestmark = [pytest.mark.skipif(_missing is not None, reason=_missing or ""), pytest.mark.timeout(240)]

SERVERS_API = "/drumnb/api/servers"
OFFLINE = "cannot reach the Jupyter server; retrying"


def serve(start_server, lab, name: str):
    """A real ``drumnb server`` of the example ``name``, entered in the lab's registry as ``%drum_serve`` does."""
    from drumnb import server_registry as registry

    folder = lab.root / EX / name
    srv = start_server(["-cd", str(folder)])
    registry.write({"name": name, "pid": srv.pid, "port": srv.port, "host": "127.0.0.1", "url": srv.url,
                    "model": name, "code_dir": str(folder), "create_time": registry.process_create_time(srv.pid)})
    return srv


class Polls:
    """The sidebar's calls of ``/drumnb/api/servers`` seen by the page: answered and failed, with their times."""

    def __init__(self, page):
        self.page, self.answered, self.failed = page, [], []
        page.on("response", lambda r: SERVERS_API in r.url and self.answered.append(time.monotonic()))
        page.on("requestfailed", lambda r: SERVERS_API in r.url and self.failed.append(time.monotonic()))

    def wait(self, kind: str, n: int, timeout: float = 60.0) -> None:
        """Wait until ``n`` more calls of ``kind`` ('answered' or 'failed') happened."""
        seen = getattr(self, kind)
        target, deadline = len(seen) + n, time.monotonic() + timeout
        while len(seen) < target:
            assert time.monotonic() < deadline, f"{len(seen)} of {target} {kind} polls in {timeout:.0f} s"
            self.page.wait_for_timeout(100)


# What survives in the page: nodes marked with a JS property (a rebuilt node loses it), the focus, the selection,
# the scroll position, the hover state, and the mutations of the models list (none when nothing changed there).
MARK = """() => {
  const side = document.getElementById('drumnb-sidebar');
  const stop = side.querySelector('li.jp-drumnb-server .jp-drumnb-stop');
  const models = side.querySelector('.jp-drumnb-models');
  const open = models.querySelector('li.jp-drumnb-model .jp-drumnb-open');
  const row = models.querySelector('li.jp-drumnb-model');
  for (const el of [stop, open, row, side.querySelector('li.jp-drumnb-server')]) { el.__drumnbMark = true; }
  window.__drumnbMutations = [];
  new MutationObserver(m => window.__drumnbMutations.push(...m)).observe(models,
    { subtree: true, childList: true, attributes: true, characterData: true });
  open.focus({ preventScroll: true });
  const detail = row.querySelector('.jp-drumnb-detail');
  const range = document.createRange();
  range.selectNodeContents(detail);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
  return { scrollTop: side.scrollTop, selection: sel.toString(), focused: document.activeElement === open,
           active: String(document.activeElement && document.activeElement.className) };
}"""

CHECK = """() => {
  const side = document.getElementById('drumnb-sidebar');
  const stop = side.querySelector('li.jp-drumnb-server .jp-drumnb-stop');
  const models = side.querySelector('.jp-drumnb-models');
  const open = models.querySelector('li.jp-drumnb-model .jp-drumnb-open');
  return {
    scrollTop: side.scrollTop,
    stopKept: stop.__drumnbMark === true, stopHovered: stop.matches(':hover'),
    openKept: open.__drumnbMark === true, openFocused: document.activeElement === open,
    modelRowKept: models.querySelector('li.jp-drumnb-model').__drumnbMark === true,
    serverRowKept: side.querySelector('li.jp-drumnb-server').__drumnbMark === true,
    selection: window.getSelection().toString(),
    modelMutations: window.__drumnbMutations.length,
  };
}"""


def test_poll_keeps_rows_hover_focus_selection_and_scroll(page, lab, start_server, monkeypatch):  # noqa: F811
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(lab.runtime))
    serve(start_server, lab, "sklearn_regressor")
    page.set_viewport_size({"width": 1280, "height": 560})   # short: the sidebar scrolls
    polls = Polls(page)
    open_lab(page, lab)
    open_sidebar(page)
    side = page.locator("#drumnb-sidebar")
    first = side.locator("li.jp-drumnb-server[data-name='sklearn_regressor']")
    expect(first).to_have_attribute("data-health", "ok", timeout=30_000)
    expect(side.locator("li.jp-drumnb-model")).to_have_count(len(EXAMPLES))
    assert side.evaluate("s => s.scrollHeight > s.clientHeight + 100"), "the sidebar does not scroll at this size"
    polls.wait("answered", 2)   # JupyterLab focuses its launcher once after start-up: mark after that
    side.evaluate("s => { s.scrollTop = 40; }")
    first.locator(".jp-drumnb-stop").hover()
    before = page.evaluate(MARK)
    assert before["scrollTop"] == 40 and before["selection"].startswith("artifact:"), before
    assert before["focused"], before

    polls.wait("answered", 1)
    serve(start_server, lab, "sklearn_binary")   # started between two polls: a row of its own appears
    polls.wait("answered", 2)
    second = side.locator("li.jp-drumnb-server[data-name='sklearn_binary']")
    expect(second).to_have_attribute("data-health", "ok", timeout=30_000)
    expect(side.locator("li.jp-drumnb-server")).to_have_count(2)
    expect(side.locator(".jp-drumnb-section-title").first).to_have_text("Servers (2)")
    expect(page.locator("#drumnb-status")).to_have_text("DRUM 2")
    after = page.evaluate(CHECK)
    shot(page, "sidebar-poll")
    assert after == {"scrollTop": 40, "stopKept": True, "stopHovered": True, "openKept": True, "openFocused": True,
                     "modelRowKept": True, "serverRowKept": True, "selection": before["selection"],
                     "modelMutations": 0}, after
    # the kept Stop button still stops its own server (it looks the row's server up when clicked)
    pid = int(second.get_attribute("data-pid"))
    second.locator(".jp-drumnb-stop").click()
    expect(side.locator("li.jp-drumnb-server")).to_have_count(1, timeout=15_000)
    assert not [e for e in lab.registry_entries() if int(e["pid"]) == pid]
    assert page.evaluate(CHECK)["serverRowKept"] is True


def test_unreachable_jupyter_server_is_one_quiet_line_and_backs_off(browser, tmp_path):  # noqa: F811
    """Jupyter stopped: one status line, no error rows, polls 3 s, 6 s, 12 s apart; restarted: the line goes."""
    from drumnb.examples import build

    root = tmp_path / "root"
    build(str(root / EX), ["sklearn_binary"])
    own = Lab(tmp_path, root).start()
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    try:
        polls = Polls(pg)
        open_lab(pg, own)
        open_sidebar(pg)
        side = pg.locator("#drumnb-sidebar")
        line = side.locator(".jp-drumnb-offline")
        expect(side.locator("li.jp-drumnb-model")).to_have_count(1)
        expect(line).to_be_hidden()
        own.stop()
        polls.wait("failed", 3, timeout=45)
        expect(line).to_be_visible()
        expect(line).to_have_text(OFFLINE)
        expect(side.locator(".jp-drumnb-error")).to_have_count(0)    # no error rows: the last lists stay, dimmed
        expect(side.locator("li.jp-drumnb-model")).to_have_count(1)
        expect(pg.locator("#drumnb-status")).to_have_attribute("data-health", "unknown")
        gaps = [b - a for a, b in zip(polls.failed, polls.failed[1:])]
        assert gaps[-2] > 4.5 and gaps[-1] > 9, f"no back-off: {gaps}"
        pg.keyboard.press("Escape")   # JupyterLab's own "Server Connection Error" dialog, if it shows one
        shot(pg, "sidebar-poll-offline")
        again = Lab(tmp_path, root)
        again.port, again.url = own.port, own.url   # the same address, as after a restart
        own = again.start()
        expect(line).to_be_hidden(timeout=45_000)   # the next (backed-off) poll answers
        expect(side.locator("li.jp-drumnb-model")).to_have_count(1)
        expect(side).to_have_attribute("data-offline", "false")
    finally:
        context.close()
        own.stop()
