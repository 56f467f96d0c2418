"""The model object: load a folder once, then score data through its hooks.

Pipeline per call, as DRUM runs it::

    read_input_data(bytes) | built-in reader  ->  transform(data, model)
      ->  score(data, model, **labels) | built-in predictor  ->  post_process(predictions, model)
      ->  output contract of the target type

This module knows nothing of HTTP, argv or Jupyter; every front end calls it.
"""
from __future__ import annotations

import logging
import os
import tempfile
import threading
import time
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from . import predictors
from .core import contract
from .core.contract import TRANSFORM, UNSTRUCTURED, ModelConfig
from .core.errors import ArtifactError, ConfigurationError, DrumnbError, HookLoadError, InputError, UnsupportedError
from .core.hooks import (HOOK_FILE, HOOK_LOADERS, Hooks, ReloadResult, accepted_kwargs, call_hook, carry_globals,
                         folder_imports, folder_state, load_fingerprint, load_hooks, reload_reason)
from .core.metadata import ModelMetadata, read_metadata
from .model_helpers import (UnstructuredResult, _is_sparse, _output_names, _rows, _unpack_archive,  # noqa: F401
                            plain_data, takes_target, unnamed_binary_note)

log = logging.getLogger("drumnb")

PathLike = "str | os.PathLike[str]"
#: Rows per chunk when a built-in predictor scores a large frame (bounds memory, drives progress bars).
CHUNK_ROWS = 200_000
_LANG_FILES = {"custom.R": "R", "custom.r": "R", "custom.jl": "Julia"}
#: The steps of a prediction whose times :meth:`Model.predict` records, in order (``Model.last_timings``).
STEPS = ("read", "transform", "score", "post_process", "contract")
_this_thread = threading.local()  # the timings of this thread's last prediction (a server reads them per request)



class Model:
    """A loaded model folder.  Build it with :func:`drumnb.load_model`."""

    def __init__(self, code_dir: str, *, config: ModelConfig, metadata: ModelMetadata,
                 options: dict[str, Any], archive: str | None = None,
                 tmpdir: tempfile.TemporaryDirectory | None = None):
        self.code_dir = code_dir
        self.config = config
        self.metadata = metadata
        self.archive = archive
        self._options = options
        self._tmpdir = tmpdir
        self.runtime_parameters: dict[str, Any] = options.get("runtime_parameters", {})
        self._lock = threading.RLock()
        self.hooks = Hooks()
        self.model: Any = None
        self.predictor: predictors.Predictor | None = None
        self.artifact: str | None = None
        self.load_seconds = 0.0
        self.loads = 0            # full loads (load_model run) and hooks-only reloads, since this object was made
        self.hook_reloads = 0
        #: seconds per step of the last prediction (:data:`STEPS`; None where a step did not run)
        self.last_timings: tuple[float | None, ...] | None = None
        #: Where this model's answer would differ from DRUM 1.18.1's (said once in the log; shown by validation
        #: and the notebook).
        self.compat_notes: list[str] = []
        self.monitor: Any = None
        self.reporter = self._make_reporter(options.get("monitor"))
        self._load()

    # --- loading ---------------------------------------------------------------------------
    def _load(self) -> None:
        started = time.perf_counter()
        code_dir = self.code_dir
        state, fingerprint = folder_state(code_dir), load_fingerprint(os.path.join(code_dir, HOOK_FILE))
        self._activate()
        for fname, lang in _LANG_FILES.items():
            if (os.path.isfile(os.path.join(code_dir, fname)) and fname not in HOOK_LOADERS
                    and not os.path.isfile(os.path.join(code_dir, "custom.py"))):
                raise UnsupportedError(f"{lang} models ({fname}) are not supported by this drumnb yet",
                                       hint="use a Python custom.py, or a built-in artifact")
        hooks = load_hooks(code_dir)
        for warning in hooks.warnings:
            log.warning(warning)
        with folder_imports(code_dir):
            if "init" in hooks:
                call_hook(hooks, "init", required_result=False, loading=True,
                          **accepted_kwargs(hooks.functions["init"], {"code_dir": code_dir}))
            artifacts = predictors.find_artifacts(code_dir)
            model, predictor, artifact = None, None, None
            if "load_model" in hooks:
                model = call_hook(hooks, "load_model", code_dir, loading=True)
                if len(artifacts) == 1:
                    artifact = artifacts[0]
                    spec = predictors.for_artifact(artifact)
                else:
                    spec = predictors.for_object(model)
                predictor = spec.load_class()(self.config) if spec else None
            elif len(artifacts) == 1:
                artifact = artifacts[0]
                spec = predictors.for_artifact(artifact)
                predictor = spec.load_class()(self.config)
                try:
                    model = predictor.load(artifact)
                except DrumnbError:
                    raise
                except ModuleNotFoundError as exc:
                    raise ArtifactError(f"loading {os.path.basename(artifact)} needs the package {exc.name!r}, "
                                        "which is not installed",
                                        hint=f"pip install 'drumnb[{spec.name}]' (or the package itself)") from None
                except Exception as exc:  # noqa: BLE001
                    raise ArtifactError(f"cannot load {os.path.basename(artifact)} with the {spec.name} "
                                        f"predictor: {type(exc).__name__}: {exc}",
                                        hint="check the file was saved by the framework its extension names, "
                                             "or define load_model in custom.py") from exc
            elif len(artifacts) > 1:
                raise ArtifactError(
                    f"found {len(artifacts)} model artifacts in {code_dir}: "
                    f"{[os.path.basename(a) for a in artifacts]}; drumnb needs exactly one",
                    hint="remove the extra files, or define load_model in custom.py to choose")
            elif not self._can_run_without_model(hooks):
                files = sorted(os.listdir(code_dir))
                raise ArtifactError(
                    f"no model artifact in {code_dir} and no load_model hook; found {files[:20]}",
                    hint="add one artifact (" + ", ".join(sorted({e for s in predictors.registered().values()
                                                                   for e in s.extensions})) +
                         ") or define load_model(code_dir) in custom.py")
        self.hooks, self.model, self.predictor, self.artifact = hooks, model, predictor, artifact
        t = self.config.target_type
        if (predictor is not None and not any(h in hooks for h in ("score", "chat")) and t != UNSTRUCTURED
                and not (t == TRANSFORM and "transform" in hooks)):
            predictor.check(model, self.config)  # a model that loads but cannot predict is a load error
        self._check_classes()
        self._score_kwargs = (accepted_kwargs(hooks.functions["score"], self.config.hook_kwargs())
                              if "score" in hooks else {})
        self.load_seconds = time.perf_counter() - started
        self.loaded_at = time.time()
        self.loads += 1
        self._state, self._fingerprint = state, fingerprint

    def _check_classes(self) -> None:
        """A classifier whose own classes are not the labels given fails now, not as a silent mislabel."""
        if self.predictor is None or "score" in self.hooks or self.config.target_type not in contract.LABELLED:
            return
        classes = self.predictor.classes(self.model)
        if classes is not None:
            what = f"the model {os.path.basename(self.artifact)}" if self.artifact else "the model"
            contract.match_classes(list(classes), self.config, source=what)

    def _note_compat(self, note: str) -> None:
        if note not in self.compat_notes:
            self.compat_notes.append(note)
            log.warning(note)

    def _make_reporter(self, settings: Any) -> Any:
        if settings is None or not settings.on:
            return None
        from . import monitoring

        name = self.metadata.name or os.path.basename(os.path.normpath(self.archive or self.code_dir))
        path = settings.db or monitoring.default_path(name)
        if settings.webserver:
            log.warning(f"monitoring: records stay local in {path}; nothing is sent to {settings.webserver}")
        self.monitor = settings
        return monitoring.Reporter(path, model=name, deployment_id=settings.deployment_id,
                                   model_id=settings.model_id, target_type=self.config.target_type)

    @property
    def mlops(self) -> Any:
        """The reporter hooks get as ``kwargs["mlops"]`` (None unless embedded monitoring is on)."""
        return self.reporter if self.reporter is not None and self.monitor.embedded else None

    def _activate(self) -> None:
        from .core.params import activate

        activate(self.runtime_parameters)

    def _can_run_without_model(self, hooks: Hooks) -> bool:
        t = self.config.target_type
        return (t == UNSTRUCTURED and "score_unstructured" in hooks) or "chat" in hooks

    def reload(self) -> "Model":
        """Re-read ``custom.py`` after edits, re-loading the model only when needed (:meth:`hot_reload`).
        Returns self."""
        self.hot_reload()
        return self

    def hot_reload(self, *, full: bool = False) -> ReloadResult:
        """Pick up edits of the folder: new hooks with the loaded model kept, unless loading itself changed.

        The model is loaded again (``load_model``/``init`` run) when ``full``, when their source or what it
        uses changed (:func:`~drumnb.core.hooks.load_fingerprint`), or when an artifact or another non-Python
        file changed (mtime or size); else ``custom.py`` (and its helper modules) run as a new module whose
        hooks replace the old ones.  Nothing changed: ``kind="none"``.  A failure raises and leaves the
        previous hooks and model serving.
        """
        with self._lock:
            started = time.perf_counter()
            if not full and folder_state(self.code_dir) == self._state:
                return ReloadResult("none", 0.0, "nothing changed", tuple(self.hooks.names))
            reason = self._reload_reason(full)
            if reason is None:
                self._swap_hooks()
            else:
                self._load()
            result = ReloadResult("hooks" if reason is None else "full", time.perf_counter() - started,
                                  reason or "", tuple(self.hooks.names))
        log.info("%s: %s", self.code_dir, result.message)
        return result

    def _reload_reason(self, full: bool) -> str | None:
        """Why the model must load again, or None when new hooks are enough."""
        if full:
            return "asked"
        if self.archive is not None or (self.hooks.path is not None and not self.hooks.path.endswith(".py")):
            return "not a custom.py folder"  # an unpacked archive, or another language's hooks (custom.R)
        reason = reload_reason(self.code_dir, self._state, self._fingerprint)
        if reason is not None:
            return reason
        if self.model is None and self.predictor is None and not self._can_run_without_model(
                load_hooks(self.code_dir)):
            return "no model"
        return None

    def _swap_hooks(self) -> None:
        """Run custom.py again as a new module and use its hooks with the model loaded before."""
        state = folder_state(self.code_dir)
        self._activate()
        hooks = load_hooks(self.code_dir)  # a failure raises here: the previous hooks keep serving
        carry_globals(self.hooks, hooks)
        t = self.config.target_type
        if (self.predictor is not None and not any(h in hooks for h in ("score", "chat")) and t != UNSTRUCTURED
                and not (t == TRANSFORM and "transform" in hooks)):
            self.predictor.check(self.model, self.config)
        score_kwargs = (accepted_kwargs(hooks.functions["score"], self.config.hook_kwargs())
                        if "score" in hooks else {})
        previous, self.hooks = self.hooks, hooks
        try:
            self._check_classes()
        except BaseException:
            self.hooks = previous
            raise
        for warning in hooks.warnings:
            log.warning(warning)
        self._score_kwargs = score_kwargs
        self._state = (state[0], self._state[1])
        self.hook_reloads += 1

    @property
    def step_timings(self) -> tuple[float | None, ...] | None:
        """Seconds per :data:`STEPS` of the last prediction made on this thread (None: none yet)."""
        return getattr(_this_thread, "timings", None)

    # --- scoring ---------------------------------------------------------------------------
    def read(self, data: Any, *, format: str | None = None, content_type: str | None = None,
             sparse_column_names: Sequence[str] | None = None) -> Any:
        """Turn ``data`` (DataFrame, bytes, or a file path) into what ``transform``/``score`` get."""
        hook = "read_input_data" in self.hooks
        # a predictor that parses CSV itself (R's read.csv and its NA rules) gets the bytes
        native = None if hook else getattr(self.predictor, "read_bytes", None)
        if isinstance(data, pd.DataFrame):
            if hook or native:  # the same bytes the CLI and the server would hand the hook
                from .core import codecs

                raw = codecs.write_csv(data)
                return call_hook(self.hooks, "read_input_data", raw) if hook else native(raw)
            return data.copy(deep=False)
        from .core import codecs

        if isinstance(data, (bytes, bytearray, memoryview)):
            raw = bytes(data)
            if hook:
                return call_hook(self.hooks, "read_input_data", raw)
            if native and codecs.get_codec(format, content_type=content_type).name == "csv":
                return native(raw)
            return codecs.read_frame(raw, format=format, content_type=content_type,
                                     sparse_column_names=sparse_column_names)
        if isinstance(data, (str, os.PathLike)):
            path = os.fspath(data)
            if not os.path.isfile(path):
                raise InputError(f"input file not found: {path}", hint="check the path passed as --input")
            if hook or (native and codecs.get_codec(format, content_type=content_type, path=path).name == "csv"):
                with open(path, "rb") as fh:
                    raw = fh.read()
                return call_hook(self.hooks, "read_input_data", raw) if hook else native(raw)
            return codecs.read_frame(path, format=format, content_type=content_type, path=path,
                                     sparse_column_names=sparse_column_names)
        if self.config.target_type == UNSTRUCTURED:
            return data
        raise InputError(f"cannot score a {type(data).__name__}",
                         hint="pass a pandas DataFrame, CSV/Arrow/Parquet bytes, or a file path")

    def predict(self, data: Any, *, format: str | None = None, content_type: str | None = None,
                sparse_column_names: Sequence[str] | None = None,
                progress: Callable[[int, int], None] | None = None, y: Any = None) -> Any:
        """Score ``data`` and return predictions as a DataFrame.

        ``y``: a transform model's target values (DataFrame, Series, CSV bytes
        or a CSV path), handed to a ``transform(data, model, y)`` hook as its
        third argument, as DRUM does (``None`` when not given).

        ``data`` is a DataFrame, bytes (CSV by default; ``format`` or
        ``content_type`` name another), or a path to a file whose extension
        names its format.  For a ``transform`` model the transformed data is
        returned (a DataFrame, or a scipy sparse matrix).  ``progress(done, total)``
        is called as rows are scored.
        """
        t = self.config.target_type
        if t == UNSTRUCTURED:
            raise ConfigurationError("an unstructured model is scored with predict_unstructured, not predict")
        self._activate()
        clock = time.perf_counter  # the step times: a few clock reads and one tuple a call
        started = clock()
        frame = self.read(data, format=format, content_type=content_type,
                          sparse_column_names=sparse_column_names)
        t_read = clock()
        if isinstance(frame, pd.DataFrame) and len(frame) == 0:
            raise InputError("the input has no rows", hint="send at least one row of data")
        schema = self.metadata.type_schema  # model-metadata.yaml's typeSchema, checked on every call
        if schema is not None:
            schema.check_input(frame)
        t_in = clock()
        received = frame
        if "transform" in self.hooks:
            args = (frame, self.model)
            if t == TRANSFORM and takes_target(self.hooks.functions["transform"]):
                args += (self._read_target(y),)
            frame = call_hook(self.hooks, "transform", *args)
        t_tr = clock()
        if t == TRANSFORM:
            out = self._transform_output(frame, progress)
            t_out = clock()
            if schema is not None:
                schema.check_output(out, input_data=received)
            self.last_timings = _this_thread.timings = (
                t_read - started, t_out - t_in, None, None, t_in - t_read + clock() - t_out)
            return out
        n_rows = _rows(frame)
        if "score" in self.hooks:
            pred = call_hook(self.hooks, "score", frame, self.model, **self._score_kwargs)
            source = "the 'score' hook"
            if progress and n_rows:
                progress(n_rows, n_rows)
        else:
            pred = self._builtin_predict(frame, progress)
            source = f"the {self.predictor.name} predictor"  # type: ignore[union-attr]
        t_score = t_post = clock()
        if "post_process" in self.hooks:
            pred = call_hook(self.hooks, "post_process", pred, self.model)
            source = "the 'post_process' hook"
            t_post = clock()
        pred = contract.check_predictions(pred, self.config, n_rows, source=source)
        if schema is not None:
            schema.check_output(pred, input_data=received)
        self.last_timings = _this_thread.timings = (
            t_read - started, t_tr - t_in if "transform" in self.hooks else None, t_score - t_tr, t_post - t_score if t_post is not t_score else None, t_in - t_read + clock() - t_post)
        if self.reporter is not None and self.monitor.record_predictions:
            self._record(frame, pred, time.perf_counter() - started)
        return pred

    def _read_target(self, y: Any) -> Any:
        """Target values as the transform hook gets them: parsed without read_input_data (as DRUM)."""
        if y is None or isinstance(y, (pd.DataFrame, pd.Series)):
            return y
        if isinstance(y, (str, os.PathLike)):
            with open(y, "rb") as fh:
                y = fh.read()
        native = getattr(self.predictor, "read_bytes", None)  # R: read.csv, as DRUM's R runner reads y
        if native is not None:
            return native(bytes(y))
        from .core import codecs

        return codecs.read_frame(bytes(y), format="csv")

    def _record(self, frame: Any, pred: pd.DataFrame, seconds: float) -> None:
        labels = self.config.labels
        values = pred[labels].to_numpy().tolist() if labels else pred.iloc[:, 0].tolist()
        with self.reporter.batch():  # one transaction: a request's records are all written or none
            self.reporter.report_deployment_stats(len(pred), seconds * 1000.0)
            self.reporter.report_predictions_data(frame if isinstance(frame, pd.DataFrame) else None, values,
                                                  class_names=labels)

    def predict_unstructured(self, data: "bytes | str", *, content_type: str | None = None,
                             query: "str | dict | None" = None, headers: dict | None = None,
                             mlops: Any = None, batch: bool = False) -> "UnstructuredResult":
        """Run ``score_unstructured`` on a raw body, with DRUM's decoding rules.

        Returns an :class:`UnstructuredResult`: the response body and content
        type, plus what the hook saw (data type, kwargs) and which rules applied.
        ``headers`` is passed to the hook only when given (the server gives it).
        ``batch``: the rules of DRUM's ``score`` verb (a repeated query key keeps its last value; no content
        type reads ``utf8``; ``mlops`` is passed only when monitoring is on).
        """
        from .core import unstructured as u

        if "score_unstructured" not in self.hooks:
            raise ConfigurationError("this model defines no score_unstructured hook",
                                     hint="add score_unstructured(model, data, **kwargs) to custom.py, or score "
                                          "it as a structured model")
        if isinstance(data, str):
            charset = u.parse_content_type(content_type)[1] or u.DEFAULT_CHARSET
            data = data.encode(charset)
        decoded = u.decode_request(bytes(data), content_type, batch=batch)
        kwargs: dict[str, Any] = {**decoded.kwargs, "query": u.parse_query(query, batch=batch)}
        if batch and decoded.charset is None:
            kwargs.pop("charset")  # batch: bytes without a declared charset get no charset key, as DRUM's
        if headers is not None:
            kwargs["headers"] = dict(headers)
        reporter = mlops if mlops is not None else self.mlops
        if not batch or reporter is not None:
            kwargs["mlops"] = reporter
        self._activate()
        started = time.perf_counter()
        returned = call_hook(self.hooks, "score_unstructured", self.model, decoded.data, required_result=False,
                             **kwargs)
        seconds = time.perf_counter() - started
        return UnstructuredResult(decoded, u.encode_response(returned), returned, kwargs, seconds)

    def chat(self, completion_create_params: dict[str, Any]) -> Any:
        """Run the ``chat`` hook: a ChatCompletion, or an iterator of chunks when ``stream`` is true."""
        if "chat" not in self.hooks:
            raise ConfigurationError("this model defines no chat hook",
                                     hint="add chat(completion_create_params, model) to custom.py")
        if not isinstance(completion_create_params, dict):  # a bad request body: 400, as DRUM answers
            raise InputError("chat parameters must be a JSON object", status=400,
                             hint='send {"model": ..., "messages": [{"role": "user", "content": "hi"}]}')
        if not isinstance(completion_create_params.get("messages"), list):
            raise InputError("chat parameters need a 'messages' list", status=400,
                             hint='send {"messages": [{"role": "user", "content": "hi"}]}')
        self._activate()
        return call_hook(self.hooks, "chat", completion_create_params, self.model)

    def supported_llm_models(self) -> list[dict[str, Any]]:
        """What ``GET /v1/models`` lists: the ``get_supported_llm_models`` hook's answer, or this model.

        The hook may return OpenAI objects (a page, ``Model`` objects) or plain dicts: each becomes a dict.
        A model without a chat hook has no such list (404), as in DRUM.
        """
        if "get_supported_llm_models" in self.hooks:
            out = call_hook(self.hooks, "get_supported_llm_models", self.model)
            out = plain_data(out)
            items = out.get("data", out) if isinstance(out, dict) else out
            return [plain_data(item) for item in items]
        if "chat" not in self.hooks:
            raise ConfigurationError("the model list is served for chat (textgeneration) models only",
                                     hint="define chat(completion_create_params, model) in custom.py",
                                     status=404)
        name = self.metadata.name or os.path.basename(os.path.normpath(self.archive or self.code_dir))
        return [{"id": name, "object": "model", "created": int(self.loaded_at), "owned_by": "drumnb"}]

    def _transform_output(self, frame: Any, progress: Callable[[int, int], None] | None) -> Any:
        if "transform" not in self.hooks:
            if self.predictor is None:
                raise ArtifactError("a transform model needs a 'transform' hook or a model with .transform()")
            source = self._columns(frame)
            frame = self.predictor.transform(self.model, source)
            if not isinstance(frame, pd.DataFrame) and getattr(frame, "ndim", 0) == 2 and not _is_sparse(frame):
                frame = pd.DataFrame(frame, columns=_output_names(self.model, source, frame.shape[1]))
        if progress:
            progress(_rows(frame) or 0, _rows(frame) or 0)
        return contract.check_predictions(frame, self.config, None, source="the transform")

    def _columns(self, frame: Any) -> Any:
        from .predictors.sklearn import check_columns

        return check_columns(frame, self.predictor.expected_columns(self.model)) if self.predictor else frame

    def _builtin_predict(self, frame: Any, progress: Callable[[int, int], None] | None) -> pd.DataFrame:
        if self.predictor is None:
            raise ArtifactError(f"no built-in predictor can score {type(self.model).__name__}",
                                hint="define a 'score' hook in custom.py")
        frame = self._columns(frame)
        n = len(frame)
        chunk = CHUNK_ROWS if n > CHUNK_ROWS else n
        parts = []
        for start in range(0, n, chunk):
            part = frame.iloc[start:start + chunk] if chunk < n else frame
            try:
                raw, classes = self.predictor.predict(self.model, part, self.config)
            except (InputError, ArtifactError):
                raise
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"the {self.predictor.name} model rejected the input: "
                                 f"{type(exc).__name__}: {exc}") from exc
            if (classes is None and self.config.target_type == contract.BINARY
                    and not (isinstance(raw, pd.DataFrame) and not isinstance(raw.columns, pd.RangeIndex))):
                self._note_compat(unnamed_binary_note(self.predictor.name))
            parts.append(contract.format_predictions(raw, self.config, classes=classes,
                                                     source=f"the {self.predictor.name} model"))
            if progress:
                progress(min(start + chunk, n), n)
        return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)

    # --- description -----------------------------------------------------------------------
    @property
    def target_type(self) -> str:
        return self.config.target_type

    @property
    def labels(self) -> list[str] | None:
        return self.config.labels

    @property
    def info(self) -> dict[str, Any]:
        """What the model is: folder, target type, labels, predictor, hooks, metadata."""
        from ._version import __version__

        cfg = self.config
        info: dict[str, Any] = {
            "codeDir": self.archive or self.code_dir,
            "targetType": cfg.target_type,
            "language": self.hooks.language if self.hooks.path else (
                self.predictor.language if self.predictor else "python"),
            "predictor": self.predictor.name if self.predictor else None,
            "artifact": os.path.basename(self.artifact) if self.artifact else None,
            "hooks": self.hooks.names,
            "drumnbVersion": __version__,
            "modelMetadata": self.metadata.raw if self.metadata.path else None,
            "loadSeconds": round(self.load_seconds, 4),
        }
        if cfg.target_type == contract.BINARY:
            info["positiveClassLabel"] = cfg.positive_class_label
            info["negativeClassLabel"] = cfg.negative_class_label
        if cfg.target_type in contract.LABELLED:
            info["classLabels"] = cfg.labels
        return info

    def __repr__(self) -> str:
        what = self.predictor.name if self.predictor else "hooks"
        return f"<drumnb.Model {self.config.target_type} {what} {self.archive or self.code_dir!r}>"

    def close(self) -> None:
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None


def load_model(code_dir: "str | os.PathLike[str]", target_type: str | None = None, *,
               positive_class_label: Any = None, negative_class_label: Any = None,
               class_labels: Sequence[Any] | None = None, class_labels_file: str | None = None,
               runtime_params_file: str | None = None, env: Mapping[str, str] | None = None,
               monitor: Any = None, target_name: str | None = None) -> Model:
    """Load a DRUM model folder (or a ``custom_model.tar.gz``) for scoring.

    Target type and labels default, in order, to the ``TARGET_TYPE`` /
    ``POSITIVE_CLASS_LABEL`` / ``NEGATIVE_CLASS_LABEL`` / ``CLASS_LABELS``
    environment variables, ``model-metadata.yaml``, ``class_labels.txt``,
    and finally inference (labels given: binary or multiclass; else regression).

    >>> model = load_model("my_model/", "binary", positive_class_label="yes", negative_class_label="no")
    >>> model.predict(df)          # DataFrame with columns ["no", "yes"]

    ``runtime_params_file``: YAML values for ``RuntimeParameters.get``, checked
    against ``runtimeParameterDefinitions`` now.  ``monitor``: a
    :class:`drumnb.monitoring.MonitorSettings` to record predictions locally.
    ``target_name`` (else ``TARGET_NAME``, else ``targetName`` in the metadata)
    names the output column of textgeneration, vectordatabase and
    agenticworkflow models, as DRUM does.
    """
    path = os.fspath(code_dir)
    archive, tmp = None, None
    if os.path.isfile(path) and (path.endswith((".tar.gz", ".tgz", ".tar"))):
        archive, tmp = path, _unpack_archive(path)
        path = tmp.name
    elif not os.path.isdir(path):
        raise ConfigurationError(f"model folder not found: {path}",
                                 hint="pass the folder holding the artifact and custom.py (--code-dir)")
    try:
        metadata = read_metadata(path)
        from .core import params

        runtime = params.resolve(metadata.runtime_parameter_definitions, file=runtime_params_file, env=env)
        config = contract.resolve_config(
            path, metadata, target_type=target_type, positive_class_label=positive_class_label,
            negative_class_label=negative_class_label, class_labels=class_labels,
            class_labels_file=class_labels_file, target_name=target_name, env=env)
        for note in config.notes:
            log.warning(note)
        return Model(path, config=config, metadata=metadata, archive=archive, tmpdir=tmp,
                     options={"runtime_params_file": runtime_params_file, "runtime_parameters": runtime,
                              "monitor": monitor})
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise


__all__ = ["Model", "ReloadResult", "STEPS", "load_model", "HookLoadError"]
