"""Local MLOps reporting: the reporter's contract, the store, concurrency, the read side."""
from __future__ import annotations

import json
import multiprocessing as mp

import pandas as pd
import pytest

import drumnb
from drumnb import monitoring
from drumnb.monitoring import MonitoringError, MonitorSettings, Reporter
from fixtures import write_folder
from server_support import start_server

assert start_server  # a fixture, used by name below

UNSTRUCTURED = """
    def load_model(code_dir):
        return "m"
    def score_unstructured(model, data, **kwargs):
        mlops = kwargs.get("mlops")
        if mlops is None:
            return "off"
        import pandas as pd
        mlops.report_deployment_stats(num_predictions=2, execution_time=12.5)
        mlops.report_predictions_data(features_df=pd.DataFrame({"x": [1, 2]}), predictions=[0.1, 0.2],
                                      association_ids=["a" + data, "b" + data], class_names=None)
        return "on"
"""


def test_mlops_is_none_unless_monitoring_is_on(tmp_path, monkeypatch):
    folder = write_folder(tmp_path, "u", UNSTRUCTURED)
    monkeypatch.delenv("MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS", raising=False)
    assert drumnb.load_model(folder, "unstructured").predict_unstructured("1").body == b"off"
    db = tmp_path / "m.sqlite"
    model = drumnb.load_model(folder, "unstructured", monitor=MonitorSettings(embedded=True, db=str(db),
                                                                             deployment_id="dep1"))
    assert model.predict_unstructured("1").body == b"on"
    monkeypatch.setenv("MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS", "true")
    env_model = drumnb.load_model(folder, "unstructured", monitor=MonitorSettings.from_env(db=str(db)))
    assert env_model.predict_unstructured("2").body == b"on"
    rec = monitoring.open(str(db))
    assert rec.stats["num_predictions"].tolist() == [2, 2]
    assert rec.predictions["association_id"].tolist() == ["a1", "b1", "a2", "b2"]
    assert rec.predictions["deployment_id"].tolist()[:2] == ["dep1", "dep1"]
    assert not list(folder.glob("*.sqlite"))  # never inside the code folder


def test_default_store_is_under_the_user_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = monitoring.default_path("my model/v1")
    assert path.startswith(str(tmp_path / "data")) and path.endswith("my_model_v1.sqlite")


@pytest.mark.parametrize("call,match", [
    (lambda r: r.report_predictions_data(predictions=[1, 2], association_ids=["a"]), "1 association ids for 2"),
    (lambda r: r.report_predictions_data(predictions=[1, 2], association_ids=["a", "a"]), "repeat"),
    (lambda r: r.report_predictions_data(predictions=[[0.5, 0.5]]), "regression predictions must be 1-D"),
    (lambda r: r.report_deployment_stats(num_predictions=-1, execution_time=1.0), "non-negative int"),
    (lambda r: r.report_deployment_stats(num_predictions=1, execution_time="fast"), "milliseconds|ms"),
])
def test_invalid_calls_raise_clear_errors(tmp_path, call, match):
    r = Reporter(str(tmp_path / "s.sqlite"), model="m", target_type="regression")
    with pytest.raises(MonitoringError, match=match):
        call(r)


def test_duplicate_association_id_across_calls(tmp_path):
    r = Reporter(str(tmp_path / "s.sqlite"), model="m", target_type="regression")
    r.report_predictions_data(predictions=[1.0], association_ids=["x"])
    with pytest.raises(MonitoringError, match="already reported"):
        r.report_predictions_data(predictions=[2.0], association_ids=["x"])
    assert len(monitoring.open(str(tmp_path / "s.sqlite")).predictions) == 1


def test_binary_predictions_are_checked_2d(tmp_path):
    r = Reporter(str(tmp_path / "s.sqlite"), model="m", target_type="binary")
    with pytest.raises(MonitoringError, match="2-D"):
        r.report_predictions_data(predictions=[0.2, 0.3])
    r.report_predictions_data(predictions=[[0.2, 0.8]], class_names=["no", "yes"])


def test_a_batch_is_written_whole_or_not_at_all(tmp_path):
    path = str(tmp_path / "s.sqlite")
    r = Reporter(path, model="m", target_type="regression")
    with pytest.raises(RuntimeError), r.batch():
        r.report_deployment_stats(num_predictions=1, execution_time=1.0)
        r.report_predictions_data(predictions=[1.0])
        raise RuntimeError("the request failed after reporting")
    r.report_predictions_data(predictions=[1.0], association_ids=["x"])
    with pytest.raises(MonitoringError, match="already reported"), r.batch():
        r.report_deployment_stats(num_predictions=2, execution_time=1.0)
        r.report_predictions_data(predictions=[2.0, 3.0], association_ids=["y", "x"])
    with r.batch():
        r.report_deployment_stats(num_predictions=1, execution_time=1.0)
        r.report_predictions_data(predictions=[4.0], association_ids=["z"])
    rec = monitoring.open(path)
    assert rec.predictions["association_id"].tolist() == ["x", "z"] and rec.stats["num_predictions"].tolist() == [1]


def _writer(path: str, worker: int, n: int) -> None:
    r = Reporter(path, model="m", target_type="regression")
    for start in range(0, n, 500):
        ids = [f"{worker}-{i}" for i in range(start, min(start + 500, n))]
        r.report_predictions_data(predictions=[float(i) for i in range(len(ids))], association_ids=ids)
        r.report_deployment_stats(num_predictions=len(ids), execution_time=1.0)


def test_four_processes_writing_10000_records_each(tmp_path):
    path = str(tmp_path / "s.sqlite")
    monitoring.connect(path).close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 10_000)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    rec = monitoring.open(path)
    assert len(rec.predictions) == 40_000
    assert rec.predictions["association_id"].nunique() == 40_000
    assert rec.stats["num_predictions"].sum() == 40_000


def test_structured_predictions_recorded_with_monitor_and_summary(tmp_path):
    folder = write_folder(tmp_path, "r", """
        import pandas as pd
        def load_model(code_dir):
            return 1
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": data["x"] * 2.0})
    """)
    db = str(tmp_path / "r.sqlite")
    model = drumnb.load_model(folder, "regression", monitor=MonitorSettings(record_predictions=True, db=db))
    model.predict(pd.DataFrame({"x": [1.0, 2.0, 3.0]}))
    summary = monitoring.summary(db)
    row = summary.iloc[0]
    assert (row["calls"], row["prediction_rows"], row["prediction_mean"]) == (1, 3, 4.0)


def test_cli_monitor_flags_and_summary(tmp_path):
    from conftest import run_cli

    folder = write_folder(tmp_path, "r", """
        import pandas as pd
        def load_model(code_dir):
            return 1
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": data["x"] * 2.0})
    """)
    pd.DataFrame({"x": [1.0, 2.0]}).to_csv(tmp_path / "in.csv", index=False)
    db = str(tmp_path / "cli.sqlite")
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type", "regression",
                   "--monitor", "--monitor-db", db, "--deployment-id", "d1", "--webserver", "https://dr.example")
    assert proc.returncode == 0, proc.stderr
    assert b"records stay local" in proc.stderr
    out = run_cli("monitor", "summary", db)
    assert out.returncode == 0 and b"prediction_rows" in out.stdout and b"latency_p50_ms" in out.stdout
    assert monitoring.open(db).predictions["deployment_id"].tolist() == ["d1", "d1"]
    missing = run_cli("monitor", "summary", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 1 and b"no monitoring store" in missing.stderr


# --- a real server under concurrent clients (issue 13): exact counts, no half-written request -----------

CLIENTS, REQUESTS_EACH, ROWS = 8, 100, 10


@pytest.mark.parametrize("workers", [[], ["--max-workers", "2"], ["--max-workers", "1", "--threads", "4"]],
                         ids=["threaded", "gunicorn-2-workers", "gunicorn-1-worker-4-threads"])
def test_concurrent_requests_are_all_recorded_exactly(start_server, tmp_path, workers):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from server_support import linear_folder

    folder = linear_folder(tmp_path)
    db = str(tmp_path / "load.sqlite")
    server = start_server(["-cd", str(folder), "--target-type", "regression", "--monitor", "--monitor-db", db,
                           *workers])
    deadline = time.monotonic() + 240  # bound: 800 requests of 10 rows
    failures: list[str] = []
    lock = threading.Lock()

    def client(c: int) -> int:
        done = 0
        with requests.Session() as session:
            for r in range(REQUESTS_EACH):
                if time.monotonic() > deadline:
                    break
                rid = c * REQUESTS_EACH + r  # each request's rows carry its number in column a
                body = pd.DataFrame({"a": [float(rid)] * ROWS, "b": [float(i) for i in range(ROWS)], "c": 1.0})
                resp = session.post(server.url + "/predict/", data=body.to_csv(index=False),
                                    headers={"Content-Type": "text/csv"}, timeout=60)
                if resp.status_code != 200 or len(resp.json()["predictions"]) != ROWS:
                    with lock:
                        failures.append(f"{resp.status_code} {resp.text[:200]}")
                done += 1
        return done

    with ThreadPoolExecutor(CLIENTS) as ex:
        sent = sum(ex.map(client, range(CLIENTS)))
    assert sent == CLIENTS * REQUESTS_EACH, "the load did not finish within its time bound"
    assert not failures, f"{len(failures)} failed requests, e.g. {failures[:3]}"
    assert server.stop() == 0  # SIGTERM: whatever is queued is written before the process ends
    rec = monitoring.open(db)
    assert len(rec.predictions) == sent * ROWS
    assert len(rec.stats) == sent and rec.stats["num_predictions"].sum() == sent * ROWS
    per_request = rec.predictions["features"].map(lambda f: json.loads(f)["a"]).value_counts()
    assert len(per_request) == sent and set(per_request) == {ROWS}  # every request whole, none half-written
