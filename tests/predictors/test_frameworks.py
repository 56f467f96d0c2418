"""Every built-in framework end to end, through the API and the CLI."""
from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import drumnb
from conftest import run_cli
from fixtures import write_folder

EXPECTED_COLUMNS = {
    "sklearn_regressor": ["Predictions"], "xgboost_regressor": ["Predictions"], "torch_regressor": ["Predictions"],
    "keras_regressor": ["Predictions"], "onnx_regressor": ["Predictions"], "sklearn_anomaly": ["Predictions"],
    "all_hooks": ["Predictions", "spread"], "sklearn_binary": ["benign", "malignant"], "onnx_binary": ["0", "1"],
    "sklearn_multiclass": ["setosa", "versicolor", "virginica"],
}


def _example_args(examples, name):
    meta = json.loads((examples / "examples.json").read_text())
    return meta[name]["flags"]


@pytest.mark.parametrize("name", sorted(EXPECTED_COLUMNS) + ["sklearn_transform"])
def test_example_scores_the_same_through_api_and_cli(examples, name):
    flags = _example_args(examples, name)
    target = flags[flags.index("--target-type") + 1] if "--target-type" in flags else None
    data = examples / "data" / f"{name}.csv"
    model = drumnb.load_model(examples / name, target)
    api = model.predict(pd.read_csv(data))
    proc = run_cli("score", "--code-dir", str(examples / name), "--input", str(data), *flags)
    assert proc.returncode == 0, proc.stderr.decode()
    cli = pd.read_csv(io.BytesIO(proc.stdout))
    if name == "sklearn_transform":
        assert api.shape == (40, 10)
        np.testing.assert_allclose(api.mean(axis=0), 0, atol=0.5)
    else:
        assert list(api.columns) == EXPECTED_COLUMNS[name]
    assert list(cli.columns) == [str(c) for c in api.columns]
    # float32 models (torch, keras, onnx) are written at float32 precision, as pandas writes them
    np.testing.assert_allclose(cli.to_numpy(float), api.to_numpy(float), rtol=1e-6)


def test_builtin_predictions_match_the_framework(examples):
    X = pd.read_csv(examples / "data" / "sklearn_binary.csv")
    with open(examples / "sklearn_binary" / "model.pkl", "rb") as fh:
        clf = pickle.load(fh)
    out = drumnb.load_model(examples / "sklearn_binary").predict(X)
    np.testing.assert_array_equal(out[["benign", "malignant"]].to_numpy(), clf.predict_proba(X))


def _skl2onnx(model, X, per_column: bool):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    if per_column:
        types = [(c, FloatTensorType([None, 1])) for c in X.columns]
    else:
        types = [("input", FloatTensorType([None, X.shape[1]]))]
    return to_onnx(model, initial_types=types, target_opset=17).SerializeToString()


@pytest.mark.parametrize("per_column", [False, True], ids=["one-tensor", "per-column"])
@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_skl2onnx_models_match_scikit_learn(tmp_path, kind, per_column):
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    data = load_iris(as_frame=True)
    X = data.data.set_axis(["sl", "sw", "pl", "pw"], axis=1)
    if kind == "regressor":
        est, y, kwargs = RandomForestRegressor(n_estimators=10, random_state=0), X.pop("pw"), {"target_type": "regression"}
    elif kind == "binary":
        est, y = LogisticRegression(max_iter=1000), (data.target == 2).astype(int)
        kwargs = {"target_type": "binary", "positive_class_label": 1, "negative_class_label": 0}
    else:
        est, y = RandomForestClassifier(n_estimators=10, random_state=0), data.target
        kwargs = {"target_type": "multiclass", "class_labels": [2, 0, 1]}
    if per_column:  # the per-column ONNX graph needs a concatenating step
        est = make_pipeline(ColumnTransformer([("all", "passthrough", list(X.columns))]), est)
    est.fit(X if per_column else X.to_numpy(), y)
    folder = write_folder(tmp_path, "m", files={"model.onnx": _skl2onnx(est, X, per_column)})
    out = drumnb.load_model(folder, **kwargs).predict(X)
    if kind == "regressor":
        expected = est.predict(X if per_column else X.to_numpy()).reshape(-1, 1)
    else:
        expected = est.predict_proba(X if per_column else X.to_numpy())
        # ZipMap's keys carry the class names: the columns keep the model's order, as DRUM writes them
        assert list(out.columns) == (["0", "1"] if kind == "binary" else ["0", "1", "2"])
    np.testing.assert_allclose(out.to_numpy(float), expected, atol=1e-5)


def test_scoring_onnx_imports_no_other_framework(examples):
    code = f"""
import sys, drumnb, pandas as pd
m = drumnb.load_model({str(examples / 'onnx_regressor')!r}, 'regression')
m.predict(pd.read_csv({str(examples / 'data' / 'onnx_regressor.csv')!r}))
heavy = [x for x in ('torch', 'tensorflow', 'sklearn', 'keras', 'xgboost') if x in sys.modules]
print(heavy)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_torch_whole_module_with_its_class_in_a_helper_module(tmp_path):
    import torch

    folder = write_folder(tmp_path, "m", files={"net.py": """
        import torch
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = torch.nn.Linear(3, 1)
            def forward(self, x):
                return self.lin(x)
    """})
    sys.path.insert(0, str(folder))
    try:
        import net

        model = net.Net()
        torch.save(model, folder / "model.pth")
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("net", None)
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 3)), columns=list("abc"))
    out = drumnb.load_model(folder, "regression").predict(X)
    with torch.no_grad():
        expected = model(torch.tensor(X.to_numpy(), dtype=torch.float32)).numpy()[:, 0]
    np.testing.assert_allclose(out["Predictions"], expected, rtol=1e-6)


def test_torch_state_dict_asks_for_load_model(tmp_path):
    import torch

    from drumnb.core.errors import ArtifactError

    folder = write_folder(tmp_path, "m")
    torch.save(torch.nn.Linear(2, 1).state_dict(), folder / "model.pth")
    with pytest.raises(ArtifactError, match="state_dict") as info:
        drumnb.load_model(folder, "regression")
    assert "load_model" in info.value.hint


def test_keras_binary_sigmoid_output_is_positive_probability(tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    net = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    net.compile(loss="binary_crossentropy")  # a string loss: needs compile=False to load
    folder = write_folder(tmp_path, "m")
    keras.saving.save_model(net, folder / "model.h5")
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(6, 4)), columns=list("abcd"))
    out = drumnb.load_model(folder, "binary", positive_class_label="y", negative_class_label="n").predict(X)
    p = net.predict(X.to_numpy("float32"), verbose=0)[:, 0]
    np.testing.assert_allclose(out["y"], p, rtol=1e-6)
    np.testing.assert_allclose(out["n"], 1 - p, rtol=1e-6)


def test_xgboost_booster_and_classifier(tmp_path):
    import xgboost

    X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 4)), columns=list("abcd"))
    y = (X["a"] > 0).astype(int)
    clf = xgboost.XGBClassifier(n_estimators=5, n_jobs=1).fit(X, y)
    folder = write_folder(tmp_path, "clf", files={"model.pkl": clf})
    out = drumnb.load_model(folder, "binary", positive_class_label="1", negative_class_label="0").predict(X)
    np.testing.assert_allclose(out.to_numpy(), clf.predict_proba(X), rtol=1e-6)
    booster = xgboost.train({"max_depth": 2}, xgboost.DMatrix(X, label=X["b"]), num_boost_round=5)
    folder = write_folder(tmp_path, "booster", files={"model.pkl": booster})
    out = drumnb.load_model(folder, "regression").predict(X)
    np.testing.assert_allclose(out["Predictions"], booster.predict(xgboost.DMatrix(X)), rtol=1e-6)
