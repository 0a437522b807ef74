"""Results: the rows a run makes, the table stores that hold them, and the run's summary.

The engine's third part (docs/ARCHITECTURE.md, "The engine"): reading and reassembly
(:mod:`decoder.reassembly`) and the dissector host (:mod:`decoder.host`) hand it rows; it keeps them in
disk-backed :class:`~decoder.rows.RowStore` tables under one memory budget (:class:`Results`), builds
the rows that are the same for every part (an ``anomalies`` row, :meth:`Results.anomaly`; a flow's
``conn`` row, :func:`conn_row`), turns a record field into a plain value (:func:`plain`) and counts the
run for ``summary.json`` (:func:`count_for_summary`, :func:`build_summary`).

It imports nothing of reading nor of the host: rows go one way, into here, never back.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence

from decoder.flows import Flow
from decoder.model import ORIG, Direction, Limits
from decoder.rows import Encoder, RowStore

_PLAIN_AS_IS = frozenset({str, int, bool, type(None)})   # exact types plain() returns as they are, without a call


def plain(v: Any) -> Any:
    """A record field as a JSON-friendly value (lists stay lists): None, a str, int, float or bool (or a
    subclass of one) as it is; a list, tuple or set as a list; an enum as its value (a Direction as "orig"
    or "resp"); a dict with str keys; bytes decoded (undecodable bytes as backslash escapes); a dataclass
    as a dict of its fields; anything else as its str(). The way is chosen once per type (:func:`_converter`).

    What it returns is *plain for orjson* (the JSON-lines writer, reports.export): every value is one orjson
    either writes as json.dumps would (the same values once read back) or refuses (a subclass of str, int,
    float, dict or list, an int beyond 64 bits, a lone surrogate: the writer then takes json.dumps). The one
    value orjson would write differently, an infinite float (``null`` against json's ``Infinity``), comes back
    as a :class:`DumpsFloat` (a float subclass, equal to it), which orjson refuses (and so does a float enum,
    whose value orjson would write where json wrote its repr). So the host can mark the
    rows it makes of these values (``RowStore.append(row, plain=True)``) and the writer skips its own check."""
    return _converter(type(v))(v)


# The helpers below call _converter(type(x))(x) for a field that is not a plain scalar, not plain(x): one
# Python call less per value, on the path every record and event takes (issue 26).


def _same(v: Any) -> Any:
    return v


_all_as_is = _PLAIN_AS_IS.issuperset     # of the types of a sequence's items: one C call, no Python loop


def _plain_seq(v: Any) -> list:
    if _all_as_is(map(type, v)):           # empty, or str, int, bool and None only (most lists in rows)
        return list(v)
    return [x if type(x) in _PLAIN_AS_IS else _converter(type(x))(x) for x in v]


class DumpsFloat(float):
    """A float :func:`plain` returns for json.dumps to write: an infinite one (``Infinity``, where orjson
    writes ``null``; NaN is ``null`` in both, so it stays a float), or a float enum. Equal to the value; orjson refuses it, so the JSON-lines writer
    takes json.dumps."""

    __slots__ = ()


def _plain_float(v: float) -> float:
    return DumpsFloat(v) if v - v != 0.0 and v == v else v     # inf - inf is NaN; NaN is not equal to itself


def vouched_time(ts: Any) -> bool:
    """Whether a row's time taken as it is (not through :func:`plain`) leaves the row plain for orjson: a
    finite float."""
    return type(ts) is float and ts - ts == 0.0


def _plain_enum(v: enum.Enum) -> Any:
    return v.value if not isinstance(v, Direction) else ("orig" if v is ORIG else "resp")


def _plain_dict(v: Mapping) -> dict:
    return {k if type(k) is str else str(k): x if type(x) in _PLAIN_AS_IS else _converter(type(x))(x)
            for k, x in v.items()}


def _plain_bytes(v: bytes | bytearray | memoryview) -> str:
    return bytes(v).decode("utf-8", "backslashreplace")


def dict_maker(cls: type, skip: Sequence[str] = (), rename: Mapping[str, str] | None = None,
               lead: Sequence[str] = ()) -> Callable[..., dict]:
    """A function made once for dataclass ``cls``: ``make(obj, *lead_values)`` is the dict of ``lead``'s keys
    (given those values as they are), then of ``obj``'s fields (but those in ``skip``; a field named in
    ``rename`` under that key) in order, as plain values (:func:`plain`). Its source reads each field by name and
    makes the dict in one literal: no tuple, list or zip per object, and no call for a value of a scalar type
    (issue 26). A key met twice keeps its first place and its last value, as ``dict.update`` would."""
    rename = rename or {}
    names = [f.name for f in dataclasses.fields(cls) if f.name not in skip]
    params = ", ".join(["_o", *(f"l{i}" for i in range(len(lead)))])
    items = [f"{k!r}: l{i}" for i, k in enumerate(lead)]
    items += [f"{rename.get(n, n)!r}: x if type(x := _o.{n}) in _P else _cv(type(x))(x)" for n in names]
    src = f"def make({params}):\n    return {{{', '.join(items)}}}\n"     # values made in order, left to right
    env: dict[str, Any] = {"_P": _PLAIN_AS_IS, "_cv": _converter}
    exec(src, env)      # noqa: S102 - our own source, made from the class's field names
    make = env["make"]
    make.__qualname__ = f"dict_maker.<{cls.__qualname__}>"
    return make


@functools.cache
def _converter(cls: type) -> Callable[[Any], Any]:
    """How :func:`plain` turns a value of type ``cls`` into a plain one (bounded: one entry per type)."""
    if cls is float:
        return _plain_float
    if issubclass(cls, float) and issubclass(cls, enum.Enum):     # orjson writes its value, json its repr
        return lambda v: DumpsFloat(v)
    if cls is type(None) or issubclass(cls, (str, int, float, bool)):
        return _same
    if cls is list or cls is tuple:
        return _plain_seq
    if issubclass(cls, enum.Enum):
        return _plain_enum
    if issubclass(cls, (list, tuple, set, frozenset)):
        return lambda v: [plain(x) for x in v]
    if issubclass(cls, dict):
        return _plain_dict
    if issubclass(cls, (bytes, bytearray, memoryview)):
        return _plain_bytes
    if dataclasses.is_dataclass(cls):
        return dict_maker(cls)
    return str


@dataclass
class Chunk:
    """Reassembled stream data kept for ``follow`` (``data`` is None for a gap)."""

    direction: int
    data: bytes | None
    gap: int
    ts: float
    frame: int


ROW_KEYS: dict[str, Callable[[dict], Any]] = {"conn": lambda r: (r["ts"], r["first_frame"])}


_BUDGET_CHECK = 256      # rows added between two looks at the in-memory total
_MIN_SPILL = 64          # a table holding fewer rows is not worth a spill file of its own


@dataclass
class Results:
    """Rows gathered by the engine (plain dicts in :class:`RowStore` tables that spill to
    disk, so memory does not grow with the capture; :mod:`reports.tables` makes DataFrames).

    ``mem_rows`` is one budget for all tables together (``Limits.rows_in_memory``): when
    the rows held in memory pass it, the tables holding most spill until half the budget
    is left. A per-table limit would let memory grow with the number of tables a capture
    fills (twenty-odd at 2,000 rows each held ~30 MB at 1 GB; benchmarks/README.md)."""

    spill_dir: Path | None = None
    mem_rows: int = 5000
    tables: dict[str, RowStore] = field(default_factory=dict)
    captures: list[dict] = field(default_factory=list)
    packets: Counter = field(default_factory=Counter)
    limits_hit: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    streams: dict[str, list[Chunk]] = field(default_factory=dict)
    #: each table's sort key (None: the order rows came in)
    row_key: Callable[[str], Callable[[dict], Any] | None] = ROW_KEYS.get
    #: each table's JSON-lines encoder when its rows are only ever written out, else None (decoder.rows: rows
    #: written once; ``read`` without the report sets it)
    row_encoder: Callable[[str], Encoder | None] = lambda table: None
    _since_check: int = 0

    def store(self, table: str) -> RowStore:
        st = self.tables.get(table)
        if st is None:
            st = self.tables[table] = RowStore(table, self.spill_dir, mem_rows=self.mem_rows,
                                               key=self.row_key(table), encoder=self.row_encoder(table))
        return st

    listener: Callable[[str, dict], None] | None = None   # sees every row as it is made (live mode)

    def add(self, table: str, row: dict, plain: bool = False) -> None:
        """Add ``row`` to ``table``; ``plain``: the caller vouches that the row's values are plain for orjson
        (:func:`plain`'s values, engine-made str and int, finite float times: :func:`vouched_time`), so the
        JSON-lines writer skips its check of them (decoder.rows)."""
        st = self.tables.get(table)
        if st is None:
            st = self.store(table)
        st.append(row, plain)
        if self.listener is not None:
            self.listener(table, row)
        self._since_check += 1
        if self._since_check >= _BUDGET_CHECK:
            self._since_check = 0
            self._keep_budget()

    def _keep_budget(self) -> None:
        """Spill the tables holding most rows while more than ``mem_rows`` are held in all."""
        if self.spill_dir is None:
            return
        held = sum(st.held for st in self.tables.values())
        if held <= self.mem_rows:
            return
        for st in sorted(self.tables.values(), key=lambda t: t.held, reverse=True):
            if held <= self.mem_rows // 2 or st.held < _MIN_SPILL:
                break
            held -= st.held
            st.spill()

    def cleanup(self) -> None:
        for st in self.tables.values():
            st.clear_spills()
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)

    def anomaly(self, ts: float, name: str, detail: str, frame: int, flow: Flow | None = None,
                direction: int | None = None, source: str = "engine") -> None:
        """An ``anomalies`` row at ``frame`` (of ``flow`` when given); a cap's anomaly (a name ending in
        ``_too_long``, ``_too_many``, ``_too_deep``, ``_capped``, ``_limit``) also counts in ``limits_hit``."""
        row = {"ts": ts, "uid": None, "orig_h": None, "orig_p": None, "resp_h": None, "resp_p": None}
        if flow is not None:
            row.update(uid=flow.uid, orig_h=flow.orig_h, orig_p=flow.orig_p, resp_h=flow.resp_h,
                       resp_p=flow.resp_p)
        row.update(name=name, detail=detail, source=source, frame=frame,
                   direction=None if direction is None else ("orig" if direction == ORIG else "resp"))
        self.add("anomalies", row)
        if name.endswith(("_too_long", "_too_many", "_too_deep", "_capped", "_limit")):
            self.limits_hit[name] += 1


def conn_row(flow: Flow, service: str, reason: str) -> dict:
    """A flow's ``conn`` row (docs/TABLES.md), made when the flow is closed for ``reason``."""
    m = flow.expectation
    o_pkts, r_pkts, o_ip, r_ip, o_bytes, r_bytes = flow.counters()
    halves = flow.halves
    return {
        "ts": flow.first_ts, "uid": flow.uid, "orig_h": flow.orig_h, "orig_p": flow.orig_p,
        "resp_h": flow.resp_h, "resp_p": flow.resp_p, "proto": flow.proto, "service": service,
        "duration": round(flow.last_ts - flow.first_ts, 6), "orig_bytes": o_bytes,
        "resp_bytes": r_bytes, "conn_state": flow.conn_state(), "missed_bytes": flow.missed_bytes,
        "history": flow.history, "orig_pkts": o_pkts, "resp_pkts": r_pkts,
        "orig_ip_bytes": o_ip, "resp_ip_bytes": r_ip,
        "roles_guessed": flow.roles_guessed,
        "out_of_order": (halves[0].ooo + halves[1].ooo) if halves else 0,
        "retransmissions": (halves[0].retrans + halves[1].retrans) if halves else 0,
        "gaps": flow.gaps,
        "parent_uid": m.parent_uid if m else None, "expect_token": m.token if m else None,
        "nat": bool(m.nat) if m else False, "first_frame": flow.first_frame, "last_frame": flow.last_frame,
        "close_reason": reason,
    }


class Run(Protocol):
    """What :func:`build_summary` needs of a run (:class:`decoder.pipeline.Engine`, or the split run's
    merged stand-in): its limits, its results, and a way to add the packet counts still held."""

    limits: Limits
    results: Results

    def flush_counts(self) -> None: ...


def count_for_summary(tables: Mapping[str, Any]) -> dict[str, Counter]:
    """What the summary counts from rows: sessions by service, flows by transport, anomalies by name, TLS
    sessions (how many, how many decrypted, records left undecrypted). A run split across processes counts in
    each worker and adds the counts up."""
    services: Counter = Counter()
    protos: Counter = Counter()
    for c in tables.get("conn", ()):
        services[c["service"] or "(unknown)"] += 1
        protos[c["proto"]] += 1
    anomalies = Counter(a["name"] for a in tables.get("anomalies", ()))
    tls: Counter = Counter()
    for t in tables.get("tls", ()):
        tls["sessions"] += 1
        tls["decrypted"] += bool(t.get("decrypted"))
        tls["records_undecrypted"] += t.get("records_undecrypted") or 0
    return {"services": services, "protos": protos, "anomalies": anomalies, "tls": tls}


def undecodable_reason(packets: Mapping[str, int], captures: Sequence[Mapping[str, Any]]) -> str | None:
    """Why nothing in the capture(s) could be decoded, in one sentence; ``None`` when some packet was.

    A capture that could not be opened is an error, not this (its ``captures`` entry is missing)."""
    if not captures or any(not k.startswith("skipped") for k in packets):
        return None
    if not any(c.get("frames") for c in captures):
        return "the capture holds no packets"
    skipped = Counter({k.partition(": ")[2]: n for k, n in packets.items()})
    links = [k for k in skipped if k.startswith("unsupported link type")]
    if len(links) == len(skipped):
        return (f"{' and '.join(links)}: wiretale decodes Ethernet, Linux cooked (SLL, SLL2), BSD loopback "
                "and raw IP captures")
    top = ", ".join(f"{k} ({n:,})" for k, n in skipped.most_common(3))
    return f"none of its {sum(skipped.values()):,} packets carries IP that wiretale decodes ({top})"


def build_summary(engine: Run, counts: Mapping[str, Counter] | None = None) -> dict:
    """summary.json of a run; ``counts`` as :func:`count_for_summary` gives them, when the rows are not
    at hand (the split's parent holds encoded lines)."""
    from decoder.version import __version__

    engine.flush_counts()
    res = engine.results
    if counts is None:
        counts = count_for_summary(res.tables)
    services, protos, anomalies = counts["services"], counts["protos"], counts["anomalies"]
    total = sum(res.packets.values())
    decoded = sum(n for k, n in res.packets.items() if not k.startswith("skipped"))
    return {
        "wiretale": __version__,
        "captures": res.captures,
        "errors": res.errors,
        "undecodable": undecodable_reason(res.packets, res.captures),
        "packets": {
            "total": total,
            "decoded": decoded,
            "skipped": total - decoded,
            "by_kind": dict(sorted(res.packets.items())),
        },
        "flows": {"total": sum(protos.values()), "tcp": protos["tcp"], "udp": protos["udp"]},
        "sessions": dict(sorted(services.items())),
        "anomalies": dict(sorted(anomalies.items())),
        "limits_hit": dict(sorted(res.limits_hit.items())),
        "files": len(res.tables.get("files", [])),
        "emails": len(res.tables.get("emails", [])),
        "credentials": len(res.tables.get("credentials", [])),
        "tls": {k: counts.get("tls", Counter())[k] for k in ("sessions", "decrypted", "records_undecrypted")},
        "limits": dataclasses.asdict(engine.limits),
    }

