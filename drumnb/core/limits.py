"""How large an untrusted payload may say it is, checked from its header or metadata before it is parsed.

:class:`Limits` applies within :func:`limits` (the server sets them per request; local files are trusted,
so no limit applies by default).  The format readers (:mod:`drumnb.core.codecs`, :mod:`drumnb.core.mtx`)
call :func:`current_limits` ``.check(...)`` with what a payload declares; the CSV header and the Arrow IPC
message metadata are read here, since reading them is all the check needs.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass, field

from .errors import InputError, PayloadTooLarge


@dataclass(frozen=True)
class Limits:
    """How large a payload may say it is, checked before it is parsed (``None``: no limit).

    ``max_columns`` bounds the columns of every format (a CSV header, a Matrix
    Market size line, an Arrow or Parquet schema); ``max_cells`` bounds rows x
    columns where a payload declares its shape (Matrix Market, Parquet, Arrow),
    and for a sparse payload its rows and its stored entries.  ``names`` says
    how a user raises each limit (the server gives its flags).  A payload over
    a limit raises :class:`PayloadTooLarge` (413); no limit applies unless set
    with :func:`limits` (local files are trusted; servers set them per request).
    """

    max_columns: int | None = None
    max_cells: int | None = None
    names: dict[str, str] = field(default_factory=lambda: {"max_columns": "max_columns",
                                                           "max_cells": "max_cells"})

    def check(self, what: str, columns: int, **counts: int) -> None:
        """Raise :class:`PayloadTooLarge` if ``columns`` or any of ``counts`` (``cells``: rows x columns;
        ``rows`` and ``entries`` of a sparse payload) is over its limit."""
        if self.max_columns is not None and columns > self.max_columns:
            self._refuse(what, f"{columns:,} columns", "max_columns", "fewer columns")
        for label, count in counts.items():
            if self.max_cells is not None and count > self.max_cells:
                text = {"cells": "cells (rows x columns)", "entries": "stored entries"}.get(label, label)
                self._refuse(what, f"{count:,} {text}", "max_cells", "fewer rows per request")

    def _refuse(self, what: str, size: str, limit: str, fewer: str) -> None:
        name = self.names.get(limit, limit)
        raise PayloadTooLarge(f"the {what} payload declares {size}; at most {getattr(self, limit):,} are "
                              f"accepted ({name})", hint=f"send {fewer}, or raise the limit with {name}")


_LIMITS: contextvars.ContextVar[Limits] = contextvars.ContextVar("drumnb_codec_limits", default=Limits())


@contextlib.contextmanager
def limits(value: Limits | None = None, **kwargs) -> Iterator[Limits]:
    """Apply ``value`` (or ``Limits(**kwargs)``) to every payload read in this block, on this thread."""
    token = _LIMITS.set(value if value is not None else Limits(**kwargs))
    try:
        yield _LIMITS.get()
    finally:
        _LIMITS.reset(token)


def current_limits() -> Limits:
    return _LIMITS.get()


#: pandas renames each repeated header name (``a.1``, ``a.2``) by scanning every name: a header of n
#: columns with r repeats costs about n x r steps (100,000 columns, 50,000 repeats: minutes).  With
#: limits set, a header over this budget is refused.
REPEATED_NAMES_BUDGET = 10_000_000


def check_csv_header(data: bytes) -> None:
    """With :class:`Limits` set, refuse a CSV header with too many columns, or too many repeated names
    for pandas to rename quickly, before parsing it."""
    active = _LIMITS.get()
    if active.max_columns is None and active.max_cells is None:
        return
    start = 0
    while start < len(data):  # the header: the first line that is not blank (as pandas skips blank lines)
        ends = [i for i in (data.find(b"\n", start), data.find(b"\r", start)) if i >= 0]
        end = min(ends) if ends else len(data)
        line = data[start:end]
        if line.strip():
            break
        start = end + 1
    else:
        return
    quoted = b'"' in line
    if not quoted:  # the column count alone, before splitting a huge header
        active.check("CSV", line.count(b",") + 1)
    if quoted:
        import csv

        names = [name.encode() for name in next(csv.reader([line.decode("utf-8", "replace")]), [])]
        active.check("CSV", len(names))
    else:
        names = line.split(b",")
    named = [name for name in names if name.strip()]  # pandas names blank ones "Unnamed: i", no renaming
    repeats = len(named) - len(set(named))
    if repeats and len(names) * repeats > REPEATED_NAMES_BUDGET:
        raise InputError(f"the CSV header repeats column names {repeats:,} times among {len(names):,} columns; "
                         f"at most {REPEATED_NAMES_BUDGET // len(names):,} repeats are read in a header this wide",
                         hint="give every column its own name")


def arrow_declared_values(buffer) -> int | None:
    """How many values (rows x columns, nested children and dictionaries included) an Arrow IPC payload
    declares, read from its messages' metadata without inflating a body (a compressed body of a few kB
    can declare gigabytes); None when the messages cannot be read (pyarrow then says why)."""
    import struct

    import pyarrow as pa

    def table(meta: bytes, pos: int):
        vtable = pos - struct.unpack_from("<i", meta, pos)[0]
        size = struct.unpack_from("<H", meta, vtable)[0]

        def field(i: int) -> int | None:
            at = 4 + 2 * i
            offset = struct.unpack_from("<H", meta, vtable + at)[0] if at < size else 0
            return pos + offset if offset else None
        return field

    def child(meta: bytes, at: int) -> int:  # a table or vector referenced from ``at``
        return at + struct.unpack_from("<I", meta, at)[0]

    total = 0
    try:
        reader = pa.ipc.MessageReader.open_stream(buffer[8:] if buffer[:6].to_pybytes() == b"ARROW1" else buffer)
        while True:
            try:
                message = reader.read_next_message()
            except StopIteration:
                break
            if message is None:
                break
            if message.type not in ("record batch", "dictionary"):
                continue
            meta = message.metadata.to_pybytes()
            header_at = table(meta, struct.unpack_from("<I", meta, 0)[0])(2)  # Message.header
            if header_at is None:
                return None
            batch = table(meta, child(meta, header_at))
            if message.type == "dictionary":  # DictionaryBatch.data: a RecordBatch
                data_at = batch(1)
                if data_at is None:
                    return None
                batch = table(meta, child(meta, data_at))
            nodes_at = batch(1)  # RecordBatch.nodes: FieldNode {length: int64, null_count: int64}
            if nodes_at is not None:
                nodes = child(meta, nodes_at)
                count = struct.unpack_from("<I", meta, nodes)[0]
                total += sum(struct.unpack_from("<q", meta, nodes + 4 + 16 * k)[0] for k in range(count))
    except (pa.ArrowException, OSError, ValueError, struct.error, IndexError):
        return None
    return total
