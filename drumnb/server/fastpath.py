"""The fast path: small numeric CSV predictions answered before Flask, byte for byte as Flask answers them.

A WSGI middleware in front of the Flask app.  It takes a request only when
everything about it is the common case -- ``POST`` to the prediction route, a
raw CSV body of known length, a JSON answer, a built-in scikit-learn estimator
without hooks, typeSchema or monitoring -- and hands every other request, and
every request it cannot finish, to Flask untouched (the body it read is put
back).  So an error is always Flask's error, and the fast path never answers
what the normal path would not.

Work moved to load time: the estimator's expected columns, and a twin of the
estimator that takes the parsed array directly (scikit-learn's DataFrame
checks, which cost more than the prediction, ran once at load: the twin skips
the feature-name comparison, done here by comparing the header).  Per request:
the plain-numeric CSV readers (:mod:`drumnb.core.fastcsv`), else pandas,
the twin's ``predict``, a numeric check of the output, JSON.

Byte-identical answers are a tested promise (tests/server/test_server_runtime.py
compares both paths on tricky inputs); ``DRUMNB_FAST_PATH=0`` turns it off.
"""
from __future__ import annotations

import io
import logging
import os
import threading
import time
from typing import Any

import numpy as np

from ..core import codecs, contract, fastcsv
from ..core.contract import CLASSIFICATION, REGRESSION
from . import payloads
from .stats import REPLAY_HEADER, SERVER_TIMING, parse_server_timing

log = logging.getLogger("drumnb.server")

ENV = "DRUMNB_FAST_PATH"
#: Bodies up to this size are tried on the fast path (larger: Flask).
MAX_BODY = 4 << 20
#: Content types the prediction route reads as CSV (``read_payload`` treats the generic ones as "no type").
_CSV_TYPES = {"", "text/csv", "text/plain", "application/octet-stream", "application/x-www-form-urlencoded"}
_JSON_ACCEPT = {"", "*/*", payloads.JSON}
#: scikit-learn modules whose estimators' predict only validates X and computes: no DataFrame-specific behaviour.
_PLAIN_MODULES = ("sklearn.linear_model.", "sklearn.tree.", "sklearn.ensemble._forest", "sklearn.ensemble._gb",
                  "sklearn.neighbors.", "sklearn.svm.", "sklearn.naive_bayes", "sklearn.kernel_ridge",
                  "sklearn.neural_network.", "sklearn.discriminant_analysis")
_HOOKS = ("read_input_data", "transform", "score", "post_process")


def plain_estimator(model: Any, target: str) -> Any | None:
    """A twin of ``model`` that takes a bare array, or None when ``model`` is not a plain scikit-learn estimator.

    The twin shares every fitted attribute but ``feature_names_in_``: scikit-learn then neither compares
    names nor warns, and computes on the array exactly as it does on the DataFrame's array.
    """
    module = type(model).__module__ + "."
    if not module.startswith(_PLAIN_MODULES) or not hasattr(model, "n_features_in_"):
        return None
    method = "predict_proba" if target in CLASSIFICATION else "predict"
    if not callable(getattr(model, method, None)):
        return None
    twin = object.__new__(type(model))
    twin.__dict__.update(model.__dict__)
    twin.__dict__.pop("feature_names_in_", None)
    return twin


class FastPredict:
    """WSGI middleware: the prediction route's common case, without Flask."""

    def __init__(self, app: Any, server: Any, paths: set[str], twin: Any, names: tuple[str, ...] | None,
                 limit: int | None):
        self.app = app  # the next WSGI callable (Flask's)
        self.server = server
        self.paths = paths
        self.twin = twin
        self.names = names
        self.n_features = int(twin.n_features_in_)
        model = server.model
        self.config = model.config
        self.target = model.config.target_type
        self.predictor = model.predictor
        self.labels = model.config.labels
        self.limit = limit  # the app's MAX_CONTENT_LENGTH: larger bodies get Flask's 413
        self.hits = 0  # answered here (tests read it)
        # One fast-path computation at a time in this process: they are short and CPU-bound, so threads taking
        # turns under the GIL only add switches (4 threads at once: 25-45% fewer 1000-row answers a second);
        # waiting here releases the GIL, and /ping/, /health/ and Flask's requests never wait for it.
        self._compute = threading.Lock()

    # --- the request ---------------------------------------------------------------------------
    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") in self.paths:
            started = time.perf_counter()
            answer = self._answer(environ)
            if answer is not None:
                self.hits += 1
                body, steps, serialize = answer
                server = self.server
                timing = server.record_steps(steps, serialize)
                headers = [("Content-Type", payloads.JSON), ("Content-Length", str(len(body))), (SERVER_TIMING, timing)]
                headers += server.stamp_headers(environ.get("HTTP_X_REQUEST_ID"))
                start_response("200 OK", headers)
                seconds = time.perf_counter() - started
                server.metrics.observe_request("predict", "POST", 200, seconds)
                if server.requests is not None:  # kept for replay, as Flask's after-request keeps them
                    server.requests.add(path=environ.get("SCRIPT_NAME", "") + environ["PATH_INFO"], method="POST",
                                        status=200, seconds=seconds, body=environ["wsgi.input"].getvalue(),
                                        content_type=environ.get("CONTENT_TYPE") or None, multipart=False,
                                        output=body, output_type=payloads.JSON, steps=parse_server_timing(timing))
                return [body]
        return self.app(environ, start_response)

    def _answer(self, environ: dict) -> tuple[bytes, tuple, float] | None:
        if (environ.get("HTTP_ACCEPT", "").strip() not in _JSON_ACCEPT or "HTTP_TRANSFER_ENCODING" in environ
                or environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() not in _CSV_TYPES
                or environ.get("HTTP_" + REPLAY_HEADER.upper().replace("-", "_"))):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            return None
        if length <= 0 or length > MAX_BODY or (self.limit is not None and length > self.limit):
            return None
        data = _read_body(environ["wsgi.input"], length)
        environ["wsgi.input"] = io.BytesIO(data)  # Flask reads it again if the fast path gives up
        if len(data) != length:
            return None
        try:
            with self._compute:
                return self._predict(data)
        except Exception:  # noqa: BLE001 - Flask answers it again, with its own error
            log.debug("fast path gave up; the normal path answers", exc_info=True)
            return None

    def _predict(self, data: bytes) -> tuple[bytes, tuple, float] | None:
        """The answer, the step times in :data:`~drumnb.server.stats.TIMED_STEPS` order and the serialization's."""
        started = time.perf_counter()
        X = self._read(data)
        if X is None:
            return None
        read = time.perf_counter() - started
        result = self.server.call.inline(self._score, X)
        if result is None:
            return None
        body, score, contract_seconds, serialize = result
        self.server.metrics.observe_predict(time.perf_counter() - started, X.shape[0])
        return body, (read, None, score, None, contract_seconds), serialize

    def _read(self, data: bytes) -> np.ndarray | None:
        """The array scikit-learn would take from the DataFrame ``pd.read_csv`` makes of ``data``."""
        parsed = fastcsv.read_numeric(data) if len(data) <= fastcsv.MAX_BYTES else fastcsv.read_numeric_rows(data)
        if parsed is not None:
            names, X = parsed.names, parsed.values  # CSV is bounded by its size: no cell limit (as Flask)
        elif len(data) > fastcsv.MAX_BYTES:
            header = data[:data.find(b"\n")]
            if header.count(b",") + 1 != self.n_features or b'"' in header:
                return None  # not the model's columns (or quoted names): no parse here
            frame = self.server._limited(codecs.read_csv, data)  # --max-columns etc. here too
            if not all(dtype in (np.float64, np.int64) for dtype in frame.dtypes):
                return None
            names, X = tuple(str(c) for c in frame.columns), np.asarray(frame)
        else:
            return None
        if len(X) == 0 or X.shape[1] != self.n_features or (self.names is not None and names != self.names):
            return None
        return X

    def _score(self, X: np.ndarray) -> tuple[bytes, float, float, float] | None:
        """The JSON answer as the normal path writes it and the seconds of score, contract checks and JSON;
        None when its checks would not pass as is."""
        started = time.perf_counter()
        raw, classes = self.predictor.predict(self.twin, X, self.config)
        scored = time.perf_counter()
        if self.target == REGRESSION:
            values = np.asarray(raw)
            if values.ndim == 2 and values.shape[1] == 1:
                values = values[:, 0]
            if values.dtype != np.float64 or values.shape != (len(X),) or not np.isfinite(values).all():
                return None
            checked = time.perf_counter()
            body = payloads.regression_bytes(values)
        else:
            frame = contract.format_predictions(raw, self.config, classes=classes, source="the sklearn model")
            labels = self.labels or []
            if frame.shape != (len(X), len(labels)) or set(frame.columns) != set(labels):
                return None
            probabilities = frame.to_numpy()
            if probabilities.dtype != np.float64 or not _probabilities(probabilities):
                return None
            checked = time.perf_counter()
            body = payloads.predictions_bytes(frame, list(frame.columns), True)
        return body, scored - started, checked - scored, time.perf_counter() - checked


def _probabilities(values: np.ndarray) -> bool:
    """What the output contract checks on classifier rows: finite, in [0, 1], summing to 1 (with its tolerance)."""
    tol = contract.PROBA_TOLERANCE
    return bool(np.isfinite(values).all() and (values >= -tol).all() and (values <= 1 + tol).all()
                and (np.abs(values.sum(axis=1) - 1.0) <= tol).all())


def _read_body(stream: Any, length: int) -> bytes:
    parts, got = [], 0
    while got < length:
        part = stream.read(length - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def install(app: Any, server: Any, *, enabled: bool | None = None) -> FastPredict | None:
    """Put the fast path in front of ``app`` when its model qualifies; returns it (None: not installed)."""
    if enabled is None:
        enabled = os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")
    model = server.model
    if not enabled or server.error is not None or model is None:
        return None
    config = getattr(model, "config", None)
    predictor = getattr(model, "predictor", None)
    if (config is None or config.target_type not in (REGRESSION, *CLASSIFICATION)
            or getattr(predictor, "name", None) != "sklearn" or any(h in model.hooks for h in _HOOKS)
            or getattr(model, "reporter", None) is not None
            or getattr(getattr(model, "metadata", None), "type_schema", None) is not None
            or getattr(predictor, "read_bytes", None) is not None):
        return None
    if (app.before_request_funcs != {None: [server.before]} or app.after_request_funcs != {None: [server.after]}
            or any(app.teardown_request_funcs.values()) or any(app.url_value_preprocessors.values())):
        return None  # custom_flask.py added hooks (authentication, logging, ...): every request goes through Flask
    twin = plain_estimator(model.model, config.target_type)
    max_columns = getattr(getattr(server, "limits", None), "max_columns", None)
    if twin is None or (max_columns is not None and twin.n_features_in_ > max_columns):
        return None  # the normal path refuses every request with the model's columns (413)
    expected = predictor.expected_columns(model.model)
    paths = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.rsplit(".", 1)[-1] == "predict" and "<" not in rule.rule:
            paths.update((rule.rule, rule.rule.rstrip("/") or "/", rule.rule.rstrip("/") + "/"))
    if not paths:
        return None
    fast = FastPredict(app.wsgi_app, server, paths, twin, tuple(expected) if expected is not None else None,
                       app.config.get("MAX_CONTENT_LENGTH"))
    app.wsgi_app = fast
    return fast
