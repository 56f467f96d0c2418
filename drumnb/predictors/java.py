"""Java models through JPype: H2O MOJO (``.zip``) and POJO (``.java``), and ``.jar`` predictors.

* **MOJO** ``.zip``: ``hex.genmodel.MojoModel.load`` wrapped in an
  ``EasyPredictModelWrapper`` (unknown categorical levels and unparsable
  numbers become missing, as H2O scores them).  The genmodel classes come from
  the ``h2o.jar`` inside the ``h2o`` Python package (no network), or from the
  jar named by ``DRUMNB_H2O_GENMODEL_JAR``.
* **POJO** ``.java``: compiled with ``javac`` against that jar at load, cached
  by content hash under the drumnb cache folder, then wrapped the same way.  The
  file must keep the name H2O gave it (the class name).
* **jar**: a jar whose class implements DataRobot's public
  ``com.datarobot.prediction.IRegressionPredictor`` (``double score(Map)``) or
  ``IClassificationPredictor`` (``Map<String, Double> score(Map)``,
  ``String[] getClassLabels()``).  DataRobot Scoring Code jars are loaded through
  their ``com.datarobot.prediction.Predictors.getPredictor(ClassLoader)``; other
  jars are searched for one concrete class implementing either interface.
* ``.mojo`` (H2O Driverless AI pipelines) answers a clear error: they need a
  licence and a runtime drumnb cannot provide.
* ``DRUM_JAVA_XMX`` sets the JVM heap (``-Xmx``), as in DRUM.
* Rows are scored in Java by a small helper class (compiled once, cached), so
  that a large frame crosses into the JVM as one array per column.

R and the JVM: once the JVM runs, R refuses to load a model (loading R packages
after the JVM started crashes the process); the R predictor says so.  Starting
the JVM after R works.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..core.contract import CLASSIFICATION
from ..core.errors import ArtifactError, InputError
from . import Predictor

log = logging.getLogger("drumnb")

_LOCK = threading.RLock()
_state: dict[str, Any] = {}


class JavaRuntimeUnavailable(ArtifactError):
    """No JVM, no javac, no JPype, or no genmodel jar."""


# --- helper classes, compiled once ----------------------------------------------------------------

_ROW_SCORER = r"""
package drumnb;

import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;

/** Scores columns with a predictor whose score(Map) method is given (DataRobot's interfaces). */
public final class RowScorer {
    private RowScorer() {}

    static Map<String, Object> row(String[] names, Object[] columns, int i) {
        HashMap<String, Object> row = new HashMap<>();
        for (int j = 0; j < names.length; j++) {
            Object col = columns[j];
            if (col instanceof double[]) {
                double v = ((double[]) col)[i];
                if (!Double.isNaN(v)) row.put(names[j], v);
            } else {
                String s = ((String[]) col)[i];
                if (s != null) row.put(names[j], s);
            }
        }
        return row;
    }

    public static double[] score(Object predictor, Method score, String[] names, Object[] columns, int n,
                                 String[] labels) throws Exception {
        int k = labels == null ? 1 : labels.length;
        double[] out = new double[n * k];
        for (int i = 0; i < n; i++) {
            Object r;
            try {
                r = score.invoke(predictor, row(names, columns, i));
            } catch (java.lang.reflect.InvocationTargetException e) {
                Throwable c = e.getCause() == null ? e : e.getCause();
                throw new IllegalArgumentException("row " + i + ": " + c, c);
            }
            if (labels == null) {
                out[i] = ((Number) r).doubleValue();
            } else {
                Map<?, ?> probs = (Map<?, ?>) r;
                for (int c = 0; c < k; c++) {
                    Object p = probs.get(labels[c]);
                    out[i * k + c] = p == null ? Double.NaN : ((Number) p).doubleValue();
                }
            }
        }
        return out;
    }
}
"""

_H2O_SCORER = r"""
package drumnb;

import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.prediction.AbstractPrediction;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import hex.genmodel.easy.prediction.MultinomialModelPrediction;
import hex.genmodel.easy.prediction.OrdinalModelPrediction;
import hex.genmodel.easy.prediction.RegressionModelPrediction;

/** Scores columns (double[] for numbers, String[] for categoricals; NaN / null = missing) with H2O. */
public final class H2OScorer {
    private H2OScorer() {}

    public static double[] score(EasyPredictModelWrapper w, String[] names, Object[] columns, int n, int k)
            throws Exception {
        double[] out = new double[n * k];
        for (int i = 0; i < n; i++) {
            RowData row = new RowData();
            for (int j = 0; j < names.length; j++) {
                Object col = columns[j];
                if (col instanceof double[]) {
                    double v = ((double[]) col)[i];
                    if (!Double.isNaN(v)) row.put(names[j], v);
                } else {
                    String s = ((String[]) col)[i];
                    if (s != null) row.put(names[j], s);
                }
            }
            AbstractPrediction p;
            try {
                p = w.predict(row);
            } catch (Exception e) {
                throw new IllegalArgumentException("row " + i + ": " + e.getMessage(), e);
            }
            if (p instanceof RegressionModelPrediction) {
                out[i] = ((RegressionModelPrediction) p).value;
            } else {
                double[] probs;
                if (p instanceof BinomialModelPrediction) probs = ((BinomialModelPrediction) p).classProbabilities;
                else if (p instanceof MultinomialModelPrediction)
                    probs = ((MultinomialModelPrediction) p).classProbabilities;
                else if (p instanceof OrdinalModelPrediction) probs = ((OrdinalModelPrediction) p).classProbabilities;
                else throw new IllegalArgumentException("drumnb scores regression and classification H2O models, not "
                                                        + p.getClass().getSimpleName());
                System.arraycopy(probs, 0, out, i * k, k);
            }
        }
        return out;
    }
}
"""


def cache_dir() -> str:
    root = os.environ.get("DRUMNB_CACHE_DIR")
    if not root:
        try:
            import platformdirs

            root = platformdirs.user_cache_dir("drumnb")
        except Exception:  # noqa: BLE001
            root = os.path.join(os.path.expanduser("~"), ".cache", "drumnb")
    return os.path.join(root, "java")


def javac() -> str:
    home = os.environ.get("JAVA_HOME")
    candidates = [os.path.join(home, "bin", "javac")] if home else []
    found = shutil.which("javac")
    if found:
        candidates.append(found)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.realpath(c)
    raise JavaRuntimeUnavailable("javac (the Java compiler) is not installed; drumnb compiles H2O POJOs and its "
                                 "scoring helper with it",
                                 hint="apt-get install openjdk-17-jdk-headless (or set JAVA_HOME to a JDK)")


def genmodel_jar() -> str:
    """The jar holding ``hex.genmodel``: ``DRUMNB_H2O_GENMODEL_JAR``, else ``h2o.jar`` of the h2o package."""
    explicit = os.environ.get("DRUMNB_H2O_GENMODEL_JAR")
    if explicit:
        if not os.path.isfile(explicit):
            raise JavaRuntimeUnavailable(f"DRUMNB_H2O_GENMODEL_JAR names a missing file: {explicit}")
        return explicit
    import importlib.util

    spec = importlib.util.find_spec("h2o")
    if spec and spec.origin:
        jar = os.path.join(os.path.dirname(spec.origin), "backend", "bin", "h2o.jar")
        if os.path.isfile(jar):
            return jar
    raise JavaRuntimeUnavailable("H2O models need the hex.genmodel classes, and no jar holding them was found",
                                 hint="pip install 'drumnb[java]' (h2o==3.46.0.11 ships h2o.jar), or set "
                                      "DRUMNB_H2O_GENMODEL_JAR to an h2o-genmodel.jar")


def extra_classpath() -> list[str]:
    """``DRUMNB_JAVA_CLASSPATH``: jars or class folders added to the H2O and jar class loaders."""
    raw = os.environ.get("DRUMNB_JAVA_CLASSPATH", "")
    paths = [os.path.realpath(os.path.expanduser(p)) for p in raw.split(os.pathsep) if p.strip()]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        raise JavaRuntimeUnavailable(f"DRUMNB_JAVA_CLASSPATH names missing file(s): {missing}",
                                     hint=f"list existing jars or class folders, separated by {os.pathsep!r}")
    return paths


def _compile(sources: dict[str, str], classpath: list[str], key_extra: str = "") -> str:
    """Compile ``{relative path: source}`` into a cached class folder; returns the folder."""
    jc = javac()
    st = os.stat(jc)
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    h.update(f"{jc}:{st.st_size}:{int(st.st_mtime)}:{key_extra}".encode())
    out = os.path.join(cache_dir(), h.hexdigest()[:24])
    if os.path.isfile(os.path.join(out, ".ok")):
        return out
    os.makedirs(cache_dir(), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="build-", dir=cache_dir())
    try:
        src = os.path.join(tmp, "src")
        files = []
        for name, text in sources.items():
            path = os.path.join(src, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            files.append(path)
        classes = os.path.join(tmp, "classes")
        os.makedirs(classes)
        cmd = [jc, "-nowarn", "-encoding", "UTF-8", "-d", classes]
        if classpath:
            cmd += ["-cp", os.pathsep.join(classpath)]
        xmx = os.environ.get("DRUM_JAVA_XMX")
        if xmx:
            cmd.append(f"-J-Xmx{xmx}")
        # os.environ, not the C environment: variables R code set in this process (Sys.setenv) stay in it
        proc = subprocess.run(cmd + files, capture_output=True, text=True, env=dict(os.environ),
                              stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise ArtifactError(f"javac failed to compile {', '.join(os.path.basename(f) for f in files)}:\n"
                                + (proc.stderr or proc.stdout).strip()[-3000:],
                                hint="an H2O POJO must keep the file name H2O gave it (it is the class name)")
        with open(os.path.join(classes, ".ok"), "w") as fh:
            fh.write("ok\n")
        if os.path.isdir(out) and not os.path.isfile(os.path.join(out, ".ok")):
            shutil.rmtree(out, ignore_errors=True)  # a build interrupted half-way
        try:
            os.replace(classes, out)
        except OSError:  # another process finished the same build first
            if not os.path.isfile(os.path.join(out, ".ok")):
                raise
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the JVM ------------------------------------------------------------------------------------

def jvm_options() -> list[str]:
    opts = []
    xmx = os.environ.get("DRUM_JAVA_XMX")
    if xmx:
        opts.append(f"-Xmx{xmx}")
    return opts


def jvm() -> Any:
    """Start the JVM once (lazily, honouring ``DRUM_JAVA_XMX``) and return the jpype module."""
    with _LOCK:
        if "jpype" in _state:
            return _state["jpype"]
        try:
            import jpype
            import jpype.imports  # noqa: F401
        except ModuleNotFoundError as exc:
            raise JavaRuntimeUnavailable(f"Java models need the Python package {exc.name!r}, which is not installed",
                                         hint="pip install 'drumnb[java]' (JPype1, h2o==3.46.0.11)") from None
        if not jpype.isJVMStarted():
            try:
                path = jpype.getDefaultJVMPath()
            except Exception as exc:  # noqa: BLE001
                raise JavaRuntimeUnavailable(f"no Java runtime found: {exc}",
                                             hint="apt-get install openjdk-17-jdk-headless, or set JAVA_HOME") from None
            rt = sys.modules.get("drumnb.predictors.r")
            if rt is not None and rt.r_started():
                log.debug("starting the JVM after R (this order is safe; R models cannot load after it)")
            opts = jvm_options()
            try:
                jpype.startJVM(path, *opts, convertStrings=False)
            except Exception as exc:  # noqa: BLE001
                raise JavaRuntimeUnavailable(f"cannot start the JVM ({path} {' '.join(opts)}): {exc}",
                                             hint="check DRUM_JAVA_XMX (e.g. 512m, 2g)") from None
            log.debug("JVM started: %s %s", path, " ".join(opts))
        elif jvm_options():
            log.warning("the JVM already runs in this process; DRUM_JAVA_XMX=%s does not apply to it",
                        os.environ.get("DRUM_JAVA_XMX"))
        _state["jpype"] = jpype
        return jpype


def _url_loader(paths: list[str], parent: Any = None) -> Any:
    jpype = jvm()
    File = jpype.JClass("java.io.File")
    URL = jpype.JClass("java.net.URL")
    URLClassLoader = jpype.JClass("java.net.URLClassLoader")
    ClassLoader = jpype.JClass("java.lang.ClassLoader")
    urls = jpype.JArray(URL)([File(p).toURI().toURL() for p in paths])
    return URLClassLoader(urls, parent if parent is not None else ClassLoader.getSystemClassLoader())


def h2o_loader() -> Any:
    """A class loader with the genmodel jar and drumnb's H2O helper."""
    with _LOCK:
        if "h2o_loader" not in _state:
            jar = genmodel_jar()
            helper = _compile({"drumnb/H2OScorer.java": _H2O_SCORER}, [jar], key_extra=os.path.realpath(jar))
            _state["h2o_loader"] = _url_loader([jar, *extra_classpath(), helper])
            _state["h2o_jar"] = jar
        return _state["h2o_loader"]


@contextlib.contextmanager
def _context_loader(loader: Any):
    """Make ``loader`` the thread's context class loader: genmodel finds its extensions (the XGBoost MOJO
    reader) through ``ServiceLoader``, which looks there."""
    jpype = jvm()
    thread = jpype.JClass("java.lang.Thread").currentThread()
    before = thread.getContextClassLoader()
    thread.setContextClassLoader(loader)
    try:
        yield
    finally:
        thread.setContextClassLoader(before)


def row_scorer() -> Any:
    with _LOCK:
        if "row_scorer" not in _state:
            helper = _compile({"drumnb/RowScorer.java": _ROW_SCORER}, [])
            jpype = jvm()
            _state["row_scorer"] = jpype.JClass("drumnb.RowScorer", loader=_url_loader([helper]))
        return _state["row_scorer"]


def _java_message(exc: BaseException) -> str:
    msg = None
    for attr in ("getMessage", "toString"):
        try:
            m = getattr(exc, attr)()
            if m is not None:
                msg = str(m)
                break
        except Exception:  # noqa: BLE001
            continue
    return msg or str(exc) or type(exc).__name__


def _is_java_exception(exc: BaseException) -> bool:
    jpype = _state.get("jpype")
    return bool(jpype) and isinstance(exc, jpype.JException)


# --- column conversion --------------------------------------------------------------------------

def _as_number_column(s: pd.Series) -> np.ndarray:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64").to_numpy(dtype="float64", na_value=np.nan)
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _as_string_column(s: pd.Series) -> list[str | None]:
    out: list[str | None] = []
    for v in s.to_numpy(dtype=object):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out.append(str(int(v)))  # 3.0 read from CSV names the level "3"
        else:
            out.append(str(v))
    return out


def _java_columns(data: pd.DataFrame, names: list[str], categorical: set[str]) -> tuple[Any, Any]:
    jpype = jvm()
    JString = jpype.JClass("java.lang.String")
    cols = []
    for name in names:
        s = data[name]
        if name in categorical or not (pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            if name in categorical:
                cols.append(jpype.JArray(JString)(_as_string_column(s)))
            else:  # a text column of a numeric feature: parse it, unparsable becomes missing
                cols.append(jpype.JArray(jpype.JDouble)(np.ascontiguousarray(_as_number_column(s))))
        else:
            cols.append(jpype.JArray(jpype.JDouble)(np.ascontiguousarray(_as_number_column(s))))
    return jpype.JArray(JString)(names), jpype.JArray(jpype.JObject)(cols)


# --- H2O MOJO details ------------------------------------------------------------------------------

#: genmodel extensions by MOJO algorithm: the Maven artifact holding each one's MOJO reader
_EXTENSIONS = {"xgboost": "ai.h2o:h2o-genmodel-ext-xgboost"}


def mojo_info(path: str) -> dict[str, str]:
    """The ``[info]`` section of a MOJO zip's ``model.ini`` (empty if it has none)."""
    out: dict[str, str] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read("model.ini").decode("utf-8", errors="replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return out
    section = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif section == "info" and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _missing_extension(path: str, java_message: str) -> ArtifactError:
    info = mojo_info(path)
    algo = info.get("algorithm") or info.get("algo") or "?"
    artifact = _EXTENSIONS.get(info.get("algo", "").lower())
    jar_name = f"{artifact.rpartition(':')[2]}.jar" if artifact else "the-extension.jar"
    jar = os.path.basename(_state.get("h2o_jar", "?"))
    return ArtifactError(
        f"{os.path.basename(path)} is an H2O {algo} MOJO: reading it needs genmodel's {algo} extension"
        + (f" ({artifact})" if artifact else "") + f", which is not on the class path (genmodel jar {jar}"
        + (", DRUMNB_JAVA_CLASSPATH" if os.environ.get("DRUMNB_JAVA_CLASSPATH") else "") + ")"
        + ("" if artifact else f"; Java said: {java_message}"),
        hint=f"add the extension jar with DRUMNB_JAVA_CLASSPATH=/path/to/{jar_name}, or point "
             "DRUMNB_H2O_GENMODEL_JAR at a genmodel jar that includes it (h2o==3.46.0.11's h2o.jar, used when "
             "that variable is unset, and the h2o-genmodel.jar its cluster serves both include XGBoost's)")


def _warn_missing(model: "H2OModel", missing: list[str]) -> None:
    """Say once per model and set of columns that they are scored as missing (H2O warns the same way)."""
    key = tuple(missing)
    with _LOCK:
        if key in model.warned:
            return
        model.warned.add(key)
    log.warning("the input lacks column(s) %s of the H2O model %s: scored as missing (NA) in every row, as H2O "
                "does", missing, os.path.basename(model.path))


# --- models -------------------------------------------------------------------------------------

@dataclass
class H2OModel:
    kind: str  # "mojo" | "pojo"
    path: str
    wrapper: Any
    features: list[str]
    categorical: set[str]
    category: str
    labels: list[str] | None
    scorer: Any = None
    warned: set[tuple[str, ...]] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"<H2O {self.kind} {os.path.basename(self.path)} {self.category}>"


@dataclass
class JarModel:
    path: str
    predictor: Any
    method: Any
    kind: str  # "regression" | "classification"
    labels: list[str] | None
    features: dict[str, str] = field(default_factory=dict)  # name -> "str" | "num"
    model_id: str | None = None

    def __repr__(self) -> str:
        return f"<Java {self.kind} predictor {type(self.predictor).__name__} from {os.path.basename(self.path)}>"


class JavaPredictor(Predictor):
    """H2O MOJO / POJO and DataRobot-interface jars, scored in the JVM."""

    name = "java"
    language = "Java"

    def load(self, path: str) -> Any:
        ext = os.path.splitext(path)[1].lower()
        if ext == ".mojo":
            raise ArtifactError(
                f"{os.path.basename(path)} is an H2O Driverless AI MOJO pipeline; scoring it needs Driverless AI's "
                "licensed runtime (daimojo / mojo2-runtime and a license key), which drumnb cannot provide",
                hint="export the model as an H2O-3 MOJO (.zip) or POJO (.java), or score the pipeline with "
                     "Driverless AI's own scorer")
        try:
            with _LOCK:
                if ext == ".zip":
                    return self._load_mojo(path)
                if ext == ".java":
                    return self._load_pojo(path)
                if ext == ".jar":
                    return self._load_jar(path)
        except Exception as exc:  # noqa: BLE001
            if _is_java_exception(exc):
                raise ArtifactError(f"Java could not load {os.path.basename(path)}: {_java_message(exc)}",
                                    hint="check the file is an H2O-3 MOJO/POJO or a predictor jar, exported by a "
                                         "compatible version") from None
            raise
        raise ArtifactError(f"the Java predictor does not read {os.path.basename(path)}")

    # H2O -------------------------------------------------------------------------------------
    def _wrap(self, kind: str, path: str, genmodel: Any) -> H2OModel:
        jpype = jvm()
        loader = h2o_loader()
        Config = jpype.JClass("hex.genmodel.easy.EasyPredictModelWrapper$Config", loader=loader)
        Wrapper = jpype.JClass("hex.genmodel.easy.EasyPredictModelWrapper", loader=loader)
        cfg = Config().setModel(genmodel).setConvertUnknownCategoricalLevelsToNa(True) \
            .setConvertInvalidNumbersToNa(True)
        wrapper = Wrapper(cfg)
        names = [str(n) for n in genmodel.getNames()]
        nfeatures = int(genmodel.nfeatures())
        features = names[:nfeatures]
        categorical = {n for i, n in enumerate(features) if genmodel.getDomainValues(i) is not None}
        category = str(wrapper.getModelCategory().toString())
        labels = None
        if category in ("Binomial", "Multinomial", "Ordinal"):
            labels = [str(x) for x in wrapper.getResponseDomainValues()]
        scorer = jpype.JClass("drumnb.H2OScorer", loader=loader)
        return H2OModel(kind, path, wrapper, features, categorical, category, labels, scorer)

    def _load_mojo(self, path: str) -> H2OModel:
        jpype = jvm()
        loader = h2o_loader()
        MojoModel = jpype.JClass("hex.genmodel.MojoModel", loader=loader)
        try:
            with _context_loader(loader):
                genmodel = MojoModel.load(os.path.realpath(path))
        except Exception as exc:  # noqa: BLE001
            if _is_java_exception(exc) and "not supported by this version of h2o-genmodel" in _java_message(exc):
                raise _missing_extension(path, _java_message(exc)) from None
            raise
        return self._wrap("mojo", path, genmodel)

    def _load_pojo(self, path: str) -> H2OModel:
        cls_name = os.path.splitext(os.path.basename(path))[0]
        with open(path, encoding="utf-8", errors="replace") as fh:
            source = fh.read()
        if f"class {cls_name}" not in source:
            raise ArtifactError(f"{os.path.basename(path)} does not define class {cls_name}",
                                hint="an H2O POJO cannot be renamed: keep the file name H2O gave it")
        loader = h2o_loader()
        classes = _compile({os.path.basename(path): source}, [_state["h2o_jar"]], key_extra="pojo")
        jpype = jvm()
        pojo_loader = _url_loader([classes], parent=loader)
        pojo = jpype.JClass(cls_name, loader=pojo_loader)()
        return self._wrap("pojo", path, pojo)

    # jars ------------------------------------------------------------------------------------
    def _load_jar(self, path: str) -> JarModel:
        jpype = jvm()
        loader = _url_loader([os.path.realpath(path), *extra_classpath()])
        Class = jpype.JClass("java.lang.Class")

        def find(name: str) -> Any:
            try:
                return Class.forName(name, False, loader)
            except Exception as exc:  # noqa: BLE001 - ClassNotFoundException, NoClassDefFoundError
                if _is_java_exception(exc):
                    return None
                raise

        reg, cls = find("com.datarobot.prediction.IRegressionPredictor"), \
            find("com.datarobot.prediction.IClassificationPredictor")
        if reg is None and cls is None:
            raise ArtifactError(f"{os.path.basename(path)} holds no com.datarobot.prediction.IRegressionPredictor or "
                                "IClassificationPredictor interface",
                                hint="build the jar against datarobot-prediction (its interfaces inside the jar), "
                                     "or use DataRobot Scoring Code")
        instance = None
        predictors_cls = find("com.datarobot.prediction.Predictors")
        if predictors_cls is not None:  # DataRobot Scoring Code
            ClassLoader = jpype.JClass("java.lang.ClassLoader")
            method = predictors_cls.getMethod("getPredictor", ClassLoader.class_)
            instance = method.invoke(None, loader)
        else:
            candidates = []
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if n.endswith(".class") and "$" not in n
                         and not n.startswith("META-INF/")]
            Modifier = jpype.JClass("java.lang.reflect.Modifier")
            for entry in names:
                cname = entry[:-6].replace("/", ".")
                if cname.startswith("com.datarobot.prediction.") and cname.count(".") == 3:
                    continue  # the interfaces themselves
                k = find(cname)
                if k is None or k.isInterface() or Modifier.isAbstract(k.getModifiers()):
                    continue
                if any(i is not None and i.isAssignableFrom(k) for i in (reg, cls)):
                    candidates.append(k)
            if not candidates:
                raise ArtifactError(f"{os.path.basename(path)} holds no concrete class implementing "
                                    "IRegressionPredictor or IClassificationPredictor",
                                    hint="add a public class with a public no-argument constructor that "
                                         "implements one of them")
            if len(candidates) > 1:
                raise ArtifactError(f"{os.path.basename(path)} holds {len(candidates)} predictor classes: "
                                    f"{[str(c.getName()) for c in candidates]}; drumnb needs exactly one")
            ctor = candidates[0].getDeclaredConstructor()
            ctor.setAccessible(True)
            instance = ctor.newInstance()
        Map = jpype.JClass("java.util.Map")
        if cls is not None and cls.isInstance(instance):
            kind, iface = "classification", cls
            labels = [str(x) for x in cls.getMethod("getClassLabels").invoke(instance)]
        elif reg is not None and reg.isInstance(instance):
            kind, iface, labels = "regression", reg, None
        else:
            raise ArtifactError(f"the predictor in {os.path.basename(path)} implements neither interface")
        method = iface.getMethod("score", Map.class_)
        features: dict[str, str] = {}
        model_id = None
        try:
            fmap = iface.getMethod("getFeatures").invoke(instance)
            if fmap is not None:
                for key in fmap.keySet():
                    typ = fmap.get(key)
                    simple = str(typ.getSimpleName()) if typ is not None else ""
                    features[str(key)] = "str" if simple == "String" else "num"
        except Exception as exc:  # noqa: BLE001 - getFeatures is optional
            if not _is_java_exception(exc):
                raise
        try:
            model_id = str(iface.getMethod("getModelId").invoke(instance))
        except Exception as exc:  # noqa: BLE001
            if not _is_java_exception(exc):
                raise
        return JarModel(path, instance, method, kind, labels, features, model_id)

    # scoring ---------------------------------------------------------------------------------
    def predict(self, model: Any, data: Any, config: Any):
        if not isinstance(data, pd.DataFrame):
            raise InputError(f"a Java model scores a DataFrame, not a {type(data).__name__}")
        classification = config.target_type in CLASSIFICATION
        n = len(data)
        try:
            if isinstance(model, H2OModel):
                return self._predict_h2o(model, data, classification, n)
            if isinstance(model, JarModel):
                return self._predict_jar(model, data, classification, n)
        except Exception as exc:  # noqa: BLE001
            if _is_java_exception(exc):
                raise InputError(f"the Java model rejected the input: {_java_message(exc)}") from None
            raise
        raise ArtifactError(f"the Java predictor cannot score a {type(model).__name__}")

    def _predict_h2o(self, model: H2OModel, data: pd.DataFrame, classification: bool, n: int):
        if classification and model.labels is None:
            raise ArtifactError(f"the H2O model {os.path.basename(model.path)} is a {model.category} model; it "
                                "gives no class probabilities", hint="score it as regression")
        if not classification and model.labels is not None:
            raise ArtifactError(f"the H2O model {os.path.basename(model.path)} is a {model.category} classifier",
                                hint=f"score it as binary or multiclass with labels {model.labels}")
        k = len(model.labels) if model.labels else 1
        have = {str(c): c for c in data.columns}
        present = [f for f in model.features if f in have]
        if not present:
            raise InputError(f"the input has none of the columns the H2O model {os.path.basename(model.path)} was "
                             f"trained on: {model.features[:20]}", hint="send a header row with those column names")
        if len(present) < len(model.features):
            _warn_missing(model, [f for f in model.features if f not in have])
        data = data[[have[f] for f in present]].set_axis(present, axis=1)
        names, cols = _java_columns(data, present, model.categorical)  # an absent column is missing in every row
        out = np.array(model.scorer.score(model.wrapper, names, cols, n, k), dtype="float64")
        if model.labels:
            return out.reshape(n, k), model.labels
        return out, None

    def _predict_jar(self, model: JarModel, data: pd.DataFrame, classification: bool, n: int):
        if classification != (model.kind == "classification"):
            raise ArtifactError(f"the jar's predictor is a {model.kind} predictor; the target type asks for "
                                f"{'classification' if classification else 'regression'}")
        names = [str(c) for c in data.columns]
        categorical = {c for c in names if model.features.get(c) == "str"}
        numeric_features = {c for c, t in model.features.items() if t == "num"}
        jnames, cols = _java_columns(data.set_axis(names, axis=1), names,
                                     categorical | {c for c in names if c not in numeric_features
                                                    and not pd.api.types.is_numeric_dtype(data[c].dtype)})
        jpype = jvm()
        labels = jpype.JArray(jpype.JClass("java.lang.String"))(model.labels) if model.labels else None
        out = np.array(row_scorer().score(model.predictor, model.method, jnames, cols, n, labels), dtype="float64")
        if model.labels:
            return out.reshape(n, len(model.labels)), model.labels
        return out, None

    def classes(self, model: Any) -> list[str] | None:
        """An H2O classifier's response domain, a jar classifier's getClassLabels(): the output's order."""
        if isinstance(model, (H2OModel, JarModel)):
            return list(model.labels) if model.labels else None
        return None

    def expected_columns(self, model: Any) -> list[str] | None:
        if isinstance(model, H2OModel):
            return None  # H2O scores an absent column as missing: _predict_h2o selects the features itself
        if isinstance(model, JarModel) and model.features:
            return list(model.features)
        return None

    def describe(self, model: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"predictor": self.name, "model": repr(model)}
        if isinstance(model, H2OModel):
            out.update(h2oKind=model.kind, modelCategory=model.category, features=model.features)
        return out


def jvm_max_heap_bytes() -> int | None:
    """The running JVM's maximum heap (for checking ``DRUM_JAVA_XMX``); None if no JVM runs."""
    jpype = _state.get("jpype")
    if not jpype or not jpype.isJVMStarted():
        return None
    return int(jpype.JClass("java.lang.Runtime").getRuntime().maxMemory())


__all__ = ["JavaPredictor", "H2OModel", "JarModel", "JavaRuntimeUnavailable", "jvm", "jvm_max_heap_bytes"]
