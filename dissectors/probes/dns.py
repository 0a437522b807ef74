"""Recognising DNS: ports, content probe and spec (the dissector: :mod:`dissectors.dns`, imported lazily).

UDP 53, 5353 (mDNS) and 5355 (LLMNR), TCP 53. By content: a header that passes strict checks and a first
question of a known type and class (RFC 1035 section 4.1), parsing cleanly to its end; over TCP after the two-
byte length (section 4.2.2). Limits: NetBIOS name service (RFC 1002), which reuses the layout, is refused by
its encoded names and NB type.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import re
import struct

from types import MappingProxyType

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, Transport, Verdict
from dissectors._dns_wire import Stop, parse_message, plausible_header, read_name

# ------------------------------------------------------------------ Zeek's tables (consts.zeek)
ZEEK_QTYPE_NAMES = MappingProxyType({
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP-PTR",
    24: "SIG", 25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT",
    31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR", 36: "KX", 37: "CERT",
    38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
    45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3",
    51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP", 56: "NINFO", 57: "RKEY",
    58: "TALINK", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD",
    64: "SVCB", 65: "HTTPS", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID",
    103: "UNSPEC", 104: "NID", 105: "L32", 106: "L64", 107: "LP", 108: "EUI48",
    109: "EUI64", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 253: "MAILB",
    254: "MAILA", 255: "*", 256: "URI", 257: "CAA", 32768: "TA", 32769: "DLV",
    65281: "WINS", 65282: "WINS-R", 65422: "XPF", 65521: "INTEGRITY",
})

# NetBIOS name service (RFC 1002, UDP 137) reuses the DNS layout: its NB (32) type and
# its 32-letter A-P encoded names are refused so that NBNS is not reported as DNS.
_KNOWN_QTYPES = frozenset(set(ZEEK_QTYPE_NAMES) - {32, 41})
_NBNS_NAME = re.compile(rb"\x20[A-P]{32}")
_KNOWN_CLASSES = frozenset({1, 3, 4, 254, 255, 0x8001, 0x80FF})


def _question_ok(wire: bytes) -> bool | None:
    """First question: True when it parses with a known type and class, False when
    it cannot be a question (or is NetBIOS), None when more bytes are needed."""
    if _NBNS_NAME.match(wire, 12):
        return False
    try:
        name, p = read_name(wire, 12, 0, [])
    except Stop as e:
        return None if e.name == "dns_name_truncated" else False
    if p + 4 > len(wire):
        return None
    qt, qc = struct.unpack_from("!HH", wire, p)
    return qt in _KNOWN_QTYPES and qc in _KNOWN_CLASSES


def _convincing(wire: bytes, msglen: int, parse: bool = True) -> Verdict:
    """Verdict for a DNS message (complete when ``len(wire) >= msglen``).

    NO: shorter than a header when complete, or an unknown opcode, or a header
    that fails the strict checks and carries no parsable question. YES: strict
    header, first question of a known type/class, and (when complete) a clean
    parse to the last byte. MAYBE otherwise (a port match still selects DNS).
    ``parse=False`` (the veto, which only a NO concerns) answers MAYBE for what is not a NO, without the
    whole-message parse, which never makes a NO, nor, behind a strict header, the question's, which makes one
    only for NetBIOS names."""
    complete = len(wire) >= msglen
    if len(wire) < 12:
        return Verdict.NO if complete else Verdict.MAYBE
    if not plausible_header(wire, 0):
        return Verdict.NO
    strict = plausible_header(wire, 0, strict=True, msglen=msglen)
    qd = (wire[4] << 8) | wire[5]
    if strict and not parse:
        return Verdict.NO if qd and _NBNS_NAME.match(wire, 12) else Verdict.MAYBE
    qok = _question_ok(wire) if qd else None
    if qd and qok is False and (not strict or _NBNS_NAME.match(wire, 12)):
        return Verdict.NO
    if not strict:
        return Verdict.MAYBE
    if complete and parse:
        m = parse_message(wire[:msglen], 16)
        # trailing bytes are tolerated: the engine may hand several UDP datagrams of one
        # direction concatenated (and Windows tools append bytes to queries)
        # a malformed message behind a strict header stays MAYBE: on port 53 it is
        # still DNS (and its faults become anomalies); elsewhere it is not claimed
        if not m.complete or any(a[0] != "dns_trailing_bytes" for a in m.anomalies):
            return Verdict.MAYBE
        if qd == 0:
            # answer-only messages (mDNS announcements) are DNS, but need records to convince
            ok = bool(wire[2] & 0x80 and m.answers and all(
                rr.rclass & 0x7FFF in (1, 255) for rr in m.answers))
            return Verdict.YES if ok else Verdict.MAYBE
    return Verdict.YES if qok else Verdict.MAYBE


def probe_udp(direction: Direction, data: bytes) -> Verdict:
    """One UDP datagram: YES for a cleanly parsing message with a plausible header and
    a first question of a known type/class; NO for a bad header or a parse failure."""
    try:
        return _convincing(bytes(data), len(data))
    except Exception:  # pragma: no cover - defensive: a probe must never raise
        return Verdict.NO


def probe_tcp(direction: Direction, data: bytes, parse: bool = True) -> Verdict:
    """TCP: a 2-byte length (>= 12) followed by a message judged as for UDP."""
    try:
        if len(data) < 2:
            return Verdict.MAYBE
        mlen = (data[0] << 8) | data[1]
        if mlen < 12:
            return Verdict.NO
        return _convincing(bytes(data[2:2 + mlen]), mlen, parse)
    except Exception:  # pragma: no cover
        return Verdict.NO


def veto_udp(direction: Direction, data: bytes) -> Verdict:
    """On a DNS port: NO exactly when :func:`probe_udp` says NO, else MAYBE, without parsing the message (nor
    its question behind a strict header)."""
    try:
        return _convincing(bytes(data), len(data), parse=False)
    except Exception:  # pragma: no cover
        return Verdict.NO


def veto_tcp(direction: Direction, data: bytes) -> Verdict:
    """On TCP 53: NO exactly when :func:`probe_tcp` says NO, else MAYBE, without parsing the message."""
    return probe_tcp(direction, data, parse=False)


def is_reply(data: bytes) -> bool | None:
    """The QR bit of a plausible header (RFC 1035 section 4.1.1): True for a response, False for a query,
    None when the datagram is not a DNS message."""
    if not plausible_header(data, 0, strict=True):
        return None
    return bool(data[2] & 0x80)


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="dns", transport=Transport.UDP, ports=frozenset({53, 5353, 5355}),
                  probe=probe_udp, factory=Lazy("dissectors.dns:_udp_factory"), service="dns",
                  idle_timeout="dns_idle_timeout", veto=veto_udp, is_reply=is_reply),
    DissectorSpec(name="dns", transport=Transport.TCP, ports=frozenset({53}),
                  probe=probe_tcp, factory=Lazy("dissectors.dns:_tcp_factory"), service="dns", veto=veto_tcp),
)

#: dns's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "dns_question_mismatch": "A DNS response answered a different question than the query with the same id.",
    "dns_name_compression_loop": "A DNS name pointed back into itself (a compression loop, a classic parser trap).",
    "dns_message_truncated": "A DNS message ended before all its records were read.",
    "dns_trailing_bytes": "A DNS message had extra bytes after its last record. Harmless padding, or data hidden "
                          "in DNS (a covert channel).",
    "dns_rdata_trailing": "A DNS record's data (RDATA) was longer than its type needs; the extra bytes were "
                          "ignored.",
    "dns_rdata_malformed": "A DNS record's data (RDATA) did not fit its type's format; the record is shown as "
                           "raw bytes.",
    "dns_name_bad_pointer": "A compressed DNS name pointed outside the message (RFC 1035 section 4.1.4), so it "
                            "could not be read.",
    "dns_name_forward_pointer": "A compressed DNS name pointed forward in the message. RFC 1035 expects pointers "
                                "to earlier names; forward pointers are a parser trap.",
    "dns_opt_misplaced": "An EDNS OPT record was outside the additional section (RFC 6891 section 6.1.1).",
    "dns_opt_bad_owner": "An EDNS OPT record was owned by a name other than the root (RFC 6891 section 6.1.2).",
    "dns_opt_duplicate": "A message carried more than one EDNS OPT record; RFC 6891 section 6.1.1 allows one. "
                         "The first was used.",
    "dns_opt_malformed": "An EDNS option in the OPT record was cut short or ran past the record.",
    "dns_tsig_misplaced": "A TSIG signature record was not the last record of the message (RFC 8945 section 5.1).",
    "dns_tcp_empty_message": "DNS over TCP announced a message of length zero (RFC 1035 section 4.2.2).",
    "dns_tcp_truncated_message": "DNS over TCP: the connection ended before the message its length prefix "
                                 "announced was complete.",
    "dns_tcp_resync": "DNS over TCP: the two-byte length prefixes stopped making sense; the decoder skipped bytes "
                      "until it found a message again.",
}

#: How dns is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"dns": "#0077b6"},
                            live_columns={"dns": ("query", "qtype_name", "rcode_name", "answers")},
                            live_colours={"dns": "36"})
