"""Target types, labels and every rule of the output contract."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import drumnb
from drumnb.core.errors import ConfigurationError, ContractError, InputError, UnsupportedError
from fixtures import ConstantRegressor, frame, write_folder


def scoring_folder(tmp_path, body: str, name="m"):
    return write_folder(tmp_path, name, f"""
        import numpy as np
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def score(data, model, **kwargs):
            n = len(data)
            {body}
    """)


BINARY = dict(target_type="binary", positive_class_label="yes", negative_class_label="no")


@pytest.mark.parametrize("body,kwargs,rule", [
    ("return pd.DataFrame({'Predictions': [1.0] * (n + 1)})", {"target_type": "regression"}, "one prediction per row"),
    ("return pd.DataFrame({'pred': [1.0] * n})", {"target_type": "regression"}, "a 'Predictions' column"),
    ("return [1.0] * n", {"target_type": "regression"}, "a DataFrame"),
    ("return pd.DataFrame({'Predictions': ['a'] * n})", {"target_type": "regression"}, "numeric predictions"),
    ("return pd.DataFrame({'Predictions': [np.nan] * n})", {"target_type": "regression"}, "no missing predictions"),
    ("return pd.DataFrame({'yes': [0.5] * n})", BINARY, "one column per class label"),
    ("return pd.DataFrame({'yes': [0.7] * n, 'no': [0.7] * n})", BINARY, "rows sum to 1"),
    ("return pd.DataFrame({'yes': [1.5] * n, 'no': [-0.5] * n})", BINARY, "probabilities in [0, 1]"),
    ("return pd.DataFrame([[0.5, 0.5]] * n, columns=['a', 'a'])", {"target_type": "multiclass",
                                                                   "class_labels": ["a", "b"]}, "unique columns"),
])
def test_each_contract_rule_violated_once(tmp_path, body, kwargs, rule):
    model = drumnb.load_model(scoring_folder(tmp_path, body), **kwargs)
    with pytest.raises(ContractError) as info:
        model.predict(frame(4))
    assert info.value.rule == rule
    assert "the 'score' hook" in str(info.value)
    if rule not in ("one prediction per row", "a DataFrame", "a 'Predictions' column", "one column per class label",
                    "unique columns"):
        assert "offending row" in str(info.value)


def test_float32_probabilities_within_tolerance_pass(tmp_path):
    body = """p = np.random.default_rng(0).dirichlet([1, 1, 1], size=n).astype('float32')
            return pd.DataFrame(p, columns=['a', 'b', 'c'])"""
    out = drumnb.load_model(scoring_folder(tmp_path, body), "multiclass", class_labels=["a", "b", "c"]).predict(frame(50))
    assert list(out.columns) == ["a", "b", "c"]


def test_label_columns_reordered_matched_as_strings_and_extras_kept_last(tmp_path):
    body = "return pd.DataFrame({'note': ['x'] * n, 1: [0.25] * n, 0: [0.75] * n})"
    out = drumnb.load_model(scoring_folder(tmp_path, body), "binary", positive_class_label=1,
                            negative_class_label=0).predict(frame(3))
    assert list(out.columns) == ["0", "1", "note"]


def test_builtin_binary_one_value_is_positive_probability(tmp_path):
    class OneProba:
        pass

    folder = write_folder(tmp_path, "m", """
        import numpy as np
        def load_model(code_dir):
            class M:
                def predict_proba(self, X):
                    return np.full(len(X), 0.8)
            return M()
    """)
    out = drumnb.load_model(folder, **BINARY).predict(frame(2))
    assert out.to_dict("list") == {"no": [pytest.approx(0.2)] * 2, "yes": [0.8, 0.8]}


def test_builtin_multiclass_columns_follow_label_order(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = frame(60)
    y = np.array(["cat", "dog", "eel"])[np.arange(60) % 3]
    clf = LogisticRegression().fit(X, y)
    folder = write_folder(tmp_path, "m", files={"m.pkl": clf})
    out = drumnb.load_model(folder, "multiclass", class_labels=["eel", "cat", "dog"]).predict(X)
    assert list(out.columns) == ["eel", "cat", "dog"]
    np.testing.assert_allclose(out.to_numpy(), clf.predict_proba(X)[:, [2, 0, 1]])


def test_target_type_resolution_order(tmp_path, monkeypatch, caplog):
    folder = write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor(),
                                                "model-metadata.yaml": "targetType: anomaly\n"})
    monkeypatch.delenv("TARGET_TYPE", raising=False)
    assert drumnb.load_model(folder).target_type == "anomaly"
    monkeypatch.setenv("TARGET_TYPE", "regression")
    assert drumnb.load_model(folder).target_type == "regression"
    assert drumnb.load_model(folder, "transform").target_type == "transform"
    monkeypatch.delenv("TARGET_TYPE")
    (folder / "model-metadata.yaml").unlink()
    caplog.clear()
    assert drumnb.load_model(folder).target_type == "regression"
    assert any("assuming regression" in r.getMessage() for r in caplog.records)


def test_labels_from_env_file_metadata_and_inference(tmp_path, monkeypatch):
    for k in ("TARGET_TYPE", "POSITIVE_CLASS_LABEL", "NEGATIVE_CLASS_LABEL", "CLASS_LABELS"):
        monkeypatch.delenv(k, raising=False)
    folder = write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor()})
    monkeypatch.setenv("POSITIVE_CLASS_LABEL", "yes")
    monkeypatch.setenv("NEGATIVE_CLASS_LABEL", "no")
    m = drumnb.load_model(folder)
    assert (m.target_type, m.labels) == ("binary", ["no", "yes"])
    monkeypatch.delenv("POSITIVE_CLASS_LABEL")
    monkeypatch.delenv("NEGATIVE_CLASS_LABEL")
    monkeypatch.setenv("CLASS_LABELS", "a b 'c d'")
    m = drumnb.load_model(folder)
    assert (m.target_type, m.labels) == ("multiclass", ["a", "b", "c d"])
    monkeypatch.delenv("CLASS_LABELS")
    (folder / "class_labels.txt").write_text("x\ny\nz\n")
    assert drumnb.load_model(folder, "multiclass").labels == ["x", "y", "z"]
    (folder / "model-metadata.yaml").write_text("targetType: binary\ninferenceModel:\n  positiveClassLabel: 1\n"
                                                "  negativeClassLabel: 0\n")
    m = drumnb.load_model(folder)
    assert (m.target_type, m.labels) == ("binary", ["0", "1"])


def test_configuration_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("TARGET_TYPE", raising=False)
    folder = write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor()})
    with pytest.raises(ConfigurationError, match="positive and a negative") as info:
        drumnb.load_model(folder, "binary", positive_class_label="yes")
    assert "--negative-class-label" in info.value.hint
    with pytest.raises(ConfigurationError, match="needs its class labels"):
        drumnb.load_model(folder, "multiclass")
    with pytest.raises(ConfigurationError, match="unknown target type") as info:
        drumnb.load_model(folder, "regresion")
    assert "did you mean 'regression'" in info.value.hint
    for t in ("multilabel", "geopoint", "vectordatabase", "agenticworkflow"):
        with pytest.raises(UnsupportedError, match="not supported yet"):
            drumnb.load_model(folder, t)
    with pytest.raises(ConfigurationError, match="model folder not found"):
        drumnb.load_model(tmp_path / "nope")


def test_input_errors_are_422(tmp_path):
    from sklearn.linear_model import LinearRegression

    X = frame(20)
    folder = write_folder(tmp_path, "m", files={"m.pkl": LinearRegression().fit(X, X.sum(axis=1))})
    model = drumnb.load_model(folder, "regression")
    with pytest.raises(InputError, match=r"lacks 1 column.*'x2'") as info:
        model.predict(X.drop(columns="x2"))
    assert info.value.status == 422
    with pytest.raises(InputError, match="no rows"):
        model.predict(X.iloc[:0])
    # extra columns are dropped and order does not matter
    shuffled = X.assign(id=range(20))[["id", "x2", "x0", "x1"]]
    pd.testing.assert_frame_equal(model.predict(shuffled), model.predict(X))


def test_metadata_errors_and_unknown_keys(tmp_path):
    folder = write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor(),
                                                "model-metadata.yaml": "targetType: [\n"})
    with pytest.raises(ConfigurationError, match="not valid YAML at line"):
        drumnb.load_model(folder)
    (folder / "model-metadata.yaml").write_text("targetTyp: regression\n")
    with pytest.warns(UserWarning, match="did you mean 'targetType'"):
        drumnb.load_model(folder, "regression")


def test_textgeneration_returns_one_text_column(tmp_path):
    body = "return pd.DataFrame({'Predictions': ['echo: ' + str(p) for p in data['prompt']]})"
    out = drumnb.load_model(scoring_folder(tmp_path, body), "textgeneration").predict(
        pd.DataFrame({"prompt": ["hi", "there"]}))
    assert out["Predictions"].tolist() == ["echo: hi", "echo: there"]


def test_anomaly_and_dense_transform_builtin(tmp_path):
    from sklearn.ensemble import IsolationForest
    from sklearn.preprocessing import StandardScaler

    X = frame(50)
    iso = IsolationForest(n_estimators=10, random_state=0).fit(X)
    out = drumnb.load_model(write_folder(tmp_path, "a", files={"m.pkl": iso}), "anomaly").predict(X)
    assert out["Predictions"].tolist() == iso.predict(X).tolist()
    scaler = StandardScaler().fit(X)
    out = drumnb.load_model(write_folder(tmp_path, "t", files={"m.pkl": scaler}), "transform").predict(X)
    assert list(out.columns) == ["x0", "x1", "x2"]
    np.testing.assert_allclose(out.to_numpy(), scaler.transform(X))
