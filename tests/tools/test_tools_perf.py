"""`drumnb perf-test`: latency table, memory, --in-server, --url, --json; bounded; servers stopped by PID."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from fixtures import write_folder

from drumnb.core.errors import ConfigurationError
from drumnb.server.background import serve
from drumnb.tools import perf_test

SUM = """
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.sum(axis=1)})
"""

SLOW_FOR_BIG = """
import time
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    if len(data) > 50:
        raise ValueError("too many rows for this model")
    return pd.DataFrame({"Predictions": data.sum(axis=1)})
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("perf")
    return write_folder(root, "sum", SUM, {"model-metadata.yaml": "name: summer\ntargetType: regression\n"})


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("perf-data") / "rows.csv"
    pd.DataFrame(np.random.default_rng(0).normal(size=(7, 3)), columns=["a", "b", "c"]).to_csv(path, index=False)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_starts_measures_and_stops_a_server(folder, data_file, capsys):
    report = perf_test(str(folder), str(data_file), sizes=(1, 10, 2_000), large_file_mb=0.2, requests=3,
                       in_server=True, progress=True)
    assert report.started_server and report.ok and report.url.startswith("http://127.0.0.1:")
    assert not _alive(report.server_pid)  # stopped, by PID
    assert [c.name for c in report.cases] == ["1 row", "10 rows", "2,000 rows", "0.2 MB file"]
    assert [c.rows for c in report.cases][:3] == [1, 10, 2_000]
    big = report.cases[-1]
    assert 0.15 * 2**20 < big.bytes < 0.25 * 2**20 and big.rows > 2_000
    for case in report.cases:
        stats = case.stats()
        assert len(case.latencies) == 3
        assert 0 < stats["min"] <= stats["p50"] <= stats["p99"] <= stats["max"]
        assert stats["min"] <= stats["avg"] <= stats["max"]
        assert case.rss_peak_mb and case.rss_peak_mb > 20  # the server process tree's RSS
        assert case.in_server_ms is not None and 0 < case.in_server_ms <= stats["max"]
    assert report.rss_start_mb > 20 and report.machine["total"] > 0
    assert report.model.endswith("sum") and report.target_type == "regression"
    text = report.to_text()
    for head in ("CASE", "MIN ms", "AVG ms", "P50 ms", "P99 ms", "MAX ms", "RSS PEAK MB", "IN-SERVER ms"):
        assert head in text
    assert "memory: server RSS" in text
    assert "perf-test" in capsys.readouterr().err  # the progress bar, on stderr
    d = report.to_dict()
    assert json.dumps(d) and d["cases"][0]["latency_ms"]["p99"] >= d["cases"][0]["latency_ms"]["p50"]
    frame = report.to_frame()
    assert list(frame["case"]) == [c.name for c in report.cases] and "in-server avg ms" in frame
    assert "<table" in report._repr_html_()


def _server_children() -> list:
    import psutil

    return [p for p in psutil.Process().children(recursive=True)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE and "server" in " ".join(p.cmdline())]


def test_server_stopped_when_the_input_does_not_score(tmp_path, data_file):
    from drumnb.core.errors import InputError

    broken = write_folder(tmp_path, "broken", SLOW_FOR_BIG.replace("len(data) > 50", "len(data) > 0"),
                          {"model-metadata.yaml": "targetType: regression\n"})
    with pytest.raises(InputError, match="cannot score one row of the input: HTTP 500"):
        perf_test(str(broken), str(data_file), sizes=(1,), large_file_mb=0)
    assert _server_children() == []


def test_plot(folder, data_file):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    with serve(str(folder)) as server:
        report = perf_test(data=str(data_file), url=server.url, sizes=(1, 5), large_file_mb=0, requests=2)
    ax = report.plot()
    assert ax.get_xlabel() == "rows per request" and len(ax.lines) >= 1


def test_url_errors_and_time_bound(tmp_path, data_file):
    failing = write_folder(tmp_path, "failing", SLOW_FOR_BIG, {"model-metadata.yaml": "targetType: regression\n"})
    with serve(str(failing)) as server:  # a thread server of this process: a running server to point --url at
        report = perf_test(data=str(data_file), url=server.url, sizes=(1, 100, 10), large_file_mb=0, requests=2)
        assert not report.started_server and report.server_pid is None
        assert not report.ok
        ok, bad, after = report.cases
        assert ok.error is None and len(ok.latencies) == 2 and ok.rss_peak_mb  # memory from /stats/
        assert bad.error.startswith("HTTP 500") and "too many rows" in bad.error and not bad.latencies
        assert after.error is None  # the next case still runs
        bounded = perf_test(data=str(data_file), url=server.url, sizes=(1, 10), large_file_mb=0, timeout=0)
        assert [c.skipped for c in bounded.cases] == ["time limit reached"] * 2
    with pytest.raises(ConfigurationError, match="no prediction server answers"):
        perf_test(data=str(data_file), url="http://127.0.0.1:9/")
    with pytest.raises(ConfigurationError, match="needs a model folder or the URL"):
        perf_test(data=str(data_file))


def test_cli_json_against_a_running_server(folder, data_file, cli):
    with serve(str(folder), process=True) as server:
        proc = cli("perf-test", "--url", server.url, "--input", str(data_file), "--sizes", "1,10",
                   "--large-file-mb", "0", "--requests", "2", "--in-server", "--json")
        assert proc.returncode == 0, proc.stderr.decode()
        report = json.loads(proc.stdout)
        assert report["startedServer"] is False and report["url"] == server.url
        assert [c["rows"] for c in report["cases"]] == [1, 10]
        assert all(c["latency_ms"]["max"] > 0 and c["in_server_avg_ms"] > 0 for c in report["cases"])
        assert all(c["memory_mb"]["peak"] for c in report["cases"])
        assert proc.stderr.decode().count("\r") == 0  # --json: no progress bar
    pid = server.pid
    assert not _alive(pid)


def test_cli_table_and_usage(folder, data_file, cli):
    proc = cli("perf-test", "--code-dir", str(folder), "--input", str(data_file), "--sizes", "1,3",
               "--large-file-mb", "0", "--requests", "2", "--verbose")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "drumnb perf-test" in out and "P99 ms" in out and "3 rows" in out
    assert "perf-test" in proc.stderr.decode()  # --verbose: the progress bar, on stderr
    usage = cli("perf-test", "--input", str(data_file))
    assert usage.returncode == 2 and "needs --code-dir" in usage.stderr.decode()  # a usage error, as argparse's
    drum_flags = cli("perf-test", "--code-dir", str(folder), "--input", str(data_file), "-s", "3", "-i", "2", "--json")
    assert drum_flags.returncode == 0, drum_flags.stderr.decode()
    cases = json.loads(drum_flags.stdout)["cases"]  # DRUM's --samples: one case of that many rows, --iterations times
    assert [c["rows"] for c in cases] == [3] and cases[0]["requests"] == 2
    bad = cli("perf-test", "--code-dir", str(folder), "--input", str(data_file), "--sizes", "1,x")
    assert bad.returncode == 2 and "row counts" in bad.stderr.decode()
