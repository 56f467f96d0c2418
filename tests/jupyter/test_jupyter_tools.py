"""The model-tool magics (%drum_validate, %drum_perf, %drum_export) and %%drum_score --engine dask.

Run as a user types them, in an in-process IPython shell with drumnb loaded:
servers are child processes on 127.0.0.1 and the Dask cluster is a real
LocalCluster of 2 worker processes on 127.0.0.1, stopped at the end.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("IPython")
pytest.importorskip("ipywidgets")

from jupyter_support import hooks, run, short_error  # noqa: E402

pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("fresh")]

SUM = """
import pandas as pd

def load_model(code_dir):
    return "no artifact"

def score(data, model, **kwargs):
    data = data.fillna(0)
    return pd.DataFrame({"Predictions": data["a"] * 2.0 + data["b"]})
"""

NOISY = """
import numpy as np
import pandas as pd

def load_model(code_dir):
    return "no artifact"

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data["a"].fillna(0) + np.random.rand(len(data))})
"""

FAILS_ON_NEGATIVE = """
import pandas as pd

def load_model(code_dir):
    return "no artifact"

def score(data, model, **kwargs):
    if (data["a"] < 0).any():
        raise ValueError("negative a")
    return pd.DataFrame({"Predictions": data["a"] * 1.0})
"""


def frame(n: int = 30) -> pd.DataFrame:
    return pd.DataFrame({"a": np.arange(n, dtype=float), "b": np.linspace(0, 1, n)})


# --- %drum_validate ------------------------------------------------------------------------------

def test_validate_passes_a_good_model_and_shows_the_smallest_failing_example(ip):
    ip.user_ns["df"] = frame()
    assert hooks(ip, "good", SUM, "-q").error is None
    cell = run(ip, "report = %drum_validate good --data df -t regression\ndisplay(report)")
    assert cell.error is None, cell.text
    report = ip.user_ns["report"]
    assert report.passed and "PASSED" in cell.html and "null_imputation" in repr(report)
    assert hooks(ip, "noisy", NOISY, "-q").error is None
    cell = run(ip, "report = %drum_validate noisy --data df -t regression\ndisplay(report)")
    report = ip.user_ns["report"]
    assert not report.passed and [c.name for c in report.failed] == ["determinism"]
    assert "FAILED" in cell.html and "Smallest example (1 row(s))" in cell.html
    cell = run(ip, "r = %drum_validate noisy --data df -t regression --checks contract\ndisplay(r)")
    assert cell.error is None and "PASSED" in cell.html
    short_error(run(ip, "%drum_validate noisy -t regression"), "UsageError", "--data VAR")
    short_error(run(ip, "%drum_validate noisy --data df --checks nosuch"), "ConfigurationError", "nosuch")


# --- %drum_perf ----------------------------------------------------------------------------------

def test_perf_serves_the_model_measures_and_plots(ip):
    ip.user_ns["df"] = frame()
    assert hooks(ip, "fast", SUM, "-q").error is None
    cell = run(ip, "perf = %drum_perf fast -t regression --data df --sizes 1,10 --large-file-mb 0 "
                   "--requests 3\ndisplay(perf)")
    assert cell.error is None, cell.text
    perf = ip.user_ns["perf"]
    assert perf.ok and [c.rows for c in perf.cases] == [1, 10]
    assert all(len(c.latencies) == 3 for c in perf.cases)
    assert "drumnb perf-test" in cell.html and "p50" in cell.html.lower()
    assert any("image/png" in o.data for o in cell.outputs), "the latency plot"
    # the same against a server of %drum_serve
    cell = run(ip, "srv = %drum_serve fast -t regression")
    assert cell.error is None, cell.text
    url = ip.user_ns["srv"].url
    cell = run(ip, f"perf2 = %drum_perf --url {url} --data df --sizes 5 --large-file-mb 0 --requests 2 --no-plot")
    assert cell.error is None and ip.user_ns["perf2"].ok and ip.user_ns["perf2"].cases[0].rows == 5
    short_error(run(ip, f"%drum_perf fast --url {url} --data df"), "UsageError", "--url tests a running server")
    short_error(run(ip, "%drum_perf fast --data df --sizes 0,x"), "UsageError", "--sizes takes positive")
    run(ip, "srv.stop()")


# --- %drum_export --------------------------------------------------------------------------------

def test_export_a_model_built_in_cells_scores_the_same_in_a_fresh_process(ip, tmp_path):
    pytest.importorskip("sklearn")
    code = """
        import numpy as np, pandas as pd
        from sklearn.linear_model import LinearRegression
        X = pd.DataFrame({"x1": np.arange(50.0), "x2": np.arange(50.0) % 7})
        clf = LinearRegression().fit(X, X.x1 * 3 - X.x2)
    """
    assert run(ip, code).error is None
    cell = run(ip, "%%drum_export --output exported --model clf --data X -t regression --tar\n"
                   "def score(data, model, **kwargs):\n"
                   "    import pandas as pd\n"
                   "    return pd.DataFrame({'Predictions': model.predict(data[['x1', 'x2']].fillna(0)) + 1.0})\n")
    assert cell.error is None, cell.text
    assert "custom.py" in os.listdir(tmp_path / "exported")
    assert (tmp_path / "custom_model.tar.gz").is_file()
    report = ip.user_ns["_"]  # the cell's value: the report
    assert report.ok, report.to_text()
    ip.user_ns["X"].to_csv(tmp_path / "X.csv", index=False)
    out = tmp_path / "preds.csv"
    proc = subprocess.run([sys.executable, "-m", "drumnb", "score", "--code-dir", str(tmp_path / "exported"),
                           "--input", str(tmp_path / "X.csv"), "--output", str(out), "--target-type", "regression"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    expected = ip.user_ns["clf"].predict(ip.user_ns["X"]) + 1.0
    np.testing.assert_allclose(pd.read_csv(out)["Predictions"], expected, rtol=1e-9)
    short_error(run(ip, "%drum_export --output elsewhere"), "UsageError", "nothing to export")
    short_error(run(ip, "%drum_export --output elsewhere --model nosuch"), "NameError", "--model nosuch")


# --- %%drum_score --engine dask ------------------------------------------------------------------

@pytest.fixture(scope="module")
def dask_cluster():
    pytest.importorskip("distributed")
    yield
    from drumnb.jupyter import dask_engine

    dask_engine.close()


def test_dask_engine_gives_the_local_answer_keeps_ids_and_writes_files(ip, ex, dask_cluster, tmp_path):
    data = pd.read_csv(ex / "data" / "sklearn_multiclass.csv")
    data.insert(0, "row_id", range(len(data)))
    ip.user_ns["iris"] = data
    folder = ex / "sklearn_multiclass"
    assert run(ip, f"%drum_score {folder} --data iris -o local -q").error is None
    cell = run(ip, f"%drum_score {folder} --data iris --engine dask --workers 2 --keep-columns row_id -o on_dask")
    assert cell.error is None, cell.text
    assert "Dask dashboard: http://127.0.0.1:" in cell.text  # printed once, when the local cluster starts
    assert "scored on Dask" in cell.html and "2 worker(s)" in cell.html
    assert "<th>row_id</th>" in cell.html  # the preview shows the --keep-columns too
    assert f"predictions stored in on_dask ({len(data):,} rows)" in cell.text
    on_dask = ip.user_ns["on_dask"]
    assert list(on_dask["row_id"]) == list(range(len(data)))
    pd.testing.assert_frame_equal(on_dask.drop(columns="row_id").reset_index(drop=True),
                                  ip.user_ns["local"].reset_index(drop=True))
    # the cluster is reused; predictions written to Parquet files instead of collected
    cell = run(ip, f"%drum_score {folder} --data iris --engine dask --output-path {tmp_path / 'out'}")
    assert cell.error is None, cell.text
    assert "Dask dashboard" not in cell.text and f"wrote {len(data)} prediction rows" in cell.text
    written = pd.read_parquet(tmp_path / "out")
    pd.testing.assert_frame_equal(written.reset_index(drop=True), ip.user_ns["local"].reset_index(drop=True),
                                  check_dtype=False)
    short_error(run(ip, f"%drum_score {folder} --data iris --workers 2"), "UsageError", "--engine dask")
    for flag in ("--monitor", f"--monitor-db {tmp_path / 's.db'}"):  # as `drumnb score --engine dask` says
        cell = run(ip, f"%drum_score {folder} --data iris --engine dask {flag}")
        short_error(cell, "UsageError", "--engine dask does not record to the monitoring store",
                    flag.split()[0], "hint: score with the local engine")
    assert not (tmp_path / "s.db").exists()


def test_dask_engine_reports_the_failing_partition_and_takes_a_cell_hook(ip, dask_cluster):
    df = frame(40)
    df.loc[35, "a"] = -1.0
    ip.user_ns["bad"] = df
    assert hooks(ip, "picky", FAILS_ON_NEGATIVE, "-q").error is None
    cell = run(ip, "%drum_score picky --data bad -t regression --engine dask")
    short_error(cell, "HookError", "negative a", "partition")
    cell = run(ip, "%%drum_score picky --data bad -t regression --engine dask -o fixed -q\n"
                   "def score(data, model, **kwargs):\n"
                   "    import pandas as pd\n"
                   "    return pd.DataFrame({'Predictions': data['a'].abs()})\n")
    assert cell.error is None, cell.text
    assert ip.user_ns["fixed"]["Predictions"].tolist() == df["a"].abs().tolist()
