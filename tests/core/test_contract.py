"""Target types, labels and every rule of the output contract."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import drumnb
from drumnb.core.errors import ConfigurationError, ContractError, InputError
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
    ("return pd.DataFrame({'pred': [1.0] * n, 'x': 1})", {"target_type": "regression"}, "a 'Predictions' column"),
    ("return [1.0] * n", {"target_type": "regression"}, "a DataFrame"),
    ("return pd.DataFrame({'Predictions': ['a'] * n})", {"target_type": "regression"}, "numeric predictions"),
    ("return pd.DataFrame({'Predictions': [np.nan] * n})", {"target_type": "regression"}, "finite predictions"),
    ("return pd.DataFrame({'Predictions': [np.inf] * n})", {"target_type": "regression"}, "finite predictions"),
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


def test_one_regression_column_is_the_prediction_whatever_its_name(tmp_path):
    out = drumnb.load_model(scoring_folder(tmp_path, "return pd.DataFrame({'a': [1.5] * n})"), "regression").predict(
        frame(2))
    assert out.to_dict("list") == {"Predictions": [1.5, 1.5]}  # as DRUM 1.18.1 writes it


def test_float32_probabilities_within_tolerance_pass(tmp_path):
    body = """p = np.random.default_rng(0).dirichlet([1, 1, 1], size=n).astype('float32')
            return pd.DataFrame(p, columns=['a', 'b', 'c'])"""
    out = drumnb.load_model(scoring_folder(tmp_path, body), "multiclass", class_labels=["a", "b", "c"]).predict(frame(50))
    assert list(out.columns) == ["a", "b", "c"]


def test_label_columns_keep_the_hooks_order_matched_as_strings_and_extras_kept_last(tmp_path):
    body = "return pd.DataFrame({'note': ['x'] * n, 1: [0.25] * n, 0: [0.75] * n})"
    out = drumnb.load_model(scoring_folder(tmp_path, body), "binary", positive_class_label=1,
                            negative_class_label=0).predict(frame(3))
    assert list(out.columns) == ["1", "0", "note"]  # DRUM keeps the hook's column order


def test_a_binary_hooks_unnamed_columns_are_negative_then_positive(tmp_path):
    out = drumnb.load_model(scoring_folder(tmp_path, "return pd.DataFrame([[0.9, 0.1]] * n)"), **BINARY).predict(frame(2))
    assert list(out.columns) == ["no", "yes"] and out.iloc[0].tolist() == [0.9, 0.1]
    with pytest.raises(ContractError, match=r"missing label column"):  # DRUM refuses unnamed multiclass columns too
        drumnb.load_model(scoring_folder(tmp_path, "return pd.DataFrame([[0.9, 0.1]] * n)", "mc"), "multiclass",
                          class_labels=["a", "b"]).predict(frame(2))


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
    model = drumnb.load_model(folder, **BINARY)
    out = model.predict(frame(2))
    # the seed's meaning (one value = the positive class), written [positive, negative] as DRUM writes unnamed outputs
    assert list(out.columns) == ["yes", "no"]
    assert out.to_dict("list") == {"yes": [0.8, 0.8], "no": [pytest.approx(0.2)] * 2}
    assert len(model.compat_notes) == 1 and "DRUM 1.18.1 would assign these probabilities" in model.compat_notes[0]
    model.predict(frame(2))
    assert len(model.compat_notes) == 1  # said once


def test_builtin_binary_two_unnamed_values_are_negative_then_positive(tmp_path, caplog):
    folder = write_folder(tmp_path, "m", """
        import numpy as np
        def load_model(code_dir):
            class M:
                def predict_proba(self, X):
                    return np.tile([0.3, 0.7], (len(X), 1))
            return M()
    """)
    out = drumnb.load_model(folder, **BINARY).predict(frame(2))
    assert list(out.columns) == ["yes", "no"] and out.iloc[0].tolist() == [0.7, 0.3]
    assert sum("would assign these probabilities the other way round" in r.getMessage() for r in caplog.records) == 1


def test_multiclass_with_two_labels_and_one_value_is_the_second_labels_probability(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import numpy as np
        def load_model(code_dir):
            class M:
                def predict_proba(self, X):
                    return np.full(len(X), 0.25)
            return M()
    """)
    out = drumnb.load_model(folder, "multiclass", class_labels=["a", "b"]).predict(frame(2))
    assert out.to_dict("list") == {"a": [0.75, 0.75], "b": [0.25, 0.25]}


def test_a_classifier_whose_classes_are_not_the_labels_fails_at_load(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = frame(40)
    clf = LogisticRegression().fit(X, np.array(["cat", "dog"])[np.arange(40) % 2])
    folder = write_folder(tmp_path, "m", files={"m.pkl": clf})
    with pytest.raises(ConfigurationError) as info:
        drumnb.load_model(folder, **BINARY)
    assert "['cat', 'dog']" in str(info.value) and "['no', 'yes']" in str(info.value)
    yes_no = LogisticRegression().fit(X, np.array(["no", "yes"])[np.arange(40) % 2])
    folder = write_folder(tmp_path, "yn", files={"m.pkl": yes_no})
    # DRUM's loose match: case-insensitive, and yes ~ 1, no ~ 0; the output uses the labels as given
    out = drumnb.load_model(folder, "binary", positive_class_label="Yes", negative_class_label="No").predict(X)
    assert list(out.columns) == ["No", "Yes"]
    out = drumnb.load_model(folder, "binary", positive_class_label="0", negative_class_label="1").predict(X)
    assert list(out.columns) == ["0", "1"]  # "1" is matched to yes whichever is called positive (as DRUM)
    np.testing.assert_allclose(out.to_numpy(), yes_no.predict_proba(X))
    ints = LogisticRegression().fit(X, np.arange(40) % 2)  # classes_ [0, 1] match the labels "0" / "1"
    out = drumnb.load_model(write_folder(tmp_path, "i", files={"m.pkl": ints}), "binary", positive_class_label="1",
                            negative_class_label="0").predict(X)
    assert list(out.columns) == ["0", "1"]


def test_labels_given_must_agree_with_the_metadata(tmp_path, monkeypatch):
    for k in ("TARGET_TYPE", "POSITIVE_CLASS_LABEL", "NEGATIVE_CLASS_LABEL", "CLASS_LABELS"):
        monkeypatch.delenv(k, raising=False)
    meta = "targetType: binary\npositiveClassLabel: yes\nnegativeClassLabel: no\n"
    folder = write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor(), "model-metadata.yaml": meta})
    m = drumnb.load_model(folder)
    assert (m.config.positive_class_label, m.config.negative_class_label) == ("yes", "no")  # YAML's yes stays "yes"
    assert drumnb.load_model(folder, positive_class_label="yes").labels == ["no", "yes"]
    with pytest.raises(ConfigurationError) as info:
        drumnb.load_model(folder, positive_class_label="1", negative_class_label="0")
    assert "'1'" in str(info.value) and "'yes'" in str(info.value) and "model-metadata.yaml" in str(info.value)
    (folder / "model-metadata.yaml").write_text("targetType: multiclass\nclassLabels: [on, off, maybe]\n")
    assert drumnb.load_model(folder).labels == ["on", "off", "maybe"]
    with pytest.raises(ConfigurationError, match=r"\['a', 'b', 'c'\] differ from model-metadata.yaml's"):
        drumnb.load_model(folder, class_labels=["a", "b", "c"])
    monkeypatch.setenv("CLASS_LABELS", "x y z")
    with pytest.raises(ConfigurationError, match="differ from"):
        drumnb.load_model(folder)


def test_builtin_multiclass_columns_follow_the_models_classes(tmp_path):
    from sklearn.linear_model import LogisticRegression

    X = frame(60)
    y = np.array(["cat", "dog", "eel"])[np.arange(60) % 3]
    clf = LogisticRegression().fit(X, y)
    folder = write_folder(tmp_path, "m", files={"m.pkl": clf})
    out = drumnb.load_model(folder, "multiclass", class_labels=["eel", "cat", "dog"]).predict(X)
    assert list(out.columns) == ["cat", "dog", "eel"]  # the classifier's classes_ order, as DRUM writes it
    np.testing.assert_allclose(out.to_numpy(), clf.predict_proba(X))


def test_target_type_resolution_order(tmp_path, monkeypatch, caplog):
    folder = write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor(),
                                                "model-metadata.yaml": "targetType: anomaly\n"})
    monkeypatch.delenv("TARGET_TYPE", raising=False)
    assert drumnb.load_model(folder).target_type == "anomaly"
    monkeypatch.setenv("TARGET_TYPE", "anomaly")
    assert drumnb.load_model(folder).target_type == "anomaly"
    monkeypatch.setenv("TARGET_TYPE", "regression")  # a target type that disagrees with the metadata (DRUM: error)
    with pytest.raises(ConfigurationError, match="'regression'.*differs from model-metadata.yaml's \\('anomaly'\\)"):
        drumnb.load_model(folder)
    with pytest.raises(ConfigurationError, match="differs"):
        drumnb.load_model(folder, "transform")
    monkeypatch.delenv("TARGET_TYPE")
    (folder / "model-metadata.yaml").unlink()
    assert drumnb.load_model(folder, "transform").target_type == "transform"
    monkeypatch.setenv("TARGET_TYPE", "regression")
    assert drumnb.load_model(folder, "anomaly").target_type == "anomaly"  # the flag before the variable
    monkeypatch.delenv("TARGET_TYPE")
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
    with pytest.raises(ConfigurationError, match="model folder not found"):
        drumnb.load_model(tmp_path / "nope")


def test_target_types_are_one_str_enum(tmp_path, monkeypatch):
    """TargetType is the one list: a member equals and formats as its string; the resolved type stays a str."""
    from drumnb.core import contract
    from drumnb.core.contract import TargetType

    monkeypatch.delenv("TARGET_TYPE", raising=False)
    assert contract.SUPPORTED == tuple(t.value for t in TargetType) and len(TargetType) == 11
    assert TargetType.BINARY == "binary" and "binary" in (TargetType.BINARY,) and f"{TargetType.BINARY}" == "binary"
    assert {TargetType.REGRESSION: 1}["regression"] == 1 and contract.UNSTRUCTURED == TargetType.UNSTRUCTURED
    assert TargetType.parse(" Anomaly ") is TargetType.ANOMALY
    with pytest.raises(ValueError, match="did you mean 'multiclass'"):
        TargetType.parse("multiclas")
    model = drumnb.load_model(write_folder(tmp_path, "m", files={"m.pkl": ConstantRegressor()}),
                              TargetType.REGRESSION)
    assert model.target_type == TargetType.REGRESSION and type(model.target_type) is str


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


@pytest.mark.parametrize("target_type", ["textgeneration", "vectordatabase", "agenticworkflow"])
def test_text_outputs_are_picked_by_the_target_name_and_written_as_predictions(tmp_path, target_type):
    """As DRUM 1.18.1 does: one column is the prediction whatever its name; of several, the target's."""
    prompts = pd.DataFrame({"prompt": ["hi", "there"]})
    cases = {
        "return pd.DataFrame({'anything': ['echo: ' + p for p in data['prompt']]})": (["Predictions"], None),
        "return pd.DataFrame({'extra': [1, 2], 'completion': ['a', 'b']})": (["Predictions", "extra"], None),
        "return pd.DataFrame({'completion': [{'k': 1}, 'x']})": (["Predictions"], None),
        "return pd.DataFrame({'Predictions': ['a', 'b'], 'extra': [1, 2]})": (None, "a 'completion' column"),
        "return pd.DataFrame({'Predictions': ['a', 'b'], 'completion': ['a', 'b']})": (None, "unique columns"),
    }
    for i, (body, (columns, rule)) in enumerate(cases.items()):
        model = drumnb.load_model(scoring_folder(tmp_path, body, f"m{i}"), target_type, target_name="completion")
        if rule:
            with pytest.raises(ContractError) as info:
                model.predict(prompts)
            assert info.value.rule == rule
            continue
        out = model.predict(prompts)
        assert list(out.columns) == columns
    assert out["Predictions"].tolist() == [{"k": 1}, "x"]  # values pass through, not cast
    # DRUM refuses to load without TARGET_NAME; drumnb asks for it only when it must pick one column of several
    unnamed = drumnb.load_model(scoring_folder(tmp_path, "return data.assign(x=1)", "u"), target_type)
    with pytest.raises(ContractError, match="target name") as info:
        unnamed.predict(prompts)
    assert "TARGET_NAME" in info.value.hint


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


def test_multilabel_as_drum_checks_it(tmp_path):
    """Labels like multiclass; the hook's column order; values in [0, 1] that need not sum to 1; NaN allowed."""
    labels = {"class_labels": ["a", "b", "c"]}
    body = "return pd.DataFrame({'c': [0.9, 0.2], 'b': [0.8, np.nan], 'a': [0.7, 0.05], 'e': [3, 4]})"
    out = drumnb.load_model(scoring_folder(tmp_path, body), "multilabel", **labels).predict(frame(2))
    assert list(out.columns) == ["c", "b", "a", "e"] and out["c"].tolist() == [0.9, 0.2]
    for i, (bad, rule) in enumerate([("{'a': [1.5] * n, 'b': 0.1, 'c': 0.1}", "probabilities in [0, 1]"),
                                     ("{'a': [0.5] * n, 'b': 0.1}", "one column per class label"),
                                     ("{'a': [np.inf] * n, 'b': 0.1, 'c': 0.1}", "finite predictions")]):
        model = drumnb.load_model(scoring_folder(tmp_path, f"return pd.DataFrame({bad})", f"bad{i}"), "multilabel",
                                  **labels)
        with pytest.raises(ContractError) as info:
            model.predict(frame(2))
        assert info.value.rule == rule
    with pytest.raises(ConfigurationError, match="needs its class labels"):
        drumnb.load_model(scoring_folder(tmp_path, body, "nolabels"), "multilabel")


def test_geopoint_values_pass_through(tmp_path):
    body = "return pd.DataFrame({'where': ['POINT (1 2)'] * n})"
    out = drumnb.load_model(scoring_folder(tmp_path, body), "geopoint").predict(frame(2))
    assert out.to_dict("list") == {"Predictions": ["POINT (1 2)"] * 2}
    two = "return pd.DataFrame({'latitude': [1.0] * n, 'longitude': [2.0] * n})"
    with pytest.raises(ContractError, match="'Predictions' column"):  # several columns: one must be Predictions
        drumnb.load_model(scoring_folder(tmp_path, two, "two"), "geopoint").predict(frame(2))


def test_a_transform_hook_with_three_arguments_gets_y(tmp_path):
    folder = write_folder(tmp_path, "t", """
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def transform(data, model, y):
            return data.assign(y_seen=None if y is None else y.iloc[:, 0].tolist())
    """)
    model = drumnb.load_model(folder, "transform")
    out = model.predict(frame(2), y=b"target\n7\n8\n")
    assert out["y_seen"].tolist() == [7, 8]
    assert model.predict(frame(2))["y_seen"].isna().all()
