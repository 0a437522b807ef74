"""Writing what a run produced: tables, HAR, summary and (optionally) the HTML report.

One function serves ``wiretale read``, the parallel split of one capture
(:func:`decoder.batch.read_parallel`) and batch runs, so the three write the same
things the same way. Rows are streamed from the disk-backed tables once, one way: each
row written is also handed to the report's collector (:mod:`reports.collect`), which keeps
the index's aggregates and spills the session pages' rows, sorted by session, to
``OUT/.report-spill/``; the report is rendered after the tables, and no DataFrame (no
pandas) is made on this path.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


def write_outputs(run: Any, out: Path, html: bool, show_secrets: bool, fmt: str = "jsonl",
                  processes: int = 1) -> dict:
    """``run`` is an :class:`~decoder.pipeline.Engine` (or anything with ``results``,
    ``limits``, ``out_dir``). Returns the summary that was written.

    ``processes > 1`` (``read --workers N``, which was given the cores): without the report, the
    HAR and the timeline table are written by a forked child while this process writes the other
    tables (both only read the disk-backed tables). Where ``fork`` is not available, or the child
    fails, this process writes them itself: the files are the same either way."""
    from decoder.pipeline import build_summary
    from reports.export import write_json, write_row_tables

    res = run.results
    summary = build_summary(run)
    rows: Any = res.tables
    col = sink = None
    if html:      # the report is fed every row as the tables are written, and renders after them
        from decoder.rows import RowStore
        from reports.collect import SORT_KEY, ReportCollector

        sink = RowStore("report", out / ".report-spill", mem_rows=_REPORT_ROWS_IN_MEMORY, key=SORT_KEY)
        col = ReportCollector(sink)
    child = _start_side_writer(rows, out, fmt) if processes > 1 and not html else None
    if child is None:
        write_row_tables(rows, out / "tables", fmt, observe=col.feed if col is not None else None)
        _write_har(rows, out)
    else:
        write_row_tables(rows, out / "tables", fmt, skip=_SIDE_TABLES)
        child.join()
        if child.exitcode != 0:          # not expected; the output must be whole all the same
            write_row_tables(rows, out / "tables", fmt, only=_SIDE_TABLES)
            _write_har(rows, out)
    if col is not None and sink is not None:
        from reports.html import render_report

        try:
            render_report(col, out, summary, show_secrets, out_dir=getattr(run, "out_dir", None) or out,
                          streams=getattr(res, "streams", None))
        finally:
            sink.clear()
            shutil.rmtree(out / ".report-spill", ignore_errors=True)
    res.cleanup()
    write_json(summary, out / "summary.json")
    return summary


_REPORT_ROWS_IN_MEMORY = 5_000   # rows of session pages held before they spill (sorted by session) to disk
_SIDE_TABLES = frozenset({"timeline"})   # with the HAR, about as long to write as all the other tables


def _write_har(rows: Any, out: Path) -> None:
    if rows.get("http"):
        from reports.har import write_har

        write_har({"http": rows["http"], "files": rows.get("files", ())}, out / "files", out / "http.har")


def _side_writer(rows: Any, out: Path, fmt: str) -> None:
    from reports.export import write_row_tables

    write_row_tables(rows, out / "tables", fmt, only=_SIDE_TABLES)
    _write_har(rows, out)


def _start_side_writer(rows: Any, out: Path, fmt: str) -> Any:
    import multiprocessing

    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:            # no fork on this platform
        return None
    p = ctx.Process(target=_side_writer, args=(rows, out, fmt), daemon=True)
    p.start()
    return p
