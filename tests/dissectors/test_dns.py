"""DNS dissector tests. Wire messages are built with dnspython (an independent
encoder) or by hand with struct; expectations are written from the RFC
presentation formats of the inputs, never copied from our own output."""
from __future__ import annotations

import struct
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Limits, Transport, Verdict, Violation,
)
from dissectors import dns as D
from dissectors._dns_wire import parse_message
from tests.conversation import C, S, Gap, ctx, of_type, run, run_all_ways


# ------------------------------------------------------------------ helpers
def udp(limits: Limits | None = None):
    return lambda: D.DnsDissector(ctx(Transport.UDP, resp=("10.0.0.2", 53), limits=limits))


def tcp(limits: Limits | None = None):
    return lambda: D.DnsDissector(ctx(Transport.TCP, resp=("10.0.0.2", 53), limits=limits))


def framed(*wires: bytes) -> bytes:
    return b"".join(struct.pack("!H", len(w)) + w for w in wires)


def q(name: str, rdtype: str = "A", qid: int = 0x1234, **kw) -> dns.message.Message:
    m = dns.message.make_query(name, rdtype, **kw)
    m.id = qid
    return m


def resp(query: dns.message.Message, *answers: tuple, rcode=dns.rcode.NOERROR,
         authority=(), additional=()) -> dns.message.Message:
    r = dns.message.make_response(query)
    r.flags |= dns.flags.RA
    r.set_rcode(rcode)
    for section, rows in ((r.answer, answers), (r.authority, authority), (r.additional, additional)):
        for owner, ttl, rdtype, text in rows:
            section.append(dns.rrset.from_text(owner, ttl, "IN", rdtype, text))
    return r


def records(items):
    return of_type(items, D.DnsTransaction)


def messages(items):
    return of_type(items, D.DnsMessage)


def anomaly_names(items):
    return [a.name for a in of_type(items, Anomaly)]


def hdr(qid=1, flags=0x0100, qd=1, an=0, ns=0, ar=0) -> bytes:
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


# ------------------------------------------------------------------ basic pair
def test_udp_query_response_pair_zeek_fields():
    """dns.log fields with Zeek 7.0's meaning (base/protocols/dns/main.zeek)."""
    qm = q("www.example.com", "A")
    rm = resp(qm, ("www.example.com.", 300, "A", "93.184.216.34"))
    items = run_all_ways(udp(), [C(qm.to_wire(), ts=10.0), S(rm.to_wire(), ts=10.025)],
                         datagram=True)
    assert isinstance(items[0], Confirm)
    assert anomaly_names(items) == []
    qe, re_ = messages(items)
    assert qe.summary() == "query A www.example.com"
    assert re_.summary() == "response NOERROR A 93.184.216.34"
    assert qe.meaning().startswith("standard query")
    assert re_.meaning().startswith("no error")
    (rec,) = records(items)
    assert rec.TABLE == "dns"
    assert (rec.ts, rec.proto, rec.trans_id, rec.query) == (10.0, "udp", 0x1234, "www.example.com")
    assert rec.rtt == pytest.approx(0.025)
    assert (rec.qclass, rec.qclass_name, rec.qtype, rec.qtype_name) == (1, "C_INTERNET", 1, "A")
    assert (rec.rcode, rec.rcode_name, rec.opcode, rec.opcode_name) == (0, "NOERROR", 0, "query")
    assert (rec.AA, rec.TC, rec.RD, rec.RA, rec.Z) == (False, False, True, True, 0)
    assert rec.answers == ["93.184.216.34"] and rec.TTLs == [300.0]
    assert rec.answers_detail == [{"name": "www.example.com", "type": "A", "class": "IN",
                                   "ttl": 300, "data": "93.184.216.34"}]
    assert rec.saw_query and rec.saw_reply and not rec.rejected


def test_nxdomain_with_soa_authority():
    qm = q("nope.example", "A", qid=7)
    rm = resp(qm, rcode=dns.rcode.NXDOMAIN, authority=[
        ("example.", 900, "SOA", "ns1.example. hostmaster.example. 2024010101 7200 3600 1209600 300")])
    items = run(udp(), [C(qm.to_wire()), S(rm.to_wire())], datagram=True)
    (rec,) = records(items)
    assert rec.rcode_name == "NXDOMAIN" and rec.answers == []
    assert rec.auth == ["ns1.example"]
    assert rec.auth_detail[0]["data"] == "ns1.example hostmaster.example 2024010101 7200 3600 1209600 300"
    assert messages(items)[1].summary() == "response NXDOMAIN for A nope.example (no answers)"
    assert "does not exist" in messages(items)[1].meaning()


# ------------------------------------------------------------------ every RR type
RR_CASES = [
    # type, presentation in (dnspython input), expected data, expected zeek answer
    ("A", "192.0.2.1", "192.0.2.1", "192.0.2.1"),
    ("AAAA", "2001:db8::1", "2001:db8::1", "2001:db8::1"),
    ("CNAME", "target.example.", "target.example", "target.example"),
    ("NS", "ns1.example.", "ns1.example", "ns1.example"),
    ("PTR", "host.example.", "host.example", "host.example"),
    ("MX", "10 mail.example.", "10 mail.example", "mail.example"),
    ("TXT", '"v=spf1 -all" "second string"', '"v=spf1 -all" "second string"',
     "TXT 11 v=spf1 -all TXT 13 second string"),
    ("SOA", "ns.example. admin.example. 1 2 3 4 5", "ns.example admin.example 1 2 3 4 5",
     "ns.example"),
    ("SRV", "0 100 389 dc.example.", "0 100 389 dc.example", "dc.example"),
    ("CAA", '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"', '0 issue "letsencrypt.org"'),
    ("DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
     "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118", "DS RSA_SHA1 SHA1"),
    ("DNSKEY", "257 3 8 AwEAAag=", "257 3 8 AwEAAag=", "DNSKEY RSA_SHA256"),
    ("RRSIG", "A 8 2 300 20240101000000 20231201000000 12345 example. AQID",
     "A 8 2 300 20240101000000 20231201000000 12345 example AQID", "RRSIG 1 example"),
    ("NSEC", "next.example. A NS SOA RRSIG NSEC", "next.example A NS SOA RRSIG NSEC",
     "NSEC x.example next.example"),
    ("NSEC3", "1 0 10 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG",
     "1 0 10 AABB 2T7B4G4VSA5SMI47K61MV5BV1A22BOJR A RRSIG", "NSEC3"),
    ("TSIG", "hmac-sha256. 1700000000 300 4 AQIDBA== 1234 0 0",
     "hmac-sha256 1700000000 300 4 AQIDBA== 1234 NOERROR 0",
     "hmac-sha256 1700000000 300 4 AQIDBA== 1234 NOERROR 0"),
    ("TYPE65280", r"\# 3 abcdef", r"\# 3 abcdef", r"\# 3 abcdef"),
]


@pytest.mark.parametrize("rdtype,text,data,zeek", RR_CASES, ids=[c[0] for c in RR_CASES])
def test_rr_types_render(rdtype, text, data, zeek):
    qm = q("x.example", "A" if rdtype.startswith("TYPE") else rdtype)
    row = ("x.example.", 60, rdtype, text)
    if rdtype == "TSIG":                       # TSIG belongs last in additional (RFC 8945 5.1)
        rm = resp(qm, additional=[row])
    else:
        rm = resp(qm, row)
    m = parse_message(rm.to_wire())
    assert m.anomalies == [] and m.complete
    (rr,) = m.additional if rdtype == "TSIG" else m.answers
    assert rr.ttl == 60 and rr.name == "x.example"
    assert rr.data.lower() == data.lower()
    assert rr.zeek.lower() == zeek.lower()


def test_tkey_rdata():
    # RFC 2930 section 2: algorithm, inception, expiration, mode, error, key, other
    alg = b"\x08gss-tsig\x00"
    inc, exp = 1704067200, 1704153600          # 2024-01-01 / 2024-01-02 00:00:00 UTC
    rdata = alg + struct.pack("!IIHHH", inc, exp, 3, 0, 3) + b"\x01\x02\x03" + b"\x00\x00"
    wire = (hdr(qid=9, flags=0x8000, qd=0, an=1) + b"\x03key\x00"
            + struct.pack("!HHIH", 249, 255, 0, len(rdata)) + rdata)
    m = parse_message(wire)
    assert m.anomalies == []
    assert m.answers[0].data == "gss-tsig 20240101000000 20240102000000 3 NOERROR 3 AQID"


def test_tsig_signed_query_is_reported():
    keyring = dns.tsigkeyring.from_text({"key.example.": "c2VjcmV0c2VjcmV0c2VjcmV0"})
    qm = q("www.example", "A", qid=77)
    qm.use_tsig(keyring, keyname="key.example.", algorithm=dns.tsig.HMAC_SHA256)
    items = run(udp(), [C(qm.to_wire())], datagram=True)
    assert anomaly_names(items) == []
    (rec,) = records(items)
    assert rec.tsig.startswith("hmac-sha256 ") and rec.tsig.endswith(" 77 NOERROR 0")
    assert rec.saw_query and not rec.saw_reply


def test_several_sections_and_additional_addresses():
    qm = q("mx.example", "MX", qid=5)
    rm = resp(qm, ("mx.example.", 300, "MX", "10 a.mx.example."),
              ("mx.example.", 300, "MX", "20 b.mx.example."),
              authority=[("mx.example.", 300, "NS", "ns.example.")],
              additional=[("a.mx.example.", 60, "A", "192.0.2.10"),
                          ("a.mx.example.", 60, "AAAA", "2001:db8::10")])
    (rec,) = records(run(udp(), [C(qm.to_wire()), S(rm.to_wire())], datagram=True))
    assert rec.answers == ["a.mx.example", "b.mx.example"]
    assert [d["data"] for d in rec.answers_detail] == ["10 a.mx.example", "20 b.mx.example"]
    assert rec.auth == ["ns.example"]
    assert rec.addl == ["192.0.2.10", "2001:db8::10"]


# ------------------------------------------------------------------ EDNS
def test_edns_options_do_bit_client_subnet_cookie():
    ecs = dns.edns.ECSOption("198.51.100.0", 24, 0)
    cookie = dns.edns.GenericOption(10, bytes.fromhex("0102030405060708"))
    nsid = dns.edns.GenericOption(3, b"")
    qm = q("www.example", "A", use_edns=0, want_dnssec=True, payload=4096,
           options=[ecs, cookie, nsid])
    rm = resp(qm, ("www.example.", 30, "A", "192.0.2.5"))
    rm.use_edns(0, dns.flags.DO, 1232, options=[
        dns.edns.ECSOption("198.51.100.0", 24, 20),
        dns.edns.GenericOption(10, bytes.fromhex("0102030405060708") + bytes.fromhex("aa" * 16))])
    items = run(udp(), [C(qm.to_wire()), S(rm.to_wire())], datagram=True)
    assert anomaly_names(items) == []
    (rec,) = records(items)
    assert (rec.edns_udp_size, rec.edns_version, rec.edns_do) == (4096, 0, True)
    assert rec.ecs == "198.51.100.0/24/0"
    sides = [(o["side"], o["name"], o["data"]) for o in rec.edns_options]
    assert ("query", "COOKIE", "client=0102030405060708") in sides
    assert ("query", "NSID", "") in sides
    assert ("response", "ECS", "198.51.100.0/24/20") in sides
    assert ("response", "COOKIE", "client=0102030405060708 server=" + "aa" * 16) in sides
    assert rec.addl == []                          # OPT is not listed as a record
    assert "do" in messages(items)[0].edns.split()


def test_extended_rcode_badvers():
    qm = q("www.example", "A", use_edns=0)
    rm = dns.message.make_response(qm)
    rm.set_rcode(dns.rcode.BADVERS)                # 16: upper bits travel in OPT
    items = run(udp(), [C(qm.to_wire()), S(rm.to_wire())], datagram=True)
    (rec,) = records(items)
    assert (rec.rcode, rec.rcode_name) == (16, "BADVERS")


def test_unknown_option_as_hex_and_ipv6_ecs():
    qm = q("www.example", "AAAA", use_edns=0, options=[
        dns.edns.GenericOption(65001, b"\xde\xad"), dns.edns.ECSOption("2001:db8::", 48, 0)])
    (rec,) = records(run(udp(), [C(qm.to_wire())], datagram=True))
    assert {"side": "query", "code": 65001, "name": "OPT65001", "data": "dead"} in rec.edns_options
    assert rec.ecs == "2001:db8::/48/0"


# ------------------------------------------------------------------ pairing
def test_unanswered_and_unsolicited_rows():
    q1 = q("a.example", "A", qid=1)
    q2 = q("b.example", "A", qid=2)
    stray = resp(q("c.example", "A", qid=3), ("c.example.", 5, "A", "192.0.2.3"))
    r1 = resp(q1, ("a.example.", 5, "A", "192.0.2.1"))
    items = run(udp(), [C(q1.to_wire(), ts=1.0), C(q2.to_wire(), ts=1.1),
                        S(stray.to_wire(), ts=1.2), S(r1.to_wire(), ts=1.5)], datagram=True)
    recs = records(items)
    by_id = {r.trans_id: r for r in recs}
    assert len(recs) == 3
    assert by_id[3].saw_reply and not by_id[3].saw_query and by_id[3].rtt is None
    assert by_id[3].ts == 1.2 and by_id[3].answers == ["192.0.2.3"]
    assert by_id[1].rtt == pytest.approx(0.5)
    assert by_id[2].saw_query and not by_id[2].saw_reply and by_id[2].rcode is None


def test_out_of_order_responses_pair_by_id_and_question():
    qa = q("a.example", "A", qid=10)
    qb = q("b.example", "AAAA", qid=11)
    ra = resp(qa, ("a.example.", 5, "A", "192.0.2.1"))
    rb = resp(qb, ("b.example.", 5, "AAAA", "2001:db8::b"))
    items = run(udp(), [C(qa.to_wire(), ts=0.0), C(qb.to_wire(), ts=0.1),
                        S(rb.to_wire(), ts=0.3), S(ra.to_wire(), ts=0.7)], datagram=True)
    recs = {r.query: r for r in records(items)}
    assert recs["a.example"].rtt == pytest.approx(0.7)
    assert recs["b.example"].rtt == pytest.approx(0.2)
    assert recs["b.example"].answers == ["2001:db8::b"]


def test_same_id_different_questions_pair_correctly():
    qa = q("a.example", "A", qid=5)
    qb = q("a.example", "AAAA", qid=5)
    rb = resp(qb, ("a.example.", 5, "AAAA", "2001:db8::1"))
    ra = resp(qa, ("a.example.", 5, "A", "192.0.2.1"))
    recs = records(run(udp(), [C(qa.to_wire()), C(qb.to_wire()), S(rb.to_wire()),
                               S(ra.to_wire())], datagram=True))
    assert {(r.qtype_name, tuple(r.answers)) for r in recs} == {
        ("A", ("192.0.2.1",)), ("AAAA", ("2001:db8::1",))}


def test_retransmitted_query_counts_once():
    qm = q("slow.example", "A", qid=99)
    rm = resp(qm, ("slow.example.", 5, "A", "192.0.2.9"))
    items = run(udp(), [C(qm.to_wire(), ts=1.0), C(qm.to_wire(), ts=2.0), C(qm.to_wire(), ts=3.0),
                        S(rm.to_wire(), ts=3.1)], datagram=True)
    (rec,) = records(items)
    assert rec.retransmissions == 2 and rec.ts == 1.0
    assert rec.rtt == pytest.approx(2.1)
    assert len(messages(items)) == 4


def test_question_less_error_response_is_rejected():
    qm = q("bad.example", "A", qid=0x4242)
    formerr = hdr(qid=0x4242, flags=0x8181, qd=0)          # QR, RD, RA, FORMERR, no question
    items = run(udp(), [C(qm.to_wire(), ts=0.0), S(formerr, ts=0.2)], datagram=True)
    (rec,) = records(items)
    assert rec.rejected and rec.rcode_name == "FORMERR" and rec.query == "bad.example"
    assert rec.rtt == pytest.approx(0.2)


def test_0x20_case_randomised_question_pairs():
    qm = q("WwW.ExAmPle.CoM", "A", qid=3)
    rm = dns.message.from_wire(resp(q("www.example.com", "A", qid=3)).to_wire())
    recs = records(run(udp(), [C(qm.to_wire()), S(rm.to_wire())], datagram=True))
    assert len(recs) == 1 and recs[0].saw_query and recs[0].saw_reply


def test_pending_cap_flushes_oldest():
    lim = Limits(max_pending_requests=3)
    convo = [C(q(f"h{i}.example", "A", qid=i).to_wire()) for i in range(5)]
    items = run(udp(lim), convo, datagram=True)
    assert anomaly_names(items).count("dns_pending_too_many") == 2
    assert sorted(r.trans_id for r in records(items)) == [0, 1, 2, 3, 4]


def test_notify_summary_and_meaning():
    m = q("zone.example", "SOA", qid=4)
    m.set_opcode(dns.opcode.NOTIFY)
    (ev,) = messages(run(udp(), [C(m.to_wire())], datagram=True))
    assert ev.summary() == "notify SOA zone.example"
    assert "zone changed" in ev.meaning()


# ------------------------------------------------------------------ UPDATE
def test_dynamic_update():
    up = dns.update.UpdateMessage("example.")
    up.id = 0x5151
    up.present("host.example.")                          # prerequisite: name in use
    up.add("new.example.", 300, "A", "192.0.2.77")
    up.delete("old.example.", "A")
    r = dns.message.make_response(up)
    items = run(udp(), [C(up.to_wire(), ts=0.0), S(r.to_wire(), ts=0.01)], datagram=True)
    assert anomaly_names(items) == []
    qe, re_ = messages(items)
    assert qe.summary() == "update zone example: 2 change(s)"
    assert re_.summary() == "update response NOERROR zone example"
    assert qe.meaning().startswith("dynamic update")
    (rec,) = records(items)
    assert (rec.opcode, rec.opcode_name, rec.query, rec.qtype_name) == (5, "dynamic-update",
                                                                       "example", "SOA")
    ups = rec.zone_updates
    assert ups[0] == {"section": "prerequisite", "name": "host.example", "type": "ANY",
                      "class": "ANY", "ttl": 0, "data": r"\# 0"}
    assert ups[1] == {"section": "update", "name": "new.example", "type": "A", "class": "IN",
                      "ttl": 300, "data": "192.0.2.77"}
    assert ups[2]["type"] == "A" and ups[2]["class"] == "ANY"    # delete an RRset


# ------------------------------------------------------------------ TCP
def test_tcp_several_messages_one_connection_all_splits():
    qa, qb = q("a.example", "A", qid=1), q("b.example", "TXT", qid=2)
    ra = resp(qa, ("a.example.", 5, "A", "192.0.2.1"))
    rb = resp(qb, ("b.example.", 5, "TXT", '"hello" "world"'))
    convo = [C(framed(qa.to_wire(), qb.to_wire()), ts=1.0), S(framed(rb.to_wire()), ts=1.2),
             S(framed(ra.to_wire()), ts=1.3)]
    items = run_all_ways(tcp(), convo)
    assert anomaly_names(items) == []
    recs = {r.query: r for r in records(items)}
    assert recs["a.example"].proto == "tcp" and recs["a.example"].answers == ["192.0.2.1"]
    assert recs["b.example"].answers == ["TXT 5 hello TXT 5 world"]
    assert recs["b.example"].rtt == pytest.approx(0.2)


def _axfr_stream():
    qm = q("zone.example", "AXFR", qid=0x77)
    soa = ("zone.example.", 3600, "SOA", "ns.zone.example. admin.zone.example. 42 1 2 3 4")
    m1 = resp(qm, soa, ("zone.example.", 3600, "NS", "ns.zone.example."))
    m2 = resp(qm, *[(f"h{i}.zone.example.", 60, "A", f"192.0.2.{i}") for i in range(1, 40)])
    m2.question = []                                       # continuation messages (RFC 5936 2.2)
    m3 = resp(qm, ("_ldap._tcp.zone.example.", 60, "SRV", "0 100 389 dc.zone.example."), soa)
    m3.question = []
    return qm, (m1, m2, m3)


def test_axfr_stream_is_one_row_all_splits():
    qm, ms = _axfr_stream()
    convo = [C(framed(qm.to_wire()), ts=0.0)] + [S(framed(m.to_wire()), ts=0.1 + i / 10)
                                                 for i, m in enumerate(ms)]
    items = run_all_ways(tcp(), convo)
    assert anomaly_names(items) == []
    (rec,) = records(items)
    assert rec.qtype_name == "AXFR" and rec.resp_messages == 3
    assert len(rec.answers) == 2 + 39 + 2
    assert rec.answers[0] == "ns.zone.example" and rec.answers[-1] == "ns.zone.example"
    assert "dc.zone.example" in rec.answers
    assert rec.rtt == pytest.approx(0.1)
    assert len(messages(items)) == 4


def test_axfr_without_closing_soa_flushed_at_close():
    qm, ms = _axfr_stream()
    items = run(tcp(), [C(framed(qm.to_wire())), S(framed(ms[0].to_wire(), ms[1].to_wire()))])
    (rec,) = records(items)
    assert rec.resp_messages == 2 and len(rec.answers) == 41


def test_tcp_gap_inside_message_keeps_framing():
    qa, qb = q("a.example", "A", qid=1), q("b.example", "A", qid=2)
    wa = qa.to_wire()
    fa = framed(wa)
    convo = [C(fa[:20]), Gap(ORIG, 5), C(fa[25:] + framed(qb.to_wire()))]
    items = run(tcp(), convo)
    assert "dns_tcp_gap" in anomaly_names(items)
    qs = [m.query for m in messages(items)]
    assert qs[-1] == "b.example"
    assert "dns_tcp_resync" not in anomaly_names(items)


def test_tcp_gap_over_boundary_resyncs():
    qa, qb = q("a.example", "A", qid=1), q("bbbbbb.example", "A", qid=2)
    stream = framed(qa.to_wire(), qb.to_wire())
    cut = len(qa.to_wire()) + 2 - 3                     # hole swallows qb's length prefix
    convo = [C(stream[:cut]), Gap(ORIG, 6), C(stream[cut + 6:] + framed(q("c.example", qid=3).to_wire()))]
    items = run(tcp(), convo)
    names = anomaly_names(items)
    assert "dns_tcp_gap" in names and "dns_tcp_resync" in names
    assert [m.query for m in messages(items)][-1] == "c.example"


def test_tcp_truncated_at_close_keeps_header_and_question():
    qm = q("cut.example", "A", qid=8)
    wire = framed(qm.to_wire())
    rm = framed(resp(qm, ("cut.example.", 5, "A", "192.0.2.8"))
                .to_wire())
    items = run(tcp(), [C(wire), S(rm[:-3])])
    assert "dns_tcp_truncated_message" in anomaly_names(items)
    (rec,) = records(items)
    assert rec.saw_reply and rec.rcode == 0 and rec.query == "cut.example"


def test_tcp_zero_length_prefix():
    items = run(tcp(), [C(b"\x00\x00" + framed(q("z.example").to_wire()))])
    assert "dns_tcp_empty_message" in anomaly_names(items)
    assert [m.query for m in messages(items)] == ["z.example"]


# ------------------------------------------------------------------ hostile names (acceptance 4)
def _timed(factory, convo, **kw):
    t = time.perf_counter()
    items = run(factory, convo, **kw)
    assert time.perf_counter() - t < 2.0
    return items


def test_compression_loop_is_anomaly_header_kept():
    # question ok; answer owner: pointer at 29 -> 31, pointer at 31 -> 29 (a loop)
    wire = (hdr(qid=0xAB, flags=0x8180, qd=1, an=1) + b"\x03www\x07example\x00\x00\x01\x00\x01"
            + b"\xc0\x1f\xc0\x1d" + b"\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01")
    assert wire[29:33] == b"\xc0\x1f\xc0\x1d"
    items = _timed(udp(), [S(wire)], datagram=True)
    assert "dns_name_compression_loop" in anomaly_names(items)
    (ev,) = messages(items)
    assert ev.trans_id == 0xAB and ev.query == "www.example" and not ev.complete
    (rec,) = records(items)
    assert rec.query == "www.example" and rec.answers == []


def test_self_pointer_loop():
    wire = hdr(qd=1) + b"\xc0\x0c\x00\x01\x00\x01"
    items = _timed(udp(), [C(wire)], datagram=True)
    assert "dns_name_compression_loop" in anomaly_names(items)


def test_forward_pointer_is_anomaly():
    # answer data CNAME points forward to a name stored after it
    tail = b"\x05later\x07example\x00"
    body = b"\x01a\x07example\x00\x00\x05\x00\x01"
    rr_start = 12 + len(body)
    cname_rdata_off = rr_start + 2 + 10
    target = cname_rdata_off + 2
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 2) + struct.pack("!H", 0xC000 | target)
    wire = hdr(flags=0x8180, qd=1, an=1) + body + rr + tail
    items = _timed(udp(), [S(wire)], datagram=True)
    names = anomaly_names(items)
    assert "dns_name_forward_pointer" in names
    (rec,) = records(items)
    assert rec.query == "a.example"


def test_label_over_63_is_anomaly():
    wire = hdr() + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"
    items = _timed(udp(), [C(wire)], datagram=True)
    assert "dns_label_too_long" in anomaly_names(items)
    (ev,) = messages(items)
    assert ev.trans_id == 1 and ev.query == ""


def test_name_over_255_is_anomaly():
    wire = hdr() + b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00\x00\x01\x00\x01"
    items = _timed(udp(), [C(wire)], datagram=True)
    assert "dns_name_too_long" in anomaly_names(items)


def test_pointer_chain_depth_cap():
    # RR1 (unknown type) carries in its RDATA a chain of 20 backward pointers, each to
    # the previous one, the first to RR1's owner; RR2's owner points at the chain's end.
    owner = b"\x01a\x00"                                  # offset 12
    chain_start = 12 + len(owner) + 10
    chain = b""
    prev = 12
    for i in range(20):
        chain += struct.pack("!H", 0xC000 | prev)
        prev = chain_start + 2 * i
    rr1 = owner + struct.pack("!HHIH", 65280, 1, 0, len(chain)) + chain
    rr2 = struct.pack("!H", 0xC000 | prev) + struct.pack("!HHIH", 1, 1, 5, 4) + b"\xc0\x00\x02\x01"
    wire = hdr(flags=0x8180, qd=0, an=2) + rr1 + rr2
    items = _timed(udp(Limits(max_name_depth=8)), [S(wire)], datagram=True)
    assert "dns_name_too_deep" in anomaly_names(items)
    (rec,) = records(items)
    assert len(rec.answers_detail) == 1                  # RR1 kept, RR2 lost
    m = parse_message(wire, max_ptrs=64)                 # within a larger cap it decodes
    assert m.anomalies == [] and m.answers[1].name == "a" and m.answers[1].data == "192.0.2.1"


def test_truncated_and_short_messages():
    qm = q("trunc.example", "A").to_wire()
    for cut in (3, 11, 12, 15, len(qm) - 1):
        items = _timed(udp(), [C(qm[:cut])], datagram=True)
        assert of_type(items, Anomaly), cut


def test_counts_lie_bounded():
    wire = hdr(qd=65535, an=65535, ns=65535, ar=65535) + b"\x00\x00\x01\x00\x01" * 3
    items = _timed(udp(), [C(wire)], datagram=True)
    assert "dns_counts_exceed_message" in anomaly_names(items)


def test_garbage_gets_violation():
    items = run(udp(), [C(b"\x00\x01\x78\x00" + b"\xff" * 30)], datagram=True)
    assert of_type(items, Violation)
    assert not of_type(items, Confirm)


# ------------------------------------------------------------------ probes
def test_probe_udp_accepts_dns():
    assert D.probe_udp(ORIG, q("www.example.com").to_wire()) is Verdict.YES
    qm = q("www.example.com")
    assert D.probe_udp(RESP, resp(qm, ("www.example.com.", 5, "A", "192.0.2.1")).to_wire()) \
        is Verdict.YES
    assert D.probe_udp(ORIG, q("www.example.com", use_edns=0, want_dnssec=True).to_wire()) \
        is Verdict.YES


def test_probe_udp_rejects_snmp_and_tftp():
    snmp_get = bytes.fromhex(
        "302602010104067075626c6963a019020404d2162e020100020100300b300906052b060102010500")
    assert D.probe_udp(ORIG, snmp_get) is Verdict.NO
    for op in range(1, 7):
        for name in (b"rfc1350.txt", b"/tftpboot/pxelinux.0", b"01-aa-bb", b".profile"):
            pkt = struct.pack("!H", op) + name + b"\x00octet\x00"
            assert D.probe_udp(ORIG, pkt) is not Verdict.YES, (op, name)
    assert D.probe_udp(ORIG, b"\x00\x03\x00\x01" + b"x" * 512) is not Verdict.YES
    assert D.probe_udp(ORIG, b"\x00\x04\x00\x07") is Verdict.NO
    assert D.probe_udp(ORIG, b"\x00\x05\x00\x01File not found\x00") is not Verdict.YES


def test_probe_tcp():
    w = q("www.example.com").to_wire()
    assert D.probe_tcp(ORIG, framed(w)) is Verdict.YES
    assert D.probe_tcp(ORIG, framed(w)[:5]) is Verdict.MAYBE
    assert D.probe_tcp(ORIG, framed(w)[:20]) in (Verdict.MAYBE, Verdict.YES)
    assert D.probe_tcp(ORIG, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is Verdict.NO
    assert D.probe_tcp(ORIG, b"220 mail.example ESMTP\r\n") is not Verdict.YES
    assert D.probe_tcp(ORIG, b"\x00\x05hello") is Verdict.NO


def test_specs():
    by_t = {s.transport: s for s in D.SPECS}
    assert by_t[Transport.UDP].ports == {53, 5353, 5355} and by_t[Transport.TCP].ports == {53}
    assert all(s.service_name == "dns" for s in D.SPECS)


def test_mdns_announcement_and_utf8_names():
    r = dns.message.Message(id=0)
    r.flags = dns.flags.QR | dns.flags.AA
    owner = dns.name.Name([b"Bob\xe2\x80\x99s Apple TV", b"_raop", b"_tcp", b"local", b""])
    r.answer.append(dns.rrset.from_text(owner, 120, "IN", "SRV", "0 0 7000 AppleTV.local."))
    r.answer.append(dns.rrset.from_text("AppleTV.local.", 120, "IN", "A", "192.168.1.10"))
    wire = r.to_wire()
    assert D.probe_udp(ORIG, wire) is Verdict.YES
    items = run(udp(), [C(wire)], datagram=True)
    (rec,) = records(items)
    assert not rec.saw_query and rec.answers == ["AppleTV.local", "192.168.1.10"]
    assert rec.answers_detail[0]["name"] == "Bob’s Apple TV._raop._tcp.local"


def test_binary_label_escaping():
    wire = hdr() + b"\x04a.b\xff\x00\x00\x01\x00\x01"
    (ev,) = messages(run(udp(), [C(wire)], datagram=True))
    assert ev.query == "a\\.b\\255"


def test_probe_refuses_netbios_name_service():
    # RFC 1002 4.2.12 name query: flags 0x0110 (RD, broadcast), NB type 0x20, encoded name
    nbns = (hdr(qid=0x8001, flags=0x0110) + b"\x20" + b"FHEPFCELEHFCEPFFFACACACACACACABL"
            + b"\x00\x00\x20\x00\x01")
    assert D.probe_udp(ORIG, nbns) is Verdict.NO


def test_probe_udp_concatenated_datagrams_still_yes():
    # the engine's detection buffer joins the first datagrams of one direction
    a, b = q("a.example").to_wire(), q("b.example", qid=2).to_wire()
    assert D.probe_udp(ORIG, a + b) is Verdict.YES


def test_content_probe_on_odd_port_resolver_5300():
    qm = q("lab.example", "A", qid=0x5300)
    rm = resp(qm, ("lab.example.", 5, "A", "10.0.0.53"))
    assert D.probe_udp(ORIG, qm.to_wire()) is Verdict.YES
    assert D.probe_udp(RESP, rm.to_wire()) is Verdict.YES
    items = run(lambda: D.DnsDissector(ctx(Transport.UDP, resp=("10.0.0.2", 5300))),
                [C(qm.to_wire()), S(rm.to_wire())], datagram=True)
    assert records(items)[0].answers == ["10.0.0.53"]


def test_same_query_after_answer_is_a_new_transaction():
    qm = q("again.example", "A", qid=12)
    rm = resp(qm, ("again.example.", 5, "A", "192.0.2.12"))
    recs = records(run(udp(), [C(qm.to_wire(), ts=1.0), S(rm.to_wire(), ts=1.1),
                               C(qm.to_wire(), ts=5.0), S(rm.to_wire(), ts=5.3)], datagram=True))
    assert [(r.ts, r.retransmissions) for r in recs] == [(1.0, 0), (5.0, 0)]
    assert [r.rtt for r in recs] == [pytest.approx(0.1), pytest.approx(0.3)]


def test_names_reached_through_a_known_name_read_as_without_it():
    """parse_message keeps the names it decoded without a pointer and ends a pointer's walk there; the
    owner names must read as a walk from scratch does: a plain pointer, a label before a pointer, escaped
    labels, and the 255-octet cap met only through the known name."""
    from dissectors._dns_wire import Stop, read_name

    def rr(owner: bytes, rdata: bytes = b"\x0a\x00\x00\x01") -> bytes:
        return owner + struct.pack("!HHIH", 1, 1, 60, len(rdata)) + rdata

    qname = b"\x03www\x06ex\\a.m\x03com\x00"          # a dot and a backslash inside a label
    owners = [b"\xc0\x0c", b"\x04mail\xc0\x0c", b"\x02a\xff\xc0\x10", b"\x01x\xc0\x0c"]
    wire = struct.pack("!HHHHHH", 7, 0x8180, 1, len(owners), 0, 0) + qname + b"\x00\x01\x00\x01"
    wire += b"".join(rr(o) for o in owners)
    m = parse_message(wire)
    assert m.complete and not m.anomalies
    offsets, pos = [], 12 + len(qname) + 4
    for o in owners:
        offsets.append(pos)
        pos += len(o) + 14
    assert [a.name for a in m.answers] == [read_name(wire, off, 128, [])[0] for off in offsets]
    assert [a.name for a in m.answers] == ["www.ex\\\\a\\.m.com", "mail.www.ex\\\\a\\.m.com",
                                           "a\\255.ex\\\\a\\.m.com", "x.www.ex\\\\a\\.m.com"]

    # a 250-octet question name: one more 5-octet label through a pointer to it is over 255
    long_q = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x3c" + b"b" * 60 + b"\x00"
    over = struct.pack("!HHHHHH", 8, 0x8180, 1, 1, 0, 0) + long_q + b"\x00\x01\x00\x01" + rr(b"\x04abcd\xc0\x0c")
    with pytest.raises(Stop):
        read_name(over, 12 + len(long_q) + 4, 128, [])
    m = parse_message(over)
    assert m.questions and not m.answers and not m.complete
    assert [n for n, _ in m.anomalies] == ["dns_name_too_long"]
