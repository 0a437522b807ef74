"""HAR 1.2 export of the ``http`` table (OUT/http.har).

HAR ("HTTP Archive", the format browser developer tools save and open; spec
1.2 by Jan Odvarko, W3C Web Performance WG draft) is one JSON document::

    {"log": {"version": "1.2", "creator": {...}, "pages": [...], "entries": [...]}}

One entry per row of the ``http`` table (one request and its response), in
time order (a table that spilled to disk: in the order the transactions
completed; a run split over workers: each worker's entries in time order, one
worker after another — the spec asks readers to sort by ``startedDateTime``,
and browser tools do). The page starts with the earliest entry. What each
entry carries and where it comes from:

* ``startedDateTime``: the request's first byte (``ts``), ISO 8601 in UTC;
* ``request``: method, absolute URL (``http://`` + Host, or the server address,
  + the target; absolute-form targets kept as sent), ``HTTP/x.y``, headers as
  captured, cookies split from Cookie, query string, ``headersSize`` (bytes of
  the header block) and ``bodySize``; ``postData`` from the stored request
  object (urlencoded fields as ``params``, multipart parts as ``params`` with
  ``fileName``);
* ``response``: status (0 when no response was captured, as browsers do for
  failed requests), headers, Set-Cookie cookies, ``redirectURL`` from Location,
  ``content`` (decoded size, ``compression`` = decoded - transferred bytes, MIME
  type, and the stored object as ``text`` — UTF-8 text as is, anything else
  base64 with ``encoding: "base64"``; a body over ``max_content`` bytes
  (:data:`MAX_INLINE`, 64 KiB) is not copied into the HAR: ``_file`` names it
  under ``files/`` (relative to OUT, where the HAR is) and ``comment`` says so;
  the same for ``postData``);
* ``timings`` (ms): ``send`` = request first to last byte, ``wait`` = request end
  to the response's first byte, ``receive`` = response first to last byte;
  ``blocked``/``dns``/``connect``/``ssl`` are -1 (not measured here); the
  entry's ``time`` is their sum;
* ``serverIPAddress``, ``connection`` (the flow uid) and custom fields
  ``_uid``, ``_flags``, ``_complete`` (custom names start with "_" as the spec asks).

Objects are found in ``files_dir`` through the ``files`` table's ``path``
column, else by the engine's naming ``<fuid>-<name>``. Reads tables only,
never dissector internals. :func:`write_har` writes one entry per line, with orjson
(compact JSON) unless an entry holds a value orjson would write differently from
json.dumps (see ``_entry_json``).
"""
from __future__ import annotations

import base64
import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl

from decoder.model import utc_text
from reports.export import orjson_bytes, replacing

__all__ = ["write_har", "build_har"]

HAR_VERSION = "1.2"
#: the largest body copied into the HAR (as text or base64); a larger one is pointed at in ``files/`` (issue 26)
MAX_INLINE = 64 * 1024
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
              "application/x-javascript", "application/xhtml+xml", "application/x-www-form-urlencoded",
              "image/svg+xml", "application/ecmascript", "application/ld+json", "application/rss+xml",
              "application/atom+xml")


_NEVER_NA = frozenset({str, int, bool, list, dict, tuple})   # never a missing value: returned at once


def _v(x: Any) -> Any:
    """NaN/NaT/None from pandas -> None."""
    if x is None or type(x) in _NEVER_NA:
        return x
    if isinstance(x, float) and math.isnan(x):
        return None
    pd = sys.modules.get("pandas")      # only rows that came from DataFrames can hold NA/NaT
    if pd is not None and (x is pd.NA or x is pd.NaT):
        return None
    return x


def _list(x: Any) -> list:
    """``x`` as a list to read (a list is returned as it is, not copied)."""
    if type(x) is list:
        return x
    x = _v(x)
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    try:
        return list(x)           # numpy arrays from parquet
    except TypeError:
        return []


def _iso(ts: float) -> str:
    return utc_text(ts, "T") + "+00:00"     # ISO 8601; years past 9999 in the expanded form (+10000-…)


def _ms(a: Any, b: Any) -> float:
    a, b = _v(a), _v(b)
    if a is None or b is None:
        return 0.0
    return round(max(0.0, (float(b) - float(a)) * 1000.0), 3)


def _int(x: Any, default: int = -1) -> int:
    x = _v(x)
    if x is None:
        return default
    try:
        return int(x)
    except (TypeError, ValueError):
        return default


def _headers(x: Any) -> list[dict]:
    return [{"name": str(h.get("name", "")), "value": str(h.get("value", ""))}
            for h in _list(x) if type(h) is dict or isinstance(h, Mapping)]


def _url(row: Mapping) -> str:
    uri = _v(row.get("uri")) or ""
    if uri.lower().startswith(("http://", "https://")):
        return uri
    host = _v(row.get("host"))
    if not host:
        h, p = _v(row.get("resp_h")) or "", _int(row.get("resp_p"), 80)
        h = f"[{h}]" if ":" in h else h
        host = h if p == 80 else f"{h}:{p}"
    if _v(row.get("method")) == "CONNECT":
        return f"http://{uri or host}"
    if not uri.startswith("/"):
        uri = "/" + uri if uri not in ("*",) else "/*"
    return f"http://{host}{uri}"


def _req_cookies(row: Mapping) -> list[dict]:
    out = []
    for c in _list(row.get("cookies")):
        name, _, value = str(c).partition("=")
        out.append({"name": name.strip(), "value": value.strip()})
    return out


def _resp_cookies(row: Mapping) -> list[dict]:
    out = []
    for sc in _list(row.get("set_cookies")):
        parts = [p.strip() for p in str(sc).split(";")]
        name, _, value = parts[0].partition("=")
        c: dict[str, Any] = {"name": name.strip(), "value": value.strip()}
        for attr in parts[1:]:
            k, _, v = attr.partition("=")
            k = k.strip().lower()
            if k == "path":
                c["path"] = v
            elif k == "domain":
                c["domain"] = v
            elif k == "expires":
                c["expires"] = v
            elif k == "httponly":
                c["httpOnly"] = True
            elif k == "secure":
                c["secure"] = True
        out.append(c)
    return out


def _records(table: Any) -> Iterable[dict]:
    """Rows of a DataFrame, a list of dicts or a disk-backed RowStore (streamed)."""
    if table is None:
        return ()
    if hasattr(table, "to_dict"):
        return table.to_dict("records") if len(table) else []
    return table


_INDEX_IN_MEMORY = 10_000    # stored paths kept in a dict up to this many objects; past it, in SQLite on disk


class _Files:
    """Where each object was stored, by fuid. Up to ``_INDEX_IN_MEMORY`` objects the index is a
    dict; a larger files table goes to a temporary SQLite database (stdlib ``sqlite3``), so the
    HAR of a 1 GB capture (51,000 objects) does not hold one entry per object in memory."""

    def __init__(self, tables: Mapping[str, Any], files_dir: Path) -> None:
        self.dir = Path(files_dir)
        self._mem: dict[str, Any] = {}
        self._db: Any = None
        self._tmp: Any = None
        self._pending: list[tuple[str, str | None]] = []
        ftable = tables.get("files")
        try:
            large = len(ftable) > _INDEX_IN_MEMORY     # known in advance: on disk from the start
        except TypeError:
            large = False
        if large:
            self._to_disk()
        for r in _records(ftable):   # only what a lookup needs
            if self._db is None and len(self._mem) >= _INDEX_IN_MEMORY:
                self._to_disk()
            fuid, path = str(r.get("fuid")), r.get("path")
            path = str(path) if _v(path) else None
            if self._db is not None:
                self._pending.append((fuid, path))
                if len(self._pending) >= 1000:
                    self._flush()
            else:
                self._mem[fuid] = path
        if self._db is not None:
            self._flush()

    def _to_disk(self) -> None:
        import sqlite3
        import tempfile

        self._tmp = tempfile.TemporaryDirectory(prefix="wiretale-har-")
        self._db = sqlite3.connect(str(Path(self._tmp.name) / "files.db"))
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("PRAGMA cache_size=-256")      # KiB: lookups are by primary key, in entry order
        self._db.execute("CREATE TABLE f (fuid TEXT PRIMARY KEY, path TEXT)")
        self._pending = list(self._mem.items())
        self._mem = {}
        self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT OR REPLACE INTO f VALUES (?, ?)", self._pending)
        self._pending = []

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _stored(self, fuid: str) -> str | None:
        """The path an object was stored under (None: unknown, or not stored)."""
        if self._db is None:
            return self._mem.get(fuid)
        row = self._db.execute("SELECT path FROM f WHERE fuid = ?", (fuid,)).fetchone()
        return row[0] if row is not None else None

    def path(self, fuid: str) -> Path | None:
        stored = self._stored(fuid)
        if stored:
            # the files table's path is relative to OUT (``files/<name>``): look in files_dir, never below
            # the working directory, which may hold another run's ``files/`` with the same names
            p = Path(stored)
            cand = p if p.is_absolute() else self.dir / p.name
            if cand.is_file():
                return cand
        if self.dir.is_dir():
            for cand in sorted(self.dir.glob(f"{fuid}*")):
                if cand.is_file() and (cand.name == fuid or cand.name.startswith(fuid + "-")):
                    return cand
        return None

    def content(self, fuid: str, mime: str, cap: int) -> dict:
        p = self.path(fuid)
        if p is None:
            return {"comment": "object not stored"}
        with open(p, "rb") as fh:      # one open for the size and the bytes
            size = os.fstat(fh.fileno()).st_size
            if size > cap:      # not a second copy of a large body: the HAR points at the file
                return {"_file": f"files/{p.name}",
                        "comment": f"body in files/{p.name} ({size} bytes; bodies over {cap} bytes are not inlined)"}
            data = fh.read()
        if mime.startswith(TEXT_TYPES) or not mime:
            try:
                return {"text": data.decode("utf-8")}
            except UnicodeDecodeError:
                pass
        b64 = base64.b64encode(data)
        del data                # a 1 MiB body: not held beside its base64 bytes and their str
        return {"text": b64.decode("ascii"), "encoding": "base64"}


def _entry(row: Mapping, files: _Files, cap: int) -> dict:
    ts = float(row["ts"])
    version = _v(row.get("request_version")) or "1.1"
    resp_version = _v(row.get("version")) or version
    status = _int(row.get("status_code"), 0)
    req_headers = _headers(row.get("request_headers"))
    resp_headers = _headers(row.get("response_headers"))
    orig_fuids = [str(f) for f in _list(row.get("orig_fuids"))]
    resp_fuids = [str(f) for f in _list(row.get("resp_fuids"))]
    orig_mimes = [str(m) for m in _list(row.get("orig_mime_types"))]
    resp_mimes = [str(m) for m in _list(row.get("resp_mime_types"))]
    request: dict[str, Any] = {
        "method": _v(row.get("method")) or "",
        "url": _url(row),
        "httpVersion": f"HTTP/{version}",
        "cookies": _req_cookies(row),
        "headers": req_headers,
        "queryString": _headers(row.get("query_string")),
        "headersSize": _int(row.get("request_header_size")),
        "bodySize": _int(row.get("request_body_wire_len"), 0),
    }
    if orig_fuids:
        mime = orig_mimes[0] if orig_mimes else "application/octet-stream"
        post: dict[str, Any] = {"mimeType": mime, "params": []}
        content = files.content(orig_fuids[0], mime, cap)
        if mime.startswith("application/x-www-form-urlencoded") and "text" in content \
                and "encoding" not in content:
            post["params"] = [{"name": k, "value": v} for k, v in
                              parse_qsl(content["text"], keep_blank_values=True)]
        elif mime.startswith("multipart/"):
            post["params"] = [{"name": "file", "fileName": str(n)}
                              for n in _list(row.get("orig_filenames"))]
        post["text"] = content.get("text", "")
        for k in ("comment", "_file"):
            if k in content:
                post[k] = content[k]
        request["postData"] = post
    mime = resp_mimes[0] if resp_mimes else "x-unknown"
    body_len = _int(row.get("response_body_len"), 0)
    wire_len = _int(row.get("response_body_wire_len"), 0)
    content: dict[str, Any] = {"size": body_len, "mimeType": mime}
    if body_len != wire_len and wire_len >= 0:
        content["compression"] = body_len - wire_len
    if resp_fuids:
        content.update(files.content(resp_fuids[0], mime, cap))
    response = {
        "status": status,
        "statusText": _v(row.get("status_msg")) or "",
        "httpVersion": f"HTTP/{resp_version}" if status else "",
        "cookies": _resp_cookies(row),
        "headers": resp_headers,
        "content": content,
        "redirectURL": _v(row.get("location")) or "",
        "headersSize": _int(row.get("response_header_size")),
        "bodySize": wire_len if status else -1,
    }
    send = _ms(ts, row.get("request_end_ts"))
    wait = _ms(row.get("request_end_ts"), row.get("response_ts")) if status else 0.0
    receive = _ms(row.get("response_ts"), row.get("response_end_ts")) if status else 0.0
    timings = {"blocked": -1, "dns": -1, "connect": -1, "send": send, "wait": wait,
               "receive": receive, "ssl": -1}
    entry: dict[str, Any] = {
        "pageref": "page_1",
        "startedDateTime": _iso(ts),
        "time": round(send + wait + receive, 3),
        "request": request,
        "response": response,
        "cache": {},
        "timings": timings,
        "serverIPAddress": str(_v(row.get("resp_h")) or ""),
        "connection": str(_v(row.get("uid")) or ""),
        "_uid": str(_v(row.get("uid")) or ""),
        "_flags": [str(f) for f in _list(row.get("flags"))],
        "_complete": bool(_v(row.get("complete"))) if _v(row.get("complete")) is not None else None,
    }
    if not status:
        entry["comment"] = "no response captured"
    return entry


def _time_order(r: Mapping) -> tuple:
    return (float(r["ts"]), str(r.get("uid")), _int(r.get("trans_depth"), 0))


def _creator() -> dict:
    try:
        from importlib.metadata import version as _version
        ver = _version("wiretale")
    except Exception:  # not installed (running from a checkout)
        ver = "0.1.0"
    return {"name": "wiretale", "version": ver}


def _pages(first: float | None) -> list[dict]:
    """The one page every entry refers to, started by the first entry (none without entries)."""
    return [{"startedDateTime": _iso(first), "id": "page_1",
             "title": "HTTP transactions decoded from a packet capture",
             "pageTimings": {"onContentLoad": -1, "onLoad": -1}}] if first is not None else []


_COMMENT = "Built by wiretale from captured packets; bodies are de-chunked and decoded."


def build_har(tables: Mapping[str, Any], files_dir: Path, max_content: int = MAX_INLINE) -> dict:
    """The HAR document (a dict) for the ``http`` table."""
    http = tables.get("http")
    rows = [] if http is None or not len(http) else http.to_dict("records")
    rows.sort(key=_time_order)
    files = _Files(tables, Path(files_dir))
    try:
        entries = [_entry(r, files, max_content) for r in rows]
    finally:
        files.close()
    return {"log": {
        "version": HAR_VERSION,
        "creator": _creator(),
        "pages": _pages(float(rows[0]["ts"]) if rows else None),
        "entries": entries,
        "comment": _COMMENT,
    }}


def write_har(tables: Mapping[str, Any], files_dir: Path, out_path: Path, max_content: int = MAX_INLINE) -> None:
    """Write ``out_path`` (HAR 1.2 JSON) from ``tables["http"]`` and the stored objects.

    Entries are written one at a time, so a capture with many transactions needs memory for one
    entry, not the whole document. A DataFrame or list is sorted by time first; a disk-backed
    table is written in the order its transactions completed."""
    http = tables.get("http")
    if hasattr(http, "to_dict") or isinstance(http, list):
        rows: Iterable[dict] = sorted(_records(http), key=_time_order)
    else:
        rows = _records(http)
    write_har_entries(out_path, ((float(r["ts"]), e) for r, e in har_entries(rows, tables, files_dir, max_content)))


def har_entries(rows: Iterable[Mapping], tables: Mapping[str, Any], files_dir: Path,
                max_content: int = MAX_INLINE) -> Iterator[tuple[Mapping, bytes]]:
    """Each of ``rows`` (http rows, in the order given) with its HAR entry as JSON bytes; bodies are
    looked up through ``tables["files"]`` below ``files_dir``."""
    files = _Files(tables, Path(files_dir))
    try:
        for r in rows:
            yield r, _entry_json(_entry(r, files, max_content))
    finally:
        files.close()


def write_har_entries(out_path: Path, entries: Iterable[tuple[float, bytes]]) -> None:
    """Write the HAR document around ``entries`` (start time, entry JSON), in the order given; the page
    starts with the earliest entry."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out_path) as tmp, tmp.open("wb") as fh:
        fh.write(har_head())
        first = write_entries(fh, entries)
        fh.write(har_tail(first))


#: what goes before each entry but the first (which has b"\n"): entries are one per line
ENTRY_SEP = b",\n"


def write_entries(fh: Any, entries: Iterable[tuple[float, bytes]], first_sep: bytes = b"\n",
                  ends: list[int] | None = None) -> float | None:
    """Write ``entries`` (start time, entry JSON) to ``fh``, the first after ``first_sep`` and each other
    after ``ENTRY_SEP``; returns the earliest start (None: no entries). ``ends``: a list each entry's end
    offset in ``fh`` is appended to. A split run's workers write their blocks with ``first_sep=ENTRY_SEP``
    and ``ends`` (the parent copies their entries in the single run's order: decoder.commands.split)."""
    first = None
    sep = first_sep
    for ts, entry in entries:
        if first is None or ts < first:
            first = ts
        fh.write(sep)
        fh.write(entry)
        if ends is not None:
            ends.append(fh.tell())
        sep = ENTRY_SEP
    return first


def har_head() -> bytes:
    """The bytes of a HAR document before its first entry."""
    return ('{"log": {"version": %s, "creator": %s, "entries": [' % (
        json.dumps(HAR_VERSION), json.dumps(_creator()))).encode("utf-8")


def har_tail(first: float | None) -> bytes:
    """The bytes of a HAR document after its last entry; ``first``: the earliest entry's start (None: no entries)."""
    return ('\n], "pages": %s, "comment": %s}}\n' % (json.dumps(_pages(first)), json.dumps(_COMMENT))).encode("utf-8")


def _entry_json(entry: dict) -> bytes:
    """An entry as JSON: orjson (compact) when it writes what json.dumps wrote, else json.dumps as before.

    :func:`_entry` makes every value itself (``str()``, ``int()``, ``bool()``, ``round()``, its own lists
    and dicts) except the four it takes from the row as they are, so those four and the timings (their
    sum ``time`` is finite only when each is) decide: orjson would write an infinite or NaN timing as
    null where json.dumps wrote Infinity or NaN, and would write an enum that json.dumps refuses. A lone
    surrogate in a str, which UTF-8 cannot carry (writing it used to fail), makes the entry be written
    with \\u escapes."""
    req, resp = entry["request"], entry["response"]
    if type(req["method"]) is str and type(req["url"]) is str and type(resp["statusText"]) is str \
            and type(resp["redirectURL"]) is str and math.isfinite(entry["time"]):
        try:
            return orjson_bytes(entry)
        except TypeError:      # an int beyond 64 bits, a lone surrogate
            pass
    try:
        return json.dumps(entry, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(entry).encode("ascii")
