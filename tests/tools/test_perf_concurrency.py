"""perf-test as a load tool: concurrency levels, --json PATH, --compare, honest progress, Ctrl-C.

Real servers on 127.0.0.1 (child processes, stopped by PID); every level is
bounded in time (1-2 s) and in count (--max-requests).
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import psutil
import pytest
from conftest import run_cli
from fixtures import write_folder
from test_tools_perf import SUM, _alive
from ui_support import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, Lab, notebook
from ui_support import chromium_missing as _find_chromium

from drumnb.core import codecs
from drumnb.core.errors import ConfigurationError
from drumnb.tools import perfcompare
from drumnb.tools.loadgen import Payloads
from drumnb.tools.perf import perf_test
from drumnb.tools.progress import WorkBar

pytestmark = pytest.mark.timeout(240)
_chromium_missing = _find_chromium()

SLOW_BIG = """
import time
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    if len(data) > 1000:
        time.sleep(1.5)
    else:
        time.sleep(0.01)
    return pd.DataFrame({"Predictions": data.sum(axis=1)})
"""
META = {"model-metadata.yaml": "name: summer\ntargetType: regression\n"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("conc"), "sum", SUM, META)


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("slow"), "slow", SLOW_BIG, META)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("conc-data") / "rows.csv"
    pd.DataFrame(np.random.default_rng(1).normal(size=(9, 3)), columns=["a", "b", "c"]).to_csv(path, index=False)
    return path


def test_payloads_are_the_rows_repeated_byte_for_byte():
    plain = pd.DataFrame({"x": [1.5, np.nan, 3.0], "n": [1, 2, 3]})
    quoted = pd.DataFrame({"s": ['a,b', 'say "hi"', "two\nlines"], "v": [1.0, 2.0, 3.0]})
    for frame in (plain, quoted):
        payloads = Payloads(frame)
        for n in (1, 2, 3, 7, 1000):
            expected = codecs.write_csv(frame.iloc[np.arange(n) % len(frame)].reset_index(drop=True))
            assert payloads.body(n) == expected
            if payloads.lines is not None:
                assert payloads.size(n) == len(expected)
    assert Payloads(quoted).lines is None  # a line break inside a field: the frame is repeated instead


def test_levels_measure_latency_and_throughput(folder, data_file):
    report = perf_test(str(folder), str(data_file), concurrency=[1, 3], duration=1.5, batch_rows=4,
                       max_requests=2_000)
    assert not _alive(report.server_pid)
    assert report.ok and report.cases == []  # a load test: no size cases unless asked for
    assert [lv.concurrency for lv in report.levels] == [1, 3]
    for lv in report.levels:
        s = lv.stats()
        assert lv.errors == 0 and len(lv.latencies) > 5
        assert 0 < s["min"] <= s["p50"] <= s["p90"] <= s["p99"] <= s["max"]
        assert 1.0 < lv.seconds < 1.5 + 5  # the window, plus the requests in flight at its end
        assert lv.requests_per_s == pytest.approx(len(lv.latencies) / lv.seconds)
        assert lv.rows_per_s == pytest.approx(4 * lv.requests_per_s) and lv.rss_peak_mb > 20
    text = report.to_text()
    for head in ("CONCURRENCY", "P50 ms", "P90 ms", "P99 ms", "REQ/S", "ROWS/S"):
        assert head in text
    d = json.loads(json.dumps(report.to_dict()))
    assert [lv["concurrency"] for lv in d["levels"]] == [1, 3] and d["levels"][1]["rows_per_s"] > 0
    assert "CONCURRENCY" in report._repr_html_()


def test_max_requests_bounds_a_level_and_errors_are_counted(tmp_path, folder, data_file):
    with_sizes = perf_test(str(folder), str(data_file), concurrency=[3], duration=30, max_requests=7, sizes=[2],
                           requests=2)
    level = with_sizes.levels[0]
    assert len(level.latencies) == 7 and level.seconds < 15  # the count ended it, not the 30 s
    assert [c.rows for c in with_sizes.cases] == [2]  # size cases too, when asked for
    steps = with_sizes.cases[0].server_ms  # where the time went on the server: its Server-Timing, averaged
    assert {"read", "score", "serialize"} <= set(steps) and all(v >= 0 for v in steps.values())
    assert "server steps of the 2 rows case" in with_sizes.to_text()
    assert with_sizes.to_dict()["cases"][0]["server_steps_ms"]["score"] == round(steps["score"], 3)
    failing = write_folder(tmp_path, "fails", SUM.replace("return pd.DataFrame", "raise ValueError('nope')  #"),
                           META)
    from drumnb.server.background import serve

    with serve(str(failing), process=True) as server:  # warm-up fails: the run stops before any level
        with pytest.raises(Exception, match="cannot score one row"):
            perf_test(data=str(data_file), url=server.url, concurrency=[2], duration=1)


def test_compare_with_a_saved_run(folder, data_file, tmp_path):
    first = perf_test(str(folder), str(data_file), concurrency=[1, 2], duration=1, max_requests=500)
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(first.to_dict()))
    second = perf_test(str(folder), str(data_file), concurrency=[2, 4], duration=1, max_requests=500,
                       compare=str(saved))
    comp = second.comparison
    assert comp is not None and comp.source == str(saved)
    assert [name for name, _ in comp.levels] == ["2"] and comp.unmatched == ["concurrency 4"]
    changes = {c.metric: c for c in comp.levels[0][1]}
    assert set(changes) == {"p50", "p90", "p99", "requests_per_s", "rows_per_s"}
    old, new = first.levels[1], second.levels[0]
    assert changes["requests_per_s"].ratio == pytest.approx(new.requests_per_s / old.requests_per_s, rel=0.01)
    text = second.to_text()
    assert "compared with" in text and re.search(r"\d\.\d\dx [\u2191\u2193=]", text)
    assert "\x1b[3" in second.to_text(colour=True) or all(c.verdict == "same" for c in changes.values())
    assert second.to_dict()["comparison"]["levels"]["2"][0]["metric"] == "p50"
    # verdicts: latency down / throughput up is better, within 5 % is the same
    assert perfcompare.Change("p50", 10.0, 8.0).verdict == "better"
    assert perfcompare.Change("requests_per_s", 10.0, 8.0).verdict == "worse"
    assert perfcompare.Change("p99", 10.0, 10.4).verdict == "same"
    with pytest.raises(ConfigurationError, match="no saved perf-test run"):
        perf_test(str(folder), str(data_file), concurrency=[1], compare=str(tmp_path / "missing.json"))


def test_cli_concurrency_json_file_and_compare(folder, data_file, tmp_path):
    saved = tmp_path / "before.json"
    base = ["perf-test", "--code-dir", str(folder), "--input", str(data_file), "--concurrency", "1,2",
            "--duration", "1", "--max-requests", "300"]
    proc = run_cli(*base, "--json", str(saved))
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "CONCURRENCY" in out and "REQ/S" in out and f"saved to {saved}" in out
    assert [lv["concurrency"] for lv in json.loads(saved.read_text())["levels"]] == [1, 2]
    proc = run_cli(*base, "--compare", str(saved), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)  # --json alone: the report on stdout, nothing else
    assert set(report["comparison"]["levels"]) == {"1", "2"}
    bad = run_cli("perf-test", "--code-dir", str(folder), "--input", str(data_file), "--concurrency", "0")
    assert bad.returncode == 2 and "row counts must be >= 1" in bad.stderr.decode()


def test_work_bar_moves_during_a_long_step_and_never_past_it(capsys):
    bar = WorkBar(10.0, unit="MB", desc="t", show=True, file=sys.stderr)
    bar.TICK = 0.05
    with bar.step(1.0):  # 1 MB in ~0.2 s: a rate of ~5 MB/s
        time.sleep(0.2)
    assert bar.bar.n == pytest.approx(1.0)
    with bar.step(9.0):
        time.sleep(0.6)  # ~3 MB worth at that rate
        mid = bar.bar.n
        assert 1.5 < mid < 1.0 + 0.9 * 9.0
        time.sleep(2.0)  # far past the estimate: held at 90 % of the step
        assert bar.bar.n == pytest.approx(1.0 + 0.9 * 9.0, abs=0.01)
    assert bar.bar.n == pytest.approx(10.0)
    bar.close()


def test_progress_follows_the_large_case(slow, data_file, tmp_path):
    """The bar counts MB: the small cases are a sliver of it, and it moves while the large requests run."""
    log = tmp_path / "err.txt"
    with open(log, "w") as err:
        proc = subprocess.run([sys.executable, "-m", "drumnb", "perf-test", "--code-dir", str(slow), "--input",
                               str(data_file), "--sizes", "1", "--large-file-mb", "1", "--requests", "2",
                               "--verbose"], stdout=subprocess.PIPE, stderr=err, timeout=120,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                  [os.path.dirname(os.path.dirname(__file__)), os.path.dirname(__file__)])})
    assert proc.returncode == 0, log.read_text()
    frames = log.read_text().replace("\r", "\n").splitlines()
    large = [int(m.group(1)) for f in frames if "1 MB file" in f and (m := re.search(r"(\d+)%\|", f))]
    assert large and large[0] < 12, large  # the 1-row requests before it: a sliver of the bar, not most of it
    assert len(set(large)) >= 4 and any(20 < p < 90 for p in large), large  # it moved during the 3 s


def _kernel_children(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True)
                if p.is_running() and "--address" in " ".join(p.cmdline())]
    except psutil.Error:
        return []


SLOW_LOAD = SUM.replace('return "m"', 'import time\n    time.sleep(30)\n    return "m"')


@pytest.mark.parametrize("phase", ["load", "startup"])
def test_interrupt_in_a_kernel_stops_clients_and_server_in_one_line(phase, folder, tmp_path, monkeypatch):
    """Ctrl-C (the kernel's interrupt) during a load level, or while the server still loads its model."""
    from jupyter_client.manager import start_new_kernel

    if phase == "startup":
        folder = write_folder(tmp_path, "slow_load", SLOW_LOAD, META)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), startup_timeout=60)
    try:
        kc.execute_interactive("%load_ext drumnb\nimport pandas as pd\ndf = pd.DataFrame({'a': [1.0], 'b': [2.0]})",
                               timeout=60)
        outputs: list[str] = []
        done = threading.Event()

        def hook(msg):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                outputs.append(content["text"])
            elif kind == "error":
                outputs.append("ERROR " + content["ename"] + "\n" + "\n".join(content["traceback"]))

        def cell():
            kc.execute_interactive(f"%drum_perf --code-dir {folder} --data df --concurrency 4 --duration 60",
                                   timeout=120, output_hook=hook)
            done.set()

        threading.Thread(target=cell, daemon=True).start()
        kernel_pid = km.provisioner.process.pid
        deadline = time.monotonic() + 60
        while not _kernel_children(kernel_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        servers = _kernel_children(kernel_pid)
        assert servers, "the server did not start"
        time.sleep(3 if phase == "load" else 1)  # into the load level / still in load_model's sleep
        t0 = time.monotonic()
        km.interrupt_kernel()
        assert done.wait(30)
        took = time.monotonic() - t0
        text = "".join(outputs)
        lines = [ln for ln in text.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("%drum_perf: perf-test interrupted after"), text
        assert "Traceback" not in text and "ERROR" not in text
        assert ("server it started (pid" if phase == "load" else "server it was starting") in text
        assert took < 20
        for proc in servers:
            assert not _alive(proc.pid)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_ctrl_c_on_the_cli(folder, data_file, tmp_path):
    log = tmp_path / "err.txt"
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "drumnb", "perf-test", "--code-dir", str(folder),
                                 "--input", str(data_file), "--concurrency", "2", "--duration", "60", "--verbose"],
                                stdout=subprocess.PIPE, stderr=err)
        try:
            deadline = time.monotonic() + 60
            while "requests" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            server_pids = [p.pid for p in psutil.Process(proc.pid).children(recursive=True)]
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130
    text = log.read_text().replace("\r", "\n")
    assert "Traceback" not in text
    last = [ln for ln in text.splitlines() if ln.strip()][-1]
    assert last.startswith("drumnb: perf-test interrupted after") and "server it started (pid" in last, text
    assert server_pids and not any(_alive(pid) for pid in server_pids)


# --- in JupyterLab: the plot and the table, screenshot in build/ui-screenshots/perf.png -------------

@pytest.mark.skipif(_chromium_missing is not None, reason=_chromium_missing or "")
def test_drum_perf_plot_and_table_in_jupyterlab(tmp_path, folder, data_file):
    from playwright.sync_api import expect, sync_playwright

    root = tmp_path / "root"
    root.mkdir()
    notebook(root / "perf.ipynb", [
        f"%load_ext drumnb\nimport pandas as pd\ndf = pd.read_csv({str(data_file)!r})",
        f"%drum_perf --code-dir {folder} --data df --concurrency 1,2,4,8 --duration 1.5 --batch-rows 10"])
    lab = Lab(tmp_path, root).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(f"{lab.url}/lab/tree/perf.ipynb?reset")
            page.wait_for_function("document.body.dataset.drumnb === 'loaded'", timeout=60_000)
            expect(page.locator("#jp-main-statusbar")).to_contain_text("| Idle", timeout=90_000)
            page.locator(".jp-Notebook .jp-Cell").first.click()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Run All Cells$")).first.click()
            out = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-Cell-outputArea")
            expect(out.locator("img")).to_be_visible(timeout=120_000)
            expect(out).to_contain_text("CONCURRENCY", timeout=30_000)
            assert "REQ/S" in out.inner_text() and "P99 ms" in out.inner_text()
            box = out.locator("img").bounding_box()
            assert box and box["width"] > 600  # two panels side by side, at a readable size
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            out.screenshot(path=str(SCREENSHOTS / "perf.png"))
            browser.close()
    finally:
        lab.stop()


def test_magic_concurrency_json_and_compare(ip, folder, tmp_path, monkeypatch):
    from jupyter_support import run, short_error

    monkeypatch.chdir(tmp_path)
    ip.user_ns["df"] = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    flags = f"--code-dir {folder} --data df --concurrency 1,2 --duration 1 --max-requests 200"
    cell = run(ip, f"perf = %drum_perf {flags} --json first.json\ndisplay(perf)")
    assert cell.error is None, cell.text
    perf = ip.user_ns["perf"]
    assert [lv.concurrency for lv in perf.levels] == [1, 2] and perf.cases == [] and perf.ok
    assert any("image/png" in o.data for o in cell.outputs), "the plots"
    assert "CONCURRENCY" in cell.html and "REQ/S" in cell.html
    assert json.loads((tmp_path / "first.json").read_text())["levels"][0]["concurrency"] == 1
    cell = run(ip, f"perf2 = %drum_perf {flags} --compare first.json --no-plot\ndisplay(perf2)")
    assert cell.error is None, cell.text
    assert "compared with" in cell.html and not any("image/png" in o.data for o in cell.outputs)
    short_error(run(ip, f"%drum_perf {flags} --compare nosuch.json"), "ConfigurationError", "no saved perf-test")
    short_error(run(ip, f"%drum_perf --code-dir {folder} --data df --concurrency 2,x"), "UsageError",
                "--concurrency")
