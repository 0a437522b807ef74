"""Writing what a run produced: tables, HAR, summary and (optionally) the HTML report.

One function serves ``wiretale read``, the parallel split of one capture
(:func:`decoder.batch.read_parallel`) and batch runs, so the three write the same
things the same way. Without the report, rows are streamed from the disk-backed
tables and memory stays flat; the report needs DataFrames and builds them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def write_outputs(run: Any, out: Path, html: bool, show_secrets: bool, fmt: str = "jsonl") -> dict:
    """``run`` is an :class:`~decoder.pipeline.Engine` (or anything with ``results``,
    ``limits``, ``out_dir``). Returns the summary that was written."""
    from decoder.pipeline import Analysis, build_summary
    from reports.export import write_json, write_row_tables

    res = run.results
    if html:
        from reports.html import write_report

        a = Analysis(run, None)
        summary = a.summary
        rows: Any = a.rows
        write_report(a, out, show_secrets=show_secrets)
    else:
        summary = build_summary(run)
        rows = res.tables
    write_row_tables(rows, out / "tables", fmt)
    if rows.get("http"):
        from reports.har import write_har

        write_har({"http": rows["http"], "files": rows.get("files", ())}, out / "files", out / "http.har")
    res.cleanup()
    write_json(summary, out / "summary.json")
    return summary
