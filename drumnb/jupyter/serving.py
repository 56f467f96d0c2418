"""What ``%drum_serve --list / --stop / --logs`` and ``%%drum_hooks`` do with this kernel's servers."""
from __future__ import annotations

import argparse
from typing import Any

from ..core.errors import HookError
from .. import server_registry as registry
from . import errors
from .workspace import display_path


def reload_message(answer: dict[str, Any], maps: list[errors.CellMap]) -> str:
    """A server's reload error, with the cell line when it is in a cell."""
    if answer.get("hook") and answer.get("detail") is not None:
        exc = HookError(answer["hook"], answer["detail"], file=answer.get("file"), line=answer.get("line"),
                        cause_type=answer.get("cause_type"))
        return errors.from_exception(exc, maps).message
    return str(answer.get("message", "unknown error")).splitlines()[0]


def find_server(name: str | None, *, own: bool = False) -> tuple[Any, dict[str, Any]]:
    from . import launcher  # subprocess machinery: on the first server command

    mine = launcher.servers()
    if not name:
        if len(mine) == 1:
            return next(iter(mine.values())), {}
        raise errors.usage("name the server", "%drum_serve --list shows them")
    if name in mine:
        return mine[name], {}
    entry = registry.find(name)
    if entry is not None and not own:
        return None, entry
    if entry is not None:
        raise errors.error(PermissionError, f"server {name!r} (pid {entry['pid']}) was started by another kernel "
                           f"({entry.get('kernel_id')})", "stop or restart it from the kernel that started it")
    raise errors.error(LookupError, f"no server named {name!r}"
                       + (f" (this kernel's: {', '.join(sorted(mine))})" if mine else ""),
                       "%drum_serve --list shows every running server")


def stop(args: argparse.Namespace) -> None:
    from . import launcher  # subprocess machinery: on the first server command

    if args.all:
        names = launcher.stop_all()
        plural = "s" if len(names) != 1 else ""
        print(f"stopped {len(names)} server{plural}" + (f": {', '.join(names)}" if names else ""))
        return None
    server, _ = find_server(args.name, own=True)
    pid, port = server.pid, server.port
    server.stop()
    print(f"stopped {server.name!r} (pid {pid}); port {port} is free")
    return None


def server_table() -> Any:
    """Every running server (this kernel's first, then the registry's) as a DataFrame."""
    import pandas as pd  # not at %load_ext

    from . import launcher  # subprocess machinery: on the first server command

    me = launcher.kernel_id()
    rows, seen = [], set()
    for server in launcher.servers().values():
        seen.add(server.pid)
        rows.append({"name": server.name, "url": server.browser_url, "pid": server.pid, "status": server.status,
                     "model": display_path(server.code_dir), "kernel": "this kernel"})
    for entry in registry.entries():
        if entry["pid"] in seen:
            continue
        rows.append({"name": entry.get("name"), "url": entry.get("proxy_url") or entry.get("url"), "pid": entry["pid"],
                     "status": "running", "model": display_path(entry.get("code_dir") or ""),
                     "kernel": "this kernel" if entry.get("kernel_id") == me else str(entry.get("kernel_id"))[:8]})
    return pd.DataFrame(rows, columns=["name", "url", "pid", "status", "model", "kernel"])
