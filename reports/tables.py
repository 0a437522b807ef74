"""Rows → pandas DataFrames with fixed leading columns (DESIGN.md section 6).

Every table starts ``ts, uid, orig_h, orig_p, resp_h, resp_p``. Every table takes
its columns from its :class:`~decoder.model.Record` dataclass (the core tables' from
:data:`~decoder.model.CORE_RECORDS`, a protocol's from its dissector) and is written
even when empty, but for ``comments`` and ``tcp_control`` (only when they have rows). Lists stay lists (object
columns); exporters decide how to write them.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:  # imported lazily: the streaming writers need no pandas
    import pandas as pd


from decoder.model import CORE_RECORDS, LEAD, Credential, Record

def _columns(cls: type) -> tuple[str, ...]:
    """A Record's table columns: the lead columns, then its fields after ``ts``."""
    cols = getattr(cls, "COLUMNS", {})   # field → column, for names Python does not allow (from_ → from)
    return LEAD + tuple(cols.get(f.name, f.name) for f in dataclasses.fields(cls) if f.name != "ts")


#: The core tables' columns, from their Records (decoder.model.CORE_RECORDS): the one schema source.
CORE: dict[str, tuple[str, ...]] = {cls.TABLE: _columns(cls) for cls in CORE_RECORDS}


#: The packages whose Records are wiretale's tables: a Record subclass made elsewhere (a test's toy record)
#: is not one of them, however long the process lives after it.
_OWN = ("decoder", "dissectors")


def _record_classes() -> dict[str, type]:
    from dissectors import load_all

    load_all()          # a dissector module is imported when its protocol is first met: the tables are all
    out: dict[str, type] = {}
    stack = list(Record.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if getattr(cls, "TABLE", "") and dataclasses.is_dataclass(cls) and cls.__module__.partition(".")[0] in _OWN:
            out.setdefault(cls.TABLE, cls)
    out.setdefault("credentials", Credential)
    return out


def schema(table: str) -> tuple[str, ...]:
    if table in CORE:
        return CORE[table]
    cls = _record_classes().get(table)
    return LEAD if cls is None else _columns(cls)


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
    """Every table to write: those with rows, and every known table (core or protocol) but those written
    only when they have rows (``Record.ALWAYS_WRITTEN`` false: ``comments``, ``tcp_control``)."""
    known = {name for name, cls in _record_classes().items() if cls.ALWAYS_WRITTEN}
    return sorted(set(tables) | {cls.TABLE for cls in CORE_RECORDS if cls.ALWAYS_WRITTEN} | known)


def frames(tables: Mapping[str, list[dict]]) -> dict[str, "pd.DataFrame"]:
    return {name: frame(name, tables.get(name, [])) for name in names_for(tables)}
