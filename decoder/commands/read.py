"""``wiretale read``: captures → OUT (tables, files, e-mails, transcripts, summary.json, HAR, HTML report).

:func:`read_captures` is the command, configured by one :class:`~decoder.commands.options.ReadOptions`; the
command line (:mod:`decoder.commands.cli`) and each capture of a batch (:func:`decoder.commands.batch.process_capture`) call
it. It checks that an input is readable before OUT is touched, claims OUT (:mod:`decoder.outdir`: locked,
ours, the earlier run's files removed), runs the engine (or, on several processes, the split run,
:mod:`decoder.commands.split`), writes the outputs (:func:`decoder.commands.output.write_outputs`) and prints one
line of counts and where to look. A stop (Ctrl-C, SIGTERM, SIGHUP) or failure leaves the finished files
whole and ``summary.json`` saying what is missing. Exit code 0, or 1 when a capture could not be read or
nothing in it could be decoded (said on stderr and in ``summary.json``).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Sequence

from decoder.commands.options import ReadOptions, UsageError, split_workers


def read_captures(paths: Sequence[str], out: Path, opts: ReadOptions) -> int:
    """Read ``paths`` (``-`` is stdin) into ``out``; the exit code (see the module docstring)."""
    from decoder.outdir import claim

    paths = list(paths)
    if not paths:
        raise UsageError("read needs at least one capture (or -r FILE, or - for stdin)")
    workers = split_workers(opts.workers, paths)
    if not _readable(paths):
        return 1                  # said on stderr; nothing written, OUT not created
    od = claim(out, force=opts.force)       # locked, ours, the earlier run's files removed
    try:
        with _stops_raise():
            rc = _read_parallel(opts, workers, paths, out) if workers > 1 else _read_one(opts, paths, out, od)
        od.write_manifest("complete")
        return rc
    except BaseException as e:
        from decoder.commands.output import stop_reason

        reason = stop_reason(e, "the run")
        try:
            _summary_says_partial(out, reason)
            od.write_manifest("partial", reason)
        except OSError:
            pass
        raise
    finally:
        od.close()


def _summary_says_partial(out: Path, reason: str) -> None:
    """Unless summary.json already says how the run ended (write_outputs does), say it is partial."""
    import json

    from decoder.commands.output import PHASES
    from reports.export import write_json

    p = out / "summary.json"
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    if "output" in doc:
        return
    doc["output"] = {"state": "partial", "reason": reason, "written": [], "missing": list(PHASES)}
    write_json(doc, p)


def _read_one(opts: ReadOptions, paths: list[str], out: Path, od) -> int:
    from decoder.commands.output import stop_reason, write_outputs
    from decoder.pipeline import Engine, run_engine

    prog = Progress(_size(paths), "reading")
    engine = Engine(limits=opts.limits, out_dir=out, strict=opts.strict, progress=prog,
                    transcripts=opts.html, keylogs=list(opts.keylogs), spill_dir=od.scratch / "spill")
    if not opts.html and opts.tables == "jsonl":
        from decoder.commands.written_once import written_once

        engine.results.row_encoder = written_once(engine.registry)
    try:
        run_engine(engine, paths)
    except BaseException as e:     # stopped or failed while decoding: say so in summary.json
        try:
            _summary_says_partial(out, stop_reason(e, "decoding"))
        except OSError:
            pass
        raise
    prog.done()
    res = engine.results
    for e in res.errors:
        print(f"wiretale: {e}", file=sys.stderr)
    for c in res.captures:
        for w in c["warnings"]:
            print(f"wiretale: warning: {c['path']}: {w}", file=sys.stderr)
    summary = write_outputs(engine, out, html=opts.html, show_secrets=opts.show_secrets, fmt=opts.tables,
                            scratch=od.scratch)
    _print_summary(summary, out, html=opts.html)
    return _read_status(summary)


class _stops_raise:
    """SIGTERM and SIGHUP raise :class:`decoder.commands.output.Stopped` (as Ctrl-C raises KeyboardInterrupt),
    so a stop ends the run through the same path: finished files whole, summary.json partial."""

    SIGNALS = ("SIGTERM", "SIGHUP")

    def __enter__(self) -> "_stops_raise":
        import signal
        import threading

        from decoder.commands.output import Stopped

        self.old: dict = {}
        if threading.current_thread() is not threading.main_thread():
            return self

        def raise_stop(signum, _frame):
            raise Stopped(signum)

        for name in self.SIGNALS:
            sig = getattr(signal, name, None)
            if sig is not None:
                self.old[sig] = signal.signal(sig, raise_stop)
        return self

    def __exit__(self, *exc) -> None:
        import signal

        for sig, h in self.old.items():
            signal.signal(sig, h)


def _read_status(s: dict) -> int:
    """``read``'s exit code; an undecodable capture says why on stderr."""
    if s.get("undecodable"):
        print(f"wiretale: nothing decoded: {s['undecodable']}", file=sys.stderr)
        return 1
    return 1 if s.get("errors") else 0


def _readable(paths: Sequence[str]) -> bool:
    """Whether at least one input can be read as a capture; when none can, each is said in one line (else
    the run says it, and records it in ``summary.json``). ``-``, stdin, cannot be checked first."""
    from decoder.capture import CaptureError, check_capture, is_stream

    errors = []
    for p in paths:
        try:
            if not is_stream(p):          # (a FIFO or stdin would lose the bytes read to check it)
                check_capture(p)
            return True
        except CaptureError as e:
            errors.append(str(e))
    for e in errors:
        print(f"wiretale: {e}", file=sys.stderr)
    return False


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 flow``, ``2 flows``, ``1,234 e-mails`` (``many`` when adding an s is wrong)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _print_summary(s: dict, out: Path, how: str = "", html: bool = True) -> None:
    """What ``read`` prints when it is done: one line of counts, then where to look."""
    kinds = len(s["anomalies"])
    sessions = ", ".join(f"{k} {v:,}" for k, v in s["sessions"].items()) or "none"
    print(f"{plural(s['packets']['total'], 'packet')}, {plural(s['flows']['total'], 'flow')} ({sessions}), "
          f"{plural(s['files'], 'file')}, {plural(s['emails'], 'e-mail')}, "
          f"{plural(kinds, 'kind') + ' of anomaly' if kinds else 'no anomalies'}{how}")
    if html:
        print(f"open {out / 'index.html'}")
    else:
        print(f"tables in {out / 'tables'}, summary in {out / 'summary.json'}")


def _read_parallel(opts: ReadOptions, workers: int, paths: list[str], out: Path) -> int:
    from decoder.commands.split import read_parallel

    if len(paths) != 1 or paths[0] == "-":
        raise UsageError("--workers splits one capture file by host pair: give exactly one file (not stdin)")
    try:
        s = read_parallel(paths[0], out, workers, limits=opts.limits, strict=opts.strict,
                          html=opts.html, show_secrets=opts.show_secrets, tables=opts.tables,
                          keylogs=opts.keylogs)
    except Exception as e:   # CaptureError and friends: one line
        from decoder.capture import CaptureError

        if isinstance(e, CaptureError):
            print(f"wiretale: {e}", file=sys.stderr)
            return 1
        raise
    for e in s.get("errors") or []:
        print(f"wiretale: {e}", file=sys.stderr)
    _print_summary(s, out, f" on {workers} workers", html=opts.html)
    return _read_status(s)



class Progress:
    """A one-line progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self, total: int, label: str) -> None:
        self.total = max(total, 1)
        self.label = label
        self.enabled = sys.stderr.isatty() and total > 0
        self.start = time.monotonic()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        frac = min(done / self.total, 1.0)
        width = 30
        bar = "#" * int(frac * width)
        rate = done / max(time.monotonic() - self.start, 1e-6) / 1e6
        sys.stderr.write(f"\r{self.label[:30]:30} [{bar:<{width}}] {frac:6.1%} {rate:6.1f} MB/s")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 90 + "\r")
            sys.stderr.flush()


def _size(paths: Sequence[str]) -> int:
    total = 0
    for p in paths:
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    return total

