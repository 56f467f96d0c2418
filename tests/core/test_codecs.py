"""drumnb.core.codecs: the registry, and differential tests of the CSV fast paths.

The CSV reader promises exactly ``pd.read_csv(io.BytesIO(data))``; the writer
exactly ``df.to_csv(index=False).encode()``.  Every case below is checked
against pandas itself, for the public functions and for the pyarrow path
(``_read_csv_arrow``, which must return either pandas' frame or ``None``).
"""
from __future__ import annotations

import io
import os
import random
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from drumnb.core import codecs
from drumnb.core.errors import InputError


@pytest.fixture
def arrow_first(monkeypatch):
    """Make the public reader try pyarrow first, whatever the payload's size and the CPUs."""
    monkeypatch.setattr(codecs, "ARROW_CSV_MIN_BYTES", 0)
    monkeypatch.setattr(codecs, "ARROW_CSV_MIN_CPUS", 0)


def pandas_read(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data))


def assert_identical(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Equal frames, down to dtypes, the index type and the sign of zeros."""
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_column_type=True,
                                  check_index_type=True)
    assert type(got.index) is type(want.index)
    assert got.columns.dtype == want.columns.dtype
    for name in want.columns[want.dtypes == np.float64]:
        np.testing.assert_array_equal(np.signbit(got[name].to_numpy()), np.signbit(want[name].to_numpy()))


def check_csv(data: bytes) -> pd.DataFrame | None:
    """Both read paths equal pandas; returns the pyarrow path's result (None: fell back)."""
    want = pandas_read(data)
    assert_identical(codecs.read_csv(data), want)
    fast = codecs._read_csv_arrow(data)
    if fast is not None:
        assert_identical(fast, want)
    return fast


def random_floats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Floats whose shortest repr is long, tiny, huge, subnormal, negative zero, whole..."""
    return np.concatenate([
        rng.random(n), rng.normal(size=n) * 1e6, 10.0 ** rng.uniform(-320, 308, n) * rng.choice([-1, 1], n),
        rng.integers(-1000, 1000, n).astype(float), np.nextafter(rng.random(n), 1),
        [0.1, 0.2, 0.30000000000000004, 1 / 3, 2 / 3, 1e-05, 1e-4, 1e15, 1e16, 1e22, 1e23, -0.0, 0.0,
         5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 9007199254740993.0, 123456789012345678.0],
    ])


def numbers_csv(rows: int = 3000, seed: int = 0, huge: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    floats = random_floats(rng, rows)
    if not huge:  # magnitudes of 2**63 and more send the pyarrow path to pandas
        floats = floats[np.abs(floats) < 2.0 ** 63]
    return pd.DataFrame({"pred (kg/m)": floats, "n": np.arange(len(floats)) - 7,
                         "p": rng.random(len(floats))}).to_csv(index=False).encode()


# Each case: (csv bytes, whether the pyarrow path must accept it).
CORPUS: dict[str, tuple[bytes, bool]] = {
    "ints": (b"a,b\n1,2\n3,-4\n", True),
    "floats": (b"a,b\n1.5,2\n3,-4.25\n", True),
    "random floats": (numbers_csv(), True),
    "random floats, some huge": (numbers_csv(huge=True), False),
    "exponents": (b"x\n1e5\n1E5\n1e+05\n1.e5\n-1e-05\n.5\n-.5\n1.\n", True),
    "bom": (b"\xef\xbb\xbfa,b\n1,2\n", True),
    "bom quoted header": (b'\xef\xbb\xbf"a",b\n1,2\n', True),
    "quoted numbers": (b'a,b\n"1","2.5"\n" 3",4\n', True),
    "na strings": (b"a,b,c,d,e,f,g\n1,nan,NA,null,None,#N/A,\n2,3,4,5,6,7,8\n", True),
    "more na strings": (b"a,b,c,d\n1,NaN,-nan,N/A\nNULL,<NA>,1.#IND,n/a\n1,2,3,4\n", True),
    "quoted na": (b'a\n1\n"NA"\n""\n', True),
    "ints with missing": (b"a,b\n1,\n,2\n9007199254740993,3\n", True),
    "all missing column": (b"a,b\n1,\n2,\n", True),
    "empty row": (b"a,b\n1,2\n,\n3,4\n", True),
    "leading zeros and -0": (b"a,b\n007,-0\n-01,-0.0\n", True),
    "int64 limits": (b"a\n9223372036854775807\n-9223372036854775808\n", True),
    "spaces around numbers": (b"a,b\n 1 ,\t2\n3, 4.5 \n", True),
    "crlf": (b"a,b\r\n1,2\r\n3,4\r\n", True),
    "cr only": (b"a,b\r1,2\r3,4\r", True),
    "blank lines": (b"\na,b\n\n1,2\n\n\n3,4\n\n", True),
    "no final newline": (b"a,b\n1,2", True),
    "single column": (b"Predictions\n0.1\n0.25\n1e-05\n", True),
    "unicode and odd names": ("größe,名前 (kg/m),a/b, c ,NA,1\n1,2,3,4,5,6\n".encode(), True),
    "column named like na": (b"nan,None\n1,2\n", True),
    "quoted newline in text": (b'a,b\n"x\ny",1\n', False),
    "inf spellings": (b"a\ninf\n-inf\nInfinity\n-Infinity\n+inf\nINF\n", False),
    "infinite by overflow": (b"a\n1e400\n1.5\n", False),
    "nan spellings pandas keeps": (b"a\n1.5\nNAN\n", False),
    "nan variants": (b"a\n1.5\nNan\n+nan\n+NaN\nnan(1)\n", False),
    "space before inf": (b"a\n1.5\n inf\n", False),
    "space before nan": (b"a\n1.5\n nan\n", False),
    "leading plus": (b"a\n+1\n2\n", False),
    "leading plus with spaces": (b"a,b\n\t+8 ,1\n2,2\n", False),
    "plus in exponent, whole numbers": (b"a,b\n1e+2,1\n3,2\n", False),
    "hex": (b"a\n0x10\n0XA\n1\n", False),
    "hex after a CR header": (b"a\r0x1\n2\n", False),
    "leading plus after a CR header": (b"a\r+1\n2\n", False),
    "uint64": (b"a\n1\n9223372036854775808\n", False),
    "beyond uint64": (b"a\n18446744073709551616\n", False),
    "below int64": (b"a\n-9223372036854775809\n", False),
    "big int with missing": (b"a,b\n9223372036854775808,1\n,2\n", False),
    "big int among floats": (b"a\n1.5\n9223372036854775808\n", False),
    "int beyond uint64 before floats": (b"a\n18446744073709551616\nNA\n1.5\n", False),
    "huge fixed-notation floats": (b"a\n47228740881057314785404277104788722667192711797788377088.5\n1.5\n", False),
    "booleans": (b"a,b,c\nTrue,true,TRUE\nFalse,false,FALSE\n", False),
    "ints and booleans": (b"a\n1\nTrue\n", False),
    "dates": (b"d,x\n2020-01-01,1\n2021-12-31,2\n", False),
    "times": (b"t,x\n12:30:00,1\n", False),
    "duplicate headers": (b"a,a,a.1\n1,2,3\n", False),
    "empty header": (b",a\n1,2\n", False),
    "whitespace header": (b"  ,a\n1,2\n", False),
    "whitespace-only first line": (b"  \n1\n2\n", False),
    "tab-only first line, CR": (b"\t\r1\r", False),
    "trailing comma": (b"a,b,\n1,2,\n", False),
    "row longer than header": (b"a,b\n1,2,3\n4,5,6\n", False),
    "row shorter than header": (b"a,b,c\n1,2\n3,4,5\n", False),
    "whitespace-only line": (b"a\n1\n   \n3\n", False),
    "whitespace-only line, two columns": (b"a,b\n1,2\n \t\n3,4\n", False),
    "vertical tab": (b"a\n\x0b1\n", False),
    "header only": (b"a,b\n", False),
    "header only, no newline": (b"a,b", False),
    "text": (b"name,x\nalice,1\nbob,2\n", False),
    "numbers with thousands separator": (b'a\n"1,000"\n', False),
    "nul byte": (b"a,b\n1\x00,2\n", False),
    "non-breaking space": ("a\n\xa01\n".encode(), False),
    "semicolons": (b"a;b\n1;2\n", False),
}


@pytest.mark.parametrize("name", CORPUS)
def test_read_csv_equals_pandas(name):
    data, accepted = CORPUS[name]
    fast = check_csv(data)
    assert (fast is not None) == accepted, "the pyarrow path took a trap case or fell back needlessly"


@pytest.mark.parametrize("name", CORPUS)
def test_read_csv_through_pyarrow_path(name, arrow_first):
    """The public function, trying pyarrow first."""
    assert_identical(codecs.read_csv(CORPUS[name][0]), pandas_read(CORPUS[name][0]))


def raw_arrow(data: bytes) -> pd.DataFrame:
    import pyarrow.csv as pcsv
    from pandas._libs.parsers import STR_NA_VALUES

    return pcsv.read_csv(io.BytesIO(data), convert_options=pcsv.ConvertOptions(
        null_values=sorted(STR_NA_VALUES), strings_can_be_null=True, quoted_strings_can_be_null=True)).to_pandas()


@pytest.mark.parametrize("name", ["leading plus", "hex", "nan spellings pandas keeps", "space before inf",
                                  "uint64", "below int64", "big int with missing", "duplicate headers",
                                  "empty header", "all missing column", "whitespace-only first line",
                                  "int beyond uint64 before floats"])
def test_traps_are_real(name):
    """Unguarded, pyarrow (given pandas' NA strings) returns a frame that differs from pandas'."""
    with pytest.raises(AssertionError):
        assert_identical(raw_arrow(CORPUS[name][0]), pandas_read(CORPUS[name][0]))


@pytest.mark.parametrize("seed", range(40))
def test_random_numeric_csv(seed):
    """Generated numeric CSVs (seeded): numbers in many spellings, NA cells, quoting, spacing."""
    rnd = random.Random(seed)
    na = ["", "NA", "nan", "NaN", "null", "None", "#N/A", "N/A", "NULL", "-nan", "<NA>"]

    def cell(kind: str) -> str:
        if rnd.random() < 0.05:
            return rnd.choice(na)
        x = rnd.choice([rnd.random(), rnd.uniform(-1e6, 1e6), 10.0 ** rnd.uniform(-310, 308), 0.0, -0.0])
        text = {
            "int": lambda: str(rnd.randint(-10 ** rnd.randint(1, 18), 10 ** rnd.randint(1, 18))),
            "repr": lambda: repr(x),
            "fixed": lambda: f"{x:.{rnd.randint(0, 25)}f}",
            "sci": lambda: f"{x:.{rnd.randint(0, 25)}e}".replace("e", rnd.choice("eE")),
            "digits": lambda: "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 30)))
            + "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(0, 30))),
            "mixed": lambda: rnd.choice([str(rnd.randint(-99, 99)), repr(x), "1e5", ".5", "-1.", "+2", "inf"]),
        }[kind]()
        if rnd.random() < 0.03:
            text = f'"{text}"'
        if rnd.random() < 0.03:
            text = f" {text}\t"
        return text

    kinds = [rnd.choice(["int", "repr", "fixed", "sci", "digits", "mixed"]) for _ in range(rnd.randint(1, 6))]
    rows = [",".join(cell(k) for k in kinds) for _ in range(rnd.randint(1, 400))]
    eol = rnd.choice(["\n", "\r\n"])
    data = (",".join(f"c{i}" for i in range(len(kinds))) + eol + eol.join(rows) + eol).encode()
    check_csv(data)


def test_csv_across_pyarrow_blocks(monkeypatch, arrow_first):
    """Many pyarrow blocks; a value in the last one changes a column's type or is a trap."""
    monkeypatch.setattr(codecs, "ARROW_CSV_BLOCK_BYTES", 1 << 15)
    rng = np.random.default_rng(7)
    n = 20_000
    floats = random_floats(rng, n // 5)
    floats = floats[np.abs(floats) < 2.0 ** 63]
    df = pd.DataFrame({"f": floats, "i": rng.integers(-10 ** 12, 10 ** 12, len(floats)),
                       "late": np.ones(len(floats), dtype=np.int64)})
    text = df.to_csv(index=False)
    assert len(text) > 10 * (1 << 15)
    assert check_csv(text.encode()) is not None
    for tail, accepted in [("0.5,1,2.5\n", True), ("0.5,1,+3\n", False), ("0.5,1,x\n", False),
                           ("0.5,1,\n", True), ("0.5,9223372036854775808,1\n", False)]:
        assert (check_csv((text + tail).encode()) is not None) == accepted, tail
    assert_identical(codecs.read_csv(text.encode()), pandas_read(text.encode()))


# --------------------------------------------------------------------------- CSV errors

@pytest.mark.parametrize("arrow", [False, True])
@pytest.mark.parametrize("data, words", [
    (b"", ["empty", "0 bytes"]),
    (b"\n\n  \n", ["empty", "blank"]),
    (b"\xff\xfe\x00\x01\x89PNG garbage", ["UTF-8", "byte 0", "line 1"]),
    (b"a,b\n1,2\n3,\xe9\n", ["UTF-8", "byte 10", "line 3"]),
    ("é,b\n1,2\n".encode("latin-1"), ["UTF-8", "byte 0"]),
    (b"a,b\n1,2\n3,4,5\n", ["line 3"]),
    (b'a,b\n1,"2\n', ["EOF inside string"]),
])
def test_unreadable_csv(data, words, arrow, request):
    if arrow:
        request.getfixturevalue("arrow_first")
    with pytest.raises(InputError) as info:
        codecs.read_csv(data)
    assert info.value.status == 422 and info.value.hint
    for word in words:
        assert word in info.value.message


# --------------------------------------------------------------------------- CSV writing

def frames():
    rng = np.random.default_rng(3)
    floats = random_floats(rng, 2000)
    specials = np.array([1e-05, 1e16, -0.0, np.nan, np.inf, -np.inf, 0.1, 1.0, 100.0, 5e-324, 1e-4, 12345.678])
    yield "random floats", pd.DataFrame({"Predictions": floats})
    yield "specials, one column", pd.DataFrame({"Predictions": specials})
    yield "specials, two columns", pd.DataFrame({"a": specials, "b": specials[::-1]})
    yield "all nan", pd.DataFrame({"a": [np.nan, np.nan], "b": [np.nan, np.nan]})
    yield "all nan, one column", pd.DataFrame({"a": [np.nan, np.nan]})
    yield "ints and bools", pd.DataFrame({"i": [1, -2, 2 ** 62], "u": np.array([0, 1, 2 ** 64 - 1], dtype=np.uint64),
                                          "i32": np.array([1, 2, 3], dtype=np.int32), "b": [True, False, True]})
    yield "mixed", pd.DataFrame({"x": floats[:7], "n": np.arange(7), "y": np.full(7, np.nan)})
    yield "names needing quotes", pd.DataFrame(np.arange(9.0).reshape(1, 9), columns=[
        "a,b", 'say "hi"', "line\nbreak", "cr\rhere", "", " padded ", "größe", "tab\there", "(kg/m)"])
    yield "empty name, one column", pd.DataFrame({"": [1.5, np.nan]})
    yield "duplicate names", pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    yield "many columns, chunked", pd.DataFrame(rng.random((3000, 30)), columns=[f"c{i}" for i in range(30)])
    yield "non-range index", pd.DataFrame({"a": [1.5, 2.5]}, index=[10, 3])
    # the rest go to pandas
    yield "int names", pd.DataFrame({0: [1.5], 1: [2.5]})
    yield "float32", pd.DataFrame({"a": np.array([0.1, 1 / 3], dtype=np.float32)})
    yield "text", pd.DataFrame({"a": ["x", None, "y,z"], "b": [1.0, 2.0, np.nan]})
    yield "nullable", pd.DataFrame({"a": pd.array([1, None], dtype="Int64")})
    yield "zero rows", pd.DataFrame({"a": pd.Series([], dtype=float)})
    yield "no columns", pd.DataFrame(index=range(3))
    yield "multiindex columns", pd.DataFrame([[1.0, 2.0]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    yield "series", pd.Series([1.5, np.nan], name="p")


@pytest.mark.parametrize("name, df", list(frames()), ids=[name for name, _ in frames()])
def test_write_csv_equals_pandas(name, df):
    assert codecs.write_csv(df) == df.to_csv(index=False).encode()


def test_write_csv_fast_path_is_taken():
    fast = {name for name, df in frames() if codecs._plain_columns(df) is not None}
    assert {"random floats", "specials, one column", "ints and bools", "names needing quotes",
            "many columns, chunked", "duplicate names"} <= fast
    assert not fast & {"int names", "float32", "text", "nullable", "zero rows", "series"}


@pytest.mark.parametrize("seed", range(10))
def test_write_csv_random(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    columns = {}
    for i in range(int(rng.integers(1, 5))):
        values = rng.choice(random_floats(rng, n), n)
        values[rng.random(n) < 0.1] = np.nan
        columns[f"c{i}"] = values if rng.random() < 0.7 else rng.integers(-(2 ** 63), 2 ** 63 - 1, n)
    df = pd.DataFrame(columns)
    assert codecs.write_csv(df) == df.to_csv(index=False).encode()
    assert_identical(codecs.read_csv(codecs.write_csv(df)), pandas_read(df.to_csv(index=False).encode()))


# --------------------------------------------------------------------------- registry

def test_get_codec_precedence():
    assert codecs.get_codec().name == "csv"
    assert codecs.get_codec("ARROW", content_type="text/csv", path="x.mtx").name == "arrow"
    assert codecs.get_codec(content_type="text/mtx", path="x.parquet").name == "mtx"
    assert codecs.get_codec(path="dir.v1/X.Parquet").name == "parquet"
    assert codecs.get_codec(path="data.feather").name == "arrow"
    assert codecs.get_codec(path="data").name == "csv"
    assert codecs.get_codec(path="data.dat").name == "csv"


@pytest.mark.parametrize("content_type, name", [
    ("text/csv", "csv"), ("text/csv; charset=utf-8", "csv"), ("TEXT/CSV;charset=UTF-8", "csv"),
    ("text/plain", "csv"), (" text/mtx ", "mtx"), ("application/vnd.apache.arrow.stream", "arrow"),
    ("application/x-apache-arrow-stream", "arrow"), ("application/vnd.apache.arrow.file", "arrow"),
    ("application/vnd.apache.parquet", "parquet"), ("application/x-parquet", "parquet"),
    ("application/parquet; foo=\"a;b\"", "parquet"),
])
def test_get_codec_by_content_type(content_type, name):
    assert codecs.get_codec(content_type=content_type).name == name


@pytest.mark.parametrize("kwargs, listed", [
    ({"format": "xlsx"}, "csv, mtx"), ({"content_type": "application/json"}, "text/csv"),
    ({"content_type": "csv"}, "text/mtx"),
])
def test_get_codec_unknown(kwargs, listed):
    with pytest.raises(InputError) as info:
        codecs.get_codec(**kwargs)
    assert listed in info.value.hint and info.value.status == 422


def test_register_custom_codec(monkeypatch):
    for table in ("_BY_NAME", "_BY_EXTENSION", "_BY_CONTENT_TYPE"):
        monkeypatch.setattr(codecs, table, dict(getattr(codecs, table)))
    tsv = codecs.Codec("tsv", (".tsv",), ("text/tab-separated-values",),
                       lambda data, **_: pd.read_csv(io.BytesIO(data), sep="\t"),
                       lambda df: df.to_csv(index=False, sep="\t").encode())
    codecs.register(tsv)
    assert codecs.get_codec(path="a.TSV") is tsv
    assert codecs.read_frame(b"a\tb\n1\t2\n", content_type="text/tab-separated-values").shape == (1, 2)
    assert codecs.write_frame(pd.DataFrame({"a": [1]}), "tsv") == b"a\n1\n"


def test_read_frame_from_path(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert_identical(codecs.read_frame(str(path)), pd.DataFrame({"a": [1], "b": [2]}))
    assert_identical(codecs.read_frame(path), pd.DataFrame({"a": [1], "b": [2]}))


# --------------------------------------------------------------------------- Matrix Market

def sparse_frame() -> pd.DataFrame:
    import scipy.sparse

    matrix = scipy.sparse.random(20, 4, density=0.3, format="csr", random_state=1)
    return pd.DataFrame.sparse.from_spmatrix(matrix, columns=["a b", "c", "d", "e"])


def test_mtx_round_trip(tmp_path):
    df = sparse_frame()
    data = codecs.write_frame(df)
    assert data.startswith(b"%%MatrixMarket") and codecs.is_sparse(df)
    names_file = tmp_path / "cols.txt"
    names_file.write_text("a b\n c\nd\ne\n\n")
    names = codecs.read_sparse_column_file(names_file)
    assert names == ["a b", "c", "d", "e"]
    back = codecs.read_frame(data, format="mtx", sparse_column_names=names)
    assert all(isinstance(t, pd.SparseDtype) for t in back.dtypes)
    pd.testing.assert_frame_equal(back.sparse.to_dense(), df.sparse.to_dense())
    unnamed = codecs.read_frame(data, path="x.mtx")
    assert list(unnamed.columns) == [0, 1, 2, 3]


def test_mtx_from_scipy_matrix_and_dense_frame():
    import scipy.sparse

    matrix = scipy.sparse.eye(3, format="csr")
    assert codecs.is_sparse(matrix) and not codecs.is_sparse(pd.DataFrame({"a": [1]}))
    back = codecs.read_frame(codecs.write_frame(matrix, "csv"), content_type="text/mtx")
    np.testing.assert_array_equal(back.sparse.to_dense().to_numpy(), np.eye(3))
    dense = pd.DataFrame(np.eye(2))
    assert codecs.read_frame(codecs.write_frame(dense, "mtx"), format="mtx").shape == (2, 2)


def test_mtx_errors():
    data = codecs.write_frame(sparse_frame())
    with pytest.raises(InputError, match="4 columns but 2 sparse column names"):
        codecs.read_frame(data, format="mtx", sparse_column_names=["a", "b"])
    with pytest.raises(InputError, match="Line 1"):
        codecs.read_frame(b"a,b\n1,2\n", format="mtx")
    with pytest.raises(InputError, match="Line 4"):
        codecs.read_frame(b"%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1.0\nx y z\n", format="mtx")


# --------------------------------------------------------------------------- Arrow and Parquet

def typed_frame() -> pd.DataFrame:
    return pd.DataFrame({"x": [1.5, np.nan, -0.0], "n": [1, 2, 3], "s": ["a", None, "c"]})


def test_arrow_stream_and_file():
    import pyarrow as pa

    df = typed_frame()
    stream = codecs.write_frame(df, "arrow")
    pd.testing.assert_frame_equal(codecs.read_frame(stream, content_type="application/vnd.apache.arrow.stream"), df)
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(df, preserve_index=False)
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    file_bytes = sink.getvalue().to_pybytes()
    pd.testing.assert_frame_equal(codecs.read_frame(file_bytes, path="x.arrow"), df)


def test_parquet_round_trip():
    df = typed_frame()
    data = codecs.write_frame(df, "parquet")
    assert data[:4] == b"PAR1"
    pd.testing.assert_frame_equal(codecs.read_frame(data, content_type="application/x-parquet"), df)


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
@pytest.mark.parametrize("data", [b"", b"a,b\n1,2\n"])
def test_binary_format_errors(fmt, data):
    with pytest.raises(InputError) as info:
        codecs.read_frame(data, format=fmt)
    assert info.value.status == 422 and ("0 bytes" in info.value.message or "starts with b'a,b" in info.value.message)


def test_import_is_light():
    """No pyarrow, scipy, HTTP or Jupyter code is loaded by importing the module."""
    code = ("import sys, numpy, pandas; before = set(sys.modules); import drumnb.core.codecs; "
            "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
            "('pyarrow', 'scipy', 'http', 'flask', 'werkzeug', 'IPython', 'ipykernel', 'email')))")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "[]"
