"""Hypothesis fuzzing of the SNMP dissector and the BER reader: only items come
out, never an exception, and the work stays bounded."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoder.model import ORIG, RESP, Anomaly, Confirm, Credential, Event, Record, Transport, Violation
from dissectors._ber import BerError, Reader, decode_int, decode_oid, decode_unsigned, walk
from dissectors.snmp import SnmpDissector, parse_message, probe
from tests.conversation import ctx
from tests.dissectors.test_snmp import NULL, OCT, UNS, get, msg, pdu, scoped, tlv, v3

ITEM_TYPES = (Event, Record, Anomaly, Confirm, Violation, Credential)
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SEEDS = [
    get(1, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.2.2.1.10.1"),
    msg(0, b"public", tlv(0xA4, tlv(0x06, b"\x2b\x06\x01\x04\x01\x09") + tlv(0x40, b"\x0a\0\0\1")
                          + tlv(0x02, b"\x03") + tlv(0x02, b"\x00") + UNS(0x43, 99) + tlv(0x30, b""))),
    msg(1, b"private", pdu(0xA2, 7, 0, 0, ("1.3.6.1.2.1.1.5.0", OCT(b"router")),
                           ("1.3.6.1.2.1.1.3.0", UNS(0x43, 5)), ("1.3.6.1.2.1.1.2.0", b"\x80\x00"))),
    v3(5, 4, scoped(pdu(0xA5, 1, 0, 10, ("1.3.6.1.2.1.1", NULL)))),
    v3(6, 7, OCT(b"\x01" * 32)),
]


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    b = bytearray(data)
    for pos, val in flips:
        if b:
            b[pos % len(b)] = val
    return bytes(b[: max(0, len(b) - cut)])


def _check(items):
    for it in items:
        assert isinstance(it, ITEM_TYPES), it


@FUZZ
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=300)), max_size=8))
def test_random_datagrams(dgrams):
    d = SnmpDissector(ctx(Transport.UDP, resp=("10.0.0.2", 161)))
    for i, (is_orig, data) in enumerate(dgrams):
        _check(d.feed(ORIG if is_orig else RESP, data, float(i)))
        probe(ORIG, data)
    _check(d.close(99.0))


@FUZZ
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                        max_size=6), st.integers(0, 20))
def test_mutated_messages(seed, flips, cut):
    d = SnmpDissector(ctx(Transport.UDP, resp=("10.0.0.2", 161)))
    _check(d.feed(ORIG, seed, 0.0))            # confirm first, then the mutant
    bad = _mutate(seed, flips, cut)
    _check(d.feed(RESP, bad, 1.0))
    _check(d.close(2.0))
    assert probe(ORIG, bad) is not None
    parse_message(bad, 64)


@FUZZ
@given(st.binary(max_size=400), st.integers(0, 80))
def test_ber_reader_never_raises_anything_but_ber_error(data, depth):
    try:
        walk(data, max_depth=depth, max_items=1000)
    except BerError:
        pass
    r = Reader(data)
    while not r.at_end():
        try:
            t = r.read()
        except BerError:
            break
        for fn in (decode_int, decode_unsigned, decode_oid):
            try:
                fn(r.value(t))
            except BerError:
                pass


def _fields(m) -> tuple:
    return tuple(getattr(m, name) for name in type(m).__slots__)


VALUES = [NULL, OCT(b"router"), OCT(b"\xff\x00"), UNS(0x43, 5), UNS(0x41, 2**32 - 1), UNS(0x46, 2**64 - 1),
          tlv(0x02, b"\x80"), tlv(0x02, b""), tlv(0x06, b"\x2b\x06\x01\x82\x01"), tlv(0x06, b"\x2b\x86"),
          tlv(0x40, b"\x0a\0\0\1"), tlv(0x40, b"\x0a\0\1"), b"\x80\x00", b"\x82\x01\x00", tlv(0x44, b"\x01"),
          tlv(0x24, b""), tlv(0x30, NULL), tlv(0x1F, b"")]


@FUZZ
@given(st.integers(-1, 4), st.binary(max_size=140), st.sampled_from([0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA7,
                                                                     0xA8, 0xA9, 0x30]),
       st.integers(-2**40, 2**40), st.integers(-1, 20), st.integers(0, 300),
       st.lists(st.tuples(st.sampled_from(["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.4.1.9.300.1",
                                           "2.999.1"]), st.sampled_from(VALUES)), max_size=6),
       st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3), st.integers(0, 3),
       st.sampled_from([0, 1, 3, 4, 64]))
def test_plain_messages_decode_as_the_ber_reader_decodes_them(version, community, tag, rid, a, b, pairs, flips,
                                                              cut, depth):
    """parse_message's one-pass decoding of the usual message (_parse_plain) fills the message exactly as the
    Reader per TLV does (_parse_message_ber), whatever the message: well formed, over 127 octets (long
    lengths), or mutated."""
    from dissectors import snmp

    data = _mutate(msg(version, community, pdu(tag, rid, a, b, *pairs)), flips, cut)
    assert _fields(parse_message(data, depth)) == _fields(snmp._parse_message_ber(data, depth))


def test_the_usual_message_takes_the_one_pass_decoding():
    from dissectors import snmp

    data = msg(1, b"public", pdu(0xA2, 7, 0, 0, ("1.3.6.1.2.1.1.5.0", OCT(b"router")),
                                 ("1.3.6.1.2.1.1.3.0", UNS(0x43, 5))))
    m = snmp._Msg()
    assert snmp._parse_plain(data, m)
    assert _fields(m) == _fields(snmp._parse_message_ber(data, 64))
    assert [vb.value for vb in m.varbinds] == ["router", "5"]
