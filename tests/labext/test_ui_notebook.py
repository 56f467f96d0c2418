"""What a notebook user sees in a real JupyterLab (headless Chromium): errors of the server handle's client,
the lines that silent assignments print, and the panels' labels, charts and static views.

Uses test_ui.py's JupyterLab, browser and page fixtures and helpers (one JupyterLab for this module);
screenshots go to build/ui-screenshots/.
"""
from __future__ import annotations

import re

import pytest

from test_jupyter import NEGATIVE_FAILS
from test_ui import EX, browser, cell_output, expect, lab, open_notebook, page, run_all, wait_idle  # noqa: F401
from ui_support import SCREENSHOTS, chromium_missing, shot

_missing = chromium_missing()
pytestmark = [pytest.mark.skipif(_missing is not None, reason=_missing or ""), pytest.mark.timeout(300)]

HOOKS_NEG = "%%drum_hooks neg\n" + NEGATIVE_FAILS.lstrip("\n")


def _error_text(out) -> str:
    return out.locator("[data-mime-type='application/vnd.jupyter.stderr']").inner_text().strip()


def test_client_errors_are_one_line_and_assignments_say_what_they_did(page, lab):
    open_notebook(page, lab, "client_errors.ipynb", [
        "%load_ext drumnb\nimport pandas as pd\ndf = pd.DataFrame({'a': [1, 2], 'b': [1.0, 2.0]})",
        HOOKS_NEG,
        "srv = %drum_serve neg",
        "%drum_score neg --data df -o preds --no-plot",
        "srv.client.predict(df.assign(a=-1))",
        "srv.stop()\nsrv.client.predict(df)",
    ])
    run_all(page, 5)   # Run All stops at the failing call of cell 4: cell 5 is run by itself below
    expect(cell_output(page, 2)).to_contain_text(re.compile(r"serving 'neg' at http://127\.0\.0\.1:\d+ \(pid \d+\)"))
    expect(cell_output(page, 3)).to_contain_text("predictions stored in preds (2 rows)")
    failed = cell_output(page, 4)
    expect(failed).to_contain_text("ServerError: the server answered 500: 'score' hook failed")
    text = _error_text(failed)
    assert text.splitlines() == [text.splitlines()[0]] and "ValueError: negative a" in text, text
    assert "Traceback" not in failed.inner_text() and "requests" not in failed.inner_text()
    page.locator(".jp-Notebook .jp-Cell").nth(5).click()
    page.keyboard.press("Shift+Enter")
    stopped = cell_output(page, 5)
    expect(stopped).to_contain_text("ServerUnavailable: the server at http://127.0.0.1:", timeout=30_000)
    wait_idle(page)
    text = _error_text(stopped)
    assert text.splitlines()[0].endswith("is not running") and len(text.splitlines()) <= 2, text
    assert "urllib3" not in stopped.inner_text() and "Traceback" not in stopped.inner_text()
    shot(page, "notebook-client-errors")


def _store(path, n: int) -> None:
    """A monitoring store of ``n`` scoring calls spread over three days (one call: now)."""
    import sqlite3

    import numpy as np

    from drumnb.monitoring import Reporter

    r = Reporter(str(path), model="m", target_type="binary")
    with r.batch():
        for i in range(n):
            r.report_deployment_stats(num_predictions=1 + i % 7, execution_time=5.0 + i % 11)
            r.report_predictions_data(predictions=[[0.3, 0.7]], class_names=["no", "yes"])
    shifts = np.linspace(-3 * 86400, 0, n) if n > 1 else [0.0]
    with sqlite3.connect(path) as con:
        for table in ("deployment_stats", "predictions"):
            ids = [i for (i,) in con.execute(f"select id from {table} order by id")]
            con.executemany(f"update {table} set ts = ts + ? where id = ?", list(zip(map(float, shifts), ids)))


def _cut_labels(out) -> list[str]:
    """Widget labels whose text does not fit their box ("content ty…")."""
    return out.locator(".widget-label, .widget-label-basic").evaluate_all(
        "els => els.filter(e => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")


def test_panels_read_well(page, lab):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _store(lab.root / "one.sqlite", 1)
    _store(lab.root / "many.sqlite", 10_000)
    open_notebook(page, lab, "panels.ipynb", [
        "%load_ext drumnb\nimport pandas as pd\nfrom drumnb.jupyter import widgets\n"
        f"df = pd.read_csv('{EX}/data/sklearn_regressor.csv')",
        "%%drum_hooks echo\ndef score_unstructured(model, data, **kwargs):\n    return f'echo: {data}'\n",
        "widgets.inspector('echo', body='hello', content_type='text/plain', send=True)",
        f"p = widgets.score_panel(model='{EX}/sklearn_regressor', data='df')\np.score()\np",
        "widgets.monitoring_panel('one.sqlite')",
        "widgets.monitoring_panel('many.sqlite')",
    ])
    run_all(page, 6, timeout=180_000)
    inspector = cell_output(page, 2)
    expect(inspector).to_contain_text("echo: hello")
    expect(inspector).to_contain_text(re.compile(r"200 in \d+\.\d+ ms"))
    assert "200 in 0.0 ms" not in inspector.inner_text()
    assert _cut_labels(inspector) == []
    inspector.scroll_into_view_if_needed()
    inspector.screenshot(path=str(SCREENSHOTS / "panel-inspector.png"))
    score = cell_output(page, 3)
    expect(score).to_contain_text("rows scored in")
    assert _cut_labels(score) == []
    score.scroll_into_view_if_needed()
    score.screenshot(path=str(SCREENSHOTS / "panel-score.png"))
    for i, name, calls in ((4, "one", "1 call, 1 row scored"), (5, "many", "10,000 calls")):
        out = cell_output(page, i)
        expect(out).to_contain_text(calls, timeout=60_000)
        expect(out.locator("img")).to_be_visible()
        out.scroll_into_view_if_needed()
        out.screenshot(path=str(SCREENSHOTS / f"panel-monitoring-{name}.png"))
    # the saved notebook holds a static view of each panel (what GitHub and nbviewer show)
    page.keyboard.press("Control+s")
    wait_idle(page)
    import json
    import time

    deadline = time.time() + 30
    while time.time() < deadline:
        saved = json.loads((lab.root / "panels.ipynb").read_text())
        outputs = [o for c in saved["cells"] for o in c.get("outputs", [])]
        static = [o for o in outputs if "drumnb-static" in "".join(o.get("data", {}).get("text/html", ""))]
        if len(static) >= 4:
            break
        time.sleep(0.5)
    assert len(static) == 4, [list(o.get("data", {})) for o in outputs]
    assert all("application/vnd.jupyter.widget-view+json" in o["data"] for o in static)
