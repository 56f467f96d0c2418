"""Unstructured batch mode: `drumnb score --target-type unstructured`, the server's rules with DRUM 1.18.1's batch
differences (observed): a repeated query key keeps its last value, no content type reads charset ``utf8``, bytes
without a charset get no charset key, and no ``mlops`` / ``headers`` kwargs."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli
from drumnb.cli import main
from fixtures import UNSTRUCTURED_DECODING, write_folder

HOOK = """
import json
def load_model(code_dir):
    return "m"
def score_unstructured(model, data, **kwargs):
    assert "mlops" not in kwargs and "headers" not in kwargs  # batch mode passes neither (DRUM)
    seen = {"type": type(data).__name__, "kwargs": dict(kwargs),
            "text": data if isinstance(data, str) else data.hex()}
    with open(kwargs["query"]["log"], "w") as fh:
        json.dump(seen, fh)
    kind = kwargs["query"].get("ret", "str")
    if kind == "str":
        return "é" + (data if isinstance(data, str) else "")
    if kind == "bytes":
        return b"\\x00\\xff"
    if kind == "tuple-mimetype":
        return "é", {"mimetype": "text/html"}
    if kind == "tuple-charset":
        return "é", {"charset": "latin1"}
    if kind == "tuple-none":
        return "é", None
    return None
"""

# Batch mode gives a body without a Content-Type the charset core.unstructured.BATCH_CHARSET; the rest as the server
CONTENT = [(None, "héllo".encode(), "str", "text/plain", "utf8"), *UNSTRUCTURED_DECODING[1:]]
RETURNS = {"str": lambda data: ("é" + data).encode(), "bytes": lambda data: b"\x00\xff",
           "tuple-mimetype": lambda data: "é".encode(), "tuple-charset": lambda data: "é".encode("latin1"),
           "tuple-none": lambda data: "é".encode(), "none": lambda data: b""}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("u"), "u", HOOK)


@pytest.mark.parametrize("ret", sorted(RETURNS))
@pytest.mark.parametrize("content_type,body,kind,mimetype,charset", CONTENT)
def test_batch_matrix(folder, tmp_path, content_type, body, kind, mimetype, charset, ret):
    (tmp_path / "in").write_bytes(body)
    log = tmp_path / "seen.json"
    args = ["score", "-cd", str(folder), "--target-type", "unstructured", "--input", str(tmp_path / "in"),
            "--output", str(tmp_path / "out"), "--query", f"log={log}&ret=ignored&ret={ret}"]
    if content_type is not None:
        args += ["--content-type", content_type]
    assert main(args) == 0
    seen = json.loads(log.read_text())
    assert seen["type"] == kind
    expected = {"mimetype": mimetype, "charset": charset, "query": {"log": str(log), "ret": ret}}  # the last "ret"
    if charset is None:
        del expected["charset"]
    assert seen["kwargs"] == expected
    data = body.decode(charset) if kind == "str" else ""
    assert (tmp_path / "out").read_bytes() == RETURNS[ret](data)


def test_batch_to_stdout_and_errors(folder, tmp_path):
    (tmp_path / "in").write_bytes(b"caf\xe9")
    log = tmp_path / "seen.json"
    proc = run_cli("score", "-cd", str(folder), "--target-type", "unstructured", "--input", str(tmp_path / "in"),
                   "--content-type", "text/plain; charset=latin1", "--query", f"log={log}")
    assert proc.returncode == 0 and proc.stdout == "écafé".encode()
    proc = run_cli("score", "-cd", str(folder), "--target-type", "unstructured", "--input", str(tmp_path / "in"),
                   "--query", f"log={log}")
    assert proc.returncode == 1
    assert b"does not decode as utf8: byte 3" in proc.stderr and b"Traceback" not in proc.stderr
    proc = run_cli("score", "-cd", str(folder), "--target-type", "unstructured", "--input", str(tmp_path / "in"),
                   "--content-type", "text/plain; charset=klingon")
    assert proc.returncode == 1 and b"unknown charset 'klingon'" in proc.stderr


def test_bad_hook_return_names_the_hook_and_type(tmp_path):
    folder = write_folder(tmp_path, "bad", """
        def load_model(code_dir):
            return "m"
        def score_unstructured(model, data, **kwargs):
            return {"not": "allowed"}
    """)
    (tmp_path / "in").write_bytes(b"x")
    proc = run_cli("score", "-cd", str(folder), "--target-type", "unstructured", "--input", str(tmp_path / "in"))
    assert proc.returncode == 1
    assert b"'score_unstructured' hook failed: returned dict" in proc.stderr


def test_a_none_answer_is_an_empty_output_with_a_note(folder, tmp_path):
    (tmp_path / "in").write_bytes(b"x")
    log = tmp_path / "seen.json"
    proc = run_cli("score", "-cd", str(folder), "--target-type", "unstructured", "--input", str(tmp_path / "in"),
                   "--output", str(tmp_path / "out"), "--query", f"log={log}&ret=none")
    assert proc.returncode == 0 and (tmp_path / "out").read_bytes() == b""
    assert b"returned None: the output is empty" in proc.stderr
