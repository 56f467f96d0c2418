"""`drumnb server`, one process: every route, payload format and error, over real HTTP on 127.0.0.1."""
from __future__ import annotations

import io
import json
import pickle
import signal
import threading
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import requests
from server_support import (
    binary_folder,
    broken_folder,
    csv_bytes,
    data,
    hooks_folder,
    linear_folder,
    multiclass_folder,
    read_csv,
    start_server,
    transform_folder,
    wide_folder,
)

assert start_server  # a fixture, used by name below
PREFIX = "/deployments/abc"
LIMIT = 2_000_000


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("server-models")
    return {"linear": linear_folder(root), "binary": binary_folder(root), "multiclass": multiclass_folder(root),
            "hooks": hooks_folder(root), "wide": wide_folder(root), "broken": broken_folder(root),
            "transform": transform_folder(root)}


@pytest.fixture(scope="module")
def reg(start_server, folders):
    """Regression, under URL_PREFIX, with a small --max-request-size."""
    return start_server(["-cd", str(folders["linear"]), "--target-type", "regression",
                         "--max-request-size", str(LIMIT)], env={"URL_PREFIX": PREFIX}, prefix=PREFIX)


@pytest.fixture(scope="module")
def binary(start_server, folders):
    return start_server(["-cd", str(folders["binary"]), "--positive-class-label", "yes",
                         "--negative-class-label", "no"])


@pytest.fixture(scope="module")
def hooks(start_server, folders):
    return start_server(["-cd", str(folders["hooks"]), "--target-type", "regression"])


@pytest.fixture(scope="module")
def wide(start_server, folders):
    """Scores the first column, whatever the columns are; the default request size limit."""
    return start_server(["-cd", str(folders["wide"]), "--target-type", "regression"])


@pytest.fixture(scope="module")
def transform(start_server, folders):
    return start_server(["-cd", str(folders["transform"]), "--target-type", "transform"])


@pytest.fixture(scope="module")
def linear_model(folders):
    with open(folders["linear"] / "model.pkl", "rb") as fh:
        return pickle.load(fh)


# --- status routes -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "", "/ping/", "/ping", "/health/", "/health"])
def test_status_routes_answer_ok_with_headers(reg, path):
    r = reg.get(path)
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "OK"}
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Drumnb-Version"]
    assert len(r.headers["X-Request-ID"]) >= 16


def test_request_id_is_echoed_or_fresh(reg):
    assert reg.get("/ping/", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    ids = {reg.get("/ping/").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_routes_live_under_the_prefix_only(reg):
    assert requests.get(f"http://127.0.0.1:{reg.port}/health/", timeout=10).status_code == 404


def test_info_has_drums_keys(reg, binary):
    info = reg.get("/info/").json()
    for key in ("codeDir", "drumServer", "drumVersion", "language", "modelMetadata", "predictor", "targetType"):
        assert key in info, key
    # drumnb always serves with a gunicorn master (one worker by default)
    assert info["targetType"] == "regression" and info["language"] == "python" and info["drumServer"] == "gunicorn"
    assert info["urlPrefix"] == PREFIX and info["maxRequestSize"] == LIMIT
    info = binary.get("/info").json()
    assert info["positiveClassLabel"] == "yes" and info["negativeClassLabel"] == "no"
    assert info["classLabels"] == ["no", "yes"]


def test_capabilities(reg):
    body = reg.get("/capabilities/").json()
    assert body["supported_methods"] == {"chat": False}
    assert set(body["supported_payload_formats"]) >= {"csv", "mtx", "arrow"}
    assert body["supported_payload_formats"]["arrow"] == pa.__version__


def test_stats_memory_and_timing(hooks):
    for _ in range(3):
        assert hooks.post("/predict/", data=csv_bytes(data(4)), headers={"Content-Type": "text/csv"}).ok
    body = hooks.get("/stats/").json()
    pids = [p["pid"] for p in body["drum_info"]]  # the gunicorn master, then its one worker
    assert pids[0] == hooks.pid and len(pids) == 2
    assert set(body["drum_info"][0]) >= {"cmdline", "cpu_percent", "mem", "pid"}
    mem = body["mem_info"]
    assert set(mem) >= {"avail", "container_limit", "container_max_used", "container_used", "drum_rss", "free",
                        "total"}
    assert 10 < mem["drum_rss"] < mem["total"]
    run = body["time_info"]["run_predictor_total"]
    assert body["predictions"] >= 3
    assert 0 < run["min"] <= run["avg"] <= run["max"] and run["total"] >= 3 * run["min"]


def test_unknown_route_and_method_answer_json(reg):
    r = reg.get("/nowhere/")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/json"
    assert r.json()["message"].startswith("ERROR: no route GET")
    assert f"{PREFIX}/predict/" in r.json()["hint"]
    r = reg.get("/predict/")
    assert r.status_code == 405 and r.json()["message"].startswith("ERROR: GET is not allowed")
    assert "POST" in r.headers["Allow"]
    assert reg.post("/health/").status_code == 405


# --- predictions: payloads ------------------------------------------------------------------------

def _payloads(df: pd.DataFrame) -> dict[str, dict]:
    csv = csv_bytes(df)
    arrow = io.BytesIO()
    with pa.ipc.new_stream(arrow, pa.Schema.from_pandas(df, preserve_index=False)) as writer:
        writer.write_table(pa.Table.from_pandas(df, preserve_index=False))
    parquet = io.BytesIO()
    df.to_parquet(parquet, index=False)
    return {
        "raw text/csv": {"data": csv, "headers": {"Content-Type": "text/csv"}},
        "raw text/plain": {"data": csv, "headers": {"Content-Type": "text/plain; charset=utf-8"}},
        "raw, no content type": {"data": csv},
        "multipart file X": {"files": {"X": ("data.csv", csv)}},
        "multipart field X": {"files": {"X": (None, csv.decode())}},
        "arrow stream": {"data": arrow.getvalue(), "headers": {"Content-Type": "application/vnd.apache.arrow.stream"}},
        "x-apache-arrow-stream": {"data": arrow.getvalue(),
                                  "headers": {"Content-Type": "application/x-apache-arrow-stream"}},
        "multipart arrow file": {"files": {"X": ("data.arrow", arrow.getvalue())}},
        "parquet": {"data": parquet.getvalue(), "headers": {"Content-Type": "application/vnd.apache.parquet"}},
    }


@pytest.mark.parametrize("kind", list(_payloads(data(1))))
def test_predict_every_payload_at_full_precision(reg, linear_model, kind):
    df = data(7, seed=5)
    r = reg.post("/predict/", **_payloads(df)[kind])
    assert r.status_code == 200, r.text
    expected = linear_model.predict(df).tolist()
    assert r.json() == {"predictions": expected}  # exact: full float precision, no rounding


def test_predict_sparse_mtx_with_column_names(reg, linear_model):
    import scipy.io
    import scipy.sparse

    df = data(6, seed=6)
    df.iloc[::2, 1] = 0.0
    buf = io.BytesIO()
    scipy.io.mmwrite(buf, scipy.sparse.csr_matrix(df.to_numpy()))
    r = reg.post("/predict/", files={"X": ("data.mtx", buf.getvalue()), "X.colnames": ("cols.txt", "a\nb\nc\n")})
    assert r.status_code == 200, r.text
    np.testing.assert_allclose(r.json()["predictions"], linear_model.predict(df), rtol=1e-12)


def test_predict_raw_matrix_market_body(wide):
    import scipy.io
    import scipy.sparse

    buf = io.BytesIO()
    scipy.io.mmwrite(buf, scipy.sparse.csr_matrix(np.array([[1.5, 0.0], [0.0, 2.0], [3.25, 1.0]])))
    r = wide.post("/predict/", data=buf.getvalue(), headers={"Content-Type": "text/mtx"})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == [1.5, 0.0, 3.25]


@pytest.mark.parametrize("path", ["/predict/", "/predict", "/predictions/", "/predictions"])
def test_both_prediction_routes_with_and_without_slash(reg, path):
    r = reg.post(path, data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2


def test_accept_csv_and_arrow(reg, linear_model):
    df = data(5, seed=7)
    r = reg.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv", "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    out = read_csv(r.content)
    assert list(out.columns) == ["Predictions"]
    np.testing.assert_allclose(out["Predictions"], linear_model.predict(df), rtol=1e-12)
    for mime in ("application/vnd.apache.arrow.stream", "application/x-apache-arrow-stream"):
        r = reg.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv", "Accept": mime})
        assert r.status_code == 200 and r.headers["Content-Type"] == mime
        table = pa.ipc.open_stream(r.content).read_all().to_pandas()
        assert table["Predictions"].tolist() == linear_model.predict(df).tolist()
    r = reg.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv", "Accept": "application/xml"})
    assert r.status_code == 406 and "text/csv" in r.json()["hint"]
    r = reg.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv", "Accept": "*/*"})
    assert r.headers["Content-Type"] == "application/json"


def test_binary_answers_keyed_by_labels(binary, folders):
    with open(folders["binary"] / "model.pkl", "rb") as fh:
        model = pickle.load(fh)
    df = data(4, seed=8)
    r = binary.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    proba = model.predict_proba(df)
    order = list(model.classes_)
    for row, p in zip(preds, proba):
        assert set(row) == {"no", "yes"}
        assert row["yes"] == p[order.index("yes")] and row["no"] == p[order.index("no")]
        assert abs(row["yes"] + row["no"] - 1) < 1e-12
    assert "extraModelOutput" not in r.json()


def test_multiclass_in_the_classifiers_order_as_drum_answers(start_server, folders):
    server = start_server(["-cd", str(folders["multiclass"]), "--target-type", "multiclass",
                           "--class-labels", "red", "green", "blue"])
    r = server.post("/predict/", files={"X": ("x.csv", csv_bytes(data(3, seed=9)))})
    assert r.status_code == 200, r.text
    for row in r.json()["predictions"]:
        assert list(row) == ["blue", "green", "red"] and abs(sum(row.values()) - 1) < 1e-9  # classes_ order
    csv = read_csv(server.post("/predict/", data=csv_bytes(data(3, seed=9)),
                               headers={"Content-Type": "text/csv", "Accept": "text/csv"}).content)
    assert list(csv.columns) == ["blue", "green", "red"]


def test_extra_model_output_in_split_orient(hooks):
    df = data(3, seed=10)
    r = hooks.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["predictions"] == (df["a"] / 3.0).tolist()
    extra = body["extraModelOutput"]
    assert extra["columns"] == ["note", "double"] and extra["index"] == [0, 1, 2]
    assert extra["data"] == [[f"row{i}", v * 2] for i, v in enumerate(df["a"].tolist())]
    rebuilt = pd.read_json(io.StringIO(json.dumps(extra)), orient="split")
    assert list(rebuilt.columns) == ["note", "double"]


# --- errors ---------------------------------------------------------------------------------------

def test_hook_that_raises_is_500_naming_the_hook_and_the_server_keeps_serving(hooks):
    bad = data(2).assign(boom=[0.0, 1.0])
    r = hooks.post("/predict/", data=csv_bytes(bad), headers={"Content-Type": "text/csv"})
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["message"].startswith("ERROR: 'score' hook failed (custom.py, line ")
    assert "RuntimeError: boom column is positive" in body["message"]
    assert body["hook"] == "score"
    good = hooks.post("/predict/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
    assert good.status_code == 200 and len(good.json()["predictions"]) == 2
    assert hooks.get("/health/").status_code == 200


@pytest.mark.parametrize("case", ["empty raw", "blank raw", "multipart without X", "garbage"])
def test_bad_payload_is_422_saying_what_to_send(reg, case):
    kwargs = {"empty raw": {"data": b"", "headers": {"Content-Type": "text/csv"}},
              "blank raw": {"data": b"\n\n", "headers": {"Content-Type": "text/csv"}},
              "multipart without X": {"files": {"data": ("d.csv", csv_bytes(data(2)))}},
              "garbage": {"data": bytes(range(256)) * 4, "headers": {"Content-Type": "text/csv"}}}[case]
    r = reg.post("/predict/", **kwargs)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["message"].startswith("ERROR: ")
    assert body.get("hint"), body
    if case == "multipart without X":
        assert "'X'" in body["message"] and "data" in body["message"]


def test_wrong_columns_are_422_naming_them(reg):
    r = reg.post("/predict/", data=csv_bytes(data(2, columns=["a", "b", "z"])), headers={"Content-Type": "text/csv"})
    assert r.status_code == 422
    assert "'c'" in r.json()["message"] and "a" in r.json()["hint"]
    assert reg.post("/predict/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"}).status_code == 200


def test_route_that_does_not_fit_the_target_type_names_the_right_one(reg, transform):
    r = reg.post("/transform/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and f"{PREFIX}/predict/" in r.json()["hint"]  # DRUM: 422
    r = transform.post("/predict/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
    assert r.status_code == 422 and "/transform/" in r.json()["hint"]


def test_transform_x_and_y(transform, folders):
    with open(folders["transform"] / "model.pkl", "rb") as fh:
        scaler = pickle.load(fh)
    df = data(4, seed=11)
    y = pd.DataFrame({"target": [1, 0, 1, 1]})
    r = transform.post("/transform/", files={"X": ("x.csv", csv_bytes(df)), "y": ("y.csv", csv_bytes(y))})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["out.format"] == "csv"
    out = pd.read_csv(io.StringIO(body["X.transformed"]))
    np.testing.assert_allclose(out.to_numpy(), scaler.transform(df), rtol=1e-9)
    assert pd.read_csv(io.StringIO(body["y.transformed"]))["target"].tolist() == [1, 0, 1, 1]
    r = transform.post("/transform", data=csv_bytes(df), headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and "y.transformed" not in r.json()


def test_request_over_the_limit_is_413_and_under_it_passes(reg):
    row = "1.0000000000001,2.0000000000001,3.0000000000001\n"
    under = ("a,b,c\n" + row * ((LIMIT - 200) // len(row))).encode()
    over = ("a,b,c\n" + row * (LIMIT // len(row) + 10)).encode()
    assert len(under) < LIMIT < len(over)
    r = reg.post("/predict/", data=under, headers={"Content-Type": "text/csv"})
    assert r.status_code == 200, r.text[:300]
    r = reg.post("/predict/", data=over, headers={"Content-Type": "text/csv"})
    assert r.status_code == 413 and r.json()["message"].startswith("ERROR: the request body is larger")
    assert "--max-request-size" in r.json()["hint"]
    r = reg.post("/predict/", files={"X": ("big.csv", over)})
    assert r.status_code == 413
    assert reg.get("/health/").status_code == 200


def test_default_limit_admits_50mb_and_100k_rows(wide):
    block = pd.DataFrame(np.random.default_rng(12).normal(size=(1000, 30)), columns=[f"f{i}" for i in range(30)])
    header, rows = block.to_csv(index=False).encode().split(b"\n", 1)
    body = header + b"\n" + rows * 100  # 100,000 rows
    df = block
    r = wide.post("/predict/", data=body, headers={"Content-Type": "text/csv"}, timeout=120)
    assert r.status_code == 200, r.text[:300]
    preds = r.json()["predictions"]
    assert len(body) > 50_000_000
    assert len(preds) == 100_000 and preds[:3] == df["f0"].head(3).tolist() and preds[1000] == preds[0]


def test_no_state_leaks_between_requests(reg, linear_model):
    frames = [data(n, seed=20 + n) for n in (1, 3, 2, 5)]
    for df in frames:
        r = reg.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv"})
        assert r.json()["predictions"] == linear_model.predict(df).tolist()
    r = reg.post("/predict/", data=csv_bytes(data(2, columns=["x", "y", "z"])), headers={"Content-Type": "text/csv"})
    assert r.status_code == 422
    df = frames[1]
    assert reg.post("/predict/", data=csv_bytes(df), headers={"Content-Type": "text/csv"}).json()[
        "predictions"] == linear_model.predict(df).tolist()


# --- load failures ---------------------------------------------------------------------------------

def test_error_server_answers_513_with_the_load_error(start_server, folders):
    server = start_server(["-cd", str(folders["broken"]), "--target-type", "regression", "--with-error-server"],
                          statuses=(513,))
    for method, path in [("get", "/"), ("get", "/ping/"), ("get", "/health/"), ("get", "/info/"),
                         ("post", "/predict/"), ("post", "/predictions/"), ("get", "/openapi.json")]:
        r = getattr(server, method)(path, data=b"a\n1\n") if method == "post" else server.get(path)
        assert r.status_code == 513, (path, r.text)
        message = r.json()["message"]
        assert message.startswith("ERROR: 'load_model' hook failed (custom.py, line 2)"), message
        assert "ValueError: the weights file is corrupt" in message
    assert server.get("/stats/").json()["model_loaded"] is False
    assert server.get("/capabilities/").status_code == 200
    assert server.get("/nowhere/").status_code == 404


def test_without_error_server_a_load_failure_exits_with_one_message(start_server, folders):
    server = start_server(["-cd", str(folders["broken"]), "--target-type", "regression"], wait=False)
    assert server.proc.wait(60) == 1
    out = server.output()
    assert "'load_model' hook failed" in out and "the weights file is corrupt" in out
    assert "Traceback" not in out


def test_env_twins_address_and_with_error_server(start_server, folders):
    """ADDRESS and WITH_ERROR_SERVER stand in for --address and --with-error-server."""
    import sys

    from server_support import HOST, free_port

    port = free_port()
    server = start_server([], command=[sys.executable, "-m", "drumnb", "server", "-cd", str(folders["broken"]),
                                       "--target-type", "regression"],
                          env={"ADDRESS": f"{HOST}:{port}", "WITH_ERROR_SERVER": "1"}, wait=False)
    server.port, server.url = port, f"http://{HOST}:{port}"
    server.wait_ready(60, statuses=(513,))
    assert server.get("/health/").json()["message"].startswith("ERROR: 'load_model' hook failed")


# --- beyond DRUM ------------------------------------------------------------------------------------

def test_metrics_in_prometheus_format(reg):
    reg.post("/predict/", data=csv_bytes(data(3)), headers={"Content-Type": "text/csv"})
    reg.post("/predict/", data=b"", headers={"Content-Type": "text/csv"})
    r = reg.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    from prometheus_client.parser import text_string_to_metric_families

    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(r.text) for s in fam.samples}
    assert samples[("drumnb_requests_total", (("method", "POST"), ("route", "predict"), ("status", "200")))] >= 1
    assert samples[("drumnb_requests_total", (("method", "POST"), ("route", "predict"), ("status", "422")))] >= 1
    assert samples[("drumnb_errors_total", (("error", "InputError"), ("route", "predict")))] >= 1
    assert samples[("drumnb_rows_scored_total", ())] >= 3
    assert any(name == "drumnb_request_seconds_bucket" for name, _ in samples)
    assert any(name == "drumnb_predict_seconds_count" for name, _ in samples)


def test_openapi_describes_the_running_model(reg, binary):
    spec = reg.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": PREFIX}]
    assert "/predict/" in spec["paths"] and "/transform/" not in spec["paths"]
    body = spec["paths"]["/predict/"]["post"]["requestBody"]["content"]
    assert {"text/csv", "multipart/form-data", "application/vnd.apache.arrow.stream"} <= set(body)
    assert "a, b, c" in body["text/csv"]["schema"]["description"]
    spec = binary.get("/openapi.json").json()
    item = spec["paths"]["/predict/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(item["properties"]["predictions"]["items"]["properties"]) == {"no", "yes"}


def test_unstructured_and_chat_routes_are_routed(reg, start_server, tmp_path):
    from fixtures import write_folder

    r = reg.post("/predictUnstructured/", data=b"hello")
    assert r.status_code == 422 and "/predict/" in r.json()["hint"]  # DRUM: 422
    r = reg.post("/v1/chat/completions/", json={"messages": []})
    assert r.status_code == 400 and "chat hook" in json.dumps(r.json())  # OpenAI's error shape on chat routes
    folder = write_folder(tmp_path, "echo", """
        def load_model(code_dir):
            return "m"

        def score_unstructured(model, data, **kwargs):
            return data.upper()
    """)
    server = start_server(["-cd", str(folder), "--target-type", "unstructured"])
    for path in ("/predictUnstructured/", "/predictionsUnstructured"):
        r = server.post(path, data=b"hello", headers={"Content-Type": "text/plain"})
        assert r.status_code == 200 and r.content == b"HELLO"
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = server.post("/predict/", data=b"a\n1\n")
    assert r.status_code == 422 and "/predictUnstructured/" in r.json()["hint"]


def test_sigterm_stops_a_single_process_server_cleanly(start_server, folders):
    """SIGTERM: the request in flight finishes, then the process exits 0 and the port closes."""
    server = start_server(["-cd", str(folders["hooks"]), "--target-type", "regression"])
    result = {}

    def slow() -> None:
        r = server.post("/predict/", data=csv_bytes(data(1).assign(sleep=1.0)), headers={"Content-Type": "text/csv"})
        result["status"] = r.status_code

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.4)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(15) == 0
    thread.join(10)
    assert result.get("status") == 200
    assert time.monotonic() - started < 5
    with pytest.raises(requests.ConnectionError):
        server.get("/health/", timeout=2)


def test_a_taken_port_fails_at_once_with_one_message(folders):
    import socket

    from conftest import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run_cli("server", "-cd", str(folders["linear"]), "--address", f"127.0.0.1:{port}")
    assert proc.returncode == 1
    assert b"cannot listen on 127.0.0.1:" in proc.stderr and b"--address" in proc.stderr
    proc = run_cli("server", "-cd", str(folders["linear"]), "--address", "127.0.0.1:http")
    assert proc.returncode == 1 and b"HOST:PORT" in proc.stderr


def test_model_flags_such_as_monitor_reach_the_served_model(start_server, folders, tmp_path):
    store = tmp_path / "records.db"
    server = start_server(["-cd", str(folders["linear"]), "--target-type", "regression", "--monitor",
                           "--monitor-db", str(store)])
    assert server.post("/predict/", data=csv_bytes(data(3)), headers={"Content-Type": "text/csv"}).ok
    from conftest import run_cli

    proc = run_cli("monitor", "summary", str(store))
    assert proc.returncode == 0, proc.stderr
    assert b"prediction_rows" in proc.stdout
