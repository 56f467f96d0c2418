"""A framework is one registry entry: a toy framework, installed as a distribution with a `drumnb.predictors`
entry point, gets `drumnb new --framework toy`, `drumnb score` and `drumnb export` without any change to drumnb."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from drumnb import predictors

# The whole framework: a model class, its predictor, its saver, its template, and the registration.
TOY_MODULE = '''\
"""drumnb_toy: a model is a JSON file of weights; the prediction is the weighted sum of the columns."""
import json
import os

import numpy as np

from drumnb import predictors


class ToyModel:
    def __init__(self, weights):
        self.weights = dict(weights)

    def predict(self, data):
        return sum(w * data[c].fillna(0.0).to_numpy("float64") for c, w in self.weights.items())


class ToyPredictor(predictors.Predictor):
    name = "toy"

    def load(self, path):
        with open(path, encoding="utf-8") as fh:
            return ToyModel(json.load(fh))

    def predict(self, model, data, config):
        return np.asarray(model.predict(data)), None

    def expected_columns(self, model):
        return list(model.weights)


def save(obj, folder, name, example=None):
    if not isinstance(obj, ToyModel):
        return None
    name = name or "model.toy"
    with open(os.path.join(folder, name), "w", encoding="utf-8") as fh:
        json.dump(obj.weights, fh)
    return name


def register():
    predictors.register("toy", [".toy"], "drumnb_toy:ToyPredictor", modules=["drumnb_toy"],
                        save="drumnb_toy:save", save_modules=["drumnb_toy"], requirements=["drumnb_toy"],
                        template="drumnb_toy:template", artifact="model.toy", template_needs=["drumnb_toy"])
'''
TEMPLATE = {
    "imports.py.tmpl": "import drumnb_toy\n",
    "load_model.py.tmpl": '''\
    import json

    with open(os.path.join(code_dir, ARTIFACT), encoding="utf-8") as fh:
        return drumnb_toy.ToyModel(json.load(fh))
''',
    "score.py.tmpl": "    predictions = model.predict(data)\n",
    "train.py.tmpl": '''
import drumnb_toy

model = drumnb_toy.ToyModel({"x1": 3.0, "x2": -2.0})
drumnb_toy.save(model, HERE, None)
print("wrote model.toy")
''',
}
WEIGHTS = {"x1": 3.0, "x2": -2.0}


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory) -> Path:
    """A folder for PYTHONPATH holding the installed distribution drumnb_toy 0.1 (package + .dist-info)."""
    site = tmp_path_factory.mktemp("toy-site")
    package = site / "drumnb_toy"
    (package / "template").mkdir(parents=True)
    (package / "__init__.py").write_text(TOY_MODULE)
    for name, text in TEMPLATE.items():
        (package / "template" / name).write_text(text)
    info = site / "drumnb_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: drumnb_toy\nVersion: 0.1\n")
    (info / "top_level.txt").write_text("drumnb_toy\n")
    (info / "entry_points.txt").write_text("[drumnb.predictors]\ntoy = drumnb_toy:register\n")
    return site


def _cli(site: Path, *args: str) -> subprocess.CompletedProcess:
    proc = run_cli(*args, env={"PYTHONPATH": str(site)})
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return proc


def test_toy_framework_new_score_export(toy_site, tmp_path):
    folder = tmp_path / "toy_model"
    # the CLI's --framework choices come from the registry, entry points included
    proc = _cli(toy_site, "new", "model", "--code-dir", str(folder), "--framework", "toy")
    assert (folder / "model.toy").is_file() and (folder / "example_input.csv").is_file()
    assert "import drumnb_toy" in (folder / "custom.py").read_text()
    data = pd.read_csv(folder / "example_input.csv")
    expected = 3.0 * data.x1.fillna(0.0) - 2.0 * data.x2.fillna(0.0)

    proc = _cli(toy_site, "score", "--code-dir", str(folder), "--input", str(folder / "example_input.csv"))
    scored = pd.read_csv(io.BytesIO(proc.stdout))
    assert scored["Predictions"].to_numpy() == pytest.approx(expected.to_numpy())

    out = tmp_path / "toy_export"
    proc = _cli(toy_site, "export", "--code-dir", str(folder), "--output", str(out), "--tar",
                "--input", str(folder / "example_input.csv"), "--json")
    report = json.loads(proc.stdout)
    assert report["ok"] and report["freshProcess"]["ok"], report
    assert "drumnb_toy==0.1" in report["requirements"]  # the toy's own requirement, pinned
    assert report["artifact"] == "model.toy"


def test_toy_object_saved_by_its_entry_and_read_by_its_predictor(toy_site, tmp_path):
    """export_model(model=ToyModel) writes model.toy with the entry's saver; the artifact-only folder is read by
    the entry's predictor (no custom.py) in this process and in the fresh one export starts."""
    out = tmp_path / "from_object"
    script = textwrap.dedent(f"""
        import json, sys
        import pandas as pd
        import drumnb_toy
        from drumnb.tools import export_model
        data = pd.DataFrame({{"x1": [1.0, 2.0, 3.0], "x2": [0.5, 0.0, -1.0]}})
        report = export_model({str(out)!r}, model=drumnb_toy.ToyModel({WEIGHTS!r}), data=data,
                              target_type="regression")
        json.dump(report.to_dict(), sys.stdout, default=str)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(toy_site)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["ok"] and report["artifact"] == "model.toy", report
    assert sorted(report["files"]) == ["model-metadata.yaml", "model.toy", "requirements.txt"]
    assert json.loads((out / "model.toy").read_text()) == WEIGHTS
    (tmp_path / "in.csv").write_text("x1,x2\n1,1\n2,-1\n")
    proc = _cli(toy_site, "score", "--code-dir", str(out), "--input", str(tmp_path / "in.csv"))
    assert pd.read_csv(io.BytesIO(proc.stdout))["Predictions"].tolist() == pytest.approx([1.0, 8.0])


def test_toy_is_unknown_without_its_distribution():
    """The entry exists only where the distribution is installed: this process has no toy framework."""
    assert "toy" not in predictors.registered()
    assert "sklearn" in predictors.templates("python") and "r" in predictors.template_languages()
