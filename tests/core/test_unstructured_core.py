"""The unstructured rules as pure functions and through Model.predict_unstructured."""
from __future__ import annotations

import pytest

import drumnb
from drumnb.core.errors import HookError
from drumnb.core.unstructured import UnstructuredInputError, decode_request, encode_response, parse_query
from fixtures import write_folder

TEXT = "héllo wörld"


@pytest.mark.parametrize("content_type,body,kind,mimetype,charset,rule", [
    (None, TEXT.encode(), str, "text/plain", "utf-8", "no content type"),
    ("", TEXT.encode(), str, "text/plain", "utf-8", "no content type"),
    ("text/plain", TEXT.encode(), str, "text/plain", "utf-8", "text"),
    ("TEXT/PLAIN", TEXT.encode(), str, "text/plain", "utf-8", "text"),
    ("text/plain; charset=latin1", TEXT.encode("latin1"), str, "text/plain", "latin1", "text"),
    ('text/plain; charset="latin1"', TEXT.encode("latin1"), str, "text/plain", "latin1", "text"),
    ("text/csv; charset=utf-16", TEXT.encode("utf-16"), str, "text/csv", "utf-16", "text"),
    ("application/json", b'{"a": "\xc3\xa9"}', str, "application/json", "utf-8", "text"),
    ("application/json-patch+json", b"[]", str, "application/json-patch+json", "utf-8", "text"),
    ("application/octet-stream", b"\x00\xff", bytes, "application/octet-stream", None, "binary"),
    ("image/png", b"\x89PNG", bytes, "image/png", None, "binary"),
    ("image/png; charset=latin1", b"\x89PNG", bytes, "image/png", "latin1", "binary"),
])
def test_incoming_rules(content_type, body, kind, mimetype, charset, rule):
    d = decode_request(body, content_type)
    assert type(d.data) is kind and d.mimetype == mimetype and d.charset == charset and d.rule == rule
    if kind is str:
        assert d.data.encode(charset) == body
    assert d.reason


def test_undecodable_and_unknown_charsets_are_400_saying_where():
    with pytest.raises(UnstructuredInputError, match=r"does not decode as utf-8: byte 2") as info:
        decode_request(b"ab\xff", "text/plain")
    assert info.value.status == 400
    with pytest.raises(UnstructuredInputError, match="unknown charset 'klingon'"):
        decode_request(b"ab", "text/plain; charset=klingon")


@pytest.mark.parametrize("returned,body,content_type", [
    ("é", "é".encode(), "text/plain; charset=utf-8"),
    (b"\x00", b"\x00", "application/octet-stream"),
    (("é", {"mimetype": "text/html"}), "é".encode(), "text/html; charset=utf-8"),
    (("é", {"charset": "latin1"}), "é".encode("latin1"), "text/plain; charset=latin1"),
    ((b"{}", {"mimetype": "application/json"}), b"{}", "application/json"),
    (None, b"", "text/plain"),
])
def test_outgoing_rules(returned, body, content_type):
    e = encode_response(returned)
    assert (e.body, e.content_type) == (body, content_type)


@pytest.mark.parametrize("returned,match", [(42, "returned int"), (("a", "b"), "tuple"),
                                            (("a", {"charset": "nope"}), "unknown charset")])
def test_bad_returns_name_the_hook(returned, match):
    with pytest.raises(HookError, match=match) as info:
        encode_response(returned)
    assert info.value.hook == "score_unstructured" and info.value.status == 500


def test_query_keeps_first_value_of_a_repeated_key():
    assert parse_query("a=1&a=2&b=x%20y") == {"a": "1", "b": "x y"}


def test_model_predict_unstructured_passes_the_exact_kwargs(tmp_path):
    folder = write_folder(tmp_path, "u", """
        SEEN = []
        def load_model(code_dir):
            return "m"
        def score_unstructured(model, data, **kwargs):
            SEEN.append((type(data).__name__, dict(kwargs)))
            return data.upper() if isinstance(data, str) else data
    """)
    model = drumnb.load_model(folder, "unstructured")
    res = model.predict_unstructured("é".encode("latin1"), content_type="text/plain; charset=latin1", query="a=1")
    assert res.body == "É".encode("utf-8") and res.content_type == "text/plain; charset=utf-8"
    kind, kwargs = model.hooks.module.SEEN[-1]
    assert kind == "str" and kwargs == {"mimetype": "text/plain", "charset": "latin1", "query": {"a": "1"},
                                        "mlops": None}
    res = model.predict_unstructured(b"\x01", content_type="image/png", headers={"X-A": "1"})
    assert res.body == b"\x01" and res.content_type == "application/octet-stream"
    assert model.hooks.module.SEEN[-1] == ("bytes", {"mimetype": "image/png", "charset": None, "query": {},
                                                     "headers": {"X-A": "1"}, "mlops": None})
