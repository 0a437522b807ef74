"""Recognising SNMP: ports, content probe and spec (the dissector: :mod:`dissectors.snmp`, imported lazily).

UDP 161 and 162. By content: a BER SEQUENCE holding version 0, 1 or 2, a community and a PDU tag (RFC 1157,
RFC 3416), or version 3 with an msgGlobalData SEQUENCE starting with two INTEGERs (RFC 3412 section 6).
Limits: a broken message behind a valid header is MAYBE (on 161/162 the dissector then reports the fault).

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, Transport, Verdict
from dissectors._ber import BerError, Reader, Tlv


VERSIONS: Mapping[int, str] = MappingProxyType({0: "1", 1: "2c", 2: "2u", 3: "3"})
PDU_TYPES: Mapping[int, str] = MappingProxyType({
    0xA0: "get_request", 0xA1: "get_next_request", 0xA2: "response",
    0xA3: "set_request", 0xA4: "trap", 0xA5: "get_bulk_request",
    0xA6: "inform", 0xA7: "trapv2", 0xA8: "report",
})


def probe(direction: Direction, data: bytes) -> Verdict:
    """YES for a BER SEQUENCE holding version 0/1/2 followed by a community and a
    PDU tag (v1/v2c/v2u) or version 3 with an msgGlobalData SEQUENCE starting
    with two INTEGERs (msgID, msgMaxSize). NO when the first octet is not a
    SEQUENCE or the version is not an SNMP one; MAYBE when the header is SNMP's
    but what follows is broken (on ports 161/162 the dissector then reports it)."""
    if not data:
        return Verdict.MAYBE
    if data[0] != 0x30:
        return Verdict.NO
    top = Reader(data)
    try:
        outer = top.read()
    except BerError as e:
        if e.name not in ("length_past_end", "indefinite_length", "truncated"):
            return Verdict.NO
        if len(data) < 2:
            return Verdict.MAYBE
        hdr = 2 if data[1] <= 0x80 else 2 + (data[1] & 0x7F)
        outer = Tlv(0x30, 0, True, 16, 0, min(hdr, len(data)), len(data))
    r = top.enter(outer)
    try:
        v = r.expect(0x02, "version")
    except BerError:
        return Verdict.NO
    if v.length != 1 or data[v.vstart] not in VERSIONS:
        return Verdict.NO
    try:
        if data[v.vstart] == 3:
            g = r.enter(r.expect(0x30, "msgGlobalData"))
            g.expect(0x02, "msgID")
            g.expect(0x02, "msgMaxSize")
            return Verdict.YES
        r.expect(0x04, "community")
        return Verdict.YES if r.peek_tag() in PDU_TYPES else Verdict.MAYBE
    except BerError:
        return Verdict.MAYBE


# RFC 3416 section 2.2 / RFC 3411 3.2: Response and Report come from the side that was asked; the rest
# (requests, traps and informs) start an exchange
_REPLY_PDUS = frozenset({0xA2, 0xA8})


def is_reply(data: bytes) -> bool | None:
    """True for a Response/Report PDU, False for a request, trap or inform (v1/v2c/v2u), None for
    SNMPv3 (the PDU may be encrypted) and anything that does not parse."""
    try:
        r = Reader(data)
        r = r.enter(r.expect(0x30, "message"))
        v = r.expect(0x02, "version")
        if v.length != 1 or data[v.vstart] not in (0, 1, 2):
            return None
        r.expect(0x04, "community")
        tag = r.peek_tag()
    except BerError:
        return None
    return (tag in _REPLY_PDUS) if tag in PDU_TYPES else None


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(
        name="snmp", transport=Transport.UDP, ports=frozenset({161, 162}),
        probe=probe, factory=Lazy("dissectors.snmp:SnmpDissector"), service="snmp", is_reply=is_reply,
    ),
)

#: snmp's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "snmp_malformed": "An SNMP message was not valid BER encoding.",
    "snmp_bad_value": "An SNMP value did not fit its type (for example an IpAddress that is not 4 bytes); it is "
                      "shown in hexadecimal.",
    "snmp_trailing_bytes": "An SNMP message carried extra bytes after a value or after its variable bindings.",
    "snmp_unknown_pdu": "An SNMP message carried a PDU type that SNMP does not define (RFC 3416 section 3).",
    "snmp_v3_flags_mismatch": "An SNMPv3 message's privacy flag disagreed with its content (encrypted data without "
                              "the flag, or the flag on plaintext).",
    "snmp_ber_bad_length": "An SNMP message used a BER length that X.690 forbids (reserved octet, or too many "
                           "length octets).",
    "snmp_ber_bad_oid": "An object identifier (OID) in an SNMP message was not valid BER.",
    "snmp_ber_empty_integer": "An SNMP INTEGER had no content bytes, which BER forbids.",
    "snmp_ber_indefinite_length": "An SNMP message used BER's indefinite length form, which SNMP's encoding rules "
                                  "forbid.",
    "snmp_ber_length_past_end": "A BER length in an SNMP message pointed past the end of the datagram: the message "
                                "was cut or lies about its size.",
    "snmp_ber_non_minimal_tag": "An SNMP PDU tag used BER's long (high-tag-number) form where the short one "
                                "fits.",
    "snmp_ber_unexpected_tag": "An SNMP message had a BER element of the wrong type where the RFC requires another "
                               "one.",
    "snmp_ber_unknown_pdu": "An SNMP message carried a PDU type that SNMP does not define.",
    "snmp_ber_unknown_version": "An SNMP message had a version number other than 1, 2c or 3.",
}

#: How snmp is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"snmp": "#5e8f32"},
                            live_columns={"snmp": ("version", "community", "get_requests", "set_requests",
                                                   "display_string"),
                                          "snmp_pdus": ("pdu_type", "community", "varbinds", "error_status")})
