"""A reader for small, plain numeric CSV payloads that gives what pandas gives, without pandas.

``read_numeric(data)`` returns the header and the values that
``np.asarray(pd.read_csv(io.BytesIO(data)))`` would give -- same numbers,
same dtype (``int64`` when every column is integral, else ``float64``), same
memory layout (column-major, as pandas' blocks) -- or ``None`` for anything
that is not plain: quotes, empty fields or NA strings, spaces, blank lines,
a lone ``\\r``, rows whose length differs from the header's, repeated or empty
names, integers beyond 18 digits, exponents of three digits, invalid UTF-8.
The caller then reads the payload with pandas as usual, so ``None`` is never
an error, only "not the fast case".

Why the values are equal: a field is taken only when it matches a plain
decimal grammar; integral columns go through ``int`` (pandas: ``int64``),
the others through ``float``, which rounds correctly, as pandas 3's parser
does (checked on repr, midpoint and long-mantissa inputs by
tests/server/test_server_runtime.py).  Before pandas 3 the parser did not always
round correctly, so there every payload goes to pandas.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

try:  # parses a large numeric body in a third of pandas' time (without building a DataFrame)
    import orjson as _orjson
except ImportError:  # pragma: no cover - a dependency of drumnb[server]; pandas then
    _orjson = None

#: Payloads larger than this go to pandas' C parser, which is faster on many values.
MAX_BYTES = 16 * 1024
#: Unambiguous (each field matches one way), so that a mismatch fails in linear time.
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,2})?"
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_ROW_CHARS = re.compile(rf"{_NUMBER}(?:,{_NUMBER})*(?:\n{_NUMBER}(?:,{_NUMBER})*)*")
_BOM = "\ufeff"
ENABLED = int(pd.__version__.split(".")[0]) >= 3


@dataclass(frozen=True)
class NumericCSV:
    """The header and the ``(rows, columns)`` values of a plain numeric CSV payload."""

    names: tuple[str, ...]
    values: np.ndarray


def read_numeric(data: bytes, max_bytes: int = MAX_BYTES) -> NumericCSV | None:
    """``data`` as :class:`NumericCSV` when it is a plain numeric CSV of at most ``max_bytes``, else ``None``."""
    if not ENABLED or len(data) > max_bytes or b'"' in data:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith(_BOM):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    head, sep, body = text.partition("\n")
    body = body[:-1] if body.endswith("\n") else body
    if not sep or not body or not _ROW_CHARS.fullmatch(body):
        return None
    names = head.split(",")
    p = len(names)
    if not _plain_names(names):
        return None
    rows = body.split("\n")
    if any(row.count(",") != p - 1 for row in rows):
        return None
    tokens = body.replace("\n", ",").split(",")
    columns = [tokens[j::p] for j in range(p)]
    integral = [not _has_fraction(column) for column in columns]
    for column, whole in zip(columns, integral):
        if whole and not all(map(_INTEGER.fullmatch, column)):
            return None  # beyond int64: pandas reads uint64 or text
    try:
        if all(integral):
            block = np.array([list(map(int, column)) for column in columns], dtype=np.int64)
        else:
            block = np.array([list(map(int, column)) if whole else list(map(float, column))
                              for column, whole in zip(columns, integral)], dtype=np.float64)
    except (OverflowError, ValueError):
        return None
    return NumericCSV(tuple(names), block.T)


#: The bytes of a number in a body row of :func:`read_numeric_rows`: digits, signs, dots, exponents.
_NUMBER_BYTES = b"0123456789+-.eE"
#: Beyond this magnitude an integral column would not convert to float64 as pandas' int64 column does.
_EXACT_INTEGERS = float(2 ** 53)


def read_numeric_rows(data: bytes) -> NumericCSV | None:
    """A large plain numeric CSV as :class:`NumericCSV`, parsed as JSON rows by orjson, or ``None``.

    For bodies above :data:`MAX_BYTES` (where the regular-expression check of :func:`read_numeric`
    costs more than pandas).  The fields become one flat JSON array (``[r1,r2,...]``): JSON's number
    grammar is narrower than pandas' (no ``+1``, ``.5``, ``1.``, ``007``), so anything it refuses,
    rows of unequal length, any byte outside digits/signs/dots/exponents/commas/newlines, ``\\r``,
    a token ``-0`` (JSON reads it as the integer 0, pandas as -0.0 in a float column) and magnitudes
    from 2**53 (where an integral column's int64 would round differently) give ``None``: pandas
    then reads the payload.  orjson rounds correctly, as pandas 3 does (tested on hard cases).
    The values come back as ``np.asarray`` of pandas' frame gives them: column-major, ``int64`` when
    every field is an integer, else ``float64``.
    """
    if not ENABLED or _orjson is None or b'"' in data or b"\r" in data:
        return None
    head, sep, body = data.partition(b"\n")
    if body.endswith(b"\n"):
        body = body[:-1]
    if not sep or not body:
        return None
    try:
        names = head.decode("utf-8").removeprefix(_BOM).split(",")
    except UnicodeDecodeError:
        return None
    p, n = len(names), body.count(b"\n") + 1
    row = b"," * (p - 1)
    # Without the number bytes, what is left must be the separators of n rows of p fields: this refuses any
    # other byte and rows of another length in one pass.
    if body.translate(None, _NUMBER_BYTES) != (row + b"\n") * (n - 1) + row or not _plain_names(names):
        return None
    try:  # one flat array: a nested one (a list per row) costs twice the time in orjson and numpy
        flat = _orjson.loads(b"[" + body.replace(b"\n", b",") + b"]")
        values = np.fromiter(flat, dtype=np.float64, count=len(flat))
    except (_orjson.JSONDecodeError, ValueError, TypeError, OverflowError):
        return None  # invalid JSON numbers: pandas' business
    if len(values) != n * p or not (np.abs(values) < _EXACT_INTEGERS).all():
        return None
    if not values.all() and (b"-0," in body or b"-0\n" in body or body.endswith(b"-0")):
        return None  # (a search through every "-0." costs more than the parse: only when a zero came back)
    values = values.reshape(n, p)
    if b"." not in body and b"e" not in body and b"E" not in body:  # every column integral: pandas' int64
        values = values.astype(np.int64)
    return NumericCSV(tuple(names), np.asfortranarray(values))


def _plain_names(names: list[str]) -> bool:
    """Header names pandas keeps as they are: none empty, none repeated (pandas renames), no edge spaces."""
    return all(names) and len(set(names)) == len(names) and all(name == name.strip() for name in names)


def _has_fraction(column: list[str]) -> bool:
    joined = ",".join(column)
    return "." in joined or "e" in joined or "E" in joined
