"""`drumnb export`: a model built in notebook cells, exported, scored by `drumnb score` in a fresh process."""
from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from fixtures import write_folder

from drumnb.core.errors import ConfigurationError
from drumnb.tools import export_model
from drumnb.tools.export import ExportError, hooks_source, plan_copy

IPython = pytest.importorskip("IPython")

NOTEBOOK = [
    """
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression, Ridge
    from math import sqrt as root

    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = 2 * X.a - X.b + 0.1 * rng.normal(size=60)
    estimator = Ridge(alpha=0.5).fit(X, y)
    COLUMNS = ["a", "b", "c"]
    SCALE = 10.0
    """,
    """
    class Offset:
        value = 1.5

    def _prepare(df):
        return df[COLUMNS].fillna(0.0)

    def transform(data, model):
        return _prepare(data)

    def score(data, model, **kwargs):
        return pd.DataFrame({"Predictions": model.predict(data) * SCALE + Offset.value + root(4.0)})
    """,
    """
    expected = score(transform(X, estimator), estimator)
    """,
]


@pytest.fixture
def shell():
    """An IPython shell: cells run as in a notebook (functions live in __main__, source in linecache)."""
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.reset(new_session=False)

    def run(code: str):
        import textwrap

        result = sh.run_cell(textwrap.dedent(code))
        if result.error_before_exec:
            raise result.error_before_exec
        if result.error_in_exec:
            raise result.error_in_exec
        return result.result

    sh.run = run
    yield sh
    sh.reset(new_session=False)


def test_notebook_model_exported_and_scored_in_a_fresh_process(shell, tmp_path, cli):
    import sklearn

    for cell in NOTEBOOK:
        shell.run(cell)
    ns = shell.user_ns
    out = tmp_path / "deploy" / "ridge"
    report = export_model(out, hooks=ns, model=ns["estimator"], data=ns["X"], target_type="regression", tar=True)
    assert report.ok, report.to_text()
    assert report.files == ["custom.py", "model-metadata.yaml", "model.pkl", "requirements.txt"]
    assert report.validation.passed and report.fresh_check["ok"]
    assert report.fresh_check["command"] == "drumnb score --code-dir custom_model.tar.gz"
    source = (out / "custom.py").read_text()
    for line in ("import pandas as pd", "from math import sqrt as root", "COLUMNS = ['a', 'b', 'c']",
                 "SCALE = 10.0", "class Offset:", "def _prepare(df):", "def transform(data, model):",
                 "def score(data, model, **kwargs):"):
        assert line in source
    assert "estimator" not in source and "LogisticRegression" not in source  # only what the hooks use
    reqs = (out / "requirements.txt").read_text().splitlines()
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert f"numpy=={np.__version__}" in reqs and f"pandas=={pd.__version__}" in reqs
    assert yaml.safe_load((out / "model-metadata.yaml").read_text())["targetType"] == "regression"
    tar = tmp_path / "deploy" / "custom_model.tar.gz"
    assert report.tarball == str(tar)
    with tarfile.open(tar) as archive:
        assert sorted(archive.getnames()) == ["custom.py", "model-metadata.yaml", "model.pkl", "requirements.txt"]
    # the check the issue asks for, done independently: score the archive from a fresh process
    data = tmp_path / "x.csv"
    ns["X"].to_csv(data, index=False)
    proc = cli("score", "--code-dir", str(tar), "--input", str(data))  # no --target-type: the metadata says it
    assert proc.returncode == 0, proc.stderr.decode()
    fresh = pd.read_csv(io.BytesIO(proc.stdout))
    np.testing.assert_allclose(fresh["Predictions"], ns["expected"]["Predictions"], rtol=1e-12)


def test_notebook_classifier_labels_go_to_the_metadata(shell, tmp_path):
    shell.run(NOTEBOOK[0])
    shell.run("""
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import make_pipeline

        clf = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, np.where(y > 0, "up", "down"))
        """)
    ns = shell.user_ns
    report = export_model(tmp_path / "clf", model=ns["clf"], data=ns["X"], target_type="binary",
                          positive_class_label="up", negative_class_label="down")
    assert report.ok, report.to_text()
    meta = yaml.safe_load((tmp_path / "clf" / "model-metadata.yaml").read_text())
    assert meta["targetType"] == "binary"
    assert meta["inferenceModel"] == {"positiveClassLabel": "up", "negativeClassLabel": "down"}
    assert "no custom.py" not in report.to_text() and report.artifact == "model.pkl"
    assert "gives the same predictions" in report.fresh_check["message"]  # the folder, scored without label flags


def test_notebook_objects_that_cannot_be_exported(shell, tmp_path):
    shell.run(NOTEBOOK[0])
    shell.run("""
        from sklearn.preprocessing import StandardScaler
        scaler = StandardScaler().fit(X)

        def score(data, model, **kwargs):
            return pd.DataFrame({"Predictions": model.predict(scaler.transform(data))})

        class Doubler:
            def predict(self, X):
                return 2 * X.sum(axis=1)
        """)
    ns = shell.user_ns
    with pytest.raises(ExportError) as info:
        hooks_source(ns)
    assert "uses the notebook variable 'scaler' (StandardScaler)" in info.value.message
    assert "load_model" in info.value.hint
    with pytest.raises(ExportError, match="refers to Doubler defined in the notebook itself"):
        export_model(tmp_path / "doubler", model=ns["Doubler"](), target_type="regression")


def test_hooks_as_source_text_and_closures(tmp_path):
    text = ("import pandas as pd\n\ndef score(data, model, **kwargs):\n"
            "    return pd.DataFrame({'Predictions': data.sum(axis=1)})\n")
    assert hooks_source(text) == text
    with pytest.raises(ExportError, match="not valid Python"):
        hooks_source("def score(:\n")

    def make():
        k = 3

        def score(data, model, **kwargs):
            return data * k
        return score

    with pytest.raises(ExportError, match="uses variables of an enclosing function"):
        hooks_source([make()])


@pytest.mark.slow
def test_torch_module_from_a_notebook_is_traced(shell, tmp_path):
    pytest.importorskip("torch")
    shell.run(NOTEBOOK[0])
    shell.run("""
        import torch

        class Net(torch.nn.Module):           # a class defined in the notebook: TorchScript cannot read its source
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(3, 1)

            def forward(self, x):
                return self.lin(torch.nan_to_num(x)) * 2

        torch.manual_seed(0)
        net = Net().eval()
        with torch.no_grad():
            want = net(torch.tensor(X.to_numpy(), dtype=torch.float32)).numpy()[:, 0]
        """)
    ns = shell.user_ns
    report = export_model(tmp_path / "net", model=ns["net"], data=ns["X"], target_type="regression")
    assert report.ok, report.to_text()
    assert report.artifact == "model.pth" and any(r.startswith("torch==") for r in report.requirements)
    import drumnb

    got = drumnb.load_model(str(tmp_path / "net")).predict(ns["X"])["Predictions"].to_numpy()
    np.testing.assert_allclose(got, ns["want"], rtol=1e-5)


STATE_HOOKS = """
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": data.sum(axis=1)})
"""


@pytest.fixture
def folder_with_state(tmp_path):
    from drumnb import monitoring

    folder = write_folder(tmp_path, "src_model", STATE_HOOKS, {
        "model-metadata.yaml": "name: summer\ntargetType: regression\n",
        "requirements.txt": "pandas\nPyYAML>=5  # already constrained\n",
        "helper_data.json": '{"k": 1}',
    })
    (folder / ".drumnb").mkdir()
    (folder / ".drumnb" / "session.json").write_text("{}")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "custom.cpython-311.pyc").write_bytes(b"\0")
    closed = monitoring.connect(str(folder / "monitor.sqlite"))  # a real monitoring store
    closed.close()
    (folder / "monitor.sqlite-wal").write_bytes(b"left over")
    live = monitoring.connect(str(folder / "live.sqlite"))  # one still open: its content sits in live.sqlite-wal
    yield folder
    live.close()


def test_folder_export_leaves_state_out(folder_with_state, tmp_path):
    keep, skipped = plan_copy(str(folder_with_state))
    assert sorted(keep) == ["custom.py", "helper_data.json", "model-metadata.yaml", "requirements.txt"]
    why = dict(skipped)
    assert why[".drumnb/"] == "drumnb state" and why["__pycache__/"] == "cache / tool state"
    stores = sorted(p for p, w in skipped if w == "monitoring store")
    assert stores == ["live.sqlite", "live.sqlite-shm", "live.sqlite-wal", "monitor.sqlite", "monitor.sqlite-wal"]
    data = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    out = tmp_path / "out" / "summer"
    report = export_model(out, code_dir=folder_with_state, data=data, tar=tmp_path / "out" / "model.tar.gz")
    assert report.ok, report.to_text()
    assert sorted(os.listdir(out)) == ["custom.py", "helper_data.json", "model-metadata.yaml", "requirements.txt"]
    with tarfile.open(report.tarball) as archive:
        names = archive.getnames()
    assert not any(".drumnb" in n or "sqlite" in n or "pycache" in n for n in names)
    reqs = (out / "requirements.txt").read_text().splitlines()
    assert f"pandas=={pd.__version__}" in reqs  # the author's unpinned line, pinned
    assert "PyYAML>=5  # already constrained".split("#")[0].strip() in reqs  # the author's constraint, kept
    assert {"path": ".drumnb/", "why": "drumnb state"} in report.to_dict()["leftOut"]


def test_export_guards(folder_with_state, tmp_path):
    with pytest.raises(ConfigurationError, match="overlap"):
        export_model(folder_with_state / "inside", code_dir=folder_with_state)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(ConfigurationError, match="not empty") as info:
        export_model(busy, code_dir=folder_with_state)
    assert "--force" in info.value.hint and (busy / "keep.txt").exists()
    with pytest.raises(ConfigurationError, match="inside the exported folder"):
        export_model(tmp_path / "o", code_dir=folder_with_state, tar=tmp_path / "o" / "x.tar.gz")
    with pytest.raises(ConfigurationError, match="nothing to export"):
        export_model(tmp_path / "nothing")


NO_NULLS = STATE_HOOKS.replace('return pd.DataFrame({"Predictions": data.sum(axis=1)})',
                               'assert not data.isna().any().any(), "missing values"\n'
                               '    return pd.DataFrame({"Predictions": data.sum(axis=1)})')


def test_failed_validation_makes_the_export_fail(tmp_path):
    src = write_folder(tmp_path, "nonull", NO_NULLS, {"model-metadata.yaml": "targetType: regression\n"})
    report = export_model(tmp_path / "out", code_dir=src, data=pd.DataFrame({"a": [1.0], "b": [2.0]}))
    assert not report.ok and report.fresh_check["ok"]
    assert report.validation["null_imputation"].status == "FAILED"
    assert "FAILED: Null value imputation" in report.to_text()


def test_cli_export(tmp_path, cli):
    src = write_folder(tmp_path, "cli_src", NO_NULLS, {"model-metadata.yaml": "targetType: regression\n"})
    (src / ".drumnb").mkdir()
    (src / ".drumnb" / "x").write_text("state")
    data = tmp_path / "d.csv"
    pd.DataFrame({"a": [1.0, 2.0, 5.0], "b": [1.0, 2.0, 3.0]}).to_csv(data, index=False)
    out = tmp_path / "exported" / "m"
    proc = cli("export", "--code-dir", str(src), "--output", str(out), "--tar", "--input", str(data))
    assert proc.returncode == 1, proc.stdout.decode() + proc.stderr.decode()  # null imputation fails
    assert "validation        FAILED: Null value imputation" in proc.stdout.decode()
    proc = cli("export", "--code-dir", str(src), "--output", str(out), "--tar", "--force", "--no-validation",
               "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    import json

    report = json.loads(proc.stdout)
    assert report["ok"] and report["tarball"] == str(tmp_path / "exported" / "custom_model.tar.gz")
    assert report["freshProcess"]["ok"] and "loads" in report["freshProcess"]["message"]
    assert not (out / ".drumnb").exists() and Path(report["tarball"]).is_file()
