"""drumnb.tools.describe: what a model folder tells without a full load (target type, labels, problems).

Real artifacts: pickled scikit-learn estimators, and H2O MOJOs/POJOs trained by a real H2O (tests/h2o_support.py,
about 30 s; skipped without h2o).  No model is loaded through drumnb and no hook runs.
"""
from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from drumnb.tools.describe import describe_folder

pytestmark = pytest.mark.timeout(600)
HAVE_H2O = importlib.util.find_spec("h2o") is not None


def _folder(base: Path, name: str, files: dict[str, str | bytes]) -> Path:
    folder = base / name
    folder.mkdir(parents=True)
    for file, text in files.items():
        (folder / file).write_bytes(text if isinstance(text, bytes) else text.encode())
    return folder


def _levels(d) -> list[str]:
    return [p["level"] for p in d.problems]


@pytest.fixture(scope="module")
def h2o_models(tmp_path_factory) -> Path:
    if not HAVE_H2O:
        pytest.skip("needs h2o")
    from h2o_support import train_now

    out = tmp_path_factory.mktemp("h2o")
    train_now(out, dict(os.environ), timeout=500)
    return out


@pytest.mark.parametrize("fmt", ["mojo", "pojo"])
def test_h2o_models_say_their_target_type_and_labels(h2o_models, fmt):
    binary = describe_folder(str(h2o_models / f"{fmt}_bin"))
    assert (binary.target_type, binary.target_type_source, binary.labels) == ("binary", "artifact", ["no", "yes"])
    assert binary.artifact_kind == f"H2O {fmt.upper()} (gbm, Binomial)"
    assert binary.problems == []   # no "no model-metadata.yaml", no "assuming regression"
    assert binary.load_kwargs() == {"target_type": "binary", "negative_class_label": "no",
                                    "positive_class_label": "yes"}
    multi = describe_folder(str(h2o_models / f"{fmt}_multi"))
    assert (multi.target_type, multi.labels) == ("multiclass", ["high", "low", "mid"])
    assert multi.load_kwargs() == {"target_type": "multiclass", "class_labels": ["high", "low", "mid"]}
    reg = describe_folder(str(h2o_models / f"{fmt}_reg"))
    assert (reg.target_type, reg.labels, reg.problems) == ("regression", None, [])


def test_the_inferred_arguments_load_and_score_the_mojo(h2o_models):
    """What describe infers is what load_model needs: the MOJO scores as the binary classifier it is."""
    import pandas as pd

    import drumnb

    kwargs = describe_folder(str(h2o_models / "mojo_bin")).load_kwargs()
    model = drumnb.load_model(str(h2o_models / "mojo_bin"), **kwargs)
    got = model.predict(pd.read_csv(h2o_models / "test.csv").head(5))
    want = pd.read_csv(h2o_models / "bin_h2o.csv").head(5)
    assert list(got.columns) == ["no", "yes"]
    assert abs(got["yes"].to_numpy() - want["yes"].to_numpy()).max() < 1e-6


def test_metadata_without_labels_takes_the_mojos_with_one_warning(h2o_models, tmp_path):
    folder = tmp_path / "churn"
    folder.mkdir()
    (folder / "gbm_bin.zip").write_bytes((h2o_models / "mojo_bin" / "gbm_bin.zip").read_bytes())
    (folder / "model-metadata.yaml").write_text("name: churn\ntype: inference\ntargetType: binary\n")
    d = describe_folder(str(folder))
    assert (d.target_type, d.target_type_source, d.labels, d.labels_source) == ("binary", "metadata", ["no", "yes"],
                                                                                 "artifact")
    assert _levels(d) == ["warning"] and "no, yes" in d.problems[0]["message"]
    assert d.load_kwargs()["positive_class_label"] == "yes"
    (folder / "model-metadata.yaml").write_text("name: churn\ntype: inference\ntargetType: regression\n")
    d = describe_folder(str(folder))
    assert d.target_type == "regression"   # the metadata rules; the artifact's word is a warning
    assert any("H2O MOJO" in p["message"] and "binary" in p["message"] for p in d.problems), d.problems


def test_pickled_estimators_say_their_classes_and_kind(tmp_path):
    import numpy as np
    from sklearn.ensemble import IsolationForest
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.preprocessing import StandardScaler

    X = np.arange(40, dtype=float).reshape(20, 2)
    cases = {
        "binary": LogisticRegression().fit(X, ["no"] * 10 + ["yes"] * 10),
        "multi": LogisticRegression().fit(X, ["a", "b", "c", "d"] * 5),
        "reg": LinearRegression().fit(X, X[:, 0]),
        "outliers": IsolationForest(n_estimators=5, random_state=0).fit(X),
        "scaler": StandardScaler().fit(X),
    }
    got = {}
    for name, est in cases.items():
        d = describe_folder(str(_folder(tmp_path, name, {"model.pkl": pickle.dumps(est)})))
        got[name] = (d.target_type, d.target_type_source, d.labels, d.problems)
    assert got == {"binary": ("binary", "artifact", ["no", "yes"], []),
                   "multi": ("multiclass", "artifact", ["a", "b", "c", "d"], []),
                   "reg": ("regression", "artifact", None, []),
                   "outliers": ("anomaly", "artifact", None, []),
                   "scaler": ("transform", "artifact", None, [])}


def test_a_pickle_of_other_modules_is_not_unpickled(tmp_path):
    """Only pickles of known frameworks are opened: anything else is assumed regression, with one warning."""
    d = describe_folder(str(_folder(tmp_path, "odd", {"model.pkl": pickle.dumps(Fraction(1, 3))})))
    assert (d.target_type, d.target_type_source, d.artifact_kind) == ("regression", "assumed", "pickle")
    assert _levels(d) == ["warning"] and "assumes regression" in d.problems[0]["message"]


def test_hooks_say_chat_and_unstructured(tmp_path):
    chat = _folder(tmp_path, "parrot", {"custom.py": "def chat(completion_create_params, model):\n    return 1\n"})
    d = describe_folder(str(chat))
    assert (d.target_type, d.target_type_source, d.problems) == ("textgeneration", "hooks", [])
    assert d.load_kwargs() == {"target_type": "textgeneration"}
    echo = _folder(tmp_path, "echo", {"custom.py": "def score_unstructured(model, data, **kwargs):\n    return data\n"})
    d = describe_folder(str(echo))
    assert (d.target_type, d.target_type_source, d.problems) == ("unstructured", "hooks", [])
    agent = _folder(tmp_path, "agent", {"custom.py": "def chat(completion_create_params, model):\n    return 1\n",
                                        "model-metadata.yaml": "name: a\ntargetType: agenticworkflow\n"})
    d = describe_folder(str(agent))
    assert (d.target_type, d.target_type_source, d.load_kwargs()) == ("agenticworkflow", "metadata", {})
    r = _folder(tmp_path, "r_echo", {"custom.R": "score_unstructured <- function(model, data, ...) {\n  data\n}\n"})
    assert describe_folder(str(r)).target_type == "unstructured"


def test_nothing_to_go_on_is_one_warning_and_nothing_to_score_an_error(tmp_path):
    hooks = _folder(tmp_path, "hooks", {"custom.py": "def load_model(d):\n    return 1\n\n"
                                                     "def score(data, model, **kw):\n    return data\n"})
    d = describe_folder(str(hooks))
    assert (d.target_type, d.target_type_source, _levels(d)) == ("regression", "assumed", ["warning"])
    empty = _folder(tmp_path, "empty", {"model-metadata.yaml": "name: e\ntargetType: regression\n"})
    d = describe_folder(str(empty))
    assert _levels(d) == ["error"] and "nothing to score" in d.problems[0]["message"]
    broken = _folder(tmp_path, "broken", {"model-metadata.yaml": "targetType: [unclosed\n", "custom.py": "x = 1\n"})
    assert any("not valid YAML" in p["message"] for p in describe_folder(str(broken)).problems)


def test_describe_imports_neither_jupyter_nor_flask():
    code = ("import sys, drumnb.tools.describe as d; d.describe_folder('.'); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('IPython', 'ipywidgets', 'jupyter_server', "
            "'flask', 'tornado') or m.startswith('drumnb.jupyter') or m.startswith('drumnb.server')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=str(Path(__file__).parent))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
