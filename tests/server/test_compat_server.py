"""What real deployments lean on, over real HTTP on 127.0.0.1: DRUM 1.18.1's endpoint names (custom_flask.py
exemptions), its version header, body endings, /info/ fields, /invocations, and load errors of models that
load but cannot predict.  Each expectation was observed on DRUM 1.18.1 beside drumnb."""
from __future__ import annotations

import json
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest
from server_support import csv_bytes, data, linear_folder, start_server

from fixtures import write_folder

assert start_server  # a fixture, used by name below

# The shape of DataRobot's public HTTP-auth template: every route asks for a token except the ones it exempts by
# DRUM's endpoint names.
AUTH_FLASK = '''
from flask import request, jsonify

EXEMPT = {"model_api.ping", "model_api.health"}

def init_app(app):
    @app.before_request
    def check_token():
        if request.endpoint in EXEMPT:
            return None
        if request.headers.get("Authorization") != "Bearer s3cret":
            return jsonify({"message": "ERROR: unauthorized"}), 401
        return None
'''


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("compat")
    folder = linear_folder(root)
    (folder / "custom_flask.py").write_text(AUTH_FLASK)
    return folder


@pytest.fixture(scope="module")
def server(start_server, folder):
    return start_server(["-cd", str(folder), "--target-type", "regression"])


def test_custom_flask_exemptions_by_drums_endpoint_names(server):
    assert server.get("/ping/").status_code == 200  # exempted by name: no token needed
    assert server.get("/").status_code == 200       # "/" is model_api.ping too
    assert server.get("/health/").status_code == 200
    body = csv_bytes(data(3))
    assert server.post("/predict/", data=body, headers={"Content-Type": "text/csv"}).status_code == 401
    assert server.get("/info/").status_code == 401
    auth = {"Authorization": "Bearer s3cret", "Content-Type": "text/csv"}
    assert server.post("/predict/", data=body, headers=auth).status_code == 200


def test_headers_body_endings_info_and_invocations(server):
    auth = {"Authorization": "Bearer s3cret"}
    body = csv_bytes(data(3))
    r = server.post("/predict/", data=body, headers={**auth, "Content-Type": "text/csv"})
    assert r.headers["X-Drum-Version"] == "1.18.1" and r.headers["Content-Type"] == "application/json"
    assert r.headers["X_Request_ID"] == r.headers["X-Request-ID"]  # DRUM's spelling, and ours
    assert server.get("/ping/", headers={"X-Request-ID": "abc123"}).headers["X_Request_ID"] == "abc123"
    assert r.content.endswith(b"]}")  # prediction bodies end without a newline, as DRUM's
    inv = server.post("/invocations", data=body, headers={**auth, "Content-Type": "text/csv"})
    assert inv.status_code == 200 and inv.content == r.content
    info = server.get("/info/", headers=auth)
    assert info.content.endswith(b"}\n")  # every other JSON body ends with one
    fields = info.json()
    assert (fields["drumVersion"], fields["predictor"], fields["language"], fields["modelMetadata"]) == (
        "1.18.1", "scikit-learn", "python", None)
    assert fields["drumServer"] and fields["targetType"] == "regression" and fields["codeDir"]
    assert server.get("/ping/").content == b'{"message":"OK"}\n'
    wrong = server.post("/predictUnstructured/", data=b"x", headers=auth)
    assert wrong.status_code == 422 and wrong.content.endswith(b"\n")
    for path in ("/models", "/v1/models"):  # the model list is for chat models (DRUM: 404)
        assert server.get(path, headers=auth).status_code == 404


def test_routes_under_concurrent_clients(server):
    auth = {"Authorization": "Bearer s3cret", "Content-Type": "text/csv"}
    body = csv_bytes(data(5))
    expected = server.post("/predict/", data=body, headers=auth).content

    def call(i):
        path = ("/predict/", "/predictions/", "/invocations")[i % 3]
        return server.post(path, data=body, headers=auth, timeout=30)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(60)))
    assert all(r.status_code == 200 and r.content == expected for r in answers)


def test_a_model_that_loads_but_cannot_predict_is_a_load_error(start_server, tmp_path):
    from conftest import run_cli

    folder = write_folder(tmp_path, "str_model", files={"model.pkl": pickle.dumps("not a model")})
    (tmp_path / "in.csv").write_bytes(csv_bytes(data(2)))
    proc = run_cli("score", "-cd", str(folder), "--target-type", "regression", "--input", str(tmp_path / "in.csv"))
    assert proc.returncode == 1 and b"the pickled str has no predict()" in proc.stderr
    assert b"internal error" not in proc.stderr
    srv = start_server(["-cd", str(folder), "--target-type", "regression", "--with-error-server"], statuses=(513,))
    r = srv.get("/health/")
    assert r.status_code == 513 and "has no predict()" in json.loads(r.content)["message"]


TYPED_HOOKS = '''
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    n = len(data)
    kind = kwargs.get("target_type") or "x"
    return pd.DataFrame({"resultText": ["t%d" % i for i in range(n)], "e": list(range(n))})
'''


@pytest.mark.parametrize("target_type", ["textgeneration", "vectordatabase", "agenticworkflow"])
def test_text_target_types_serve_as_drum(start_server, tmp_path, target_type):
    folder = write_folder(tmp_path, "t", TYPED_HOOKS)
    srv = start_server(["-cd", str(folder), "--target-type", target_type], env={"TARGET_NAME": "resultText"})
    r = srv.post("/predict/", data=b"a\n1\n2\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert r.content == b'{"predictions":["t0","t1"],"extraModelOutput":{"columns":["e"],"index":[0,1],"data":[[0],[1]]}}'


def test_multilabel_and_geopoint_serve_as_drum(start_server, tmp_path):
    folder = write_folder(tmp_path, "ml", '''
        import numpy as np
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def score(data, model, **kwargs):
            return pd.DataFrame({"c": [0.9, 0.2], "b": [0.8, np.nan], "a": [0.7, 0.05]})
    ''')
    srv = start_server(["-cd", str(folder), "--target-type", "multilabel", "--class-labels", "a", "b", "c"])
    r = srv.post("/predict/", data=b"x\n1\n2\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    assert json.loads(r.content) == {"predictions": [{"c": 0.9, "b": 0.8, "a": 0.7}, {"c": 0.2, "b": None, "a": 0.05}]}
    assert list(json.loads(r.content)["predictions"][0]) == ["c", "b", "a"]  # the hook's column order
    geo = write_folder(tmp_path, "geo", '''
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def score(data, model, **kwargs):
            return pd.DataFrame({"where": ["POINT (1 2)"] * len(data)})
    ''')
    srv = start_server(["-cd", str(geo), "--target-type", "geopoint"])
    r = srv.post("/predict/", data=b"x\n1\n", headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.content == b'{"predictions":["POINT (1 2)"]}'
