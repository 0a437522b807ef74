"""Writing tables and the summary: JSON lines, CSV and Parquet.

JSON lines keep lists and dicts as JSON values. CSV, a flat format, writes
lists and dicts as JSON text in their cell. Parquet keeps scalar columns typed;
a column whose values pyarrow cannot type consistently (lists of mixed
dicts, for instance) is written as JSON text, so every table is always written.

The engine's rows are written as JSON lines by orjson, a batch of rows per C call
chain, when their values are plain (:func:`plain_values`, skipped for rows whose maker
vouched for them: :class:`JsonlEncoder`); any other row is written by json.dumps as it
always was, so every line reads back to the same values (tests/test_output_encoding.py
holds the two to each other).
"""
from __future__ import annotations

import json
import math
import os
from contextlib import contextmanager
from functools import partial
from itertools import chain, compress, islice
from operator import not_
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

import orjson

if TYPE_CHECKING:  # pandas is imported only where DataFrames are made (it costs ~0.4 s)
    import pandas as pd




@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Write ``path`` under a temporary name beside it (``.NAME.tmp-PID``) and rename it over ``path``
    when the block ends without error: a stop or a failure leaves the earlier file or the whole new
    one, never part of one (and no temporary file, unless the process is killed outright)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError) and e.filename is None:      # a failed write() names no file: name it
            raise OSError(e.errno, e.strerror, str(path)) from e
        raise


def write_text_replacing(path: Path, text: str | Iterable[str]) -> None:
    """``path.write_text(text)`` through :func:`replacing`; ``text`` may come in pieces (a template's
    ``generate()``), written as they come, so a large page is never whole in memory."""
    with replacing(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        if isinstance(text, str):
            fh.write(text)
        else:
            fh.writelines(text)

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


def write_json(obj: Any, path: Path) -> None:
    write_text_replacing(path, json.dumps(_jsonable(obj), indent=2, ensure_ascii=False) + "\n")


def write_row_tables(tables: Mapping[str, Any], out_dir: Path, fmt: str = "jsonl",
                     skip: Iterable[str] = (), only: Iterable[str] | None = None,
                     observe: Callable[[str, dict], None] | None = None) -> list[Path]:
    """Write tables straight from row iterables (the engine's RowStores) without building DataFrames
    for JSON lines and CSV, so memory stays flat for large captures; Parquet builds one table at a time.
    ``skip`` / ``only``: leave out these tables / write just these (the parallel writer's split).
    ``observe(table, row)`` is called with every row as it is written (the HTML report's collector),
    ``conn`` first. Each table is written under a temporary name and renamed when whole."""
    from reports.tables import names_for

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    skip = set(skip)
    keep = None if only is None else set(only)
    for name in sorted(names_for(tables), key=lambda n: (n != "conn", n)):
        if name in skip or (keep is not None and name not in keep):
            continue
        rows = tables.get(name, ())
        p = out_dir / f"{name}.{fmt}"
        with replacing(p) as tmp:
            _write_table(name, rows, tmp, fmt, observe)
        written.append(p)
    return written


def _write_table(name: str, rows: Any, p: Path, fmt: str, observe: Callable[[str, dict], None] | None) -> None:
    """One table to ``p`` in ``fmt`` (``observe`` sees each row as it is written)."""
    import csv

    from reports.tables import frame, schema

    if fmt == "jsonl":
        if observe is None and encoded_as(rows, schema(name)):
            with open(p, "wb") as fh:        # the lines the store was given when its rows were made
                fh.writelines(rows.encoded())
            return
        _write_jsonl_rows(_observed(name, rows, observe), schema(name), p)
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
            for r in _observed(name, rows, observe):
                w.writerow([_cell(r.get(c)) for c in cols])
    else:
        write_parquet(frame(name, _observed(name, rows, observe)), p)


def encoded_as(rows: Any, cols: Iterable[str]) -> bool:
    """True when ``rows`` is a store whose rows were encoded as they were made by the JSON-lines
    encoder of these columns (decoder.rows.RowStore with an ``encoder``): its lines are the table's."""
    enc = getattr(rows, "encoder", None)
    return isinstance(enc, JsonlEncoder) and enc.cols == tuple(cols)


def _observed(name: str, rows: Iterable[dict], observe: Callable[[str, dict], None] | None) -> Iterable[dict]:
    if observe is None:
        return rows
    return (observe(name, r) or r for r in rows)


# ---------------------------------------------------------------- JSON lines of plain rows
#
# A row is written as its schema's columns in order, then any other keys it has in its own order.
# Rows of plain values (str, int, bool, None, finite float, and lists, tuples and dicts of them) are
# encoded by orjson, a batch of rows at a time with no Python code per row. orjson writes such values
# as json.dumps did, up to the spelling of some floats (1e-05 is written 0.00001): the same values
# once parsed; NaN is null in both. Every other row takes json.dumps as before (_stdlib_line): rows with
# an infinite float (orjson would write null, json.dumps writes Infinity), an enum (orjson writes its
# value, we wrote its str()), a non-str dict key, an int beyond 64 bits, a str with a lone surrogate,
# or an object of any other type.

_BATCH = 250                                   # rows encoded by one C call chain (and held, re-ordered, at once)
# subclasses of str, int, dict and list, datetimes and dataclasses go to _refuse (json.dumps wrote
# them differently), and so does any type orjson does not know
_ORJSON_OPTS = (orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME
                | orjson.OPT_PASSTHROUGH_DATACLASS)
_SCALARS = frozenset({str, int, bool, type(None)})
_SCALARS_F = _SCALARS | {float}
_PLAIN = _SCALARS_F | {list, tuple, dict}
_is_float = frozenset({float}).__contains__
_is_dict = frozenset({dict}).__contains__
_SEQ = frozenset({list, tuple})
_is_seq = _SEQ.__contains__
_INF, _NINF = math.inf, -math.inf
_DICT = frozenset({dict})


def _refuse(o: Any) -> Any:
    raise TypeError(type(o).__name__)


orjson_bytes = partial(orjson.dumps, default=_refuse, option=_ORJSON_OPTS)
"""orjson.dumps for values that :func:`plain_values` accepted (raises TypeError for the rest)."""
_orjson_line = partial(orjson.dumps, default=_refuse, option=_ORJSON_OPTS | orjson.OPT_APPEND_NEWLINE)


def plain_values(values: Iterable[Any]) -> bool:
    """True when every value, at any depth, is plain: one of str, int, bool, None, a finite float, or a
    list, tuple or dict of plain values (dict keys are not looked at: orjson refuses non-str keys).
    Looks at one nesting level of all values at a time, in C (map, set, compress, chain, sum), so the
    cost is a few C calls per level, not Python code per value."""
    vals = list(values)
    while vals:
        tl = list(map(type, vals))
        types = set(tl)
        if types <= _SCALARS:
            return True
        if not types <= _PLAIN:
            return False
        if float in types:
            if not math.isfinite(sum(compress(vals, map(_is_float, tl)))):   # inf, NaN or an overflow
                floats = list(compress(vals, map(_is_float, tl)))
                if _INF in floats or _NINF in floats:
                    return False
            if types <= _SCALARS_F:
                return True
        nested = []
        if dict in types:
            nested.extend(chain.from_iterable(map(dict.values, compress(vals, map(_is_dict, tl)))))
        if not types.isdisjoint(_SEQ):
            nested.extend(chain.from_iterable(compress(vals, map(_is_seq, tl))))
        vals = nested
    return True


_FAST = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                         default=lambda o: _jsonable(o) if not isinstance(o, (list, dict)) else o)
_FAST_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False,
                               default=_FAST.default)


def _stdlib_line(row: dict) -> bytes:
    """One row as json.dumps writes it (the path every row took before orjson), in UTF-8 with a newline.
    A str with a lone surrogate (not encodable in UTF-8; writing it used to fail) makes the row be
    written with \\u escapes for everything beyond ASCII, which read back the same values."""
    try:
        return _json_text(row, False).encode("utf-8") + b"\n"
    except UnicodeEncodeError:
        return _json_text(row, True).encode("ascii") + b"\n"


def _json_text(row: dict, ascii: bool) -> str:
    try:            # the C encoder; values it cannot take go through _jsonable
        return (_FAST_ASCII if ascii else _FAST).encode(row)
    except (ValueError, TypeError):
        return json.dumps(_jsonable(row), ensure_ascii=ascii, separators=(",", ":"))


def row_line(row: dict) -> bytes:
    """One row as a JSON line (bytes ending in a newline): orjson when its values are plain, else json."""
    if plain_values(row.values()):
        try:
            return _orjson_line(row)
        except TypeError:      # a non-str dict key or an int beyond 64 bits
            pass
    return _stdlib_line(row)


def _write_jsonl_rows(rows: Iterable[dict], schema_cols: Iterable[str], path: Path) -> None:
    encode = JsonlEncoder(schema_cols)
    it = iter(rows)
    with open(path, "wb") as fh:
        while True:
            batch = list(islice(it, encode.batch))
            if not batch:
                break
            fh.write(b"".join(encode(batch)))


class JsonlEncoder:
    """Rows of one table (schema ``cols``) as JSON lines, a batch at a time: ``encoder(rows)`` is the
    list of their lines, in order. The same bytes whatever the batches (a row's encoding depends on the
    row alone); the parallel split encodes in its workers with it and the parent writes the lines."""

    batch = _BATCH         # rows per call that keeps the C encoder busy

    def __init__(self, schema_cols: Iterable[str]) -> None:
        self.cols = tuple(schema_cols)
        self.colset = set(self.cols)

    def _ordered(self, r: Mapping) -> dict:
        o = dict(zip(self.cols, map(r.get, self.cols)))
        if not self.colset.issuperset(r):
            for k, v in r.items():
                if k not in self.colset:
                    o[k] = v
        return o

    def __call__(self, batch: list, plain: Sequence[bool] | None = None) -> list[bytes]:
        """The lines of ``batch``; ``plain[i]`` true: row i's maker vouched that its values are plain for
        orjson (decoder.results.plain's values, decoder.rows), so only the other rows' values are checked."""
        cols, n, ordered = self.cols, len(self.cols), self._ordered
        if not set(map(type, batch)) <= _DICT:      # other mappings become dicts, as before
            batch = [r if type(r) is dict else ordered(r) for r in batch]
        keys = list(map(tuple, batch))
        odd = {k for k in set(keys) if k[:n] != cols}   # key orders that are not schema-first
        if odd:
            batch = [ordered(r) if k in odd else r for r, k in zip(batch, keys)]
        unchecked = batch if not plain else () if all(plain) else list(compress(batch, map(not_, plain)))
        if plain_values(chain.from_iterable(map(dict.values, unchecked))):
            try:
                return list(map(_orjson_line, batch))
            except TypeError:      # a non-str key or an int beyond 64 bits somewhere in the batch
                pass
        return list(map(row_line, batch))


def _cell(v: Any) -> Any:
    v = _jsonable(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else v
