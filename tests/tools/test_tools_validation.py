"""`drumnb validation`: each check catches its own broken model and passes good ones."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fixtures import unnamed_binary_folder, write_folder

from drumnb.core.errors import ConfigurationError, HookLoadError
from drumnb.tools import validate
from drumnb.tools.validation import CHECKS, FAILED, PASSED, SKIPPED

GOOD_EXAMPLES = ["sklearn_regressor", "sklearn_multiclass", "all_hooks", "onnx_regressor", "sklearn_transform"]

HEADER = """
import numpy as np
import pandas as pd

def load_model(code_dir):
    return "m"
"""

BROKEN = {
    # a feature set to missing makes the hook raise
    "no_nulls": HEADER + """
def score(data, model, **kwargs):
    if data.isna().any().any():
        raise ValueError("cannot score missing values in " + str(list(data.columns[data.isna().any()])))
    return pd.DataFrame({"Predictions": data.select_dtypes("number").sum(axis=1)})
""",
    # answers change from call to call
    "random": HEADER + """
def score(data, model, **kwargs):
    noise = np.random.default_rng().normal(size=len(data))
    return pd.DataFrame({"Predictions": data.select_dtypes("number").fillna(0).sum(axis=1) + noise})
""",
    # answers depend on the other rows of the batch
    "batchy": HEADER + """
def score(data, model, **kwargs):
    x = data["x0"].fillna(0)
    return pd.DataFrame({"Predictions": x - x.mean()})
""",
    # forgets to put the rows back in their order after sorting them
    "sorted": HEADER + """
def score(data, model, **kwargs):
    x = data["x0"].fillna(0).sort_values().to_numpy()
    return pd.DataFrame({"Predictions": x * 2})
""",
    # a lookup table without a default
    "lookup": HEADER + """
TABLE = {"red": 1.0, "green": 2.0, "blue": 3.0}

def score(data, model, **kwargs):
    return pd.DataFrame({"Predictions": [TABLE[c] if isinstance(c, str) else 0.0 for c in data["color"]]
                         + data["x0"].fillna(0).to_numpy()})
""",
    # NaN predictions for large values: the output contract is broken by some rows only
    "nan_out": HEADER + """
def score(data, model, **kwargs):
    x = data["x0"].fillna(0)
    return pd.DataFrame({"Predictions": np.where(x > 1.0, np.nan, x)})
""",
}

GOOD_HOOKS = HEADER + """
TABLE = {"red": 1.0, "green": 2.0, "blue": 3.0}

def score(data, model, **kwargs):
    colors = [TABLE.get(c, 0.0) if isinstance(c, str) else 0.0 for c in data["color"]]
    return pd.DataFrame({"Predictions": np.asarray(colors) + data["x0"].fillna(0).to_numpy()})
"""


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(12, 3)), columns=["x0", "x1", "x2"])
    df["color"] = ["red", "green", "blue"] * 4
    return df


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    root = tmp_path_factory.mktemp("broken")
    folders = {name: write_folder(root, name, src, {"model-metadata.yaml": "targetType: regression\n"})
               for name, src in BROKEN.items()}
    folders["good"] = write_folder(root, "good", GOOD_HOOKS, {"model-metadata.yaml": "targetType: regression\n"})
    return folders


@pytest.fixture(scope="module")
def examples_dir(tmp_path_factory):
    from drumnb.examples import build

    out = tmp_path_factory.mktemp("val-examples")
    build(str(out), GOOD_EXAMPLES + ["sklearn_binary"])
    return out


def statuses(report):
    return {c.name: c.status for c in report.checks}


@pytest.mark.parametrize("name", GOOD_EXAMPLES)
def test_bundled_examples_pass(examples_dir, name):
    flags = json.loads((examples_dir / "examples.json").read_text())[name]["flags"]
    target = flags[1] if flags[:1] == ["--target-type"] else None
    report = validate(str(examples_dir / name), str(examples_dir / "data" / f"{name}.csv"), target)
    assert report.passed, report.to_text()
    got = statuses(report)
    assert list(got) == list(CHECKS)
    assert all(got[c] == PASSED for c in CHECKS if c != "unseen_categories")
    assert got["unseen_categories"] == SKIPPED  # numeric inputs only


def test_good_hooks_with_categories_pass(broken, data):
    report = validate(str(broken["good"]), data)
    assert report.passed and all(s == PASSED for s in statuses(report).values()), report.to_text()


def test_real_example_without_imputation_fails_null_check(examples_dir):
    report = validate(str(examples_dir / "sklearn_binary"), str(examples_dir / "data" / "sklearn_binary.csv"))
    assert not report.passed
    check = report["null_imputation"]
    assert check.status == FAILED and "30 of 30 feature(s)" in check.summary
    assert "contains NaN" in check.message
    assert len(check.example) == 1 and check.example.isna().sum().sum() == 1  # one row, one empty feature
    assert statuses(report)["determinism"] == PASSED


def test_null_imputation_failure(broken, data):
    report = validate(str(broken["no_nulls"]), data)
    got = statuses(report)
    assert got["null_imputation"] == FAILED
    assert all(got[c] in (PASSED, SKIPPED) for c in CHECKS if c != "null_imputation"), report.to_text()
    check = report["null_imputation"]
    assert "4 of 4 feature(s)" in check.summary
    assert check.focus == "x0" and "with feature 'x0' missing" in check.message
    assert "cannot score missing values in ['x0']" in check.message
    assert len(check.example) == 1 and pd.isna(check.example["x0"].iloc[0])
    text = report.to_text()
    assert "FAILED: Null value imputation" in text and "smallest example (1 row(s)): row 0 with 'x0' empty" in text


def test_non_deterministic_model(broken, data):
    report = validate(str(broken["random"]), data)
    got = statuses(report)
    assert got["determinism"] == FAILED
    # the comparing checks cannot tell a cause when answers are random: skipped, not failed
    assert got["batch_vs_single"] == SKIPPED and got["row_order"] == SKIPPED
    assert got["null_imputation"] == PASSED and got["contract"] == PASSED
    check = report["determinism"]
    assert len(check.example) == 1 and "scored twice" in check.example_note
    assert list(check.answers.index) == ["1st call", "2nd call"]
    assert "not deterministic" in report["row_order"].summary


def test_batch_dependent_model(broken, data):
    report = validate(str(broken["batchy"]), data)
    got = statuses(report)
    assert got["batch_vs_single"] == FAILED
    assert got["determinism"] == PASSED and got["row_order"] == PASSED and got["null_imputation"] == PASSED
    check = report["batch_vs_single"]
    assert "row 0 gets another answer alone than in the batch" in check.summary
    assert len(check.example) == 2 and "2-row batch" in check.example_note  # shrunk from 12 rows
    assert list(check.answers.index) == ["in the 2-row batch", "alone"]
    assert check.answers.loc["alone", "Predictions"] == 0.0


def test_row_order_dependent_model(broken, data):
    report = validate(str(broken["sorted"]), data)
    check = report["row_order"]
    assert check.status == FAILED and "when the rows are reversed" in check.summary
    assert len(check.example) == 2 and "both orders" in check.example_note
    assert statuses(report)["determinism"] == PASSED


def test_unseen_categories(broken, data):
    report = validate(str(broken["lookup"]), data)
    got = statuses(report)
    assert got["unseen_categories"] == FAILED
    assert got["null_imputation"] == PASSED and got["batch_vs_single"] == PASSED
    check = report["unseen_categories"]
    assert check.focus == "color" and "KeyError" in check.message and "drumnb-unseen-category" in check.message
    assert len(check.example) == 1 and check.example["color"].iloc[0] == "drumnb-unseen-category"


def test_output_contract_failure_shrinks_to_one_row(broken, data):
    report = validate(str(broken["nan_out"]), data)
    got = statuses(report)
    assert got["contract"] == FAILED
    assert all(got[c] == SKIPPED for c in ("determinism", "batch_vs_single", "row_order"))
    check = report["contract"]
    assert "finite predictions" in check.message
    assert len(check.example) == 1 and check.example["x0"].iloc[0] > 1.0


def test_schema_breach_is_a_contract_failure(tmp_path, data):
    folder = write_folder(tmp_path, "schema", BROKEN["no_nulls"], {"model-metadata.yaml": """
        targetType: regression
        typeSchema:
          input_requirements:
            - {field: data_types, condition: IN, value: [NUM]}
        """})
    report = validate(str(folder), data)
    assert report["contract"].status == FAILED and "column 'color' is CAT" in report["contract"].message
    numeric = data.drop(columns=["color"])
    report = validate(str(folder), numeric, checks=["null_imputation"])
    assert [c.name for c in report.checks] == ["contract", "null_imputation"]  # contract always runs
    assert "typeSchema held (1 input, 0 output requirement(s))" in report["contract"].summary


def test_forbidden_missing_skips_null_check(tmp_path, data):
    folder = write_folder(tmp_path, "nomissing", BROKEN["no_nulls"], {"model-metadata.yaml": """
        targetType: regression
        inputRequirements:
          - {field: contains_missing, condition: EQUALS, value: FORBIDDEN}
        """})
    report = validate(str(folder), data.drop(columns=["color"]))
    assert report["null_imputation"].status == SKIPPED and report.passed


def test_report_forms(broken, data):
    report = validate(str(broken["no_nulls"]), data)
    d = report.to_dict()
    assert d["passed"] is False and d["checks"][1]["status"] == FAILED
    assert d["checks"][1]["example"][0]["x0"] is None and json.dumps(d)
    html = report._repr_html_()
    assert "<table" in html and "FAILED" in html and "Null value imputation" in html
    assert list(report.to_frame().columns) == ["check", "result", "details", "seconds"]
    assert not bool(report) and "null_imputation=FAILED" in repr(report)


def test_errors(broken, data, tmp_path):
    with pytest.raises(ConfigurationError, match="unknown validation check 'determinsm'") as info:
        validate(str(broken["good"]), data, checks=["determinsm"])
    assert "did you mean 'determinism'" in info.value.hint
    bad = write_folder(tmp_path, "bad", "def load_model(code_dir):\n    raise RuntimeError('boom')\n")
    with pytest.raises(HookLoadError):
        validate(str(bad), data)


def test_cli_exit_codes_and_json(broken, data, tmp_path, cli):
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    good = cli("validation", "--code-dir", str(broken["good"]), "--input", str(path))
    assert good.returncode == 0, good.stderr.decode()
    out = good.stdout.decode()
    assert "PASSED" in out and "CHECK" in out and "Null value imputation" in out
    bad = cli("validation", "--code-dir", str(broken["batchy"]), "--input", str(path), "--json")
    assert bad.returncode == 1, bad.stderr.decode()
    report = json.loads(bad.stdout)
    assert report["passed"] is False
    assert {c["name"]: c["status"] for c in report["checks"]}["batch_vs_single"] == FAILED


def test_unnamed_binary_probabilities_are_a_warning_naming_drums_swap(tmp_path, data):
    from conftest import run_cli

    folder = unnamed_binary_folder(tmp_path)
    report = validate(str(folder), data, target_type="binary", positive_class_label="yes", negative_class_label="no")
    check = report["drum_compat"]
    assert check.status == "WARN" and report.passed  # a warning, not a failure
    assert "DRUM 1.18.1 would assign these probabilities the other way round" in check.message
    assert "WARN: Same answer as DRUM 1.18.1" in report.to_text() and "WARN" in report._repr_html_()
    data.to_csv(tmp_path / "in.csv", index=False)
    proc = run_cli("validation", "-cd", str(folder), "--input", str(tmp_path / "in.csv"), "--target-type", "binary",
                   "--positive-class-label", "yes", "--negative-class-label", "no")
    assert proc.returncode == 0 and b"WARN" in proc.stdout and b"other way round" in proc.stdout
