"""Writing what a run produced: tables, HAR, summary and (optionally) the HTML report.

One function serves ``wiretale read``, the parallel split of one capture
(:func:`decoder.commands.split.read_parallel`) and batch runs, so the three write the same
things the same way. Rows are streamed from the disk-backed tables once, one way: each
row written is also handed to the report's collector (:mod:`reports.collect`), which keeps
the index's aggregates and spills the session pages' rows, sorted by session, to a scratch
folder (``read``: a private temporary folder, :mod:`decoder.outdir`); the report is rendered
after the tables, and no DataFrame (no pandas) is made on this path for JSON lines and CSV tables
(``--tables parquet`` builds one table's DataFrame at a time). Outputs are written in
the order of their value and each one atomically (:func:`write_outputs`).
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any


PHASES = ("tables", "summary", "har", "report")   # the order outputs are written in: most valuable first


class Stopped(KeyboardInterrupt):
    """A stop asked by a signal (SIGTERM, SIGHUP; Ctrl-C is a plain KeyboardInterrupt) while the run was
    going on: ``signum``."""

    def __init__(self, signum: int) -> None:
        import signal

        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop_reason(e: BaseException, phase: str) -> str:
    """Why a run ended before its outputs were whole, in words (summary.json ``output.reason``)."""
    where = {"decoding": "while decoding", "tables": "while writing the tables",
             "summary": "while writing summary.json", "har": "while writing the HAR",
             "report": "while writing the HTML report"}.get(phase, f"during {phase}")
    if isinstance(e, Stopped):
        return f"stopped by {e} {where}"
    if isinstance(e, KeyboardInterrupt):
        return f"interrupted (Ctrl-C) {where}"
    if isinstance(e, OSError):
        from decoder.outdir import describe_env_error

        return f"{describe_env_error(e) or f'{type(e).__name__}: {e}'} ({where})"
    return f"failed {where}: {type(e).__name__}: {e}"


def write_outputs(run: Any, out: Path, html: bool, show_secrets: bool, fmt: str = "jsonl",
                  processes: int = 1, scratch: Path | None = None) -> dict:
    """``run`` is an :class:`~decoder.pipeline.Engine` (or anything with ``results``,
    ``limits``, ``out_dir`` and ``flush_counts``). Returns the summary that was written.

    Written in the order of their value (:data:`PHASES`), each file under a temporary name renamed
    when whole: the tables, then ``summary.json`` (its ``output`` says ``partial`` until the end),
    then the HAR, then the report (session pages, then the index). A stop or a failure on the way
    leaves what finished whole, and ``summary.json`` saying ``partial``, why and what is missing;
    the exception is raised again (exit codes are the caller's). ``scratch``: a private folder for
    the report's sorting files (default: ``OUT/.report-spill``).

    ``processes > 1`` (``read --workers N``, which was given the cores): without the report, the
    HAR and the timeline table are written by a forked child while this process writes the other
    tables (both only read the disk-backed tables); with the report, its session pages are rendered by
    that many forked processes (:func:`reports.html.render_report`). Where ``fork`` is not available, or
    a child fails, this process writes them itself: the files are the same either way."""
    from decoder.pipeline import build_summary
    from reports.export import write_json

    res = run.results
    summary = build_summary(run)
    pending = [p for p in PHASES if html or p != "report"]
    done: list[str] = []
    phase = pending[0]
    col = _collector(out, scratch) if html else None

    def mark(state: str, reason: str | None = None) -> None:
        summary["output"] = {"state": state, "written": list(done),
                             "missing": [p for p in pending if p not in done]}
        if reason:
            summary["output"]["reason"] = reason
        write_json(summary, out / "summary.json")

    try:
        _write_tables(run, out, fmt, processes, col[0] if col is not None else None)
        done.append("tables")
        phase = "summary"
        mark("partial", "the HAR and the report were still being written" if html else
             "the HAR was still being written")
        done.append("summary")
        phase = "har"
        if processes <= 1 or html:   # (the side writer wrote it otherwise)
            _write_har(res.tables, out)
        done.append("har")
        if col is not None:
            phase = "report"
            from decoder.transcripts import Transcripts, remove_packs
            from reports.html import render_report

            streams = getattr(run, "out_dir", None) or out
            render_report(col[0], out, summary, show_secrets, transcripts=Transcripts(
                streams, getattr(res, "streams", None)).head, processes=processes)
            remove_packs(Path(streams) / "streams")      # the pages carry those sessions' bytes whole
            done.append("report")
        summary["output"] = {"state": "complete", "written": list(done), "missing": []}
        write_json(summary, out / "summary.json")
    except BaseException as e:
        try:
            mark("partial", stop_reason(e, phase))
        except OSError:            # the disk that failed may refuse this too: the exception says it
            pass
        raise
    finally:
        if col is not None:
            col[1].clear()
            shutil.rmtree(col[2], ignore_errors=True)
        res.cleanup()
    return summary


def _collector(out: Path, scratch: Path | None) -> tuple:
    """The report's (collector, its row store, its spill folder): it is fed every row as the tables
    are written, and renders after them."""
    from decoder.rows import RowStore
    from reports.collect import SORT_KEY, ReportCollector
    from reports.page_rows import PartitionSink

    spill = (scratch / "report-spill") if scratch is not None else out / ".report-spill"

    def store(name: str, key: Any) -> RowStore:   # the collector's own sorting (scans and floods)
        return RowStore(name, spill, mem_rows=_REPORT_ROWS_IN_MEMORY, key=key)

    sink = PartitionSink(spill, store, SORT_KEY, mem_rows=_REPORT_ROWS_IN_MEMORY)
    return ReportCollector(sink, store), sink, spill


def _write_tables(run: Any, out: Path, fmt: str, processes: int, col: Any) -> None:
    """The tables (and, with ``processes > 1`` and no report, the HAR by a side writer); ``col``:
    the report's collector or None."""
    from reports.export import write_row_tables

    rows: Any = run.results.tables
    child = _start_side_writer(rows, out, fmt) if processes > 1 and col is None else None
    if child is None:
        write_row_tables(rows, out / "tables", fmt, observe=col.feed if col is not None else None)
    else:
        write_row_tables(rows, out / "tables", fmt, skip=_SIDE_TABLES)
        child.join()
        if child.exitcode != 0:          # not expected; the output must be whole all the same
            write_row_tables(rows, out / "tables", fmt, only=_SIDE_TABLES)
            _write_har(rows, out)


_REPORT_ROWS_IN_MEMORY = 1_000   # rows of session pages held before they spill (sorted by session) to disk
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
    from decoder.commands.options import fork_context

    ctx = fork_context()
    if ctx is None:               # no fork on this platform: this process writes them
        return None
    p = ctx.Process(target=_side_writer, args=(rows, out, fmt), daemon=True)
    p.start()
    return p
