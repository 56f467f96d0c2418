"""The type schema of model-metadata.yaml: parsing, inference of column types, checks on every call."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from fixtures import write_folder

import drumnb
from drumnb.core.errors import ConfigurationError, InputError
from drumnb.core.metadata import read_metadata
from drumnb.core.schema import (
    InputSchemaError,
    OutputSchemaError,
    SchemaError,
    column_types,
    parse_requirements,
    parse_type_schema,
)

SCHEMA_YAML = """
name: schema model
targetType: regression
typeSchema:
  input_requirements:
    - field: data_types
      condition: IN
      value: [NUM, CAT]
    - field: number_of_columns
      condition: NOT_LESS_THAN
      value: 2
    - field: number_of_columns
      condition: LESS_THAN
      value: 5
    - field: contains_missing
      condition: EQUALS
      value: FORBIDDEN
    - field: sparse
      condition: EQUALS
      value: FORBIDDEN
  output_requirements:
    - field: data_types
      condition: EQUALS
      value: NUM
    - field: number_of_columns
      condition: EQUALS
      value: 1
    - field: contains_missing
      condition: EQUALS
      value: NEVER
"""

SCORE = """
import numpy as np
import pandas as pd

def load_model(code_dir):
    return "m"

def score(data, model, **kwargs):
    x = data["x"].astype(float)
    out = pd.DataFrame({"Predictions": x * 2})
    if (x > 100).any():
        out.loc[x > 100, "Predictions"] = np.inf  # numeric, so the contract holds
    if (x < -100).any():
        out["extra"] = "label"  # breaks output number_of_columns / data_types
    return out
"""


def _frame(**cols):
    return pd.DataFrame(cols)


# --- parsing ------------------------------------------------------------------------------------

def test_parse_drum_layout_and_metadata_field(tmp_path):
    folder = write_folder(tmp_path, "m", SCORE, {"model-metadata.yaml": SCHEMA_YAML})
    meta = read_metadata(str(folder))
    schema = meta.type_schema
    assert [r.field for r in schema.input] == ["data_types", "number_of_columns", "number_of_columns",
                                               "contains_missing", "sparse"]
    assert schema.input[0].value == ["NUM", "CAT"] and schema.output[1].value == 1
    assert schema.to_dict()["output_requirements"][0] == {"field": "data_types", "condition": "EQUALS",
                                                          "value": ["NUM"]}


def test_parse_other_layouts_and_aliases():
    top = parse_type_schema({"inputRequirements": [{"field": "data_types", "condition": "in",
                                                     "value": ["numeric", "text", "categorical", "date"]}],
                             "outputRequirements": {"field": "contains_missing", "condition": "EQUALS",
                                                    "value": "dynamic"}})
    assert top.input[0].value == ["NUM", "TXT", "CAT", "DATE"] and top.input[0].condition == "IN"
    assert top.output[0].value == "DYNAMIC"
    # DRUM's documents write the lists as single-key mappings in a list
    listed = parse_type_schema({"typeSchema": [{"input_requirements": [
        {"field": "sparse", "condition": "EQUALS", "value": "SUPPORTED"}]}]})
    assert listed.input[0].value == "SUPPORTED"
    assert parse_type_schema({"name": "no schema"}) is None


@pytest.mark.parametrize("entry, direction, words", [
    ({"field": "data_type", "condition": "IN", "value": "NUM"}, "input", ["unknown field 'data_type'",
                                                                        "did you mean 'data_types'"]),
    ({"field": "data_types", "condition": "IS", "value": "NUM"}, "input", ["condition 'IS'", "did you mean 'IN'"]),
    ({"field": "data_types", "condition": "IN", "value": "NUMBR"}, "input", ["unknown data type 'NUMBR'"]),
    ({"field": "contains_missing", "condition": "EQUALS", "value": "NEVER"}, "input",
     ["cannot be 'NEVER' in input", "NEVER is a value for output requirements"]),
    ({"field": "sparse", "condition": "IN", "value": "SUPPORTED"}, "input", ["not allowed for sparse"]),
    ({"field": "number_of_columns", "condition": "EQUALS", "value": "many"}, "input", ["whole numbers"]),
    ({"field": "data_types", "condition": "IN"}, "output", ["lacks value"]),
])
def test_malformed_entries_are_configuration_errors(entry, direction, words):
    with pytest.raises(ConfigurationError) as info:
        parse_requirements([entry], direction)
    text = info.value.render()
    for word in words:
        assert word in text
    assert f"{direction}_requirements[0]" in text


def test_duplicate_field_and_unknown_keys(tmp_path):
    with pytest.raises(ConfigurationError, match="given twice"):
        parse_requirements([{"field": "sparse", "condition": "EQUALS", "value": "SUPPORTED"}] * 2, "input")
    with pytest.warns(UserWarning, match="did you mean 'condition'"):
        parse_requirements([{"field": "sparse", "condition": "EQUALS", "conditon": "x", "value": "SUPPORTED"}],
                           "input")
    folder = write_folder(tmp_path, "typo", SCORE, {"model-metadata.yaml": "targetType: regression\n"
                                                    "inputRequirement: []\n"})
    with pytest.warns(UserWarning, match="did you mean 'inputRequirements'"):
        read_metadata(str(folder))


def test_bad_schema_fails_at_load(tmp_path):
    folder = write_folder(tmp_path, "bad", SCORE, {"model-metadata.yaml": """
        targetType: regression
        typeSchema:
          input_requirements:
            - field: contains_missing
              condition: EQUALS
              value: ALWAYS
        """})
    with pytest.raises(ConfigurationError, match="contains_missing cannot be 'ALWAYS'"):
        drumnb.load_model(str(folder))


# --- column types -------------------------------------------------------------------------------

def test_column_types():
    df = pd.DataFrame({
        "num": [1.5, np.nan, 3.0], "int": [1, 2, 3], "flag": [True, False, True],
        "cat": ["red", "blue", "red"], "city": ["New York", "Paris", "San Jose"],
        "text": ["the quick brown fox jumps", "over the lazy dog today", "and then it ran away fast"],
        "date": ["2024-01-31", "2023-12-01 10:00", None], "when": pd.to_datetime(["2024-01-01"] * 3),
        "span": pd.to_timedelta([1, 2, 3], unit="D"), "pcat": pd.Categorical(["a", "b", "a"]),
        "empty": [None, None, None],
    })
    types = column_types(df)
    assert types["num"] == types["int"] == types["flag"] == {"NUM"}
    assert types["cat"] == {"CAT"} and types["pcat"] == {"CAT"}
    assert types["city"] == {"CAT", "TXT"}  # a few words a value: either
    assert types["text"] == {"TXT"}
    assert types["date"] == {"DATE"} and types["when"] == {"DATE"}
    assert types["span"] == {"DATE_DURATION"}
    assert types["empty"] == frozenset()


# --- checks on data -----------------------------------------------------------------------------

def test_input_checks_name_field_column_and_expectation():
    schema = parse_type_schema({"inputRequirements": [
        {"field": "data_types", "condition": "IN", "value": ["NUM", "CAT"]},
        {"field": "number_of_columns", "condition": "NOT_LESS_THAN", "value": 2},
        {"field": "contains_missing", "condition": "EQUALS", "value": "FORBIDDEN"}]})
    schema.check_input(_frame(x=[1.0, 2.0], c=["a", "b"]))  # fine
    with pytest.raises(InputSchemaError) as info:
        schema.check_input(_frame(x=[1.0, 2.0], notes=["this is a long free text value", "and another one here"]))
    err = info.value
    assert err.status == 422 and isinstance(err, InputError) and isinstance(err, SchemaError)
    assert (err.field, err.column, err.expected, err.actual) == ("data_types", "notes", "IN NUM, CAT", "TXT")
    assert "field 'data_types'" in err.message and "column 'notes' is TXT" in err.message
    assert err.to_dict()["schema"] == {"direction": "input", "field": "data_types", "expected": "IN NUM, CAT",
                                       "column": "notes", "actual": "TXT"}
    with pytest.raises(InputSchemaError, match=r"1 column\(s\) \(\['x'\]\); expected at least 2"):
        schema.check_input(_frame(x=[1.0]))
    with pytest.raises(InputSchemaError) as info:
        schema.check_input(_frame(x=[1.0, 2.0, 3.0], y=[1.0, None, None]))
    assert info.value.column == "y" and "2 missing value(s), first in row 1" in info.value.message
    assert "offending row: {'x': 2.0, 'y': nan}" in info.value.message


def test_data_types_equals_not_in_and_sparse():
    equals = parse_type_schema({"inputRequirements": [{"field": "data_types", "condition": "EQUALS",
                                                        "value": ["NUM", "CAT"]}]})
    equals.check_input(_frame(x=[1.0], c=["a"]))
    with pytest.raises(InputSchemaError, match="has no CAT column"):
        equals.check_input(_frame(x=[1.0]))
    not_in = parse_type_schema({"inputRequirements": [{"field": "data_types", "condition": "NOT_IN",
                                                        "value": ["TXT", "DATE"]}]})
    not_in.check_input(_frame(city=["New York"], x=[1]))  # could be categorical: allowed
    with pytest.raises(InputSchemaError, match="column 'd' is DATE"):
        not_in.check_input(_frame(d=["2024-02-03"]))
    dense_only = parse_type_schema({"inputRequirements": [{"field": "sparse", "condition": "EQUALS",
                                                            "value": "FORBIDDEN"}]})
    sparse = pd.DataFrame({"a": pd.arrays.SparseArray([0.0, 1.0])})
    with pytest.raises(InputSchemaError, match="the input is sparse; expected dense data"):
        dense_only.check_input(sparse)
    required = parse_type_schema({"inputRequirements": [{"field": "sparse", "condition": "EQUALS",
                                                          "value": "REQUIRED"}]})
    required.check_input(sparse)
    with pytest.raises(InputSchemaError, match="expected sparse data"):
        required.check_input(_frame(a=[1.0]))
    identity = parse_type_schema({"outputRequirements": [{"field": "sparse", "condition": "EQUALS",
                                                           "value": "IDENTITY"}]})
    identity.check_output(sparse, input_data=sparse)
    with pytest.raises(OutputSchemaError, match="expected sparse output, as the input was") as info:
        identity.check_output(_frame(a=[1.0]), input_data=sparse)
    assert info.value.status == 500


def test_number_of_columns_conditions():
    def check(condition, value, width):
        schema = parse_type_schema({"inputRequirements": [{"field": "number_of_columns", "condition": condition,
                                                            "value": value}]})
        frame = pd.DataFrame(np.zeros((1, width)), columns=[f"c{i}" for i in range(width)])
        try:
            schema.check_input(frame)
            return True
        except InputSchemaError:
            return False

    assert check("EQUALS", 3, 3) and not check("EQUALS", 3, 2)
    assert check("IN", [1, 3], 3) and not check("IN", [1, 2], 3)
    assert check("NOT_EQUALS", 2, 3) and not check("NOT_EQUALS", 3, 3)
    assert check("GREATER_THAN", 2, 3) and not check("GREATER_THAN", 3, 3)
    assert check("LESS_THAN", 4, 3) and not check("LESS_THAN", 3, 3)
    assert check("NOT_GREATER_THAN", 3, 3) and not check("NOT_GREATER_THAN", 2, 3)
    assert check("NOT_LESS_THAN", 3, 3) and not check("NOT_LESS_THAN", 4, 3)


# --- on every call: Model.predict, the CLI and the server ---------------------------------------

@pytest.fixture
def schema_model(tmp_path):
    folder = write_folder(tmp_path, "schema_model", SCORE, {"model-metadata.yaml": SCHEMA_YAML})
    return drumnb.load_model(str(folder))


def test_predict_checks_input_and_output(schema_model):
    good = _frame(x=[1.0, 2.0], c=["a", "b"])
    assert schema_model.predict(good)["Predictions"].tolist() == [2.0, 4.0]
    with pytest.raises(InputSchemaError) as info:
        schema_model.predict(_frame(x=[1.0, None], c=["a", "b"]))
    assert info.value.field == "contains_missing" and info.value.column == "x"
    with pytest.raises(InputSchemaError, match="expected fewer than 5"):
        schema_model.predict(pd.DataFrame(np.ones((1, 5)), columns=["x", "b", "c", "d", "e"]))
    with pytest.raises(OutputSchemaError) as info:
        schema_model.predict(_frame(x=[-500.0], c=["a"]))
    err = info.value  # requirements are checked in the order the file lists them
    assert err.status == 500 and (err.field, err.column, err.expected) == ("data_types", "extra", "EQUALS NUM")
    assert err.message.startswith("output schema (model-metadata.yaml outputRequirements), field 'data_types'")
    # CSV bytes and files go through the same check
    with pytest.raises(InputSchemaError):
        schema_model.predict(b"x,c\n1,\n2,b\n")


def test_model_without_schema_is_not_checked(tmp_path):
    folder = write_folder(tmp_path, "plain", SCORE, {"model-metadata.yaml": "targetType: regression\n"})
    model = drumnb.load_model(str(folder))
    assert model.metadata.type_schema is None
    assert len(model.predict(_frame(x=[1.0, 2.0], t=["free text with many words in it", None]))) == 2


def test_server_answers_422_with_the_schema_error(schema_model):
    import requests

    from drumnb.server.background import serve

    with serve(schema_model) as server:
        ok = requests.post(server.url + "/predict/", data=b"x,c\n1,a\n", headers={"Content-Type": "text/csv"})
        assert ok.status_code == 200, ok.text
        bad = requests.post(server.url + "/predict/", data=b"x,c\n1,\n", headers={"Content-Type": "text/csv"})
        assert bad.status_code == 422
        body = bad.json()
        assert body["message"].startswith("ERROR: input schema") and body["error"] == "InputSchemaError"
        assert body["schema"]["field"] == "contains_missing" and body["schema"]["column"] == "c"


def test_cli_renders_schema_error(tmp_path, cli):
    folder = write_folder(tmp_path, "schema_cli", SCORE, {"model-metadata.yaml": SCHEMA_YAML})
    data = tmp_path / "in.csv"
    data.write_text("x,c\n1,a\n2,\n")
    proc = cli("score", "--code-dir", str(folder), "--input", str(data))
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "input schema" in err and "column 'c'" in err and "hint:" in err and "Traceback" not in err


def test_warnings_do_not_leak_for_clean_files(tmp_path):
    folder = write_folder(tmp_path, "clean", SCORE, {"model-metadata.yaml": SCHEMA_YAML})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_metadata(str(folder))
