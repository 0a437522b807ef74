"""decoder.results.plain and dict_maker: a record field as a plain value, the way chosen once per type
(issue 26). Each branch is checked against the value its docstring promises."""
from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field

from decoder.model import ORIG, RESP
from decoder.results import dict_maker, plain


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Tag(str):
    pass


@dataclass(frozen=True)
class Inner:
    oid: str
    value: bytes
    tags: frozenset = frozenset()


@dataclass(frozen=True)
class Outer:
    ts: float
    name: str
    inners: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def test_scalars_and_their_subclasses_stay_as_they_are() -> None:
    for v in (None, "a", 1, 1.5, True, Tag("t"), Level.HIGH, ORIG, RESP):
        assert plain(v) is v


def test_containers_bytes_enums_and_other_objects() -> None:
    assert plain((1, "a", None)) == [1, "a", None]
    assert sorted(plain({3, 1, 2})) == [1, 2, 3]
    assert plain({1: b"x", "k": (Colour.RED,)}) == {"1": "x", "k": ["red"]}
    assert plain(bytearray(b"ok\xff")) == "ok\\xff"
    assert plain(memoryview(b"m")) == "m"
    assert plain(Colour.RED) == "red"
    assert plain(ipaddress.ip_address("192.0.2.1")) == "192.0.2.1"


def test_nested_dataclasses_become_dicts_in_field_order() -> None:
    o = Outer(1.0, "n", [Inner("1.3.6", b"\x00v", frozenset({"a"}))], {"x": Inner("2", b"")})
    got = plain(o)
    assert list(got) == ["ts", "name", "inners", "extra"]
    assert got == {"ts": 1.0, "name": "n", "inners": [{"oid": "1.3.6", "value": "\x00v", "tags": ["a"]}],
                   "extra": {"x": {"oid": "2", "value": "", "tags": []}}}


def test_dict_maker_skips_renames_leads_and_keeps_order() -> None:
    make = dict_maker(Outer, ("ts",))
    got = make(Outer(2.0, "m", [Inner("o", b"v")]))
    assert list(got) == ["name", "inners", "extra"]
    assert got == {"name": "m", "inners": [{"oid": "o", "value": "v", "tags": []}], "extra": {}}
    assert dict_maker(Outer, ("ts", "name", "inners", "extra"))(Outer(0.0, "z")) == {}
    row = dict_maker(Outer, ("ts",), {"name": "from"}, ("ts", "uid"))(Outer(1.5, "z"), 1.5, "C1")
    assert list(row) == ["ts", "uid", "from", "inners", "extra"] and row["from"] == "z"


def test_dict_maker_a_key_met_twice_keeps_its_first_place_and_last_value() -> None:
    row = dict_maker(Outer, ("ts",), None, ("name", "uid"))(Outer(0.0, "field"), "lead", "C1")
    assert list(row) == ["name", "uid", "inners", "extra"] and row["name"] == "field"
