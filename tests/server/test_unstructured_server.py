"""The unstructured routes on a real server: every content type x every kind of hook return."""
from __future__ import annotations

import json

import pytest
import requests

from drumnb.server.background import serve
from fixtures import UNSTRUCTURED_DECODING, write_folder

HOOK = """
import json
def load_model(code_dir):
    return "m"
def score_unstructured(model, data, **kwargs):
    seen = {"type": type(data).__name__, "mimetype": kwargs["mimetype"], "charset": kwargs["charset"],
            "query": kwargs["query"], "has_headers": isinstance(kwargs.get("headers"), dict),
            "mlops": kwargs["mlops"] is not None}
    kind = kwargs["query"].get("ret", "str")
    if kind == "seen":
        return json.dumps(seen), {"mimetype": "application/json"}
    if kind == "str":
        return "é" + (data if isinstance(data, str) else "")
    if kind == "bytes":
        return b"\\x00\\xff"
    if kind == "tuple-mimetype":
        return "é", {"mimetype": "text/html"}
    if kind == "tuple-charset":
        return "é", {"charset": "latin1"}
    if kind == "bad":
        return 42
    return None
"""
CONTENT = UNSTRUCTURED_DECODING
RETURNS = {"str": (lambda d: ("é" + d).encode(), "text/plain; charset=utf-8"),
           "bytes": (lambda d: b"\x00\xff", "application/octet-stream"),
           "tuple-mimetype": (lambda d: "é".encode(), "text/html; charset=utf-8"),
           "tuple-charset": (lambda d: "é".encode("latin1"), "text/plain; charset=latin1"),
           "none": (lambda d: b"", None)}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = write_folder(tmp_path_factory.mktemp("u"), "u", HOOK)
    with serve(str(folder), "unstructured") as srv:
        yield srv


def post(server, body, content_type, query, route="/predictUnstructured/"):
    headers = {} if content_type is None else {"Content-Type": content_type}
    return requests.post(server.url + route + "?" + query, data=body, headers=headers, timeout=30)


@pytest.mark.parametrize("content_type,body,kind,mimetype,charset", CONTENT)
def test_what_the_hook_sees(server, content_type, body, kind, mimetype, charset):
    r = post(server, body, content_type, "ret=seen&ret=other&x=1")
    assert r.status_code == 200, r.text
    assert r.json() == {"type": kind, "mimetype": mimetype, "charset": charset, "query": {"ret": "seen", "x": "1"},
                        "has_headers": True, "mlops": False}


@pytest.mark.parametrize("ret", sorted(RETURNS))
@pytest.mark.parametrize("content_type,body,kind,mimetype,charset", CONTENT)
def test_response_body_and_content_type(server, content_type, body, kind, mimetype, charset, ret):
    r = post(server, body, content_type, f"ret={ret}", route="/predictionsUnstructured")
    make, ctype = RETURNS[ret]
    assert r.status_code == 200
    assert r.content == make(body.decode(charset) if kind == "str" else "")
    if ctype is not None:
        assert r.headers["Content-Type"] == ctype


def test_errors_are_400_and_500_and_the_server_keeps_serving(server):
    r = post(server, b"caf\xe9", "text/plain", "ret=str")
    assert r.status_code == 400 and "does not decode as utf-8: byte 3" in r.json()["message"]
    r = post(server, b"x", "text/plain; charset=klingon", "ret=str")
    assert r.status_code == 400 and "unknown charset" in r.json()["message"]
    r = post(server, b"x", "text/plain", "ret=bad")
    assert r.status_code == 500 and "'score_unstructured' hook failed: returned int" in r.json()["message"]
    assert post(server, b"ok", "text/plain", "ret=str").content == "éok".encode()


def test_mlops_reporter_in_server_mode(tmp_path):
    from drumnb import monitoring
    from drumnb.monitoring import MonitorSettings

    folder = write_folder(tmp_path, "m", """
        def load_model(code_dir):
            return "m"
        def score_unstructured(model, data, **kwargs):
            kwargs["mlops"].report_deployment_stats(num_predictions=1, execution_time=2.0)
            return "ok"
    """)
    db = str(tmp_path / "mon.sqlite")
    env = {"MLOPS_REPORTING_FROM_UNSTRUCTURED_MODELS": "true", "DRUMNB_MONITOR_DB": db}
    with serve(str(folder), "unstructured", process=True, env=env) as srv:
        for _ in range(3):
            assert requests.post(srv.url + "/predictUnstructured/", data=b"x").text == "ok"
    assert monitoring.open(db).stats["num_predictions"].tolist() == [1, 1, 1]
