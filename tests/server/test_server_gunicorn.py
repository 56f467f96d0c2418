"""`drumnb server --max-workers N`: gunicorn workers, aggregated stats, replacement, SIGTERM, a load test."""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from fixtures import write_folder
from prometheus_client.parser import text_string_to_metric_families
from server_support import broken_folder, csv_bytes, data, start_server, wait_for, workers_of

assert start_server  # a fixture, used by name below
CSV = {"Content-Type": "text/csv"}

COUNTING = """
    import os
    import time

    import pandas as pd

    def load_model(code_dir):
        with open(os.path.join(code_dir, "loads.txt"), "a") as fh:
            fh.write(f"{os.getpid()}\\n")
        return "model"

    def score(data, model, **kwargs):
        if "sleep" in data.columns:
            time.sleep(float(data["sleep"].iloc[0]))
        return pd.DataFrame({"Predictions": data["a"].astype(float) * 2})
"""


@pytest.fixture(scope="module")
def counting(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("gunicorn"), "counting", COUNTING)


def loads(folder) -> Counter:
    """PID -> how many times that process loaded the model."""
    path = folder / "loads.txt"
    return Counter(int(x) for x in path.read_text().split()) if path.exists() else Counter()


@pytest.fixture(scope="module")
def pool(start_server, counting):
    server = start_server(["-cd", str(counting), "--target-type", "regression", "--max-workers", "2"])
    wait_for(lambda: len(loads(counting)) >= 2)  # /health/ answers once the first worker is ready
    return server


def metric(text: str, name: str, **labels) -> float:
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def test_two_workers_each_load_the_model_once(pool, counting):
    workers = wait_for(lambda: len(workers_of(pool)) == 2 and workers_of(pool))
    for _ in range(10):
        assert pool.post("/predict/", data=csv_bytes(data(2)), headers=CSV).status_code == 200
    counts = loads(counting)
    assert sorted(counts) == workers and set(counts.values()) == {1}  # not in the master, once per worker
    info = pool.get("/info/").json()
    assert info["drumServer"] == "gunicorn"


def test_stats_and_metrics_add_up_over_all_workers(pool):
    before = pool.get("/stats/").json()["predictions"]
    before_requests = metric(pool.get("/metrics").text, "drumnb_requests_total", route="predict", status="200")
    body = csv_bytes(data(3).assign(sleep=0.05))

    def one(_):
        with requests.Session() as session:
            return session.post(pool.url + "/predict/", data=body, headers=CSV, timeout=30).status_code

    with ThreadPoolExecutor(4) as ex:
        assert set(ex.map(one, range(24))) == {200}
    stats = pool.get("/stats/").json()
    assert stats["predictions"] - before == 24
    pids = {p["pid"] for p in stats["drum_info"]}
    assert pids == {pool.pid, *workers_of(pool)}
    per_worker = [p.get("predictions", 0) for p in stats["drum_info"] if p["pid"] != pool.pid]
    assert len(per_worker) == 2 and all(n > 0 for n in per_worker), stats["drum_info"]
    assert stats["mem_info"]["drum_rss"] >= sum(p["mem"] for p in stats["drum_info"]) - 1
    run = stats["time_info"]["run_predictor_total"]
    assert 0 < run["min"] <= run["avg"] <= run["max"] and run["max"] >= 0.05
    text = pool.get("/metrics").text
    assert metric(text, "drumnb_requests_total", route="predict", status="200") - before_requests == 24
    assert metric(text, "drumnb_rows_scored_total") >= 72


def test_a_dead_worker_is_replaced(pool):
    old = wait_for(lambda: len(workers_of(pool)) == 2 and workers_of(pool))
    os.kill(old[0], signal.SIGKILL)
    new = wait_for(lambda: (w := workers_of(pool)) and len(w) == 2 and old[0] not in w and w, timeout=30)
    assert old[1] in new
    wait_for(lambda: all(pool.post("/predict/", data=csv_bytes(data(2)), headers=CSV).status_code == 200
                         for _ in range(6)))
    pids = {p["pid"] for p in pool.get("/stats/").json()["drum_info"]}
    assert old[0] not in pids


def test_load_4_clients_no_failures_and_flat_memory(pool):
    """4 client threads for a bounded time: every request answers 200; worker memory stays flat."""
    payloads = [{"data": csv_bytes(data(100, seed=1)), "headers": CSV},
                 {"files": {"X": ("x.csv", csv_bytes(data(50, seed=2)))}},
                 {"data": csv_bytes(data(1, seed=3)), "headers": {**CSV, "Accept": "text/csv"}}]
    failures: list[str] = []
    done = Counter()

    def run(seconds: float) -> None:
        stop = time.monotonic() + seconds

        def client(k: int) -> None:
            with requests.Session() as session:
                i = k
                while time.monotonic() < stop:
                    r = session.post(pool.url + "/predict/", timeout=30, **payloads[i % len(payloads)])
                    i += 1
                    if r.status_code != 200:
                        failures.append(f"{r.status_code}: {r.text[:200]}")
                    done["n"] += 1

        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 30)

    def rss() -> int:
        return sum(psutil.Process(pid).memory_info().rss for pid in workers_of(pool))

    run(4.0)  # warm-up
    warm = rss()
    run(10.0)
    end = rss()
    assert not failures, failures[:5]
    assert done["n"] > 200
    print(f"load test: {done['n']} requests, worker RSS {warm / 2**20:.1f} MB after warm-up, {end / 2**20:.1f} MB at the end")
    assert end <= 1.1 * warm, (warm / 2**20, end / 2**20)


def test_sigterm_is_graceful_and_leaves_no_process(start_server, tmp_path):
    folder = write_folder(tmp_path, "counting", COUNTING)
    server = start_server(["-cd", str(folder), "--target-type", "regression", "--max-workers", "2"])
    wait_for(lambda: len(loads(folder)) == 2)
    workers = workers_of(server)
    result = {}

    def slow() -> None:
        r = server.post("/predict/", data=csv_bytes(data(1).assign(sleep=1.5)), headers=CSV)
        result["status"], result["text"] = r.status_code, r.text

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.5)  # the request is in a worker now
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(30) == 0
    thread.join(10)
    assert result.get("status") == 200, (result, server.output())  # the request in flight finished
    for pid in workers:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_max_workers_env_and_error_server_under_gunicorn(start_server, tmp_path):
    folder = broken_folder(tmp_path)
    server = start_server(["-cd", str(folder), "--target-type", "regression", "--with-error-server"],
                          env={"MAX_WORKERS": "2"}, statuses=(513,))
    assert len(wait_for(lambda: len(workers_of(server)) == 2 and workers_of(server))) == 2
    r = server.post("/predict/", data=b"a\n1\n", headers=CSV)
    assert r.status_code == 513 and "the weights file is corrupt" in r.json()["message"]


def test_production_without_error_server_exits_with_the_load_error(start_server, tmp_path):
    folder = broken_folder(tmp_path)
    server = start_server(["-cd", str(folder), "--target-type", "regression", "--production"], wait=False)
    assert server.proc.wait(60) == 1
    out = server.output()
    assert "drumnb: error: 'load_model' hook failed" in out and "the weights file is corrupt" in out
