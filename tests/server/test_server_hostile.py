"""Hostile input against real server processes on 127.0.0.1 (issue 13).

Chunked bodies over the limit, tiny bodies declaring huge shapes, damaged
binary payloads, deep JSON, non-finite numbers, secrets on the command line.
Every answer is parsed with a strict JSON parser (no NaN / Infinity), and
after the damaged payloads the server must still be the same process.
"""
from __future__ import annotations

import json
import time

import pandas as pd
import pytest
import requests
from fixtures import write_folder
from server_support import csv_bytes, data, linear_folder, start_server

assert start_server  # a fixture, used by name below

SECRET = "s3cr3t-T0KEN-value"

HOOKS = """
    import numpy as np
    import pandas as pd

    def load_model(code_dir):
        return "model"

    def score(data, model, **kwargs):
        if "boom" in data.columns:
            raise RuntimeError("boom column sent")
        out = pd.DataFrame({"Predictions": data["a"].astype(float)})
        out["extra"] = np.inf * data["a"].astype(float)  # inf, -inf, and NaN for a == 0
        if "inf" in data.columns:
            out["Predictions"] = np.inf
        return out
"""

UNSTRUCTURED = """
    def load_model(code_dir):
        return "model"

    def score_unstructured(model, data, **kwargs):
        return str(len(data))

    def chat(completion_create_params, model):
        return {"id": "c1", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}]}
"""


def _no_constant(name: str):
    raise ValueError(f"not JSON: {name}")


def strict(resp: requests.Response):
    """The answer's JSON, read by a parser that refuses NaN and Infinity."""
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
    return json.loads(resp.content, parse_constant=_no_constant)


def chunked(url: str, total: int, *, head: bytes = b"a,b,c\n", row: bytes = b"1.0,2.0,3.0\n",
            content_type: str = "text/csv") -> requests.Response:
    """POST ``head`` and whole rows, :func:`rows_of` ``total`` of them, with ``Transfer-Encoding: chunked``."""
    per_block = max(1, 16384 // len(row))

    def body():
        yield head
        left = rows_of(total, head, row)
        while left:
            yield row * min(per_block, left)
            left -= min(per_block, left)

    return requests.post(url, data=body(), headers={"Content-Type": content_type}, timeout=60)


def rows_of(total: int, head: bytes = b"a,b,c\n", row: bytes = b"1.0,2.0,3.0\n") -> int:
    """How many whole rows fit in ``total`` bytes after ``head``."""
    return (total - len(head)) // len(row)


@pytest.fixture(scope="module")
def threaded(start_server, tmp_path_factory):
    """A scikit-learn model, one threaded process, default limits but a 16 MB body."""
    folder = linear_folder(tmp_path_factory.mktemp("threaded"))
    return start_server(["-cd", str(folder), "--target-type", "regression", "--max-request-size", "16MB"])


@pytest.fixture(scope="module")
def gunicorn(start_server, tmp_path_factory):
    """Hooks (non-finite outputs), gunicorn, small limits, and a secret on the command line."""
    folder = write_folder(tmp_path_factory.mktemp("gunicorn"), "hooks", HOOKS)
    return start_server(["-cd", str(folder), "--target-type", "regression", "--max-workers", "1",
                         "--max-request-size", "200000", "--max-columns", "1000", "--api-token", SECRET,
                         "--logging-level", "info"])


@pytest.fixture(scope="module")
def unstructured(start_server, tmp_path_factory):
    folder = write_folder(tmp_path_factory.mktemp("unstructured"), "u", UNSTRUCTURED)
    return start_server(["-cd", str(folder), "--target-type", "unstructured", "--max-request-size", "100000"])


# --- chunked bodies: bounded whatever the transfer encoding ----------------------------------------

@pytest.mark.parametrize("server_name,limit", [("threaded", 16_000_000), ("gunicorn", 200_000)])
def test_chunked_body_over_the_limit_is_413_and_under_it_is_scored_whole(request, server_name, limit):
    server = request.getfixturevalue(server_name)
    over = chunked(server.url + "/predict/", limit + 50_000)
    assert over.status_code == 413
    body = strict(over)
    assert f"{limit} bytes" in body["message"] and "--max-request-size" in body["hint"]
    size = limit - 10_000
    under = chunked(server.url + "/predict/", size)
    assert under.status_code == 200, under.text[:300]
    assert len(strict(under)["predictions"]) == rows_of(size)  # every row sent, none cut off


@pytest.mark.parametrize("route", ["/predictUnstructured/", "/predictionsUnstructured/"])
def test_chunked_body_over_the_limit_is_413_on_unstructured_routes(unstructured, route):
    raw = {"head": b"", "row": b"x" * 100, "content_type": "application/octet-stream"}
    over = chunked(unstructured.url + route, 150_000, **raw)
    assert over.status_code == 413 and "100000 bytes" in strict(over)["message"]
    under = chunked(unstructured.url + route, 90_000, **raw)
    assert under.status_code == 200 and under.text == "90000"  # the hook got every byte


# --- tiny bodies declaring huge shapes: refused before parsing, in well under a second -------------

def _timed_post(url: str, body: bytes, content_type: str) -> tuple[requests.Response, float]:
    started = time.perf_counter()
    resp = requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=60)
    return resp, time.perf_counter() - started


def test_64_byte_matrix_market_declaring_2_million_columns_is_refused_at_once(threaded):
    body = b"%%MatrixMarket matrix coordinate real general\n1 2000000 1\n1 1 1\n"
    assert len(body) <= 64
    resp, seconds = _timed_post(threaded.url + "/predict/", body, "text/mtx")
    assert resp.status_code == 413 and seconds < 1.0, (resp.status_code, seconds)
    message = strict(resp)["message"]
    assert "2,000,000 columns" in message and "100,000" in message and "--max-columns" in message


def test_matrix_market_declaring_more_entries_than_it_holds_is_422_at_once(threaded):
    body = b"%%MatrixMarket matrix coordinate real general\n3 3 1000000000\n1 1 1\n"
    resp, seconds = _timed_post(threaded.url + "/predict/", body, "text/mtx")
    assert resp.status_code == 422 and seconds < 1.0
    assert "1,000,000,000 entries" in strict(resp)["message"]


def test_csv_with_a_million_columns_is_refused_at_once(threaded):
    header = ",".join(f"c{i}" for i in range(1_000_000)).encode() + b"\n"
    resp, seconds = _timed_post(threaded.url + "/predict/", header + b"1\n", "text/csv")
    assert resp.status_code == 413 and seconds < 1.0, (resp.status_code, seconds)
    assert "1,000,000 columns" in strict(resp)["message"] and "--max-columns" in strict(resp)["hint"]


@pytest.mark.parametrize("header", [
    ",".join(["a"] * 1_900_000),  # 3.8 MB: small enough for the fast path of plain scikit-learn models
    ",".join(f"c{i // 2}" for i in range(100_000)),  # within --max-columns, but pandas renames 50,000 repeats
], ids=["1.9M-columns-fast-path", "50k-repeated-names"])
def test_csv_headers_that_cost_minutes_to_parse_are_refused_at_once(threaded, header):
    body = header.encode() + b"\n" + b"1" * 10 + b"\n"
    resp, seconds = _timed_post(threaded.url + "/predict/", body, "text/csv")
    assert resp.status_code in (413, 422) and seconds < 1.0, (resp.status_code, seconds, resp.text[:200])
    assert "columns" in strict(resp)["message"]


def test_max_columns_flag_is_applied(gunicorn):
    wide = pd.DataFrame([[1.0] * 1001], columns=["a"] + [f"x{i}" for i in range(1000)])
    resp = gunicorn.post("/predict/", data=csv_bytes(wide), headers={"Content-Type": "text/csv"})
    assert resp.status_code == 413 and "at most 1,000" in strict(resp)["message"]
    ok = gunicorn.post("/predict/", data=csv_bytes(wide.iloc[:, :1000]), headers={"Content-Type": "text/csv"})
    assert ok.status_code == 200


def test_parquet_declaring_more_cells_than_allowed_is_413(threaded):
    many = pd.DataFrame({"a": [0.0] * 3_000_000, "b": 0.0, "c": 0.0, "d": 0.0, "e": 0.0, "f": 0.0})
    body = many.to_parquet(index=False)  # compresses to a few kB; 18 million cells
    resp, seconds = _timed_post(threaded.url + "/predict/", body, "application/vnd.apache.parquet")
    assert resp.status_code == 413 and seconds < 1.0
    assert "--max-cells" in strict(resp)["message"]


ARROW = "application/vnd.apache.arrow.stream"


def _ipc(table, **options) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema, options=pa.ipc.IpcWriteOptions(**options)) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def test_compressed_arrow_and_parquet_declaring_too_many_values_are_refused_before_inflating(threaded):
    import io

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = pa.table({c: np.zeros(20_000_000) for c in "abcdef"})  # 960 MB of floats, about 30 kB compressed
    nested = pa.table({"a": pa.array([np.zeros(20_000_000)], type=pa.list_(pa.float64()))})  # one row
    parquet = io.BytesIO()
    pq.write_table(nested, parquet, compression="zstd")
    for body, content_type in ((_ipc(flat, compression="zstd"), ARROW), (_ipc(nested, compression="zstd"), ARROW),
                               (parquet.getvalue(), "application/vnd.apache.parquet")):
        assert len(body) < 100_000
        resp, seconds = _timed_post(threaded.url + "/predict/", body, content_type)
        assert resp.status_code == 413 and seconds < 1.0, (resp.status_code, seconds, resp.text[:200])
        assert "--max-cells" in strict(resp)["message"]


def _arrow_with_bad_offsets() -> bytes:
    """A string column whose last offset points 2 GB past its data: pyarrow's to_pandas read out of bounds."""
    import pyarrow as pa

    body = _ipc(pa.table({"s": pa.array(["x", "y"])}))
    offsets = body.rindex(b"\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00")
    return body[:offsets + 8] + b"\x00\xff\xff\x7f" + body[offsets + 12:]


# --- damaged payloads: a 4xx JSON answer, and the same process keeps serving -----------------------

DAMAGED = {
    "arrow-8-bytes": (b"\x88u4\xa2\x0f\x0b\r\x04", ARROW),  # pyarrow raised OSError: was a 500
    "arrow-8-bytes-truncated": (b"\xff\xff\xff\xff\x10\x00\x00\x00", ARROW),
    "arrow-file-magic": (b"ARROW1\x00\x00", ARROW),
    "arrow-garbage": (b"garbage!", ARROW),
    "arrow-bad-string-offsets": (_arrow_with_bad_offsets(), ARROW),  # was SIGSEGV
    "parquet-garbage": (b"PAR1garbagePAR1", "application/vnd.apache.parquet"),
    # scipy's Matrix Market reader killed the process (SIGSEGV / SIGFPE) on these two
    "mtx-no-final-newline": (b"%%MatrixMarket matrix coordinate real general\n2 3 1\n1 1 1x", "text/mtx"),
    "mtx-array-of-no-rows": (b"%%MatrixMarket matrix array real general\n0 2\n1e5 inf\n1.5", "text/mtx"),
    "mtx-index-out-of-range": (b"%%MatrixMarket matrix coordinate real general\n2 3 1\n9 1 1\n", "text/mtx"),
    "mtx-no-banner": (b"1 2 3\n", "text/mtx"),
    "csv-not-utf8": (b"a,b,c\n\xff\xfe,1,2\n", "text/csv"),
}


MULTIPART = {
    "multipart-no-boundary": (b"--x\r\nContent-Disposition: form-data; name=\"X\"\r\n\r\na\n1\n--x--\r\n",
                              "multipart/form-data"),
    "multipart-wrong-boundary": (b"--y\r\nContent-Disposition: form-data; name=\"X\"\r\n\r\na\n1\n--y--\r\n",
                                 "multipart/form-data; boundary=x"),
    "multipart-truncated": (b"--x\r\nContent-Disposition: form-data; name=\"X\"; filename=\"a.csv\"\r\n\r\na,b",
                            "multipart/form-data; boundary=x"),
    "multipart-garbage-headers": (b"--x\r\n\x00\x01\x02\r\n\r\n\r\n--x--\r\n", "multipart/form-data; boundary=x"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED) + sorted(MULTIPART))
def test_damaged_payloads_are_4xx_json_and_the_server_survives(threaded, case):
    body, content_type = {**DAMAGED, **MULTIPART}[case]
    resp = threaded.post("/predict/", data=body, headers={"Content-Type": content_type})
    assert 400 <= resp.status_code < 500, (resp.status_code, resp.text[:300])
    assert strict(resp)["message"].startswith("ERROR: ")
    assert threaded.proc.poll() is None and threaded.get("/ping/").status_code == 200


@pytest.mark.parametrize("charset", ["zlib", "bz2", "base64", "rot13", "uu"])
def test_unstructured_charset_must_be_a_text_encoding(unstructured, charset):
    import zlib

    bomb = zlib.compress(b"\0" * 50_000_000, 9)  # 50 MB once inflated; about 50 kB sent
    resp = unstructured.post("/predictUnstructured/", data=bomb,
                             headers={"Content-Type": f"text/plain; charset={charset}"})
    assert resp.status_code == 400 and "unknown charset" in strict(resp)["message"]


@pytest.mark.parametrize("route", ["/chat/completions", "/v1/chat/completions"])
def test_deeply_nested_json_on_chat_routes_is_400(unstructured, route):
    deep = b"[" * 40_000 + b"]" * 40_000  # within --max-request-size; far deeper than Python's recursion limit
    resp = unstructured.post(route, data=deep, headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text[:300]
    assert "nested too deeply" in strict(resp)["error"]["message"]  # OpenAI's error shape
    fine = unstructured.post(route, json={"messages": [{"role": "user", "content": "hi"}]})
    assert fine.status_code == 200 and strict(fine)["choices"][0]["message"]["content"] == "ok"


# --- never invalid JSON out -----------------------------------------------------------------------

def test_infinite_predictions_are_a_contract_error_in_strict_json(gunicorn):
    frame = data(3).assign(inf=1.0)
    resp = gunicorn.post("/predict/", data=csv_bytes(frame), headers={"Content-Type": "text/csv"})
    assert resp.status_code == 500
    assert "NaN or infinity" in strict(resp)["message"]


def test_non_finite_extra_model_output_is_null(gunicorn):
    frame = pd.DataFrame({"a": [1.5, 0.0, -2.0], "b": 0.0, "c": 0.0})
    resp = gunicorn.post("/predict/", data=csv_bytes(frame), headers={"Content-Type": "text/csv"})
    assert resp.status_code == 200
    body = strict(resp)
    assert body["predictions"] == [1.5, 0.0, -2.0]
    assert body["extraModelOutput"]["data"] == [[None], [None], [None]]  # inf, NaN, -inf


# --- secrets --------------------------------------------------------------------------------------

def test_no_secret_in_stats_info_error_bodies_or_the_log(gunicorn):
    stats = gunicorn.get("/stats/")
    cmdlines = [proc["cmdline"] for proc in strict(stats)["drum_info"]]
    assert len(cmdlines) >= 2  # the gunicorn master and its worker
    assert SECRET not in stats.text and any("***" in line for line in cmdlines)
    assert any("--api-token" in line for line in cmdlines)  # the flag stays, its value does not
    info = gunicorn.get("/info/")
    assert info.status_code == 200 and SECRET not in info.text
    failed = gunicorn.post("/predict/", data=csv_bytes(data(2).assign(boom=1.0)),
                           headers={"Content-Type": "text/csv"})
    body = strict(failed)
    assert failed.status_code == 500 and body["file"] == "custom.py" and body["hook"] == "score"
    folder = strict(info)["codeDir"]
    assert SECRET not in failed.text and folder not in json.dumps({k: v for k, v in body.items()})
    assert SECRET not in gunicorn.output()


def test_redact_hides_values_of_secret_flags_and_runtime_parameters():
    from drumnb.server.stats import redact

    line = ["drumnb", "server", "--api-token", "t1", "--api-key=k1", "MLOPS_RUNTIME_PARAM_DB_PASS=p1",
            "--client-secret", "c1", "--code-dir", "model", "--monitor", "API_TOKEN=t2", "--credentials=x"]
    shown = " ".join(redact(line))
    assert not any(secret in shown for secret in ("t1", "k1", "p1", "c1", "t2", "=x"))
    assert "--code-dir model --monitor" in shown and "MLOPS_RUNTIME_PARAM_DB_PASS=***" in shown
