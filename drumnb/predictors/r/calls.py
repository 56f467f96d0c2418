"""Calling R functions from Python: arguments converted, R's errors and warnings captured as data."""
from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass
from typing import Any

from .convert import r_names, to_r
from .runtime import RWarning, rinterface, support_fn

log = logging.getLogger("drumnb")

_PKG_RE = [re.compile(r"there is no package called [‘'\"]([^’'\"]+)[’'\"]"),
           re.compile(r"package [‘'\"]([^’'\"]+)[’'\"] required by .* could not be found"),
           re.compile(r"namespace [‘'\"]([^’'\"]+)[’'\"] .* is required")]


def missing_package(message: str) -> str | None:
    """The R package an error message says is missing, if any."""
    for rx in _PKG_RE:
        m = rx.search(message or "")
        if m:
            return m.group(1)
    return None


def package_hint(packages: list[str]) -> str:
    names = ", ".join(packages)
    debs = " ".join(f"r-cran-{p.lower()}" for p in packages)
    vec = ", ".join(f"'{p}'" for p in packages)
    return (f"install the R package(s) {names}: 'apt-get install {debs}' where Debian packages them "
            f"(it does not package brnn, xgboost, kknn, Cubist, C50, klaR), else in R: install.packages(c({vec}))")


@dataclass
class RResult:
    ok: bool
    value: Any = None
    message: str = ""
    fname: str = ""
    file: str | None = None
    line: int | None = None
    warnings: tuple[str, ...] = ()


def call_r(fn: Any, args: list[Any], kwargs: dict[str, Any] | None = None, root: str = "/") -> RResult:
    """Call the R function ``fn`` with R-converted arguments; errors and warnings are captured."""
    ri = rinterface()
    items = [to_r(a) for a in args]
    names = [""] * len(items)
    for k, v in (kwargs or {}).items():
        items.append(to_r(v))
        names.append(k)
    arglist = ri.ListSexpVector(items) if items else ri.ListSexpVector([])
    if items:
        arglist.do_slot_assign("names", ri.StrSexpVector(names))
    res = support_fn("call_safely")(fn, arglist, ri.StrSexpVector([os.path.realpath(root)]))
    out = dict(zip(r_names(res) or [], list(res)))

    def scalar(key: str) -> Any:
        v = out.get(key)
        if v is None or v is ri.NULL or len(v) == 0:
            return None
        x = v[0]
        return None if x in (ri.NA_Character, ri.NA_Integer, ri.NA_Logical) else x

    warns = tuple(str(w) for w in out["warnings"]) if out.get("warnings") is not None else ()
    line = scalar("line")
    return RResult(ok=bool(out["ok"][0]), value=out.get("value"), message=scalar("message") or "",
                   fname=scalar("fname") or "", file=scalar("file"), line=int(line) if line is not None else None,
                   warnings=warns)


def _warning_mode() -> str:
    return os.environ.get("DRUMNB_R_WARNINGS", "warn").strip().lower()


def emit_warnings(res: RResult, where: str) -> str | None:
    """Report R warnings as RWarning; returns the message of one that must fail the call."""
    mode = _warning_mode()
    for msg in res.warnings:
        if mode == "ignore":
            continue
        if mode == "error":
            return msg
        log.debug("R warning in %s: %s", where, msg)
        try:
            warnings.warn(RWarning(f"R warning in {where}: {msg}"), stacklevel=3)
        except RWarning:  # a warnings filter turned RWarning into an error
            return msg
    return None

