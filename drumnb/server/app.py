"""The Flask app: DRUM's routes over one core :class:`~drumnb.model.Model`.

Translation only: a request becomes a core call, the core's result becomes
DRUM's JSON (or CSV / Arrow), and every error is rendered once, by one
handler, as ``{"message": "ERROR: ...", ...}`` with the status its class
carries (422 bad input, 500 a hook raised, 513 the model did not load, ...).

Every route sits under ``URL_PREFIX`` and answers with and without its
trailing slash; unknown routes and methods answer JSON 404 / 405.

    app = create_app(load_model("my_model/"))          # or a loader callable
    app = create_app(loader, with_error_server=True)  # a failed load answers 513

Every prediction answers a ``Server-Timing`` header (milliseconds per step: read, transform, score,
post_process, contract, serialize; only the steps that ran), and ``/stats/`` adds the steps up.  With
``keep_requests=N`` the last N prediction requests are kept (:class:`~drumnb.server.stats.RequestLog`):
``GET <prefix>/_drumnb/requests/`` lists them, ``POST <prefix>/_drumnb/requests/<id>/replay/`` sends one
again.  With ``reload=True`` a watcher re-reads the hooks when the folder changes
(:meth:`ModelServer.reload`: the artifact is loaded again only when loading changed).
"""
from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from .._version import __version__
from ..core import codecs
from ..core.contract import TRANSFORM, UNSTRUCTURED
from ..core.errors import ConfigurationError, DrumnbError, ModelLoadError
from . import delegates, payloads
from .calls import PER_REQUEST_HOOKS, THREAD_SAFE_PREDICTORS, ModelCalls, needs_serializing  # noqa: F401 (re-exported)
from .metrics import Metrics
from .stats import REPLAY_HEADER, SERVER_TIMING, RequestLog, StepStats, parse_server_timing, server_timing
from .options import DEFAULT_MAX_COLUMNS, DEFAULT_MAX_REQUEST_SIZE, normalize_prefix

log = logging.getLogger("drumnb.server")

VERSION_HEADER = "X-Drumnb-Version"
#: The DRUM release whose behaviour drumnb follows, sent as DRUM sends its own version (and in /info/).
DRUM_VERSION = "1.18.1"
DRUM_VERSION_HEADER = "X-Drum-Version"
REQUEST_ID_HEADER = "X-Request-ID"
OK = {"message": "OK"}
#: The blueprint DRUM's routes live in: ``custom_flask.py`` extensions name endpoints as ``model_api.ping``.
BLUEPRINT = "model_api"
#: endpoint (DRUM's names) -> (paths, methods); each path is served under URL_PREFIX, with and without its
#: trailing slash.
ROUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ping": (("/", "/ping/"), ("GET",)),
    "health": (("/health/",), ("GET",)),
    "info": (("/info/",), ("GET",)),
    "stats": (("/stats/",), ("GET",)),
    "capabilities": (("/capabilities/",), ("GET",)),
    "openapi": (("/openapi.json",), ("GET",)),
    "metrics": (("/metrics",), ("GET",)),
    "predict": (("/predict/", "/predictions/", "/invocations"), ("POST",)),
    "transform": (("/transform/",), ("POST",)),
    "predict_unstructured": (("/predictUnstructured/", "/predictionsUnstructured/"), ("POST",)),
    "chat": (("/chat/completions", "/v1/chat/completions"), ("POST",)),
    "get_supported_llm_models": (("/models", "/v1/models"), ("GET",)),
}


#: Endpoints OpenAI clients call: their errors take OpenAI's shape, {"error": {...}}.
CHAT_ENDPOINTS = tuple(f"{BLUEPRINT}.{name}" for name in ("chat", "get_supported_llm_models"))
#: Endpoints whose JSON answer ends without a newline (DRUM's prediction bodies); every other JSON body ends with one.
PREDICTION_ENDPOINTS = (f"{BLUEPRINT}.predict",)
#: Endpoints whose requests the request log keeps (and can replay).
SCORING_ENDPOINTS = tuple(f"{BLUEPRINT}.{name}" for name in ("predict", "transform", "predict_unstructured"))
#: drumnb's own routes (not DRUM's), under URL_PREFIX: the kept requests and their replay.
REQUESTS_PATH = "/_drumnb/requests/"
#: Requests kept when reloading is on and nobody said how many (``keep_requests``).
DEFAULT_KEPT_REQUESTS = 50


class ModelServer:
    """The state behind one app: the model (or its load error), its call queue, metrics."""

    def __init__(self, model: Any, error: DrumnbError | None, *, url_prefix: str, server_name: str,
                 multiprocess: bool, process_root: int | None, serialize: "bool | str",
                 request_timeout: float | None = None, threads: int = 4, keep_requests: int = 0):
        self.model = model
        self.error = error
        self.url_prefix = url_prefix
        self.server_name = server_name
        self.process_root = process_root
        self.call = ModelCalls(needs_serializing(model) if serialize == "auto" else bool(serialize),
                               timeout=request_timeout, threads=threads)
        self.metrics = Metrics(multiprocess=multiprocess)
        self.steps = StepStats(self.metrics.registry)
        self.requests = RequestLog(keep_requests) if keep_requests else None
        self._openapi: bytes | None = None
        self.limits = codecs.Limits()
        self.threads = threads
        self.app: Flask | None = None
        self.watcher: Any = None
        self.last_reload: Any = None   # the last ReloadResult (or the error that kept the previous hooks)

    # --- helpers -------------------------------------------------------------------------------
    def loaded(self) -> Any:
        """The model, or the load error (513) when the server runs as an error server."""
        if self.error is not None:
            raise self.error
        return self.model

    @staticmethod
    def json(body: Any, status: int = 200) -> Response:
        """A JSON answer ending with a newline, as DRUM's are (prediction bodies excepted)."""
        return Response(payloads.dumps(body) + b"\n", status, mimetype=payloads.JSON)

    # --- GET routes ----------------------------------------------------------------------------
    def ok(self) -> Response:
        self.loaded()
        return self.json(OK)

    def info(self) -> Response:
        model = self.loaded()
        info = dict(model.info)
        predictor = getattr(model, "predictor", None)
        info.update(drumServer=self.server_name, drumVersion=DRUM_VERSION, drumnbVersion=__version__,
                    urlPrefix=self.url_prefix, maxRequestSize=_current_limit(),
                    # DRUM's spelling: predictor names as its frameworks are named, languages in lower case
                    predictor=predictor.drum_name(model.model) if predictor is not None else None,
                    language=str(info.get("language") or "python").lower())
        return self.json(dict(sorted(info.items())))

    def stats(self) -> Response:
        from .stats import memory_stats

        timing = self.metrics.timing()
        body = memory_stats(self.process_root, timing["per_pid"])
        body["time_info"] = {"run_predictor_total": timing["run_predictor_total"]}
        body["predictions"] = timing["count"]
        body["model_loaded"] = self.error is None
        body["steps"] = self.steps.summary(self.metrics._collect())
        return self.json(body)

    def capabilities(self) -> Response:
        from importlib.metadata import PackageNotFoundError, version

        try:
            arrow = version("pyarrow")
        except PackageNotFoundError:  # pragma: no cover - pyarrow is a core dependency
            arrow = None
        chat = self.error is None and "chat" in getattr(self.model, "hooks", ())
        return self.json({"supported_methods": {"chat": chat},
                          "supported_payload_formats": {"csv": None, "mtx": None, "arrow": arrow, "parquet": arrow},
                          "supported_response_formats": list(payloads.RESPONSE_TYPES)})

    def openapi(self) -> Response:
        model = self.loaded()
        if self._openapi is None:
            from .openapi import build_spec

            columns = None
            if model.predictor is not None:
                with contextlib.suppress(Exception):
                    columns = model.predictor.expected_columns(model.model)
            spec = build_spec(model.info, url_prefix=self.url_prefix, columns=columns,
                              chat="chat" in model.hooks, version=__version__)
            self._openapi = payloads.dumps(spec)
        return Response(self._openapi, 200, mimetype=payloads.JSON)

    def prometheus(self) -> Response:
        body, content_type = self.metrics.render()
        return Response(body, 200, content_type=content_type)

    # --- scoring -------------------------------------------------------------------------------
    def _score(self, model: Any, payload: payloads.Payload, **extra: Any) -> Any:
        started = time.perf_counter()
        g.drumnb_payload = payload
        result, g.drumnb_steps = self.call(self._timed_predict, model, payload, extra)
        self.metrics.observe_predict(time.perf_counter() - started, _rows(result))
        return result

    def _timed_predict(self, model: Any, payload: payloads.Payload, extra: dict[str, Any]) -> tuple[Any, Any]:
        """On the model thread: the prediction and its step times (that thread's, so never another call's)."""
        with codecs.limits(self.limits):
            result = model.predict(payload.data, format=payload.format, content_type=payload.content_type,
                                   sparse_column_names=payload.sparse_columns, **extra)
        return result, getattr(model, "step_timings", None)

    def timed(self, response: Response, steps: Any, serialize_started: float) -> Response:
        """``response`` with its ``Server-Timing`` header; the steps are added to ``/stats/``."""
        response.headers[SERVER_TIMING] = self.record_steps(steps, time.perf_counter() - serialize_started)
        return response

    def record_steps(self, steps: Any, serialize: float) -> str:
        """One prediction's steps added to ``/stats/``; returns its ``Server-Timing`` value (Flask's answers and
        the fast path's)."""
        self.steps.observe(steps, serialize)
        return server_timing(steps, serialize)

    def predict(self) -> Response:
        model = self.loaded()
        target = model.target_type
        if target == TRANSFORM:
            raise WrongRoute("this is a transform model: it answers POST /transform/, not /predict/",
                             hint=f"POST the data to {self.url_prefix}/transform/")
        if target == UNSTRUCTURED:
            raise WrongRoute("this is an unstructured model: it answers POST /predictUnstructured/",
                             hint=f"POST the data to {self.url_prefix}/predictUnstructured/")
        accept = payloads.negotiate(request.headers.get("Accept"), request.accept_mimetypes)
        result = self._score(model, payloads.read_payload(request))
        started = time.perf_counter()
        if accept == payloads.JSON:
            labels = model.config.labels
            columns = list(result.columns[:len(labels)]) if labels else list(result.columns[:1])
            body = payloads.predictions_bytes(result, columns, labels is not None)
            response = Response(body, 200, mimetype=payloads.JSON)  # no newline, as DRUM's
        else:
            response = Response(payloads.encode_frame(result, accept), 200, mimetype=accept)
        return self.timed(response, g.drumnb_steps, started)

    def transform(self) -> Response:
        model = self.loaded()
        if model.target_type != TRANSFORM:
            route = "/predictUnstructured/" if model.target_type == UNSTRUCTURED else "/predict/"
            raise WrongRoute(f"this is a {model.target_type} model: /transform/ serves transform models",
                             hint=f"POST the data to {self.url_prefix}{route}")
        payload = payloads.read_payload(request)
        y_payload = payloads.read_payload(request, "y", required=False)
        y = None
        if y_payload is not None and y_payload.data.strip():
            y = self._limited(codecs.read_frame, y_payload.data, format=y_payload.format,
                              content_type=y_payload.content_type)
        result = self._score(model, payload, y=y_payload.data if y is not None else None)  # transform(X, model, y)
        started = time.perf_counter()
        return self.timed(self.json(payloads.transform_json(result, y)), g.drumnb_steps, started)

    def unstructured(self) -> Response:
        return delegates.unstructured(self.loaded(), request, self.call, self.timed)

    def chat(self) -> Response:
        return delegates.chat(self.loaded(), request, self.call)

    def models(self) -> Response:
        return delegates.models(self.loaded())

    def _limited(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn`` with this server's payload limits (columns, cells) on the thread that parses."""
        with codecs.limits(self.limits):
            return fn(*args, **kwargs)

    # --- per request ---------------------------------------------------------------------------
    def before(self) -> None:
        g.drumnb_started = time.perf_counter()
        replay_of = request.headers.get(REPLAY_HEADER, "")
        if self.requests is not None and replay_of.isdigit():
            g.drumnb_replay_of = int(replay_of)
        payloads.bound_body(request.environ, request.max_content_length)  # chunked bodies: 413 over the limit

    @staticmethod
    def stamp_headers(request_id: str | None) -> list[tuple[str, str]]:
        """The headers every answer carries (Flask's and the fast path's): versions, the request's id."""
        rid = request_id or ""
        if not (0 < len(rid) <= 128 and rid.isprintable()):
            rid = uuid.uuid4().hex
        return [(VERSION_HEADER, __version__), (DRUM_VERSION_HEADER, DRUM_VERSION), (REQUEST_ID_HEADER, rid),
                ("X_Request_ID", rid)]  # DRUM's spelling of the request id

    def after(self, response: Response) -> Response:
        for name, value in self.stamp_headers(request.headers.get(REQUEST_ID_HEADER)):
            response.headers[name] = value
        started = g.get("drumnb_started")
        if started is not None:
            self.metrics.observe_request(_route(), request.method, response.status_code,
                                         time.perf_counter() - started)
            if self.requests is not None and request.endpoint in SCORING_ENDPOINTS:
                self._keep(response, time.perf_counter() - started)
        return response

    # --- the kept requests, and reloads ----------------------------------------------------------
    def _keep(self, response: Response, seconds: float) -> None:
        payload = g.get("drumnb_payload")
        body = payload.data if payload is not None else g.get("drumnb_body")
        content_type = (payload.content_type if payload is not None else None) or request.content_type
        multipart = request.mimetype == "multipart/form-data"
        output = None if response.is_streamed else response.get_data()
        self.requests.add(path=request.path, method=request.method, status=response.status_code, seconds=seconds,
                          body=body, content_type=content_type, multipart=multipart, output=output,
                          output_type=response.content_type,
                          steps=parse_server_timing(response.headers.get(SERVER_TIMING, "")),
                          replay_of=g.get("drumnb_replay_of"))

    def kept_requests(self) -> Response:
        return self.json({"capacity": self.requests.size, "requests": self.requests.entries()})

    def replay(self, request_id: int) -> Response:
        """Send a kept request again, through the whole app; answers the new request's entry."""
        _same_origin()
        entry = self.requests.get(request_id)
        if entry is None:
            raise ConfigurationError(f"no kept request {request_id}", status=404,
                                     hint=f"GET {self.url_prefix}{REQUESTS_PATH} lists the kept requests")
        if entry["_body"] is None:
            raise ConfigurationError(f"request {request_id} was larger than the replay limit; only its head was kept",
                                     status=409, hint="send it again from the client")
        client = current_app.test_client()
        headers = {REPLAY_HEADER: str(request_id)}
        kind = entry["input"]["content_type"]
        with current_app.app_context():  # a context of its own: the replayed request's g is not this one's
            if entry["input"]["multipart"]:
                answer = client.post(entry["path"], headers=headers,
                                     data={"X": (io.BytesIO(entry["_body"]), "X", kind or "text/csv")})
            else:
                answer = client.post(entry["path"], headers=headers, data=entry["_body"], content_type=kind or "text/csv")
        latest = next((e for e in self.requests.entries() if e.get("replay_of") == request_id), None)
        timing = answer.headers.get(SERVER_TIMING, "")
        return self.json({"replay_of": request_id, "status": answer.status_code, "entry": latest,
                          "timings": parse_server_timing(timing),
                          "output": {"head": answer.get_data()[:1024].decode("utf-8", "replace"),
                                     "content_type": answer.content_type}})

    def reload(self, *, full: bool = False) -> Any:
        """Pick up edits of the model folder (:meth:`drumnb.model.Model.hot_reload`) on the model thread, so
        that no prediction sees half of it; then re-decide how calls run and whether the fast path applies.
        Raises the load error; the previous hooks and model keep serving."""
        model = self.loaded()
        try:
            result = self.call(model.hot_reload, full=full)
        except Exception as exc:
            self.last_reload = exc
            raise
        if result.kind == "none":
            return self.last_reload if self.last_reload is not None and not isinstance(
                self.last_reload, Exception) else result
        self.last_reload = result
        self._openapi = None
        serialize = needs_serializing(model)
        if serialize != self.call.serialize:
            old, self.call = self.call, ModelCalls(serialize, timeout=self.call.timeout, threads=self.threads)
            old.close()
        if self.app is not None:
            from .fastpath import FastPredict, install

            if isinstance(self.app.wsgi_app, FastPredict):
                self.app.wsgi_app = self.app.wsgi_app.app
            install(self.app, self)
        return result

    def watch(self) -> Any:
        """Reload (:meth:`reload`) whenever the model folder changes; returns the started watcher."""
        from ..watch import FolderWatcher

        folder = getattr(self.model, "code_dir", None)
        if folder is None or self.watcher is not None:
            return self.watcher
        self.watcher = FolderWatcher(folder, self._changed, name="drumnb-reload").start()
        return self.watcher

    def _changed(self, names: set[str]) -> None:
        try:
            result = self.reload()
        except Exception as exc:  # noqa: BLE001 - one line in the log; the previous hooks keep serving
            message = exc.render() if isinstance(exc, DrumnbError) else f"{type(exc).__name__}: {exc}"
            log.warning("%s changed; the previous hooks keep serving: %s", ", ".join(sorted(names)),
                        message.splitlines()[0] if message else "")
            return
        if result.kind != "none":
            log.warning("%s changed: %s", ", ".join(sorted(names)), result.message)

    def handle_error(self, exc: Exception) -> Any:
        """The one place errors become HTTP answers."""
        if isinstance(exc, HTTPException):
            if exc.code is not None and exc.code < 400:  # redirects and the like pass through
                return exc
            status, body = exc.code or 500, _http_error_body(exc, self.url_prefix)
            headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        elif isinstance(exc, DrumnbError):
            status, body, headers = exc.status, exc.to_dict(), dict(getattr(exc, "http_headers", None) or {})
            level = logging.WARNING if status >= 500 else logging.INFO
            log.log(level, "%s %s -> %d: %s", request.method, request.path, status, exc.message)
        else:
            log.exception("internal error on %s %s", request.method, request.path)
            status, headers = 500, {}
            body = {"message": f"ERROR: internal error of drumnb: {type(exc).__name__}: {exc}",
                    "error": type(exc).__name__}
        self.metrics.observe_error(_route(), type(exc).__name__)
        if request.endpoint in CHAT_ENDPOINTS:  # OpenAI clients read {"error": {...}}
            body = {"error": {"message": body.get("message", "").removeprefix("ERROR: "),
                              "type": "invalid_request_error" if status < 500 else "server_error",
                              "param": None, "code": body.get("error")}}
        response = self.json(body, status)
        response.headers.update(headers)
        return response


def _same_origin() -> None:
    """Refuse a browser's cross-site request (403): drumnb's own POST routes act on the server."""
    from urllib.parse import urlsplit

    origin = request.headers.get("Origin")
    if (origin and urlsplit(origin).netloc != request.host) or request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise ConfigurationError("cross-origin requests may not use this route", status=403,
                                 hint="call it from the notebook or with curl, not from another web page")


def _route() -> str:
    """The endpoint's name without the blueprint (metrics labels)."""
    return (request.endpoint or "unknown").removeprefix(BLUEPRINT + ".")


class WrongRoute(ConfigurationError):
    """A route that does not serve this model's target type (DRUM answers 422)."""

    status = 422


def _current_limit() -> int | None:
    from flask import current_app

    return current_app.config.get("MAX_CONTENT_LENGTH")


def _rows(result: Any) -> int | None:
    shape = getattr(result, "shape", None)
    return int(shape[0]) if shape else None


def _http_error_body(exc: HTTPException, prefix: str) -> dict[str, Any]:
    if exc.code == 404:
        paths = ", ".join(prefix + path for paths, _ in ROUTES.values() for path in paths)
        return {"message": f"ERROR: no route {request.method} {request.path}", "hint": f"routes: {paths}"}
    if exc.code == 405:
        allowed = ", ".join(m for m in getattr(exc, "valid_methods", None) or () if m not in ("HEAD", "OPTIONS"))
        return {"message": f"ERROR: {request.method} is not allowed on {request.path}",
                "hint": f"use {allowed or 'another method'}"}
    if exc.code == 413:
        limit = _current_limit()
        return {"message": "ERROR: the request body is larger than this server accepts"
                           + (f" ({limit} bytes)" if limit else ""),
                "hint": "send fewer rows per request, or start the server with a larger --max-request-size"}
    return {"message": f"ERROR: {exc.name}: {exc.description}"}


def load_or_error(model_or_loader: Any, with_error_server: bool) -> tuple[Any, DrumnbError | None]:
    """Call the loader (if given one); with an error server keep a failure as a 513 error."""
    if not callable(model_or_loader) or hasattr(model_or_loader, "predict"):
        return model_or_loader, None
    try:
        return model_or_loader(), None
    except Exception as exc:
        if not with_error_server:
            raise
        error = exc if isinstance(exc, DrumnbError) else ModelLoadError(f"{type(exc).__name__}: {exc}")
        error.status = 513
        log.error("the model did not load; serving the error (513): %s", error.render())
        return None, error


def create_app(model_or_loader: Any | Callable[[], Any], *, url_prefix: str | None = None,
               with_error_server: bool = False, max_request_size: int | None = DEFAULT_MAX_REQUEST_SIZE,
               server_name: str = "flask", multiprocess: bool = False, process_root: int | None = None,
               serialize: "bool | str" = "auto", extensions: bool = True,
               max_columns: int | None = DEFAULT_MAX_COLUMNS, max_cells: int | None = None,
               request_timeout: float | None = None, threads: int = 4, keep_requests: int | None = None,
               reload: bool = False) -> Flask:
    """A Flask app serving one model under DRUM's routes.

    ``model_or_loader``: a loaded :class:`~drumnb.model.Model`, or a
    callable returning one.  With ``with_error_server`` a loader that fails
    leaves an app answering 513 with the error (else the error propagates).
    ``url_prefix`` defaults to the ``URL_PREFIX`` environment variable;
    ``max_request_size`` (bytes, None for no limit) makes larger bodies 413;
    ``max_columns`` and ``max_cells`` (default: ``max_request_size``) bound
    the shape a payload may declare (:class:`~drumnb.core.codecs.Limits`).
    ``serialize`` runs model calls one at a time on one thread (hooks need
    not be thread-safe); ``"auto"`` does so unless the model is a built-in
    thread-safe predictor without per-request hooks (:mod:`drumnb.server.calls`); every model call is
    bounded by ``request_timeout`` seconds (504 past it) and unserialized calls run on ``threads`` model
    threads.  ``keep_requests``: how many prediction requests to keep for the request log and replay
    (default: :data:`DEFAULT_KEPT_REQUESTS` with ``reload``, else none: a production server keeps no
    inputs).  ``reload``: watch the folder and reload its hooks on edits (:meth:`ModelServer.watch`).
    ``multiprocess``/``process_root`` are set by the gunicorn
    runner so that ``/stats/`` and ``/metrics`` cover every worker.  A
    ``custom_flask.py`` in the model folder may then extend the app.
    """
    prefix = normalize_prefix(os.environ.get("URL_PREFIX") if url_prefix is None else url_prefix)
    model, error = load_or_error(model_or_loader, with_error_server)
    app = Flask("drumnb.server")
    app.config.update(MAX_CONTENT_LENGTH=max_request_size, MAX_FORM_MEMORY_SIZE=max_request_size,
                      MAX_FORM_PARTS=100)
    app.url_map.strict_slashes = False
    server = ModelServer(model, error, url_prefix=prefix, server_name=server_name, multiprocess=multiprocess,
                         process_root=process_root, serialize=serialize,
                         request_timeout=request_timeout, threads=threads,
                         keep_requests=(DEFAULT_KEPT_REQUESTS if reload else 0) if keep_requests is None
                         else keep_requests)
    server.app = app
    server.limits = codecs.Limits(max_columns, max_request_size if max_cells is None else max_cells,
                                  {"max_columns": "--max-columns", "max_cells": "--max-cells"})
    app.extensions["drumnb"] = server
    views = {"ping": server.ok, "health": server.ok, "info": server.info, "stats": server.stats,
             "capabilities": server.capabilities, "openapi": server.openapi, "metrics": server.prometheus,
             "predict": server.predict, "transform": server.transform, "predict_unstructured": server.unstructured,
             "chat": server.chat, "get_supported_llm_models": server.models}
    routes = Blueprint(BLUEPRINT, __name__)
    for endpoint, (paths, methods) in ROUTES.items():
        for path in paths:
            routes.add_url_rule(prefix + path, endpoint, views[endpoint], methods=list(methods),
                                strict_slashes=False)
    app.register_blueprint(routes)
    if server.requests is not None:
        app.add_url_rule(prefix + REQUESTS_PATH, "drumnb_requests", server.kept_requests, methods=["GET"])
        app.add_url_rule(prefix + REQUESTS_PATH + "<int:request_id>/replay/", "drumnb_replay", server.replay,
                         methods=["POST"])
    app.before_request(server.before)
    app.after_request(server.after)
    app.register_error_handler(Exception, server.handle_error)
    if extensions and error is None and getattr(model, "code_dir", None):
        from .extension import apply_extension

        try:
            apply_extension(app, model.code_dir)
        except DrumnbError as exc:
            if not with_error_server:
                raise
            exc.status = 513
            log.error("custom_flask.py failed; serving the error (513): %s", exc.render())
            server.error = exc
    from .fastpath import install

    install(app, server)  # small numeric CSV predictions answered before Flask, byte for byte the same
    if reload and error is None:
        server.watch()
    return app
