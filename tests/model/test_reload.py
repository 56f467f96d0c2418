"""Save and see: hooks-only reloads (the artifact kept), full reloads when loading changed, the watcher,
and `drumnb server --reload` with gunicorn workers (real processes on 127.0.0.1)."""
from __future__ import annotations

import textwrap
import threading
import time

import pytest

from drumnb.core.errors import HookLoadError
from drumnb.core.hooks import load_fingerprint
from drumnb.model import load_model
from drumnb.server.fastpath import FastPredict
from drumnb.watch import FolderWatcher
from fixtures import frame, write_folder
from server_support import csv_bytes, data, linear_folder, start_server, wait_for  # noqa: F401 (a fixture)
from test_timing import serve  # noqa: F401 (a fixture: an app on a thread server on 127.0.0.1)

#: load_model counts its runs in loads.log (a .log file: not an artifact, so writing it reloads nothing)
COUNTED = """
import os
import pandas as pd

def load_model(code_dir):
    with open(os.path.join(code_dir, "loads.log"), "a") as fh:
        fh.write("x")
    with open(os.path.join(code_dir, "weights.txt")) as fh:
        return {{"factor": float(fh.read())}}

def score(data, model, **kwargs):
    return pd.DataFrame({{"Predictions": data.iloc[:, 0] * model["factor"] * {mult}}})
"""


def counted(tmp_path, mult=1, name="counted"):
    return write_folder(tmp_path, name, COUNTED.format(mult=mult), {"weights.txt": "2"})


def loads(folder) -> int:
    return len((folder / "loads.log").read_text())


def edit(path, text):
    """Rewrite a file so that its mtime surely moves (coarse file-system clocks)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(textwrap.dedent(text).lstrip())
    while path.stat().st_mtime_ns == before:
        time.sleep(0.01)
        path.write_text(textwrap.dedent(text).lstrip())


def test_hooks_only_reload_keeps_the_loaded_model(tmp_path):
    folder = counted(tmp_path)
    model = load_model(folder)
    assert model.predict(frame(2))["Predictions"].tolist() == (frame(2)["x0"] * 2).tolist()
    edit(folder / "custom.py", COUNTED.format(mult=10))
    result = model.hot_reload()
    assert result.kind == "hooks" and result.message.startswith("hooks reloaded in ") and result.message.endswith(" ms")
    assert loads(folder) == 1 and model.loads == 1 and model.hook_reloads == 1
    assert model.predict(frame(2))["Predictions"].tolist() == (frame(2)["x0"] * 20).tolist()
    # nothing changed since: nothing to do
    assert model.hot_reload().kind == "none" and loads(folder) == 1


def test_loading_changes_and_artifact_changes_load_again(tmp_path):
    folder = counted(tmp_path)
    model = load_model(folder)
    edit(folder / "custom.py", COUNTED.format(mult=1).replace('fh.write("x")', 'fh.write("x")  # edited'))
    assert load_fingerprint(str(folder / "custom.py")) is not None
    # a comment only: the same code (ast), so hooks only
    assert model.hot_reload().kind == "hooks" and loads(folder) == 1
    edit(folder / "custom.py", COUNTED.format(mult=1).replace('"factor": float(fh.read())',
                                                               '"factor": float(fh.read()) + 1'))
    result = model.hot_reload()
    assert (result.kind, result.reason) == ("full", "load_model changed") and loads(folder) == 2
    assert result.message.startswith("model reloaded (load_model changed) in ")
    assert model.predict(frame(1))["Predictions"].tolist() == [frame(1)["x0"][0] * 3]
    edit(folder / "weights.txt", "5")
    result = model.hot_reload()
    assert (result.kind, result.reason) == ("full", "weights.txt changed") and loads(folder) == 3
    assert model.predict(frame(1))["Predictions"].tolist() == [frame(1)["x0"][0] * 6]


def test_a_helper_that_load_model_uses_counts_as_loading(tmp_path):
    source = """
        import pandas as pd
        SCALE = {scale}

        def _build():
            return {{"factor": SCALE}}

        def load_model(code_dir):
            return _build()

        def score(data, model, **kwargs):
            return pd.DataFrame({{"Predictions": data.iloc[:, 0] * model["factor"] + {offset}}})
    """
    folder = write_folder(tmp_path, "helper", source.format(scale=2, offset=0))
    model = load_model(folder)
    edit(folder / "custom.py", source.format(scale=2, offset=1))
    assert model.hot_reload().kind == "hooks"
    edit(folder / "custom.py", source.format(scale=3, offset=1))  # SCALE is used by _build, used by load_model
    result = model.hot_reload()
    assert (result.kind, result.reason) == ("full", "load_model changed")
    assert model.predict(frame(1))["Predictions"].tolist() == [frame(1)["x0"][0] * 3 + 1]


def test_globals_that_loading_set_are_carried_to_the_new_hooks(tmp_path):
    source = """
        import pandas as pd
        MODEL = None

        def load_model(code_dir):
            global MODEL
            MODEL = {{"factor": 4}}
            return "unused"

        def score(data, model, **kwargs):
            return pd.DataFrame({{"Predictions": data.iloc[:, 0] * MODEL["factor"] * {mult}}})
    """
    folder = write_folder(tmp_path, "globals", source.format(mult=1))
    model = load_model(folder)
    edit(folder / "custom.py", source.format(mult=2))
    assert model.hot_reload().kind == "hooks"
    assert model.predict(frame(1))["Predictions"].tolist() == [frame(1)["x0"][0] * 8]


def test_a_failing_edit_keeps_the_previous_hooks(tmp_path):
    folder = counted(tmp_path)
    model = load_model(folder)
    edit(folder / "custom.py", COUNTED.format(mult=1) + "\ndef score(data, model:\n")
    with pytest.raises(HookLoadError) as info:
        model.hot_reload()
    assert "SyntaxError" in info.value.render()
    assert model.predict(frame(1))["Predictions"].tolist() == [frame(1)["x0"][0] * 2]
    edit(folder / "custom.py", COUNTED.format(mult=1) + "\nraise RuntimeError('not yet')\n")
    with pytest.raises(HookLoadError, match="not yet"):
        model.hot_reload()
    edit(folder / "custom.py", COUNTED.format(mult=7))
    assert model.hot_reload().kind == "hooks" and loads(folder) == 1
    assert model.predict(frame(1))["Predictions"].tolist() == [frame(1)["x0"][0] * 14]


def test_the_watcher_calls_back_once_a_batch_and_stops(tmp_path):
    folder = counted(tmp_path)
    calls: list[set] = []
    with FolderWatcher(str(folder), calls.append) as watcher:
        assert watcher.running
        (folder / ".hidden.swp").write_text("ignored")
        (folder / "custom.py.bak-1").write_text("ignored")
        edit(folder / "custom.py", COUNTED.format(mult=3))
        wait_for(lambda: calls, timeout=10)
        time.sleep(0.3)
    assert not watcher.running and not any(t.name == "drumnb-watch" for t in threading.enumerate())
    assert all(names <= {"custom.py"} for names in calls) and {"custom.py"} in calls


def test_a_thread_server_with_reload_swaps_hooks_without_loading_again(tmp_path, serve):
    folder = counted(tmp_path)
    server = serve(load_model(folder), reload=True)
    body = csv_bytes(frame(1))

    def predicted():
        return server.post("/predict/", body).json()["predictions"]

    try:
        assert predicted() == [frame(1)["x0"][0] * 2]
        edit(folder / "custom.py", COUNTED.format(mult=5))
        wait_for(lambda: predicted() == [frame(1)["x0"][0] * 10], timeout=10)
        assert loads(folder) == 1
        # a broken edit: the previous hooks keep answering
        edit(folder / "custom.py", COUNTED.format(mult=5) + "\ndef score(:\n")
        time.sleep(0.8)
        again = server.post("/predict/", body)
        assert again.status_code == 200 and again.json()["predictions"] == [frame(1)["x0"][0] * 10]
        assert isinstance(server.app.extensions["drumnb"].last_reload, HookLoadError)
        kept = server.get("/_drumnb/requests/").json()
        assert kept["capacity"] == 50 and len(kept["requests"]) >= 3
    finally:
        server.app.extensions["drumnb"].watcher.stop()


def test_hooks_added_to_a_fast_path_model_take_over_its_answers(tmp_path, serve):
    folder = linear_folder(tmp_path)
    server = serve(load_model(folder), reload=True)
    state = server.app.extensions["drumnb"]
    body = csv_bytes(data(2))
    try:
        plain = server.post("/predict/", body).json()["predictions"]
        assert isinstance(server.app.wsgi_app, FastPredict) and not state.call.serialize
        edit(folder / "custom.py", """
            import pandas as pd

            def post_process(predictions, model):
                return predictions * 0 + 42
        """)
        wait_for(lambda: server.post("/predict/", body).json()["predictions"] == [42.0, 42.0], timeout=10)
        assert not isinstance(server.app.wsgi_app, FastPredict) and state.call.serialize  # hooks: one at a time
        (folder / "custom.py").unlink()
        wait_for(lambda: server.post("/predict/", body).json()["predictions"] == plain, timeout=10)
        assert isinstance(server.app.wsgi_app, FastPredict)
    finally:
        state.watcher.stop()


def test_drumnb_server_reload_with_two_gunicorn_workers(tmp_path, start_server):
    folder = counted(tmp_path)
    server = start_server(["--code-dir", str(folder), "--max-workers", "2", "--reload"])
    body = csv_bytes(frame(1))
    x0 = frame(1)["x0"][0]

    def answers() -> set:
        return {tuple(server.post("/predict/", data=body, headers={"Content-Type": "text/csv"}).json()["predictions"])
                for _ in range(8)}

    wait_for(lambda: loads(folder) == 2, timeout=30)  # one load per worker
    assert answers() == {(x0 * 2,)}
    edit(folder / "custom.py", COUNTED.format(mult=3))
    wait_for(lambda: answers() == {(x0 * 6,)}, timeout=20)  # every worker reloaded itself
    assert loads(folder) == 2  # ... without loading the artifact again
    edit(folder / "weights.txt", "4")
    wait_for(lambda: answers() == {(x0 * 12,)}, timeout=20)
    assert loads(folder) == 4
    assert "hooks reloaded in" in server.output() and "model reloaded (weights.txt changed)" in server.output()
