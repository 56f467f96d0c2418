"""``drumnb new model``: a model folder to start from, in Python, R, Java or Julia.

    result = new_model("my_model", language="python", framework="sklearn")
    print(result)          # the files written and the commands to try next

Every folder holds a hooks file whose hooks are each documented (for Java,
the predictor class whose methods are the contract), a ``model-metadata.yaml``
(target type and a type schema that is checked on every call), a
``README.md``, an ``example_input.csv`` and a training script that wrote the
artifact.  The model is the same everywhere: a regression on four numeric
features ``x1..x4`` (missing values are imputed in ``transform``, so the
folder passes ``drumnb validation``).

* Python (``--framework sklearn | xgboost | torch | keras | onnx``):
  ``train.py`` runs at once (in a child process) and writes the artifact, so
  the folder scores out of the box.
* R: ``custom.R`` + ``train.R`` (an ``lm`` saved as ``model.rds``; run with
  ``Rscript`` when it is installed).
* Java: ``src/`` holds the predictor class and DataRobot's predictor
  interfaces; it is compiled with ``javac`` into ``model.jar`` (``build.sh``
  does the same by hand).
* Julia: ``custom.jl`` + ``train.jl`` (MLJ, saved as ``model.jlso``); they
  need Julia, which loads with a clear error where it is missing.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ConfigurationError
from . import _render

LANGUAGES = ("python", "r", "java", "julia")
FRAMEWORKS = ("sklearn", "xgboost", "torch", "keras", "onnx")
FRAMEWORK_MODULES = {"sklearn": ("sklearn",), "xgboost": ("xgboost", "sklearn"), "torch": ("torch",),
                     "keras": ("keras",), "onnx": ("sklearn", "skl2onnx", "onnxruntime")}
FRAMEWORK_EXTRAS = {"sklearn": "sklearn", "xgboost": "xgboost", "torch": "torch", "keras": "tensorflow",
                    "onnx": "onnx"}
ARTIFACTS = {"sklearn": "model.pkl", "xgboost": "model.pkl", "torch": "model.pth", "keras": "model.h5",
             "onnx": "model.onnx"}
FEATURES = ("x1", "x2", "x3", "x4")


@dataclass
class TemplateResult:
    """What :func:`new_model` wrote; prints the files and the next commands."""

    folder: str
    language: str
    framework: str | None
    files: list[str] = field(default_factory=list)
    artifact: str | None = None
    built: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def next_steps(self) -> list[str]:
        d = self.folder
        data = os.path.join(d, "example_input.csv")
        return [f"drumnb score --code-dir {d} --input {data}",
                f"drumnb validation --code-dir {d} --input {data}",
                f"drumnb perf-test --code-dir {d} --input {data}",
                f"drumnb server --code-dir {d} --address 127.0.0.1:8080"]

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "language": self.language, "framework": self.framework, "files": self.files,
                "artifact": self.artifact, "built": self.built, "notes": self.notes, "next": self.next_steps}

    def to_text(self) -> str:
        what = self.language + (f" / {self.framework}" if self.framework else "")
        out = [f"drumnb new model: {what} template in {self.folder} ({self.seconds:.1f}s)"]
        out += [f"  {f}" for f in self.files]
        out += [f"note: {n}" for n in self.notes]
        out += ["next:"] + [f"  {s}" for s in self.next_steps]
        return "\n".join(out)

    __str__ = to_text

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{_render.esc(n)}</li>" for n in self.notes)
        steps = "".join(f"<li><code>{_render.esc(s)}</code></li>" for s in self.next_steps)
        files = ", ".join(f"<code>{_render.esc(f)}</code>" for f in self.files)
        return (f"<div><b>drumnb new model</b>: {_render.esc(self.language)} "
                f"{_render.esc(self.framework or '')} template in <code>{_render.esc(self.folder)}</code></div>"
                f"<div>{files}</div>" + (f"<ul>{notes}</ul>" if notes else "") + f"<div>next:</div><ul>{steps}</ul>")


# --- shared texts -------------------------------------------------------------------------------

METADATA = """\
# model-metadata.yaml: what DRUM (and drumnb) know about this model without running it.
name: {name}
type: inference
targetType: regression          # regression | binary | multiclass | anomaly | transform | unstructured | textgeneration
# For a classifier, give the labels (the flags --positive-class-label / --class-labels override them):
# inferenceModel:
#   targetName: y
#   positiveClassLabel: "yes"
#   negativeClassLabel: "no"
#   classLabels: [a, b, c]      # multiclass, in the order of the probability columns

# The type schema: checked on every call (input before the hooks run, predictions after).
# data_types: NUM TXT CAT DATE DATE_DURATION IMG COUNT_DICT GEO (EQUALS / IN / NOT_EQUALS / NOT_IN)
# number_of_columns: EQUALS IN NOT_EQUALS GREATER_THAN LESS_THAN NOT_GREATER_THAN NOT_LESS_THAN
# contains_missing: input FORBIDDEN | SUPPORTED, output NEVER | DYNAMIC
# sparse: input FORBIDDEN | SUPPORTED | REQUIRED, output NEVER | DYNAMIC | ALWAYS | IDENTITY
typeSchema:
  input_requirements:
    - field: data_types
      condition: IN
      value: [NUM]
    - field: number_of_columns
      condition: NOT_LESS_THAN
      value: 4
    - field: contains_missing
      condition: EQUALS
      value: SUPPORTED
  output_requirements:
    - field: data_types
      condition: EQUALS
      value: NUM
    - field: contains_missing
      condition: EQUALS
      value: NEVER

# Runtime parameters (read in hooks with RuntimeParameters.get("NAME"); local values: --runtime-params-file):
# runtimeParameterDefinitions:
#   - fieldName: THRESHOLD
#     type: numeric
#     defaultValue: 0.5
"""

README = """\
# {name}

A DRUM custom inference model folder ({what}), written by `drumnb new model`.
It runs unchanged with DataRobot's `drum` and with `drumnb`.

| file | what it is |
| --- | --- |
{table}
| `model-metadata.yaml` | name, target type, labels, type schema (checked on every call), runtime parameters |
| `example_input.csv` | 20 rows to try it with (one value is missing on purpose) |
| `README.md` | this file |

## Try it

```sh
cd {name}    # the commands run inside the folder
drumnb score --code-dir . --input example_input.csv
drumnb validation --code-dir . --input example_input.csv    # null imputation, determinism, ...
drumnb perf-test --code-dir . --input example_input.csv     # latency and memory per request size
drumnb server --code-dir . --address 127.0.0.1:8080         # then POST CSV to /predict/
drumnb export --code-dir . --output ../{name}-deploy --tar --input example_input.csv
```

From Python: `drumnb.load_model(".").predict("example_input.csv")`.

## Make it yours

1. {train}
2. Keep the feature list in the hooks in step with your data; change `targetType` (and the labels) in
   `model-metadata.yaml` for a classifier: `score` must then return one probability column per label.
3. Adjust the `typeSchema` to what your model accepts, or delete it.
4. Run `drumnb validation` until every check passes, then `drumnb export --tar` for a clean archive
   (requirements pinned, no drumnb state).

The hooks run in this order: `init` once, `load_model` once, then per request `read_input_data` ->
`transform` -> `score` -> `post_process`.  Every hook is optional; without `score` the framework's own
predict is used.
"""

PY_TRAIN_PRELUDE = '''\
"""Train the template's model and save the artifact (run: python train.py; drumnb new model ran it once).

Replace the data and the model with your own; keep saving to the file name the hooks load.
"""
import os

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
FEATURES = ["x1", "x2", "x3", "x4"]

rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(500, 4)), columns=FEATURES)
y = (3 * X.x1 - 2 * X.x2 + X.x3 * X.x4 + rng.normal(scale=0.1, size=len(X))).to_numpy()

example = X.head(20).round(4)
example.iloc[3, 2] = np.nan  # a missing value: the transform hook imputes it
example.to_csv(os.path.join(HERE, "example_input.csv"), index=False)
'''

PY_TRAIN = {
    "sklearn": '''
from sklearn.ensemble import GradientBoostingRegressor
import pickle

model = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=0).fit(X, y)
with open(os.path.join(HERE, "model.pkl"), "wb") as fh:
    pickle.dump(model, fh)
print("wrote model.pkl")
''',
    "xgboost": '''
import pickle

import xgboost

model = xgboost.XGBRegressor(n_estimators=100, max_depth=3, n_jobs=1, random_state=0).fit(X, y)
with open(os.path.join(HERE, "model.pkl"), "wb") as fh:
    pickle.dump(model, fh)
print("wrote model.pkl")
''',
    "torch": '''
import torch

torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
xt = torch.tensor(X.to_numpy(), dtype=torch.float32)
yt = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
opt = torch.optim.Adam(net.parameters(), lr=0.02)
for _ in range(200):
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(net(xt), yt)
    loss.backward()
    opt.step()
torch.jit.script(net.eval()).save(os.path.join(HERE, "model.pth"))  # TorchScript: loads without this code
print("wrote model.pth")
''',
    "keras": '''
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras

keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
model.fit(X.to_numpy("float32"), y, epochs=20, batch_size=32, verbose=0)
keras.saving.save_model(model, os.path.join(HERE, "model.h5"))
print("wrote model.h5")
''',
    "onnx": '''
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingRegressor

model = GradientBoostingRegressor(n_estimators=100, max_depth=3, random_state=0).fit(X.to_numpy(), y)
onx = to_onnx(model, initial_types=[("input", FloatTensorType([None, 4]))], target_opset=17)
with open(os.path.join(HERE, "model.onnx"), "wb") as fh:
    fh.write(onx.SerializeToString())
print("wrote model.onnx")
''',
}

PY_HOOKS = '''\
"""Hooks of a DRUM custom inference model ({framework}), written by `drumnb new model`.

DRUM and drumnb find these functions by name; every hook is optional.  They run in this order:

    init(code_dir)                  once, first
    load_model(code_dir)            once: returns the model object
    read_input_data(bytes)          per request: parses the payload (default: CSV, Matrix Market, Arrow)
    transform(data, model)          per request: prepares the features
    score(data, model, **kwargs)    per request: returns the predictions (default: the framework's predict)
    post_process(predictions, model)  per request: last changes to the predictions

Try it:  drumnb score --code-dir . --input example_input.csv
"""
import os

import numpy as np
import pandas as pd
{imports}
# The features the model was trained on, in training order (transform selects them).
FEATURES = ["x1", "x2", "x3", "x4"]
ARTIFACT = "{artifact}"


def init(code_dir, **kwargs):
    """Called once, before load_model.

    code_dir: the model folder.  Use it for set-up shared by the other hooks: seeds, logging, reading
    settings.  Runtime parameters declared in model-metadata.yaml are available here and in every hook:
        from datarobot_drum import RuntimeParameters
        threshold = RuntimeParameters.get("THRESHOLD")
    Returns nothing.
    """


def load_model(code_dir):
    """Called once: load the artifact and return the model object (it must not return None).

    Without this hook, DRUM loads the single artifact of a known extension itself (.pkl .pth .h5 .onnx ...).
    Whatever is returned here is the `model` argument of the other hooks.
    """
{load_body}


# def read_input_data(input_binary_data):
#     """Called per request with the raw payload (bytes); return what transform/score get (not None).
#
#     Without this hook, CSV, Matrix Market (.mtx) and Arrow payloads are parsed into a DataFrame
#     (missing values become NaN).  Define it for other formats or parsing rules, e.g.:
#     """
#     import io
#     return pd.read_csv(io.BytesIO(input_binary_data), na_values=["?"])


def transform(data, model):
    """Called per request: prepare the features; returns the data that score gets.

    data: a DataFrame with the columns of the request.  Here: keep the training features in training
    order (extra columns are ignored, a missing one is an error naming it) and impute missing values
    (0.0 is the training mean), so that `drumnb validation`'s null-imputation check passes.
    """
    missing = [c for c in FEATURES if c not in data.columns]
    if missing:
        raise KeyError(f"the input lacks the feature column(s) {{missing}}")
    return data[FEATURES].astype("float64").fillna(0.0)


def score(data, model, **kwargs):
    """Called per request: return the predictions as a DataFrame, one row per input row.

    Regression / anomaly: one numeric column "Predictions".  Binary / multiclass: one probability column
    per class label (rows sum to 1).  More columns are returned as extra model output.
    kwargs: positive_class_label, negative_class_label, class_labels (None unless set for the model).
    Without this hook, the framework's own predict (or predict_proba) is used.
    """
{score_body}
    return pd.DataFrame({{"Predictions": np.asarray(predictions, dtype="float64").reshape(-1)}})


def post_process(predictions, model):
    """Called per request with score's DataFrame: the last chance to change it (round, clip, rename).

    Must return a DataFrame with the same rows.
    """
    return predictions


# Other hooks, for other kinds of models:
#
# def score_unstructured(model, data, **kwargs):
#     """--target-type unstructured: data is str (text mimetypes) or bytes; kwargs: mimetype, charset,
#     query (dict), headers (server only), mlops.  Return str, bytes, or (data, {{"mimetype": ..,
#     "charset": ..}})."""
#
# def chat(completion_create_params, model):
#     """--target-type textgeneration: an OpenAI-style chat completion (or an iterator of chunks when
#     completion_create_params["stream"] is true)."""
'''

PY_PARTS = {
    "sklearn": ("import pickle\n", '''    with open(os.path.join(code_dir, ARTIFACT), "rb") as fh:
        return pickle.load(fh)''', '''    predictions = model.predict(data)'''),
    "xgboost": ("import pickle\n", '''    with open(os.path.join(code_dir, ARTIFACT), "rb") as fh:
        return pickle.load(fh)  # an xgboost.XGBRegressor''', '''    predictions = model.predict(data)'''),
    "torch": ("", '''    import torch

    model = torch.jit.load(os.path.join(code_dir, ARTIFACT), map_location="cpu")
    return model.eval()''', '''    import torch

    with torch.inference_mode():
        predictions = model(torch.from_numpy(data.to_numpy(dtype="float32"))).numpy()[:, 0]'''),
    "keras": ("", '''    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras.models.load_model(os.path.join(code_dir, ARTIFACT), compile=False)''',
              '''    predictions = model.predict(data.to_numpy(dtype="float32"), verbose=0)[:, 0]'''),
    "onnx": ("", '''    import onnxruntime

    return onnxruntime.InferenceSession(os.path.join(code_dir, ARTIFACT), providers=["CPUExecutionProvider"])''',
             '''    name = model.get_inputs()[0].name
    predictions = model.run(None, {name: data.to_numpy(dtype="float32")})[0][:, 0]'''),
}

R_TRAIN = """\
# Train the template's model and save it as model.rds (run: Rscript train.R).
# Replace the data and the model with your own; keep saving to the file custom.R loads.
set.seed(0)
n <- 500
d <- data.frame(x1 = rnorm(n), x2 = rnorm(n), x3 = rnorm(n), x4 = rnorm(n))
d$y <- 3 * d$x1 - 2 * d$x2 + d$x3 * d$x4 + rnorm(n, sd = 0.1)
model <- lm(y ~ x1 + x2 + x3 * x4, data = d)
saveRDS(model, "model.rds")
cat("wrote model.rds\\n")
"""

R_HOOKS = """\
# Hooks of a DRUM custom inference model in R, written by `drumnb new model`.
#
# DRUM and drumnb find these functions by name; every hook is optional.  They run in this order:
#   init(code_dir, ...)                 once, first
#   load_model(code_dir)                once: returns the model object
#   read_input_data(input_binary_data)  per request: parses the payload (default: read.csv)
#   transform(data, model)              per request: prepares the features
#   score(data, model, ...)             per request: returns the predictions (default: predict on the .rds model)
#   post_process(predictions, model)    per request: last changes to the predictions
#
# Try it:  drumnb score --code-dir . --input example_input.csv

features <- c("x1", "x2", "x3", "x4")

# Called once, before load_model.  code_dir: the model folder.  Load libraries and settings here.
init <- function(code_dir, ...) {
  invisible(NULL)
}

# Called once: read the artifact and return the model object (never NULL).
# Without this hook, DRUM reads the single .rds file of the folder (a caret model) itself.
load_model <- function(code_dir) {
  readRDS(file.path(code_dir, "model.rds"))
}

# Called per request with the raw payload (a raw vector); return a data.frame.
# Without this hook the payload is read with read.csv (empty fields and NA become NA).
# read_input_data <- function(input_binary_data) {
#   read.csv(text = rawToChar(input_binary_data), na.strings = c("NA", "", "?"))
# }

# Called per request: keep the training features and impute missing values (0 is the training mean),
# so that `drumnb validation`'s null-imputation check passes.  Returns the data score gets.
transform <- function(data, model) {
  missing <- setdiff(features, names(data))
  if (length(missing) > 0) stop("the input lacks the feature column(s) ", paste(missing, collapse = ", "))
  data <- data[, features, drop = FALSE]
  for (f in features) data[[f]][is.na(data[[f]])] <- 0
  data
}

# Called per request: return a data.frame with one row per input row.
# Regression / anomaly: a numeric column Predictions.  Binary / multiclass: one probability column per
# class label (rows sum to 1).  `...` carries positive_class_label, negative_class_label, class_labels.
score <- function(data, model, ...) {
  data.frame(Predictions = unname(predict(model, newdata = data)))
}

# Called per request with score's data.frame: the last chance to change it (round, clip, rename).
post_process <- function(predictions, model) {
  predictions
}

# For --target-type unstructured:
# score_unstructured <- function(model, data, ...) {
#   kw <- list(...)   # mimetype, charset, query
#   toupper(data)     # a character string, a raw vector, or list(data, list(mimetype = ..., charset = ...))
# }
"""

JAVA_INTERFACES = {
    "com/datarobot/prediction/IPredictorInfo.java": """\
package com.datarobot.prediction;

import java.util.Map;

/** What every DataRobot predictor tells about itself (a stand-in for the datarobot-prediction artifact). */
public interface IPredictorInfo {
    /** An identifier of the model. */
    String getModelId();

    /** Feature name -> Java type (Double.class for numbers, String.class for text), in training order. */
    Map<String, Class<?>> getFeatures();
}
""",
    "com/datarobot/prediction/IRegressionPredictor.java": """\
package com.datarobot.prediction;

import java.util.Map;

/** A regression predictor: one number per row. */
public interface IRegressionPredictor extends IPredictorInfo {
    /** Score one row: feature name -> value (Double or String); a missing value is an absent key. */
    double score(Map<String, ?> row);
}
""",
    "com/datarobot/prediction/IClassificationPredictor.java": """\
package com.datarobot.prediction;

import java.util.Map;

/** A classification predictor: a probability per class label. */
public interface IClassificationPredictor extends IPredictorInfo {
    /** Score one row: label -> probability (they sum to 1). */
    Map<String, Double> score(Map<String, ?> row);

    /** The class labels, in order (binary: negative first, positive second). */
    String[] getClassLabels();
}
""",
}

JAVA_MODEL = """\
package template;

import com.datarobot.prediction.IRegressionPredictor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A DRUM Java model, written by `drumnb new model`: one class implementing DataRobot's predictor interface
 * (com.datarobot.prediction.IRegressionPredictor or IClassificationPredictor), packed into model.jar.
 *
 * Java models have no hooks file: DRUM (and drumnb) find the one concrete class of the jar that implements
 * an interface, create it with its public no-argument constructor, and call score() for every row.  The
 * methods below are the whole contract.  Build: ./build.sh (javac + jar); try:
 * drumnb score --code-dir . --input example_input.csv --target-type regression
 */
public class LinearModel implements IRegressionPredictor {
    private static final String[] FEATURES = {"x1", "x2", "x3", "x4"};
    private static final double[] WEIGHTS = {3.0, -2.0, 0.0, 0.0};
    private static final double INTERCEPT = 0.0;

    /** Called once, when the model loads: read coefficients or resources here. */
    public LinearModel() {
    }

    /** An identifier shown by /info/. */
    @Override
    public String getModelId() {
        return "drumnb-template-linear";
    }

    /** The features, in order, with their types: Double.class for numbers, String.class for text. */
    @Override
    public Map<String, Class<?>> getFeatures() {
        Map<String, Class<?>> features = new LinkedHashMap<>();
        for (String name : FEATURES) {
            features.put(name, Double.class);
        }
        return features;
    }

    /**
     * Score one row.  Values are Double (numbers) or String (text); a missing value is an absent key, imputed
     * here with 0.0 (the training mean) so that `drumnb validation`'s null-imputation check passes.
     */
    @Override
    public double score(Map<String, ?> row) {
        double[] x = new double[FEATURES.length];
        for (int i = 0; i < FEATURES.length; i++) {
            Object value = row.get(FEATURES[i]);
            x[i] = value instanceof Number ? ((Number) value).doubleValue() : 0.0;
        }
        double y = INTERCEPT + x[2] * x[3];
        for (int i = 0; i < x.length; i++) {
            y += WEIGHTS[i] * x[i];
        }
        return y;
    }
}
"""

JAVA_BUILD = """\
#!/bin/sh
# Compile src/ and pack model.jar (what `drumnb new model --language java` did once).
set -e
cd "$(dirname "$0")"
rm -rf build && mkdir build
javac --release 11 -d build $(find src -name '*.java')
jar cf model.jar -C build .
rm -rf build
echo "wrote model.jar"
"""

JULIA_HOOKS = """\
# Hooks of a DRUM custom inference model in Julia (MLJ), written by `drumnb new model`.
#
# DRUM and drumnb find these functions by name; every hook is optional.  They run in this order:
#   init(code_dir; kwargs...)               once, first
#   load_model(code_dir)                    once: returns the model (an MLJ machine)
#   read_input_data(input_binary_data)      per request: parses the payload (default: CSV)
#   transform(data, model)                  per request: prepares the features
#   score(data, model; kwargs...)           per request: returns the predictions (default: MLJ.predict)
#   post_process(predictions, model)        per request: last changes to the predictions
#
# Needs Julia with the packages MLJ, JLSO, DataFrames, CSV and MLJLinearModels, and the Python package
# juliacall.  Try it:  drumnb score --code-dir . --input example_input.csv

using DataFrames
using JLSO
using MLJ

const FEATURES = [:x1, :x2, :x3, :x4]

# Called once, before load_model.  code_dir: the model folder.
function init(code_dir; kwargs...)
    nothing
end

# Called once: return the model object (never nothing).  Without this hook DRUM reads the single .jlso file.
function load_model(code_dir)
    JLSO.load(joinpath(code_dir, "model.jlso"))[:model]
end

# Called per request with the raw payload (a Vector{UInt8}); return a DataFrame.
# function read_input_data(input_binary_data)
#     CSV.read(IOBuffer(input_binary_data), DataFrame; missingstring = ["", "NA"])
# end

# Called per request: keep the training features and impute missing values with 0.0 (the training mean).
function transform(data, model)
    out = select(data, FEATURES)
    for f in FEATURES
        out[!, f] = coalesce.(out[!, f], 0.0)
    end
    out
end

# Called per request: a DataFrame with a Predictions column (regression), or one probability column per label.
function score(data, model; kwargs...)
    DataFrame(Predictions = MLJ.predict(model, data))
end

# Called per request with score's DataFrame: the last chance to change it.
function post_process(predictions, model)
    predictions
end
"""

JULIA_TRAIN = """\
# Train the template's model and save it as model.jlso (run: julia train.jl).
using DataFrames, JLSO, MLJ, Random
LinearRegressor = @load LinearRegressor pkg = MLJLinearModels verbosity = 0

Random.seed!(0)
n = 500
X = DataFrame(x1 = randn(n), x2 = randn(n), x3 = randn(n), x4 = randn(n))
y = 3 .* X.x1 .- 2 .* X.x2 .+ X.x3 .* X.x4 .+ 0.1 .* randn(n)
mach = machine(LinearRegressor(), X, y)
fit!(mach; verbosity = 0)
JLSO.save("model.jlso", :model => mach)
println("wrote model.jlso")
"""


def _example_csv() -> str:
    """The 20 rows of example_input.csv (what train.py writes for Python templates)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 4)), columns=list(FEATURES))
    example = X.head(20).round(4)
    example.iloc[3, 2] = np.nan
    return example.to_csv(index=False)


# --- the command --------------------------------------------------------------------------------

def _write(folder: str, rel: str, text: str, files: list[str], mode: int | None = None) -> None:
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    if mode is not None:
        os.chmod(path, mode)
    files.append(rel)


def _run(cmd: list[str], cwd: str, timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def new_model(code_dir: "str | os.PathLike[str]", language: str = "python", framework: str | None = None, *,
              name: str | None = None, force: bool = False, build: bool = True, in_process: bool = False,
              timeout: float = 600.0) -> TemplateResult:
    """Write a template model folder to ``code_dir``; returns a :class:`TemplateResult`.

    ``language``: python, r, java or julia; ``framework`` (Python only):
    sklearn (default), xgboost, torch, keras or onnx.  ``build``: run the
    training script (Python, R) or the compiler (Java) now, so the folder
    scores at once; ``in_process``: run a Python ``train.py`` in this process
    rather than a child (faster when the framework is imported here anyway).
    An existing non-empty folder needs ``force`` (files of the template are
    replaced, others kept).
    """
    started = time.perf_counter()
    language = (language or "python").strip().lower()
    if language not in LANGUAGES:
        import difflib

        near = difflib.get_close_matches(language, LANGUAGES, n=1)
        raise ConfigurationError(f"unknown language {language!r}",
                                 hint=(f"did you mean {near[0]!r}? " if near else "") +
                                 f"languages: {', '.join(LANGUAGES)}")
    if framework is not None and language != "python":
        raise ConfigurationError(f"--framework is for Python templates, not {language}",
                                 hint="drop --framework, or use --language python")
    if language == "python":
        framework = (framework or "sklearn").strip().lower()
        if framework not in FRAMEWORKS:
            raise ConfigurationError(f"unknown framework {framework!r}", hint=f"frameworks: {', '.join(FRAMEWORKS)}")
        absent = [m for m in FRAMEWORK_MODULES[framework] if importlib.util.find_spec(m) is None]
        if absent and build:
            raise ConfigurationError(f"the {framework} template needs {', '.join(absent)}, which is not installed",
                                     hint=f"pip install 'drumnb[{FRAMEWORK_EXTRAS[framework]}]', or pass --no-build "
                                          "to write the files only")
    folder = os.path.abspath(os.fspath(code_dir))
    if os.path.isdir(folder) and os.listdir(folder) and not force:
        raise ConfigurationError(f"{folder} exists and is not empty",
                                 hint="choose a new folder, or pass --force to write the template's files into it")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ConfigurationError(f"{folder} exists and is not a folder")
    os.makedirs(folder, exist_ok=True)
    name = name or os.path.basename(folder.rstrip(os.sep)) or "model"
    result = TemplateResult(folder, language, framework)
    builder = {"python": _python, "r": _r, "java": _java, "julia": _julia}[language]
    if language == "python":
        _python(result, name, build, timeout, in_process)
    else:
        builder(result, name, build, timeout)
    result.seconds = time.perf_counter() - started
    return result


def _common(result: TemplateResult, name: str, table: str, what: str, train: str) -> None:
    _write(result.folder, "model-metadata.yaml", METADATA.format(name=name), result.files)
    _write(result.folder, "README.md", README.format(name=name, table=table, what=what, train=train), result.files)


def _python(result: TemplateResult, name: str, build: bool, timeout: float, in_process: bool = False) -> None:
    fw = result.framework or "sklearn"
    imports, load_body, score_body = PY_PARTS[fw]
    result.artifact = ARTIFACTS[fw]
    hooks = PY_HOOKS.format(framework=fw, imports=imports, artifact=result.artifact, load_body=load_body,
                            score_body=score_body)
    _write(result.folder, "custom.py", hooks, result.files)
    _write(result.folder, "train.py", PY_TRAIN_PRELUDE + PY_TRAIN[fw], result.files)
    table = ("| `custom.py` | the hooks, each documented |\n"
             f"| `train.py` | trains the example model and writes `{result.artifact}` and `example_input.csv` |\n"
             f"| `{result.artifact}` | the artifact ({fw}) |")
    _common(result, name, table, f"Python, {fw}",
            f"Replace the data and the model in `train.py` with yours and run `python train.py` (it writes "
            f"`{result.artifact}`), or save your own artifact under that name.")
    if not build:
        _write(result.folder, "example_input.csv", _example_csv(), result.files)
        result.notes.append(f"not built: run 'python train.py' in the folder to write {result.artifact}")
        return
    if in_process:
        import contextlib
        import io
        import runpy

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                runpy.run_path(os.path.join(result.folder, "train.py"), run_name="__main__")
        except Exception as exc:  # noqa: BLE001 - the author's script: one message
            raise ConfigurationError(f"train.py of the {fw} template failed: {type(exc).__name__}: {exc}",
                                     hint=f"run 'python train.py' in {result.folder} to see the whole error") from exc
    else:
        proc = _run([sys.executable, "train.py"], result.folder, timeout)
        if proc.returncode != 0:
            tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
            raise ConfigurationError(f"train.py of the {fw} template failed (exit {proc.returncode}):\n{tail}",
                                     hint=f"run 'python train.py' in {result.folder} to see the whole error")
    result.files += [result.artifact, "example_input.csv"]
    result.built = True


def _r(result: TemplateResult, name: str, build: bool, timeout: float) -> None:
    result.artifact = "model.rds"
    _write(result.folder, "custom.R", R_HOOKS, result.files)
    _write(result.folder, "train.R", R_TRAIN, result.files)
    _write(result.folder, "example_input.csv", _example_csv(), result.files)
    table = ("| `custom.R` | the hooks, each documented |\n"
             "| `train.R` | trains the example model (`lm`) and writes `model.rds` |\n"
             "| `model.rds` | the artifact |")
    _common(result, name, table, "R",
            "Replace the data and the model in `train.R` with yours and run `Rscript train.R` (it writes "
            "`model.rds`); the R packages your model needs must be installed where it runs.")
    rscript = shutil.which("Rscript")
    if not build:
        result.notes.append("not built: run 'Rscript train.R' in the folder to write model.rds")
        return
    if rscript is None:
        result.notes.append("Rscript not found, so model.rds was not written: install R (r-base-core) and run "
                            "'Rscript train.R' in the folder; scoring also needs rpy2 (pip install 'drumnb[r]')")
        return
    proc = _run([rscript, "train.R"], result.folder, timeout)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise ConfigurationError(f"train.R failed (exit {proc.returncode}):\n{tail}",
                                 hint=f"run 'Rscript train.R' in {result.folder} to see the whole error")
    result.files.append("model.rds")
    result.built = True
    if importlib.util.find_spec("rpy2") is None:
        result.notes.append("scoring R models needs rpy2: pip install 'drumnb[r]'")


def _java(result: TemplateResult, name: str, build: bool, timeout: float) -> None:
    result.artifact = "model.jar"
    sources = {**JAVA_INTERFACES, "template/LinearModel.java": JAVA_MODEL}
    for rel, text in sources.items():
        _write(result.folder, os.path.join("src", rel), text, result.files)
    _write(result.folder, "build.sh", JAVA_BUILD, result.files, mode=0o755)
    _write(result.folder, "example_input.csv", _example_csv(), result.files)
    table = ("| `src/template/LinearModel.java` | the predictor class: its methods are the contract (Java models "
             "have no hooks file) |\n"
             "| `src/com/datarobot/prediction/` | DataRobot's predictor interfaces (stand-ins of the "
             "`datarobot-prediction` artifact) |\n"
             "| `build.sh` | compiles `src/` into `model.jar` |\n"
             "| `model.jar` | the artifact |")
    _common(result, name, table, "Java",
            "Put your scoring code in `LinearModel.java` (or another class implementing one of the interfaces) "
            "and run `./build.sh`.  A model exported from H2O can replace the jar: a MOJO `.zip` or a POJO "
            "`.java` file at the top of the folder.")
    if not build:
        result.notes.append("not built: run ./build.sh to write model.jar")
        return
    javac = shutil.which("javac")
    if javac is None:
        result.notes.append("javac not found, so model.jar was not built: install a JDK (openjdk-17-jdk-headless) "
                            "and run ./build.sh")
        return
    with tempfile.TemporaryDirectory(prefix="drumnb-java-template-") as tmp:
        files = [os.path.join(result.folder, "src", rel) for rel in sources]
        proc = _run([javac, "--release", "11", "-d", tmp, *files], result.folder, timeout)
        if proc.returncode != 0:
            raise ConfigurationError(f"javac failed on the Java template:\n{proc.stderr.strip()[-1500:]}",
                                     hint=f"run ./build.sh in {result.folder} to see the whole error")
        with zipfile.ZipFile(os.path.join(result.folder, "model.jar"), "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: drumnb\n\n")
            for root, _, names in os.walk(tmp):
                for n in sorted(names):
                    full = os.path.join(root, n)
                    jar.write(full, os.path.relpath(full, tmp))
    result.files.append("model.jar")
    result.built = True


def _julia(result: TemplateResult, name: str, build: bool, timeout: float) -> None:
    result.artifact = "model.jlso"
    _write(result.folder, "custom.jl", JULIA_HOOKS, result.files)
    _write(result.folder, "train.jl", JULIA_TRAIN, result.files)
    _write(result.folder, "example_input.csv", _example_csv(), result.files)
    table = ("| `custom.jl` | the hooks, each documented |\n"
             "| `train.jl` | trains the example model (MLJ) and writes `model.jlso` |\n"
             "| `model.jlso` | the artifact (written by `julia train.jl`) |")
    _common(result, name, table, "Julia, MLJ",
            "Replace the data and the model in `train.jl` with yours and run `julia train.jl`.")
    julia = shutil.which("julia")
    if build and julia is not None:
        proc = _run([julia, "train.jl"], result.folder, timeout)
        if proc.returncode == 0:
            result.files.append("model.jlso")
            result.built = True
            return
        result.notes.append(f"julia train.jl failed: {proc.stderr.strip().splitlines()[-1:] or ''}")
        return
    result.notes.append("Julia is not installed here: model.jlso was not written, and loading this folder fails "
                        "with a JuliaUnavailableError until Julia, its packages (MLJ, JLSO, DataFrames, CSV, "
                        "MLJLinearModels) and 'pip install juliacall' are installed; then run 'julia train.jl'")


__all__ = ["new_model", "TemplateResult", "LANGUAGES", "FRAMEWORKS"]
