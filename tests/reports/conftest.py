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
