"""Rows → pandas DataFrames with fixed leading columns (DESIGN.md section 6).

Every table starts ``ts, uid, orig_h, orig_p, resp_h, resp_p``. Core tables
have a fixed schema even when empty; protocol tables take their columns from
their :class:`~decoder.model.Record` dataclass. Lists stay lists (object
columns); exporters decide how to write them.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:  # imported lazily: the streaming writers need no pandas
    import pandas as pd


from decoder.model import Credential, Record

LEAD = ("ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p")

CORE: dict[str, tuple[str, ...]] = {
    "conn": LEAD + ("proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state", "missed_bytes",
                    "history", "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes", "roles_guessed",
                    "out_of_order", "retransmissions", "gaps", "parent_uid", "expect_token", "nat",
                    "first_frame", "last_frame", "close_reason"),
    "anomalies": LEAD + ("name", "detail", "source", "frame", "direction"),
    "timeline": LEAD + ("proto", "direction", "kind", "summary", "meaning", "frame", "fields"),
    "files": LEAD + ("fuid", "source", "kind", "direction", "filename", "mime_type", "sniffed_mime_type",
                     "seen_bytes", "total_bytes", "missing_bytes", "complete", "truncated", "sha256",
                     "parent_fuid", "path", "close_ts", "close_reason"),
    "emails": LEAD + ("fuid", "source", "date", "from", "to", "cc", "reply_to", "subject", "msg_id",
                      "in_reply_to", "user_agent", "x_originating_ip", "attachments", "attachment_fuids",
                      "parts", "size", "complete", "missing_bytes", "defects", "eml", "sha256"),
}


def _record_classes() -> dict[str, type]:
    from dissectors import load_all

    load_all()          # a dissector module is imported when its protocol is first met: the tables are all
    out: dict[str, type] = {}
    stack = list(Record.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "TABLE", "") and dataclasses.is_dataclass(cls):
            out.setdefault(cls.TABLE, cls)
    out.setdefault("credentials", Credential)
    return out


def schema(table: str) -> tuple[str, ...]:
    if table in CORE:
        return CORE[table]
    cls = _record_classes().get(table)
    if cls is None:
        return LEAD
    cols = getattr(cls, "COLUMNS", {})   # field → column, for names Python does not allow (from_ → from)
    return LEAD + tuple(cols.get(f.name, f.name) for f in dataclasses.fields(cls) if f.name != "ts")


def frame(table: str, rows: Iterable[dict]) -> "pd.DataFrame":
    import pandas as pd

    rows = list(rows)
    cols = list(schema(table))
    extra: list[str] = []
    seen = set(cols)
    for r in rows[:1000] if len(rows) > 1000 else rows:
        for k in r:
            if k not in seen:
                seen.add(k)
                extra.append(k)
    if len(rows) > 1000:
        for r in rows[1000:]:
            for k in r:
                if k not in seen:
                    seen.add(k)
                    extra.append(k)
    df = pd.DataFrame.from_records(rows, columns=cols + extra) if rows else pd.DataFrame(columns=cols)
    return df


def utc_times(df: "pd.DataFrame") -> "pd.DataFrame":
    """The DataFrame with its time columns (``ts`` and ``*_ts``, epoch seconds) as timezone-aware UTC
    datetimes (missing times: ``NaT``). The tables written to disk keep epoch seconds."""
    import pandas as pd

    cols = [c for c in df.columns if isinstance(c, str) and (c == "ts" or c.endswith("_ts"))]
    if not cols:
        return df
    df = df.copy()
    for c in cols:
        # to the microsecond: a float of epoch seconds holds no finer digit (its step is about 0.2 µs today)
        df[c] = pd.to_datetime(pd.to_numeric(df[c], errors="coerce"), unit="s", utc=True).dt.round("us")
    return df


def names_for(tables: Mapping[str, object]) -> list[str]:
    """Every table to write: those with rows, the core tables and every known protocol table."""
    return sorted(set(tables) | set(CORE) | {"credentials"} | set(_record_classes()))


def frames(tables: Mapping[str, list[dict]]) -> dict[str, "pd.DataFrame"]:
    return {name: frame(name, tables.get(name, [])) for name in names_for(tables)}
