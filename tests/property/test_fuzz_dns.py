"""Hypothesis fuzzing of the DNS dissector and probes: only items, never an exception."""
from __future__ import annotations

import struct

import dns.message
import dns.rrset
from hypothesis import HealthCheck, given, settings, strategies as st

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Event, Limits, Record, Transport, Verdict, Violation,
)
from dissectors import dns as D
from dissectors._dns_wire import parse_message
from tests.conversation import ctx

ITEM_TYPES = (Event, Record, Anomaly, Confirm, Violation)
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _seed_messages() -> list[bytes]:
    qm = dns.message.make_query("www.example.com", "A", use_edns=0, want_dnssec=True)
    r = dns.message.make_response(qm)
    r.answer.append(dns.rrset.from_text("www.example.com.", 60, "IN", "CNAME", "x.example.com."))
    r.answer.append(dns.rrset.from_text("x.example.com.", 60, "IN", "A", "192.0.2.1"))
    r.authority.append(dns.rrset.from_text("example.com.", 60, "IN", "NS", "ns.example.com."))
    r.additional.append(dns.rrset.from_text("ns.example.com.", 60, "IN", "AAAA", "2001:db8::1"))
    r2 = dns.message.make_response(dns.message.make_query("example.com", "DNSKEY"))
    r2.answer.append(dns.rrset.from_text("example.com.", 60, "IN", "RRSIG",
                                         "DNSKEY 8 2 60 20240101000000 20231201000000 1 example.com. AQID"))
    r2.answer.append(dns.rrset.from_text("example.com.", 60, "IN", "NSEC3",
                                         "1 0 10 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG"))
    return [qm.to_wire(), r.to_wire(), r2.to_wire()]


SEEDS = _seed_messages()


def _check(items) -> None:
    for it in items:
        assert isinstance(it, ITEM_TYPES), it
        if isinstance(it, Event):
            assert isinstance(it.summary(), str)
            assert isinstance(it.meaning(), str)


def _udp(limits=None) -> D.DnsDissector:
    return D.DnsDissector(ctx(Transport.UDP, resp=("10.0.0.2", 53), limits=limits))


def _tcp(limits=None) -> D.DnsDissector:
    return D.DnsDissector(ctx(Transport.TCP, resp=("10.0.0.2", 53), limits=limits))


@SETTINGS
@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=600)), max_size=8))
def test_udp_random_datagrams(datagrams):
    d = _udp()
    for i, (resp, data) in enumerate(datagrams):
        _check(d.feed(RESP if resp else ORIG, data, float(i)))
        assert D.probe_udp(ORIG, data) in Verdict
    _check(d.close(99.0))


@st.composite
def mutated(draw):
    base = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.integers(0, 2))
        pos = draw(st.integers(0, len(base) - 1)) if base else 0
        if kind == 0 and base:
            base[pos] = draw(st.integers(0, 255))
        elif kind == 1:
            base[pos:pos] = draw(st.binary(min_size=1, max_size=4))
        elif base:
            del base[pos:pos + draw(st.integers(1, 8))]
    return bytes(base)


@SETTINGS
@given(st.lists(mutated(), min_size=1, max_size=4))
def test_udp_mutated_messages(msgs):
    d = _udp(Limits(max_name_depth=4, max_pending_requests=2))
    for i, m in enumerate(msgs):
        _check(d.feed(ORIG if i % 2 == 0 else RESP, m, float(i)))
        parse_message(m, 4)
        assert D.probe_udp(RESP, m) in Verdict
    _check(d.close(9.0))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 2), st.one_of(mutated(), st.binary(max_size=300)),
                          st.integers(0, 40)), max_size=8))
def test_tcp_framed_chunks_and_gaps(steps):
    d = _tcp()
    ts = 0.0
    for kind, data, n in steps:
        ts += 0.01
        direction = ORIG if n % 2 else RESP
        if kind == 0:
            _check(d.feed(direction, struct.pack("!H", len(data)) + data, ts))
        elif kind == 1:
            _check(d.feed(direction, data[:n], ts))
        else:
            _check(d.gap(direction, n + 1, ts))
        assert D.probe_tcp(direction, struct.pack("!H", len(data)) + data) in Verdict
    _check(d.close(ts + 1))


@SETTINGS
@given(st.one_of(mutated(), st.binary(max_size=300)), st.booleans())
def test_veto_says_no_exactly_when_the_probe_does(data, framed):
    """Detection asks a port-matched spec's veto instead of its probe: the two must agree on NO."""
    from dissectors.probes import dns as P

    if framed:
        data = struct.pack("!H", len(data)) + data
        probe, veto = P.probe_tcp, P.veto_tcp
    else:
        probe, veto = P.probe_udp, P.veto_udp
    assert (veto(ORIG, data) is Verdict.NO) == (probe(ORIG, data) is Verdict.NO)


def test_veto_skips_only_the_parse():
    """A message whose header and question pass but whose body does not parse: the probe says MAYBE, not
    YES (so elsewhere than port 53 it is not claimed); on port 53 the veto lets it through."""
    from dissectors.probes import dns as P

    good = SEEDS[0]
    broken = good + b"\xc0"               # a dangling byte where a record would start
    hdr = bytearray(broken)
    hdr[7] = 1                            # one answer claimed, none present
    assert P.probe_udp(ORIG, bytes(hdr)) is Verdict.MAYBE
    assert P.veto_udp(ORIG, bytes(hdr)) is Verdict.MAYBE   # not a NO: the header alone
