"""Fixtures for the HTML report tests: rendering a capture (the browser is in tests/browser.py)."""
from __future__ import annotations

from pathlib import Path

from tests.browser import CHROMIUM_ARGS, Page, chromium_path  # noqa: F401 — used by report tests


def render(capture, out: Path, show_secrets: bool = False, keylogs=()):
    """Decode ``capture`` into ``out`` (with transcripts, as ``wiretale read`` does) and write the report."""
    from decoder.api import analyze
    from reports.html import write_report

    a = analyze(capture, out_dir=out, transcripts=True, strict=True, keylogs=keylogs)
    write_report(a, out, show_secrets=show_secrets)
    return a


def ladder_rows(page: str) -> list[list]:
    """A session page's ladder rows (reports.html._ladder_row), each whole: the rows the page writes as an index
    into its transcript (reports.html._ladder_refs) rebuilt as the page's script rebuilds them."""
    import json
    import re

    def block(name: str) -> list:
        m = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', page, re.S)
        return json.loads(m[1]) if m else []

    events = block("events-data")
    out = []
    for r in block("ladder-data"):
        if isinstance(r, int):
            r = [r, None]
        if len(r) == 2:
            e = events[r[0]]
            r = ["a", 1 - e[0], e[1], e[2], r[1] if r[1] is not None else ("Δ " + e[3] if e[3] else ""), e[5], e[6]]
        out.append(r)
    return out


def index_row_uids(page: str) -> list[str]:
    """The uids of an index page's session rows as written without JavaScript (reports.html._session_row: the
    uid is the second cell's text, a link to its page when it has one)."""
    import re

    return re.findall(r'<tr class="srow" data-proto="[^"]*"><td>\d+</td><td>(?:↳ )?(?:<a href="[^"]*">)?([^<]+)<', page)
