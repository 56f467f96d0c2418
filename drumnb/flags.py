"""The model flags, in one place: their argparse definitions, their environment twins, and their conversion
to :func:`drumnb.load_model` keyword arguments.

Used by every front end that loads a model from flags: the CLI's verbs (``cli.py``, ``server/commands.py``,
``tools/commands.py``), the notebook's magics (``jupyter/magics.py``) and ``drumnb score --engine dask``
(``dask/cli.py``).  A new model flag is added here once.  Standard library only at module level (and the
core's errors and target types, which are too): the CLI builds its parser before anything heavy is imported.
"""
from __future__ import annotations

import argparse
import os
from typing import Any, Mapping

from .core.errors import UsageError
from .core.targets import TargetType

#: Environment variables that stand in for a flag that was not given (DRUM's names); the core reads the
#: target-type and label ones itself, the monitoring ones are read by :func:`load_kwargs`.
ENV_TWINS: dict[str, str] = {
    "--target-type": "TARGET_TYPE",
    "--positive-class-label": "POSITIVE_CLASS_LABEL",
    "--negative-class-label": "NEGATIVE_CLASS_LABEL",
    "--class-labels": "CLASS_LABELS",
    "--monitor-embedded": "MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS",
    "--monitor-db": "DRUMNB_MONITOR_DB",
    "--deployment-id": "DEPLOYMENT_ID",
    "--model-id": "MODEL_ID",
    "--webserver": "EXTERNAL_WEB_SERVER_URL",
    "--api-token": "API_TOKEN",
}
EPILOG = "Environment twins of the flags: " + ", ".join(ENV_TWINS[f] for f in (
    "--target-type", "--positive-class-label", "--negative-class-label", "--class-labels")) + "."

#: The monitoring flags (``--engine dask`` refuses them: see :func:`monitor_flags_given`).
MONITOR_FLAGS = ("--monitor", "--monitor-embedded", "--monitor-db")
#: Keyword arguments of ``load_model`` that :func:`load_kwargs` fills besides code_dir and target_type.
LOAD_KEYS = ("positive_class_label", "negative_class_label", "class_labels", "class_labels_file",
             "runtime_params_file", "monitor")


def target_type(text: str) -> str:
    """argparse ``type=`` of ``--target-type``: one of :class:`TargetType`'s values, any case; a usage error
    naming the closest one otherwise."""
    try:
        return TargetType.parse(text).value
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def target_type_help(default: str) -> str:
    return ", ".join(TargetType.values()) + f" (default: {default})"


def add_model_flags(p: argparse.ArgumentParser, *, notebook: bool = False) -> None:
    """The model flags on ``p``.

    ``notebook``: the magics' flavour: ``--code-dir`` optional (a magic names the model by NAME), ``-t`` for
    ``--target-type``, no ``--docker``, all in the parser's own group.
    """
    g = p if notebook else p.add_argument_group("model")
    if notebook:
        g.add_argument("--code-dir", "-cd", dest="code_dir", help="the model folder (or custom_model.tar.gz)")
        g.add_argument("--target-type", "-t", dest="target_type", type=target_type, metavar="TYPE",
                       choices=TargetType.values(),
                       help=target_type_help("model-metadata.yaml, else inferred from the labels"))
    else:
        g.add_argument("--code-dir", "-cd", dest="code_dir", required=True,
                       help="model folder (artifact, custom.py, model-metadata.yaml) or custom_model.tar.gz")
        g.add_argument("--target-type", type=target_type, metavar="TYPE", choices=TargetType.values(),
                       help=target_type_help("TARGET_TYPE, model-metadata.yaml, else inferred from labels"))
    g.add_argument("--positive-class-label", help="binary: label of the positive class")
    g.add_argument("--negative-class-label", help="binary: label of the negative class")
    g.add_argument("--class-labels", nargs="+", help="multiclass: the labels, in order")
    g.add_argument("--class-labels-file", help="multiclass: a file with one label a line")
    g.add_argument("--runtime-params-file", help="YAML file with values of runtime parameters")
    if not notebook:
        g.add_argument("--docker", help="DRUM runs the model in this image; drumnb runs no containers")
    m = p if notebook else p.add_argument_group("local monitoring (DRUM's MLOps flags; records stay on this "
                                                "machine)")
    m.add_argument("--monitor", action="store_true", help="record every structured prediction in the local store")
    m.add_argument("--monitor-embedded", action="store_true",
                   help="give hooks an mlops reporter (env: MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS)")
    m.add_argument("--monitor-db", help="SQLite file for the records (default: one per model in the user data "
                                        "dir); given alone, it also means --monitor")
    m.add_argument("--deployment-id", help="stored with each record (env: DEPLOYMENT_ID)")
    m.add_argument("--model-id", help="stored with each record (env: MODEL_ID)")
    m.add_argument("--webserver", help="accepted for DRUM scripts; nothing is sent (env: EXTERNAL_WEB_SERVER_URL)")
    m.add_argument("--api-token", help="accepted for DRUM scripts; not used (env: API_TOKEN)")


def monitor_flags_given(args: argparse.Namespace) -> list[str]:
    """The monitoring flags given on the line (for front ends that cannot record, e.g. ``--engine dask``)."""
    return [f for f in MONITOR_FLAGS if getattr(args, f[2:].replace("-", "_"), None)]


def refuse_monitoring(args: argparse.Namespace, monitor: Any, front: str = "--engine dask") -> None:
    """A ``UsageError`` when monitoring is on (``monitor``: what :func:`monitor_settings` gave) for a front end
    that cannot record: the Dask engine's worker processes would all write the one store."""
    if monitor is None:
        return
    given = monitor_flags_given(args)
    raise UsageError(f"{front} does not record to the monitoring store ("
                     + (f"{', '.join(given)} given)" if given else f"{ENV_TWINS['--monitor-embedded']} is set)"),
                     hint="score with the local engine to monitor, or drop the monitoring flags")


def monitor_settings(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Any:
    """The monitoring flags and their environment twins as ``MonitorSettings``, or None when monitoring is off.

    ``--monitor-db`` given without ``--monitor-embedded`` also records predictions (the store was named to be
    written); with ``--monitor-embedded`` the hooks report and nothing is recorded automatically.
    """
    from .monitoring import MonitorSettings  # sqlite3 and threads: not on the CLI's start-up path

    db = getattr(args, "monitor_db", None)
    embedded = bool(getattr(args, "monitor_embedded", False))
    settings = MonitorSettings.from_env(
        dict(os.environ) if env is None else dict(env), embedded=embedded,
        record_predictions=bool(getattr(args, "monitor", False)) or bool(db and not embedded),
        db=os.path.abspath(db) if db else None, deployment_id=getattr(args, "deployment_id", None),
        model_id=getattr(args, "model_id", None), webserver=getattr(args, "webserver", None))
    return settings if settings.on else None


def load_kwargs(args: argparse.Namespace, *, drop_none: bool = False,
                env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``load_model`` keyword arguments from the flags :func:`add_model_flags` added: ``code_dir``,
    ``target_type``, the labels, the files and ``monitor``.  ``drop_none``: leave out what was not given."""
    kwargs: dict[str, Any] = {"code_dir": getattr(args, "code_dir", None),
                              "target_type": getattr(args, "target_type", None)}
    kwargs.update({key: getattr(args, key, None) for key in LOAD_KEYS if key != "monitor"})
    kwargs["monitor"] = monitor_settings(args, env)
    if drop_none:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
    return kwargs
