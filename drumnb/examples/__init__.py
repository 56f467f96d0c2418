"""Builders of example model folders, one per framework, from data that ships
inside scikit-learn (no downloads).

``python -m drumnb.examples DIR`` writes ``DIR/<name>/`` model folders and
``DIR/data/<name>.csv`` inputs; ``--score`` then scores each with
``drumnb score``.  Builders whose framework is not installed are skipped.
"""
from __future__ import annotations

import importlib.util
import json
import os
import textwrap
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

STAMP = ".drumnb-example"


@dataclass(frozen=True)
class Example:
    name: str
    needs: tuple[str, ...]
    build: Callable[[str], pd.DataFrame]  # writes the folder, returns the input data
    flags: tuple[str, ...] = ()
    doc: str = ""


def _diabetes() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_diabetes

    d = load_diabetes(as_frame=True)
    return d.data, d.target.to_numpy()


def _cancer() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer(as_frame=True)
    return d.data, np.where(d.target.to_numpy() == 1, "benign", "malignant")


def _iris() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_iris

    d = load_iris(as_frame=True)
    return d.data, np.asarray(d.target_names)[d.target.to_numpy()]


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(textwrap.dedent(text).lstrip())


def _regression_metadata(d: str, name: str) -> None:
    """The folder says its target type itself, so nothing has to assume it (drumnb score, the sidebar)."""
    _write(f"{d}/model-metadata.yaml", f"name: {name}\ntype: inference\ntargetType: regression\n")


def _pickle(obj: object, path: str) -> None:
    import pickle

    with open(path, "wb") as fh:
        pickle.dump(obj, fh)


def build_sklearn_regressor(d: str) -> pd.DataFrame:
    from sklearn.ensemble import RandomForestRegressor

    X, y = _diabetes()
    _pickle(RandomForestRegressor(n_estimators=30, max_depth=6, random_state=0).fit(X, y), f"{d}/model.pkl")
    _write(f"{d}/model-metadata.yaml", "name: diabetes random forest\ntype: inference\ntargetType: regression\n")
    return X


def build_sklearn_binary(d: str) -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _cancer()
    _pickle(make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y), f"{d}/model.pkl")
    _write(f"{d}/model-metadata.yaml", """
        name: breast cancer logistic regression
        type: inference
        targetType: binary
        inferenceModel:
          targetName: diagnosis
          positiveClassLabel: malignant
          negativeClassLabel: benign
        """)
    return X


def build_sklearn_multiclass(d: str) -> pd.DataFrame:
    from sklearn.tree import DecisionTreeClassifier

    X, y = _iris()
    _pickle(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y), f"{d}/model.pkl")
    _write(f"{d}/class_labels.txt", "setosa\nversicolor\nvirginica\n")
    return X


def build_xgboost_regressor(d: str) -> pd.DataFrame:
    import xgboost

    X, y = _diabetes()
    _pickle(xgboost.XGBRegressor(n_estimators=30, max_depth=3, n_jobs=1).fit(X, y), f"{d}/model.pkl")
    _regression_metadata(d, "diabetes xgboost")
    return X


def build_torch_regressor(d: str) -> pd.DataFrame:
    import torch

    X, y = _diabetes()
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    xt = torch.tensor(X.to_numpy(), dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        opt.step()
    torch.jit.script(net.eval()).save(f"{d}/model.pth")
    _regression_metadata(d, "diabetes MLP (TorchScript)")
    return X


def build_keras_regressor(d: str) -> pd.DataFrame:
    import logging
    import warnings

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")

    X, y = _diabetes()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(X.to_numpy("float32"), y, epochs=30, verbose=0)
    keras.saving.save_model(model, f"{d}/model.h5")
    _regression_metadata(d, "diabetes MLP (Keras)")
    return X


def _onnx(model: object, n_features: int, path: str) -> None:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onx = to_onnx(model, initial_types=[("input", FloatTensorType([None, n_features]))], target_opset=17)
    with open(path, "wb") as fh:
        fh.write(onx.SerializeToString())


def build_onnx_regressor(d: str) -> pd.DataFrame:
    from sklearn.ensemble import GradientBoostingRegressor

    X, y = _diabetes()
    _onnx(GradientBoostingRegressor(n_estimators=50, random_state=0).fit(X.to_numpy(), y), X.shape[1],
          f"{d}/model.onnx")
    _regression_metadata(d, "diabetes gradient boosting (ONNX)")
    return X


def build_onnx_binary(d: str) -> pd.DataFrame:
    from sklearn.linear_model import LogisticRegression

    X, y = _cancer()
    y01 = (y == "malignant").astype(int)
    _onnx(LogisticRegression(max_iter=5000).fit(X.to_numpy(), y01), X.shape[1], f"{d}/model.onnx")
    _write(f"{d}/model-metadata.yaml", """
        name: breast cancer logistic regression (ONNX)
        type: inference
        targetType: binary
        inferenceModel:
          positiveClassLabel: "1"
          negativeClassLabel: "0"
        """)
    return X


def build_anomaly(d: str) -> pd.DataFrame:
    from sklearn.ensemble import IsolationForest

    X, _ = _diabetes()
    _pickle(IsolationForest(n_estimators=50, random_state=0).fit(X), f"{d}/model.pkl")
    _write(f"{d}/model-metadata.yaml", "name: diabetes outliers\ntype: inference\ntargetType: anomaly\n")
    return X


def build_transform(d: str) -> pd.DataFrame:
    from sklearn.preprocessing import StandardScaler

    X, _ = _diabetes()
    _pickle(StandardScaler().fit(X), f"{d}/model.pkl")
    _write(f"{d}/model-metadata.yaml", "name: diabetes scaler\ntype: inference\ntargetType: transform\n")
    return X


ALL_HOOKS = '''
    """Every structured hook DRUM calls, in the order it calls them."""
    import io
    import os
    import pickle

    import pandas as pd

    from datarobot_drum import RuntimeParameters  # works with drumnb even without DRUM installed

    STATE = {}


    def init(code_dir, **kwargs):
        """Once, before load_model: read settings that hooks share."""
        STATE["init"] = code_dir


    def load_model(code_dir):
        """Load the artifact ourselves (its name is not one a built-in predictor reads)."""
        with open(os.path.join(code_dir, "forest.bin"), "rb") as fh:
            return pickle.load(fh)


    def read_input_data(input_binary_data):
        """Parse the request bytes; here: CSV, with '?' also meaning missing."""
        return pd.read_csv(io.BytesIO(input_binary_data), na_values=["?"])


    def transform(data, model):
        """Prepare features: fill missing values with 0."""
        return data.fillna(0)


    def score(data, model, **kwargs):
        """Predict, and return one extra column (a per-row spread of the trees)."""
        import numpy as np

        per_tree = np.stack([tree.predict(data.to_numpy()) for tree in model.estimators_])
        return pd.DataFrame({"Predictions": per_tree.mean(axis=0), "spread": per_tree.std(axis=0)})


    def post_process(predictions, model):
        """Round the predictions to 3 decimals."""
        return predictions.round(3)
'''


def build_all_hooks(d: str) -> pd.DataFrame:
    from sklearn.ensemble import RandomForestRegressor

    X, y = _diabetes()
    _pickle(RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(X, y), f"{d}/forest.bin")
    _write(f"{d}/custom.py", ALL_HOOKS)
    _write(f"{d}/model-metadata.yaml", "name: every hook\ntype: inference\ntargetType: regression\n")
    return X


EXAMPLES = [
    Example("sklearn_regressor", ("sklearn",), build_sklearn_regressor, doc="random forest, diabetes"),
    Example("sklearn_binary", ("sklearn",), build_sklearn_binary, doc="logistic regression, breast cancer"),
    Example("sklearn_multiclass", ("sklearn",), build_sklearn_multiclass, ("--target-type", "multiclass"),
            doc="decision tree, iris; labels from class_labels.txt"),
    Example("xgboost_regressor", ("sklearn", "xgboost"), build_xgboost_regressor, ("--target-type", "regression")),
    Example("torch_regressor", ("sklearn", "torch"), build_torch_regressor, ("--target-type", "regression"),
            doc="TorchScript MLP"),
    Example("keras_regressor", ("sklearn", "tensorflow"), build_keras_regressor, ("--target-type", "regression")),
    Example("onnx_regressor", ("sklearn", "skl2onnx", "onnxruntime"), build_onnx_regressor,
            ("--target-type", "regression")),
    Example("onnx_binary", ("sklearn", "skl2onnx", "onnxruntime"), build_onnx_binary),
    Example("sklearn_anomaly", ("sklearn",), build_anomaly),
    Example("sklearn_transform", ("sklearn",), build_transform),
    Example("all_hooks", ("sklearn",), build_all_hooks, doc="init, load_model, read_input_data, transform, "
            "score, post_process"),
]


def available(example: Example) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in example.needs)


def build(out_dir: str, names: list[str] | None = None, *, rows: int = 40, force: bool = False) -> dict[str, str]:
    """Build the example folders under ``out_dir``; returns ``{name: folder}`` of those built or present."""
    from .._version import __version__

    os.makedirs(os.path.join(out_dir, "data"), exist_ok=True)
    built = {}
    for ex in EXAMPLES:
        if names and ex.name not in names:
            continue
        if not available(ex):
            print(f"skip {ex.name}: needs {', '.join(ex.needs)}")
            continue
        folder = os.path.join(out_dir, ex.name)
        stamp = os.path.join(folder, STAMP)
        if not force and os.path.isfile(stamp) and open(stamp).read() == __version__:
            built[ex.name] = folder
            continue
        os.makedirs(folder, exist_ok=True)
        X = ex.build(folder)
        X.head(rows).to_csv(os.path.join(out_dir, "data", f"{ex.name}.csv"), index=False)
        with open(stamp, "w") as fh:
            fh.write(__version__)
        built[ex.name] = folder
    with open(os.path.join(out_dir, "examples.json"), "w") as fh:
        json.dump({ex.name: {"flags": list(ex.flags), "doc": ex.doc} for ex in EXAMPLES if ex.name in built},
                  fh, indent=1)
    return built
