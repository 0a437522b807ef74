"""Rubrics: checks a teacher writes in SQL, run in DuckDB over one capture's tables.

A rubric is a TOML file (read with :mod:`tomllib`)::

    title = "FTP lab"
    [[check]]
    id = "passive-retr"                 # letters, digits, dashes; unique
    title = "Downloads a file over a passive data connection"
    points = 2                          # default 1
    sql = "SELECT count(*) FROM ftp WHERE command = 'RETR' AND reply_code = 226"
    expect = ">= 1"                     # default: the value is true

Only these fields exist (``title`` and ``check`` at the top, ``id``, ``title``, ``points``,
``sql``, ``expect`` in a check); anything else is refused. :func:`load_rubric` refuses a rubric
before any capture is read, with one line naming the check: bad TOML, an unknown or missing field,
an id that is not letters, digits and dashes or is used twice, an ``expect`` that is not
``OP VALUE`` (``OP`` one of ``>= <= > < = == != <>``; ``VALUE`` a number, a quoted string,
``true``, ``false`` or ``null``), SQL that is not one ``SELECT``, that does not compile against the
tables' schema (:func:`schema_types`), or that returns more than one column.

:func:`grade` runs a rubric over one capture's ``tables/*.parquet`` (what ``wiretale read
--tables parquet`` writes): every table of ``read`` under its own name, with the same columns,
typed as :func:`schema_types` says (a table the capture lacks is there, empty). Each check's query
must give a single value (no row: NULL; more than one row: ``error``); the check passes when
``expect`` holds for it, or, without ``expect``, when the value is true (boolean true or a
non-zero number). A comparison with NULL fails. Result per check: ``pass``, ``fail`` or ``error``
(the query failed on this capture, or its value cannot be compared), the points earned, and the
evidence: the first rows the query counted (for a ``SELECT`` over a ``FROM``: the same ``FROM`` and
``WHERE`` with ``*`` and no grouping), shown with ``uid`` and the columns the query names.

Bounds: DuckDB runs with one thread and a memory limit, with no access to files or the network once
the tables are loaded (``enable_external_access=false``, configuration locked), and each query is
interrupted after :data:`QUERY_SECONDS`.

Limits: the evidence of a query whose top level is not ``SELECT … FROM`` (a set operation, a
query with no ``FROM``) is empty; evidence rows are those before grouping and ``HAVING``.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
import threading
import time
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from reports.batch import iso_utc
from reports.tables import LEAD, _record_classes, schema

QUERY_SECONDS = 10.0            # a check's query is interrupted after this long
MEMORY_LIMIT = "512MB"          # DuckDB's memory limit per capture
EVIDENCE_ROWS = 3               # rows of evidence kept per check
EVIDENCE_COLUMNS = 6            # columns of evidence kept per row (uid and those the query names first)

TOP_FIELDS = ("title", "check")
CHECK_FIELDS = ("id", "title", "points", "sql", "expect")
_ID = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\Z")
_EXPECT = re.compile(r"\s*(>=|<=|==|!=|<>|=|>|<)\s*(.+?)\s*\Z", re.S)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z")

STATUSES = ("pass", "fail", "error")


class RubricError(ValueError):
    """A rubric that cannot be used; the message is one line and names the check."""


# ----------------------------------------------------------------------------- the tables' schema
_SCALARS = {int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN", str: "VARCHAR"}
_DNS_RR = "STRUCT(name VARCHAR, type VARCHAR, class VARCHAR, ttl BIGINT, data VARCHAR)"
_NAME_VALUE = "STRUCT(name VARCHAR, value VARCHAR)"
#: Columns whose Python annotation is a bare ``list``: what their elements are (the dissector's rows).
#: Any other bare ``list`` holds strings.
LIST_ELEMENTS: dict[tuple[str, str], str] = {
    ("dns", "TTLs"): "DOUBLE",
    ("dns", "answers_detail"): _DNS_RR, ("dns", "auth_detail"): _DNS_RR, ("dns", "addl_detail"): _DNS_RR,
    ("dns", "edns_options"): "STRUCT(side VARCHAR, code BIGINT, name VARCHAR, data VARCHAR)",
    ("dns", "zone_updates"): "STRUCT(name VARCHAR, type VARCHAR, class VARCHAR, ttl BIGINT, data VARCHAR, "
                             "section VARCHAR)",
    ("http", "request_headers"): _NAME_VALUE, ("http", "response_headers"): _NAME_VALUE,
    ("http", "query_string"): _NAME_VALUE,
    ("snmp_pdus", "varbinds"): "STRUCT(oid VARCHAR, name VARCHAR, type VARCHAR, value VARCHAR)",
}
#: The lead columns every table starts with (the flow's, :data:`reports.tables.LEAD`): their types.
_LEAD_TYPES = {"ts": "DOUBLE", "orig_p": "BIGINT", "resp_p": "BIGINT"}


def _lead_type(col: str) -> str:
    return _LEAD_TYPES.get(col, "VARCHAR")


def _duck_type(hint: Any, table: str, col: str) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        return _duck_type(rest[0], table, col) if len(rest) == 1 else "VARCHAR"
    if hint in _SCALARS:
        return _SCALARS[hint]
    if hint is list or hint is tuple:
        return LIST_ELEMENTS.get((table, col), "VARCHAR") + "[]"
    if origin in (list, tuple) and args:
        return _duck_type(args[0], table, col) + "[]"
    if dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = ", ".join(f'"{f.name}" {_duck_type(hints[f.name], table, col)}' for f in dataclasses.fields(hint))
        return f"STRUCT({fields})"
    return "VARCHAR"


def schema_types() -> dict[str, dict[str, str]]:
    """Every table ``wiretale read`` writes → its columns, in order, → their DuckDB type (those written only
    when they have rows too: a rubric finds them empty otherwise)."""
    from reports.tables import names_for

    classes = _record_classes()
    out: dict[str, dict[str, str]] = {}
    for table in sorted(set(names_for({})) | set(classes)):
        cols = schema(table)
        if table not in classes:
            out[table] = {c: _lead_type(c) for c in cols}
            continue
        cls = classes[table]
        hints = typing.get_type_hints(cls)
        rename = getattr(cls, "COLUMNS", {})
        typed = {rename.get(f.name, f.name): _duck_type(hints[f.name], table, f.name)
                 for f in dataclasses.fields(cls)}
        out[table] = {c: typed.get(c) or _lead_type(c) for c in cols}
    return out


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ----------------------------------------------------------------------------- the rubric
@dataclass(frozen=True)
class Expect:
    """``OP VALUE``: how a check's single value is judged."""
    op: str
    value: float | str | bool | None
    text: str

    def holds(self, got: Any) -> bool:
        """Whether ``got OP value``; raises :class:`TypeError` when they cannot be compared."""
        if got is None or self.value is None:
            if self.op in ("=", "=="):
                return got is None and self.value is None
            if self.op in ("!=", "<>"):
                return (got is None) != (self.value is None)
            return False
        want = self.value
        if isinstance(want, bool) or isinstance(got, bool):
            if not (isinstance(want, bool) and isinstance(got, bool)) or self.op not in ("=", "==", "!=", "<>"):
                raise TypeError(f"the value {got!r} cannot be compared with {self.text!r}")
        elif isinstance(want, float) != _is_number(got):
            raise TypeError(f"the value {got!r} cannot be compared with {self.text!r}")
        if _is_number(got):
            got = float(got)
        return {"=": got == want, "==": got == want, "!=": got != want, "<>": got != want,
                ">": got > want, "<": got < want, ">=": got >= want, "<=": got <= want}[self.op]


def _is_number(v: Any) -> bool:
    import decimal

    return isinstance(v, (int, float, decimal.Decimal)) and not isinstance(v, bool)


def parse_expect(text: str) -> Expect:
    m = _EXPECT.match(text)
    if not m:
        raise ValueError("expect must be a comparison such as \">= 1\" (one of >= <= > < = == != <> and a value)")
    op, raw = m.group(1), m.group(2)
    value: float | str | bool | None
    if _NUMBER.match(raw):
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"expect: {raw!r} is not a finite number")
    elif len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        value = raw[1:-1]
    elif raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    elif raw.lower() == "null":
        value = None
    else:
        raise ValueError(f"expect: {raw!r} is not a number, a quoted string, true, false or null")
    if isinstance(value, (str, bool)) or value is None:
        if op not in ("=", "==", "!=", "<>") and not isinstance(value, str):
            raise ValueError(f"expect: {op} needs a number or a string")
    return Expect(op, value, text.strip())


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float
    sql: str
    expect: Expect | None

    @property
    def expect_text(self) -> str:
        return self.expect.text if self.expect else "is true"


@dataclass(frozen=True)
class Rubric:
    title: str
    path: str
    checks: tuple[Check, ...]
    tables: frozenset[str] = frozenset()      # the tables its checks name (the only ones loaded)
    schema: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()   # schema_types() when it was loaded

    @property
    def max_points(self) -> float:
        return sum(c.points for c in self.checks)


def _where(text: str, line: int | None) -> str:
    """``check 'id' (line N)`` for the check whose block holds ``line`` in the TOML ``text``."""
    if not line:
        return ""
    current = None
    for i, ln in enumerate(text.splitlines()[:line], 1):
        s = ln.strip()
        if s.startswith("[[check]]"):
            current = f"the check starting at line {i}"
        m = re.match(r"""id\s*=\s*["']([^"']*)["']""", s)
        if m and current is not None:
            current = f"check {m.group(1)!r}"
    return current or ""


def load_rubric(path: str | Path) -> Rubric:
    """Read, validate and compile a rubric; :class:`RubricError` (one line) when it cannot be used."""
    p = Path(path)
    label = f"rubric {p}"
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RubricError(f"{label}: cannot be read: {getattr(e, 'strerror', None) or e}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        where = _where(text, getattr(e, "lineno", None) or _line_of(str(e)))
        msg = str(e).splitlines()[0]
        raise RubricError(f"{label}: {where + ': ' if where else ''}not valid TOML: {msg}") from None
    unknown = [k for k in doc if k not in TOP_FIELDS]
    if unknown:
        raise RubricError(f"{label}: unknown field {unknown[0]!r} (a rubric has: {', '.join(TOP_FIELDS)})")
    title = doc.get("title", p.stem)
    if not isinstance(title, str):
        raise RubricError(f"{label}: title must be a string")
    raw_checks = doc.get("check")
    if not isinstance(raw_checks, list) or not raw_checks or not all(isinstance(c, dict) for c in raw_checks):
        raise RubricError(f"{label}: no check: add at least one [[check]] table")
    checks: list[Check] = []
    seen: set[str] = set()
    for n, c in enumerate(raw_checks, 1):
        cid = c.get("id")
        name = f"check {cid!r}" if isinstance(cid, str) and cid else f"check number {n}"
        bad = [k for k in c if k not in CHECK_FIELDS]
        if bad:
            raise RubricError(f"{label}: {name}: unknown field {bad[0]!r} (a check has: {', '.join(CHECK_FIELDS)})")
        if not isinstance(cid, str) or not _ID.match(cid):
            raise RubricError(f"{label}: {name}: id must be letters, digits and dashes (got {cid!r})")
        if cid in seen:
            raise RubricError(f"{label}: {name}: this id is used twice")
        seen.add(cid)
        ctitle = c.get("title", cid)
        points = c.get("points", 1)
        sql = c.get("sql")
        if not isinstance(ctitle, str):
            raise RubricError(f"{label}: {name}: title must be a string")
        if isinstance(points, bool) or not isinstance(points, (int, float)) or not math.isfinite(points) \
                or points < 0:
            raise RubricError(f"{label}: {name}: points must be a number ≥ 0 (got {points!r})")
        if not isinstance(sql, str) or not sql.strip():
            raise RubricError(f"{label}: {name}: sql is missing (a SELECT giving one value)")
        expect = None
        if "expect" in c:
            if not isinstance(c["expect"], str):
                raise RubricError(f"{label}: {name}: expect must be a string such as \">= 1\" "
                                  f"(got {c['expect']!r})")
            try:
                expect = parse_expect(c["expect"])
            except ValueError as e:
                raise RubricError(f"{label}: {name}: {e}") from None
        checks.append(Check(cid, ctitle, points, sql.strip().rstrip(";").strip(), expect))
    named: set[str] = set()
    schema = tuple((t, tuple(cols.items())) for t, cols in schema_types().items())
    with _Db.of_capture(None, schema) as db:
        for chk in checks:
            try:
                named |= db.compile(chk.sql)
            except ValueError as e:
                raise RubricError(f"{label}: check {chk.id!r}: {e}") from None
    return Rubric(title, str(p), tuple(checks), frozenset(named), schema)


def _line_of(msg: str) -> int | None:
    m = re.search(r"line (\d+)", msg)
    return int(m.group(1)) if m else None


# ----------------------------------------------------------------------------- DuckDB
def _one_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip() and not ln.strip().startswith("LINE ")
             and set(ln.strip()) != {"^"}]
    return " ".join(lines)[:300] or type(e).__name__


class _Watchdog:
    """One thread that calls ``interrupt`` when an armed deadline passes (a query's time limit); one per
    connection rather than a timer thread per query (starting those was a third of a grading's time)."""

    def __init__(self, interrupt: Any) -> None:
        self._interrupt = interrupt
        self._cv = threading.Condition()
        self._deadline: float | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="rubric-watchdog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        with self._cv:
            while not self._stop:
                if self._deadline is None:
                    self._cv.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cv.wait(left)
                else:
                    self._deadline = None
                    self._interrupt()

    def _set(self, deadline: float | None, stop: bool = False) -> None:
        with self._cv:
            self._deadline, self._stop = deadline, stop
            self._cv.notify()

    def arm(self, seconds: float) -> None:
        self._set(time.monotonic() + seconds)

    def disarm(self) -> None:
        self._set(None)

    def close(self) -> None:
        self._set(None, stop=True)
        self._thread.join()


class _Db:
    """One DuckDB connection holding a capture's tables (or the empty schema), locked down."""

    def __init__(self, notes: list[str]) -> None:
        import duckdb

        self.duckdb = duckdb
        self.con = duckdb.connect(":memory:", config={"threads": 1, "memory_limit": MEMORY_LIMIT})
        self.notes = notes
        self._star = self._ast("SELECT * FROM t")["statements"][0]["node"]["select_list"]
        self._watch = _Watchdog(self.con.interrupt)

    @classmethod
    def of_capture(cls, tables_dir: Path | None, schema: Sequence[tuple[str, Sequence[tuple[str, str]]]],
                   only: frozenset[str] | None = None) -> "_Db":
        """Every table of ``schema``: those in ``only`` (all when None) loaded from ``tables_dir``, the others
        empty (all empty when ``tables_dir`` is None: what a rubric compiles against)."""
        db = cls([])
        for table, cols in schema:
            load = tables_dir is not None and (only is None or table in only)
            db._load(table, dict(cols), tables_dir / f"{table}.parquet" if load else None)
        db.lock()
        return db

    def _load(self, table: str, cols: dict[str, str], path: Path | None) -> None:
        create = f"CREATE TABLE {_q(table)} ({', '.join(f'{_q(c)} {t}' for c, t in cols.items())})"
        if path is None or not path.exists():
            self.con.execute(create)
            return
        src = "read_parquet(?)"
        have = {r[0]: r[1] for r in self.con.execute(f"DESCRIBE SELECT * FROM {src}", [str(path)]).fetchall()}
        exprs = [(f"CAST(NULL AS {t})" if have.get(c) in (None, '"NULL"', "NULL") else f"CAST({_q(c)} AS {t})")
                 + f" AS {_q(c)}" for c, t in cols.items()]
        exprs += [_q(c) for c in have if c not in cols]      # columns a row added beyond the schema
        try:
            self.con.execute(f"CREATE TABLE {_q(table)} AS SELECT {', '.join(exprs)} FROM {src}", [str(path)])
        except self.duckdb.Error as e:
            self.con.execute(f"CREATE TABLE {_q(table)} AS SELECT * FROM {src}", [str(path)])
            self.notes.append(f"table {table}: columns kept as written, not as the schema types them "
                              f"({_one_line(e)})")

    def lock(self) -> None:
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def close(self) -> None:
        self._watch.close()
        self.con.close()

    def __enter__(self) -> "_Db":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _ast(self, sql: str) -> dict:
        return json.loads(self.con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])

    def compile(self, sql: str) -> set[str]:
        """The tables ``sql`` names; :class:`ValueError` (one line) unless it is one SELECT that binds and
        gives one column."""
        ast = self._ast(sql)
        if ast.get("error"):
            msg = ast.get("error_message") or "cannot be parsed"
            if "Only SELECT" in msg:
                msg = "the sql must be a single SELECT"
            raise ValueError(f"sql does not compile: {_one_line(ValueError(msg))}")
        if len(ast.get("statements") or []) != 1:
            raise ValueError("the sql must be a single SELECT (found several statements)")
        try:
            rel = self.con.sql(sql)
        except self.duckdb.Error as e:
            raise ValueError(f"sql does not compile against the tables: {_one_line(e)}") from None
        if rel is None or len(rel.columns) != 1:
            n = 0 if rel is None else len(rel.columns)
            raise ValueError(f"the sql gives {n} columns; a check's query gives one value")
        return set(_base_tables(ast))

    def run(self, sql: str, limit: int) -> tuple[list[str], list[tuple]]:
        """Columns and at most ``limit`` rows of ``sql``, interrupted after :data:`QUERY_SECONDS`."""
        self._watch.arm(QUERY_SECONDS)
        try:
            cur = self.con.execute(sql)
            cols = [d[0] for d in cur.description or ()]
            return cols, cur.fetchmany(limit)
        except self.duckdb.InterruptException:
            raise ValueError(f"the query ran longer than {QUERY_SECONDS:g} s and was stopped") from None
        finally:
            self._watch.disarm()

    def evidence_sql(self, sql: str, limit: int | None = EVIDENCE_ROWS) -> tuple[str | None, list[str]]:
        """The rows a ``SELECT … FROM … WHERE`` looked at (``*``, no grouping, at most ``limit``), and
        the column names the query refers to; ``None`` when the top level is not such a SELECT."""
        ast = self._ast(sql)
        refs = list(dict.fromkeys(_column_refs(ast)))
        node = ast["statements"][0]["node"]
        if node.get("type") != "SELECT_NODE" or (node.get("from_table") or {}).get("type") in (None, "EMPTY"):
            return None, refs
        node = copy.deepcopy(node)
        node["select_list"] = copy.deepcopy(self._star)
        node["modifiers"] = [] if limit is None else \
            self._ast(f"SELECT * FROM t LIMIT {int(limit)}")["statements"][0]["node"]["modifiers"]
        node["group_expressions"], node["group_sets"] = [], []
        node["having"] = node["qualify"] = None
        node["aggregate_handling"] = "STANDARD_HANDLING"
        ast["statements"][0]["node"] = node
        try:
            text = self.con.execute("SELECT json_deserialize_sql(?::JSON)", [json.dumps(ast)]).fetchone()[0]
        except self.duckdb.Error:
            return None, refs
        return text, refs


def _nodes(node: Any) -> Iterator[dict]:
    """Every object of a ``json_serialize_sql`` tree."""
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _nodes(v)
    elif isinstance(node, list):
        for v in node:
            yield from _nodes(v)


def _base_tables(ast: dict) -> Iterator[str]:
    """The tables a query reads (lower case: DuckDB's names are case-insensitive)."""
    return (n["table_name"].lower() for n in _nodes(ast) if n.get("type") == "BASE_TABLE" and n.get("table_name"))


def _column_refs(ast: dict) -> Iterator[str]:
    """Every part of every column reference (``table.column``, ``column.field``)."""
    for n in _nodes(ast):
        if n.get("class") == "COLUMN_REF":
            yield from n.get("column_names") or ()


# ----------------------------------------------------------------------------- grading
@dataclass(frozen=True)
class Evidence:
    """Rows a check counted: ``columns`` and ``rows`` (values made JSON-able), ``uids`` of each row."""
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    uids: tuple[str | None, ...]


NO_EVIDENCE = Evidence((), (), ())


@dataclass(frozen=True)
class Outcome:
    check: Check
    status: str                  # pass, fail or error
    points: float                # earned
    value: Any                   # the query's value (None for NULL or error)
    detail: str                  # why: the value against expect, or the error
    evidence: Evidence


@dataclass(frozen=True)
class Grade:
    capture: str
    outcomes: tuple[Outcome, ...]
    notes: tuple[str, ...] = ()

    @property
    def points(self) -> float:
        return sum(o.points for o in self.outcomes)

    @property
    def max_points(self) -> float:
        return sum(o.check.points for o in self.outcomes)

    @property
    def passed(self) -> bool:
        return all(o.status == "pass" for o in self.outcomes)


def _plain(v: Any) -> Any:
    import datetime
    import decimal

    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (datetime.date, datetime.time, datetime.timedelta)):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    return str(v)


def _judge(check: Check, value: Any) -> tuple[str, str]:
    shown = json.dumps(_plain(value), ensure_ascii=False, default=str)
    if check.expect is None:
        ok = value is True or (_is_number(value) and value != 0)
        if not ok and value is not None and not isinstance(value, bool) and not _is_number(value):
            return "error", f"the value {shown} is neither true/false nor a number (add expect)"
        return ("pass" if ok else "fail"), f"value {shown}, expected true"
    try:
        ok = check.expect.holds(value)
    except TypeError as e:
        return "error", str(e)
    return ("pass" if ok else "fail"), f"value {shown}, expected {check.expect.text}"


def _evidence(db: _Db, check: Check) -> Evidence:
    try:
        sql, refs = db.evidence_sql(check.sql)
        if sql is None:
            return NO_EVIDENCE
        cols, rows = db.run(sql, EVIDENCE_ROWS)
    except (ValueError, db.duckdb.Error):
        return NO_EVIDENCE
    if not rows:
        return NO_EVIDENCE
    uid_at = cols.index("uid") if "uid" in cols else None
    keep = [i for i, c in enumerate(cols) if c == "uid"][:1]
    for r in refs:
        if r in cols and cols.index(r) not in keep:
            keep.append(cols.index(r))
    for i in range(len(cols)):
        if len(keep) >= EVIDENCE_COLUMNS:
            break
        if i not in keep and cols[i] in LEAD and cols[i] not in ("orig_p",):
            keep.append(i)
    keep = keep[:EVIDENCE_COLUMNS]
    return Evidence(tuple(cols[i] for i in keep), tuple(tuple(_plain(r[i]) for i in keep) for r in rows),
                    tuple(r[uid_at] if uid_at is not None else None for r in rows))


def grade(rubric: Rubric, tables_dir: Path, capture: str = "") -> Grade:
    """Run every check of ``rubric`` over the Parquet tables in ``tables_dir``."""
    notes: list[str] = []
    try:
        db = _Db.of_capture(Path(tables_dir), rubric.schema, rubric.tables)
    except Exception as e:     # noqa: BLE001 — a capture whose tables cannot be loaded: every check errs
        return unreadable(rubric, capture, f"the tables could not be loaded: {_one_line(e)}")
    outcomes = []
    with db:
        notes.extend(db.notes)
        for chk in rubric.checks:
            try:
                cols, rows = db.run(chk.sql, 2)
            except (ValueError, db.duckdb.Error) as e:
                outcomes.append(Outcome(chk, "error", 0, None, _one_line(e), NO_EVIDENCE))
                continue
            if len(rows) > 1 or len(cols) != 1:
                outcomes.append(Outcome(chk, "error", 0, None, "the query gave more than one row; a check's "
                                        "query gives one value", NO_EVIDENCE))
                continue
            value = rows[0][0] if rows else None
            status, detail = _judge(chk, value)
            outcomes.append(Outcome(chk, status, chk.points if status == "pass" else 0, _plain(value), detail,
                                    _evidence(db, chk)))
    return Grade(capture, tuple(outcomes), tuple(notes))


def unreadable(rubric: Rubric, capture: str, why: str) -> Grade:
    """Every check ``error`` with ``why`` (a capture that could not be read)."""
    return Grade(capture, tuple(Outcome(c, "error", 0, None, why, NO_EVIDENCE) for c in rubric.checks))


def fmt_points(p: float) -> str:
    return str(int(p)) if float(p).is_integer() else f"{p:g}"


def _cell_text(col: str, v: Any) -> str:
    if col in ("ts", "close_ts") and _is_number(v):
        return iso_utc(v) or str(v)
    s = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    s = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in s)
    return s if len(s) <= 60 else s[:59] + "…"


def text_report(grade: Grade, rubric: Rubric, capture: str, sessions: Path | None = None) -> str:
    """What ``wiretale check`` prints: a line per check, its value against ``expect``, its evidence
    (``uid`` and the columns the query names; the session page when ``sessions`` holds it)."""
    n_pass = sum(o.status == "pass" for o in grade.outcomes)
    lines = [f"{rubric.title} — {capture}: {fmt_points(grade.points)}/{fmt_points(grade.max_points)} points, "
             f"{n_pass} of {len(grade.outcomes)} checks pass"]
    lines += [f"  note: {n}" for n in grade.notes]
    for o in grade.outcomes:
        c = o.check
        lines.append(f"  {o.status:<5}  {fmt_points(o.points)}/{fmt_points(c.points)}  {c.id}: {c.title}")
        lines.append(f"         {o.detail}")
        for row, uid in zip(o.evidence.rows, o.evidence.uids):
            cells = " ".join(f"{k}={_cell_text(k, v)}" for k, v in zip(o.evidence.columns, row))
            page = sessions / f"{uid}.html" if sessions is not None and uid else None
            lines.append(f"         · {cells}" + (f"  → {page}" if page is not None and page.exists() else ""))
    return "\n".join(lines)


def write_grades_csv(rubric: Rubric, grades: Sequence[Grade], path: Path) -> None:
    """``grades.csv``: ``capture``, one column per check id (pass/fail/error), ``points``, ``max_points``."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["capture", *(c.id for c in rubric.checks), "points", "max_points"])
        for g in grades:
            w.writerow([g.capture, *(o.status for o in g.outcomes), fmt_points(g.points), fmt_points(g.max_points)])


def schema_markdown() -> str:
    """The tables a check can query, as docs/COURSEWORK.md lists them (one line per table)."""
    return "\n".join(f"- **{table}**: " + ", ".join(f"`{c}` {t}" for c, t in cols.items())
                     for table, cols in schema_types().items()) + "\n"
