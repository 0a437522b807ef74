"""Writing tables and the summary: JSON lines, CSV and Parquet.

JSON lines keep lists and dicts as JSON values. CSV, a flat format, writes
lists and dicts as JSON text in their cell. Parquet keeps scalar columns typed;
a column whose values pyarrow cannot type consistently (lists of mixed
dicts, for instance) is written as JSON text, so every table is always written.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pandas is imported only where DataFrames are made (it costs ~0.4 s)
    import pandas as pd



def _jsonable(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, (str, int, bool)):
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if hasattr(v, "item"):
        try:
            return _jsonable(v.item())
        except (ValueError, TypeError):
            pass
    if hasattr(v, "tolist"):
        return _jsonable(v.tolist())
    if v != v:   # NaN and NaT (pandas' missing values) are the values not equal to themselves
        return None
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return str(v)


def rows_of(df: "pd.DataFrame") -> list[dict]:
    cols = list(df.columns)
    return [{c: _jsonable(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def write_jsonl(df: "pd.DataFrame", path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows_of(df):
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")


def _flatten(df: "pd.DataFrame") -> "pd.DataFrame":
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and out[c].map(lambda v: isinstance(v, (list, dict, tuple))).any():
            out[c] = out[c].map(lambda v: json.dumps(_jsonable(v), ensure_ascii=False)
                                if isinstance(v, (list, dict, tuple)) else v)
    return out


def write_csv(df: "pd.DataFrame", path: Path) -> None:
    _flatten(df).to_csv(path, index=False)


def write_parquet(df: "pd.DataFrame", path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {}
    for c in df.columns:
        values = [_jsonable(v) for v in df[c].tolist()]
        try:
            arr = pa.array(values)
            if pa.types.is_null(arr.type) and len(values):
                arr = pa.array(values, type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            arr = pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values],
                           type=pa.string())
        cols[str(c)] = arr
    table = pa.table(cols) if cols else pa.table({})
    pq.write_table(table, path)


WRITERS = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}


def write_tables(tables: Mapping[str, "pd.DataFrame"], out_dir: Path, fmt: str = "jsonl") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    writer = WRITERS[fmt]
    written = []
    for name, df in tables.items():
        p = out_dir / f"{name}.{fmt}"
        writer(df, p)
        written.append(p)
    return written


def write_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(_jsonable(obj), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_row_tables(tables: Mapping[str, Any], out_dir: Path, fmt: str = "jsonl") -> list[Path]:
    """Write tables straight from row iterables (the engine's RowStores) without building DataFrames
    for JSON lines and CSV, so memory stays flat for large captures; Parquet builds one table at a time."""
    import csv

    from reports.tables import frame, names_for, schema

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names_for(tables):
        rows = tables.get(name, ())
        p = out_dir / f"{name}.{fmt}"
        if fmt == "jsonl":
            cols = schema(name)
            colset = set(cols)
            encode = _FAST.encode
            with open(p, "w", encoding="utf-8") as fh:
                for r in rows:
                    ordered = {c: r.get(c) for c in cols}
                    if len(r) > len(colset) or not colset.issuperset(r):
                        for k, v in r.items():
                            if k not in colset:
                                ordered[k] = v
                    try:            # the C encoder; values it cannot take go through _jsonable
                        line = encode(ordered)
                    except (ValueError, TypeError):
                        line = json.dumps(_jsonable(ordered), ensure_ascii=False, separators=(",", ":"))
                    fh.write(line)
                    fh.write("\n")
        elif fmt == "csv":
            cols = list(schema(name))
            seen = set(cols)
            for r in rows:              # first pass: every column that occurs
                for k in r:
                    if k not in seen:
                        seen.add(k)
                        cols.append(k)
            with open(p, "w", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                for r in rows:
                    w.writerow([_cell(r.get(c)) for c in cols])
        else:
            write_parquet(frame(name, rows), p)
        written.append(p)
    return written


_FAST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                         default=lambda o: _jsonable(o) if not isinstance(o, (list, dict)) else o)


def _cell(v: Any) -> Any:
    v = _jsonable(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else v
