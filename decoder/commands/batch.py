"""Many captures, one index; one large capture on several cores.

``wiretale batch PATHS... -o OUT`` (:func:`run_batch`)
    PATHS are files, folders (searched recursively for ``*.pcap``, ``*.pcapng``,
    ``*.cap`` and ``*.gz``, hidden entries skipped) and globs (``**`` allowed).
    Every capture is processed on its own by :func:`process_capture`, which runs
    :func:`decoder.commands.read.read_captures`, the code of ``wiretale read
    CAPTURE -o OUT/captures/<name> --tables parquet`` (its tables, files,
    e-mails, summary and HTML report), with the batch's flags as one
    :class:`~decoder.commands.options.ReadOptions`. Then:

    * ``OUT/tables/<table>.parquet``: every capture's table in one Parquet file
      with a leading ``capture`` column (the capture's name), schemas unified
      across captures (integers and floats → float; other disagreements → JSON
      text), written one capture at a time so memory holds one capture's table;
    * ``OUT/summary.csv``: one row per capture (status, error, packets, flows,
      a column per service, e-mails, files, credentials, anomalies …);
    * ``OUT/summary.json``: the same facts plus the batch's totals;
    * ``OUT/index.html``: the index (:mod:`reports.batch`), linking each capture's
      report (``--no-html`` skips the per-capture reports, not the index).

    OUT is claimed as ``read`` claims its own (:mod:`decoder.outdir`): locked for the run (a second
    batch into it exits 2), refused when it holds files wiretale did not write (``--force`` writes
    beside them), an earlier batch's files removed first (so the index never mixes two runs), and
    a run manifest listing what the batch wrote.

    A capture that cannot be read is listed with its error; the batch goes on.
    Exit code: 0 when at least one capture was read, 1 when every capture failed,
    2 when PATHS name no capture at all (usage error).

    Where it runs: a local process pool (``--workers N``, default all cores; 1
    runs in this process; a batch of one capture file of 16 MB or more splits it
    over those processes, as ``read`` does), or a Dask cluster with ``--scheduler ADDRESS``: the
    same :func:`process_capture` is mapped over the captures with
    ``dask.distributed.Client(ADDRESS).map``. On a cluster, the input paths and
    OUT must be on a file system every worker sees, and wiretale must be
    installed on the workers.

The split run, one large capture on several cores (``read --workers N``), is
:mod:`decoder.commands.split`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import glob
import io
import json
import os
import sys
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Sequence

from decoder.commands.options import ReadOptions, UsageError, read_options, split_workers, worker_count
from decoder.version import __version__

CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".gz")
_GLOB_CHARS = set("*?[")


# ----------------------------------------------------------------------------- finding captures
def discover(paths: Sequence[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Capture files named by ``paths`` (sorted per argument, duplicates removed) and the
    arguments that named nothing, as ``(argument, error)``."""
    found: list[str] = []
    missing: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(p: str) -> None:
        key = os.path.realpath(p)
        if key not in seen:
            seen.add(key)
            found.append(p)

    for arg in paths:
        if os.path.isdir(arg):
            hits = _walk(arg)
            if not hits:
                missing.append((arg, f"{arg}: no capture files (*.pcap, *.pcapng, *.cap, *.gz) in this folder"))
            for p in hits:
                add(p)
        elif os.path.exists(arg):
            add(arg)            # a file named explicitly is tried whatever its extension
        elif _GLOB_CHARS & set(arg):
            hits = sorted(glob.glob(arg, recursive=True))
            files: list[str] = []
            for h in hits:
                if os.path.isdir(h):
                    files.extend(_walk(h))
                elif os.path.isfile(h):
                    files.append(h)
            if not files:
                missing.append((arg, f"{arg}: no file matches this pattern"))
            for p in files:
                add(p)
        else:
            missing.append((arg, f"{arg}: no such file"))
    return found, missing


def _walk(folder: str) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and f.lower().endswith(CAPTURE_SUFFIXES):
                out.append(os.path.join(root, f))
    return out


def capture_names(paths: Sequence[str]) -> list[str]:
    """A unique, file-system-safe name per capture (its folder under ``OUT/captures`` and its value in the
    ``capture`` column): the file name, with as many parent folders as it takes to tell apart captures of
    the same name (``lab1__a.pcap``, ``lab2__a.pcap``), and ``-2``, ``-3`` … when even that is not enough."""
    from decoder.artifacts import safe_name

    parts = [os.path.abspath(p).replace("\\", "/").strip("/").split("/") for p in paths]
    depth = [1] * len(paths)
    while True:
        groups: dict[str, list[int]] = {}
        for i, comps in enumerate(parts):
            groups.setdefault("/".join(comps[-depth[i]:]).lower(), []).append(i)
        grew = False
        for members in groups.values():
            if len(members) > 1:
                for i in members:
                    if depth[i] < len(parts[i]):
                        depth[i] += 1
                        grew = True
        if not grew:
            break
    names: list[str] = []
    used: set[str] = set()
    for i, comps in enumerate(parts):
        base = safe_name("__".join(comps[-depth[i]:]), "capture")
        name = base
        n = 2
        while name.lower() in used:
            name = f"{base}-{n}"
            n += 1
        used.add(name.lower())
        names.append(name)
    return names


# ----------------------------------------------------------------------------- one capture
def batch_options(args: Any, **override: Any) -> ReadOptions:
    """The read options a batch (or ``check``) gives every capture: its flags, tables as Parquet, no
    ``--force`` (each capture's folder is the batch's own), one process per capture, no key logs, a
    capture's own bug recorded in its facts (no ``--debug``)."""
    return read_options(args, **{"tables": "parquet", "force": False, "workers": 1, "keylogs": (), "debug": False,
                                 **override})


def process_capture(path: str, out: str, opts: ReadOptions | None = None, name: str | None = None) -> dict:
    """Read one capture into OUT as ``wiretale read PATH -o OUT`` does, in this process, and return the
    capture's facts.

    This is the function the process pool and the Dask workers run. It never raises: a capture that
    cannot be read, or a crash, comes back as ``ok=False`` with ``error`` set."""
    from decoder.commands.exits import run_command
    from decoder.commands.read import read_captures

    opts = opts or ReadOptions(tables="parquet", workers=1)
    t0 = time.monotonic()
    outp = Path(out)
    facts: dict[str, Any] = {"name": name or Path(path).name, "path": str(path), "out": str(outp), "ok": False,
                             "error": None, "exit_code": None, "seconds": 0.0, "summary": None,
                             "report": None, "hosts": 0, "credential_users": [], "tables": [], "activity": {}}
    err = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = run_command(lambda: read_captures([str(path)], outp, opts), debug=opts.debug,
                               strict=opts.strict, output=str(outp))
    except Exception as e:           # --strict re-raises our own bugs
        code = 3
        err.write(f"wiretale: internal error: {type(e).__name__}: {e}\n{traceback.format_exc(limit=5)}")
    facts["exit_code"] = code
    facts["seconds"] = round(time.monotonic() - t0, 3)
    summary = _load_json(outp / "summary.json")
    facts["summary"] = summary
    lines = [ln.removeprefix("wiretale: ") for ln in err.getvalue().splitlines() if ln.strip()
             and not ln.startswith("wiretale: warning:")]
    errors = list((summary or {}).get("errors") or [])
    if code not in (0, 1) or summary is None:
        errors.append("; ".join(lines) or f"wiretale read exited with code {code}")
    read_ok = bool(summary and summary.get("captures"))
    facts["ok"] = read_ok and not errors
    facts["error"] = "; ".join(dict.fromkeys(errors)) or (None if read_ok else "the capture could not be read")
    if (outp / "index.html").exists():
        facts["report"] = "index.html"
    tdir = outp / "tables"
    if tdir.is_dir():
        facts["tables"] = sorted(p.stem for p in tdir.glob("*.parquet"))
    facts["hosts"], facts["credential_users"] = _extra_facts(tdir)
    facts["activity"] = activity(tdir)
    return facts


def _load_json(p: Path) -> dict | None:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _extra_facts(tdir: Path) -> tuple[int, list[str]]:
    """Distinct hosts in ``conn`` and ``protocol:user`` of the credentials seen (no secrets)."""
    import pyarrow.parquet as pq

    hosts = 0
    users: list[str] = []
    try:
        if (tdir / "conn.parquet").exists():
            t = pq.read_table(tdir / "conn.parquet", columns=["orig_h", "resp_h"])
            hosts = len({h for col in ("orig_h", "resp_h") for h in t.column(col).to_pylist() if h})
        if (tdir / "credentials.parquet").exists():
            t = pq.read_table(tdir / "credentials.parquet")
            if t.num_rows and {"protocol", "username"} <= set(t.column_names):
                seen = dict.fromkeys(f"{p}:{u}" for p, u in zip(t.column("protocol").to_pylist(),
                                                              t.column("username").to_pylist()) if u)
                users = list(seen)[:50]
    except Exception:   # facts for the index only: never fail a capture over them
        pass
    return hosts, users


# ----------------------------------------------------------------------------- the batch
class BatchProgress:
    """``[#####     ]  12/40  name`` on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done_n = 0
        self.failed = 0
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)()) and total > 0
        self.t0 = time.monotonic()

    def __call__(self, name: str, ok: bool) -> None:
        self.done_n += 1
        self.failed += 0 if ok else 1
        if not self.enabled:
            return
        width = 30
        frac = self.done_n / self.total
        bar = "#" * int(frac * width)
        el = time.monotonic() - self.t0
        fail = f" {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r[{bar:<{width}}] {self.done_n}/{self.total}{fail} {el:5.0f}s {name[:30]:30}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()


def run_local(jobs: Sequence[tuple[str, str, str]], opts: ReadOptions, workers: int,
              on_done: Callable[[dict], None]) -> list[dict]:
    """Run ``jobs`` (path, out, name) in a process pool (``workers`` ≤ 1: in this process). A batch of one
    capture runs it in this process, split over ``workers`` processes when it is large enough to gain
    (:func:`decoder.commands.options.split_workers`: a capture file of ``SPLIT_MIN_BYTES`` or more)."""
    results: list[dict | None] = [None] * len(jobs)
    if workers <= 1 or len(jobs) <= 1:
        if len(jobs) == 1 and workers > 1:
            opts = dataclasses.replace(opts, workers=min(workers, split_workers(None, [jobs[0][0]])))
        for i, (p, o, n) in enumerate(jobs):
            results[i] = process_capture(p, o, opts, n)
            on_done(results[i])
        return results  # type: ignore[return-value]
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        futs = {pool.submit(process_capture, p, o, opts, n): i for i, (p, o, n) in enumerate(jobs)}
        for fut in as_completed(futs):
            i = futs[fut]
            try:
                results[i] = fut.result()
            except Exception as e:   # the worker process died (out of memory, killed)
                p, o, n = jobs[i]
                results[i] = _failed(p, o, n, f"worker failed: {type(e).__name__}: {e}")
            on_done(results[i])
    return results  # type: ignore[return-value]


def run_dask(jobs: Sequence[tuple[str, str, str]], opts: ReadOptions, address: str,
             on_done: Callable[[dict], None]) -> list[dict]:
    """Run ``jobs`` on a Dask cluster: the same :func:`process_capture`, mapped by the scheduler."""
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'dask[distributed]'") from None
    results: list[dict | None] = [None] * len(jobs)
    with Client(address, timeout=30) as client:
        futs = client.map(process_capture, [j[0] for j in jobs], [j[1] for j in jobs],
                          [opts] * len(jobs), [j[2] for j in jobs], pure=False)
        index = {f.key: i for i, f in enumerate(futs)}
        for fut in dask_completed(futs):
            i = index[fut.key]
            try:
                results[i] = fut.result()
            except Exception as e:   # a worker died with the task
                p, o, n = jobs[i]
                results[i] = _failed(p, o, n, f"worker failed: {type(e).__name__}: {e}")
            on_done(results[i])
    return results  # type: ignore[return-value]


def _failed(path: str, out: str, name: str, error: str) -> dict:
    return {"name": name, "path": str(path), "out": str(out), "ok": False, "error": error, "exit_code": None,
            "seconds": 0.0, "summary": None, "report": None, "hosts": 0, "credential_users": [], "tables": [],
            "activity": {}}


def run_batch(args: Any) -> int:
    """The ``batch`` verb (see the module docstring)."""
    out = Path(args.output)
    rubric = None
    if getattr(args, "rubric", None):
        from reports.rubric import RubricError, load_rubric

        try:
            rubric = load_rubric(args.rubric)        # refused before any capture is read
        except RubricError as e:
            raise UsageError(str(e)) from None
    files, missing = discover(list(args.paths))
    if not files:
        raise UsageError("; ".join(m[1] for m in missing) or "no captures given")
    names = capture_names(files + [m[0] for m in missing])
    from decoder.outdir import BATCH_DIRS, BATCH_FILES, claim

    od = claim(out, force=getattr(args, "force", False), own_dirs=BATCH_DIRS, top_files=BATCH_FILES)
    try:
        return _run_claimed(args, od, files, missing, names, rubric)
    except BaseException as e:
        od.write_manifest("partial", f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)
        raise
    finally:
        od.close()


def _run_claimed(args: Any, od: Any, files: list[str], missing: list[tuple[str, str]], names: list[str],
                 rubric: Any) -> int:
    """The batch in its claimed OUT (locked; the earlier batch's files removed)."""
    out = od.out
    (out / "captures").mkdir(exist_ok=True)
    jobs = [(p, str(out / "captures" / n), n) for p, n in zip(files, names)]
    opts = batch_options(args)
    prog = BatchProgress(len(jobs) + len(missing))
    done: list[dict] = []

    def on_done(facts: dict) -> None:
        done.append(facts)
        prog(facts["name"], facts["ok"])

    t0 = time.monotonic()
    try:
        if getattr(args, "scheduler", None):
            results = run_dask(jobs, opts, args.scheduler, on_done)
        else:
            workers = worker_count(getattr(args, "workers", 0))
            results = run_local(jobs, opts, workers, on_done)
    finally:
        prog.close()
    for (arg, error), name in zip(missing, names[len(files):]):
        results.append(_failed(arg, str(out / "captures" / name), name, error))
    elapsed = time.monotonic() - t0
    grades = finish_batch(results, out, elapsed=elapsed, rubric=rubric,
                          where=f"Dask cluster {args.scheduler}" if getattr(args, "scheduler", None) else "local")
    ok = sum(1 for r in results if r["ok"])
    undecodable = [r for r in results if status(r) == "undecodable"]
    for r in results:
        if not r["ok"]:
            print(f"wiretale: {r['name']}: {r['error']}", file=sys.stderr)
    for r in undecodable:
        print(f"wiretale: {r['name']}: nothing decoded: {r['summary']['undecodable']}", file=sys.stderr)
    also = f", {len(undecodable)} with nothing decoded" if undecodable else ""
    print(f"{len(results)} captures ({ok} read, {len(results) - ok} failed{also}) in {elapsed:.1f}s → "
          f"{out / 'index.html'}")
    if rubric is not None:
        passed = sum(g.passed for g in grades)
        print(f"{rubric.title}: {passed} of {len(grades)} captures pass every check → {out / 'grades.csv'}")
    od.write_manifest("complete")
    return 0 if ok else 1


def finish_batch(results: list[dict], out: Path, elapsed: float = 0.0, where: str = "local",
                 rubric: Any = None) -> list:
    """Combined tables, summary.csv/json and the index, from the captures' facts and folders; with a
    :class:`reports.rubric.Rubric`, every capture graded (``grades.csv``, the index's grid): its grades."""
    for r in results:
        try:
            r["out"] = os.path.relpath(r["out"], out)
        except ValueError:
            pass
    combine_tables(results, out)
    rows = summary_rows(results)
    write_summary_csv(rows, out / "summary.csv")
    from reports.export import write_json

    grades, grid = _grade_all(rubric, results, out) if rubric is not None else ([], "")
    write_json({"captures": results, "totals": totals(results), "elapsed": round(elapsed, 3), "where": where},
               out / "summary.json")
    from reports.batch import write_index

    write_index(results, rows, totals(results), out, elapsed=elapsed, where=where, grid=grid, version=__version__)
    return grades


def grade_capture(rubric: Any, facts: dict, folder: Path) -> Any:
    """A capture graded over ``folder/tables`` (what :func:`process_capture` wrote); every check
    ``error`` when the capture was not read or nothing in it was decoded."""
    from reports.rubric import grade, unreadable

    st = status(facts)
    if st == "ok" and facts.get("tables"):
        return grade(rubric, folder / "tables", facts["name"])
    if st == "undecodable":
        return unreadable(rubric, facts["name"], f"nothing decoded: {facts['summary']['undecodable']}")
    return unreadable(rubric, facts["name"], f"the capture could not be read: {facts.get('error') or 'no tables'}")


def _grade_all(rubric: Any, results: Sequence[dict], out: Path) -> tuple[list, str]:
    """Each capture graded over its own tables (``error`` for every check of a capture not read),
    ``OUT/grades.csv`` and the grid's HTML; each capture's facts get its ``grade``."""
    from reports.grid import render_grid
    from reports.rubric import write_grades_csv

    grades = []
    for r in results:
        g = grade_capture(rubric, r, out / r["out"])
        r["grade"] = {"points": g.points, "max_points": g.max_points,
                      "checks": {o.check.id: o.status for o in g.outcomes}}
        grades.append(g)
    write_grades_csv(rubric, grades, out / "grades.csv")
    return grades, render_grid(rubric, grades, results, out)


# ----------------------------------------------------------------------------- combined Parquet tables
def _nullish(t) -> bool:
    import pyarrow as pa

    return pa.types.is_null(t) or ((pa.types.is_list(t) or pa.types.is_large_list(t)) and _nullish(t.value_type))


def unify_types(types: Sequence) -> Any:
    """One Arrow type for a column seen with ``types`` in different captures."""
    import pyarrow as pa

    real = []
    for t in types:
        if not _nullish(t) and t not in real:
            real.append(t)
    if not real:
        return pa.list_(pa.string()) if any(pa.types.is_list(t) for t in types) else pa.string()
    if len(real) == 1:
        return real[0]
    if all(pa.types.is_integer(t) for t in real):
        return pa.int64()
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in real):
        return pa.float64()
    return pa.string()


def _conform(table, schema):
    """``table`` with ``schema``'s columns, in its order, cast (or JSON-encoded into strings)."""
    import pyarrow as pa

    cols = []
    n = table.num_rows
    have = set(table.column_names)
    for f in schema:
        if f.name not in have:
            cols.append(pa.nulls(n, type=f.type))
            continue
        col = table.column(f.name)
        if col.type == f.type:
            cols.append(col)
            continue
        try:
            if pa.types.is_string(f.type) and not (pa.types.is_null(col.type) or pa.types.is_string(col.type)):
                raise pa.ArrowInvalid("JSON text wanted")
            cols.append(col.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            if not pa.types.is_string(f.type):
                raise
            cols.append(pa.array([None if v is None else (v if isinstance(v, str) else
                                                           json.dumps(v, ensure_ascii=False, default=str))
                                  for v in col.to_pylist()], type=pa.string()))
    return pa.Table.from_arrays(cols, schema=schema)


def combine_tables(results: Sequence[dict], out: Path) -> dict[str, int]:
    """``OUT/tables/<table>.parquet`` with a leading ``capture`` column, from the captures' Parquet tables
    (read twice: schemas first, then one capture at a time). Returns rows per table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tdir = out / "tables"
    tdir.mkdir(parents=True, exist_ok=True)
    sources: dict[str, list[tuple[str, Path]]] = {}
    for r in results:
        if not r.get("tables"):
            continue
        base = out / r["out"] / "tables"
        for t in r["tables"]:
            sources.setdefault(t, []).append((r["name"], base / f"{t}.parquet"))
    counts: dict[str, int] = {}
    for table, srcs in sorted(sources.items()):
        order: list[str] = []
        types: dict[str, list] = {}
        readable = []
        for name, p in srcs:
            try:
                sch = pq.read_schema(p)
            except (OSError, pa.ArrowException):
                continue
            readable.append((name, p))
            for f in sch:
                if f.name == "capture":
                    continue
                if f.name not in types:
                    order.append(f.name)
                    types[f.name] = []
                types[f.name].append(f.type)
        schema = pa.schema([pa.field("capture", pa.string())] +
                           [pa.field(c, unify_types(types[c])) for c in order])
        dest = tdir / f"{table}.parquet"
        tmp = dest.with_suffix(".parquet.tmp")
        total = 0
        with pq.ParquetWriter(tmp, schema) as w:
            for name, p in readable:
                t = pq.read_table(p)
                if "capture" in t.column_names:
                    t = t.drop(["capture"])
                t = t.add_column(0, "capture", pa.array([name] * t.num_rows, type=pa.string()))
                if t.num_rows:
                    w.write_table(_conform(t, schema))
                total += t.num_rows
            if not total:
                w.write_table(schema.empty_table())
        os.replace(tmp, dest)
        counts[table] = total
    return counts


# ----------------------------------------------------------------------------- summary rows
ACTIVITY_ITEMS = 50      # names kept per list of a capture's activity (then "… (+N more)")


def activity(tdir: Path) -> dict[str, list]:
    """What a student did, from a capture's Parquet tables: ``files`` (names of the objects transferred,
    in order, each once), ``dns_names`` (names asked), ``subjects`` (of the e-mails), and ``logins``
    (``[protocol, user, "ok"|"failed"|"unknown", count]`` in order of the first attempt; the user is the
    credential's kind in brackets when it has none, as an SNMP ``(community)``: never the secret; identities
only claimed, as NFS's AUTH_SYS uid and gid, are not logins)."""
    import pyarrow.parquet as pq

    def column(table: str, *cols: str) -> list[tuple]:
        p = tdir / f"{table}.parquet"
        if not p.exists():
            return []
        t = pq.read_table(p)
        if not t.num_rows or not set(cols) <= set(t.column_names):
            return []
        return list(zip(*(t.column(c).to_pylist() for c in cols)))

    def distinct(values) -> list:
        return list(dict.fromkeys(v for v in values if isinstance(v, str) and v))

    out: dict[str, list] = {}
    try:
        out["files"] = distinct(f for (f,) in column("files", "filename"))
        out["dns_names"] = distinct(q for (q,) in column("dns", "query"))
        out["subjects"] = distinct(s for (s,) in column("emails", "subject"))
        logins: dict[tuple, int] = {}
        for proto, user, kind, ok in column("credentials", "protocol", "username", "kind", "success"):
            if kind == "identity claimed":      # an AUTH_SYS uid/gid (NFS): no secret, no verdict, not a login
                continue
            key = (proto, user or f"({kind})", "unknown" if ok is None else "ok" if ok else "failed")
            logins[key] = logins.get(key, 0) + 1
        out["logins"] = [[*k, n] for k, n in logins.items()]
    except Exception:   # facts for the summary only: never fail a capture over them
        pass
    return out


def _listed(items: Sequence[str]) -> str:
    """``a; b; c`` for a summary.csv cell, at most :data:`ACTIVITY_ITEMS` items."""
    shown = "; ".join(items[:ACTIVITY_ITEMS])
    return shown + (f"; … (+{len(items) - ACTIVITY_ITEMS} more)" if len(items) > ACTIVITY_ITEMS else "")


def _logins(logins: Sequence[Sequence], outcome: str) -> str:
    return _listed([f"{p}:{u}" + (f" ×{n}" if n > 1 else "") for p, u, o, n in logins if o == outcome])


SUMMARY_COLUMNS = ("capture", "path", "status", "error", "format", "size", "frames", "start", "end",
                   "duration", "packets", "packets_skipped", "flows", "tcp_flows", "udp_flows", "hosts",
                   "protocols", "emails", "files", "credentials", "credential_users", "logins_ok", "logins_failed",
                   "logins_unknown", "files_transferred", "dns_names", "email_subjects", "anomalies",
                   "anomaly_kinds", "limits_hit", "warnings", "seconds", "report")


def summary_rows(results: Sequence[dict]) -> list[dict]:
    """One flat row per capture (``summary.csv``): fixed columns, then ``sessions_<service>`` per service.
    Dates are ISO 8601 UTC (``start``, ``end``); lists are ``; ``-separated."""
    from reports.batch import iso_utc

    services = sorted({s for r in results for s in ((r.get("summary") or {}).get("sessions") or {})})
    rows = []
    for r in results:
        s = r.get("summary") or {}
        cap = (s.get("captures") or [{}])[0]
        sess = s.get("sessions") or {}
        an = s.get("anomalies") or {}
        first, last = cap.get("first_ts"), cap.get("last_ts")
        act = r.get("activity") or {}
        report = None
        if r.get("report"):
            report = f"{r['out']}/{r['report']}"
        row = {
            "capture": r["name"], "path": r["path"], "status": status(r),
            "error": r.get("error") or s.get("undecodable") or "", "format": cap.get("format", ""), "size": cap.get("size"),
            "frames": cap.get("frames"), "start": iso_utc(first), "end": iso_utc(last),
            "duration": round(last - first, 6) if first is not None and last is not None else None,
            "packets": (s.get("packets") or {}).get("total"), "packets_skipped": (s.get("packets") or {}).get("skipped"),
            "flows": (s.get("flows") or {}).get("total"), "tcp_flows": (s.get("flows") or {}).get("tcp"),
            "udp_flows": (s.get("flows") or {}).get("udp"), "hosts": r.get("hosts"),
            "protocols": " ".join(k for k in sorted(sess) if k != "(unknown)"),
            "emails": s.get("emails"), "files": s.get("files"), "credentials": s.get("credentials"),
            "credential_users": " ".join(r.get("credential_users") or []),
            "logins_ok": _logins(act.get("logins") or [], "ok"),
            "logins_failed": _logins(act.get("logins") or [], "failed"),
            "logins_unknown": _logins(act.get("logins") or [], "unknown"),
            "files_transferred": _listed(act.get("files") or []), "dns_names": _listed(act.get("dns_names") or []),
            "email_subjects": _listed(act.get("subjects") or []),
            "anomalies": sum(an.values()) if an else (0 if s else None),
            "anomaly_kinds": " ".join(f"{k}={v}" for k, v in sorted(an.items())),
            "limits_hit": " ".join(f"{k}={v}" for k, v in sorted((s.get("limits_hit") or {}).items())),
            "warnings": "; ".join(cap.get("warnings") or []), "seconds": r.get("seconds"), "report": report or "",
        }
        for svc in services:
            row[f"sessions_{_col(svc)}"] = sess.get(svc, 0) if s else None
        rows.append(row)
    return rows


def status(r: dict) -> str:
    """A capture's batch status: ``error`` (not read), ``undecodable`` (read, nothing decoded) or ``ok``."""
    if not r["ok"]:
        return "error"
    return "undecodable" if (r.get("summary") or {}).get("undecodable") else "ok"


def _col(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s).strip("_") or "unknown"


def write_summary_csv(rows: Sequence[dict], path: Path) -> None:
    import csv

    cols = list(SUMMARY_COLUMNS)
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})


def totals(results: Sequence[dict]) -> dict:
    t: Counter = Counter()
    services: Counter = Counter()
    for r in results:
        s = r.get("summary") or {}
        t["captures"] += 1
        t["read"] += bool(r["ok"])
        t["failed"] += not r["ok"]
        t["undecodable"] += status(r) == "undecodable"
        t["packets"] += (s.get("packets") or {}).get("total") or 0
        t["flows"] += (s.get("flows") or {}).get("total") or 0
        for k in ("emails", "files", "credentials"):
            t[k] += s.get(k) or 0
        t["anomalies"] += sum((s.get("anomalies") or {}).values())
        services.update(s.get("sessions") or {})
    out = dict(t)
    out["sessions"] = dict(sorted(services.items()))
    return out

