"""Computing a Dask job's predictions: partitions as they finish, written (staged, then moved) or collected."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from typing import IO, Any, Callable, Iterator

import pandas as pd

from ..core import codecs
from ..core.errors import ConfigurationError
from .errors import job_error


def output_format(path: str) -> str:
    """``csv`` when ``path`` ends in ``.csv`` (one file), else ``parquet`` (a folder)."""
    return "csv" if os.fspath(path).lower().endswith(".csv") else "parquet"


def _encode(part: pd.DataFrame, number: int, fmt: str, keep_index: bool) -> tuple[int, int, bytes]:
    """One partition in the output format, with the core's writers: (partition number, rows, bytes).

    CSV parts after the first leave out the header, so that their concatenation
    is byte for byte what ``drumnb score`` writes for all the rows at once.
    """
    frame = part.reset_index() if keep_index else part
    if fmt != "csv":
        return number, len(part), codecs.write_parquet(frame)
    data = codecs.write_csv(frame)
    if number:
        header = codecs.write_csv(frame.iloc[:0])
        data = data[len(header):]
    return number, len(part), data


_PART_FILE = re.compile(r"^part\.\d+\.parquet$")


def check_output(output: "str | os.PathLike[str]") -> None:
    """A ``ConfigurationError`` if :func:`write` could not write ``output`` (checked before any work)."""
    output = os.fspath(output)
    if output_format(output) == "csv":
        if os.path.isdir(output):
            raise ConfigurationError(f"--output {output} is a folder; a .csv output is one file")
        return
    if os.path.exists(output):
        if not os.path.isdir(output):
            raise ConfigurationError(f"--output {output} is a file; the Dask engine writes a folder of "
                                     "Parquet files there", hint="name a folder, or a file ending in .csv")
        other = [n for n in os.listdir(output) if not _PART_FILE.match(n)]
        if other:
            raise ConfigurationError(f"--output {output} holds other files than predictions ({other[:5]})",
                                     hint="name a new or empty folder")


class _Staging:
    """Output written beside its final place and moved there only when complete."""

    def __init__(self, output: str, fmt: str, npartitions: int):
        check_output(output)
        self.output, self.fmt = os.path.abspath(output), fmt
        self.width = max(5, len(str(npartitions - 1)))
        parent = os.path.dirname(self.output)
        os.makedirs(parent, exist_ok=True)
        prefix = f".{os.path.basename(self.output)}.partial-"
        if fmt == "csv":
            fd, self.tmp = tempfile.mkstemp(prefix=prefix, dir=parent)
            self.fh: IO[bytes] | None = os.fdopen(fd, "wb")
        else:
            self.tmp, self.fh = tempfile.mkdtemp(prefix=prefix, dir=parent), None
        self.pending: dict[int, bytes] = {}
        self.next = 0

    def add(self, number: int, data: bytes) -> None:
        """Write partition ``number`` (CSV: in partition order, holding early arrivals)."""
        if self.fh is None:
            with open(os.path.join(self.tmp, f"part.{number:0{self.width}d}.parquet"), "wb") as fh:
                fh.write(data)
            return
        self.pending[number] = data
        while self.next in self.pending:
            self.fh.write(self.pending.pop(self.next))
            self.next += 1

    def commit(self) -> None:
        if self.fh is not None:
            self.fh.close()
            os.replace(self.tmp, self.output)
            return
        if os.path.isdir(self.output):
            for name in os.listdir(self.output):
                os.remove(os.path.join(self.output, name))  # only part.N.parquet files: check_output
            for name in os.listdir(self.tmp):
                os.replace(os.path.join(self.tmp, name), os.path.join(self.output, name))
            os.rmdir(self.tmp)
        else:
            os.replace(self.tmp, self.output)

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
        if os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif os.path.exists(self.tmp):
            os.remove(self.tmp)


def _default_client() -> Any:
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def write(preds: Any, output: "str | os.PathLike[str]", *, client: Any = None,
          progress: Callable[[int, int], None] | None = None) -> int:
    """Compute ``preds`` (from :func:`score`) and write them to ``output``; returns the rows written.

    ``output`` ending in ``.csv``: one CSV file; else a folder of
    ``part.NNNNN.parquet`` files (see the module's notes).  A named index is
    written as a column.  ``progress(done, total)`` is called per partition.
    Partitions run on ``client`` (default: the current Dask client, else one by
    one in this process); the first failure cancels the rest and is raised.
    """
    import dask

    output = os.fspath(output)
    fmt = output_format(output)
    keep_index = preds.index.name is not None
    parts = preds.to_delayed()
    total = len(parts)
    stage = _Staging(output, fmt, total)
    rows = 0
    client = client or _default_client()
    try:
        tasks = [dask.delayed(_encode, pure=True)(p, i, fmt, keep_index) for i, p in enumerate(parts)]
        for done, (number, n, data) in enumerate(_results(tasks, client), start=1):
            stage.add(number, data)
            rows += n
            if progress:
                progress(done, total)
        stage.commit()
    except BaseException:
        stage.discard()
        raise
    return rows


def _numbered(part: pd.DataFrame, number: int) -> tuple[int, pd.DataFrame]:
    return number, part


def collect(preds: Any, *, client: Any = None, progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Compute ``preds`` (from :func:`score`) into one pandas DataFrame, partitions in input order.

    Like ``preds.compute()``, but partitions come back as they finish (each
    released on its worker at once), ``progress(done, total)`` is called per
    partition, and the first failure cancels the rest and is raised with its
    partition number.  For data that does not fit in this process, use
    :func:`write` instead.
    """
    import dask

    parts = preds.to_delayed()
    total = len(parts)
    client = client or _default_client()
    done: dict[int, pd.DataFrame] = {}
    tasks = [dask.delayed(_numbered, pure=True)(p, i) for i, p in enumerate(parts)]
    for count, (number, part) in enumerate(_results(tasks, client), start=1):
        done[number] = part
        if progress:
            progress(count, total)
    if not done:
        return preds._meta.copy()
    return pd.concat([done[i] for i in range(total)])


def _results(tasks: list, client: Any) -> Iterator[Any]:
    """Results of ``tasks`` as they finish; the first error cancels the others.

    Each result is released on the worker as soon as it is here, so that
    workers hold at most the partitions in flight, whatever the data's size.
    """
    if client is None:
        for task in tasks:
            yield task.compute(scheduler="sync")
        return
    from distributed import as_completed

    pending = set(client.compute(tasks))
    try:
        for future, result in as_completed(pending, with_results=True):
            pending.discard(future)
            future.release()
            yield result
    except Exception as exc:  # noqa: BLE001
        raise job_error(exc) or exc
    finally:
        if pending:
            client.cancel(list(pending))
