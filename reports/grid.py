"""The grades grid of ``wiretale batch --rubric R.toml``: captures × checks, in ``OUT/index.html``.

One row per capture: each check's ``pass``/``fail``/``error`` (its value against ``expect``, or the
error, as a tooltip), the evidence rows with links to the session pages of the capture's report,
and the points earned out of the rubric's maximum. The footer totals each column: how many captures
passed each check, the mean points. Columns sort on a click (JavaScript); without JavaScript the
table is complete, in input order.

Safety as in :mod:`reports.batch`: jinja2 with ``autoescape=True`` and ``StrictUndefined``; values
from the capture (evidence cells) are made printable and escaped, never marked safe; links are
percent-encoded relative paths inside OUT to session pages that exist.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from reports.batch import TEMPLATES, _link, printable
from reports.rubric import Grade, Rubric, _cell_text, fmt_points

_ORDER = {"pass": 2, "fail": 1, "error": 0}


def grid_rows(grades: Sequence[Grade], results: Sequence[dict], out: Path) -> list[dict]:
    rows = []
    for g, r in zip(grades, results):
        sessions = out / r["out"] / "sessions" if r.get("report") else None
        cells = []
        for o in g.outcomes:
            ev = []
            for vals, uid in zip(o.evidence.rows, o.evidence.uids):
                page = sessions / f"{uid}.html" if sessions is not None and uid else None
                link = _link(f"{r['out']}/sessions/{uid}.html") if page is not None and page.is_file() else ""
                ev.append({"text": printable(" ".join(f"{k}={_cell_text(k, v)}"
                                                       for k, v in zip(o.evidence.columns, vals))), "link": link})
            cells.append({"status": o.status, "order": _ORDER[o.status], "detail": printable(o.detail),
                          "points": fmt_points(o.points), "evidence": ev})
        rows.append({"name": printable(g.capture), "cells": cells, "points": fmt_points(g.points),
                     "points_v": g.points, "max_points": fmt_points(g.max_points)})
    return rows


def render_grid(rubric: Rubric, grades: Sequence[Grade], results: Sequence[dict], out: Path) -> Markup:
    """The grid section (HTML) for the batch index."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    n = len(grades) or 1
    totals: list[dict[str, Any]] = [
        {"passed": sum(g.outcomes[i].status == "pass" for g in grades),
         "errors": sum(g.outcomes[i].status == "error" for g in grades)} for i in range(len(rubric.checks))]
    html = env.get_template("rubric_grid.html").render(
        title=printable(rubric.title), path=printable(Path(rubric.path).name),
        checks=[{"id": c.id, "title": printable(c.title), "points": fmt_points(c.points),
                 "sql": printable(c.sql), "expect": printable(c.expect_text)} for c in rubric.checks],
        rows=grid_rows(grades, results, out), totals=totals, captures=len(grades),
        mean=fmt_points(round(sum(g.points for g in grades) / n, 2)), max_points=fmt_points(rubric.max_points))
    return Markup(html)   # noqa: S704 — rendered by an autoescaping template above
