"""Browser tests of the whole notebook experience: JupyterLab + the drumnb extension + the widgets.

A real ``jupyter lab`` (127.0.0.1, a free port, a temporary root with example
models) and Debian's Chromium driven by Python Playwright.  One server and one
browser for the module; each test opens its own page (``?reset`` layout) and
saves a screenshot in build/ui-screenshots/.  Before running cells a test
waits for the status bar to say ``| Idle``: a Shift+Enter sent while the
kernel still attaches is dropped silently.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ui_support import CHROMIUM, CHROMIUM_ARGS, Lab, chromium_missing, notebook, pid_alive, shot

ROOT = Path(__file__).resolve().parents[2]

_missing = chromium_missing()
pytestmark = [pytest.mark.skipif(_missing is not None, reason=_missing or ""), pytest.mark.timeout(240)]

EXAMPLES = ["sklearn_regressor", "sklearn_binary", "sklearn_multiclass", "all_hooks"]
EX = "build/examples"   # relative to JupyterLab's root, as the tutorials and `make run` have it
IDLE_MS = 90_000
EXPECT_MS = 20_000

HOOKS_K = """%%drum_hooks k
import pandas as pd

def load_model(code_dir):
    return 3

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.sum(axis=1) * model})
"""

HOOKS_ECHO = """%%drum_hooks echo
def score_unstructured(model, data, **kwargs):
    return f"echo: {data}"
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from drumnb.examples import build

    base = tmp_path_factory.mktemp("ui")
    root = base / "root"
    root.mkdir()
    build(str(root / EX), EXAMPLES)   # where `make run` builds them under notebooks/
    server = Lab(base, root).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def h2o(lab) -> Path:
    """Real H2O MOJOs and POJOs (binary, multiclass, regression) under the lab's root, in ``h2o/`` (~30 s)."""
    import importlib.util

    if importlib.util.find_spec("h2o") is None:
        pytest.skip("needs h2o")
    import os

    from h2o_support import train_now

    out = lab.root / "h2o"
    out.mkdir()
    train_now(out, dict(os.environ), timeout=500)
    return out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(30_000)
    pg = context.new_page()
    yield pg
    try:
        shot(pg, request.node.name)   # the page as the test left it
    finally:
        context.close()


# --- helpers ---------------------------------------------------------------------------------------

def expect(locator):
    from playwright.sync_api import expect as _expect

    _expect.set_options(timeout=EXPECT_MS)   # Playwright's 5 s default is short on 2 busy cores
    return _expect(locator)


def open_lab(page, lab: Lab, path: str | None = None) -> None:
    page.goto(f"{lab.url}/lab/tree/{path}?reset" if path else f"{lab.url}/lab?reset")
    page.wait_for_function("document.body.dataset.drumnb === 'loaded'", timeout=60_000)


def wait_idle(page) -> None:
    expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=IDLE_MS)


def open_notebook(page, lab: Lab, name: str, cells: list[str]) -> None:
    notebook(lab.root / name, cells)
    open_lab(page, lab, name)
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    wait_idle(page)


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()


def run_all(page, n_cells: int, timeout: float = 120_000) -> None:
    """Run every cell and wait until each prompt shows an execution count."""
    page.locator(".jp-Notebook .jp-Cell").first.click()
    menu(page, "Run", "Run All Cells")
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputArea-prompt")
    for i in range(n_cells):
        expect(prompts.nth(i)).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout)
    wait_idle(page)


def open_sidebar(page) -> None:
    page.locator("#drumnb-status").click()
    expect(page.locator("#drumnb-sidebar")).to_be_visible()


def palette(page, text: str) -> None:
    page.keyboard.press("Control+Shift+C")
    box = page.locator(".lm-CommandPalette-input")
    expect(box).to_be_visible()
    box.fill(text)


def cell_output(page, i: int):
    return page.locator(".jp-Notebook .jp-Cell").nth(i).locator(".jp-Cell-outputArea")


def score_panel_from_sidebar(page, lab, nb: str, csv: str, folder: str):
    """A notebook with ``df`` read from ``csv``; the sidebar's Score panel of ``folder`` clicked and scored.
    Returns the panel cell and its output area."""
    open_notebook(page, lab, nb, [f"import pandas as pd\ndf = pd.read_csv({csv!r})\ndf.shape"])
    run_all(page, 1)
    open_sidebar(page)
    page.locator(f"#drumnb-sidebar li.jp-drumnb-model[data-path='{folder}'] .jp-drumnb-inspect").click()
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(2)
    expect(cells.nth(1)).to_contain_text("widgets.score_panel(model=")
    out = cell_output(page, 1)
    button = out.locator("button", has_text="Score")
    expect(button).to_be_visible(timeout=60_000)
    button.click()
    return cells.nth(1), out


# --- tests -----------------------------------------------------------------------------------------

def test_extension_loads(page, lab):
    open_lab(page, lab)
    status = page.locator("#drumnb-status")
    expect(status).to_have_text("DRUM 0")
    expect(status).to_have_attribute("data-health", "none")
    info = page.request.get(f"{lab.url}/drumnb/api/info").json()
    assert info["version"] and info["labextension_built"] is True
    assert Path(info["root_dir"]) == lab.root
    # the launcher card and the palette commands
    expect(page.locator(".jp-Launcher .jp-LauncherCard", has_text="New model")).to_be_visible()
    palette(page, "DRUM")
    for label in ("New DRUM model…", "Show the DRUM sidebar", "Refresh DRUM models and servers"):
        expect(page.locator(".lm-CommandPalette-item", has_text=label)).to_be_visible()
    # the insert commands are listed once a notebook is open (test_insert_cell_commands runs them)
    shot(page, "test_extension_loads-palette")
    page.keyboard.press("Escape")


def test_sidebar_lists_example_models(page, lab):
    open_lab(page, lab)
    open_sidebar(page)
    side = page.locator("#drumnb-sidebar")
    for name in EXAMPLES:
        expect(side.locator(f"li.jp-drumnb-model[data-path='build/examples/{name}']")).to_be_visible()
    binary = side.locator("li.jp-drumnb-model[data-path='build/examples/sklearn_binary']")
    expect(binary.locator(".jp-drumnb-badge")).to_have_text("binary")
    expect(binary).to_contain_text("artifact: model.pkl (sklearn)")
    hooks = side.locator("li.jp-drumnb-model[data-path='build/examples/all_hooks']")
    expect(hooks).to_contain_text("load_model")
    expect(hooks).to_contain_text("score")
    multi = side.locator("li.jp-drumnb-model[data-path='build/examples/sklearn_multiclass']")
    expect(multi.locator(".jp-drumnb-badge")).to_have_text("multiclass")   # from class_labels.txt
    expect(multi).to_contain_text("labels: setosa, versicolor, virginica")
    expect(multi).to_have_attribute("data-status", "ok")   # no metadata file is no problem when the labels say
    for name in EXAMPLES:   # no orange warnings on the bundled examples
        expect(side.locator(f"li.jp-drumnb-model[data-path='{EX}/{name}'] .jp-drumnb-problem")).to_have_count(0)
    expect(side.locator(".jp-drumnb-section-title").first).to_have_text("Servers (0)")
    shot(page, "test_sidebar_lists_example_models-sidebar")
    # "Open custom.py" opens the hook file in an editor
    hooks.locator(".jp-drumnb-open").click()
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tabLabel", has_text="custom.py")).to_be_visible()
    expect(page.locator(".jp-FileEditor .cm-content")).to_contain_text("def load_model")


def test_drum_serve_appears_in_sidebar_and_stops(page, lab):
    open_notebook(page, lab, "serve.ipynb", ["%load_ext drumnb",
                                             "srv = %drum_serve build/examples/sklearn_regressor\nprint(srv.pid)"])
    open_sidebar(page)
    run_all(page, 2)
    expect(cell_output(page, 1)).to_contain_text(re.compile(r"\d+"))
    side = page.locator("#drumnb-sidebar")
    row = side.locator("li.jp-drumnb-server")
    expect(row).to_have_count(1, timeout=30_000)
    expect(row).to_have_attribute("data-health", "ok", timeout=30_000)
    expect(row).to_contain_text("sklearn_regressor")
    expect(row).to_contain_text("healthy")
    expect(row).to_contain_text(re.compile(r"\d+(\.\d+)? MB"))
    status = page.locator("#drumnb-status")
    expect(status).to_have_text("DRUM 1")
    expect(status).to_have_attribute("data-health", "ok")
    pid = int(row.get_attribute("data-pid"))
    assert pid_alive(pid)
    entries = [e for e in lab.registry_entries() if int(e["pid"]) == pid]
    assert entries and entries[0]["name"] == "sklearn_regressor"
    shot(page, "test_drum_serve_appears_in_sidebar_and_stops-serving")
    row.locator(".jp-drumnb-stop").click()
    expect(side.locator("li.jp-drumnb-server")).to_have_count(0, timeout=15_000)
    expect(status).to_have_text("DRUM 0")
    deadline = time.monotonic() + 10
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(pid), f"server {pid} still runs after Stop"
    assert not [e for e in lab.registry_entries() if int(e["pid"]) == pid]


def test_unhealthy_server_is_red_in_status_bar_and_sidebar(page, lab, monkeypatch):
    """A registered server that does not answer /health/: a red dot in the status bar; Stop still ends it."""
    from drumnb import server_registry as registry

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(lab.runtime))
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        from ui_support import free_port

        port = free_port()   # nothing listens there
        registry.write({"name": "silent", "pid": proc.pid, "port": port, "host": "127.0.0.1",
                        "url": f"http://127.0.0.1:{port}", "code_dir": str(lab.root / EX / "sklearn_binary"),
                        "create_time": registry.process_create_time(proc.pid)})
        open_lab(page, lab)
        status = page.locator("#drumnb-status")
        expect(status).to_have_text("DRUM 1", timeout=15_000)
        expect(status).to_have_attribute("data-health", "bad")
        expect(status.locator(".jp-drumnb-dot")).to_have_class(re.compile("jp-mod-bad"))
        open_sidebar(page)
        row = page.locator("#drumnb-sidebar li.jp-drumnb-server[data-name='silent']")
        expect(row).to_have_attribute("data-health", "bad")
        expect(row).to_contain_text("unhealthy")
        expect(page.locator("#drumnb-sidebar li.jp-drumnb-model").first).to_be_visible()
        shot(page, "test_unhealthy_server_is_red_in_status_bar_and_sidebar-red")
        row.locator(".jp-drumnb-stop").click()
        expect(row).to_have_count(0, timeout=15_000)
        assert proc.wait(timeout=10) == -15
        expect(status).to_have_text("DRUM 0")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_new_model_command_creates_a_folder_that_scores(page, lab):
    open_lab(page, lab)
    open_sidebar(page)
    page.locator("#drumnb-sidebar .jp-drumnb-new").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("New DRUM model")
    dialog.locator(".jp-drumnb-new-name").fill("fresh_model")
    dialog.locator(".jp-drumnb-new-language").select_option("python")
    dialog.locator(".jp-drumnb-new-framework").select_option("sklearn")
    shot(page, "test_new_model_command_creates_a_folder_that_scores-dialog")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    row = page.locator("#drumnb-sidebar li.jp-drumnb-model[data-path='fresh_model']")
    expect(row).to_be_visible(timeout=120_000)
    expect(row).to_contain_text("score")
    expect(page.locator(".lm-DockPanel-tabBar .lm-TabBar-tabLabel", has_text="custom.py")).to_be_visible()
    folder = lab.root / "fresh_model"
    assert (folder / "custom.py").is_file() and (folder / "model-metadata.yaml").is_file()
    proc = subprocess.run([sys.executable, "-m", "drumnb", "score", "--code-dir", str(folder),
                           "--input", str(folder / "example_input.csv")],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Predictions" in proc.stdout or len(proc.stdout.splitlines()) > 1, proc.stdout


def test_insert_cell_commands(page, lab):
    """The palette's insert commands write cells that run: %load_ext, a %%drum_hooks model, a %%drum_score."""
    open_notebook(page, lab, "insert.ipynb", ["import pandas as pd\ndf = pd.DataFrame({'a': [1.0, 2.0], 'b': [3.0, 4.0]})",
                                              ""])
    page.locator(".jp-Notebook .jp-Cell").nth(1).click()
    palette(page, "Insert %%drum_hooks")
    page.keyboard.press("Enter")
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(3)   # the empty cell became %load_ext drumnb
    expect(cells.nth(1)).to_contain_text("%load_ext drumnb")
    expect(cells.nth(2)).to_contain_text("%%drum_hooks my_model")
    palette(page, "Insert %%drum_score")
    page.keyboard.press("Enter")
    expect(cells).to_have_count(4)   # %load_ext is there already: one cell only
    expect(cells.nth(3)).to_contain_text("%%drum_score my_model --data df")
    run_all(page, 4)
    expect(cell_output(page, 2)).to_contain_text("custom.py")
    out = cell_output(page, 3)
    expect(out).to_contain_text("Predictions")
    expect(out).to_contain_text("2 rows")
    expect(out).to_contain_text("6.0")   # the second row: 2.0 + 4.0


def test_launcher_cards_insert_into_a_new_notebook(page, lab):
    """From the launcher (no notebook of its own), the insert commands open a new notebook with the cells."""
    open_lab(page, lab)
    card = page.locator(".jp-Launcher .jp-LauncherCard", has_text="Hooks cell")
    expect(card).to_be_visible()
    expect(page.locator(".jp-Launcher .jp-LauncherCard", has_text="Score cell")).to_be_visible()
    card.click()
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")
    expect(cells.nth(0)).to_contain_text("%load_ext drumnb", timeout=60_000)
    expect(cells.nth(1)).to_contain_text("%%drum_hooks my_model")
    shot(page, "test_launcher_cards_insert_into_a_new_notebook")


def test_unstructured_inspector_widget(page, lab):
    open_notebook(page, lab, "inspector.ipynb", [
        "%load_ext drumnb", HOOKS_ECHO, "from drumnb.jupyter import widgets\nwidgets.inspector('echo')"])
    run_all(page, 3)
    out = cell_output(page, 2)
    body = out.locator("textarea")
    expect(body).to_be_visible()
    body.fill("hello drum")
    out.locator("button", has_text="Send").click()
    expect(out).to_contain_text("echo: hello drum", timeout=30_000)
    shot(page, "test_unstructured_inspector_widget-sent")
    # the sidebar's Inspect button: the %%drum_hooks folder is listed as unstructured; a new inspector cell runs
    open_sidebar(page)
    page.locator("#drumnb-sidebar .jp-drumnb-refresh").click()
    echo = page.locator("#drumnb-sidebar li.jp-drumnb-model[data-path='drum_models/echo']")
    expect(echo.locator(".jp-drumnb-badge")).to_have_text("unstructured")
    echo.locator(".jp-drumnb-inspect", has_text="Inspect").click()
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells).to_have_count(4)
    expect(cells.nth(3)).to_contain_text("widgets.inspector(")
    out = cell_output(page, 3)
    body = out.locator("textarea")
    expect(body).to_be_visible(timeout=60_000)
    body.fill("from the sidebar")
    out.locator("button", has_text="Send").click()
    expect(out).to_contain_text("echo: from the sidebar", timeout=30_000)
    

def test_server_panel_widget(page, lab):
    open_notebook(page, lab, "panel.ipynb", [
        "%load_ext drumnb", HOOKS_K, "srv = %drum_serve k",
        "from drumnb.jupyter import widgets\npanel = widgets.server_panel()\npanel"])
    run_all(page, 4)
    out = cell_output(page, 3)
    expect(out).to_contain_text("health 200", timeout=30_000)
    out.locator("button", has_text="Refresh").click()
    expect(out).to_contain_text("health 200")
    shot(page, "test_server_panel_widget-running")
    out.locator("button", has_text="Stop").click()
    expect(out).to_contain_text("stopped k", timeout=30_000)
    expect(out).to_contain_text("no server is running")


def test_score_panel_from_sidebar(page, lab):
    _, out = score_panel_from_sidebar(page, lab, "score.ipynb", f"{EX}/data/sklearn_regressor.csv",
                                      f"{EX}/sklearn_regressor")
    expect(out).to_contain_text("Predictions", timeout=60_000)
    

def test_monitoring_panel_widget(page, lab):
    open_notebook(page, lab, "monitoring.ipynb", [
        "%load_ext drumnb\nimport pandas as pd\ndf = pd.read_csv('build/examples/data/sklearn_regressor.csv')",
        "%drum_score build/examples/sklearn_regressor --data df --monitor-db store.sqlite -q",
        "from drumnb.jupyter import widgets\nwidgets.monitoring_panel('store.sqlite')",
        "%drum_score build/examples/sklearn_regressor --data df --monitor-db store.sqlite -q"])
    run_all(page, 4)
    out = cell_output(page, 2)
    expect(out).to_contain_text(re.compile(r"\d+ calls?\b"), timeout=30_000)
    text = out.inner_text()
    assert "1 calls" in text or "1 call" in text, text   # shown before the fourth cell scored again
    out.locator("button", has_text="Refresh").click()
    expect(out).to_contain_text("2 calls", timeout=30_000)
    expect(out.locator("img")).to_be_visible()
    

def _one_line_words(locator) -> list[str]:
    """The words of ``locator``'s text that the browser broke across lines (each word's client rects)."""
    return locator.evaluate("""el => {
        const broken = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const re = /\\S+/g;
            let m;
            while ((m = re.exec(node.data)) !== null) {
                const r = document.createRange();
                r.setStart(node, m.index);
                r.setEnd(node, m.index + m[0].length);
                const tops = new Set([...r.getClientRects()].map(x => Math.round(x.top)));
                if (tops.size > 1) broken.push(m[0]);
            }
        }
        return broken;
    }""")


def test_launcher_cards_have_their_own_section_and_whole_words(page, lab):
    open_lab(page, lab)
    section = page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle",
                                                                     has_text=re.compile("^drumnb$")))
    expect(section).to_be_visible()
    labels = section.locator(".jp-LauncherCard-label")
    expect(labels).to_have_text(["New model", "Score cell", "Hooks cell"])
    for i in range(3):
        assert _one_line_words(labels.nth(i)) == [], labels.nth(i).inner_text()
    other = page.locator(".jp-Launcher-section", has=page.locator(".jp-Launcher-sectionTitle", has_text="Other"))
    expect(other.locator(".jp-LauncherCard", has_text=re.compile("model|cell"))).to_have_count(0)
    section.scroll_into_view_if_needed()
    shot(page, "launcher")


def test_make_run_puts_the_examples_where_the_tutorials_and_the_sidebar_look():
    """`make run` builds under notebooks/ (JupyterLab's root) in the folder the tutorials build into, which
    test_sidebar_lists_example_models shows listed from the root."""
    import json

    make = (ROOT / "Makefile").read_text()
    assert re.search(rf"^EXAMPLES := notebooks/{re.escape(EX)}$", make, re.M), "Makefile's EXAMPLES moved"
    assert "--ServerApp.root_dir=notebooks" in make
    used = set()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            used |= set(re.findall(r"build\(\"([^\"]+)\"", "".join(cell["source"])))
    assert used == {EX}, used


def test_sidebar_badges_h2o_chat_and_unstructured(page, lab, h2o):
    """MOJO/POJO: the H2O model category, with its labels; chat: textgeneration; score_unstructured: unstructured;
    no "assuming regression" warning on any of them."""
    chat = lab.root / "drum_models" / "parrot"
    chat.mkdir(parents=True, exist_ok=True)
    (chat / "custom.py").write_text("def chat(completion_create_params, model):\n    return None\n")
    echo = lab.root / "drum_models" / "shout"
    echo.mkdir(parents=True, exist_ok=True)
    (echo / "custom.py").write_text("def score_unstructured(model, data, **kwargs):\n    return data.upper()\n")
    open_lab(page, lab)
    open_sidebar(page)
    page.locator("#drumnb-sidebar .jp-drumnb-refresh").click()
    side = page.locator("#drumnb-sidebar")
    want = {"h2o/mojo_bin": ("binary", "labels: no (negative), yes (positive)", "H2O MOJO (gbm, Binomial)"),
            "h2o/pojo_bin": ("binary", "labels: no (negative), yes (positive)", "H2O POJO (gbm, Binomial)"),
            "h2o/mojo_multi": ("multiclass", "labels: high, low, mid", "H2O MOJO (gbm, Multinomial)"),
            "h2o/pojo_reg": ("regression", "hooks: no hook file", "H2O POJO (gbm, Regression)"),
            "drum_models/parrot": ("textgeneration", "hooks: chat", ""),
            "drum_models/shout": ("unstructured", "hooks: score_unstructured", "")}
    for path, (badge, line, kind) in want.items():
        row = side.locator(f"li.jp-drumnb-model[data-path='{path}']")
        expect(row.locator(".jp-drumnb-badge")).to_have_text(badge)
        expect(row).to_contain_text(line)
        expect(row).to_contain_text(kind)
        expect(row.locator(".jp-drumnb-problem")).to_have_count(0)
        expect(row).to_have_attribute("data-status", "ok")
    expect(side.locator("li.jp-drumnb-model[data-path='h2o/mojo_bin'] .jp-drumnb-badge")).to_have_attribute(
        "title", re.compile("inferred from the artifact.*category = Binomial"))
    page.set_viewport_size({"width": 1440, "height": 1900})   # the whole list in one picture
    expect(side.locator("li.jp-drumnb-model[data-path='drum_models/parrot']")).to_be_in_viewport()
    shot(page, "sidebar")


def test_score_panel_from_the_sidebar_scores_the_mojo(page, lab, h2o):
    """The sidebar passes the target type and labels it inferred, so the binary MOJO scores (no ArtifactError)."""
    cell, out = score_panel_from_sidebar(page, lab, "score_mojo.ipynb", "h2o/test.csv", "h2o/mojo_bin")
    expect(cell).to_contain_text('target_type="binary"')
    expect(cell).to_contain_text('score_panel.labels.value = "no,yes"')
    expect(out.locator("table").first).to_contain_text("yes", timeout=120_000)
    text = out.inner_text()
    assert "Error" not in text, text
    import pandas as pd

    for value in pd.read_csv(h2o / "bin_h2o.csv")["yes"].head(3):   # H2O's own probabilities, as the panel has them
        expect(out).to_contain_text(f"{value:.6f}"[:5])
    shot(page, "score-panel-mojo")
