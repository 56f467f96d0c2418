"""The `datarobot_drum` stand-in: every name DRUM's public templates import, custom task folders, CustomHTTPError.

Folders here import names the way DataRobot's public model templates, task
templates and test fixtures do.  Expected outputs are what DRUM 1.18.1 gave
on the same kind of folder (observed beside drumnb: a task trained by
``drum fit`` and scored by ``drum score``, byte for byte; ``CustomHTTPError``
answered with its status and ``{"message": ...}``).
"""
from __future__ import annotations

import importlib.util
import json
import pickletools
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import requests
from conftest import run_cli
from fixtures import write_folder
from server_support import csv_bytes, data, start_server

import drumnb
from drumnb.core.errors import ConfigurationError, DrumnbError, HookLoadError
from drumnb.core.hooks import folder_imports, load_python_hooks

assert start_server  # a fixture, used by name below


def _real_drum_installed() -> bool:
    mod = sys.modules.get("datarobot_drum")
    if mod is not None:
        return not getattr(mod, "__drumnb_shim__", False)
    return importlib.util.find_spec("datarobot_drum") is not None


pytestmark = pytest.mark.skipif(_real_drum_installed(), reason="DRUM itself is installed: the stand-in stays out")


def train(folder, X, y=None):
    """Fit the folder's CustomTask and save it into the folder, as ``drum fit --output`` leaves it."""
    hooks = load_python_hooks(str(folder))
    with folder_imports(str(folder)):
        task = hooks.task()
        task.fit(X, y)
        task.save(str(folder))
    return folder


# --- every public name, imported as the templates import it -----------------------------------

ALL_NAMES = """
    import pandas as pd
    import datarobot_drum as drum
    from datarobot_drum import RuntimeParameters, CustomHTTPError
    from datarobot_drum.runtime_parameters.runtime_parameters import RuntimeParameters as RP
    from datarobot_drum.runtime_parameters.runtime_parameters_schema import RuntimeParameterTypes
    from datarobot_drum.runtime_parameters.exceptions import InvalidRuntimeParam
    from datarobot_drum.custom_task_interfaces import (
        TransformerInterface, BinaryEstimatorInterface, MulticlassEstimatorInterface,
        RegressionEstimatorInterface, AnomalyEstimatorInterface, BasicSecret, ApiTokenSecret)
    from datarobot_drum.drum.exceptions import DrumSerializationError, DrumCommonException
    from datarobot_drum.drum.enum import TargetType

    def load_model(code_dir):
        assert drum.RuntimeParameters is RuntimeParameters is RP
        assert RuntimeParameterTypes("credential") is RuntimeParameterTypes.CREDENTIAL
        assert TargetType("binary").is_classification() and not TargetType.REGRESSION.is_classification()
        assert issubclass(DrumSerializationError, Exception) and issubclass(CustomHTTPError, Exception)
        try:
            RuntimeParameters.get("NOT_DEFINED")
        except InvalidRuntimeParam:
            pass
        return RuntimeParameters.get("SCALE")

    def score(data, model, **kwargs):
        return pd.DataFrame({"Predictions": data["a"] * model})
"""


def test_every_public_name_imports_as_the_templates_do(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_RUNTIME_PARAM_SCALE", '{"type": "numeric", "payload": 3}')
    folder = write_folder(tmp_path, "m", ALL_NAMES)
    X = data(4)
    out = drumnb.load_model(folder, "regression").predict(X)
    np.testing.assert_allclose(out["Predictions"], X["a"] * 3)
    shim = sys.modules["datarobot_drum"]
    assert shim.__drumnb_shim__ and shim.__name__ == "drumnb.compat.datarobot_drum"  # a marked stand-in


def test_drum_internals_are_a_clear_import_error(tmp_path):
    folder = write_folder(tmp_path, "m", """
        from datarobot_drum.drum.adapters.model_adapters.python_model_adapter import RawPredictResponse
        def load_model(code_dir):
            return "m"
    """)
    with pytest.raises(HookLoadError) as info:
        drumnb.load_model(folder, "regression")
    err = info.value
    assert err.status == 513 and err.line == 1
    assert "datarobot_drum.drum.adapters" in str(err) and "stand-in" in str(err)
    assert "install datarobot-drum" in str(err)


# --- custom task folders ----------------------------------------------------------------------

TRANSFORMER = """
    from datarobot_drum.custom_task_interfaces import TransformerInterface

    class CustomTask(TransformerInterface):
        def fit(self, X, y, **kwargs):
            self.fit_data = X.median(axis=0, numeric_only=True, skipna=True).to_dict()
            return self

        def transform(self, X, **kwargs):
            return X.fillna(self.fit_data)
"""

BINARY = """
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from datarobot_drum.custom_task_interfaces import BinaryEstimatorInterface

    class CustomTask(BinaryEstimatorInterface):
        def fit(self, X, y, row_weights=None, **kwargs):
            self.estimator = LogisticRegression().fit(X, y)
            return self

        def predict_proba(self, X, **kwargs):
            self.seen = dict(kwargs)
            return pd.DataFrame(data=self.estimator.predict_proba(X), columns=self.estimator.classes_)
"""

MULTICLASS = BINARY.replace("BinaryEstimatorInterface", "MulticlassEstimatorInterface")

REGRESSION = """
    import pandas as pd
    from sklearn.linear_model import Ridge
    from custom_calibrator import Calibrator  # a helper module beside custom.py, pickled with the task
    from datarobot_drum.custom_task_interfaces import RegressionEstimatorInterface

    class CustomTask(RegressionEstimatorInterface):
        def fit(self, X, y, row_weights=None, **kwargs):
            self.estimator = Ridge().fit(X, y)
            self.calibrator = Calibrator(2.0)
            return self

        def predict(self, X, **kwargs):
            self.seen = dict(kwargs)
            return pd.DataFrame(data=self.calibrator(self.estimator.predict(X)))  # one unnamed column
"""

CALIBRATOR = """
    class Calibrator:
        def __init__(self, factor):
            self.factor = factor

        def __call__(self, values):
            return values * self.factor
"""

ANOMALY = """
    import pandas as pd
    from sklearn.svm import OneClassSVM
    from datarobot_drum.custom_task_interfaces import AnomalyEstimatorInterface

    class CustomTask(AnomalyEstimatorInterface):
        def fit(self, X, y, row_weights=None, **kwargs):
            assert y is None
            self.estimator = OneClassSVM().fit(X)
            return self

        def predict(self, X, **kwargs):
            return pd.DataFrame(data=self.estimator.predict(X))
"""


def _xy(n=40, seed=5):
    X = data(n, seed=seed)
    return X, pd.Series(np.where(X["a"] + X["b"] > 0, "yes", "no"), name="y")


def test_transformer_task_loads_its_artifact_and_transforms(tmp_path):
    X, _ = _xy()
    folder = train(write_folder(tmp_path, "t", TRANSFORMER), X)
    assert (folder / "drum_artifact.pkl").is_file()
    holes = X.head(6).copy()
    holes.loc[[0, 3], "b"] = np.nan
    model = drumnb.load_model(folder, "transform")
    assert model.hooks.task.__name__ == "CustomTask" and model.hooks.names == ["load_model", "transform", "score"]
    out = model.predict(holes)
    expected = holes.fillna(X.median().to_dict())
    pd.testing.assert_frame_equal(out, expected)


def test_binary_and_multiclass_tasks_score_with_predict_proba_and_drums_kwargs(tmp_path):
    X, y = _xy()
    binary = train(write_folder(tmp_path, "b", BINARY), X, y)
    model = drumnb.load_model(binary, "binary", positive_class_label="yes", negative_class_label="no")
    out = model.predict(X.head(5))
    assert list(out.columns) == ["no", "yes"]  # the estimator's classes_, as DRUM writes them
    np.testing.assert_array_equal(out.to_numpy(), model.model.estimator.predict_proba(X.head(5)))
    assert model.model.seen == {"positive_class_label": "yes", "negative_class_label": "no"}

    y3 = pd.Series(np.array(["r", "g", "b"])[np.argmax(X.to_numpy(), axis=1)])
    multi = train(write_folder(tmp_path, "mc", MULTICLASS), X, y3)
    model = drumnb.load_model(multi, "multiclass", class_labels=["b", "g", "r"])
    out = model.predict(X.head(5))
    assert list(out.columns) == ["b", "g", "r"]
    assert model.model.seen == {"class_labels": ["b", "g", "r"]}


def test_regression_and_anomaly_tasks_score_with_predict(tmp_path):
    X, _ = _xy()
    y = X["a"] * 2 + X["c"]
    folder = train(write_folder(tmp_path, "r", REGRESSION, files={"custom_calibrator.py": CALIBRATOR}), X, y)
    model = drumnb.load_model(folder, "regression")
    out = model.predict(X.head(5))
    assert list(out.columns) == ["Predictions"]  # DRUM reads the one unnamed column as the predictions
    np.testing.assert_array_equal(out["Predictions"], model.model.estimator.predict(X.head(5)) * 2.0)
    assert model.model.seen == {}

    anomaly = train(write_folder(tmp_path, "an", ANOMALY), X)
    out = drumnb.load_model(anomaly, "anomaly").predict(X.head(5))
    assert list(out.columns) == ["Predictions"] and set(out["Predictions"]) <= {-1, 1}


def test_task_saved_here_is_pickled_as_drum_fit_writes_it(tmp_path):
    """``custom.CustomTask`` in the artifact: a task saved by drumnb loads where DRUM imports custom.py."""
    X, y = _xy()
    folder = train(write_folder(tmp_path, "b", BINARY), X, y)
    ops = [(op.name, arg) for op, arg, _ in pickletools.genops((folder / "drum_artifact.pkl").read_bytes())]
    names = [arg for name, arg in ops if name in ("SHORT_BINUNICODE", "BINUNICODE")]
    assert names[:2] == ["custom", "CustomTask"]
    assert "custom" not in sys.modules  # the name was lent for the pickling only


FIT_AS_DRUM = """
import sys
import pandas as pd
from drumnb.compat import install_datarobot_drum

install_datarobot_drum()
sys.path.insert(0, sys.argv[1])
from custom import CustomTask  # DRUM imports custom.py as the module "custom"

data = pd.read_csv(sys.argv[2])
task = CustomTask()
task.fit(data.drop(columns="y"), data["y"])
task.save(sys.argv[1])
"""


def test_task_trained_in_another_process_scores_through_the_cli(tmp_path):
    X, y = _xy()
    folder = write_folder(tmp_path, "b", BINARY)
    X.assign(y=y).to_csv(tmp_path / "train.csv", index=False)
    subprocess.run([sys.executable, "-c", FIT_AS_DRUM, str(folder), str(tmp_path / "train.csv")], check=True,
                   timeout=120)
    X.head(5).to_csv(tmp_path / "in.csv", index=False)
    res = run_cli("score", "--code-dir", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type",
                  "binary", "--positive-class-label", "yes", "--negative-class-label", "no",
                  "--output", str(tmp_path / "out.csv"))
    assert res.returncode == 0, res.stderr.decode()
    model = drumnb.load_model(folder, "binary", positive_class_label="yes", negative_class_label="no")
    expected = pd.DataFrame(model.model.estimator.predict_proba(X.head(5)), columns=["no", "yes"])
    assert (tmp_path / "out.csv").read_text() == expected.to_csv(index=False)  # DRUM's bytes


def test_task_with_its_own_load_and_excluded_attributes(tmp_path):
    """The pretrained-estimator template: save_task(exclude=...) and load_task + a separate file."""
    folder = write_folder(tmp_path, "p", """
        import pickle
        from pathlib import Path
        import pandas as pd
        from datarobot_drum.custom_task_interfaces import RegressionEstimatorInterface

        class CustomTask(RegressionEstimatorInterface):
            def fit(self, X, y, **kwargs):
                self.weights = [1.0, 2.0, 3.0]
                self.estimator = "not picklable here"
                return self

            def save(self, artifact_directory):
                Path(artifact_directory, "weights.pkl").write_bytes(pickle.dumps(self.weights))
                self.save_task(artifact_directory, exclude=["weights"])
                return self

            @classmethod
            def load(cls, artifact_directory):
                task = cls.load_task(artifact_directory)
                task.weights = pickle.loads(Path(artifact_directory, "weights.pkl").read_bytes())
                return task

            def predict(self, X, **kwargs):
                return pd.DataFrame({"Predictions": X.to_numpy() @ self.weights})
    """)
    X = data(3)
    train(folder, X, X["a"])
    model = drumnb.load_model(folder, "regression")
    np.testing.assert_allclose(model.predict(X)["Predictions"], X["a"] + 2 * X["b"] + 3 * X["c"])
    with open(folder / "drum_artifact.pkl", "rb") as fh:
        assert b"weights" in fh.read()  # the attribute is there, as None


def test_task_reads_secrets_from_the_mount_and_the_environment(tmp_path, monkeypatch):
    folder = write_folder(tmp_path, "s", """
        import pandas as pd
        from datarobot_drum.custom_task_interfaces import RegressionEstimatorInterface, ApiTokenSecret, BasicSecret

        class CustomTask(RegressionEstimatorInterface):
            def fit(self, X, y, **kwargs):
                return self

            def predict(self, X, **kwargs):
                token, basic = self.secrets["TOKEN"], self.secrets["DB"]
                assert isinstance(token, ApiTokenSecret) and isinstance(basic, BasicSecret)
                assert "abc123" not in repr(token) and "hunter2" not in str(basic)
                return pd.DataFrame({"Predictions": [len(token.api_token) + len(basic.password)] * len(X)})
    """)
    train(folder, data(2))
    mount = tmp_path / "mount"
    mount.mkdir()
    (mount / "DB").write_text(json.dumps({"credential_type": "basic", "username": "u", "password": "hunter2"}))
    monkeypatch.setenv("USER_SECRETS_MOUNT_PATH", str(mount))
    monkeypatch.setenv("USER_SECRETS_PREFIX", "MYSECRETS")
    monkeypatch.setenv("MYSECRETS_TOKEN", json.dumps({"credential_type": "api_token", "api_token": "abc123",
                                                      "extra": "ignored"}))
    assert drumnb.load_model(folder, "regression").predict(data(2))["Predictions"].tolist() == [13, 13]


def test_task_folder_mistakes_are_clear(tmp_path, caplog):
    untrained = write_folder(tmp_path, "untrained", TRANSFORMER)
    with pytest.raises(HookLoadError) as info:
        drumnb.load_model(untrained, "transform")
    assert info.value.status == 513 and "drum_artifact.pkl" in str(info.value) and "drum fit" in str(info.value)

    plain = write_folder(tmp_path, "plain", "class CustomTask:\n    pass\n")
    with pytest.raises(HookLoadError) as info:
        drumnb.load_model(plain, "regression")
    assert "custom_task_interfaces" in str(info.value) and info.value.line == 1

    X, _ = _xy()
    with_hook = textwrap.dedent(TRANSFORMER) + "\ndef score(data, model, **kw):\n    return data\n"
    folder = train(write_folder(tmp_path, "t", with_hook), X)
    with pytest.raises(ConfigurationError, match="TransformerInterface") as info:
        drumnb.load_model(folder, "regression").predict(X)
    assert "--target-type transform" in info.value.hint
    assert any("hook functions ['score'] are not used" in r.getMessage() for r in caplog.records)


# --- CustomHTTPError ---------------------------------------------------------------------------

HTTP_ERRORS = """
    import pandas as pd
    from datarobot_drum import CustomHTTPError

    def load_model(code_dir):
        return "m"

    def score(data, model, **kwargs):
        if "teapot" in data.columns:
            raise CustomHTTPError("I am a teapot", status_code=418)
        if "plain" in data.columns:
            raise CustomHTTPError("no status given")
        return pd.DataFrame({"Predictions": data["a"] * 1.0})

    def score_unstructured(model, data, **kwargs):
        raise CustomHTTPError(message="forbidden: " + str(data), status_code=403)
"""

LOAD_ERROR = """
    from datarobot_drum import CustomHTTPError

    def load_model(code_dir):
        raise CustomHTTPError("no license", 402)
"""

TEAPOT = pd.DataFrame({"a": [1.0], "teapot": [1]})


def test_custom_http_error_keeps_its_status_and_message(tmp_path):
    model = drumnb.load_model(write_folder(tmp_path, "m", HTTP_ERRORS), "regression")
    with pytest.raises(DrumnbError) as info:
        model.predict(TEAPOT)
    err = info.value
    assert type(err).__name__ == "CustomHTTPError" and err.status == err.status_code == 418
    assert err.to_dict() == {"message": "I am a teapot"} and "HTTP status 418" in err.render()
    with pytest.raises(DrumnbError) as info:
        model.predict(pd.DataFrame({"a": [1.0], "plain": [1]}))
    assert info.value.status == 400  # DRUM's default
    from datarobot_drum import CustomHTTPError

    with pytest.raises(TypeError, match="status_code"):
        CustomHTTPError(404, "swapped arguments")
    with pytest.raises(HookLoadError, match="CustomHTTPError: no license") as load:
        drumnb.load_model(write_folder(tmp_path, "load", LOAD_ERROR), "regression")
    assert load.value.status == 513  # raised while loading: a load failure, as in DRUM


def test_drums_own_custom_http_error_class_is_honoured_too(tmp_path):
    """With DRUM installed, hooks raise DRUM's class: recognised by its base class name and status_code."""
    folder = write_folder(tmp_path, "m", """
        class BaseCustomUserError(Exception):
            pass

        class CustomHTTPError(BaseCustomUserError):
            def __init__(self, message, status_code=400):
                super().__init__(message)
                self.status_code = status_code

        def load_model(code_dir):
            return "m"

        def score(data, model, **kwargs):
            raise CustomHTTPError("rate limited", 429)
    """)
    with pytest.raises(DrumnbError) as info:
        drumnb.load_model(folder, "regression").predict(data(1))
    assert info.value.status == 429 and info.value.to_dict() == {"message": "rate limited"}


def test_cli_score_exits_non_zero_with_the_message(tmp_path):
    folder = write_folder(tmp_path, "m", HTTP_ERRORS)
    TEAPOT.to_csv(tmp_path / "in.csv", index=False)
    res = run_cli("score", "--code-dir", str(folder), "--input", str(tmp_path / "in.csv"),
                  "--target-type", "regression")
    assert res.returncode == 1
    assert "I am a teapot" in res.stderr.decode() and "418" in res.stderr.decode()


def test_server_answers_the_status_and_message_the_hook_chose(tmp_path, start_server):
    folder = write_folder(tmp_path, "m", HTTP_ERRORS)
    structured = start_server(["-cd", str(folder), "--target-type", "regression"])
    unstructured = start_server(["-cd", str(folder), "--target-type", "unstructured"])
    broken = start_server(["-cd", str(write_folder(tmp_path, "load", LOAD_ERROR)), "--target-type", "regression",
                           "--with-error-server"], statuses=(513,))

    res = structured.post("/predict/", data=csv_bytes(TEAPOT), headers={"Content-Type": "text/csv"})
    assert res.status_code == 418 and res.json() == {"message": "I am a teapot"}
    res = structured.post("/predict/", files={"X": ("x.csv", csv_bytes(pd.DataFrame({"a": [1], "plain": [2]})))})
    assert res.status_code == 400 and res.json() == {"message": "no status given"}
    ok = structured.post("/predict/", data=csv_bytes(data(2)), headers={"Content-Type": "text/csv"})
    assert ok.status_code == 200 and len(ok.json()["predictions"]) == 2  # the next request is unaffected

    res = unstructured.post("/predictUnstructured/", data=b"hello", headers={"Content-Type": "text/plain"})
    assert res.status_code == 403 and res.json() == {"message": "forbidden: hello"}

    for res in (broken.get("/health/"), broken.post("/predict/", data=csv_bytes(data(1)))):
        assert res.status_code == 513 and "no license" in res.json()["message"]
    assert requests.get(structured.url + "/ping/", timeout=10).status_code == 200


def test_shim_module_tree_is_importable_by_its_own_names():
    """Every module of the stand-in imports on its own (the tree install_datarobot_drum walks)."""
    import pkgutil

    import drumnb.compat.datarobot_drum as root

    names = [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")]
    assert {"drumnb.compat.datarobot_drum.custom_task_interfaces.user_secrets",
            "drumnb.compat.datarobot_drum.drum.exceptions", "drumnb.compat.datarobot_drum.drum.enum",
            "drumnb.compat.datarobot_drum.runtime_parameters.runtime_parameters"} <= set(names)
    code = textwrap.dedent("""
        import sys
        from drumnb.compat import install_datarobot_drum
        assert install_datarobot_drum() and not install_datarobot_drum()
        import datarobot_drum.custom_task_interfaces.user_secrets as u
        print(u.__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "drumnb.compat.datarobot_drum.custom_task_interfaces.user_secrets"
