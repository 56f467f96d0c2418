"""Hooks from custom.py: order, arguments, isolation, reload, errors."""
from __future__ import annotations

import io
import tarfile
import textwrap

import numpy as np
import pandas as pd
import pytest

import drumnb
from drumnb.core.errors import ArtifactError, HookError, HookLoadError
from fixtures import ECHO_SCORE, ConstantRegressor, frame, write_folder


def test_every_hook_runs_in_order_with_its_arguments(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import io
        import pandas as pd
        CALLS = []

        def init(code_dir, **kwargs):
            CALLS.append(("init", code_dir))

        def load_model(code_dir):
            CALLS.append(("load_model", code_dir))
            return {"scale": 2.0}

        def read_input_data(input_binary_data):
            CALLS.append(("read_input_data", type(input_binary_data).__name__))
            return pd.read_csv(io.BytesIO(input_binary_data))

        def transform(data, model):
            CALLS.append(("transform", list(data.columns)))
            return data * model["scale"]

        def score(data, model, **kwargs):
            CALLS.append(("score", sorted(kwargs)))
            return pd.DataFrame({"Predictions": data.sum(axis=1), "extra": 1})

        def post_process(predictions, model):
            CALLS.append(("post_process", list(predictions.columns)))
            predictions["Predictions"] += 1
            return predictions
    """)
    model = drumnb.load_model(folder, "regression")
    df = frame(5)
    out = model.predict(df)
    calls = model.hooks.module.CALLS
    assert [c[0] for c in calls] == ["init", "load_model", "read_input_data", "transform", "score", "post_process"]
    assert calls[0][1] == str(folder) and calls[1][1] == str(folder)
    assert calls[2][1] == "bytes"  # a DataFrame goes through the hook as CSV bytes
    assert calls[4][1] == ["class_labels", "negative_class_label", "positive_class_label"]
    assert list(out.columns) == ["Predictions", "extra"]
    np.testing.assert_allclose(out["Predictions"], df.sum(axis=1) * 2 + 1)


def test_read_input_data_sees_the_same_bytes_from_frame_bytes_and_path(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import hashlib, io
        import pandas as pd
        SEEN = []
        def load_model(code_dir):
            return None or "m"
        def read_input_data(b):
            SEEN.append(hashlib.sha256(b).hexdigest())
            return pd.read_csv(io.BytesIO(b), na_values=["?"])
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": data.fillna(-1).sum(axis=1)})
    """)
    df = pd.DataFrame({"a b": [1.5, np.nan, 3.25], "c/(d)": [1, 2, 3]})
    path = tmp_path / "in.csv"
    df.to_csv(path, index=False)
    model = drumnb.load_model(folder, "regression")
    outs = [model.predict(df), model.predict(path.read_bytes()), model.predict(str(path))]
    seen = model.hooks.module.SEEN
    assert seen[0] == seen[1] == seen[2]
    for o in outs[1:]:
        pd.testing.assert_frame_equal(outs[0], o)


def test_score_gets_only_the_kwargs_its_signature_takes(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def score(data, model, positive_class_label, negative_class_label):
            p = [0.25] * len(data)
            return pd.DataFrame({positive_class_label: p, negative_class_label: [0.75] * len(data)})
    """)
    out = drumnb.load_model(folder, "binary", positive_class_label="yes", negative_class_label="no").predict(frame(3))
    assert list(out.columns) == ["yes", "no"]  # the hook's own column order, as DRUM writes it
    assert out["yes"].tolist() == [0.25] * 3


@pytest.mark.parametrize("hook", ["load_model", "read_input_data", "transform", "score", "post_process"])
def test_hook_returning_none_names_the_hook_file_and_line(tmp_path, hook):
    body = {h: "return data" for h in ["transform"]}
    src = f"""
        import io
        import pandas as pd
        def load_model(code_dir):
            {"return None" if hook == "load_model" else "return 'm'"}
        def read_input_data(b):
            {"return None" if hook == "read_input_data" else "return pd.read_csv(io.BytesIO(b))"}
        def transform(data, model):
            {"return None" if hook == "transform" else body["transform"]}
        def score(data, model, **kw):
            {"return None" if hook == "score" else "return pd.DataFrame({'Predictions': data.iloc[:, 0]})"}
        def post_process(predictions, model):
            {"return None" if hook == "post_process" else "return predictions"}
    """
    folder = write_folder(tmp_path, "m", src)
    with pytest.raises(HookError) as info:
        drumnb.load_model(folder, "regression").predict(frame(3))
    err = info.value
    assert err.hook == hook and "returned None" in str(err)
    assert err.file.endswith("custom.py") and err.line is not None
    assert f"'{hook}' hook failed (custom.py, line {err.line})" in str(err)
    assert err.status == (513 if hook == "load_model" else 500)


def test_hook_that_raises_reports_the_line_that_raised(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def score(data, model, **kw):
            x = 1
            raise ValueError("bad things")
    """)
    model = drumnb.load_model(folder, "regression")
    with pytest.raises(HookError) as info:
        model.predict(frame(2))
    assert info.value.line == 6 and "ValueError: bad things" in str(info.value)
    assert info.value.status == 500
    # the model keeps working for the next call once the hook is fixed
    (folder / "custom.py").write_text((folder / "custom.py").read_text().replace('raise ValueError("bad things")',
                                      'return pd.DataFrame({"Predictions": [x] * len(data)})'))
    assert model.reload().predict(frame(2))["Predictions"].tolist() == [1, 1]


def test_syntax_and_import_errors_are_load_errors(tmp_path):
    folder = write_folder(tmp_path, "syntax", "def score(data, model:\n    pass\n")
    with pytest.raises(HookLoadError) as info:
        drumnb.load_model(folder, "regression")
    assert info.value.status == 513 and "SyntaxError" in str(info.value) and info.value.line == 1
    folder = write_folder(tmp_path, "imports", "import not_a_real_package_xyz\n")
    with pytest.raises(HookLoadError) as info:
        drumnb.load_model(folder, "regression")
    assert "not_a_real_package_xyz" in str(info.value) and "pip install" in info.value.hint


def test_fit_unstructured_chat_and_helpers_load_without_complaint(tmp_path, caplog):
    folder = write_folder(tmp_path, "m", ECHO_SCORE + textwrap.dedent("""
        def fit(X, y, output_dir, **kwargs):
            pass
        def score_unstructured(model, data, **kwargs):
            return data
        def chat(completion_create_params, model):
            return None
        def helper(x):
            return x
    """))
    model = drumnb.load_model(folder, "regression")
    assert model.predict(frame(2)).shape == (2, 1)
    assert not [r for r in caplog.records if "did you mean" in r.getMessage()]


def test_near_miss_hook_name_is_warned(tmp_path, caplog):
    folder = write_folder(tmp_path, "m", ECHO_SCORE + "\ndef post_proces(predictions, model):\n    return predictions\n")
    drumnb.load_model(folder, "regression")
    assert any("did you mean 'post_process'" in r.getMessage() for r in caplog.records)


def test_two_folders_never_share_module_state_or_helpers(tmp_path):
    for name, value in (("a", 1.0), ("b", 2.0)):
        write_folder(tmp_path, name, """
            import pandas as pd
            import helper
            COUNT = []
            def load_model(code_dir):
                return "m"
            def score(data, model, **kw):
                COUNT.append(1)
                return pd.DataFrame({"Predictions": [helper.VALUE] * len(data)})
        """, files={"helper.py": f"VALUE = {value}\n"})
    a = drumnb.load_model(tmp_path / "a", "regression")
    b = drumnb.load_model(tmp_path / "b", "regression")
    assert a.predict(frame(2))["Predictions"].tolist() == [1.0, 1.0]
    assert b.predict(frame(2))["Predictions"].tolist() == [2.0, 2.0]
    assert len(a.hooks.module.COUNT) == 1 and len(b.hooks.module.COUNT) == 1
    assert a.hooks.module is not b.hooks.module


def test_reload_picks_up_edits_of_custom_and_its_helpers(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import pandas as pd
        from helper import VALUE
        def load_model(code_dir):
            return "m"
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": [VALUE] * len(data)})
    """, files={"helper.py": "VALUE = 1\n"})
    model = drumnb.load_model(folder, "regression")
    assert model.predict(frame(1))["Predictions"].tolist() == [1]
    (folder / "helper.py").write_text("VALUE = 5\n")
    assert model.reload().predict(frame(1))["Predictions"].tolist() == [5]


def test_datarobot_drum_imports_work_without_drum(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_RUNTIME_PARAM_SCALE", '{"type": "numeric", "payload": 3}')
    folder = write_folder(tmp_path, "m", """
        import pandas as pd
        from datarobot_drum import RuntimeParameters
        from datarobot_drum.runtime_parameters import RuntimeParameters as RP2
        def load_model(code_dir):
            return RuntimeParameters.get("SCALE")
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": [model] * len(data)})
    """)
    assert drumnb.load_model(folder, "regression").predict(frame(2))["Predictions"].tolist() == [3, 3]
    import sys

    assert sys.modules["datarobot_drum"].__drumnb_shim__  # a marked stand-in, not a fake DRUM install


def test_artifact_errors_list_what_was_found(tmp_path):
    empty = write_folder(tmp_path, "empty", files={"notes.txt": "hi"})
    with pytest.raises(ArtifactError, match=r"no model artifact.*notes.txt") as info:
        drumnb.load_model(empty, "regression")
    assert ".pkl" in info.value.hint and "load_model" in info.value.hint
    two = write_folder(tmp_path, "two", files={"a.pkl": ConstantRegressor(), "b.pkl": ConstantRegressor()})
    with pytest.raises(ArtifactError, match=r"2 model artifacts.*a.pkl.*b.pkl"):
        drumnb.load_model(two, "regression")
    bad = write_folder(tmp_path, "bad", files={"m.pkl": b"not a pickle"})
    with pytest.raises(ArtifactError, match="cannot load m.pkl"):
        drumnb.load_model(bad, "regression")


def test_tar_gz_archive_is_a_code_folder(tmp_path):
    folder = write_folder(tmp_path, "m", files={"model.pkl": ConstantRegressor()})
    archive = tmp_path / "custom_model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=".")
    model = drumnb.load_model(archive, "regression")
    assert model.info["codeDir"] == str(archive)
    out = model.predict(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    assert out["Predictions"].tolist() == [4.0, 6.0]
    tmp = model.code_dir
    model.close()
    import os

    assert not os.path.exists(tmp)


def test_caller_frame_is_not_mutated(tmp_path):
    folder = write_folder(tmp_path, "m", """
        import pandas as pd
        def load_model(code_dir):
            return "m"
        def transform(data, model):
            data["added"] = 1
            return data
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": data["added"]})
    """)
    df = frame(3)
    drumnb.load_model(folder, "regression").predict(df)
    assert "added" not in df.columns
