"""Batch scoring past one machine: a model folder over a Dask DataFrame.

::

    import drumnb.dask

    with drumnb.dask.local_cluster(2, memory_limit="300MB") as client:    # prints the dashboard link
        preds = drumnb.dask.score("data/*.parquet", "model_dir", "regression", passthrough=["id"])
        drumnb.dask.write(preds, "predictions/")      # part.00000.parquet ...; or preds.to_parquet(...)

and from the shell: ``drumnb score --engine dask --workers 2 --code-dir model_dir
--input 'data/*.parquet' --output predictions/``.

How a job runs
--------------
* The folder is loaded once in the calling process: the target type and labels
  are resolved and checked there, and the first rows of the first partition are
  scored to learn the output columns.  Settings and input errors are therefore
  raised by :func:`score` itself, before any work is sent to the cluster.
* Every worker process loads the folder once (a per-process cache keyed by the
  folder, the resolved settings and the files' sizes and times) and scores each
  partition with :meth:`drumnb.Model.predict`: the hooks run per partition
  exactly as in the core (with ``read_input_data``, the partition goes through
  CSV bytes, as the CLI would send them).
* An output partition holds one row per input row, in the input order, with the
  input partition's index; ``passthrough`` columns (such as an id) come first.
  The model still receives every input column, as ``drumnb score`` would give
  it (built-in scikit-learn predictors pick the columns they were fitted on).
* A worker with several threads shares its loaded model between them, as a
  threaded server would; :func:`local_cluster` starts one thread per worker.
* A partition that fails raises the core's typed error (a ``HookError`` naming
  the hook, an ``InputError``, ...) with ``partition I of N`` in its message and
  in its ``partition`` attribute.  A worker that dies is replaced and its
  partitions are run again by Dask; nothing is skipped silently.

Input: a Dask DataFrame, or a path, glob, folder or list of them holding CSV or
Parquet files (the format follows the extension, or ``format=``).  Files are
read in natural order (``part.2`` before ``part.10``); each Parquet file, and
each block of a CSV file (``read_options={"blocksize": ...}``), is a partition.
The model folder and the input must be readable at the same paths by the
caller and by every worker (a local cluster, or a shared file system).

Output of :func:`write` and of the CLI: a path ending in ``.csv`` gets one CSV
file (header once, partitions in order), like ``drumnb score``; any other path
gets a folder of Parquet files ``part.00000.parquet``, ``part.00001.parquet``,
one per partition.  Each partition's predictions are sent back to the caller
as soon as they are ready (and released on the worker), and the caller writes
them: first to a hidden staging file or folder next to the output, renamed into
place only when every partition has been written, so a failed job leaves no
partial output behind.

Where each part lives: ``inputs`` (paths, globs, folders -> a Dask DataFrame), ``scoring`` (the model
once per process, each partition through the core), ``output`` (partitions as they finish: written,
staged then moved, or collected), ``cluster`` (a local cluster or a running scheduler), ``cli``
(``drumnb score --engine dask``) and ``errors`` (the typed errors of a job).
"""
from __future__ import annotations

# Only the public names, from the modules that own them (dask and distributed are imported inside the
# functions that use them: an optional extra, so `import drumnb.dask` works without it and a call says
# how to install it).
from .cli import cli_score
from .cluster import connect, local_cluster
from .inputs import input_files, read
from .output import check_output, collect, output_format, write
from .scoring import ModelSpec, cached_model, score

__all__ = ["score", "write", "collect", "read", "input_files", "local_cluster", "connect", "cli_score", "check_output",
           "output_format", "ModelSpec", "cached_model"]
