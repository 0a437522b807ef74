"""The batch index: ``OUT/index.html`` over every capture of a ``wiretale batch`` run.

One row per capture with its facts (format, packets, flows, hosts, protocols
seen, sessions per service, e-mails, files, credentials as ``protocol:user``,
anomalies, warnings, errors) and a link to the capture's own report
(``captures/<name>/index.html``), or to its folder when the reports were not
written (``--no-html``). Captures that could not be read are listed, in red,
with their error. A filter box and sortable columns need JavaScript; without
it the table is complete and in input order.

Safety as in :mod:`reports.html`: jinja2 with ``autoescape=True`` and
``StrictUndefined``; captured text (user names, paths, errors) is made
printable and escaped, never marked safe; links are percent-encoded relative
paths inside OUT; the page loads no external URL (inline CSS and JS).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from decoder.model import utc_text

TEMPLATES = Path(__file__).resolve().parent / "templates"


def printable(v: Any) -> str:
    """Text with control characters shown as ``\\xNN`` (autoescape still escapes the rest)."""
    if v is None:
        return ""
    s = str(v)
    if s.isprintable():
        return s
    return "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in s)


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)):
        return ""
    return utc_text(ts, digits=0)


def iso_utc(ts: Any) -> str:
    """Epoch seconds as ISO 8601 UTC with microseconds (``2026-11-22T10:16:31.518362Z``); "" for none."""
    if not isinstance(ts, (int, float)) or isinstance(ts, bool):
        return ""
    try:
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except (OverflowError, OSError, ValueError):
        return ""


def _dur(sec: Any) -> str:
    if not isinstance(sec, (int, float)):
        return ""
    if sec < 60:
        return f"{sec:.1f} s"
    if sec < 3600:
        return f"{sec / 60:.1f} min"
    return f"{sec / 3600:.1f} h"


def _link(rel: str) -> str:
    return quote(rel.replace("\\", "/"), safe="/-._~")


def index_rows(results: Sequence[dict], rows: Sequence[dict]) -> list[dict]:
    out = []
    for r, row in zip(results, rows):
        s = r.get("summary") or {}
        sess = {k: v for k, v in (s.get("sessions") or {}).items()}
        an = s.get("anomalies") or {}
        if r.get("report"):
            link = _link(f"{r['out']}/{r['report']}")
        elif r.get("summary"):
            link = _link(f"{r['out']}/summary.json")
        else:
            link = ""
        out.append({
            "name": printable(r["name"]), "path": printable(r["path"]), "ok": bool(r["ok"]),
            "status": row["status"], "error": printable(row.get("error") or ""), "link": link,
            "has_report": bool(r.get("report")), "format": row.get("format") or "",
            "frames": row.get("frames"), "packets": row.get("packets"), "flows": row.get("flows"),
            "hosts": row.get("hosts"), "protocols": [printable(k) for k in sorted(sess) if k != "(unknown)"],
            "unknown": sess.get("(unknown)", 0),
            "sessions": [(printable(k), v) for k, v in sorted(sess.items(), key=lambda kv: (-kv[1], kv[0]))],
            "emails": row.get("emails"), "files": row.get("files"), "credentials": row.get("credentials"),
            "users": [printable(u) for u in r.get("credential_users") or []],
            "anomalies": row.get("anomalies"),
            "anomaly_kinds": [(printable(k), v) for k, v in sorted(an.items(), key=lambda kv: (-kv[1], kv[0]))],
            "warnings": printable(row.get("warnings") or ""), "start": _when(((s.get("captures") or [{}])[0]).get("first_ts")),
            "duration": _dur(row.get("duration")), "seconds": row.get("seconds"),
        })
    return out


def write_index(results: Sequence[dict], rows: Sequence[dict], totals: dict, out: Path,
                elapsed: float = 0.0, where: str = "local", grid: str = "", *, version: str) -> Path:
    """``OUT/index.html``; ``grid`` is the grades section (:func:`reports.grid.render_grid`), if any;
    ``version`` the wiretale that made it (the caller's: a report imports nothing of the engine)."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    tpl = env.get_template("batch_index.html")
    html = tpl.render(captures=index_rows(results, rows), totals=totals, elapsed=f"{elapsed:.1f}",
                      where=printable(where), version=version, grid=grid,
                      generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))
    p = out / "index.html"
    p.write_text(html, encoding="utf-8")
    return p
