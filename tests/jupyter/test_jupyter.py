"""The Jupyter front end in an in-process IPython shell: the magics as a user types them.

Each test runs cells with ``ip.run_cell`` and reads what the cell showed
(stdout, rich outputs, the error).  Servers are child processes on
127.0.0.1, stopped by PID; the registry lives in a temporary runtime folder.
"""
from __future__ import annotations

import io
import os
import re
import socket
import time

import pandas as pd
import pytest

pytest.importorskip("IPython")
pytest.importorskip("ipywidgets")

from conftest import run_cli  # noqa: E402

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("fresh")]

CONST = """
import pandas as pd

def load_model(code_dir):
    return {factor}

def score(data, model, **kwargs):
    return pd.DataFrame({{"Predictions": data.sum(axis=1) * model}})
"""

ECHO = """
def score_unstructured(model, data, **kwargs):
    if kwargs["query"].get("shout"):
        data = data.upper()
    return data
"""

CHAT = """
import time

def load_model(code_dir):
    return "echo"

def chat(completion_create_params, model):
    text = completion_create_params["messages"][-1]["content"]
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "echo: " + text}}]}
"""

from jupyter_support import frame, hooks, port_free, run, short_error  # noqa: E402


# --- extension ---------------------------------------------------------------------------------

def test_load_ext_registers_every_magic_and_unload_removes_them(ip):
    magics = ip.magics_manager.magics
    assert {"drum_serve", "drum_score"} <= set(magics["line"])
    assert {"drum_hooks", "drum_score"} <= set(magics["cell"])
    run(ip, "%unload_ext drumnb")
    assert "drum_serve" not in ip.magics_manager.magics["line"]
    assert run(ip, "%load_ext drumnb").error is None
    assert "drum_hooks" in ip.magics_manager.magics["cell"]
    import drumnb

    assert callable(drumnb.load_ipython_extension) and drumnb.serve.__module__ == "drumnb.server.background"


def test_drumnb_loads_as_an_extension_from_config(tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "IPython", "--no-banner", "--ext=drumnb", "-c", "%drum_serve --help"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")})
    assert proc.returncode == 0, proc.stderr
    assert "--stop" in proc.stdout and "usage: %drum_serve" in proc.stdout


def test_help_and_usage_errors_are_short(ip):
    cell = run(ip, "%drum_serve --help")
    assert cell.error is None and "--stop" in cell.text and "--logs" in cell.text
    short_error(run(ip, "%drum_score m --data df --bogus"), "UsageError", "unrecognized arguments: --bogus",
                "hint: %drum_score --help")
    short_error(run(ip, "%drum_score"), "UsageError", "name the model")
    short_error(run(ip, "%drum_serve --all"), "UsageError", "--all goes with --stop")
    short_error(run(ip, "%drum_score m --data 'unclosed"), "UsageError", "close the quotes")


def test_magic_errors_are_the_core_classes_and_stay_short(ip, tmp_path):
    """What a magic raises is caught by ``except`` on the core's classes (with their status), and the cell
    still shows one line and a hint."""
    from drumnb.core import errors as core_errors

    cell = run(ip, f"%drum_score --code-dir {tmp_path / 'nowhere'} --data df")
    short_error(cell, "ConfigurationError", "model folder not found", "hint:")
    assert isinstance(cell.error, core_errors.ConfigurationError) and cell.error.status == 400
    usage = run(ip, "%drum_score m --data df --bogus").error
    assert isinstance(usage, core_errors.UsageError) and isinstance(usage, core_errors.ConfigurationError)
    cell = run(ip, """
        from drumnb.core.errors import ConfigurationError
        try:
            get_ipython().run_line_magic("drum_score", "no_such_model --data df")
        except ConfigurationError as exc:
            caught = exc.render(color=False)
        """)
    assert cell.error is None, cell.text
    assert ip.user_ns["caught"][0] == "ConfigurationError: no model named 'no_such_model'", ip.user_ns["caught"]
    cell = run(ip, "%drum_score m --data df --target-type regresion")  # the choices are TargetType's
    short_error(cell, "UsageError", "unknown target type 'regresion' (did you mean 'regression'?)")
    help_text = run(ip, "%drum_score --help").text
    assert all(t in help_text for t in ("multilabel", "vectordatabase", "agenticworkflow"))


# --- %%drum_hooks ------------------------------------------------------------------------------

def test_hooks_cell_becomes_custom_py_with_the_same_line_numbers(ip, tmp_path):
    cell = hooks(ip, "const", CONST.format(factor=2))
    assert cell.error is None, cell.text
    path = tmp_path / "drum_models" / "const" / "custom.py"
    assert "drum_models/const/custom.py: load_model, score  (new folder drum_models/const/)" in cell.text
    lines = path.read_text().splitlines()
    assert "drumnb-marker" in lines[0]
    cell_lines = ("%%drum_hooks const\n" + CONST.format(factor=2).strip("\n")).splitlines()
    assert lines[1:] == cell_lines[1:]  # line N of the file is line N of the cell
    ip.user_ns["df"] = frame()
    cell = run(ip, "%drum_score const --data df -o out")
    assert cell.error is None, cell.text
    assert "predictions stored in out (5 rows)" in cell.text  # an assignment says where it went
    assert ip.user_ns["out"]["Predictions"].tolist() == [2.0, 4.0, 6.0, 8.0, 10.0]


def test_a_near_miss_is_reported_and_a_wrong_signature_refused(ip, tmp_path):
    cell = hooks(ip, "typo", """
        def load_model(code_dir):
            return 1

        def scroe(data, model, **kwargs):
            return data
    """)
    assert cell.error is None
    assert "warning: cell line 5: 'scroe' is not a hook DRUM calls; did you mean 'score'?" in cell.text
    before = (tmp_path / "drum_models" / "typo" / "custom.py").read_text()
    cell = hooks(ip, "typo", """
        def load_model(code_dir):
            return 1

        def score(data):
            return data
    """)
    short_error(cell, "HookSignatureError", "cell line 5: score(data) takes 1 positional argument, but DRUM passes 2",
                "DRUM calls score(data, model, **kwargs)", "custom.py was not changed")
    assert (tmp_path / "drum_models" / "typo" / "custom.py").read_text() == before
    short_error(hooks(ip, "typo", "def score_unstructured(model, data):\n    return data"),
                "HookSignatureError", "cell line 2", "add **kwargs")
    short_error(hooks(ip, "typo", "def load_model(code_dir):\n    return (1"), "SyntaxError", "cell line 3")
    # fit, chat and unstructured hooks and helpers are fine
    cell = hooks(ip, "many", """
        def fit(X, y, output_dir, **kwargs):
            pass

        def helper(x):
            return x

        def score_unstructured(model, data, **kwargs):
            return helper(data)

        def chat(completion_create_params, model):
            return {}
    """)
    assert cell.error is None and "warning" not in cell.text, cell.text
    assert "score_unstructured, chat, fit" in cell.text


def test_import_errors_in_the_cell_name_the_cell_line(ip):
    cell = hooks(ip, "broken", """
        import pandas as pd

        VALUE = 1 / 0
    """)
    short_error(cell, "HookLoadError", "could not be imported (cell line 4 of %%drum_hooks broken)",
                "ZeroDivisionError: division by zero")


def test_a_custom_py_drumnb_did_not_write_is_left_intact_or_backed_up(ip, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "custom.py").write_text("# my own work\ndef load_model(code_dir):\n    return 1\n")
    cell = hooks(ip, "mine", CONST.format(factor=2), flags=f"--code-dir {folder}")
    short_error(cell, "FileExistsError", "was not written by drumnb; it was left as it is", "--force")
    assert (folder / "custom.py").read_text().startswith("# my own work")
    cell = hooks(ip, "mine", CONST.format(factor=2), flags=f"--code-dir {folder} --force")
    assert cell.error is None, cell.text
    backups = list(folder.glob("custom.py.bak-*"))
    assert len(backups) == 1 and backups[0].read_text().startswith("# my own work")
    assert "the previous custom.py is saved as" in cell.text
    # a drumnb file edited by hand since is someone's work too
    path = folder / "custom.py"
    path.write_text(path.read_text() + "\n# a hand edit\n")
    short_error(hooks(ip, "mine", CONST.format(factor=3), flags=f"--code-dir {folder}"), "FileExistsError",
                "was edited by hand since drumnb wrote it")
    assert path.read_text().endswith("# a hand edit\n")


def test_rerunning_the_cell_reloads_the_model_in_the_kernel(ip):
    hooks(ip, "live", CONST.format(factor=2))
    ip.user_ns["df"] = frame(3)
    run(ip, "%drum_score live --data df -o first")
    cell = hooks(ip, "live", CONST.format(factor=10))
    assert "reloaded the model in this kernel" in cell.text, cell.text
    run(ip, "%drum_score live --data df -o second")
    assert ip.user_ns["first"]["Predictions"].tolist() == [2.0, 4.0, 6.0]
    assert ip.user_ns["second"]["Predictions"].tolist() == [10.0, 20.0, 30.0]
    from drumnb.jupyter import model

    assert model("live").predict(frame(1))["Predictions"].tolist() == [10.0]


# --- %%drum_score ------------------------------------------------------------------------------

def test_score_a_dataframe_a_path_and_an_expression(ip, ex):
    data = ex / "data" / "sklearn_regressor.csv"
    ip.user_ns["X"] = pd.read_csv(data)
    cell = run(ip, f"%drum_score --code-dir {ex / 'sklearn_regressor'} --data X -o preds --rows 5")
    assert cell.error is None, cell.text
    preds = ip.user_ns["preds"]
    assert len(preds) == 40 and list(preds.columns) == ["Predictions"]
    assert re.search(r"sklearn_regressor · regression · 40 rows scored in \d+\.\d ms", cell.plain)
    assert "data:image/png;base64," in cell.html and "… 35 more rows" in cell.html
    assert "Predictions: mean" in cell.plain
    # the same answer from a path and from an expression; line magic too
    run(ip, f"%drum_score {ex / 'sklearn_regressor'} --data {data} -o from_path --quiet")
    run(ip, f"%drum_score {ex / 'sklearn_regressor'} --data 'X.head(3)' -o head -q")
    pd.testing.assert_frame_equal(ip.user_ns["from_path"], preds)
    pd.testing.assert_frame_equal(ip.user_ns["head"], preds.head(3))
    short_error(run(ip, f"%drum_score {ex / 'sklearn_regressor'} --data X2"), "NameError", "did you mean 'X'?")
    short_error(run(ip, f"%drum_score {ex / 'sklearn_regressor'}"), "UsageError", "--data VAR")
    short_error(run(ip, "%drum_score nosuch --data X"), "ConfigurationError", "no model named 'nosuch'")


def test_score_panel_says_where_drum_would_answer_otherwise(ip, tmp_path):
    from fixtures import unnamed_binary_folder

    folder = unnamed_binary_folder(tmp_path)
    ip.user_ns["X"] = pd.DataFrame({"a": [1.0, 2.0]})
    cell = run(ip, f"%drum_score {folder} --data X -t binary --positive-class-label yes --negative-class-label no "
                   "-o p")
    assert cell.error is None, cell.text
    assert list(ip.user_ns["p"].columns) == ["yes", "no"]
    assert "DRUM 1.18.1 would assign these probabilities the other way round" in cell.plain


def test_classification_shows_probabilities_and_takes_labels(ip, ex):
    ip.user_ns["cancer"] = pd.read_csv(ex / "data" / "sklearn_binary.csv")
    cell = run(ip, f"%drum_score {ex / 'sklearn_binary'} --data cancer -o p")
    assert cell.error is None, cell.text
    assert sorted(ip.user_ns["p"].columns) == ["benign", "malignant"]
    assert "predicted class:" in cell.plain and "data:image/png" in cell.html
    ip.user_ns["iris"] = pd.read_csv(ex / "data" / "sklearn_multiclass.csv")
    cell = run(ip, f"%drum_score {ex / 'sklearn_multiclass'} --data iris -t multiclass "
                   "--class-labels setosa versicolor virginica -o q --no-plot")
    assert cell.error is None, cell.text
    assert list(ip.user_ns["q"].columns) == ["setosa", "versicolor", "virginica"]
    assert "data:image/png" not in cell.html
    short_error(run(ip, f"%drum_score {ex / 'sklearn_multiclass'} --data iris -t multiclass --class-labels a b"),
                "ConfigurationError", "are not the class labels given ['a', 'b']")  # naming both sets


def test_read_input_data_sees_the_cli_bytes_notebook_cli_and_server_agree(ip, ex):
    csv = ex / "data" / "all_hooks.csv"
    ip.user_ns["rows"] = pd.read_csv(csv)
    run(ip, f"%drum_score {ex / 'all_hooks'} --data rows -o nb")
    cli = run_cli("score", "--code-dir", str(ex / "all_hooks"), "--input", str(csv))
    assert cli.returncode == 0, cli.stderr
    from_cli = pd.read_csv(io.BytesIO(cli.stdout))
    pd.testing.assert_frame_equal(ip.user_ns["nb"], from_cli)
    cell = run(ip, f"srv = %drum_serve --code-dir {ex / 'all_hooks'}")
    assert cell.error is None, cell.text
    try:
        pd.testing.assert_frame_equal(ip.user_ns["srv"].client.predict(ip.user_ns["rows"]), from_cli)
    finally:
        ip.user_ns["srv"].stop()


def test_notes_of_the_core_are_short_lines_not_log_output(ip, ex):
    ip.user_ns["iris"] = pd.read_csv(ex / "data" / "sklearn_multiclass.csv")
    cell = run(ip, f"%drum_score {ex / 'sklearn_multiclass'} --data iris -q")
    assert cell.error is None
    assert cell.text.strip() == "note: no target type given; assuming multiclass (set --target-type to be explicit)"


def test_cell_body_adds_hooks_for_this_call_only(ip):
    hooks(ip, "base", CONST.format(factor=2))
    ip.user_ns["df"] = frame(2)
    cell = run(ip, """
        %%drum_score base --data df -o patched
        def post_process(predictions, model):
            return predictions + 100
    """)
    assert cell.error is None, cell.text
    run(ip, "%drum_score base --data df -o plain")
    assert ip.user_ns["patched"]["Predictions"].tolist() == [102.0, 104.0]
    assert ip.user_ns["plain"]["Predictions"].tolist() == [2.0, 4.0]
    cell = run(ip, """
        %%drum_score base --data df
        def score(data, model, **kwargs):
            return 1 / 0
    """)
    short_error(cell, "HookError", "'score' hook failed (cell line 3 of this %%drum_score cell)",
                "ZeroDivisionError")


def test_a_crashing_hook_never_takes_the_kernel_down(ip):
    hooks(ip, "crash", """
        import sys

        def load_model(code_dir):
            return 1

        def score(data, model, **kwargs):
            if len(data) > 1:
                sys.exit(3)
            raise RuntimeError("boom")
    """)
    ip.user_ns["df"] = frame(2)
    short_error(run(ip, "%drum_score crash --data df"), "SystemExit", "sys.exit(3)", "the kernel keeps running")
    short_error(run(ip, "%drum_score crash --data 'df.head(1)'"), "HookError",
                "'score' hook failed (cell line 10 of %%drum_hooks crash): RuntimeError: boom")
    assert run(ip, "x = 1 + 1").error is None and ip.user_ns["x"] == 2


def test_unstructured_scoring_shows_what_the_hook_received(ip):
    hooks(ip, "echo", ECHO)
    cell = run(ip, "%drum_score echo -t unstructured --data \"'héllo'\" --query shout=1 "
                   "--content-type 'text/plain; charset=latin-1' -o r")
    assert cell.error is None, cell.text
    result = ip.user_ns["r"]
    assert result.body == "HÉLLO".encode() and result.kwargs["charset"] == "latin-1"
    assert "data: str (5 characters) 'héllo'" in cell.plain
    assert "rule: text -- text/plain matches text/*: decoded as latin-1" in cell.plain
    assert "kwargs['query'] = {'shout': '1'}" in cell.plain and "what the hook received" in cell.html


def test_monitoring_records_and_the_report_charts_them(ip, tmp_path):
    hooks(ip, "mon", CONST.format(factor=1))
    ip.user_ns["df"] = frame(4)
    db = tmp_path / "store.sqlite"
    for _ in range(3):
        assert run(ip, f"%drum_score mon --data df --monitor-db {db} -q").error is None
    from drumnb.jupyter import monitoring_panel, monitoring_report

    report = monitoring_report(str(db))
    assert report.calls == 3 and report.prediction_rows == 12 and report.png.startswith(b"\x89PNG")
    assert "3 calls, 12 rows scored, 12 predictions recorded" in repr(report)
    panel = monitoring_panel(str(db))
    assert panel.report.calls == 3 and "data:image/png" in panel.output.value
    assert repr(panel) == "MonitoringPanel(store='store.sqlite')"
    # saved notebooks show a static view of the panel (its charts) beside the live widget
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/plain"] == repr(panel)
    assert "drumnb-static" in bundle["text/html"] and "data:image/png;base64," in bundle["text/html"]


def _store(path, times):
    """A monitoring store with one scoring call at each of ``times`` (seconds from now, negative)."""
    import sqlite3

    from drumnb.monitoring import Reporter

    r = Reporter(str(path), model="m", target_type="binary")
    with r.batch():
        for i, _ in enumerate(times):
            r.report_deployment_stats(num_predictions=1 + i % 7, execution_time=5.0 + i % 11)
            r.report_predictions_data(predictions=[[0.4, 0.6]], class_names=["no", "yes"])
    with sqlite3.connect(path) as con:
        for table in ("deployment_stats", "predictions"):
            ids = [i for (i,) in con.execute(f"select id from {table} order by id")]
            con.executemany(f"update {table} set ts = ts + ? where id = ?", list(zip(times, ids)))


@pytest.mark.parametrize("n", [1, 10_000])
def test_monitoring_charts_read_well_at_one_point_and_at_ten_thousand(tmp_path, n):
    import numpy as np

    from drumnb.jupyter.widgets.monitoring import chart_figure, monitoring_report

    _store(tmp_path / "s.sqlite", list(np.linspace(-3 * 86400, 0, n)))
    report = monitoring_report(str(tmp_path / "s.sqlite"))
    assert report.calls == n and report.png.startswith(b"\x89PNG")
    fig = chart_figure(str(tmp_path / "s.sqlite"))
    fig.canvas.draw()
    per, latency, dist = fig.axes
    for ax in (per, latency):
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert 2 <= len(labels) <= 8 and len(set(labels)) == len(labels), labels  # no repeated labels
        assert all(len(x) <= 8 and "." not in x for x in labels), labels  # "17:51", "02 Dec": no fractions
        lo, hi = ax.get_xlim()  # days since the epoch: one point spans a minute or so, not years
        assert (hi - lo) < (1 / 24 if n == 1 else 4), (lo, hi)
    for ax in (per, dist):  # counts are whole numbers
        assert all(float(t).is_integer() for t in ax.get_yticks()), ax.get_yticks()
    assert min(t.get_fontsize() for t in per.get_xticklabels() + per.get_yticklabels()) >= 9


SLOW = """
import time
import pandas as pd

def load_model(code_dir):
    return 1

def score(data, model, **kwargs):
    time.sleep(0.002 * len(data))  # 2 ms a row: 1,500 rows take 3 s
    return pd.DataFrame({"Predictions": data["a"] * 2.0})
"""


def test_a_long_score_shows_progress_and_stops_cleanly_on_ctrl_c(ip):
    import signal
    import threading

    hooks(ip, "slow", SLOW)
    ip.user_ns["big"] = frame(1500)
    # a model with hooks gets all rows in one call (as drumnb score and DRUM give them): the time so far shows
    cell = run(ip, "%drum_score slow --data big -o one_call --rows 2")
    assert cell.error is None, cell.text
    assert "slow: 1,500 rows in one call" in cell.text and "Scored in" not in cell.plain, cell.text
    assert ip.user_ns["one_call"]["Predictions"].tolist() == [2.0 * i for i in range(1500)]
    # --chunk-rows N: N rows a call behind a bar (the hooks see N rows at a time)
    cell = run(ip, "%drum_score slow --data big -o slow_out --rows 2 --chunk-rows 300")
    assert cell.error is None, cell.text
    assert "rows/s" in cell.text and "1500/1500" not in cell.text.split("slow:")[1][:10]  # a bar, after 1 s
    assert "1,500 rows scored in" in cell.plain and "Scored in 5 calls of 300 rows" in cell.plain
    assert ip.user_ns["slow_out"].equals(ip.user_ns["one_call"])
    assert run(ip, "%drum_score slow --data big --chunk-rows 0").error is not None
    # Ctrl-C (a real SIGINT, as the kernel's interrupt sends) in the middle: one line, nothing stored
    for flags, said in (("--chunk-rows 300", "scoring interrupted after"), ("", "scoring interrupted; nothing")):
        timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        try:
            cell = run(ip, f"%drum_score slow --data big -o never {flags}")
        finally:
            timer.cancel()
        short_error(cell, "KeyboardInterrupt", said, "nothing was stored")
        assert "never" not in ip.user_ns
    # a CSV file is read once and scored in chunks too
    path = os.path.join(os.getcwd(), "big.csv")
    ip.user_ns["big"].to_csv(path, index=False)
    cell = run(ip, f"%drum_score slow --data {path} -q -o from_csv --chunk-rows 300")
    assert "rows/s" in cell.text and ip.user_ns["from_csv"].equals(ip.user_ns["slow_out"]), cell.text
    # a quick call shows no bar at all
    cell = run(ip, "%drum_score slow --data 'big.head(20)' -q -o quick")
    assert "rows/s" not in cell.text and cell.text.strip() == "predictions stored in quick (20 rows)"


def test_a_model_without_hooks_is_scored_in_one_call_too(ip, tmp_path):
    from drumnb.jupyter import scoring
    from drumnb.model import load_model
    from server_support import data, linear_folder

    model = load_model(str(linear_folder(tmp_path)), "regression")
    X = data(3000)
    pred, calls = scoring.predict(model, X, desc="plain")  # even a built-in model's last bits depend on the batch
    assert calls == 1 and pred.equals(model.predict(X))
    assert scoring.predict(model, X, desc="plain", chunk_rows=1000)[1] == 3


NEGATIVE_FAILS = """
import pandas as pd

def load_model(code_dir):
    return 1

def score(data, model, **kwargs):
    if (data["a"] < 0).any():
        raise ValueError("negative a")
    return pd.DataFrame({"Predictions": data["a"] * 1.0})
"""


def test_client_errors_in_cells_are_one_line(ip):
    hooks(ip, "boom", NEGATIVE_FAILS)
    cell = run(ip, "srv_boom = %drum_serve boom")
    srv = ip.user_ns["srv_boom"]
    # an assignment still shows where the server is (as gradio's launch() does)
    assert cell.text.strip() == f"serving 'boom' at {srv.url} (pid {srv.pid}); stop it with %drum_serve --stop boom"
    ip.user_ns["negative"] = pd.DataFrame({"a": [-1], "b": [1.0]})
    cell = run(ip, "srv_boom.client.predict(negative)")
    short_error(cell, "ServerError", "the server answered 500", "'score' hook failed", "ValueError: negative a")
    assert cell.error.status == 500 and len(cell.text.strip().splitlines()) == 1, cell.text
    assert run(ip, "srv_boom.stop()").error is None
    cell = run(ip, "srv_boom.client.predict(negative)")
    short_error(cell, "ServerUnavailable", f"the server at {srv.url} is not running", "hint: start it again")
    assert cell.error.status == 503 and "urllib3" not in cell.text
    # shown as the cell's result, the handle says it all: no extra line
    cell = run(ip, "%drum_serve boom")
    assert "serving 'boom'" not in cell.text and "<drumnb server 'boom'" in cell.text
    run(ip, "%drum_serve --stop boom")


# --- %drum_serve -------------------------------------------------------------------------------

def test_serve_list_logs_reload_and_stop(ip, runtime):
    from drumnb import server_registry as registry

    hooks(ip, "svc", CONST.format(factor=2))
    cell = run(ip, "srv = %drum_serve svc")
    assert cell.error is None, cell.text
    srv = ip.user_ns["srv"]
    assert srv.running and srv.url.startswith("http://127.0.0.1:") and srv.pid != os.getpid()
    assert re.fullmatch(r"<drumnb server 'svc' http://127\.0\.0\.1:\d+ pid \d+ running>", repr(srv))
    entry = registry.find("svc")
    assert entry["pid"] == srv.pid and entry["port"] == srv.port and entry["code_dir"] == srv.code_dir
    assert entry["kernel_pid"] == os.getpid() and (runtime / "drumnb-servers" / f"server-{srv.pid}.json").exists()
    assert srv.client.predict(frame(2))["Predictions"].tolist() == [2.0, 4.0]
    assert srv.client().health() == {"message": "OK"}
    # editing the cell reloads the server too
    cell = hooks(ip, "svc", CONST.format(factor=5))
    assert f"reloaded server 'svc' ({srv.url})" in cell.text, cell.text
    assert srv.client.predict(frame(2))["Predictions"].tolist() == [5.0, 10.0]
    # a broken edit leaves the previous hooks serving, and says so with the cell line
    cell = hooks(ip, "svc", "import pandas as pd\n\ndef load_model(code_dir):\n    return 1 / 0\n")
    assert "kept its previous hooks" in cell.text and "cell line 5 of %%drum_hooks svc" in cell.text, cell.text
    assert srv.client.predict(frame(1))["Predictions"].tolist() == [5.0]
    hooks(ip, "svc", CONST.format(factor=5))
    cell = run(ip, "%drum_serve --list")
    table = cell.outputs[0].data["text/plain"]
    assert "svc" in table and str(srv.pid) in table and "this kernel" in table
    cell = run(ip, "%drum_serve --logs svc -n 50")
    assert "POST /predict/ 200" in cell.text and "reloaded" in cell.text
    short_error(run(ip, "%drum_serve svc"), "ConfigurationError", "already runs", "--restart")
    port, pid = srv.port, srv.pid
    cell = run(ip, "%drum_serve --stop svc")
    assert f"stopped 'svc' (pid {pid}); port {port} is free" in cell.text
    assert not srv.running and port_free(port) and registry.find("svc") is None
    short_error(run(ip, "%drum_serve --stop svc"), "LookupError", "no server named 'svc'")


def test_restart_a_chosen_port_and_stop_all(ip):
    hooks(ip, "p1", CONST.format(factor=1))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = run(ip, f"%drum_serve p1 --port {port}").result.result
    assert srv.port == port
    hooks(ip, "p2", CONST.format(factor=1))
    short_error(run(ip, f"%drum_serve p2 --port {port}"), "ServerError", f"cannot listen on 127.0.0.1:{port}")
    new = run(ip, "%drum_serve --restart p1").result.result
    assert new.port == port and new.pid != srv.pid and not srv.running
    assert new.client.predict(frame(1))["Predictions"].tolist() == [1.0]
    cell = run(ip, "%drum_serve --stop --all")
    assert "stopped 1 server: p1" in cell.text and port_free(port)


def test_a_server_that_crashes_leaves_the_kernel_alive(ip):
    hooks(ip, "dies", """
        import os
        import pandas as pd

        def load_model(code_dir):
            return 1

        def score(data, model, **kwargs):
            os._exit(7)
    """)
    srv = run(ip, "%drum_serve dies").result.result
    ip.user_ns.update(one_row=frame(1), srv_dies=srv)
    short_error(run(ip, "srv_dies.client.predict(one_row)"), "ServerUnavailable",
                "closed the connection without answering", "srv.logs()")
    deadline = time.time() + 10
    while srv.running and time.time() < deadline:
        time.sleep(0.05)
    assert srv.status == "exited (code 7)" and port_free(srv.port)
    assert run(ip, "y = 40 + 2").error is None and ip.user_ns["y"] == 42
    run(ip, "%drum_serve --stop dies")


def test_a_model_that_does_not_load_gives_an_error_server(ip):
    hooks(ip, "noload", "def load_model(code_dir):\n    raise ValueError('no weights')\n")
    cell = run(ip, "bad = %drum_serve noload")
    assert cell.error is None, cell.text
    assert "the model did not load; the server answers 513" in cell.text and "no weights" in cell.text
    bad = ip.user_ns["bad"]
    assert bad.health()["status"] == 513 and "513" in bad.status
    bad.stop()


def test_unstructured_and_chat_through_the_client(ip):
    hooks(ip, "echo2", ECHO)
    hooks(ip, "chatty", CHAT)
    srv = run(ip, "%drum_serve echo2 -t unstructured").result.result
    chat = run(ip, "%drum_serve chatty -t textgeneration").result.result
    try:
        r = srv.client.predict_unstructured("héllo", content_type="text/plain; charset=latin-1", query={"shout": 1})
        assert r.status == 200 and r.text == "HÉLLO" and r.content_type == "text/plain; charset=utf-8"
        r = srv.client.predict_unstructured(b"\x00\x01", content_type="application/octet-stream")
        assert r.body == b"\x00\x01" and r.content_type == "application/octet-stream"
        answer = chat.client.chat("hi")
        assert answer["choices"][0]["message"]["content"] == "echo: hi"
        pytest.importorskip("openai")
        completion = chat.client.openai().chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "hello"}])
        assert completion.choices[0].message.content == "echo: hello"
    finally:
        srv.stop()
        chat.stop()


def test_hub_proxy_url_and_stale_registry_entries(monkeypatch, runtime):
    import importlib.util

    from drumnb import server_registry as registry
    from drumnb.jupyter import launcher

    assert launcher.proxy_url_template({}) is None
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "jupyter_server_proxy" else real(name, *a))
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}
    assert launcher.proxy_url_template(env) == "/user/ada/proxy/{port}/"
    env["JUPYTERHUB_PUBLIC_URL"] = "https://hub.example.org/"
    assert launcher.proxy_url_template(env) == "https://hub.example.org/user/ada/proxy/{port}/"
    # an entry whose process is gone is removed by the next reader
    path = registry.write({"name": "ghost", "pid": 2**22 + 12345, "port": 1, "url": "http://127.0.0.1:1"})
    assert os.path.exists(path)
    assert all(e["name"] != "ghost" for e in registry.entries())
    assert not os.path.exists(path)


# --- widgets -----------------------------------------------------------------------------------

def test_inspector_in_the_kernel_and_against_a_server(ip):
    from drumnb.jupyter import inspector

    hooks(ip, "echo3", ECHO)
    w = inspector("echo3", body="caf\u00e9", content_type="text/plain", charset="latin-1", query="shout=1")
    ins = w.send()
    assert ins.status == 200 and ins.data_type == "str" and ins.rule == "text"
    assert ins.kwargs["charset"] == "'latin-1'" and ins.response_text == "CAFÉ"
    assert "decoded as latin-1" in w.output.value and "what the hook received" in w.output.value
    assert repr(w) == ("Inspector(target='echo3 (in the kernel)', content_type='text/plain', charset='latin-1', "
                       "status=200)")
    # bytes typed as hex, shown as hex; an uploaded file
    w.content_type.value = "application/octet-stream"
    w.charset.value = ""
    w.query.value = ""
    w.as_hex.value = True
    w.body.value = "89 50 4e 47"
    ins = w.send()
    assert ins.data_type == "bytes" and ins.rule == "binary" and ins.view() == "hex"
    assert "89 50 4e 47" in w.output.value
    w._on_upload({"new": ({"name": "a.txt", "type": "text/csv", "size": 3, "content": memoryview(b"x,y")},)})
    ins = w.send()
    assert ins.body == b"x,y" and ins.content_type == "text/csv" and ins.data_preview == "'x,y'"
    # a bad charset is the hook's 400, shown, not raised into the kernel from a click
    w._set_bytes(None)
    w.as_hex.value = False
    w.content_type.value = "text/plain"
    w.charset.value = "no-such-charset"
    w._clicked()
    assert "unknown charset" in w.output.value
    srv = run(ip, "%drum_serve echo3 -t unstructured").result.result
    try:
        from drumnb.jupyter import inspect_request

        ins = inspect_request(srv, b"\xe9", content_type="text/plain; charset=latin-1")
        assert ins.status == 200 and ins.response_text == "é" and ins.rule == "text"
        assert "worked out with drumnb's rules" in ins.kwargs_source
        ins = inspect_request(srv, b"\xff", content_type="text/plain")
        assert ins.status == 400 and "does not decode as utf-8" in ins.error
    finally:
        srv.stop()


def test_server_panel_shows_health_memory_latency_logs_and_stops(ip):
    from drumnb.jupyter import server_panel

    hooks(ip, "paneled", CONST.format(factor=1))
    srv = run(ip, "%drum_serve paneled").result.result
    srv.client.predict(frame(3))
    panel = server_panel()
    table = panel.table()
    row = table[table["name"] == "paneled"].iloc[0]
    assert row["health"] == 200 and row["memory_mb"] > 10 and row["latency_ms"] > 0 and row["own"]
    assert row["predictions"] >= 1
    assert repr(panel).startswith("ServerPanel(servers=[") and "'paneled'" in repr(panel)
    box = panel.body.children[list(table["name"]).index("paneled")]
    assert "POST /predict/ 200" in box.children[1].value
    stop_button = box.children[0].children[1]
    stop_button.click()
    assert not srv.running and "stopped paneled" in panel.message.value
    assert "paneled" not in list(panel.table()["name"])


def test_score_panel_scores_a_dataframe(ip, ex):
    from drumnb.jupyter import score_panel

    ip.user_ns["iris_df"] = pd.read_csv(ex / "data" / "sklearn_multiclass.csv")
    panel = score_panel(model=str(ex / "sklearn_multiclass"), data="iris_df", namespace=ip.user_ns)
    panel.target_type.value = "multiclass"
    panel.labels.value = "setosa, versicolor, virginica"
    preds = panel.score()
    assert list(preds.columns) == ["setosa", "versicolor", "virginica"] and len(preds) == 40
    assert panel.report.png is not None
    panel.model.value = "nosuch"
    panel._clicked()
    assert "no model named" in panel.message.value


def test_init_taking_code_dir_by_name_is_accepted(ip):
    """DRUM calls init(code_dir=..., **kwargs): the template's signature is not an error."""
    cell = hooks(ip, "with_init", """
        def init(code_dir, **kwargs):
            pass

        def load_model(code_dir):
            return 1

        def score(data, model, **kwargs):
            return data
        """)
    assert cell.error is None and "warning" not in cell.text, cell.text
    cell = hooks(ip, "bad_init", """
        def init(code_dir, extra, **kwargs):
            pass
        """)
    short_error(cell, "HookSignatureError", "requires extra")
