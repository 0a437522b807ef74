"""JSON lines and the HAR are encoded by orjson where it writes what json.dumps wrote; these tests
hold the written text to the json.dumps encoding every row had before (kept here as the reference),
on tricky rows, on random rows and on every sample capture. "The same" means: the same values in
the same key order once parsed (orjson spells some floats differently: 1e-05 is 0.00001)."""
from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
from collections import OrderedDict, namedtuple
from pathlib import Path
from types import MappingProxyType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.export import _jsonable, plain_values, write_row_tables
from reports.har import _entry, _entry_json, _Files, write_har
from reports.tables import schema
from tests.conftest import SAMPLES

COLS = schema("timeline")


# ---------------------------------------------------------------- the encoding before orjson
def _old_line(row, cols=COLS) -> str:
    """What write_row_tables wrote for one row before orjson (its code, unchanged)."""
    colset = set(cols)
    ordered = {c: row.get(c) for c in cols}
    if len(row) > len(colset) or not colset.issuperset(row):
        for k, v in row.items():
            if k not in colset:
                ordered[k] = v
    enc = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                           default=lambda o: _jsonable(o) if not isinstance(o, (list, dict)) else o)
    try:
        return enc.encode(ordered)
    except (ValueError, TypeError):
        return json.dumps(_jsonable(ordered), ensure_ascii=False, separators=(",", ":"))


def _canon(text: str) -> str:
    """Parsed and written again: the values and their key order, whatever the spelling of numbers."""
    return json.dumps(json.loads(text), ensure_ascii=True)


def _lines(path: Path) -> list[str]:
    """The lines of a JSON lines file (split at \\n only: U+2028 and friends may stand in a str)."""
    text = path.read_bytes().decode("utf-8")
    assert text == "" or text.endswith("\n")
    return text.split("\n")[:-1]


def _written(tmp_path: Path, rows, table: str = "timeline") -> list[str]:
    write_row_tables({table: rows}, tmp_path, "jsonl")
    return _lines(tmp_path / f"{table}.jsonl")


# ---------------------------------------------------------------- tricky rows
class Colour(enum.Enum):
    RED = "red"


class Small(enum.IntEnum):
    TWO = 2


class Word(str, enum.Enum):
    HI = "hi"


class Name(str):
    pass


class Count(int):
    pass


@dataclasses.dataclass
class Point:
    x: int
    y: int


Pair = namedtuple("Pair", "a b")

BASE = {"ts": 1700000000.25, "uid": "C1", "orig_h": "10.0.0.1", "orig_p": 1025, "resp_h": "10.0.0.2",
        "resp_p": 25, "proto": "smtp", "direction": "orig", "kind": "Command", "summary": "HELO x",
        "meaning": "hello", "frame": 1, "fields": {"verb": "HELO", "arg": "x"}}
assert tuple(BASE) == COLS

TRICKY = {
    "non-ascii": {"summary": "café 日本 😀 Ω", "meaning": "ünïcödé"},
    "control characters": {"summary": "\x00\x01\x08\t\n\r\x1f\x7f\"\\/", "meaning": "\u2028\u2029\ufeff"},
    "None everywhere": {"summary": None, "meaning": None, "frame": None},
    "NaN top level": {"ts": math.nan, "frame": 3},
    "NaN nested": {"extra": [1.5, math.nan, {"x": math.nan}]},
    "infinity top level": {"ts": math.inf},
    "minus infinity nested": {"extra": {"a": [1, {"b": -math.inf}]}},
    "large ints": {"frame": 2 ** 63, "a": 2 ** 64 - 1, "b": -2 ** 63, "c": 2 ** 64, "d": -2 ** 63 - 1,
                   "e": 10 ** 30},
    "large int nested": {"extra": [{"n": 2 ** 70}]},
    "floats": {"a": 1e-05, "b": 1e16, "c": 0.1, "d": -0.0, "e": 5e-324, "f": 1.7976931348623157e308,
               "g": 123456789.123456789, "h": 1.0},
    "bool and int": {"a": True, "b": False, "c": 0, "d": 1},
    "nested lists and dicts": {"extra": [[], {}, [[[{"k": ["v", 1, None, True, 2.5]}]]], {"a": {"b": {"c": []}}}]},
    "tuples": {"extra": (1, (2, "three"), [4, (5,)])},
    "non-str keys": {"extra": {1: "int", 2.5: "float", False: "bool", None: "none", "s": "str"}},
    "tuple key": {"extra": {(1, 2): "pair"}},
    "enums": {"a": Colour.RED, "b": Small.TWO, "c": Word.HI, "d": [Colour.RED]},
    "subclasses": {"a": Name("n"), "b": Count(7), "c": OrderedDict(x=1), "d": Pair(1, 2), "e": {Name("k"): 1}},
    "datetime and dataclass": {"a": datetime.datetime(2024, 1, 2, 3, 4, 5), "b": datetime.date(2024, 1, 2),
                               "c": Point(1, 2)},
    "bytes and sets": {"a": b"\x00\xff", "b": frozenset({1})},
}

ROWS = {name: {**BASE, **extra} for name, extra in TRICKY.items()}     # known keys keep their place
ROWS["extra keys first"] = {"zzz": 1, **BASE, "aaa": [1]}
ROWS["missing columns"] = {"uid": "only", "x": [1]}
ROWS["empty"] = {}


@pytest.mark.parametrize("name", list(ROWS))
def test_tricky_row_alone_parses_as_before(name, tmp_path):
    [line] = _written(tmp_path, [ROWS[name]])
    assert _canon(line) == _canon(_old_line(ROWS[name]))


def test_tricky_rows_among_plain_ones_parse_as_before(tmp_path):
    """A batch with odd rows in it: every row still written as before, in order, across batches."""
    plain = [{**BASE, "frame": i, "summary": f"line {i}"} for i in range(2600)]
    rows = list(plain)
    for i, r in enumerate(ROWS.values()):
        rows.insert(97 * i + 5, r)
    lines = _written(tmp_path, rows)
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        assert _canon(line) == _canon(_old_line(row))


def test_mapping_rows_and_other_key_orders(tmp_path):
    base = dict(BASE)
    permuted = dict(reversed(list(base.items())))
    rows = [MappingProxyType(dict(base)), permuted, {**permuted, "more": 1}, base]
    lines = _written(tmp_path, rows)
    assert [_canon(x) for x in lines] == [_canon(_old_line(r)) for r in rows]
    assert list(json.loads(lines[1])) == list(COLS)          # schema order, whatever the row's order


def test_lone_surrogate_is_written_escaped(tmp_path):
    """json.dumps let a lone surrogate through and writing the file failed; now the line is written with
    \\u escapes and reads back the same str."""
    row = {**BASE, "summary": "bad \udc80 byte", "meaning": "é"}
    with pytest.raises(UnicodeEncodeError):
        _old_line(row).encode("utf-8")
    [line] = _written(tmp_path, [row, BASE])[:1]
    assert json.loads(line) == json.loads(_old_line(row))
    assert json.loads(line)["summary"] == "bad \udc80 byte"


def test_plain_values():
    assert plain_values([1, "a", None, True, 2.5, [1, (2, {"a": [3.5]})]])
    assert plain_values([])
    assert not plain_values([math.inf])
    assert not plain_values([[{"a": (1, -math.inf)}]])
    assert plain_values([math.nan, [math.nan]])      # NaN: null for orjson as for the json path
    assert not plain_values([Colour.RED])
    assert not plain_values([{"a": [Name("x")]}])
    assert not plain_values([b"x"])
    assert plain_values([1e308, 1e308])             # their sum overflows; each is finite


# ---------------------------------------------------------------- random rows
_scalars = (st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
            | st.floats(allow_nan=True, allow_infinity=True)
            | st.text(st.characters(exclude_categories=()), max_size=12))     # lone surrogates too
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.tuples(inner, inner)
                       | st.dictionaries(st.text(max_size=6) | st.integers(), inner, max_size=4),
                       max_leaves=20)
_rows = st.dictionaries(st.sampled_from(list(COLS) + ["x", "y", "ü"]), _values, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_rows, max_size=5))
def test_random_rows_parse_as_before(tmp_path_factory, rows):
    lines = _written(tmp_path_factory.mktemp("rows"), rows)
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows):
        assert _canon(line) == _canon(_old_line(row))


# ---------------------------------------------------------------- every sample, every table
@pytest.mark.parametrize("capture", sorted(SAMPLES.glob("*.pcap*")), ids=lambda p: p.name)
def test_sample_tables_as_before(capture, tmp_path):
    from decoder.api import analyze

    with analyze(capture) as a:
        rows = {name: list(r) for name, r in a.rows.items()}
    write_row_tables(rows, tmp_path, "jsonl")
    for name, table in rows.items():
        lines = _lines(tmp_path / f"{name}.jsonl")
        assert [_canon(x) for x in lines] == [_canon(_old_line(r, schema(name))) for r in table], name


# ---------------------------------------------------------------- HAR entries
def _http_row(**over) -> dict:
    row = {"ts": 1700000000.5, "uid": "C1", "orig_h": "10.0.0.1", "orig_p": 40000, "resp_h": "10.0.0.2",
           "resp_p": 80, "trans_depth": 1, "method": "GET", "host": "example.com", "uri": "/a?b=c",
           "version": "1.1", "status_code": 200, "status_msg": "OK", "request_version": "1.1",
           "request_headers": [{"name": "Host", "value": "example.com"}, {"name": "X-Ü", "value": "é\x01"}],
           "response_headers": [{"name": "Content-Type", "value": "text/plain"}],
           "query_string": [{"name": "b", "value": "c"}], "cookies": ["a=1"], "set_cookies": ["s=2; Path=/"],
           "request_header_size": 40, "response_header_size": 30, "request_body_wire_len": 0,
           "response_body_len": 5, "response_body_wire_len": 5, "request_end_ts": 1700000000.5,
           "response_ts": 1700000000.75, "response_end_ts": 1700000000.875, "flags": [], "complete": True,
           "orig_fuids": [], "resp_fuids": ["F1"], "resp_mime_types": ["text/plain"]}
    row.update(over)
    return row


HTTP_ROWS = {
    "plain": _http_row(),
    "str enum method": _http_row(method=Word.HI),
    "str subclass status": _http_row(status_msg=Name("Fine")),
    "int status text": _http_row(status_msg=7),
    "absolute uri subclass": _http_row(uri=Name("http://example.com/x")),
    "infinite timing": _http_row(response_end_ts=math.inf),
    "huge sizes": _http_row(response_header_size=2 ** 70, response_body_len=2 ** 64),
    "lone surrogate header": _http_row(response_headers=[{"name": "X", "value": "a\udc80"}]),
    "non-ascii": _http_row(uri="/ünï", location="/日本"),
}


@pytest.mark.parametrize("name", list(HTTP_ROWS))
def test_har_entry_as_before(name, tmp_path):
    (tmp_path / "F1-body").write_bytes("hello wörld".encode("utf-8"))
    files = _Files({"files": [{"fuid": "F1", "path": "files/F1-body"}]}, tmp_path)
    entry = _entry(HTTP_ROWS[name], files, 1 << 20)
    assert json.loads(_entry_json(entry).decode("utf-8")) == json.loads(json.dumps(entry))


def test_har_entry_that_json_cannot_write_still_fails(tmp_path):
    files = _Files({}, tmp_path)
    entry = _entry(_http_row(method=Colour.RED), files, 1 << 20)
    with pytest.raises(TypeError):
        json.dumps(entry)
    with pytest.raises(TypeError):
        _entry_json(entry)


def test_write_har_entries_as_before(tmp_path):
    (tmp_path / "F1-body").write_bytes(b"\x89PNG\x00\xff binary")
    rows = list(HTTP_ROWS.values())
    write_har({"http": rows, "files": [{"fuid": "F1", "path": "files/F1-body"}]}, tmp_path, tmp_path / "h.har")
    doc = json.loads((tmp_path / "h.har").read_text(encoding="utf-8"))
    files = _Files({"files": [{"fuid": "F1", "path": "files/F1-body"}]}, tmp_path)
    expected = [json.loads(json.dumps(_entry(r, files, 1 << 20)))
                for r in sorted(rows, key=lambda r: (float(r["ts"]), str(r.get("uid")), r["trans_depth"]))]
    assert doc["log"]["entries"] == expected


def test_har_bodies_come_from_out_not_the_working_directory(tmp_path, monkeypatch):
    """The files table's ``files/<name>`` is relative to OUT: a ``files/`` folder of another run in the
    working directory, with the same names, is never read."""
    out = tmp_path / "out"
    (out / "files").mkdir(parents=True)
    (out / "files" / "F1-body").write_bytes(b"the body of this run")
    cwd = tmp_path / "elsewhere"
    (cwd / "files").mkdir(parents=True)
    (cwd / "files" / "F1-body").write_bytes(b"a decoy from another run")
    monkeypatch.chdir(cwd)
    files = _Files({"files": [{"fuid": "F1", "path": "files/F1-body"}]}, out / "files")
    assert files.content("F1", "text/plain", 1 << 20) == {"text": "the body of this run"}
    absolute = _Files({"files": [{"fuid": "F2", "path": str(out / "files" / "F1-body")}]}, cwd / "nowhere")
    assert absolute.content("F2", "text/plain", 1 << 20) == {"text": "the body of this run"}


# ---------------------------------------------------------------- rows the host vouches for
def _encoded(rows, vouched) -> bytes:
    from reports.export import JsonlEncoder

    return b"".join(JsonlEncoder(COLS)(rows, vouched))


def _plain_row(row: dict) -> dict:
    from decoder.results import plain

    return {k: plain(v) for k, v in row.items()}


@pytest.mark.parametrize("name", list(ROWS))
def test_a_vouched_row_of_plain_values_is_written_as_unvouched(name):
    """The host marks rows made of decoder.results.plain's values and the encoder skips its check of them:
    the bytes must be those of the checked path, infinities and float enums included."""
    row = _plain_row(ROWS[name])
    assert _encoded([row], [True]) == _encoded([row], None)
    mixed = [row, dict(BASE), _plain_row(ROWS["floats"])]
    assert _encoded(mixed, [True, False, True]) == _encoded(mixed, None) == _encoded(mixed, [True] * 3)


class Ratio(float, enum.Enum):
    TINY = 1e-05


def test_plain_hands_json_the_floats_orjson_writes_otherwise():
    from decoder.results import DumpsFloat, plain, vouched_time

    for v in (math.inf, -math.inf, Ratio.TINY):
        assert type(plain(v)) is DumpsFloat and plain(v) == v
    assert type(plain(math.nan)) is float and type(plain(0.5)) is float     # NaN is null both ways
    assert [type(x) for x in plain([1.5, math.inf])] == [float, DumpsFloat]
    assert _encoded([{**BASE, "fields": plain({"r": Ratio.TINY, "i": math.inf})}], [True]) == \
        _encoded([{**BASE, "fields": {"r": Ratio.TINY, "i": math.inf}}], None)
    assert b'"i":Infinity' in _encoded([{**BASE, "fields": plain({"i": math.inf})}], [True])
    assert vouched_time(1.5) and not any(map(vouched_time, (math.inf, math.nan, 2, None, Ratio.TINY)))


@settings(max_examples=300, deadline=None)
@given(st.lists(_rows, max_size=5), st.data())
def test_random_vouched_rows_written_as_checked_ones(rows, data):
    rows = [_plain_row(r) for r in rows]
    marks = data.draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    assert _encoded(rows, marks) == _encoded(rows, None)
