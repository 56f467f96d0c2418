"""Runtime parameters: every type, every error, DRUM's import and env form."""
from __future__ import annotations

import pandas as pd
import pytest

import drumnb
from drumnb.core.params import RuntimeParameterError
from fixtures import write_folder

DEFS = """
runtimeParameterDefinitions:
  - fieldName: TARGET_URL
    type: string
    defaultValue: http://localhost
  - fieldName: AWS_CREDENIAL
    type: credential
    credentialType: s3
    allowEmpty: false
  - fieldName: THRESHOLD
    type: numeric
    minValue: 0
    maxValue: 1
    defaultValue: 0.5
  - fieldName: VERBOSE
    type: boolean
    defaultValue: false
"""

SEED_SNIPPET = """
import pandas as pd
from datarobot_drum import RuntimeParameters

def load_model(code_dir):
    target_url = RuntimeParameters.get("TARGET_URL")
    s3_creds = RuntimeParameters.get("AWS_CREDENIAL")
    return {"url": target_url, "key": s3_creds["awsAccessKeyId"]}

def score(data, model, **kwargs):
    from datarobot_drum import RuntimeParameters
    return pd.DataFrame({"Predictions": [RuntimeParameters.get("THRESHOLD")] * len(data),
                         "url": model["url"], "key": model["key"]})
"""


@pytest.fixture
def folder(tmp_path):
    return write_folder(tmp_path, "m", SEED_SNIPPET, files={"model-metadata.yaml": "targetType: regression\n" + DEFS})


def params_file(tmp_path, text, name="params.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_seed_snippet_with_a_string_and_a_credential(folder, tmp_path):
    f = params_file(tmp_path, "TARGET_URL: http://example.test\nAWS_CREDENIAL:\n  credentialType: s3\n"
                              "  awsAccessKeyId: AKIA\n  awsSecretAccessKey: secret\nTHRESHOLD: 0.25\n")
    out = drumnb.load_model(folder, runtime_params_file=f).predict(pd.DataFrame({"a": [1, 2]}))
    assert out.to_dict("list") == {"Predictions": [0.25, 0.25], "url": ["http://example.test"] * 2,
                                   "key": ["AKIA"] * 2}


def test_defaults_and_drum_environment_form(folder, monkeypatch):
    monkeypatch.setenv("MLOPS_RUNTIME_PARAM_AWS_CREDENIAL",
                       '{"type": "credential", "payload": {"credentialType": "s3", "awsAccessKeyId": "ENV"}}')
    out = drumnb.load_model(folder).predict(pd.DataFrame({"a": [1]}))
    assert out.iloc[0].to_dict() == {"Predictions": 0.5, "url": "http://localhost", "key": "ENV"}


@pytest.mark.parametrize("text,message", [
    ("AWS_CREDENIAL: {credentialType: s3}\nTHRESHOLD: 2\n", "'THRESHOLD' (numeric) = 2 is outside [0, 1]"),
    ("AWS_CREDENIAL: {credentialType: s3}\nTHRESHOLD: high\n", "'THRESHOLD' (numeric) must be a number"),
    ("AWS_CREDENIAL: {credentialType: s3}\nVERBOSE: 3\n", "'VERBOSE' (boolean) must be true or false"),
    ("AWS_CREDENIAL: {credentialType: s3}\nTARGET_URL: 5\n", "'TARGET_URL' (string) must be a string"),
    ("AWS_CREDENIAL: secret\n", "'AWS_CREDENIAL' (credential) must be a mapping with a credentialType"),
    ("AWS_CREDENIAL: {credentialType: basic}\n", "must be a 's3' credential"),
    ("- a list\n", "must map names to values"),
])
def test_every_error_is_raised_at_load_naming_the_parameter(folder, tmp_path, text, message):
    with pytest.raises(RuntimeParameterError) as info:
        drumnb.load_model(folder, runtime_params_file=params_file(tmp_path, text))
    assert message in str(info.value)


def test_a_required_parameter_without_value_fails_when_read_not_at_load(tmp_path, caplog):
    folder = write_folder(tmp_path, "m", """
        import pandas as pd
        from datarobot_drum import RuntimeParameters
        def load_model(code_dir):
            return 1
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": [RuntimeParameters.get("TOKEN")["password"]] * len(data)})
    """, files={"model-metadata.yaml": "runtimeParameterDefinitions:\n  - fieldName: TOKEN\n    type: credential\n"
                                       "    allowEmpty: false\n"})
    model = drumnb.load_model(folder, "regression")  # DRUM loads it too
    assert any("'TOKEN' is required and has no value" in r.getMessage() for r in caplog.records)
    with pytest.raises(RuntimeParameterError, match="'TOKEN' is required and has no value"):
        model.predict(pd.DataFrame({"a": [1]}))


def test_a_secret_given_to_the_wrong_parameter_is_never_echoed(folder, tmp_path):
    text = ("AWS_CREDENIAL: {credentialType: s3}\n"
            "TARGET_URL: {credentialType: basic, user: u, password: hunter2-secret}\n"
            "THRESHOLD: s3cr3t-token\n")
    with pytest.raises(RuntimeParameterError) as info:
        drumnb.load_model(folder, runtime_params_file=params_file(tmp_path, text))
    assert "must be a string, got a mapping (credentialType 'basic')" in str(info.value)
    assert "hunter2" not in info.value.render()
    with pytest.raises(RuntimeParameterError) as info:
        drumnb.load_model(folder, runtime_params_file=params_file(tmp_path, text.replace("TARGET_URL", "#"), "b.yaml"))
    assert "must be a number, got a str" in str(info.value) and "s3cr3t" not in info.value.render()


def test_an_undeclared_parameter_in_the_file_is_ignored_with_a_warning(folder, tmp_path, caplog):
    f = params_file(tmp_path, "AWS_CREDENIAL: {credentialType: s3, awsAccessKeyId: K}\nNOT_DEFINED: 1\n")
    model = drumnb.load_model(folder, runtime_params_file=f)  # as DRUM: ignored
    assert any("['NOT_DEFINED']" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records)
    assert model.predict(pd.DataFrame({"a": [1]}))["key"].tolist() == ["K"]


def test_undefined_name_at_use_is_a_clear_error(tmp_path):
    folder = write_folder(tmp_path, "m", """
        from datarobot_drum import RuntimeParameters
        def load_model(code_dir):
            return RuntimeParameters.get("MISSING")
    """)
    with pytest.raises(RuntimeParameterError, match="'MISSING' is not defined"):
        drumnb.load_model(folder, "regression")


def test_two_models_keep_their_own_values(tmp_path):
    src = """
        import pandas as pd
        from datarobot_drum import RuntimeParameters
        def load_model(code_dir):
            return 1
        def score(data, model, **kw):
            return pd.DataFrame({"Predictions": [RuntimeParameters.get("V")] * len(data)})
    """
    a = drumnb.load_model(write_folder(tmp_path, "a", src), "regression",
                          runtime_params_file=params_file(tmp_path, "V: 1\n"))
    b = drumnb.load_model(write_folder(tmp_path, "b", src), "regression",
                          runtime_params_file=params_file(tmp_path, "V: 2\n"))
    df = pd.DataFrame({"x": [0]})
    assert a.predict(df)["Predictions"][0] == 1 and b.predict(df)["Predictions"][0] == 2


def test_seed_snippet_through_cli_score_and_the_server(folder, tmp_path):
    import io

    import requests

    from conftest import run_cli
    from drumnb.server.background import serve

    f = params_file(tmp_path, "TARGET_URL: http://cli.test\nAWS_CREDENIAL:\n  credentialType: s3\n"
                              "  awsAccessKeyId: KEY\n")
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--runtime-params-file", f)
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(io.BytesIO(proc.stdout)).iloc[0].tolist() == [0.5, "http://cli.test", "KEY"]
    bad = run_cli("score", "-cd", str(folder), "--input", str(tmp_path / "in.csv"),
                  "--runtime-params-file", params_file(tmp_path, "THRESHOLD: 0.2\n", "bad.yaml"))
    assert bad.returncode == 1 and b"'AWS_CREDENIAL' is required" in bad.stderr
    with serve(str(folder), process=True, runtime_params_file=f) as srv:
        r = requests.post(srv.url + "/predict/", data="a\n1\n", headers={"Content-Type": "text/csv"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["predictions"] == [0.5]
        assert "http://cli.test" in str(body["extraModelOutput"])
