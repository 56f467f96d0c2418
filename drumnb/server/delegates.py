"""Unstructured scoring and chat: their rules live in the core, these routes only translate.

They hand the request to the core (``Model.predict_unstructured``,
``Model.chat``, ``Model.supported_llm_models``) and turn its result into an
HTTP answer.  A model object without those methods gets a JSON 501.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Response, g

#: The key DataRobot joins a chat answer to its request by: sent back as given, or made up.
ASSOCIATION_ID = "datarobot_association_id"

from ..core.errors import ConfigurationError, UnsupportedError
from ..model import plain_data
from ..core.targets import TargetType
from . import payloads

_LATER = "{what} needs a drumnb Model; this model object has no such method"


def _missing(model: Any, method: str, what: str) -> None:
    if not callable(getattr(model, method, None)):
        raise UnsupportedError(_LATER.format(what=what), hint="serve a folder loaded by drumnb.load_model")


def unstructured(model: Any, request: Any, call: Callable[..., Any],
                 timed: Callable[..., Response] | None = None) -> Response:
    """``/predictUnstructured/``: the raw body and its headers to ``model.predict_unstructured``;
    ``timed(response, steps, started)`` adds the ``Server-Timing`` header (the hook's time is ``score``)."""
    if model.target_type != TargetType.UNSTRUCTURED:
        raise ConfigurationError(f"this is a {model.target_type} model; /predictUnstructured/ serves "
                                 "unstructured models", hint="POST the data to /predict/ instead",
                                 status=422)  # DRUM's status for a route of another target type
    _missing(model, "predict_unstructured", "unstructured scoring")
    body = request.get_data(cache=False)
    g.drumnb_body = body  # the request log keeps it (when the server keeps requests)
    result = call(model.predict_unstructured, body, content_type=request.content_type,
                  query=request.query_string.decode("utf-8", "replace"), headers=dict(request.headers))
    started = time.perf_counter()
    response = unstructured_response(result)
    if timed is None:
        return response
    seconds = getattr(result, "seconds", None)
    return timed(response, (None, None, seconds) if seconds is not None else None, started)


def unstructured_response(result: Any) -> Response:
    """The core's answer as HTTP: an encoded body, or the hook's raw return value
    (``str`` / ``bytes`` / ``(data, {"mimetype", "charset"})`` / ``None``) encoded by the core's rules."""
    if not (hasattr(result, "body") and hasattr(result, "content_type")):
        from ..core.unstructured import encode_response

        result = encode_response(result)
    return Response(result.body, 200, content_type=result.content_type)


def chat(model: Any, request: Any, call: Callable[..., Any]) -> Response:
    """``/chat/completions/``: the JSON body to ``model.chat``; a stream is sent as server-sent events."""
    _missing(model, "chat", "the chat API")
    params = payloads.request_json(request)  # the core says what is wrong with anything but an object
    result = call(model.chat, params)
    # as DRUM: the request's association id (or a new one) comes back with the answer, and with each chunk
    given = params.get(ASSOCIATION_ID) if isinstance(params, dict) else None
    association = given if given is not None else str(uuid.uuid4())
    if isinstance(params, dict) and params.get("stream") and not isinstance(result, (dict, str, bytes)) and hasattr(result, "__iter__"):
        return Response(_events(result, call, association), 200, mimetype="text/event-stream")
    return Response(payloads.dumps(_with_association(plain_data(result), association)) + b"\n", 200,
                    mimetype=payloads.JSON)


def _with_association(body: Any, association: str) -> Any:
    return {**body, ASSOCIATION_ID: association} if isinstance(body, dict) else body


def models(model: Any) -> Response:
    """``GET /v1/models``: the models a chat model serves (OpenAI's list shape)."""
    _missing(model, "supported_llm_models", "the model list")
    return Response(payloads.dumps({"object": "list", "data": model.supported_llm_models()}) + b"\n", 200,
                    mimetype=payloads.JSON)


def _events(chunks: Iterable[Any], call: Callable[..., Any], association: str) -> Iterable[bytes]:
    """Server-sent events, one a chunk; the hook's iterator advances on the model's thread."""
    iterator, done = iter(chunks), object()
    while (chunk := call(next, iterator, done)) is not done:
        yield b"data: " + payloads.dumps(_with_association(plain_data(chunk), association)) + b"\n\n"
    yield b"data: [DONE]\n\n"
