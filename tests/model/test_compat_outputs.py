"""Binary and multiclass outputs of real frameworks, as DRUM 1.18.1 writes them (observed beside drumnb):
named outputs keep the model's order; unnamed ones follow the seed's meaning, are written [positive, negative],
and come with the one warning that DRUM would assign them the other way round."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import drumnb
from fixtures import write_folder

BINARY = dict(target_type="binary", positive_class_label="yes", negative_class_label="no")
SWAP = "DRUM 1.18.1 would assign these probabilities the other way round"


@pytest.fixture(scope="module")
def xy():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = (X["a"] + 0.3 * X["b"] > 0).astype(int)
    return X, y


def _score(folder, **kwargs):
    model = drumnb.load_model(folder, **kwargs)
    return model, model.predict(pd.read_csv(folder / "in.csv"))


def test_xgboost_classifier_and_booster(tmp_path, xy):
    xgb = pytest.importorskip("xgboost")
    X, y = xy
    clf = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    folder = write_folder(tmp_path, "clf", files={"model.pkl": clf, "in.csv": X.head(5).to_csv(index=False)})
    model, out = _score(folder, **BINARY)
    # label-encoded classes 0/1 say nothing of the labels: the columns are [negative, positive] as DRUM reads them
    assert list(out.columns) == ["no", "yes"] and not model.compat_notes
    np.testing.assert_allclose(out.to_numpy(), clf.predict_proba(X.head(5)), rtol=1e-6)
    model, out = _score(folder, target_type="binary", positive_class_label="1", negative_class_label="0")
    assert list(out.columns) == ["0", "1"]
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(X, label=y), 5)
    folder = write_folder(tmp_path, "bst", files={"model.pkl": booster, "in.csv": X.head(5).to_csv(index=False)})
    model, out = _score(folder, **BINARY)
    p = booster.predict(xgb.DMatrix(X.head(5)))
    assert list(out.columns) == ["yes", "no"]  # DRUM's order for an unnamed output
    np.testing.assert_allclose(out["yes"], p, rtol=1e-6)  # the seed: one value is the positive class's
    assert len(model.compat_notes) == 1 and SWAP in model.compat_notes[0]


def test_torch_one_and_two_unnamed_columns(tmp_path, xy):
    torch = pytest.importorskip("torch")
    X, _ = xy
    torch.manual_seed(0)
    for width in (1, 2):
        net = torch.nn.Sequential(torch.nn.Linear(3, width), torch.nn.Sigmoid() if width == 1 else torch.nn.Softmax(1))
        path = tmp_path / f"t{width}"
        path.mkdir()
        torch.jit.save(torch.jit.script(net), str(path / "model.pth"))
        X.head(5).to_csv(path / "in.csv", index=False)
        model, out = _score(path, **BINARY)
        raw = net(torch.tensor(X.head(5).to_numpy(), dtype=torch.float32)).detach().numpy()
        assert list(out.columns) == ["yes", "no"]
        positive = raw[:, 0] if width == 1 else raw[:, 1]  # one value: positive; two: [negative, positive]
        np.testing.assert_allclose(out["yes"], positive, rtol=1e-5)
        assert SWAP in model.compat_notes[0]


def test_onnx_zipmap_named_and_bare_tensor_unnamed(tmp_path, xy):
    pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X, y = xy
    labels = np.where(y == 1, "yes", "no")
    clf = LogisticRegression().fit(X.to_numpy(np.float32), labels)
    for zipmap in (True, False):
        options = None if zipmap else {id(clf): {"zipmap": False}}
        onx = to_onnx(clf, X.to_numpy(np.float32)[:1], options=options, target_opset=17)
        folder = write_folder(tmp_path, f"z{zipmap}", files={"model.onnx": onx.SerializeToString(),
                                                             "in.csv": X.head(5).to_csv(index=False)})
        model, out = _score(folder, **BINARY)
        proba = clf.predict_proba(X.head(5).to_numpy(np.float32))  # classes_ ["no", "yes"]
        if zipmap:  # ZipMap's keys name the columns: the model's order, no warning
            assert list(out.columns) == ["no", "yes"] and not model.compat_notes
        else:
            assert list(out.columns) == ["yes", "no"] and SWAP in model.compat_notes[0]
        np.testing.assert_allclose(out[["no", "yes"]].to_numpy(), proba, atol=1e-6)  # float32 graph


def test_keras_sigmoid_is_the_positive_class(tmp_path, xy):
    keras = pytest.importorskip("keras")
    X, _ = xy
    net = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    folder = write_folder(tmp_path, "k", files={"in.csv": X.head(5).to_csv(index=False)})
    net.save(folder / "model.keras")
    model, out = _score(folder, **BINARY)
    assert list(out.columns) == ["yes", "no"]
    np.testing.assert_allclose(out["yes"], net.predict(X.head(5).to_numpy("float32"), verbose=0)[:, 0], rtol=1e-5)
    assert SWAP in model.compat_notes[0]


def test_sklearn_named_classes_keep_the_models_order_through_cli_and_server(tmp_path, xy):
    import io

    import requests
    from sklearn.linear_model import LogisticRegression

    from conftest import run_cli
    from drumnb.server.background import serve

    X, y = xy
    clf = LogisticRegression().fit(X, np.where(y == 1, "yes", "no"))
    folder = write_folder(tmp_path, "sk", files={"model.pkl": clf, "in.csv": X.head(3).to_csv(index=False)})
    proc = run_cli("score", "-cd", str(folder), "--input", str(folder / "in.csv"), "--target-type", "binary",
                   "--positive-class-label", "yes", "--negative-class-label", "no")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == b"no,yes"
    np.testing.assert_allclose(pd.read_csv(io.BytesIO(proc.stdout)).to_numpy(), clf.predict_proba(X.head(3)))
    with serve(str(folder), "binary", positive_class_label="yes", negative_class_label="no") as srv:
        r = requests.post(srv.url + "/predict/", data=X.head(3).to_csv(index=False),
                          headers={"Content-Type": "text/csv"}, timeout=30)
        assert [list(row) for row in r.json()["predictions"]] == [["no", "yes"]] * 3
