"""See inside a request: Server-Timing per step, the steps in /stats/, the kept requests and their replay,
and the waterfall the panels draw (real servers on 127.0.0.1: a thread, and gunicorn processes)."""
from __future__ import annotations

import re
import threading

import pytest
import requests
from fixtures import frame, write_folder
from server_support import csv_bytes, data, hooks_folder, linear_folder, start_server  # noqa: F401 (a fixture)

from drumnb.model import STEPS, load_model
from drumnb.server.app import create_app
from drumnb.server.runner import make_wsgi_server, stop_gracefully
from drumnb.server.stats import REPLAY_BYTES, RequestLog, parse_server_timing, server_timing

HEADER = re.compile(r"^[a-z_]+;dur=\d+\.\d{3}(, [a-z_]+;dur=\d+\.\d{3})*$")

PIPELINE = """
    import pandas as pd

    def load_model(code_dir):
        return 2.0

    def transform(data, model):
        return data * model

    def score(data, model, **kwargs):
        return pd.DataFrame({"Predictions": data.iloc[:, 0]})

    def post_process(predictions, model):
        return predictions + 1
"""

ECHO = """
    def score_unstructured(model, data, **kwargs):
        return data.upper()
"""


class ThreadServer:
    """An app on werkzeug's threaded server on 127.0.0.1 and a free port, in this process."""

    def __init__(self, app):
        self.app = app
        self.server = make_wsgi_server(app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def post(self, path, body, content_type="text/csv", **kw):
        return requests.post(self.url + path, data=body, headers={"Content-Type": content_type, **kw.pop("headers", {})},
                             timeout=30, **kw)

    def get(self, path):
        return requests.get(self.url + path, timeout=30)

    def stop(self):
        stop_gracefully(self.server, 5)
        self.thread.join(5)


@pytest.fixture
def serve():
    started = []

    def start(model, **kwargs):
        server = ThreadServer(create_app(model, **kwargs))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_every_step_that_ran_is_in_server_timing(tmp_path, serve):
    server = serve(load_model(write_folder(tmp_path, "pipeline", PIPELINE)))
    r = server.post("/predict/", csv_bytes(frame(3)))
    assert r.status_code == 200 and r.json()["predictions"] == (frame(3)["x0"] * 2 + 1).tolist()
    value = r.headers["Server-Timing"]
    assert HEADER.match(value), value
    assert list(parse_server_timing(value)) == ["read", "transform", "score", "post_process", "contract",
                                                "serialize"]


def test_a_built_in_model_times_read_score_contract_serialize(tmp_path, serve, monkeypatch):
    monkeypatch.setenv("DRUMNB_FAST_PATH", "0")  # the fast path is timed by its own code
    server = serve(load_model(linear_folder(tmp_path)))
    for accept in ("application/json", "text/csv"):
        r = server.post("/predict/", csv_bytes(data(4)), headers={"Accept": accept})
        assert r.status_code == 200
        assert list(parse_server_timing(r.headers["Server-Timing"])) == ["read", "score", "contract", "serialize"]
    stats = server.get("/stats/").json()
    assert set(stats["steps"]) == {"read", "score", "contract", "serialize"}
    assert all(v["count"] == 2 and v["avg_ms"] >= 0 and v["total_ms"] >= v["avg_ms"] for v in stats["steps"].values())
    # no request log unless asked: a production server keeps no inputs
    assert server.get("/_drumnb/requests/").status_code == 404


def test_the_fast_path_times_the_same_steps_and_keeps_its_requests(tmp_path, serve):
    from drumnb.server.fastpath import FastPredict

    app_server = serve(load_model(linear_folder(tmp_path)), keep_requests=5)
    fast = app_server.app.wsgi_app
    assert isinstance(fast, FastPredict)
    bodies = [csv_bytes(data(n)) for n in (1, 3, 1500)]  # the small and the large reader
    for body in bodies:
        r = app_server.post("/predict/", body)
        assert r.status_code == 200 and HEADER.match(r.headers["Server-Timing"]), r.headers
        assert list(parse_server_timing(r.headers["Server-Timing"])) == ["read", "score", "contract", "serialize"]
    assert fast.hits == 3
    steps = app_server.get("/stats/").json()["steps"]
    assert set(steps) == {"read", "score", "contract", "serialize"} and steps["score"]["count"] == 3
    kept = app_server.get("/_drumnb/requests/").json()["requests"]
    assert [e["input"]["bytes"] for e in kept] == [len(b) for b in reversed(bodies)]
    assert kept[1]["output"]["head"].startswith('{"predictions"') and set(kept[1]["timings"]) == set(steps)
    replay = app_server.post(f"/_drumnb/requests/{kept[1]['id']}/replay/", b"").json()
    assert replay["status"] == 200 and replay["entry"]["replay_of"] == kept[1]["id"]  # replays go through Flask
    assert replay["entry"]["output"]["head"] == kept[1]["output"]["head"] and fast.hits == 3


def test_unstructured_answers_time_the_hook_and_the_encoding(tmp_path, serve):
    server = serve(load_model(write_folder(tmp_path, "echo", ECHO), "unstructured"))
    r = server.post("/predictUnstructured/", b"hello", "text/plain; charset=utf-8")
    assert r.text == "HELLO"
    assert list(parse_server_timing(r.headers["Server-Timing"])) == ["score", "serialize"]


def test_the_last_requests_are_kept_and_replayed(tmp_path, serve):
    server = serve(load_model(hooks_folder(tmp_path)), keep_requests=3)
    bodies = [csv_bytes(data(n + 1)) for n in range(4)]
    for body in bodies:
        assert server.post("/predict/", body).status_code == 200
    bad = server.post("/predict/", csv_bytes(data(1).assign(boom=1)))
    assert bad.status_code == 500
    kept = server.get("/_drumnb/requests/").json()
    assert kept["capacity"] == 3 and [e["status"] for e in kept["requests"]] == [500, 200, 200]
    newest_ok = kept["requests"][1]
    assert newest_ok["input"]["bytes"] == len(bodies[-1]) and newest_ok["input"]["head"].startswith("a,b,c")
    assert newest_ok["output"]["head"].startswith('{"predictions"') and newest_ok["replayable"]
    assert set(newest_ok["timings"]) == {"read", "score", "contract", "serialize"}
    replay = server.post(f"/_drumnb/requests/{newest_ok['id']}/replay/", b"").json()
    assert replay["status"] == 200 and replay["entry"]["replay_of"] == newest_ok["id"]
    assert replay["entry"]["output"]["head"] == newest_ok["output"]["head"] and "score" in replay["timings"]
    # from another web page: refused
    foreign = server.post(f"/_drumnb/requests/{newest_ok['id']}/replay/", b"", headers={"Origin": "http://evil.test"})
    assert foreign.status_code == 403
    assert server.post("/_drumnb/requests/9999/replay/", b"").status_code == 404


def test_large_inputs_keep_only_their_head(tmp_path, serve):
    server = serve(load_model(hooks_folder(tmp_path)), keep_requests=2)
    body = csv_bytes(data(4000))
    assert len(body) > REPLAY_BYTES and server.post("/predict/", body).status_code == 200
    entry = server.get("/_drumnb/requests/").json()["requests"][0]
    assert not entry["replayable"] and entry["input"]["bytes"] == len(body) and len(entry["input"]["head"]) <= 1025
    assert server.post(f"/_drumnb/requests/{entry['id']}/replay/", b"").status_code == 409


def test_the_request_log_is_bounded_and_thread_safe():
    log = RequestLog(5)

    def add(n):
        for i in range(200):
            log.add(path="/predict/", method="POST", status=200, seconds=0.001, body=b"x" * (REPLAY_BYTES + 1),
                    content_type="text/csv", multipart=False, output=b"{}", output_type="application/json",
                    steps={"score": 0.1})

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    entries = log.entries()
    assert len(entries) == 5 and [e["id"] for e in entries] == list(range(800, 795, -1))
    assert all(log.get(e["id"])["_body"] is None for e in entries)


def test_the_model_keeps_its_last_step_times_and_the_header_format(tmp_path):
    model = load_model(write_folder(tmp_path, "pipeline", PIPELINE))
    model.predict(frame(2))
    timings = model.last_timings
    assert len(timings) == len(STEPS) and all(t is not None and t >= 0 for t in timings)
    assert model.step_timings == timings  # this thread's
    assert server_timing((0.000412, None, 0.000611, None, 0.00005), 0.00009) == \
        "read;dur=0.412, score;dur=0.611, contract;dur=0.050, serialize;dur=0.090"


def test_the_waterfall_draws_one_bar_a_step():
    from drumnb.jupyter.widgets.timing import steps_ms, waterfall_html

    page = waterfall_html((0.001, None, 0.003, None, 0.0005))
    assert page.count("drumnb-bar") == 3 and "3.000 ms" in page and "transform" not in page
    assert steps_ms({"serialize": 1.0, "read": 2.0}) == {"read": 2.0, "serialize": 1.0}
    assert waterfall_html(None) == ""


def test_gunicorn_workers_add_up_their_steps_in_stats(tmp_path, start_server):
    server = start_server(["--code-dir", str(hooks_folder(tmp_path)), "--max-workers", "2",
                           "--keep-requests", "10"])
    for _ in range(6):
        r = server.post("/predict/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
        assert r.status_code == 200 and HEADER.match(r.headers["Server-Timing"])
    steps = server.get("/stats/").json()["steps"]
    assert steps["score"]["count"] == 6 and steps["serialize"]["count"] == 6
    assert server.get("/_drumnb/requests/").status_code == 200
