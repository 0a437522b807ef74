"""Session assembly: what is joined or derived after the flows are done.

* **E-mails**: every object of kind ``email`` (SMTP DATA/BDAT, POP3 RETR, IMAP
  FETCH/APPEND) is read back from its stored file (at most ``limits.max_message``
  bytes) and parsed with :func:`dissectors.mime.explode` (header fields as the
  standard ``email`` package's compat32 model has them, MIME structure split with
  bounds); it becomes a row of ``emails``, an ``emails/<fuid>.eml`` file with the
  exact transmitted bytes, and one child object per MIME leaf part (attachments and
  bodies) in ``files`` with ``parent_fuid`` set.
* **Cross-flow joins**: each spec's ``assemble(tables)`` (FTP data ↔ command,
  TFTP request ↔ transfer, NFS handles ↔ mounted paths, HTTP range responses)
  runs over the tables it declares (``assemble_tables``; of ``conn`` and ``files``
  only the child flows' join columns, :data:`ASSEMBLE_COLUMNS`); the rows it
  returns are merged back or replace a table, objects it asks for
  (``assembled_objects``) are written from stored parts, and files it renames are
  renamed on disk (names still chosen by us).

It needs of the engine only what :class:`Host` names.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from decoder.artifacts import ArtifactStore, safe_name
from decoder.model import DissectorSpec, Limits, make_fuid
from decoder.rows import RowStore

ENDPOINT_COLS = ("orig_h", "orig_p", "resp_h", "resp_p")


class RowTables(Protocol):
    """The run's tables as assembly reads and writes them (:class:`decoder.results.Results`)."""

    tables: Mapping[str, RowStore]
    mem_rows: int

    def store(self, table: str) -> RowStore: ...

    def add(self, table: str, row: dict) -> None: ...


class Host(Protocol):
    """What assembly needs of the run that made the rows (:class:`decoder.pipeline.Engine` is one): its
    limits and settings, the object store, the tables, and a way to record an anomaly. Nothing else of
    the engine is reached from here, and this module imports none of it."""

    limits: Limits
    strict: bool
    detect_only: bool
    out_dir: Path | None
    registry: Sequence[DissectorSpec]
    store: ArtifactStore
    results: RowTables

    def anomaly(self, ts: float, name: str, detail: str, *, source: str) -> None: ...


#: a base64 attachment larger than this is decoded a piece at a time as it is stored (dissectors.mime.explode's
#: ``lazy_over``): the message and one piece in memory, not the message and the whole attachment
LAZY_OVER = 1 << 16


def explode_email(engine: Host, row: dict) -> None:
    from dissectors.mime import explode

    limit = engine.limits.max_message
    seen = row.get("seen_bytes")
    if isinstance(seen, int) and 0 <= seen < limit:
        limit = seen      # the object's size: read(limit) allocates ``limit`` bytes first
    data = engine.store.read(row, limit)
    if data is None:
        return
    try:
        parsed = explode(data, engine.limits, lazy_over=LAZY_OVER)
    except Exception as e:
        if engine.strict:
            raise
        engine.anomaly(row["ts"], "dissector_error", f"mime: {type(e).__name__}: {e}", source="mime")
        return
    eml_path = None
    if engine.out_dir is not None:
        d = engine.out_dir / "emails"
        p = d / f"{row['fuid']}.eml"
        try:
            p.write_bytes(data)
        except FileNotFoundError:     # the first e-mail of the run
            d.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        eml_path = f"emails/{p.name}"
    child_fuids: list[str] = []
    names: list[str | None] = []
    for att in parsed.attachments:
        cf = make_fuid(row["fuid"], att.part_path)
        crow = engine.store.add_bytes(cf, row["uid"], row["ts"], row["source"], "file", att.filename,
                                      att.declared_mime, att.pieces(), parent_fuid=row["fuid"],
                                      direction=row.get("direction"), size=att.size)
        if crow is not None:
            for c in ENDPOINT_COLS:
                crow[c] = row.get(c)
            crow["is_attachment"] = bool(att.is_attachment)
            crow["mime_part"] = att.part_path
            engine.results.add("files", crow)
            if att.is_attachment:
                child_fuids.append(cf)
                names.append(att.filename)
    for a in parsed.anomalies:
        engine.anomaly(row["ts"], a, "while parsing the message's MIME structure", source="mime")
    f: dict[str, Any] = dict(parsed.fields)
    engine.results.add("emails", {
        "ts": row["ts"], "uid": row["uid"], **{c: row.get(c) for c in ENDPOINT_COLS},
        "fuid": row["fuid"], "source": row["source"],
        "date": f.get("date"), "from": f.get("from"), "to": f.get("to") or [], "cc": f.get("cc") or [],
        "reply_to": f.get("reply_to"), "subject": f.get("subject"), "msg_id": f.get("msg_id"),
        "in_reply_to": f.get("in_reply_to"), "user_agent": f.get("user_agent"),
        "x_originating_ip": f.get("x_originating_ip"), "attachments": names,
        "attachment_fuids": child_fuids, "parts": len(parsed.parts), "size": row["seen_bytes"],
        "complete": row["complete"], "missing_bytes": row["missing_bytes"],
        "defects": list(parsed.defects), "eml": eml_path, "sha256": row["sha256"],
    })


# What an assemble hook sees of the child flows' ``conn`` and ``files`` rows: the join keys and
# what a join may change. A returned conn or files row is merged into the stored row of the same
# uid/fuid (its keys overwrite), so the columns a hook never saw are kept as they were.
ASSEMBLE_COLUMNS = {
    "conn": ("uid", "service", "parent_uid", "expect_token", "nat", "history"),
    "files": ("uid", "fuid", "source", "kind", "seen_bytes", "missing_bytes", "mime_type", "filename", "path",
              "complete", "close_reason"),
}
_MERGE_KEYS = {"conn": "uid", "files": "fuid"}


class _Row(Mapping):
    """A read-only row of the few :data:`ASSEMBLE_COLUMNS`: its values in a tuple, the column → index map
    shared by all rows of its table. The child flows' rows are held through every hook and their number
    grows with the capture (at 1 GB, 6,000 rows: a dict each was 230–360 bytes, this is 130–160)."""

    __slots__ = ("_cols", "_vals")

    def __init__(self, cols: Mapping[str, int], vals: tuple) -> None:
        self._cols = cols
        self._vals = vals

    def __getitem__(self, key: str) -> Any:
        return self._vals[self._cols[key]]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._cols.get(key)
        return default if i is None else self._vals[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._cols)

    def __len__(self) -> int:
        return len(self._cols)


def assemble(engine: Host) -> None:
    """Run each spec's ``assemble`` hook over the tables it declares (``assemble_tables``).

    ``conn`` and ``files`` hold only flows foreseen by another (``parent_uid`` or ``expect_token``
    set) and their objects, with the columns of :data:`ASSEMBLE_COLUMNS`: the rows cross-flow joins
    are about. Every other table is the engine's disk-backed store itself (re-iterable, never loaded
    whole). A hook returns iterables of rows, which are consumed in the mapping's order, each to its
    end before the next, and streamed into new stores: conn and files rows are merged into the
    stored rows by uid/fuid, any other table is replaced. So memory holds the child flows' few
    columns and whatever a hook keeps per join, not the tables (at 1 GB the old whole-table join
    was the one step whose memory followed the file: benchmarks/README.md)."""
    if engine.detect_only:
        return          # nothing was decoded: no protocol table to join (and no dissector module to load)
    res = engine.results
    hooks: list = []
    wanted: set[str] = set()
    for spec in engine.registry:
        if spec.assemble is not None and spec.assemble not in [h for h, _ in hooks]:
            hooks.append((spec.assemble, spec.assemble_tables))
            wanted.update(spec.assemble_tables)
    if not hooks:
        return
    small: dict[str, list[Mapping]] = {"conn": []}
    # uid → the one str object for it (a child's uid comes back from each table's spill files as a new
    # str; its files rows and its siblings' parent_uid share this one)
    uids: dict[str, str] = {}
    children: set[str] = set()
    ccols = ASSEMBLE_COLUMNS["conn"]
    cidx = {k: i for i, k in enumerate(ccols)}
    for c in res.tables.get("conn", ()):
        if c.get("parent_uid") or c.get("expect_token"):
            u = uids.setdefault(c["uid"], c["uid"])
            children.add(u)
            p = c.get("parent_uid")
            if p is not None:
                p = uids.setdefault(p, p)
            small["conn"].append(_Row(cidx, tuple(u if k == "uid" else p if k == "parent_uid" else c.get(k)
                                                  for k in ccols)))
    if "files" in wanted:
        fcols = ASSEMBLE_COLUMNS["files"]
        fidx = {k: i for i, k in enumerate(fcols)}
        small["files"] = [_Row(fidx, tuple(uids[f["uid"]] if k == "uid" else f.get(k) for k in fcols))
                          for f in res.tables.get("files", ()) if f.get("uid") in children]
    for fn, names in hooks:
        tables = {k: (small[k] if k in small else res.tables.get(k) or []) for k in names
                  if k not in ("timeline", "anomalies")}
        try:
            new = fn(tables) or {}
            for name, rows in new.items():
                if name in ("timeline", "anomalies"):
                    for _ in rows:        # not replaceable by a join: consumed, ignored
                        pass
                elif name == "assembled_objects":
                    assemble_objects(engine, rows)
                elif name in _MERGE_KEYS:
                    small[name] = _merge_back(engine, name, rows)
                else:
                    _replace(res, name, rows)
        except Exception as e:
            if engine.strict:
                raise
            engine.anomaly(0.0, "dissector_error", f"assemble ({getattr(fn, '__module__', '?')}): "
                           f"{type(e).__name__}: {e}", source="assemble")
            continue


def assemble_objects(engine: Host, reqs: Any) -> None:
    """Every object an assemble hook asks for (``assembled_objects``), with one pass over the ``files`` table
    for the rows of all their parts (a pass per object would make many objects cost their number squared)."""
    reqs = list(reqs)
    if not reqs:
        return
    wanted = {f for req in reqs for f, _o, _n in req["parts"]}
    rows = {f["fuid"]: f for f in engine.results.tables.get("files", ()) if f.get("fuid") in wanted}
    for req in reqs:
        assemble_object(engine, req, rows)


def assemble_object(engine: Host, req: Mapping[str, Any], rows: Mapping[str, Mapping[str, Any]]) -> None:
    """Write one object made of stored ones, as an assemble hook asks (``assembled_objects``: HTTP range
    responses): ``parts`` are ``(fuid, offset, length)`` of stored objects, ``total_bytes`` the object's size.

    Each part must be stored whole (its bytes as many as its range says, none missing); overlapping parts keep
    the first copy and an overlap that differs is an anomaly. The object is written only when the parts cover
    it, at most ``limits.max_file_size`` bytes; its ``files`` row lists the parts in ``range_parts`` (the parts
    stay as they are) and its ``fuid`` is derived from theirs. ``rows``: the parts' ``files`` rows by fuid."""
    from decoder.ranges import insert_first_copy

    total = int(req["total_bytes"])
    parts = list(req["parts"])
    wanted = {f for f, _o, _n in parts}
    if total > engine.limits.max_file_size:
        engine.anomaly(req["ts"], "range_object_too_long", f"assembled object of {total} bytes is larger than "
                       f"{engine.limits.max_file_size}; not assembled", source="assemble")
        return
    starts: list[int] = []
    datas: list[bytes] = []
    for fuid, off, n in parts:
        row = rows.get(fuid)
        data = engine.store.read(row, n + 1) if row is not None and not row.get("missing_bytes") else None
        if data is None or len(data) != n:
            return                # a part not stored whole: the object cannot be made
        if insert_first_copy(starts, datas, off, data)[1]:
            engine.anomaly(req["ts"], "range_overlap_differs", f"two range responses for {req.get('name_hint')!r} "
                           f"carry different bytes at offset {off}; the first copy was kept", source="assemble")
    pos = 0
    for st, d in zip(starts, datas):      # sorted, not overlapping: whole when each piece starts where the last ended
        if st != pos:
            return
        pos += len(d)
    if pos != total:
        return
    data = b"".join(datas)
    fuid = make_fuid("range", ",".join(sorted(wanted)))
    crow = engine.store.add_bytes(fuid, req["uid"], req["ts"], req["source"], req["kind"], req.get("name_hint"),
                                  None, data, direction=req.get("direction"))
    if crow is None:
        return
    for c in ENDPOINT_COLS:
        crow[c] = req.get(c)
    crow["range_parts"] = [f for f, _o, _n in parts]
    engine.results.add("files", crow)


def _replace(res: Any, name: str, rows: Any) -> None:
    """Stream ``rows`` into table ``name`` in place of its rows (they may be read from it meanwhile)."""
    # a quarter of the run's row budget: the other tables still hold their share while this one is made
    res.store(name).replace(rows, max(64, res.mem_rows // 4))


def _merge_back(engine: Host, name: str, rows: Any) -> list[dict]:
    """Merge a hook's conn/files rows into the stored rows by key; files whose name was learnt
    get it on disk too (names still ours). Returns the hook's rows (the next hook sees them)."""
    key = _MERGE_KEYS[name]
    got = [dict(r) for r in rows]
    patches = {r[key]: r for r in got if r.get(key) is not None}
    if name == "files":
        for row in got:
            if row.get("filename") and row.get("path"):
                want = f"{row['fuid']}-{safe_name(row['filename'], row.get('kind') or 'file')}"
                if not str(row["path"]).endswith(want):
                    engine.store.rename(row, row["filename"])     # sets row["path"]
    if patches:
        engine.results.store(name).patch_by(key, patches)
    return got
