"""The serving runtime: the fast path answers byte for byte as the normal path, request timeouts, worker
recycling, idle connections, and which calls overlap.  Real server processes on 127.0.0.1; every load is
bounded in count and time."""
from __future__ import annotations

import io
import socket
import threading
import time

import numpy as np
import pandas as pd
import psutil
import pytest
import requests
from fixtures import write_folder
from server_support import (binary_folder, csv_bytes, data, hooks_folder, linear_folder, multiclass_folder,
                                 start_server, wait_for, workers_of)

from drumnb.core import fastcsv
from drumnb.model import load_model
from drumnb.server import fastpath, payloads
from drumnb.server.app import create_app

assert start_server  # a fixture, used by name below
CSV = {"Content-Type": "text/csv"}


# --- the small-CSV reader gives what pandas gives ---------------------------------------------------------

def _pandas(body: bytes) -> tuple[tuple[str, ...], np.ndarray]:
    frame = pd.read_csv(io.BytesIO(body))
    return tuple(str(c) for c in frame.columns), np.asarray(frame)


READER_CASES = {
    "floats": b"a,b\n1.5,2.25\n-3.125,4e-3\n",
    "ints": b"a,b\n1,2\n3,-4\n",
    "ints and floats": b"a,b\n1,2.5\n3,4.0\n",
    "minus zero": b"a,b\n-0,-0.0\n+0,0.0\n",
    "plus and leading zeros": b"a,b\n+1,007\n2,-0010\n",
    "exponents": b"a,b\n1e5,2E-3\n1.5e+10,-.5e-07\n",
    "dots": b"a,b\n1.,.5\n-1.,+.25\n",
    "bom": b"\xef\xbb\xbfa,b\n1,2\n",
    "crlf": b"a,b\r\n1,2\r\n3,4\r\n",
    "unicode names": "é,日本\n1,2\n".encode(),
    "no final newline": b"a,b\n1,2",
    "repr floats": b"a,b\n0.30471707975443135,-1.3081165105426066e-05\n",
}
NOT_PLAIN = {
    "quoted": b'a,b\n"1.5",2\n',
    "empty field": b"a,b\n1,\n",
    "nan": b"a,b\nnan,2\n",
    "NA": b"a,b\nNA,2\n",
    "spaces": b"a,b\n 1,2\n",
    "blank line": b"a,b\n1,2\n\n3,4\n",
    "lone cr": b"a,b\r1,2\r",
    "short row": b"a,b\n1\n",
    "long row": b"a,b\n1,2,3\n",
    "duplicate names": b"a,a\n1,2\n",
    "empty name": b"a,\n1,2\n",
    "header only": b"a,b\n",
    "hex": b"a,b\n0x1F,2\n",
    "huge int": b"a,b\n123456789012345678901,2\n",
    "inf": b"a,b\ninf,2\n",
    "3-digit exponent": b"a,b\n1e300,2\n",
    "invalid utf-8": b"a,b\n\xff,2\n",
}


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_fastcsv_reads_what_pandas_reads(case):
    body = READER_CASES[case]
    parsed = fastcsv.read_numeric(body)
    assert parsed is not None, "a plain numeric payload"
    names, values = _pandas(body)
    assert parsed.names == names
    assert parsed.values.dtype == values.dtype and parsed.values.shape == values.shape
    assert parsed.values.flags.f_contiguous == values.flags.f_contiguous
    assert np.array_equal(parsed.values, values) and np.array_equal(np.signbit(parsed.values), np.signbit(values))


@pytest.mark.parametrize("case", sorted(NOT_PLAIN))
def test_fastcsv_leaves_anything_unusual_to_pandas(case):
    assert fastcsv.read_numeric(NOT_PLAIN[case]) is None


def test_fastcsv_rounds_every_float_as_pandas_does():
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    rng = np.random.default_rng(7)
    x = rng.normal(size=4000) * 10.0 ** rng.integers(-30, 30, 4000)
    mids = [format((Decimal(float(a)) + Decimal(float(np.nextafter(a, np.inf)))) / 2, ".25e")
            for a in x[:1000]]  # halfway between two doubles: the hardest case for a parser
    tokens = [repr(float(a)) for a in x] + ["%.6f" % a for a in x] + mids
    tokens = [t for t in tokens if "e" not in t or len(t.split("e")[1].lstrip("+-")) <= 2]
    body = ("x\n" + "\n".join(tokens) + "\n").encode()
    parsed = fastcsv.read_numeric(body, max_bytes=len(body))
    assert parsed is not None
    assert np.array_equal(parsed.values, _pandas(body)[1])


def _large(body: bytes) -> bytes:
    """``body`` with its rows repeated past the small reader's limit (the large reader's case)."""
    head, _, rows = body.partition(b"\n")
    rows = rows if rows.endswith(b"\n") or not rows else rows + b"\n"
    return head + b"\n" + rows * (fastcsv.MAX_BYTES // max(1, len(rows)) + 1)


LARGE_PLAIN = ("floats", "ints", "ints and floats", "bom", "unicode names", "no final newline",
               "repr floats")


@pytest.mark.parametrize("case", sorted(READER_CASES))
def test_the_large_reader_reads_what_pandas_reads_or_leaves_it(case):
    body = _large(READER_CASES[case])
    parsed = fastcsv.read_numeric_rows(body)
    if case not in LARGE_PLAIN:  # +1, 007, 1., -0, \r: outside JSON's grammar or pandas' int/float split
        assert parsed is None
        return
    names, values = _pandas(body)
    assert parsed is not None and parsed.names == names
    assert parsed.values.dtype == values.dtype and parsed.values.shape == values.shape
    assert parsed.values.flags.f_contiguous == values.flags.f_contiguous
    assert np.array_equal(parsed.values, values) and np.array_equal(np.signbit(parsed.values), np.signbit(values))


@pytest.mark.parametrize("case", sorted(NOT_PLAIN))
def test_the_large_reader_leaves_anything_unusual_to_pandas(case):
    assert fastcsv.read_numeric_rows(_large(NOT_PLAIN[case])) is None


def test_the_large_reader_rounds_every_float_as_pandas_does():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(3000, 4)) * 10.0 ** rng.integers(-30, 15, (3000, 4))
    for fmt in (None, "%.6f", "%.17g", "%.25e"):
        body = pd.DataFrame(x, columns=list("abcd")).to_csv(index=False, float_format=fmt).encode()
        parsed = fastcsv.read_numeric_rows(body)
        assert parsed is not None, fmt
        assert np.array_equal(parsed.values, _pandas(body)[1]), fmt
    big = b"a,b\n" + b"9007199254740993,1.5\n" * 2000  # beyond 2**53: pandas' int64 column, not ours to guess
    assert fastcsv.read_numeric_rows(big) is None


def test_the_large_reader_sees_rows_of_other_lengths_even_when_the_count_of_fields_adds_up():
    rows = b"1.5,2.5,3.5\n" * 2000
    assert fastcsv.read_numeric_rows(b"a,b,c\n" + rows) is not None
    for odd in (b"1.5,2.5,3.5,4.5\n1.5,2.5\n", b"1.5,2.5\n1.5,2.5,3.5,4.5\n", b"1.5,2.5,3.5\n\n"):
        assert fastcsv.read_numeric_rows(b"a,b,c\n" + rows + odd + rows) is None, odd
    for literal in (b"true", b"null", b"[1]", b"{}", b"1e", b"--1", b"1.2.3"):
        assert fastcsv.read_numeric_rows(b"a,b,c\n" + rows + b"1.5,2.5," + literal + b"\n") is None, literal


def test_fastcsv_gives_up_on_a_pathological_body_in_linear_time():
    body = b"a\n" + b",".join([b"1" * 10] * 1400) + b"x"
    started = time.perf_counter()
    assert fastcsv.read_numeric(body, max_bytes=len(body)) is None
    assert time.perf_counter() - started < 0.5


# --- the fast path answers byte for byte as Flask does ---------------------------------------------------

def _tiny_folder(root):
    """Predictions around 1e-6: json writes them as 1e-06 (where orjson would not)."""
    from sklearn.linear_model import LinearRegression

    X = data(40, seed=5)
    return write_folder(root, "tiny", files={"model.pkl": LinearRegression().fit(X, X.to_numpy() @ [1e-6, 2e-7, 0])})


def _unicode_folder(root):
    from sklearn.linear_model import Ridge

    X = data(40, seed=6, columns=["é", "b c", "日本"])
    return write_folder(root, "unicode", files={"model.pkl": Ridge().fit(X, X.sum(axis=1))})


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    root = tmp_path_factory.mktemp("fast")
    folders = {"regression": (linear_folder(root), "regression", {}),
               "tiny": (_tiny_folder(root), "regression", {}),
               "unicode": (_unicode_folder(root), "regression", {}),
               "binary": (binary_folder(root), "binary", {"positive_class_label": "yes",
                                                           "negative_class_label": "no"}),
               "multiclass": (multiclass_folder(root), "multiclass", {"class_labels": ["red", "green", "blue"]})}
    return {name: create_app(load_model(str(folder), target, **labels), url_prefix="")
            for name, (folder, target, labels) in folders.items()}


def _call(wsgi, body: bytes, *, path="/predict/", headers=None) -> tuple[str, list, bytes]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
               "CONTENT_TYPE": "text/csv", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(), "wsgi.multithread": True,
               "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0),
               "HTTP_X_REQUEST_ID": "same-id"}
    environ.update(headers or {})
    answer: dict = {}

    def start_response(status, response_headers, exc_info=None):
        answer.update(status=status, headers=response_headers)

    body_out = b"".join(wsgi(environ, start_response))
    # Server-Timing holds measured times, never the same twice: compared apart (tests/server/test_timing.py)
    headers = [(k, v) for k, v in answer["headers"] if k != "Server-Timing"]
    return answer["status"], headers, body_out


def _body(columns, rows, fmt=None) -> bytes:
    return pd.DataFrame(rows, columns=columns).to_csv(index=False, float_format=fmt).encode()


def _bodies(columns) -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    a, b, c = columns
    head = ",".join(columns)
    return {
        "one row %.6f": _body(columns, rng.normal(size=(1, 3)), "%.6f"),
        "five rows repr": _body(columns, rng.normal(size=(5, 3))),
        "ints": f"{head}\n1,2,3\n-4,5,-0\n".encode(),
        "ints and floats": f"{head}\n1,2.5,3\n4,-0.0,+6\n".encode(),
        "exponents": f"{head}\n1e-5,2E+3,-.5e-07\n".encode(),
        "bom crlf": f"\ufeff{head}\r\n1.5,2,3\r\n".encode(),
        "1000 rows": _body(columns, rng.normal(size=(1000, 3)), "%.6f"),
        "large values": f"{head}\n1e15,2e15,-3e16\n".encode(),
        "quoted": f'{head}\n"1.5",2,3\n'.encode(),
        "empty field": f"{head}\n1.5,,3\n".encode(),
        "nan": f"{head}\nnan,2,3\n".encode(),
        "blank line": f"{head}\n1,2,3\n\n4,5,6\n".encode(),
        "columns reordered": f"{c},{a},{b}\n1,2,3\n".encode(),
        "column missing": f"{a},{b}\n1,2\n".encode(),
        "column extra": f"{head},zz\n1,2,3,4\n".encode(),
        "header only": f"{head}\n".encode(),
        "not csv": b"\x00\x01garbage",
        "spaces": f"{head}\n 1, 2, 3\n".encode(),
    }


PLAIN = ("one row %.6f", "five rows repr", "ints", "ints and floats", "exponents", "bom crlf", "1000 rows",
         "large values")


@pytest.mark.parametrize("model", ["regression", "tiny", "unicode", "binary", "multiclass"])
def test_fast_path_answers_byte_for_byte_as_flask(apps, model):
    app = apps[model]
    fast = app.wsgi_app
    assert isinstance(fast, fastpath.FastPredict), "a plain scikit-learn model without hooks takes the fast path"
    columns = ["é", "b c", "日本"] if model == "unicode" else ["a", "b", "c"]
    for name, body in _bodies(columns).items():
        hits = fast.hits
        got, expected = _call(fast, body), _call(fast.app, body)
        assert got == expected, name
        assert (fast.hits > hits) == (name in PLAIN), name  # the plain cases were answered by the fast path
    for path in ("/predict", "/predictions/", "/invocations"):
        assert _call(fast, _bodies(columns)["ints"], path=path) == _call(fast.app, _bodies(columns)["ints"], path=path)


def test_fast_path_leaves_other_requests_to_flask(apps):
    fast = apps["regression"].wsgi_app
    body = _bodies(["a", "b", "c"])["ints"]
    for headers in ({"HTTP_ACCEPT": "text/csv"}, {"CONTENT_TYPE": "application/vnd.apache.arrow.stream"},
                    {"HTTP_TRANSFER_ENCODING": "chunked"}, {"CONTENT_TYPE": "multipart/form-data; boundary=x"}):
        hits = fast.hits
        assert _call(fast, body, headers=headers) == _call(fast.app, body, headers=headers)
        assert fast.hits == hits, headers


def test_no_fast_path_for_hooks_or_when_turned_off(tmp_path, monkeypatch):
    assert not isinstance(create_app(load_model(str(hooks_folder(tmp_path)), "regression")).wsgi_app,
                          fastpath.FastPredict)
    monkeypatch.setenv(fastpath.ENV, "0")
    assert not isinstance(create_app(load_model(str(linear_folder(tmp_path)), "regression")).wsgi_app,
                          fastpath.FastPredict)


@pytest.fixture(scope="module")
def twin_servers(start_server, tmp_path_factory):
    folder = linear_folder(tmp_path_factory.mktemp("twins"))
    args = ["-cd", str(folder), "--target-type", "regression"]
    return start_server(args), start_server(args, env={fastpath.ENV: "0"})


def test_a_real_server_answers_the_same_bytes_with_and_without_the_fast_path(twin_servers):
    fast, normal = twin_servers
    for name, body in _bodies(["a", "b", "c"]).items():
        got, expected = fast.post("/predict/", data=body, headers=CSV), normal.post("/predict/", data=body, headers=CSV)
        assert (got.status_code, got.content, got.headers["Content-Type"]) == \
               (expected.status_code, expected.content, expected.headers["Content-Type"]), name


# --- request timeout, recycling, idle connections, overlap ---------------------------------------------------

@pytest.fixture(scope="module")
def hooked(start_server, tmp_path_factory):
    folder = hooks_folder(tmp_path_factory.mktemp("hooked"))  # score() sleeps for the "sleep" column's seconds
    return start_server(["-cd", str(folder), "--target-type", "regression"],
                        env={"MLOPS_RUNTIME_PARAM_DRUM_CLIENT_REQUEST_TIMEOUT": '{"type": "numeric", "payload": 3}'})


def _sleeping(seconds: float) -> bytes:
    return csv_bytes(pd.DataFrame({"a": [1.0], "sleep": [seconds]}))


def test_a_slow_call_leaves_ping_and_health_answering(hooked):
    slow = threading.Thread(target=hooked.post, args=("/predict/",), kwargs={"data": _sleeping(2), "headers": CSV})
    slow.start()
    try:
        time.sleep(0.3)
        for path in ("/ping/", "/health/", "/info/"):
            started = time.perf_counter()
            assert hooked.get(path, timeout=5).status_code == 200
            assert time.perf_counter() - started < 1.0, path
    finally:
        slow.join(30)


def test_a_call_past_the_request_timeout_is_504_and_the_worker_is_replaced(hooked):
    before = wait_for(lambda: workers_of(hooked))
    started = time.perf_counter()
    r = hooked.post("/predict/", data=_sleeping(30), headers=CSV, timeout=25)
    assert r.status_code == 504 and time.perf_counter() - started < 10
    body = r.json()
    assert "3 s" in body["message"] and "--request-timeout" in body["hint"]
    assert "DRUM_CLIENT_REQUEST_TIMEOUT" in body["hint"]
    wait_for(lambda: (pids := workers_of(hooked)) and not set(pids) & set(before), timeout=60)
    r = hooked.post("/predict/", data=csv_bytes(data(2)), headers=CSV)
    assert r.status_code == 200 and len(r.json()["predictions"]) == 2


LEAKY = """
    import pandas as pd

    KEPT = []

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        KEPT.append(bytearray(20 * 1024 * 1024))  # 20 MB that are never freed
        return pd.DataFrame({"Predictions": data["a"].astype(float)})
"""


def test_max_requests_replaces_a_leaking_worker_and_bounds_its_memory(start_server, tmp_path):
    folder = write_folder(tmp_path, "leaky", LEAKY)
    server = start_server(["-cd", str(folder), "--target-type", "regression", "--max-requests", "20",
                           "--max-requests-jitter", "3"])
    seen, peak = set(), 0
    for _ in range(70):
        r = server.post("/predict/", data=csv_bytes(data(1)), headers=CSV, timeout=60)
        assert r.status_code == 200
        for pid in workers_of(server):
            seen.add(pid)
            try:
                peak = max(peak, psutil.Process(pid).memory_info().rss)
            except psutil.Error:
                pass
    assert len(seen) >= 3, "replaced after every 20-23 requests"
    assert peak < 900 * 2**20, f"{peak / 2**20:.0f} MB: 70 calls without recycling would hold 1.4 GB"


def test_idle_connections_do_not_stop_a_two_worker_server(start_server, tmp_path):
    """granian's workers handle connections asynchronously (gunicorn's gthread holds a thread up to 5 s for
    each new connection until it sends, and sync one connection per worker: both stall here)."""
    folder = linear_folder(tmp_path)
    server = start_server(["-cd", str(folder), "--target-type", "regression", "--max-workers", "2"])
    wait_for(lambda: len(workers_of(server)) == 2)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(16)]
    try:
        time.sleep(0.5)
        for _ in range(5):
            started = time.perf_counter()
            assert requests.get(server.url + "/ping/", timeout=1).status_code == 200
            assert time.perf_counter() - started < 1.0
        assert server.post("/predict/", data=csv_bytes(data(3)), headers=CSV, timeout=5).status_code == 200
    finally:
        for sock in idle:
            sock.close()


def test_serving_knobs_take_drums_environment_names(cli, tmp_path):
    from drumnb.server.options import RUNTIME_SETTINGS, runtime_setting

    by_env = {s.env: s for s in RUNTIME_SETTINGS}
    assert runtime_setting(by_env["DRUM_GUNICORN_MAX_REQUESTS"], {"DRUM_GUNICORN_MAX_REQUESTS": "50"}) == 50
    assert runtime_setting(by_env["DRUM_CLIENT_REQUEST_TIMEOUT"],
                           {"MLOPS_RUNTIME_PARAM_DRUM_CLIENT_REQUEST_TIMEOUT": '{"type":"numeric","payload":7}'}) == 7
    assert runtime_setting(by_env["DRUM_GUNICORN_WORKER_CLASS"], {"DRUM_GUNICORN_WORKER_CLASS": "gevent"}) == "granian"
    assert runtime_setting(by_env["DRUM_WEBSERVER_BACKLOG"], {}) == 2048
    folder = linear_folder(tmp_path)
    bad = cli("server", "-cd", str(folder), "--address", "127.0.0.1:1", env={"DRUM_GUNICORN_MAX_REQUESTS": "many"})
    message = bad.stderr.decode()
    assert bad.returncode != 0 and "DRUM_GUNICORN_MAX_REQUESTS" in message and "many" in message
    text = cli("server", "--help").stdout.decode()
    for word in ("Concurrency", "one at a time", "--request-timeout", "DRUM_CLIENT_REQUEST_TIMEOUT",
                 "--max-requests", "DRUM_GUNICORN_MAX_REQUESTS_JITTER", "DRUM_GUNICORN_KEEP_ALIVE",
                 "DRUM_WORKER_CONNECTIONS", "DRUM_WEBSERVER_BACKLOG", "DRUM_GUNICORN_GRACEFUL_TIMEOUT"):
        assert word in text, word


def test_orjson_is_used_only_where_it_writes_what_json_writes():
    import json

    orjson = pytest.importorskip("orjson")
    rng = np.random.default_rng(11)
    values = np.concatenate([rng.normal(size=20000) * 10.0 ** rng.integers(-4, 16, 20000),
                             [0.0, -0.0, 1e-4, -1e-4, 9999999999999998.0, 1.0, 0.1, 123456789.123]])
    values = values[(np.abs(values) >= 1e-4) & (np.abs(values) < 1e16) | (values == 0)]
    assert payloads.orjson_matches_json(values)
    assert orjson.dumps(values, option=orjson.OPT_SERIALIZE_NUMPY) == json.dumps(values.tolist(),
                                                                                 separators=(",", ":")).encode()
    for outside in (1e-5, 1e16, -3e-7, 2.5e20):
        assert not payloads.orjson_matches_json(np.array([1.0, outside]))


@pytest.mark.parametrize("labels", [["yes", "no"], [0, 1], ["é%s", "日本"], [True, False], [1.5, 2.5],
                                    ['a"b', "c\\d"], ["a", "b", "c"]])
def test_predictions_are_written_byte_for_byte_as_json_writes_them(labels):
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(len(labels)), size=500)
    p[0, :2], p[1, :2], p[2, :2] = [1e-5, 1 - 1e-5], [0.0, 1.0], [-0.0, 1.0]  # json's 1e-05, zeros
    for frame in (pd.DataFrame(p, columns=labels), pd.DataFrame(p[3:], columns=labels)):  # with / without 1e-05
        assert payloads.predictions_bytes(frame, labels, True) == \
            payloads.dumps(payloads.predictions_json(frame, labels, True))
    odd = {"float32": pd.DataFrame(np.float32(p), columns=labels),
           "nan": pd.DataFrame(np.where(p > 0.9, np.nan, p), columns=labels),
           "extra output": pd.DataFrame(p, columns=labels).assign(extra="x"),
           "no rows": pd.DataFrame(p[:0], columns=labels)}
    for name, frame in odd.items():
        assert payloads.predictions_bytes(frame, labels, True) == \
            payloads.dumps(payloads.predictions_json(frame, labels, True)), name
    regression = {"wide range": rng.normal(size=2000) * 10.0 ** rng.integers(-20, 20, 2000),
                  "plain": rng.normal(size=2000), "ints": np.arange(5), "inf": np.array([1.0, np.inf])}
    for name, values in regression.items():
        frame = pd.DataFrame({"Predictions": values})
        assert payloads.predictions_bytes(frame, ["Predictions"], False) == \
            payloads.dumps(payloads.predictions_json(frame, ["Predictions"], False)), name


def test_without_a_usable_granian_the_workers_serve_with_gthread(start_server, tmp_path):
    fake = tmp_path / "shadow" / "granian"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "0.1.0"  # not a release drumnb drives\n')
    folder = linear_folder(tmp_path)
    server = start_server(["-cd", str(folder), "--target-type", "regression"],
                          env={"PYTHONPATH": str(fake.parent)})
    assert server.post("/predict/", data=csv_bytes(data(2)), headers=CSV).status_code == 200
    assert "serving with gunicorn's gthread loop instead" in server.output()
