"""The unstructured rules: how request bytes become the hook's ``data`` and
how its return value becomes response bytes.  Pure functions; each answer
carries a record of the rule that applied, for the notebook inspector.

Incoming (the seed's rules, with DRUM 1.18.1's exact strings):

* no content type            -> ``text/plain``, charset ``utf-8``, decoded to ``str``
* ``text/*``, ``application/json*`` -> decoded with the given charset (``utf-8`` when none) to ``str``
* anything else              -> ``bytes``; the charset is passed only if given

Mimetypes compare case-insensitively; quoted charsets are accepted.  A charset
Python does not know, or bytes that do not decode in it, is a 400 error that
says which charset failed at which byte.

Outgoing: ``str`` -> encoded, ``text/plain; charset=utf-8`` unless overridden;
``bytes`` -> as is, ``application/octet-stream`` (no charset); a
``(data, {"mimetype": ..., "charset": ...})`` tuple overrides either; ``None``
-> an empty body.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any
from urllib.parse import parse_qs

from .errors import HookError, InputError

DEFAULT_MIMETYPE = "text/plain"
DEFAULT_CHARSET = "utf-8"
BATCH_CHARSET = "utf8"
BINARY_MIMETYPE = "application/octet-stream"
HOOK = "score_unstructured"


class UnstructuredInputError(InputError):
    """The body cannot be decoded as its content type says."""

    status = 400


@dataclass(frozen=True)
class Decoded:
    """What the hook receives, and why."""

    data: str | bytes
    mimetype: str
    charset: str | None
    rule: str          # "no content type", "text", "binary"
    reason: str        # one sentence for people
    content_type: str | None = None

    @property
    def kwargs(self) -> dict[str, Any]:
        return {"mimetype": self.mimetype, "charset": self.charset}


@dataclass(frozen=True)
class Encoded:
    """The response body and its Content-Type, and why."""

    body: bytes
    mimetype: str
    charset: str | None
    rule: str
    reason: str

    @property
    def content_type(self) -> str:
        return f"{self.mimetype}; charset={self.charset}" if self.charset else self.mimetype


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """``(mimetype in lower case, charset or None)`` of a Content-Type value (parsed by ``email``)."""
    if value is None or not value.strip():
        return None, None
    msg = Message()
    msg["content-type"] = value
    charset = msg.get_param("charset")
    if charset is not None:
        charset = collapse_rfc2231_value(charset).strip() or None
    return msg.get_content_type(), charset


def is_text(mimetype: str) -> bool:
    return mimetype.startswith("text/") or mimetype.startswith("application/json")


def _check_charset(charset: str) -> codecs.CodecInfo:
    try:
        info = codecs.lookup(charset)
    except LookupError:
        info = None
    # bytes.decode refuses bytes-to-bytes codecs too (zlib, bz2, base64, rot13, ...): a "charset=zlib" body
    # would otherwise be decompressed, without bound, before the hook sees it
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise UnstructuredInputError(f"unknown charset {charset!r} in the content type",
                                     hint="use a charset Python knows, e.g. utf-8, latin-1, utf-16")
    return info


def decode_request(body: bytes, content_type: str | None, *, batch: bool = False) -> Decoded:
    """Apply the incoming rules to a request body.

    ``batch``: the rules of ``score --target-type unstructured``, where a body with no content type is
    ``text/plain`` and the hook's charset reads ``utf8`` (the seed's spelling, which DRUM 1.18.1 uses there).
    """
    mimetype, charset = parse_content_type(content_type)
    if mimetype is None:
        default = BATCH_CHARSET if batch else DEFAULT_CHARSET
        rule, reason = "no content type", f"no content type given: treated as text/plain, decoded as {default}"
        mimetype, text, charset_out = DEFAULT_MIMETYPE, True, default
    elif is_text(mimetype):
        text, charset_out = True, charset or DEFAULT_CHARSET
        rule = "text"
        kind = "text/*" if mimetype.startswith("text/") else "application/json*"
        reason = (f"{mimetype} matches {kind}: decoded as {charset_out}"
                  + ("" if charset else " (no charset given: utf-8 assumed)") + ", passed as str")
    else:
        text, charset_out = False, charset
        rule = "binary"
        reason = f"{mimetype} is neither text/* nor application/json: passed as bytes, undecoded"
    if not text:
        if charset:
            _check_charset(charset)
        return Decoded(bytes(body), mimetype, charset_out, rule, reason, content_type)
    info = _check_charset(charset_out)
    try:
        data = info.decode(bytes(body), "strict")[0]
    except UnicodeDecodeError as exc:
        raise UnstructuredInputError(
            f"the body does not decode as {charset_out}: byte {exc.start} ({bytes(body)[exc.start:exc.start + 1]!r}) "
            f"{exc.reason}", hint="declare the charset the body is written in (Content-Type or --content-type: text/plain; charset=latin1)"
        ) from None
    return Decoded(data, mimetype, charset_out, rule, reason, content_type)


def encode_response(result: Any, *, hook: str = HOOK) -> Encoded:
    """Apply the outgoing rules to what the hook returned."""
    extra: dict[str, Any] = {}
    if isinstance(result, tuple):
        if len(result) == 2 and result[1] is None:  # (data, None): no overrides, as DRUM accepts
            result = (result[0], {})
        if len(result) != 2 or not isinstance(result[1], dict):
            raise HookError(hook, f"returned a tuple of {len(result)} item(s); expected (data, "
                            "{'mimetype': ..., 'charset': ...})")
        result, extra = result
    if result is None:
        return Encoded(b"", extra.get("mimetype") or DEFAULT_MIMETYPE, None, "none", "the hook returned None: empty body")
    mimetype = extra.get("mimetype")
    charset = extra.get("charset")
    if isinstance(result, str):
        charset = charset or DEFAULT_CHARSET
        try:
            info = codecs.lookup(charset)
        except LookupError:
            raise HookError(hook, f"returned unknown charset {charset!r}") from None
        try:
            body = info.encode(result, "strict")[0]
        except UnicodeEncodeError as exc:
            raise HookError(hook, f"returned text that cannot be encoded as {charset}: {exc.reason} at "
                            f"character {exc.start}") from None
        reason = (f"str encoded as {charset}" + (" (returned)" if extra.get("charset") else " (default)")
                  + f"; mimetype {mimetype or DEFAULT_MIMETYPE}" + (" (returned)" if mimetype else " (default)"))
        return Encoded(body, mimetype or DEFAULT_MIMETYPE, charset, "str", reason)
    if isinstance(result, (bytes, bytearray, memoryview)):
        reason = "bytes sent as they are" + (f"; mimetype {mimetype} (returned)" if mimetype else
                                             f"; mimetype {BINARY_MIMETYPE} (default)")
        return Encoded(bytes(result), mimetype or BINARY_MIMETYPE, charset, "bytes", reason)
    raise HookError(hook, f"returned {type(result).__name__}; expected str, bytes, None or "
                    "(data, {'mimetype': ..., 'charset': ...})",
                    hint="return text (str) or bytes from score_unstructured")


def parse_query(query: str | dict | None, *, batch: bool = False) -> dict[str, str]:
    """``"a=1&b=2"`` -> ``{"a": "1", "b": "2"}``; a repeated key keeps its first value as DRUM's server does
    (``batch``: its last, as DRUM's ``score --query`` does)."""
    pick = -1 if batch else 0
    if query is None:
        return {}
    if isinstance(query, dict):
        return {str(k): (v[pick] if isinstance(v, list) and v else v) for k, v in query.items()}
    return {k: v[pick] for k, v in parse_qs(query.lstrip("?"), keep_blank_values=True).items()}
