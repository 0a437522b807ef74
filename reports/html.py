"""HTML report — a plain index page until the full report lands (issue: HTML timelines).

Everything captured is escaped by jinja2's autoescape; nothing is marked safe.
"""
from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, StrictUndefined

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wiretale report</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style>
</head><body>
<h1>wiretale report</h1>
<p>{{ summary.packets.total }} packets, {{ summary.flows.total }} flows. The full HTML report is not built yet;
the tables are in <code>tables/</code>.</p>
<table><tr><th>uid</th><th>proto</th><th>service</th><th>client</th><th>server</th><th>bytes c→s</th><th>bytes s→c</th></tr>
{% for c in conn %}<tr><td>{{ c.uid }}</td><td>{{ c.proto }}</td><td>{{ c.service }}</td><td>{{ c.orig_h }}:{{ c.orig_p }}</td>
<td>{{ c.resp_h }}:{{ c.resp_p }}</td><td>{{ c.orig_bytes }}</td><td>{{ c.resp_bytes }}</td></tr>
{% endfor %}</table></body></html>
"""


def write_report(analysis, out: Path, show_secrets: bool = False) -> Path:
    env = Environment(autoescape=True, undefined=StrictUndefined)
    html = env.from_string(_PAGE).render(summary=analysis.summary, conn=analysis.rows.get("conn", [])[:10000])
    p = Path(out) / "index.html"
    p.write_text(html, encoding="utf-8")
    return p
