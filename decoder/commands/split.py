"""The split run: one large capture on several cores (``wiretale read --workers N``).

Frames are shared out by host pair (:mod:`decoder.share`: each worker is the
one engine given a frame filter): the unordered pair of IP addresses is
hashed, so both directions of a flow, FTP control and data, and TFTP request
and transfer land in the same worker (IPv4/IPv6 fragments carry the
addresses too). Every worker reads the whole file and keeps only its share
(frame numbers stay those of the file, and uids, derived from endpoints,
first timestamp and first frame, are those of a single-process run); frames
without an IP header go to worker 0. Foreign frames still advance the
worker's clock (idle timeouts, expectation TTLs and end-of-capture times run
on the same capture time as in a single pass). The workers' rows are merged
in the order a single run makes them (:class:`EmitOrder`: where in the capture each row was made;
``conn`` by start time and first frame, as a single run sorts it), their files, e-mails and transcripts
moved into OUT, and OUT is written as ``wiretale read`` writes it. The result equals a single-process
run byte for byte (tables in the same row order, the HAR's entries in the same order, the report),
except for what depends on counts across the whole capture: caps (``max_flows``, ``max_files``,
``max_expectations``, ``max_fragment_sets``; ``max_lingering_flows`` closes a finished flow early, so a
stray ACK after it may start a new flow), and an expectation matched by port only (NAT) from a different
host pair. With JSON lines and no report (``read --workers N --no-html``), the workers also encode their
tables' lines and their HTTP rows' HAR entries (blocks with an index of (key, end offset), copied by
``copy_file_range`` in merged order), and the parent only interleaves bytes.

:func:`read_parallel` is the entry point; the ``read`` command (:mod:`decoder.commands.read`) calls it
when ``--workers`` asks for more than one process.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Sequence

from decoder.commands.options import fork_context, worker_count
from decoder.share import FrameShare

_FIRST, _SECOND = itemgetter(0), itemgetter(1)     # of the (key, …) pairs a split run's workers write
HAR_BLOCK = "http.har.part"     # a split run's worker: its HAR entries (_write_har_block)


def _partition_worker(path: str, part_dir: str, share: int, n: int, limits: Any, strict: bool,
                      transcripts: bool, encode: bool = False, keylogs: tuple[str, ...] = ()) -> dict:
    """Decode one share of ``path`` into ``part_dir``. Each table, kept sorted by its merge key, is written
    to ``part_dir/rows``: as rows (``<table>.pkl``), or, with ``encode`` (JSON lines, no report: what the
    parent writes needs no rows), as (key, JSON line) pairs (``<table>.lines``), the HTTP rows' HAR
    entries (``http.har.part``, a block the parent appends as it is) and the counts the summary takes
    from rows."""
    marks = [("start", time.perf_counter(), time.process_time())]
    from decoder.pipeline import Engine, count_for_summary, run_engine

    pd_ = Path(part_dir)
    pd_.mkdir(parents=True, exist_ok=True)
    engine = Engine(limits=limits, out_dir=pd_, strict=strict, transcripts=transcripts, keylogs=keylogs,
                    share=FrameShare(share, n))
    # every table in the order the engine makes its rows, as in a single run (conn sorted by its key, as
    # there), and where in the capture each row was made: the parent interleaves the workers' rows by that
    emitted = EmitOrder(engine)
    if encode:      # rows written once: the tables nothing reads back keep their JSON lines from the start
        from decoder.commands.written_once import written_once

        engine.results.row_encoder = written_once(engine.registry)
    marks.append(("engine made", time.perf_counter(), time.process_time()))
    run_engine(engine, [path])
    engine.flush_counts()
    marks.append(("decoded", time.perf_counter(), time.process_time()))
    res = engine.results
    rows_dir = pd_ / "rows"
    rows_dir.mkdir(exist_ok=True)
    from decoder.rows import dump_batches

    tables = []
    counts = {}
    har_first = None
    for name, st in res.tables.items():
        if encode:
            keys: list | None = [] if name == "http" else None
            _write_encoded(name, st, emitted, rows_dir / f"{name}.lines", keys)
            if keys:
                har_first = _write_har_block(st, iter(keys), rows_dir / HAR_BLOCK, res, pd_ / "files")
        else:
            dump_batches(rows_dir / f"{name}.pkl", emitted.pairs(name, st))
        tables.append(name)
        counts[name] = len(st)
    summary_counts = count_for_summary(res.tables) if encode else None
    res.cleanup()
    marks.append(("written", time.perf_counter(), time.process_time()))
    return {"tables": tables, "counts": counts, "captures": res.captures, "errors": res.errors,
            "packets": dict(res.packets), "limits_hit": dict(res.limits_hit), "summary_counts": summary_counts,
            "har_first": har_first, "marks": marks}


#: a split run's worker: the key of a row that a hook may read and replace (:class:`EmitOrder`), kept in the row
STAMP = "\0emit"


class EmitOrder:
    """Where in the capture a split run's worker made each row, as a key that puts the workers' rows in the
    order a single run makes them: the frame being read (the reassembly's ``frame_no``) and whether the
    capture was being read, closed (flows and objects still open) or done (capture rows, assemble hooks);
    then, within one frame, the flows an idle sweep closed (by idle list, then in the list's order of last
    activity: their last frame), then the dissectors' own sweep, then the frame's own rows; at the end of
    the capture, the flows closed in the order they were opened (first frame). A single run makes a
    frame's rows in that order too, so the merge by this key restores it; rows of two workers with the
    same key go worker by worker. Installed on the engine of one worker (its ``results.add``,
    ``finish_capture``, the reassembly's ``_close_flow`` and the host's ``sweep``); one capture per run.

    The key of a row kept as a row (a table without a JSON-lines encoder: one an assemble hook may read,
    join and replace, dropping rows) rides in the row (:data:`STAMP`, an int; a hook's ``dict(row)``
    keeps it) and is taken out when the worker writes it (:meth:`pairs`); a row a hook made anew has the
    key of the row in its place, or, past the rows made, the end. Every row's key is also kept in two
    arrays (8 bytes each a row) until the worker writes its tables."""

    def __init__(self, engine: Any) -> None:
        from array import array

        self.major: dict[str, Any] = {}
        self.minor: dict[str, Any] = {}
        self.stamped: set[str] = set()
        phase = [0]
        sub = [2 << 40]      # within a frame: 0 flows closed (+ list, last frame), 1 the host's sweep, 2 the frame
        r = engine.reassembly
        res = engine.results
        add, finish, close, sweep = res.add, engine.finish_capture, r._close_flow, r.consumer.sweep
        lists = r.idle_lists

        def counted_add(table: str, row: dict, plain: bool = False) -> None:
            m = self.major.get(table)
            if m is None:
                m = self.major[table] = array("q")
                self.minor[table] = array("q")
                if res.row_encoder(table) is None:
                    self.stamped.add(table)
            major = r.frame_no * 4 + phase[0]
            if table in self.stamped:
                row[STAMP] = (major << 42) | sub[0]
            m.append(major)
            self.minor[table].append(sub[0])
            add(table, row, plain)

        def closing(flow: Any, ts: float, reason: str) -> None:
            before = sub[0]
            if phase[0] == 1:
                sub[0] = flow.first_frame
            else:
                kind = next((i for i, lst in enumerate(lists.values()) if lst is flow.idle), len(lists))
                sub[0] = (kind << 36) + flow.last_frame
            try:
                close(flow, ts, reason)
            finally:
                sub[0] = before

        def sweeping(now: float) -> None:
            sub[0] = 1 << 40
            try:
                sweep(now)
            finally:
                sub[0] = 2 << 40

        def finishing() -> None:
            phase[0] = 1
            finish()
            phase[0] = 2

        res.add = counted_add
        engine.finish_capture = finishing
        r._close_flow = closing
        r.consumer.sweep = sweeping
        self._reassembly = r

    def keys(self, table: str, st: Any) -> Any:
        """The keys of ``table``'s rows as made, in order (past them, the end: rows a hook stored apart)."""
        major, minor = self.major.get(table, ()), self.minor.get(table, ())
        end = ((self._reassembly.frame_no + 1) * 4) << 42
        made = (m << 42 | n for m, n in zip(major, minor))
        return itertools.chain(made, itertools.repeat(end, max(0, len(st) - len(major))))

    def pairs(self, table: str, st: Any) -> Any:
        """(merge key, row) of ``st``'s rows in the order held, each row's :data:`STAMP` taken out: the key of
        a sorted store (conn) is its own sort key."""
        for row, k in zip(st, self.keys(table, st)):
            k = row.pop(STAMP, k)
            yield (st.key(row) if st.key is not None else k), row


def _write_encoded(name: str, st: Any, emitted: EmitOrder, path: Path, keep: list | None = None) -> None:
    """``st``'s rows as (merge key, JSON line) pairs to ``path`` (:class:`EmitOrder`; a sorted store's own key);
    ``keep``: a list the keys are also put in, in the order held."""
    from decoder.rows import dump_batches
    from reports.export import JsonlEncoder
    from reports.tables import schema

    if st.encoder is not None:
        lines = st.encoded_pairs() if st.key is not None else zip(emitted.keys(name, st), _lines(st.encoded()))
        dump_batches(path, lines)
        return
    encode = JsonlEncoder(schema(name))

    def pairs():
        it = emitted.pairs(name, st)
        while batch := list(islice(it, encode.batch)):
            keys = [k for k, _r in batch]
            if keep is not None:
                keep.extend(keys)
            yield from zip(keys, encode([r for _k, r in batch]))

    dump_batches(path, pairs())


def _lines(blocks: Any) -> Any:
    """The JSON lines (each with its newline) of ``blocks`` of bytes, which may cut a line anywhere (a JSON line
    holds no raw newline)."""
    rest = b""
    for block in blocks:
        lines = block.split(b"\n")
        lines[0] = rest + lines[0]
        rest = lines.pop()
        yield from (line + b"\n" for line in lines)
    if rest:
        raise ValueError("a JSON-lines block ends inside a line")


def _write_har_block(rows: Any, keys: Any, path: Path, res: Any, files_dir: Path) -> float | None:
    """The HAR entries of ``rows`` (http rows, in the order held) to ``path``, each after ``ENTRY_SEP``, and
    beside it (``.idx``) each entry's merge key (``keys``) and end offset: the parent copies the workers'
    entries in merged order. Returns the earliest entry's start (None: no entries)."""
    from decoder.rows import dump_batches
    from reports.har import ENTRY_SEP, har_entries, write_entries

    ends: list[int] = []
    with open(path, "wb") as fh:
        entries = har_entries(rows, {"files": res.tables.get("files", ())}, files_dir)
        first = write_entries(fh, ((float(r["ts"]), e) for r, e in entries), ENTRY_SEP, ends)
    index = list(zip(keys, ends))
    dump_batches(path.with_suffix(".idx"), index)
    return first


class MergedTable:
    """A table of a split run: the workers' sorted row files interleaved by key as they are read
    (nothing is loaded or copied first). Re-iterable, with the parts of the RowStore interface
    the writers use (``len``, ``to_list``, ``clear_spills``)."""

    suffix = ".pkl"       # the workers' file of each table: pickled row lists

    def __init__(self, name: str, files: list[Path], count: int) -> None:
        self.name = name
        self.files = files
        self._n = count

    def __iter__(self):
        return map(_SECOND, _merged(self.files, _FIRST))

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def to_list(self) -> list[dict]:
        return list(self)

    def clear_spills(self) -> None:
        pass     # the files are the workers' (removed with .parts)


class EncodedTable(MergedTable):
    """A table of a split run whose workers wrote (key, JSON line) pairs: iterating gives the lines,
    interleaved by key."""

    suffix = ".lines"

    def to_list(self) -> list[dict]:
        raise TypeError(f"{self.name}: a split run's encoded table holds JSON lines, not rows")


def _merged(files: Sequence[Path], key: Callable) -> Any:
    """The items of the workers' sorted files of pickled lists, interleaved by ``key`` (ties: worker order)."""
    from decoder.rows import _load_iter

    sources = [_load_iter(f) for f in files]
    if len(sources) == 1:
        return iter(sources[0])
    return heapq.merge(*sources, key=key)


def write_encoded_outputs(run: Any, out: Path, counts: dict, har_blocks: Sequence[tuple[Path, float]],
                          pool: Any = None, processes: int = 1) -> dict:
    """OUT of a split run with JSON lines and no report, from what the workers encoded: each table's
    lines interleaved as they are read, the HAR from the workers' blocks, and summary.json from the counts
    the workers took. The same files as :func:`decoder.commands.output.write_outputs` writes for that run.
    ``har_blocks``: see :func:`_join_har_blocks`. ``pool``: the workers' pool of ``processes``, whose
    processes (idle once the workers are done) then merge the tables, a share of them each
    (:func:`_table_groups`), while this process joins the HAR; without it the tables are merged here."""
    from decoder.pipeline import build_summary
    from reports.export import write_json
    from reports.tables import names_for

    res = run.results
    summary = build_summary(run, counts)
    tdir = out / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
    jobs = [(name, [str(f) for f in t.files] if (t := res.tables.get(name)) else [], len(t) if t else 0)
            for name in names_for(res.tables)]
    with ThreadPoolExecutor(max_workers=1) as side:   # the HAR (the most bytes) beside the tables
        har = side.submit(_join_har_blocks, out / "http.har", har_blocks) if res.tables.get("http") else None
        if pool is not None:
            for f in [pool.submit(_write_tables, group, str(tdir)) for group in _table_groups(jobs, processes)]:
                f.result()
        else:
            _write_tables(jobs, str(tdir))
        if har is not None:
            har.result()
    res.cleanup()
    summary["output"] = {"state": "complete", "written": ["tables", "summary", "har"], "missing": []}
    write_json(summary, out / "summary.json")
    return summary


def _table_groups(jobs: Sequence[tuple[str, list[str], int]], n: int) -> list[list[tuple[str, list[str], int]]]:
    """``jobs`` (table, workers' files, rows) in ``n`` groups of about as many rows (the largest table first
    to the group with the fewest rows; empty groups left out)."""
    groups: list[list] = [[] for _ in range(max(1, n))]
    rows = [0] * len(groups)
    for job in sorted(jobs, key=lambda j: -j[2]):
        i = rows.index(min(rows))
        groups[i].append(job)
        rows[i] += job[2] + 1
    return [g for g in groups if g]


def _write_tables(jobs: Sequence[tuple[str, list[str], int]], tdir: str) -> None:
    """Each table of ``jobs`` (name, the workers' ``.lines`` files, rows) written to ``tdir/<name>.jsonl``:
    the workers' lines interleaved by key as they are read (an empty file for a table without rows)."""
    from reports.export import replacing

    for name, files, count in jobs:
        table = EncodedTable(name, [Path(f) for f in files], count)
        with replacing(Path(tdir) / f"{name}.jsonl") as tmp, open(tmp, "wb") as fh:
            if table:
                it = iter(table)
                while chunk := list(islice(it, 1000)):
                    fh.write(b"".join(chunk))


def _join_har_blocks(path: Path, blocks: Sequence[tuple[Path, float]]) -> None:
    """The HAR of a split run: the workers' entries in the order a single run writes them (their ``.idx``
    keys merged, :class:`EmitOrder`), each run of one worker's consecutive entries copied in the kernel
    (``copy_file_range``: no copy through this process, and none at all where the file system shares
    extents), between the head and the end of the document. ``blocks``: (file, earliest start) of each
    worker with HTTP rows, in worker order."""
    from decoder.artifacts import write_all
    from decoder.rows import _load_iter
    from reports.har import har_head, har_tail

    first = min((f for _p, f in blocks), default=None)

    def entries(i: int, idx: Path) -> Any:
        return ((k, i, end) for k, end in _load_iter(idx))

    merged = heapq.merge(*[entries(i, p.with_suffix(".idx")) for i, (p, _f) in enumerate(blocks)], key=_FIRST)
    with contextlib.ExitStack() as stack, open(path, "wb") as out:
        srcs = [stack.enter_context(open(p, "rb")) for p, _f in blocks]
        out.write(har_head())
        out.flush()
        fd = out.fileno()
        done = [0] * len(blocks)        # each block's bytes copied so far
        skip = 1                        # the first entry follows "[" and a newline: its leading comma goes
        run = None                      # (block, start, end) of the run of entries being gathered
        for _k, i, end in merged:
            if run is not None and run[0] != i:
                _copy_range(fd, srcs[run[0]], run[1] + skip, run[2])
                skip = 0
                run = None
            run = (i, done[i] if run is None else run[1], end)
            done[i] = end
        if run is not None:
            _copy_range(fd, srcs[run[0]], run[1] + skip, run[2])
        write_all(fd, har_tail(first))


def _copy_range(dst: int, fh: Any, start: int, end: int) -> int:
    """Append bytes ``start`` to ``end`` of the open file ``fh`` at the position of descriptor ``dst``, with
    ``copy_file_range``, or a read/write loop where the kernel or file system has none. Returns the bytes."""
    from decoder.artifacts import write_all

    off, left = start, end - start
    try:
        while left > 0:
            n = os.copy_file_range(fh.fileno(), dst, min(left, 1 << 30), off)
            if n == 0:
                break
            off += n
            left -= n
    except (AttributeError, OSError):     # no copy_file_range (other OS, old kernel, EXDEV …)
        pass
    if left > 0:
        fh.seek(off)
        while left > 0 and (chunk := fh.read(min(left, 1 << 20))):
            write_all(dst, chunk)
            left -= len(chunk)
    return end - start


def _move_objects(part_dirs: Sequence[str], out: Path) -> None:
    """The workers' files, e-mails and transcripts into OUT: names are unique (fuid, uid), so moving keeps
    every path the tables name."""
    for d in part_dirs:
        for sub in ("files", "emails", "streams"):
            src = Path(d) / sub
            if src.is_dir():
                dst = out / sub
                dst.mkdir(exist_ok=True)
                with os.scandir(src) as entries:     # tens of thousands of files: no Path per file
                    for f in entries:
                        os.replace(f.path, os.path.join(dst, f.name))


class MergedRun:
    """What the report and summary code need from an :class:`~decoder.pipeline.Engine`, rebuilt from the
    workers' results (``out_dir``, ``results``, ``limits``, ``flush_counts``)."""

    def __init__(self, out_dir: Path, results: Any, limits: Any) -> None:
        self.out_dir = out_dir
        self.results = results
        self.limits = limits

    def flush_counts(self) -> None:
        pass


def read_parallel(path: str | Path, out: str | Path, workers: int = 0, limits: Any = None, strict: bool = False,
                  html: bool = True, show_secrets: bool = False, tables: str = "jsonl",
                  keylogs: Sequence[str] = (), timeline: list[tuple[str, float, float]] | None = None) -> dict:
    """Decode one capture on ``workers`` processes (split by host pair) and write OUT as ``wiretale read``
    does (tables, files, e-mails, transcripts, summary.json, http.har and the HTML report unless
    ``html=False``). Returns the summary. See the module docstring for what is and is not identical.
    ``timeline``: when given, (what, ``time.perf_counter()``, ``time.process_time()``) marks of the parent
    and of each worker (``worker I: …``) are appended to it (``benchmarks/split_timeline.py``)."""
    mark = timeline.append if timeline is not None else _no_mark
    mark(("parent: read_parallel", time.perf_counter(), time.process_time()))
    from decoder.model import Limits

    path = str(path)
    if path == "-":
        raise ValueError("read_parallel needs a file: every worker reads it (stdin cannot be read twice)")
    limits = limits or Limits()
    n = worker_count(workers)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # the workers' parts (rows, objects renamed into OUT afterwards, so on OUT's file system): a folder of
    # this run's own (mkdtemp: a new name, mode 0700), never a fixed name removed wholesale
    parts_root = Path(tempfile.mkdtemp(prefix=".parts-", dir=out))
    part_dirs = [str(parts_root / f"{i}") for i in range(n)]
    # JSON lines and no report: the workers encode the lines and HAR entries, the parent interleaves bytes
    encode = tables == "jsonl" and not html
    argsets = [(path, part_dirs[i], i, n, limits, strict, html, encode, tuple(map(str, keylogs))) for i in range(n)]
    _load_engine()
    mark(("parent: engine loaded", time.perf_counter(), time.process_time()))
    try:
        with contextlib.ExitStack() as stack:
            pool = (stack.enter_context(ProcessPoolExecutor(max_workers=n, mp_context=fork_context()))
                    if n > 1 else None)
            if pool is None:
                parts = [_partition_worker(*argsets[0])]
            else:
                parts = list(pool.map(_partition_worker, *zip(*argsets)))
            mark(("parent: workers done", time.perf_counter(), time.process_time()))
            for i, p in enumerate(parts):
                for what, t, cpu in p["marks"]:
                    mark((f"worker {i}: {what}", t, cpu))
            if not encode:      # only the JSON lines' merge runs in the pool: its processes end here
                stack.close()
                pool = None
            summary = _write_merged(parts, part_dirs, out, encode, limits, pool, n, html=html,
                                    show_secrets=show_secrets, tables=tables)
        mark(("parent: written", time.perf_counter(), time.process_time()))
        return summary
    finally:
        shutil.rmtree(parts_root, ignore_errors=True)


def _write_merged(parts: list[dict], part_dirs: Sequence[str], out: Path, encode: bool, limits: Any, pool: Any,
                  n: int, **opts: Any) -> dict:
    """OUT from the workers' results: their rows merged (:class:`EncodedTable` or :class:`MergedTable`),
    objects moved in, and the outputs written (:func:`write_encoded_outputs`, the tables merged in
    ``pool``'s processes, or :func:`decoder.commands.output.write_outputs`)."""
    from decoder.commands.output import write_outputs
    from decoder.pipeline import Results

    res = Results(spill_dir=out / ".spill")
    names = sorted({t for p in parts for t in p["tables"]})
    kind = EncodedTable if encode else MergedTable
    for name in names:
        res.tables[name] = kind(   # type: ignore[assignment]
            name, [Path(part_dirs[i]) / "rows" / f"{name}{kind.suffix}" for i, p in enumerate(parts)
                   if name in p["tables"]],
            sum(p["counts"].get(name, 0) for p in parts))
    for p in parts:
        res.packets.update(p["packets"])
        res.limits_hit.update(p["limits_hit"])
    res.errors = list(dict.fromkeys(e for p in parts for e in p["errors"]))
    caps = [dict(c) for c in parts[0]["captures"]]
    for c_i, c in enumerate(caps):
        c["packets_counted"] = sum(p["captures"][c_i]["packets_counted"] for p in parts
                                   if len(p["captures"]) > c_i)
    res.captures = caps
    run = MergedRun(out, res, limits)
    if not encode:
        _move_objects(part_dirs, out)
        return write_outputs(run, out, html=opts["html"], show_secrets=opts["show_secrets"], fmt=opts["tables"],
                             processes=n)
    counts = {k: sum((Counter(p["summary_counts"][k]) for p in parts), Counter())
              for k in ("services", "protos", "anomalies", "tls")}
    rows = [Path(d) / "rows" for d in part_dirs]
    with ThreadPoolExecutor(max_workers=1) as side:     # 51,000 renames at 1 GB, beside the writing
        moved = side.submit(_move_objects, part_dirs, out)
        blocks = [(r / HAR_BLOCK, p["har_first"]) for r, p in zip(rows, parts) if p["har_first"] is not None]
        summary = write_encoded_outputs(run, out, counts, blocks, pool, n)
        moved.result()
    return summary


def _no_mark(_mark: tuple[str, float, float]) -> None:
    pass


def _load_engine() -> None:
    """Import what every worker and the writing afterwards need (the engine, every dissector module, the
    writers) before the workers are forked: they inherit it instead of each importing it again (an
    import is CPU, 0.1-0.2 s each), and the parent's writing does not wait on imports either."""
    import decoder.rows  # noqa: F401
    import decoder.session  # noqa: F401
    import reports.export  # noqa: F401
    import reports.har  # noqa: F401
    import reports.tables  # noqa: F401
    from dissectors import load_all

    load_all()


