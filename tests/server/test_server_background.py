"""`drumnb.server.serve`: a background server (thread or child process), custom_flask.py, sparse transforms."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import psutil
import pytest
import requests
from fixtures import write_folder
from jupyter_support import port_free
from server_support import broken_folder, csv_bytes, data, linear_folder, wait_for

from drumnb.model import load_model
from drumnb.server import serve

CUSTOM_FLASK = """
    from flask import jsonify, request

    def init_app(app):
        @app.before_request
        def check_token():
            if request.path.endswith("/predict/") and request.headers.get("Authorization") != "Bearer s3cret":
                return jsonify(message="ERROR: missing or wrong token"), 401

        @app.route("/hello/")
        def hello():
            return jsonify(message="hello from custom_flask")
"""

SPARSE_TRANSFORM = """
    import scipy.sparse

    def load_model(code_dir):
        return "model"

    def transform(data, model):
        return scipy.sparse.csr_matrix(data.to_numpy() * (data.to_numpy() > 0))
"""

NOT_THREAD_SAFE = """
    import time

    import pandas as pd

    STATE = {"busy": False}

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        if STATE["busy"]:
            raise RuntimeError("score entered twice at once")
        STATE["busy"] = True
        try:
            time.sleep(0.02)
            return pd.DataFrame({"Predictions": data["a"].astype(float)})
        finally:
            STATE["busy"] = False
"""


def test_serve_a_loaded_model_in_a_thread(tmp_path):
    folder = linear_folder(tmp_path)
    model = load_model(folder, "regression")
    df = data(4)
    with serve(model) as server:
        assert server.url.startswith("http://127.0.0.1:") and server.running and server.pid
        assert server.client().health() == {"message": "OK"}
        out = server.client().predict(df)
        np.testing.assert_allclose(out["Predictions"], model.predict(df)["Predictions"], rtol=1e-12)
        assert server.app.extensions["drumnb"].model is model  # the same object, nothing copied
        url = server.url
    assert not server.running
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/health/", timeout=2)


def test_serve_a_folder_with_a_prefix_and_an_error_server(tmp_path):
    with serve(linear_folder(tmp_path), "regression", url_prefix="/m/1/") as server:
        assert server.url.endswith("/m/1")
        assert server.client().info()["urlPrefix"] == "/m/1"
    with serve(broken_folder(tmp_path), "regression") as server:  # error server on by default
        r = server.client().get("/health/")
        assert r.status_code == 513 and "the weights file is corrupt" in r.json()["message"]
        with pytest.raises(Exception, match="the weights file is corrupt"):
            server.client().predict(data(1))


def test_serve_in_a_child_process_is_stopped_by_pid(tmp_path):
    model = load_model(linear_folder(tmp_path), "regression")
    with serve(model, process=True) as server:
        pid = server.pid
        assert pid != psutil.Process().pid and psutil.pid_exists(pid)
        assert len(server.client().predict(data(3))) == 3
        assert "serving" in server.logs()
    assert not server.running
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.filterwarnings("ignore:X has feature names")
def test_undeclared_columns_pass_the_frameworks_error_on_as_422(tmp_path):
    from sklearn.linear_model import LinearRegression

    X = data(20).to_numpy()  # fitted on an array: the model declares no column names
    folder = write_folder(tmp_path, "nonames", files={"model.pkl": LinearRegression().fit(X, X.sum(axis=1))})
    with serve(folder, "regression") as server:
        r = server.client().post("/predict/", data=b"a,b\n1,2\n", headers={"Content-Type": "text/csv"})
        assert r.status_code == 422
        assert "expecting 3 features" in r.json()["message"]


def test_custom_flask_adds_routes_and_auth(tmp_path):
    folder = linear_folder(tmp_path)
    (folder / "custom_flask.py").write_text(CUSTOM_FLASK.replace("\n    ", "\n").lstrip())
    with serve(folder, "regression") as server:
        client = server.client()
        assert client.get("/hello/").json() == {"message": "hello from custom_flask"}
        body = csv_bytes(data(2))
        r = client.post("/predict/", data=body, headers={"Content-Type": "text/csv"})
        assert r.status_code == 401
        r = client.post("/predict/", data=body, headers={"Content-Type": "text/csv", "Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and len(r.json()["predictions"]) == 2
        assert client.get("/health/").status_code == 200


def test_custom_flask_that_fails_gives_513_naming_it(tmp_path):
    folder = linear_folder(tmp_path)
    (folder / "custom_flask.py").write_text("def init_app(app):\n    raise KeyError('AUTH_TOKEN')\n")
    with serve(folder, "regression") as server:
        r = server.client().get("/health/")
        assert r.status_code == 513
        assert "'init_app' hook failed (custom_flask.py, line 2): KeyError" in r.json()["message"]


def test_sparse_transform_answers_matrix_market(tmp_path):
    import scipy.io

    folder = write_folder(tmp_path, "sparse", SPARSE_TRANSFORM)
    df = data(5)
    with serve(folder, "transform") as server:
        r = server.client().post("/transform/", files={"X": ("x.csv", csv_bytes(df))})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["out.format"] == "sparse"
        matrix = scipy.io.mmread(io.BytesIO(body["X.transformed"].encode())).toarray()
        np.testing.assert_allclose(matrix, df.to_numpy() * (df.to_numpy() > 0))


def test_hooks_that_are_not_thread_safe_are_called_one_at_a_time(tmp_path):
    folder = write_folder(tmp_path, "unsafe", NOT_THREAD_SAFE)
    statuses: list[int] = []
    with serve(folder, "regression") as server:
        def hit() -> None:
            with requests.Session() as s:
                for _ in range(5):
                    r = s.post(server.url + "/predict/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=hit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    assert statuses == [200] * 20


CHAT = """
    def load_model(code_dir):
        return "echo"

    def chat(params, model):
        text = params["messages"][-1]["content"]
        if params.get("stream"):
            return iter([{"choices": [{"delta": {"content": word}}]} for word in text.split()])
        return {"object": "chat.completion", "choices": [{"message": {"role": "assistant", "content": text}}]}
"""


def test_chat_routes_reach_the_core(tmp_path):
    folder = write_folder(tmp_path, "chat", CHAT)
    with serve(folder, "textgeneration") as server:
        client = server.client()
        assert client.get("/capabilities/").json()["supported_methods"]["chat"] is True
        ask = {"model": "echo", "messages": [{"role": "user", "content": "hello there"}]}
        for path in ("/chat/completions/", "/v1/chat/completions"):
            r = client.post(path, json=ask)
            assert r.status_code == 200, r.text
            assert r.json()["choices"][0]["message"]["content"] == "hello there"
        r = client.post("/v1/chat/completions/", json={**ask, "stream": True})
        assert r.headers["Content-Type"].startswith("text/event-stream")
        events = [line for line in r.text.split("\n\n") if line]
        assert events[-1] == "data: [DONE]" and len(events) == 3
        r = client.post("/chat/completions/", json={"model": "echo"})
        assert r.status_code == 400 and "messages" in json.dumps(r.json())  # a bad body, as DRUM
        assert client.get("/v1/models/").status_code == 200


def test_only_models_with_hooks_or_unknown_predictors_are_serialized(tmp_path):
    from drumnb.server.app import create_app

    plain = load_model(linear_folder(tmp_path), "regression")
    hooked = load_model(write_folder(tmp_path, "unsafe", NOT_THREAD_SAFE), "regression")
    assert not create_app(plain).extensions["drumnb"].call.serialize  # scikit-learn: thread-safe
    assert create_app(hooked).extensions["drumnb"].call.serialize
    assert create_app(plain, serialize=True).extensions["drumnb"].call.serialize


# --- a child-process server's lifecycle (drumnb.supervisor) ---------------------------------------

PARENT = """
import json, sys, time
import drumnb

server = drumnb.serve(sys.argv[1], "regression", process=True, workers=1)
print(json.dumps([server.pid, int(server.url.rsplit(":", 1)[1])]), flush=True)
time.sleep(300)
"""




def test_a_process_server_is_in_the_registry_and_dies_with_its_sigkilled_parent(tmp_path, monkeypatch):
    from drumnb import server_registry as registry

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(linear_folder(tmp_path))], stdout=subprocess.PIPE)
    try:
        pid, port = json.loads(parent.stdout.readline())
        [entry] = registry.entries()  # the JupyterLab sidebar lists it
        assert (entry["pid"], entry["port"], entry["kernel_pid"], entry["reload"]) == (pid, port, parent.pid, False)
        family = [pid] + [p.pid for p in psutil.Process(pid).children(recursive=True)]  # gunicorn master, worker
        assert len(family) >= 2 and requests.get(f"http://127.0.0.1:{port}/health/", timeout=10).status_code == 200
        parent.kill()
        killed = time.monotonic()
        wait_for(lambda: not any(registry.pid_alive(p) for p in family) and port_free(port), 15, step=0.05)
        print(f"server and workers gone, port free {time.monotonic() - killed:.2f}s after the parent's SIGKILL")
        parent.wait(10)
        assert registry.entries() == []
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        parent.stdout.close()


def test_the_handle_says_what_the_process_is_after_the_sidebar_stops_it(tmp_path, monkeypatch):
    from drumnb.labext.handlers import stop_server

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    server = serve(linear_folder(tmp_path), "regression", process=True)
    try:
        assert server.status == "running" and "running" in repr(server)
        assert stop_server(server.pid)["stopped"]  # what the sidebar's Stop does: SIGTERM by PID
        wait_for(lambda: not server.running, 10)
        assert server.status == "exited (code 0)" and "exited (code 0)" in repr(server)
    finally:
        server.stop()
    assert server.status == "exited (code 0)"  # stop() after the fact does not rewrite what happened
    killed = serve(linear_folder(tmp_path), "regression", process=True)
    os.kill(killed.pid, signal.SIGKILL)
    wait_for(lambda: not killed.running, 10)
    assert killed.status == "killed (SIGKILL)" and "killed (SIGKILL)" in repr(killed)
    killed.stop()
    thread = serve(linear_folder(tmp_path), "regression")
    thread.stop()
    assert thread.status == "stopped" and "stopped" in repr(thread)
