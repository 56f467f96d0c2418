"""`drumnb.dask`: the same predictions as the core, partition by partition, on a real
LocalCluster of 2 worker processes on 127.0.0.1; nothing lost when a worker dies;
a failing hook stops the job naming its partition; `drumnb score --engine dask`."""
from __future__ import annotations

import io
import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")
pytest.importorskip("sklearn")

import dask.dataframe as dd  # noqa: E402

import drumnb  # noqa: E402
import drumnb.dask as drumnb_dask  # noqa: E402
from conftest import run_cli  # noqa: E402
from drumnb.core.errors import ConfigurationError, HookError, InputError  # noqa: E402
from fixtures import ConstantRegressor, write_folder  # noqa: E402

EXAMPLES = ["sklearn_regressor", "sklearn_binary", "sklearn_multiclass", "all_hooks"]


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 worker processes for the module, closed at the end."""
    with drumnb_dask.local_cluster(2, dashboard=False) as client:
        yield client


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """The example folders, with every row of their data sets in ``data/NAME.csv``."""
    from drumnb.examples import build

    out = tmp_path_factory.mktemp("dask-examples")
    build(str(out), EXAMPLES, rows=100_000)
    return out


def _expected(folder, X, **settings) -> pd.DataFrame:
    """Single-process predictions of the whole frame: what the core (and `drumnb score`) gives."""
    return drumnb.load_model(folder, **settings).predict(X)


def _split_files(X: pd.DataFrame, folder: Path, n: int, fmt: str) -> str:
    """Write ``X`` as ``n`` files ``part.0 .. part.n-1``; returns a glob naming them."""
    folder.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(X)), n)):
        part = X.iloc[chunk]
        if fmt == "csv":
            part.to_csv(folder / f"part.{i}.csv", index=False)
        else:
            part.to_parquet(folder / f"part.{i}.parquet", index=False)
    return str(folder / f"part.*.{fmt}")


# --- the same predictions as the core ------------------------------------------------------------

@pytest.mark.parametrize("name,settings,source", [
    ("sklearn_regressor", {}, "parquet"),
    ("sklearn_binary", {}, "frame"),
    ("sklearn_multiclass", {"target_type": "multiclass"}, "csv"),
    ("all_hooks", {}, "frame"),
])
def test_same_predictions_as_single_process(cluster, models, tmp_path, name, settings, source):
    X = pd.read_csv(models / "data" / f"{name}.csv")
    if source == "frame":
        data = dd.from_pandas(X, npartitions=4)
    else:
        data = _split_files(X, tmp_path / "in", 12, source)  # 12 files: natural order, not part.10 < part.2
    preds = drumnb_dask.score(data, models / name, client=cluster, **settings)
    assert preds.npartitions == (4 if source == "frame" else 12)
    out = preds.compute()
    expected = _expected(models / name, X, **settings)
    assert len(out) == len(X)
    if source == "frame":
        pd.testing.assert_index_equal(out.index, X.index)  # input index kept
    pd.testing.assert_frame_equal(out.reset_index(drop=True), expected)


def test_passthrough_columns_and_index_per_partition(cluster, models):
    X = pd.read_csv(models / "data" / "sklearn_regressor.csv")
    X.insert(0, "id", [f"row-{i}" for i in range(len(X))])
    X.index = X.index * 10  # a non-default index: kept on every output row
    preds = drumnb_dask.score(dd.from_pandas(X, npartitions=5), models / "sklearn_regressor",
                              passthrough=["id"], client=cluster)
    out = preds.compute()
    assert list(out.columns) == ["id", "Predictions"]
    pd.testing.assert_index_equal(out.index, X.index)
    assert out["id"].tolist() == X["id"].tolist()
    expected = _expected(models / "sklearn_regressor", X.drop(columns="id"))
    np.testing.assert_array_equal(out["Predictions"].to_numpy(), expected["Predictions"].to_numpy())


def test_model_loaded_once_per_worker_process(cluster, tmp_path):
    folder = write_folder(tmp_path, "counting", """
        import os
        import pandas as pd

        def init(code_dir, **kwargs):
            with open(os.path.join(code_dir, "loads.txt"), "a") as fh:
                fh.write(f"{os.getpid()}\\n")

        def load_model(code_dir):
            return "model"

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": data["x"] * 2.0})
        """)
    X = pd.DataFrame({"x": np.arange(400, dtype=float)})
    out = drumnb_dask.score(dd.from_pandas(X, npartitions=16), folder, "regression", client=cluster).compute()
    np.testing.assert_array_equal(out["Predictions"].to_numpy(), X["x"].to_numpy() * 2)
    pids = (folder / "loads.txt").read_text().split()
    assert len(pids) == len(set(pids)), f"a process loaded the folder twice: {pids}"
    assert len(pids) <= 3  # the caller (settings and first rows) and at most the 2 workers, for 16 partitions


# --- failures: typed, naming the partition, nothing partial ---------------------------------------

FAILS_ON_BIG = """
    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        if (data["x"] > 1000).any():
            raise ValueError("x is too big")
        return pd.DataFrame({"Predictions": data["x"] * 1.0})
    """


def test_failing_hook_stops_the_job_naming_hook_and_partition(cluster, tmp_path):
    folder = write_folder(tmp_path, "fails", FAILS_ON_BIG)
    X = pd.DataFrame({"x": np.arange(100, dtype=float)})
    X.loc[57, "x"] = 5000.0  # in partition 2 of 0..4
    preds = drumnb_dask.score(dd.from_pandas(X, npartitions=5), folder, "regression", client=cluster)
    with pytest.raises(HookError) as info:
        cluster.compute(preds).result(timeout=60)
    err = info.value
    assert err.hook == "score" and err.partition == 2
    assert err.line and os.path.basename(err.file) == "custom.py"
    assert "partition 2 of 5" in str(err) and "ValueError: x is too big" in str(err)
    assert "'score' hook failed" in err.render()

    out = tmp_path / "preds"  # write(): the error is raised, and no partial output is left
    with pytest.raises(HookError, match="partition 2 of 5"):
        drumnb_dask.write(preds, out, client=cluster)
    assert not out.exists() and not list(tmp_path.glob(".preds.partial-*"))


def test_first_rows_failing_raise_before_the_job(tmp_path):
    folder = write_folder(tmp_path, "fails", FAILS_ON_BIG)
    X = pd.DataFrame({"x": [1.0, 2000.0, 3.0, 4.0]})
    with pytest.raises(HookError, match="partition 0 of 2"):
        drumnb_dask.score(dd.from_pandas(X, npartitions=2), folder, "regression")


def test_user_errors_are_typed(models, tmp_path):
    X = pd.read_csv(models / "data" / "sklearn_regressor.csv")
    with pytest.raises(ConfigurationError, match="passthrough"):
        drumnb_dask.score(dd.from_pandas(X, npartitions=2), models / "sklearn_regressor", passthrough=["nope"])
    with pytest.raises(InputError, match="no files match"):
        drumnb_dask.score(str(tmp_path / "missing" / "*.parquet"), models / "sklearn_regressor")
    with pytest.raises(ConfigurationError, match="differs from model-metadata.yaml"):
        drumnb_dask.score(dd.from_pandas(X, npartitions=2), models / "sklearn_regressor", "multiclass")
    bare = write_folder(tmp_path, "bare", files={"model.pkl": ConstantRegressor()})  # no model-metadata.yaml
    with pytest.raises(ConfigurationError, match="class labels"):
        drumnb_dask.score(dd.from_pandas(X, npartitions=2), bare, "multiclass")


SLOW = """
    import os
    import time
    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        with open(os.path.join(os.path.dirname(__file__), "calls.txt"), "a") as fh:
            fh.write(f"{os.getpid()} {int(data['i'].iloc[0])}\\n")
        time.sleep(0.25)
        return pd.DataFrame({"Predictions": data["i"] * 3.0})
    """


def test_killed_worker_still_gives_every_row(cluster, tmp_path):
    """SIGKILL one of the 2 worker processes mid-job: Dask runs its partitions again; all rows come back."""
    folder = write_folder(tmp_path, "slow", SLOW)
    calls = folder / "calls.txt"
    X = pd.DataFrame({"i": np.arange(320)})
    preds = drumnb_dask.score(dd.from_pandas(X, npartitions=16), folder, "regression", client=cluster)
    calls.unlink()  # forget the caller's sample call
    pids = cluster.run(os.getpid)
    victim = next(iter(pids.values()))
    future = cluster.compute(preds)
    try:
        deadline = time.monotonic() + 30
        while not any(line.startswith(f"{victim} ") for line in _lines(calls)):  # it is inside the hook now
            assert time.monotonic() < deadline and not future.done(), "the worker never started a partition"
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)
        out = future.result(timeout=90)
    finally:
        future.release()
        cluster.wait_for_workers(2, timeout=60)  # the nanny starts a new worker process: leave 2 for others
    assert len(out) == len(X)
    np.testing.assert_array_equal(out["Predictions"].to_numpy(), X["i"].to_numpy() * 3.0)
    pd.testing.assert_index_equal(out.index, X.index)
    firsts = [int(line.split()[1]) for line in _lines(calls)]
    assert sorted(set(firsts)) == list(range(0, 320, 20))  # every partition scored
    assert len(firsts) > 16  # the killed worker's partitions were scored again
    assert victim not in cluster.run(os.getpid).values()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# --- the CLI -------------------------------------------------------------------------------------

def test_cli_engine_dask_end_to_end(models, tmp_path):
    """`drumnb score --engine dask --workers 2` in a fresh process: Parquet folder, id kept, progress, link."""
    name = "sklearn_binary"
    X = pd.read_csv(models / "data" / f"{name}.csv")
    X.insert(0, "id", np.arange(len(X)) + 1000)
    pattern = _split_files(X, tmp_path / "in", 6, "parquet")
    out = tmp_path / "out"
    proc = run_cli("score", "--engine", "dask", "--workers", "2", "--code-dir", str(models / name),
                   "--input", pattern, "--output", str(out), "--keep-columns", "id", "--verbose")
    stderr = proc.stderr.decode()
    assert proc.returncode == 0, stderr
    assert "Dask dashboard: http://127.0.0.1:" in stderr and "scoring" in stderr  # link and progress bar
    assert f"wrote {len(X)} prediction rows from 6 partition(s)" in stderr
    assert sorted(os.listdir(out)) == [f"part.{i:05d}.parquet" for i in range(6)]
    got = pd.read_parquet(out)
    assert list(got.columns) == ["id", "benign", "malignant"]
    assert got["id"].tolist() == X["id"].tolist()
    expected = _expected(models / name, X.drop(columns="id"))
    pd.testing.assert_frame_equal(got.drop(columns="id"), expected)  # equal up to BLAS round-off


def test_cli_scheduler_csv_output_is_what_drumnb_score_writes(cluster, models, tmp_path):
    """`--scheduler ADDRESS` uses a running cluster (left running); a .csv output is byte for byte the
    local engine's output for the same rows (a decision tree: no round-off to differ by)."""
    from drumnb.core import codecs

    name = "sklearn_multiclass"
    X = pd.read_csv(models / "data" / f"{name}.csv")
    X.to_csv(tmp_path / "all.csv", index=False)
    proc = run_cli("score", "--engine", "dask", "--scheduler", cluster.scheduler.address, "--code-dir",
                   str(models / name), "--target-type", "multiclass",
                   "--input", _split_files(X, tmp_path / "csv", 5, "csv"), "--output", str(tmp_path / "dask.csv"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Dask dashboard" not in proc.stderr  # no cluster of its own
    local = drumnb.load_model(models / name, "multiclass").predict(str(tmp_path / "all.csv"))
    assert (tmp_path / "dask.csv").read_bytes() == codecs.write_frame(local, "csv")  # as `drumnb score` writes
    assert cluster.submit(sum, [1, 2]).result(timeout=30) == 3  # the cluster is still up


def test_cli_user_errors_exit_1_before_any_cluster(models, tmp_path, capsys):
    from drumnb.cli import main

    base = ["score", "--engine", "dask", "--code-dir", str(models / "sklearn_regressor")]
    data = str(models / "data" / "sklearn_regressor.csv")
    cases = [
        ([*base, "--input", data], "needs --output"),
        ([*base, "--input", str(tmp_path / "nothing" / "*.csv"), "--output", str(tmp_path / "o")], "no files match"),
        ([*base, "--input", data, "--output", str(tmp_path / "o"), "--workers", "1", "--scheduler", "127.0.0.1:1"],
         "exclude each other"),
        ([*base, "--input", data, "--output", str(tmp_path / "o"), "--workers", "0"], "at least 1"),
        ([*base, "--input", data, "--output", str(tmp_path / "o"), "--keep-columns", "nope"], "not in the input"),
        ([*base, "--input", data, "--output", data], "would overwrite the input"),
        ([*base, "--input", str(models / "data"), "--output", str(models / "data")], "would overwrite the input"),
        ([*base, "--input", data, "--output", str(models / "sklearn_regressor" / "model.pkl")], "is a file"),
    ]
    for argv, message in cases:
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert message in err and "Dask dashboard" not in err, err
    assert not (tmp_path / "o").exists()


def test_cli_monitoring_flags_are_a_usage_error_with_the_dask_engine(models, tmp_path, capsys, monkeypatch):
    """`--engine dask` cannot record (every worker process would write the store): it says so, exit 2,
    before any cluster starts, rather than dropping --monitor silently."""
    from drumnb.cli import main

    base = ["score", "--engine", "dask", "--code-dir", str(models / "sklearn_regressor"),
            "--input", str(models / "data" / "sklearn_regressor.csv"), "--output", str(tmp_path / "o")]
    for extra, named in ((["--monitor"], "--monitor"), (["--monitor-db", str(tmp_path / "s.db")], "--monitor-db"),
                         (["--monitor-embedded"], "--monitor-embedded")):
        assert main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert "--engine dask does not record to the monitoring store" in err and named in err, err
        assert "hint: score with the local engine" in err and "Dask dashboard" not in err
    monkeypatch.setenv("MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS", "true")  # the env twin of --monitor-embedded
    assert main(base) == 2
    assert "MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "s.db").exists()


ECHO = """
    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        return pd.DataFrame({"Predictions": data["i"] + 0.5})
    """


def test_write_csv_keeps_partition_order(cluster, tmp_path):
    X = pd.DataFrame({"i": np.arange(300)})
    folder = write_folder(tmp_path, "echo", ECHO)
    preds = drumnb_dask.score(dd.from_pandas(X, npartitions=7), folder, "regression", client=cluster)
    rows = drumnb_dask.write(preds, tmp_path / "p.csv", client=cluster)
    assert rows == 300
    got = pd.read_csv(io.BytesIO((tmp_path / "p.csv").read_bytes()))
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), X["i"].to_numpy() + 0.5)


def test_parquet_folder_input_and_output_rules(cluster, tmp_path):
    """A folder of part.0 .. part.11 is read in natural order; a re-run replaces the previous output's
    files; a folder holding anything else is refused before any work."""
    X = pd.DataFrame({"i": np.arange(120)})
    _split_files(X, tmp_path / "in", 12, "parquet")
    folder = write_folder(tmp_path, "echo", ECHO)
    out = tmp_path / "out"
    preds = drumnb_dask.score(tmp_path / "in", folder, "regression", client=cluster)
    assert drumnb_dask.write(preds, out, client=cluster) == 120
    assert len(os.listdir(out)) == 12
    got = pd.read_parquet(out)  # pandas reads files in name order: zero-padded names keep it right
    np.testing.assert_array_equal(got["Predictions"].to_numpy(), X["i"].to_numpy() + 0.5)

    fewer = drumnb_dask.score(dd.from_pandas(X, npartitions=3), folder, "regression", client=cluster)
    drumnb_dask.write(fewer, out, client=cluster)
    assert sorted(os.listdir(out)) == ["part.00000.parquet", "part.00001.parquet", "part.00002.parquet"]

    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigurationError, match="other files"):
        drumnb_dask.write(fewer, out, client=cluster)
    with pytest.raises(ConfigurationError, match="is a file"):
        drumnb_dask.check_output(out / "notes.txt")
