"""dissectors._ber: the bounded BER reader, checked against an independent
encoder written here (and against pyasn1's encoder when it is installed)."""
from __future__ import annotations

import time

import pytest

from dissectors._ber import (
    BerError, Reader, decode_int, decode_oid, decode_unsigned, walk,
)


# -- a tiny independent BER writer (X.690 definite lengths)
def enc_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + enc_len(len(content)) + content


def enc_int(v: int) -> bytes:
    n = max(1, (v + (v < 0)).bit_length() // 8 + 1)
    return v.to_bytes(n, "big", signed=True)


def enc_oid(s: str) -> bytes:
    arcs = [int(a) for a in s.split(".")]
    subids = [40 * arcs[0] + arcs[1]] + arcs[2:]
    out = bytearray()
    for sid in subids:
        chunk = [sid & 0x7F]
        sid >>= 7
        while sid:
            chunk.append(0x80 | (sid & 0x7F))
            sid >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


@pytest.mark.parametrize("v", [0, 1, -1, 127, 128, -128, -129, 255, 256, 2**31 - 1, -2**31,
                               2**63, -2**63 - 1])
def test_integers(v):
    assert decode_int(enc_int(v)) == v


def test_unsigned_without_leading_zero():
    assert decode_unsigned(b"\xff\xff\xff\xff") == 2**32 - 1
    assert decode_unsigned(b"\x00\xff") == 255


@pytest.mark.parametrize("oid", ["1.3.6.1.2.1.1.1.0", "0.0", "2.999.3", "1.3.6.1.4.1.2021.4294967295",
                                 "1.3.6.1.2.1.4.24.4.1.6.138.68.0.0.255.255.240.0.0.0.0.0.0"])
def test_oids(oid):
    assert decode_oid(enc_oid(oid)) == oid


def test_reader_nested_and_bounds():
    inner = tlv(0x02, enc_int(5)) + tlv(0x04, b"public")
    data = tlv(0x30, inner) + b"\x05\x00"
    r = Reader(data)
    seq = r.expect(0x30, "seq")
    sub = r.enter(seq)
    assert decode_int(sub.value(sub.expect(0x02, "int"))) == 5
    assert sub.value(sub.expect(0x04, "str")) == b"public"
    assert sub.at_end()
    assert r.read().tag == 0x05 and r.at_end()


def test_long_form_length():
    content = b"x" * 300
    r = Reader(tlv(0x04, content))
    t = r.read()
    assert t.length == 300 and r.value(t) == content


@pytest.mark.parametrize("data,name", [
    (b"\x30\x05\x02\x01", "length_past_end"),
    (b"\x30\x80\x02\x01\x00\x00\x00", "indefinite_length"),
    (b"\x04\x84\xff\xff\xff\xff", "length_past_end"),
    (b"\x04\x89" + b"\x01" * 9, "bad_length"),
    (b"\x04\xff", "bad_length"),
    (b"\x04", "truncated"),
    (b"\x1f\x81\x81\x81\x81\x01\x00", "tag_too_long"),
    (b"", "truncated"),
])
def test_malformed_headers_raise_named_errors(data, name):
    with pytest.raises(BerError) as e:
        Reader(data).read()
    assert e.value.name == name


def test_bad_values():
    for fn, data, name in [(decode_int, b"", "empty_integer"),
                           (decode_int, b"\x01" * 33, "integer_too_long"),
                           (decode_oid, b"", "bad_oid"),
                           (decode_oid, b"\x2b\x86", "bad_oid"),
                           (decode_oid, b"\x2b" + b"\xff" * 11 + b"\x01", "oid_too_long")]:
        with pytest.raises(BerError) as e:
            fn(data)
        assert e.value.name == name


def nested(depth: int) -> bytes:
    data = b"\x05\x00"
    for _ in range(depth):
        data = tlv(0x30, data)
    return data


def test_ten_thousand_nested_sequences_hit_the_depth_cap_fast():
    data = nested(10_000)
    t0 = time.monotonic()
    with pytest.raises(BerError) as e:
        walk(data, max_depth=64)
    assert e.value.name == "too_deep"
    assert time.monotonic() - t0 < 1.0
    assert walk(nested(60), max_depth=64) == 61


def test_enter_respects_depth():
    data = nested(3)
    r = Reader(data, max_depth=2)
    r1 = r.enter(r.read())
    r2 = r1.enter(r1.read())
    with pytest.raises(BerError):
        r2.enter(r2.read())


def test_walk_item_cap():
    data = b"\x05\x00" * 50
    with pytest.raises(BerError) as e:
        walk(data, max_items=10)
    assert e.value.name == "too_many"


def test_against_pyasn1_encoder():
    pyasn1 = pytest.importorskip("pyasn1")  # noqa: F841  (only as an independent oracle)
    from pyasn1.codec.ber import encoder
    from pyasn1.type import univ

    for v in (0, -1, 300, -2**40, 2**64):
        data = encoder.encode(univ.Integer(v))
        r = Reader(data)
        assert decode_int(r.value(r.expect(0x02, "int"))) == v
    for oid in ("1.3.6.1.2.1.1.1.0", "2.100.3", "1.3.6.1.4.1.8072.3.2.10"):
        data = encoder.encode(univ.ObjectIdentifier(oid))
        r = Reader(data)
        assert decode_oid(r.value(r.expect(0x06, "oid"))) == oid
