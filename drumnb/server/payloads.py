"""HTTP bodies <-> what the core takes and gives.  No model logic here.

Incoming: the multipart file field ``X`` (``X.colnames`` for the column names
of a Matrix Market file) or the raw body, whose format the codecs pick from
the ``Content-Type`` (werkzeug parses headers and forms).  Outgoing: DRUM's
JSON (``{"predictions": [...]}`` at full float precision, plus
``extraModelOutput`` in pandas ``orient="split"`` shape), or CSV / Arrow when
``Accept`` asks for them.
"""
from __future__ import annotations

import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import InputError

try:  # writes many floats 20-100 times faster than json; used only where the bytes are the same
    import orjson as _orjson
except ImportError:  # pragma: no cover - a dependency of drumnb[server]
    _orjson = None

FIELD = "X"
SPARSE_FIELD = "X.colnames"
JSON = "application/json"
CSV = "text/csv"
ARROW = "application/vnd.apache.arrow.stream"
ARROW_ALT = "application/x-apache-arrow-stream"
RESPONSE_TYPES = (JSON, CSV, ARROW, ARROW_ALT)
_GENERIC_TYPES = {"", "application/octet-stream", "application/x-www-form-urlencoded"}
SEND_HINT = ("send CSV as the multipart file field 'X' (curl -F X=@data.csv URL) or as the raw body "
             "(curl --data-binary @data.csv -H 'Content-Type: text/csv' URL)")

@dataclass
class Payload:
    """One request's data as the core reads it."""

    data: bytes
    content_type: str | None = None
    format: str | None = None
    sparse_columns: list[str] | None = None


def _format_of(filename: str | None) -> str | None:
    """The codec name a file name's extension selects, or None when the extension is unknown."""
    from ..core import codecs

    ext = os.path.splitext(filename or "")[1].lower()
    codec = codecs.get_codec(path=filename) if ext else None
    return codec.name if codec is not None and ext in codec.extensions else None


def _lines(raw: bytes) -> list[str]:
    return [line.strip() for line in raw.decode("utf-8").splitlines() if line.strip()]


def bound_body(environ: dict, limit: int | None) -> None:
    """Read a body sent without ``Content-Length`` (``Transfer-Encoding: chunked``) whole, before anything
    parses it: over ``limit`` bytes it is refused (413, nothing of it scored); within, the rest of the app
    sees an ordinary body of known length.  werkzeug's ``MAX_CONTENT_LENGTH`` checks only ``Content-Length``
    and would cut a chunked body at the limit."""
    if (limit is None or environ.get("CONTENT_LENGTH")
            or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower()):
        return
    from werkzeug.exceptions import RequestEntityTooLarge

    stream, parts, size = environ["wsgi.input"], [], 0
    while True:
        part = stream.read(min(1 << 16, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
        if size > limit:
            raise RequestEntityTooLarge()
    body = b"".join(parts)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def read_payload(request: Any, field: str = FIELD, *, required: bool = True) -> Payload | None:
    """The data of a request: multipart field ``field`` or the raw body."""
    if request.mimetype == "multipart/form-data":
        files, form = request.files, request.form
        if field in files:
            part = files[field]
            fmt = _format_of(part.filename)
            ctype = None if fmt or part.mimetype in _GENERIC_TYPES else part.mimetype
            payload = Payload(part.read(), ctype, fmt)
        elif field in form:
            payload = Payload(form[field].encode("utf-8"))
        elif not required:
            return None
        else:
            got = sorted(set(files) | set(form))
            raise InputError(f"the multipart request has no field {field!r}"
                             + (f" (it has {got})" if got else ""), hint=SEND_HINT)
        colnames = files.get(SPARSE_FIELD)
        raw_names = colnames.read() if colnames is not None else form.get(SPARSE_FIELD, "").encode("utf-8")
        if raw_names:
            payload.sparse_columns = _lines(raw_names)
    else:
        if field != FIELD:
            return None
        ctype = request.mimetype
        payload = Payload(request.get_data(cache=False), None if ctype in _GENERIC_TYPES else ctype)
    if required and not payload.data.strip():
        raise InputError("the request has no data", hint=SEND_HINT)
    return payload


def request_json(request: Any) -> Any:
    """The JSON body of a request, or None when it is not JSON; nested deeper than the parser can
    go (Python's recursion limit), a 400 instead of a RecursionError."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise InputError("the JSON body is nested too deeply to parse", status=400,
                         hint="send a JSON object nested at most a few hundred levels deep") from None


# --- answers ---------------------------------------------------------------------------------

def negotiate(accept_header: str | None, accept: Any) -> str:
    """The response type: JSON unless ``Accept`` prefers CSV or Arrow; 406 when none fits."""
    if not accept_header or not accept_header.strip():
        return JSON
    best = accept.best_match(RESPONSE_TYPES)
    if best is None:
        raise InputError(f"cannot answer in {accept_header!r}", status=406,
                         hint=f"accept one of: {', '.join(RESPONSE_TYPES)}")
    return best


def dumps(obj: Any) -> bytes:
    """Strict JSON bytes; floats keep full precision (shortest round-trip repr).

    NaN and infinity, which JSON cannot hold, are written as ``null`` (as
    pandas' JSON writer does): never ``NaN`` / ``Infinity``.  Always the standard library's encoder, as
    DRUM's answers (orjson writes ``1e-05`` as ``0.00001`` and non-ASCII text unescaped; the fast path uses it
    only where the bytes are the same).
    """
    try:
        return json.dumps(obj, separators=(",", ":"), default=_default, allow_nan=False).encode("utf-8")
    except ValueError:  # a NaN or an infinity somewhere: the slow path, once
        return json.dumps(_finite(obj), separators=(",", ":"), default=_default, allow_nan=False).encode("utf-8")


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN / infinity (Python or numpy, at any depth) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    if isinstance(obj, (str, bytes, int)) or obj is None:
        return obj
    return _finite(_default(obj))  # numpy scalars and arrays


def _default(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)  # numpy arrays, and scalars (their tolist() is the Python value)
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    return str(value)


def split_frame(frame: Any) -> dict[str, Any]:
    """A DataFrame as pandas ``orient="split"`` JSON, without losing float digits; NaN -> null."""
    obj = frame.astype(object)
    obj = obj.where(frame.notna(), None)
    return {"columns": [str(c) for c in frame.columns], "index": frame.index.tolist(),
            "data": obj.to_numpy().tolist()}


def predictions_json(frame: Any, pred_columns: Sequence[str], classification: bool) -> dict[str, Any]:
    """``{"predictions": [...]}`` (+ ``extraModelOutput``) from the core's predictions frame."""
    n = len(pred_columns)
    if classification:
        rows = frame.iloc[:, :n].to_numpy(dtype="float64").tolist()
        labels = list(pred_columns)
        predictions: list[Any] = [dict(zip(labels, row)) for row in rows]
    else:
        predictions = frame.iloc[:, 0].tolist()
    body: dict[str, Any] = {"predictions": predictions}
    if frame.shape[1] > n:
        body["extraModelOutput"] = split_frame(frame.iloc[:, n:])
    return body


def predictions_bytes(frame: Any, pred_columns: Sequence[str], classification: bool) -> bytes:
    """``dumps(predictions_json(frame, pred_columns, classification))``, the same bytes, faster.

    The common case -- float64 predictions, all finite, no extra outputs -- is written directly: the
    floats by orjson where it writes what the json module writes (:func:`orjson_matches_json`), else by
    ``float.__repr__`` (what the json module calls); each class label as json writes a key; one ``%``
    template a row instead of one dict a row through the encoder.  Anything else goes through
    :func:`predictions_json` and :func:`dumps`.
    """
    n = len(pred_columns)
    values = frame.iloc[:, :n].to_numpy() if frame.shape[1] == n and n and len(frame) else None
    if (values is None or values.dtype != np.float64 or not np.isfinite(values).all()
            or (classification and len(set(pred_columns)) != n)):
        return dumps(predictions_json(frame, pred_columns, classification))
    if not classification:
        return regression_bytes(values[:, 0])
    keys = [json.dumps({label: 0}, separators=(",", ":"))[1:-2].replace("%", "%%") for label in pred_columns]
    row = "{" + ",".join(key + "%s" for key in keys) + "}"  # each key text ends with ':'
    texts = iter(_float_texts(np.ascontiguousarray(values).ravel()))
    return b'{"predictions":[' + ",".join([row % group for group in zip(*[texts] * n)]).encode("ascii") + b"]}"


def regression_bytes(values: Any) -> bytes:
    """``dumps({"predictions": values.tolist()})`` for a 1-D array of finite float64 values."""
    if _orjson is not None and orjson_matches_json(values):
        return b'{"predictions":' + _orjson.dumps(values, option=_orjson.OPT_SERIALIZE_NUMPY) + b"}"
    return b'{"predictions":[' + ",".join(map(float.__repr__, values.tolist())).encode("ascii") + b"]}"


def _float_texts(flat: Any) -> list[str]:
    """Each float of a 1-D float64 array as the json module writes it."""
    if _orjson is not None and orjson_matches_json(flat):
        return _orjson.dumps(flat, option=_orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode("ascii").split(",")
    return list(map(float.__repr__, flat.tolist()))


def orjson_matches_json(values: Any) -> bool:
    """Whether orjson writes every float of ``values`` as the json module does: the same shortest digits,
    and the same notation for 0 and magnitudes in [1e-4, 1e16) -- outside, json writes ``1e-05`` where
    orjson writes ``0.00001``.  Also a C-contiguous 1-D float64 array, as orjson takes."""
    magnitude = np.abs(values)
    return bool(values.ndim == 1 and values.flags.c_contiguous
                and (((magnitude >= 1e-4) & (magnitude < 1e16)) | (magnitude == 0)).all())


def encode_frame(frame: Any, mimetype: str) -> bytes:
    """A DataFrame as CSV or Arrow IPC stream bytes (the core's codecs)."""
    from ..core import codecs

    return codecs.write_frame(frame, "csv" if mimetype == CSV else "arrow")


def transform_json(result: Any, y: Any = None) -> dict[str, Any]:
    """``/transform/``'s answer: ``X.transformed`` as CSV text, or Matrix Market text when sparse
    (``out.format``), and ``y.transformed`` as CSV text when ``y`` was sent."""
    from ..core import codecs

    sparse = codecs.is_sparse(result)
    if not sparse and not hasattr(result, "columns"):  # a built-in transformer may give a bare array
        import pandas as pd

        result = pd.DataFrame(result)
    body: dict[str, Any] = {"X.transformed": codecs.write_frame(result, "csv").decode("utf-8"),
                            "out.format": "sparse" if sparse else "csv"}
    if y is not None:
        body["y.transformed"] = codecs.write_csv(y).decode("utf-8")
    return body
