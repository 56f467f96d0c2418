"""Short errors in cells: one message, the hook, the file or cell line, a hint -- never a framework traceback.

Every magic runs inside :func:`boundary`, which turns any failure into a
:class:`CellError`.  IPython shows an exception that has ``_render_traceback_``
exactly as that method says, so the cell shows two lines::

    HookError: 'score' hook failed (cell line 4 of %%drum_hooks mymodel): ZeroDivisionError: division by zero
    hint: fix the hook in the cell and run it again

The kernel never exits: ``SystemExit`` raised by user code (``sys.exit()`` in
a hook) is caught here too, and nothing in ``drumnb.jupyter`` calls
``sys.exit`` or ``os._exit`` in the kernel's process.
"""
from __future__ import annotations

import contextlib
import logging
import os
from typing import Any, Callable, Iterator

from ..core import errors as core_errors

RED, DIM, RESET = "\x1b[1;31m", "\x1b[2m", "\x1b[0m"


class CellError(Exception):
    """An error shown as a short message in the cell (``kind: message`` and a hint).

    What a magic raises is a subclass made by :func:`cell_class`: for one of the core's errors it is also
    that class (``except drumnb.core.errors.ConfigurationError`` catches it, ``status`` is the core's);
    for anything else (``NameError``, a server that did not start) it only carries the name.
    """

    kind = "DrumnbError"

    def __init__(self, message: str, hint: str | None = None, *, status: int | None = None):
        Exception.__init__(self, message)
        self.message = message
        self.hint = hint
        if status is not None or not hasattr(self, "status"):  # a core class keeps its own status
            self.status = status

    def __str__(self) -> str:
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")

    def render(self, color: bool = True) -> list[str]:
        if color:
            lines = [f"{RED}{self.kind}{RESET}: {self.message}"]
            if self.hint:
                lines.append(f"{DIM}hint: {self.hint}{RESET}")
        else:
            lines = [f"{self.kind}: {self.message}"] + ([f"hint: {self.hint}"] if self.hint else [])
        return lines

    def _render_traceback_(self) -> list[str]:  # IPython: show this instead of a traceback
        return self.render()


class HookSignatureError(core_errors.ConfigurationError):
    """Hooks in a cell whose names or signatures are wrong (found before the cell's code runs)."""


_CLASSES: dict[Any, type[CellError]] = {}


def cell_class(kind: type[BaseException]) -> type[CellError]:
    """The cell's class for the exception class ``kind``: for one of drumnb's errors it is also that class
    (``except ConfigurationError`` catches it); for any other (``KeyboardInterrupt``, ``NameError``) it
    only carries the name.  Made once per kind and named like it, so the kernel reports ``ename`` = the
    kind's name.
    """
    base: Any = kind
    core = issubclass(base, core_errors.DrumnbError)
    name = base.__name__
    key = base if core else name
    cls = _CLASSES.get(key)
    if cls is None:
        bases = (CellError, base) if core else (CellError,)
        cls = _CLASSES[key] = type(name, bases, {"kind": name, "__module__": __name__, "__qualname__": name})
    return cls


def error(kind: type[BaseException], message: str, hint: str | None = None, *,
          status: int | None = None) -> CellError:
    """A :class:`CellError` of :func:`cell_class` ``(kind)``, e.g. ``error(ConfigurationError, "...", "hint")``."""
    return cell_class(kind)(message, hint, status=status)


def usage(message: str, hint: str | None = None) -> CellError:
    return error(core_errors.UsageError, message, hint)


class CellMap:
    """How lines of a hooks file map to lines of the notebook cell that wrote them."""

    def __init__(self, path: str, first_file_line: int, cell_label: str, cell_line_of_first: int = 2,
                 last_file_line: int | None = None):
        self.path = os.path.realpath(path)
        self.first_file_line = first_file_line
        self.last_file_line = last_file_line
        self.cell_label = cell_label
        self.cell_line_of_first = cell_line_of_first

    def cell_line(self, path: str | None, line: int | None) -> int | None:
        if not path or not line or os.path.realpath(path) != self.path or line < self.first_file_line:
            return None
        if self.last_file_line is not None and line > self.last_file_line:
            return None
        return line - self.first_file_line + self.cell_line_of_first


def from_exception(exc: BaseException, cell_maps: list[CellMap] | tuple[CellMap, ...] = ()) -> CellError:
    """Any exception as a short :class:`CellError` (hook, file or cell line, message, hint)."""
    if isinstance(exc, CellError):
        return exc
    DrumnbError, HookError = core_errors.DrumnbError, core_errors.HookError  # noqa: N806

    if isinstance(exc, HookError):
        where = _where(exc.file, exc.line, cell_maps)
        what = ("the hooks file could not be imported" if exc.hook == "import" else f"'{exc.hook}' hook failed")
        prefix = f"{exc.cause_type}: " if exc.cause_type else ""
        hint = exc.hint or ("fix the cell and run it again" if any(m.cell_line(exc.file, exc.line) for m in cell_maps)
                            else "fix the hook and run the cell again")
        scope = f" in {exc.partition_label}" if getattr(exc, "partition_label", None) else ""  # Dask engine
        return _like(exc, f"{what}{where}{scope}: {prefix}{exc.detail}", hint)
    if isinstance(exc, DrumnbError):
        return _like(exc, exc.message, exc.hint)
    if isinstance(exc, SystemExit):
        return error(SystemExit, f"the model code called sys.exit({exc.code!r}); the kernel keeps running",
                     "hooks should raise an exception rather than exit")
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return error(type(exc), str(exc), "check the path")
    if isinstance(exc, ModuleNotFoundError):
        return error(ModuleNotFoundError, str(exc), f"pip install the package that provides {exc.name!r}")
    global LAST_UNEXPECTED
    LAST_UNEXPECTED = exc
    return error(type(exc), f"{exc}" or type(exc).__name__,
                 "unexpected here; drumnb.jupyter.errors.show_traceback() prints where it came from")


def _like(exc: Any, message: str, hint: str | None) -> CellError:
    """The cell's version of a core error: its class (and status, hook, file, line...) with the cell's message."""
    cell = error(type(exc), message, hint, status=exc.status)
    cell.__dict__.update({k: v for k, v in vars(exc).items() if k not in ("message", "hint", "status")})
    return cell


#: The last exception that was not one of drumnb's own errors (for show_traceback()).
LAST_UNEXPECTED: BaseException | None = None


def show_traceback() -> None:
    """Print the full traceback of the last unexpected error a magic reported."""
    import traceback

    if LAST_UNEXPECTED is None:
        print("no unexpected error so far")
    else:
        traceback.print_exception(LAST_UNEXPECTED)


def _where(file: str | None, line: int | None, cell_maps: Any) -> str:
    for cell_map in cell_maps:
        cell_line = cell_map.cell_line(file, line)
        if cell_line is not None:
            return f" (cell line {cell_line} of {cell_map.cell_label})"
    if file:
        return f" ({os.path.basename(file)}" + (f", line {line}" if line else "") + ")"
    return ""


class _Notes(logging.Handler):
    """Collects what drumnb logs (warnings and notes) while a magic runs, to show as short lines."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage()
        except Exception:  # noqa: BLE001
            return
        if line not in self.lines:
            self.lines.append(line)


@contextlib.contextmanager
def boundary(cell_maps: list[CellMap] | None = None, *, show_notes: bool = True) -> Iterator[list[CellMap]]:
    """Run a magic's body; any error (also ``SystemExit`` from user code) leaves as a short CellError.

    What drumnb logs meanwhile (e.g. "target type inferred") is shown after, as ``note:`` lines on
    stdout, rather than as logging's stderr output.  The yielded list may be appended to while the
    body runs (cell maps known late).
    """
    maps: list[CellMap] = list(cell_maps or [])
    logger = logging.getLogger("drumnb")
    notes = _Notes()
    propagate = logger.propagate
    if show_notes:
        logger.addHandler(notes)
        logger.propagate = False
    try:
        yield maps
    except KeyboardInterrupt:
        raise
    except CellError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - every failure becomes one short message
        raise from_exception(exc, maps) from None
    finally:
        if show_notes:
            logger.removeHandler(notes)
            logger.propagate = propagate
        if notes.lines:
            print("\n".join(f"note: {line}" for line in notes.lines))


def install(shell: Any) -> None:
    """Show every drumnb error raised in a cell as the magics show theirs: one line and a hint.

    ``%load_ext drumnb`` calls this, so ``srv.client.predict(df)`` against a failing hook or a stopped
    server shows ``ServerError: the server answered 500: ...`` instead of a traceback through the
    client, requests and urllib3.  Another extension's handler is left in place.
    """
    if shell is None or getattr(shell, "custom_exceptions", ()) not in ((), (core_errors.DrumnbError,)):
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        cell = from_exception(value)
        shell.showtraceback((type(cell), cell, None))  # a CellError renders itself (_render_traceback_)
        return []

    shell.set_custom_exc((core_errors.DrumnbError,), handler)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator form of :func:`boundary` (for widget callbacks and public helpers)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with boundary():
            return fn(*args, **kwargs)

    return wrapper
