"""A small HTTP client for one drumnb (or DRUM) server, with every route a notebook calls.

    client = Client("http://127.0.0.1:8080")
    client.predict(df)                                   # DataFrame in, DataFrame out
    client.predict_unstructured("hello", content_type="text/plain", query={"a": 1})
    client.chat([{"role": "user", "content": "hi"}])     # the ChatCompletion as a dict
    client.openai()                                      # an openai.OpenAI client for this server

An instance is also callable and returns itself, so that both
``srv.client.predict(df)`` and ``srv.client().predict(df)`` work.  It needs
nothing but ``requests``: the background servers of :mod:`drumnb.server.background`
and the notebook's servers hand out the same client.
"""
from __future__ import annotations

import io
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..core.errors import DrumnbError


@dataclass
class Response:
    """An HTTP answer: status, headers, body (bytes), and how long it took."""

    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float = 0.0
    request: dict[str, Any] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def text(self) -> str:
        from ..core.unstructured import parse_content_type

        charset = parse_content_type(self.content_type)[1] or "utf-8"
        try:
            return self.body.decode(charset, "replace")
        except LookupError:
            return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ServerError(DrumnbError):
    """The server answered an error status; ``status`` is that HTTP status."""


class ServerUnavailable(ServerError):
    """Nothing answers at the server's address (stopped, crashed, or not started yet), or it answered too late."""

    status = 503


def error_from(response: Any) -> ServerError:
    status = getattr(response, "status_code", None) or getattr(response, "status", 500)
    body_bytes = getattr(response, "content", None)
    if body_bytes is None:
        body_bytes = getattr(response, "body", b"")
    try:
        body = json.loads(body_bytes)
        if not isinstance(body, dict):
            body = {"message": str(body)}
    except ValueError:
        body = {"message": body_bytes[:500].decode("utf-8", "replace")}
    if isinstance(body.get("error"), dict):  # OpenAI-shaped errors of the chat routes
        body = {**body["error"], **{k: v for k, v in body.items() if k != "error"}}
    message = str(body.get("message", "")).removeprefix("ERROR: ")
    return ServerError(f"the server answered {status}: {message or 'no message'}", hint=body.get("hint"),
                       status=int(status))


class Client:
    """An HTTP client bound to one server (``requests`` underneath)."""

    def __init__(self, url: str, *, timeout: float = 300.0):
        import requests

        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # never send 127.0.0.1 through a proxy from the environment

    def __call__(self) -> "Client":
        return self

    def __repr__(self) -> str:
        return f"<drumnb Client {self.url}>"

    # --- plain HTTP ------------------------------------------------------------------------------
    def get(self, path: str = "/", **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return self._send(self.session.get, self.url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", self.timeout)
        return self._send(self.session.post, self.url + path, **kwargs)

    def _send(self, method: Any, *args: Any, **kwargs: Any) -> Any:
        """One request; a refused connection or a timeout leaves as one :class:`ServerUnavailable`."""
        import requests

        try:
            return method(*args, **kwargs)
        except requests.Timeout:
            raise ServerUnavailable(f"the server at {self.url} did not answer within {kwargs.get('timeout')} s",
                                    hint="it may still be busy: check srv.logs(), or pass a longer timeout "
                                         "to Client(url, timeout=...)") from None
        except requests.ConnectionError as exc:
            if "Failed to establish" not in str(exc) and "refused" not in str(exc):  # it took the request
                raise ServerUnavailable(f"the server at {self.url} closed the connection without answering",
                                        hint="it may have crashed: its log (srv.logs()) says why") from None
            raise ServerUnavailable(f"the server at {self.url} is not running",
                                    hint="start it again (srv.restart() or %drum_serve NAME); "
                                         "%drum_serve --list shows the running servers") from None

    def _checked(self, response: Any) -> Any:
        if response.status_code >= 400:
            raise error_from(response)
        return response

    # --- DRUM routes -----------------------------------------------------------------------------
    def health(self) -> dict:
        return self._checked(self.get("/health/")).json()

    def info(self) -> dict:
        return self._checked(self.get("/info/")).json()

    def stats(self) -> dict:
        return self._checked(self.get("/stats/")).json()

    def capabilities(self) -> dict:
        return self._checked(self.get("/capabilities/")).json()

    def predict(self, data: Any, *, path: str = "/predict/") -> Any:
        """Score a DataFrame (sent as CSV), CSV bytes or a CSV file; predictions as a DataFrame."""
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            from ..core.codecs import write_csv

            body = write_csv(data)
        elif isinstance(data, (str, os.PathLike)) and os.path.isfile(data):
            with open(data, "rb") as fh:
                body = fh.read()
        else:
            body = data
        response = self._checked(self.post(path, data=body, headers={"Content-Type": "text/csv",
                                                                      "Accept": "text/csv"}))
        return pd.read_csv(io.BytesIO(response.content))

    def transform(self, data: Any) -> dict:
        """``POST /transform/`` (transform models): the JSON answer."""
        response = self.post("/transform/", data=self._csv(data), headers={"Content-Type": "text/csv"})
        return self._checked(response).json()

    @staticmethod
    def _csv(data: Any) -> bytes:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            from ..core.codecs import write_csv

            return write_csv(data)
        return data

    def predict_unstructured(self, data: "str | bytes", *, content_type: str | None = None,
                             query: "str | dict | None" = None, headers: dict | None = None,
                             raise_for_status: bool = True) -> Response:
        """POST ``data`` to ``/predictUnstructured/``; the answer as a :class:`Response`.

        ``content_type`` is sent as is (none: no Content-Type header, which DRUM
        reads as text/plain, utf-8); ``str`` data is encoded with its charset.
        """
        from ..core.unstructured import DEFAULT_CHARSET, parse_content_type

        if isinstance(data, str):
            data = data.encode(parse_content_type(content_type)[1] or DEFAULT_CHARSET)
        hdrs = dict(headers or {})
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        started = time.perf_counter()
        prepared = self.session.prepare_request(
            _request("POST", self.url + "/predictUnstructured/", data=bytes(data), headers=hdrs, params=query))
        if content_type is None:
            prepared.headers.pop("Content-Type", None)
        r = self._send(self.session.send, prepared, timeout=self.timeout)
        response = Response(r.status_code, dict(r.headers), r.content, time.perf_counter() - started,
                            {"url": prepared.url, "headers": dict(prepared.headers)})
        if raise_for_status and r.status_code >= 400:
            raise error_from(r)
        return response

    def chat(self, messages: "list[dict] | str | None" = None, *, model: str | None = None, stream: bool = False,
             **params: Any) -> "dict | Iterator[dict]":
        """``POST /v1/chat/completions/``: the ChatCompletion as a dict, or an iterator of chunk dicts."""
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        body = {"model": model or "drumnb", "messages": messages or [], **params}
        if stream:
            body["stream"] = True
            r = self._checked(self.post("/v1/chat/completions/", json=body, stream=True))
            return _events(r)
        return self._checked(self.post("/v1/chat/completions/", json=body)).json()

    def models(self) -> list[dict]:
        return self._checked(self.get("/v1/models/")).json().get("data", [])

    def openai(self, **kwargs: Any) -> Any:
        """An ``openai.OpenAI`` client talking to this server (``pip install openai``)."""
        try:
            import openai
        except ImportError:
            raise DrumnbError("the openai package is not installed", hint="pip install openai") from None
        return openai.OpenAI(base_url=self.url + "/v1", api_key=kwargs.pop("api_key", "not-needed"), **kwargs)

    def close(self) -> None:
        self.session.close()


def _request(method: str, url: str, **kwargs: Any) -> Any:
    import requests

    return requests.Request(method, url, **kwargs)


def _events(response: Any) -> Iterator[dict]:
    for line in response.iter_lines():
        if not line or not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data.strip() == b"[DONE]":
            break
        yield json.loads(data)
