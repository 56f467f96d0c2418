"""`drumnb score`: DRUM's flags, formats, outputs and errors, in a real subprocess."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from conftest import run_cli
from fixtures import ConstantRegressor, write_folder


@pytest.fixture
def linear(tmp_path):
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 3)), columns=["a b", "c/(d)", "e"])
    y = X.to_numpy() @ np.array([1.0, 2.0, 3.0])
    folder = write_folder(tmp_path, "linear", files={"model.pkl": LinearRegression().fit(X, y)})
    return folder, X, y


def test_csv_to_stdout_and_to_file(linear, tmp_path):
    folder, X, y = linear
    X.to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type", "regression")
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(io.BytesIO(proc.stdout))
    assert list(out.columns) == ["Predictions"]
    np.testing.assert_allclose(out["Predictions"], y)
    proc = run_cli("score", "--code-dir", str(folder), "--input", str(tmp_path / "in.csv"),
                   "--output", str(tmp_path / "out.csv"), env={"TARGET_TYPE": "regression"})
    assert proc.returncode == 0 and proc.stdout == b""
    assert (tmp_path / "out.csv").read_bytes() == pd.DataFrame({"Predictions": out["Predictions"]}).to_csv(
        index=False).encode()


@pytest.mark.parametrize("fmt", ["arrow", "parquet", "mtx"])
def test_input_formats(linear, tmp_path, fmt):
    folder, X, y = linear
    args = []
    if fmt == "arrow":
        import pyarrow as pa

        path = tmp_path / "in.arrow"
        table = pa.Table.from_pandas(X, preserve_index=False)
        with pa.ipc.new_stream(path, table.schema) as writer:
            writer.write_table(table)
    elif fmt == "parquet":
        path = tmp_path / "in.parquet"
        X.to_parquet(path, index=False)
    else:
        import scipy.io
        import scipy.sparse

        path = tmp_path / "in.mtx"
        scipy.io.mmwrite(str(path), scipy.sparse.csr_matrix(X.to_numpy()))
        (tmp_path / "cols.txt").write_text("\n".join(X.columns) + "\n")
        args = ["--sparse-column-file", str(tmp_path / "cols.txt")]
    proc = run_cli("score", "-cd", str(folder), "--input", str(path), "--target-type", "regression", *args)
    assert proc.returncode == 0, proc.stderr.decode()
    np.testing.assert_allclose(pd.read_csv(io.BytesIO(proc.stdout))["Predictions"], y, rtol=1e-9)


@pytest.mark.parametrize("ext", ["arrow", "parquet"])
def test_output_formats(linear, tmp_path, ext):
    folder, X, y = linear
    X.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / f"out.{ext}"
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--output", str(out),
                   "--target-type", "regression")
    assert proc.returncode == 0, proc.stderr.decode()
    if ext == "parquet":
        got = pd.read_parquet(out)
    else:
        import pyarrow as pa

        got = pa.ipc.open_stream(out.read_bytes()).read_all().to_pandas()
    np.testing.assert_allclose(got["Predictions"], y)


def test_sparse_transform_written_as_matrix_market(tmp_path):
    from sklearn.feature_extraction.text import CountVectorizer  # noqa: F401 - sklearn present

    folder = write_folder(tmp_path, "t", """
        import scipy.sparse
        def load_model(code_dir):
            return "m"
        def transform(data, model):
            return scipy.sparse.csr_matrix(data.to_numpy() > 0, dtype=float)
    """)
    pd.DataFrame({"a": [1, 0, 2], "b": [0, 0, 3]}).to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type", "transform",
                   "--output", str(tmp_path / "out.mtx"))
    assert proc.returncode == 0, proc.stderr.decode()
    import scipy.io

    assert scipy.io.mmread(str(tmp_path / "out.mtx")).toarray().tolist() == [[1, 0], [0, 0], [1, 1]]


def test_seed_example_without_target_type_works_with_a_note(linear, tmp_path):
    folder, X, y = linear
    X.to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("score", "--code-dir", str(folder), "--input", str(tmp_path / "in.csv"), env={"TARGET_TYPE": ""})
    assert proc.returncode == 0
    assert b"assuming regression" in proc.stderr and len(proc.stderr.splitlines()) == 1


def test_binary_labels_become_headers(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"x": np.linspace(-1, 1, 20)})
    clf = LogisticRegression().fit(X, np.where(X["x"] > 0, "yes", "no"))
    folder = write_folder(tmp_path, "b", files={"model.pkl": clf})
    X.to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type", "binary",
                   "--positive-class-label", "yes", "--negative-class-label", "no")
    assert proc.returncode == 0, proc.stderr.decode()
    out = pd.read_csv(io.BytesIO(proc.stdout))
    assert list(out.columns) == ["no", "yes"]
    np.testing.assert_allclose(out.to_numpy(), clf.predict_proba(X))
    (tmp_path / "labels.txt").write_text("no\nyes\nmaybe\n")


@pytest.mark.parametrize("case,expect", [
    ("missing-input", "input file not found"),
    ("bad-csv", "line"),
    ("wrong-columns", "lacks 1 column"),
    ("no-labels", "positive and a negative"),
    ("hook-error", "'score' hook failed (custom.py, line 4): ZeroDivisionError"),
])
def test_user_errors_exit_1_with_one_message_and_no_traceback(tmp_path, linear, case, expect):
    folder, X, _ = linear
    args = ["--target-type", "regression"]
    data = tmp_path / "in.csv"
    X.to_csv(data, index=False)
    if case == "missing-input":
        data = tmp_path / "missing.csv"
    elif case == "bad-csv":
        data.write_bytes(b"a b,c/(d),e\n1,2,3\n\xff\xfe,\x00\n")
    elif case == "wrong-columns":
        X.drop(columns="e").to_csv(data, index=False)
    elif case == "no-labels":
        args = ["--target-type", "binary"]
    elif case == "hook-error":
        folder = write_folder(tmp_path, "h", """
            def load_model(code_dir):
                return 1
            def score(data, model, **kwargs):
                return 1 / 0
        """)
    proc = run_cli("score", "-cd", str(folder), "--input", str(data), *args)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert expect in err
    assert "Traceback" not in err and err.startswith("drumnb: error:")
    assert "hint:" in err or case == "hook-error"
    verbose = run_cli("score", "-cd", str(folder), "--input", str(data), *args, "--show-stacktrace")
    assert verbose.returncode == 1 and b"Traceback" in verbose.stderr


def test_docker_flag_and_help(tmp_path):
    proc = run_cli("score", "-cd", str(tmp_path), "--input", "x.csv", "--docker", "img")
    assert proc.returncode == 1 and b"drumnb env" in proc.stderr
    help_text = run_cli("score", "--help").stdout.decode()
    for flag in ("--code-dir", "--input", "--output", "--target-type", "--positive-class-label",
                 "--negative-class-label", "--class-labels", "--class-labels-file", "--sparse-column-file",
                 "--verbose", "--logging-level", "--show-stacktrace", "--docker", "TARGET_TYPE"):
        assert flag in help_text
    assert run_cli().returncode == 2


def test_verbose_shows_a_progress_bar_for_long_inputs(tmp_path):
    folder = write_folder(tmp_path, "m", files={"model.pkl": ConstantRegressor()})
    pd.DataFrame({"a": np.arange(300_000, dtype=float)}).to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type",
                   "regression", "--verbose", "--output", str(tmp_path / "out.csv"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"scoring" in proc.stderr and b"rows" in proc.stderr
    assert len(pd.read_csv(tmp_path / "out.csv")) == 300_000


def test_cli_and_magics_turn_the_model_flags_into_the_same_load_model_arguments(tmp_path, monkeypatch):
    """One module (drumnb.flags) owns the model flags: `drumnb score` and `%drum_score` read a line alike."""
    pytest.importorskip("IPython")
    from drumnb import flags
    from drumnb.cli import build_parser
    from drumnb.jupyter.magics import TARGET_TYPES, _load_kwargs, score_parser

    for name in ("MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS", "DRUMNB_MONITOR_DB", "DEPLOYMENT_ID", "MODEL_ID",
                 "EXTERNAL_WEB_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    line = ["--code-dir", "m", "--target-type", "Binary", "--positive-class-label", "yes",
            "--negative-class-label", "no", "--monitor-db", "s.db", "--deployment-id", "d1"]
    cli = flags.load_kwargs(build_parser().parse_args(["score", *line, "--input", "x.csv"]))
    magic = score_parser("%drum_score").parse(" ".join(line))
    assert cli.pop("code_dir") == magic.code_dir == "m" and cli.pop("target_type") == magic.target_type == "binary"
    assert {k: v for k, v in cli.items() if v is not None} == _load_kwargs(magic)
    monitor = cli["monitor"]  # --monitor-db alone records; the path is absolute for a server's other cwd
    assert monitor.record_predictions and not monitor.embedded and monitor.db == str(tmp_path / "s.db")
    assert monitor.deployment_id == "d1"
    embedded = flags.load_kwargs(build_parser().parse_args(["score", *line, "--monitor-embedded", "--input", "x"]))
    assert embedded["monitor"].embedded and not embedded["monitor"].record_predictions  # the hooks report
    assert flags.load_kwargs(build_parser().parse_args(["score", "-cd", "m", "--input", "x"]))["monitor"] is None
    assert set(TARGET_TYPES) == set(flags.TargetType.values()) and "agenticworkflow" in TARGET_TYPES


def test_an_unknown_target_type_is_a_usage_error_naming_the_closest(tmp_path):
    proc = run_cli("score", "-cd", str(tmp_path), "--input", "x.csv", "--target-type", "regresion")
    assert proc.returncode == 2
    assert b"unknown target type 'regresion' (did you mean 'regression'?)" in proc.stderr
