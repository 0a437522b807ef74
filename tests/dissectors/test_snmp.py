"""SNMP dissector: hand-built messages (independent BER writer below) for every
PDU type and value type, v3 noAuth and encrypted, pairing/RTT, the snmp and
snmp_pdus rows, credentials, probe, and the crafted negative cases of issue 7
acceptance 4 (lengths past the end, indefinite length, 10 000 nested sequences)."""
from __future__ import annotations

import time

import pytest

from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Credential, Limits, Transport, Verdict, Violation,
)
from dissectors import snmp
from dissectors.snmp import SnmpDissector, SnmpPdu, SnmpPduRecord, SnmpRecord, probe
from tests.conversation import C, S, ctx, of_type, run_all_ways
from tests.dissectors.test_ber import enc_int, enc_oid, nested, tlv


# -- message builders (RFC 1157, 3416, 3412, 3414)
def INT(v: int) -> bytes:
    return tlv(0x02, enc_int(v))


def OCT(b: bytes) -> bytes:
    return tlv(0x04, b)


def OID(s: str) -> bytes:
    return tlv(0x06, enc_oid(s))


def SEQ(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def UNS(tag: int, v: int) -> bytes:
    return tlv(tag, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big"))


NULL = b"\x05\x00"


def vbl(*pairs: tuple[str, bytes]) -> bytes:
    return SEQ(*(SEQ(OID(o), v) for o, v in pairs))


def pdu(tag: int, rid: int, a: int, b: int, *pairs) -> bytes:
    return tlv(tag, INT(rid) + INT(a) + INT(b) + vbl(*pairs))


def msg(version: int, community: bytes, body: bytes) -> bytes:
    return SEQ(INT(version), OCT(community), body)


def get(rid=1, *oids, tag=0xA0, version=1, community=b"public"):
    return msg(version, community, pdu(tag, rid, 0, 0, *((o, NULL) for o in oids)))


def usm(engine=b"\x80\x00\x1f\x88\x04abc", boots=3, t=1234, user=b"alice", auth=b"",
        priv=b""):
    return OCT(SEQ(OCT(engine), INT(boots), INT(t), OCT(user), OCT(auth), OCT(priv)))


def v3(msg_id: int, flags: int, data: bytes, user=b"alice") -> bytes:
    return SEQ(INT(3), SEQ(INT(msg_id), INT(65507), OCT(bytes([flags])), INT(3)),
               usm(user=user), data)


def scoped(p: bytes, ctx_name=b"") -> bytes:
    return SEQ(OCT(b"\x80\x00\x1f\x88\x04abc"), OCT(ctx_name), p)


def udp_ctx(**kw):
    return ctx(Transport.UDP, orig=("10.0.0.1", 40000), resp=("10.0.0.2", 161), **kw)


def run(convo, limits=None):
    return run_all_ways(lambda: SnmpDissector(udp_ctx(limits=limits)), convo, datagram=True)


def rows(items):
    return of_type(items, SnmpPduRecord)


# -- every PDU type
PDU_CASES = [
    (0xA0, "get_request"), (0xA1, "get_next_request"), (0xA2, "response"),
    (0xA3, "set_request"), (0xA5, "get_bulk_request"), (0xA6, "inform"),
    (0xA7, "trapv2"), (0xA8, "report"),
]


@pytest.mark.parametrize("tag,name", PDU_CASES)
def test_each_pdu_type(tag, name):
    m = msg(1, b"public", pdu(tag, 77, 2 if tag == 0xA5 else 0, 5 if tag == 0xA5 else 0,
                              ("1.3.6.1.2.1.1.1.0", NULL)))
    items = run([C(m)])
    assert isinstance(items[0], Confirm)
    (r,) = rows(items)
    assert (r.pdu_type, r.version, r.community, r.request_id) == (name, "2c", "********", 77)   # masked
    assert r.varbinds == [{"oid": "1.3.6.1.2.1.1.1.0", "name": "sysDescr.0", "type": "null",
                           "value": ""}]
    if name == "get_bulk_request":
        assert (r.non_repeaters, r.max_repetitions, r.error_status) == (2, 5, None)
    else:
        assert (r.error_status, r.error_index) == ("noError", 0)
    ev = of_type(items, SnmpPdu)[0]
    assert ev.summary().startswith(name) and "sysDescr.0" in ev.summary()
    assert ev.meaning()


def test_summary_example_from_the_issue():
    items = run([C(get(1, "1.3.6.1.2.1.1.1.0"))])
    assert of_type(items, SnmpPdu)[0].summary() == "get_request sysDescr.0"


def test_v1_trap():
    body = tlv(0xA4, OID("1.3.6.1.4.1.9.1") + tlv(0x40, bytes([192, 0, 2, 7])) + INT(3)
               + INT(0) + UNS(0x43, 123456) + vbl(("1.3.6.1.2.1.2.2.1.1.2", INT(2))))
    items = run([C(msg(0, b"traps", body))])
    (r,) = rows(items)
    assert (r.pdu_type, r.version, r.community) == ("trap", "1", "********")
    assert (r.enterprise, r.agent_addr, r.generic_trap, r.specific_trap, r.time_stamp) == (
        "1.3.6.1.4.1.9.1", "192.0.2.7", "linkUp", 0, 123456)
    assert r.request_id is None
    assert r.varbinds[0]["name"] == "ifIndex.2" and r.varbinds[0]["value"] == "2"
    assert "linkUp" in of_type(items, SnmpPdu)[0].summary()


# -- every value type
VALUE_CASES = [
    (INT(-42), "integer", "-42"),
    (INT(2**31 - 1), "integer", "2147483647"),
    (OCT(b"Linux router 5.10"), "octet_string", "Linux router 5.10"),
    (OCT(b"line1\r\nline2\t"), "octet_string", "line1\r\nline2\t"),
    (OCT(b"\x00\x1b\x21\xff"), "octet_string", "0x001b21ff"),
    (OCT(b"public\x00"), "octet_string", "0x7075626c696300"),
    (OCT(b""), "octet_string", ""),
    (OID("1.3.6.1.4.1.8072.3.2.10"), "oid", "1.3.6.1.4.1.8072.3.2.10"),
    (tlv(0x40, bytes([10, 1, 2, 3])), "ip_address", "10.1.2.3"),
    (UNS(0x41, 4294967295), "counter32", "4294967295"),
    (UNS(0x42, 1000000000), "gauge32", "1000000000"),
    (UNS(0x43, 35311), "timeticks", "35311"),
    (tlv(0x44, b"\x9f\x78\x04\x3f\x80\x00\x00"), "opaque", "0x9f78043f800000"),
    (tlv(0x45, b"\x47\x00\x05"), "nsap_address", "0x470005"),
    (UNS(0x46, 2**64 - 1), "counter64", "18446744073709551615"),
    (UNS(0x47, 7), "uinteger32", "7"),
    (NULL, "null", ""),
    (b"\x80\x00", "no_such_object", ""),
    (b"\x81\x00", "no_such_instance", ""),
    (b"\x82\x00", "end_of_mib_view", ""),
]


@pytest.mark.parametrize("enc,vtype,value", VALUE_CASES, ids=[c[1] + str(i) for i, c in
                                                             enumerate(VALUE_CASES)])
def test_value_types(enc, vtype, value):
    m = msg(1, b"public", pdu(0xA2, 9, 0, 0, ("1.3.6.1.2.1.1.1.0", enc)))
    items = run([S(m)])
    (r,) = rows(items)
    assert r.varbinds[0]["type"] == vtype
    assert r.varbinds[0]["value"] == value
    assert not of_type(items, Anomaly)


def test_error_status_names_and_meaning():
    m = msg(0, b"public", pdu(0xA2, 5, 2, 1, ("1.3.6.1.2.1.1.9.0", NULL)))
    items = run([S(m)])
    (r,) = rows(items)
    assert (r.error_status, r.error_index) == ("noSuchName", 1)
    ev = of_type(items, SnmpPdu)[0]
    assert "noSuchName" in ev.summary() and "does not exist" in ev.meaning()


# -- v3
def test_v3_noauth_plaintext():
    req = v3(1001, 0x04, scoped(pdu(0xA0, 55, 0, 0, ("1.3.6.1.2.1.1.3.0", NULL)),
                                ctx_name=b"ctx1"))
    rep = v3(1001, 0x00, scoped(pdu(0xA8, 55, 0, 0, ("1.3.6.1.6.3.15.1.1.3.0",
                                                     UNS(0x41, 1)))))
    items = run([C(req, ts=1.0), S(rep, ts=1.5)])
    a, b = rows(items)
    assert (a.version, a.pdu_type, a.msg_id, a.msg_max_size, a.msg_flags) == (
        "3", "get_request", 1001, 65507, "reportable")
    assert (a.security_model, a.user, a.engine_id, a.engine_boots, a.engine_time) == (
        "USM", "alice", "80001f8804616263", 3, 1234)
    assert (a.context_name, a.context_engine_id, a.encrypted, a.community) == (
        "ctx1", "80001f8804616263", False, None)
    assert a.request_id == 55 and a.varbinds[0]["name"] == "sysUpTime.0"
    assert b.pdu_type == "report" and b.rtt == 0.5
    assert b.varbinds[0]["name"] == "usmStatsUnknownUserNames.0"
    assert not of_type(items, Credential)


def test_v3_encrypted_reported_as_encrypted_with_pairing():
    req = v3(2002, 0x07, OCT(b"\x13\x37" * 20))
    resp = v3(2002, 0x03, OCT(b"\xaa" * 30))
    items = run([C(req, ts=10.0), S(resp, ts=10.25)])
    a, b = rows(items)
    assert a.encrypted and b.encrypted
    assert a.pdu_type == b.pdu_type == "encrypted"
    assert a.varbinds == [] and a.request_id is None
    assert a.msg_flags == "auth,priv,reportable" and a.user == "alice"
    assert b.rtt == 0.25
    assert "encrypted" in of_type(items, SnmpPdu)[0].summary()
    assert "cannot be read" in of_type(items, SnmpPdu)[0].meaning()


def test_v3_priv_flag_mismatch_is_an_anomaly():
    m = v3(1, 0x02, scoped(pdu(0xA0, 1, 0, 0)))
    items = run([C(m)])
    assert "snmp_v3_flags_mismatch" in [a.name for a in of_type(items, Anomaly)]


# -- pairing, per-flow row, credentials
def test_pairing_rtt_and_flow_row():
    convo = [
        C(get(10, "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.3.0"), ts=100.0),
        S(msg(1, b"public", pdu(0xA2, 10, 0, 0, ("1.3.6.1.2.1.1.1.0", OCT(b"Cisco IOS")),
                                ("1.3.6.1.2.1.1.3.0", UNS(0x43, 12345)))), ts=100.2),
        C(get(11, "1.3.6.1.2.1.1.5.0", tag=0xA1), ts=101.0),      # never answered
        C(msg(1, b"public", pdu(0xA5, 12, 0, 10, ("1.3.6.1.2.1.2.2", NULL))), ts=102.0),
        C(msg(1, b"private", pdu(0xA3, 13, 0, 0, ("1.3.6.1.2.1.1.6.0", OCT(b"lab")))),
          ts=103.0),
        S(msg(1, b"private", pdu(0xA2, 13, 0, 0, ("1.3.6.1.2.1.1.6.0", OCT(b"lab")))),
          ts=103.5),
        S(msg(1, b"private", pdu(0xA2, 13, 0, 0, ("1.3.6.1.2.1.1.6.0", OCT(b"lab")))),
          ts=103.6),   # duplicate answer: no RTT
        S(msg(1, b"public", pdu(0xA2, 99, 0, 0)), ts=104.0),   # unsolicited
    ]
    items = run(convo)
    rs = rows(items)
    assert [r.rtt for r in rs] == [None, 0.2, None, None, None, 0.5, None, None]
    (flow,) = of_type(items, SnmpRecord)
    assert flow.ts == 100.0 and flow.duration == 4.0
    assert (flow.version, flow.community) == ("2c", "********")      # the credential has "public"
    # Zeek counts variable bindings, not PDUs
    assert (flow.get_requests, flow.get_bulk_requests, flow.get_responses,
            flow.set_requests) == (3, 1, 4, 1)
    assert flow.display_string == "Cisco IOS"
    assert flow.up_since == pytest.approx(100.2 - 123.45)
    creds = {c.secret: c for c in of_type(items, Credential)}
    assert set(creds) == {"public", "private"}
    assert creds["public"].kind == "community" and creds["public"].protocol == "snmp"
    assert creds["public"].success is True and creds["private"].success is True
    assert creds["public"].ts == 100.0


def test_trap_community_has_unknown_success():
    m = msg(1, b"traps", tlv(0xA7, INT(1) + INT(0) + INT(0) + vbl(
        ("1.3.6.1.2.1.1.3.0", UNS(0x43, 500)),
        ("1.3.6.1.6.3.1.1.4.1.0", OID("1.3.6.1.6.3.1.1.5.3")))))
    items = run([C(m)])
    (cred,) = of_type(items, Credential)
    assert cred.success is None
    r = rows(items)[0]
    assert [v["name"] for v in r.varbinds] == ["sysUpTime.0", "snmpTrapOID.0"]
    assert r.varbinds[1]["value"] == "1.3.6.1.6.3.1.1.5.3"


def test_pending_requests_capped():
    convo = [C(get(i, "1.3.6.1.2.1.1.1.0")) for i in range(6)]
    items = run(convo, limits=Limits(max_pending_requests=3))
    names = [a.name for a in of_type(items, Anomaly)]
    assert names == ["snmp_pending_too_many"]


# -- negative cases (acceptance 4)
def confirmed(*bad: bytes):
    return [C(get(1, "1.3.6.1.2.1.1.1.0"))] + [C(b) for b in bad]


def anomaly_names(items):
    return [a.name for a in of_type(items, Anomaly)]


def test_inner_length_past_end():
    good = get(5, "1.3.6.1.2.1.1.1.0")
    # make the varbind list claim more bytes than the PDU holds
    i = good.index(b"\x30", 12)
    bad = good[:i + 1] + bytes([good[i + 1] + 40]) + good[i + 2:]
    items = run(confirmed(bad))
    assert "snmp_ber_length_past_end" in anomaly_names(items)
    assert rows(items)[1].request_id == 5   # what could be read is kept


def test_outer_length_past_end_still_decodes():
    good = get(6, "1.3.6.1.2.1.1.5.0")
    bad = good[:1] + b"\x82\x10\x00" + good[2:]
    items = run([C(bad)])
    assert "snmp_ber_length_past_end" in anomaly_names(items)
    assert rows(items)[0].varbinds[0]["name"] == "sysName.0"


def test_huge_length():
    bad = b"\x30\x84\xff\xff\xff\xff\x02\x01\x01\x04\x06public\xa0\x84\x7f\xff\xff\xff"
    items = run(confirmed(bad))
    assert "snmp_ber_length_past_end" in anomaly_names(items)


def test_indefinite_length_outer_and_inner():
    inner = INT(1) + OCT(b"public") + b"\xa0\x80" + INT(1) + INT(0) + INT(0) + SEQ() + b"\0\0"
    outer = b"\x30\x80" + inner + b"\0\0"
    items = run(confirmed(outer))
    names = anomaly_names(items)
    assert names.count("snmp_ber_indefinite_length") == 2
    assert rows(items)[1].community == "********"


def test_ten_thousand_nested_sequences():
    deep = nested(10_000)
    t0 = time.monotonic()
    # as a whole message after confirmation, and as a varbind value
    as_message = deep
    as_value = msg(1, b"public", tlv(0xA2, INT(1) + INT(0) + INT(0) + SEQ(
        SEQ(OID("1.3.6.1.2.1.1.1.0"), deep))))
    items = run(confirmed(as_message, as_value))
    assert time.monotonic() - t0 < 5
    names = anomaly_names(items)
    assert "snmp_malformed" in names
    assert "snmp_ber_too_deep" in names
    assert rows(items)[-1].varbinds[0]["type"] == "unknown_0x30"


def test_garbage_before_confirmation_is_a_violation():
    items = run([C(b"GET / HTTP/1.1\r\n\r\n")])
    assert len(items) == 1 and isinstance(items[0], Violation)


def test_unknown_version_before_confirmation_is_a_violation():
    items = run([C(SEQ(INT(7), OCT(b"x"), pdu(0xA0, 1, 0, 0)))])
    assert isinstance(items[0], Violation)


def test_unknown_pdu_tag_and_trailing_bytes():
    items = run(confirmed(msg(1, b"public", tlv(0xAF, INT(1))), get(2) + b"junk"))
    names = anomaly_names(items)
    assert "snmp_unknown_pdu" in names and "snmp_trailing_bytes" in names
    assert rows(items)[1].pdu_type == "unknown"


def test_non_minimal_pdu_tag_accepted_with_anomaly():
    body = pdu(0xA0, 3, 0, 0, ("1.3.6.1.2.1.1.1.0", NULL))
    bad = msg(0, b"public", b"\xbf\x00" + body[1:])
    items = run([C(bad)])
    assert rows(items)[0].pdu_type == "get_request"
    assert "snmp_ber_non_minimal_tag" in anomaly_names(items)


def test_gap_is_an_anomaly():
    d = SnmpDissector(udp_ctx())
    assert [a.name for a in d.gap(ORIG, 10, 1.0)] == ["snmp_gap"]


# -- probe and spec
def test_probe():
    assert probe(ORIG, get(1, "1.3.6.1.2.1.1.1.0")) is Verdict.YES
    assert probe(ORIG, get(1, version=0)) is Verdict.YES
    assert probe(ORIG, v3(1, 4, OCT(b"x"))) is Verdict.YES
    assert probe(RESP, b"") is Verdict.MAYBE
    assert probe(ORIG, b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00") is Verdict.NO  # DNS
    assert probe(ORIG, b"GET / HTTP/1.1\r\n") is Verdict.NO
    assert probe(ORIG, SEQ(INT(7), OCT(b"x"))) is Verdict.NO
    assert probe(ORIG, SEQ(SEQ(INT(1)))) is Verdict.NO
    assert probe(ORIG, msg(1, b"public", INT(5))) is Verdict.MAYBE


def test_spec():
    (spec,) = snmp.SPECS
    assert spec.transport is Transport.UDP and spec.ports == frozenset({161, 162})
    assert spec.service_name == "snmp" and spec.probe is probe


def test_each_community_is_a_credential_in_first_seen_order_with_its_own_answer():
    # the first community lives in the dissector's slots, later ones in a dict: both kinds keep their
    # first time and whether a request using them was answered
    convo = [
        C(get(1, "1.3.6.1.2.1.1.5.0", community=b"guess1"), ts=10.0),
        C(get(2, "1.3.6.1.2.1.1.5.0", community=b"guess2"), ts=11.0),
        C(get(3, "1.3.6.1.2.1.1.5.0", community=b"public"), ts=12.0),
        S(msg(1, b"public", pdu(0xA2, 3, 0, 0, ("1.3.6.1.2.1.1.5.0", OCT(b"sw1")))), ts=12.1),
        C(get(4, "1.3.6.1.2.1.1.5.0", community=b"guess1"), ts=13.0),
        S(msg(1, b"guess1", pdu(0xA2, 4, 0, 0, ("1.3.6.1.2.1.1.5.0", OCT(b"sw1")))), ts=13.2),
    ]
    items = run(convo)
    creds = of_type(items, Credential)
    assert [(c.secret, c.ts, c.success) for c in creds] == [
        ("guess1", 10.0, True), ("guess2", 11.0, None), ("public", 12.0, True)]
    (flow,) = of_type(items, SnmpRecord)
    assert flow.community == "********" and (flow.get_requests, flow.get_responses) == (4, 2)
