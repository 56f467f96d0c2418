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

Modules, each importing only those listed before it: ``jvm`` (starting the JVM, class loaders, Java
exceptions), ``toolchain`` (javac, the compile cache, the genmodel jar; drumnb's helper classes
``RowScorer.java`` and ``H2OScorer.java`` are package data files beside it), ``columns`` (DataFrame columns
as Java arrays), ``h2o`` (MOJO / POJO), ``jar`` (DataRobot-interface jars), ``predictor``.
"""
from .h2o import H2OModel, mojo_info
from .jar import JarModel
from .jvm import JavaRuntimeUnavailable, jvm, jvm_max_heap_bytes
from .predictor import JavaPredictor
from .toolchain import cache_dir, extra_classpath, genmodel_jar, javac

__all__ = ["JavaPredictor", "H2OModel", "JarModel", "JavaRuntimeUnavailable", "jvm", "jvm_max_heap_bytes", "mojo_info",
           "cache_dir", "extra_classpath", "genmodel_jar", "javac"]
