"""The NFS file tree of a session page: the file tree an NFS or MOUNT session's client saw.

Built from the session's ``nfs`` rows: every path a call named (the export MOUNT gave, then what
LOOKUP, CREATE, MKDIR… reached from it; :mod:`dissectors.nfs` learns the paths, its ``assemble``
puts the mounted path in front of handles another flow mounted). Each node lists the procedures the
client called on it (``READ×3``) and the error statuses the server answered; names a READDIR listed
are nodes too (with no procedure when the client did nothing with them). A directory is a node
with children or one listed, created or removed as a directory. Limits: at most ``MAX_NODES`` nodes
(the rest counted); what a listing says about a name (file or directory) is not kept: a listed name
is a directory here only when the client used it as one.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from reports.views._api import ViewInput

MAX_NODES = 500
DIR_PROCS = frozenset({"READDIR", "READDIRPLUS", "MKDIR", "RMDIR", "FSINFO", "FSSTAT", "PATHCONF", "MNT"})
OK = frozenset({"NFS_OK", "NFS3_OK", "NFS4_OK", "MNT3_OK", None})


def _parts(path: str) -> list[str]:
    """``/srv/x`` → ``["/", "srv", "x"]``; ``<fh:1a2b3c4d>/x`` → ``["<fh:1a2b3c4d>", "x"]``."""
    if path.startswith("/"):
        return ["/"] + [p for p in path.split("/") if p]
    head, _, rest = path.partition("/")
    return [head] + [p for p in rest.split("/") if p]


def file_tree(rows: Iterable[dict]) -> dict | None:
    """``{"nodes": [{"name", "depth", "dir", "ops", "errors"}…], "total": n}`` in tree order, or None
    when no row names a path."""
    nodes: dict[tuple[str, ...], dict] = {}
    for r in rows:
        path = r.get("path")
        if not path:
            continue
        parts = tuple(_parts(path))
        for i in range(1, len(parts) + 1):
            key = parts[:i]
            if key not in nodes:
                nodes[key] = {"ops": Counter(), "errors": Counter(), "dir": i < len(parts)}
            elif i < len(parts):
                nodes[key]["dir"] = True
        node = nodes[parts]
        node["ops"][r.get("proc") or "?"] += 1
        for name in r.get("entries") or ():
            if "/" not in name and parts + (name,) not in nodes:
                nodes[parts + (name,)] = {"ops": Counter(), "errors": Counter(), "dir": False}
            node["dir"] = True
        if r.get("proc") in DIR_PROCS:
            node["dir"] = True
        if r.get("status") not in OK:
            node["errors"][r["status"]] += 1
    if not nodes:
        return None
    out = []
    for key in sorted(nodes)[:MAX_NODES]:
        n = nodes[key]
        out.append({"name": key[-1], "depth": len(key) - 1, "dir": n["dir"],
                    "ops": " ".join(f"{op}×{k}" if k > 1 else op for op, k in n["ops"].items()),
                    "errors": " ".join(f"{e}×{k}" if k > 1 else e for e, k in n["errors"].items())})
    return {"nodes": out, "total": len(nodes)}


def view(inp: ViewInput) -> dict | None:
    """The session's file tree, or None (see :func:`file_tree`)."""
    return file_tree(inp.rows("nfs"))
