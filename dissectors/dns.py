"""DNS over UDP and TCP: messages, query/response pairing and the ``dns`` table.

What: the Domain Name System (RFC 1035) — a client asks a question (name,
type, class), a server answers with resource records in three sections
(answer, authority, additional). Over UDP one datagram is one message; over
TCP (RFC 1035 section 4.2.2, RFC 7766) every message is preceded by a 2-byte
length, a connection may carry several queries and responses (pipelined, in
any order) and a zone transfer (AXFR/IXFR, RFC 5936/1995) answers one query
with a stream of many messages.

RFC sections followed: RFC 1035 section 4 (header, sections, 4.1.4 name
compression), RFC 2136 (UPDATE: zone / prerequisite / update sections),
RFC 1996 (NOTIFY), RFC 2782 (SRV), RFC 3596 (AAAA), RFC 3597 (unknown types
as ``\\# len hex``), RFC 4034 (DS, DNSKEY, RRSIG, NSEC), RFC 5155 (NSEC3),
RFC 6891 (OPT: UDP payload size, extended RCODE, version, DO bit, options;
RFC 7871 client subnet, RFC 7873 cookie, RFC 8914 extended error),
RFC 7766 (TCP framing, several messages per connection), RFC 8945 (TSIG),
RFC 2930 (TKEY), RFC 8659 (CAA). Wire decoding lives in
:mod:`dissectors._dns_wire`.

What is extracted:

* one :class:`DnsMessage` event per message (query or response) with its
  header flags, first question and every record rendered ``TYPE data``;
* one :class:`DnsTransaction` record (table ``dns``) per query/response pair,
  with Zeek's dns.log columns ``proto, trans_id, rtt, query, qclass,
  qclass_name, qtype, qtype_name, rcode, rcode_name, AA, TC, RD, RA, Z,
  answers, TTLs, rejected`` (Zeek's names and renderings: ``C_INTERNET``,
  ``*`` for ANY, ``NXRRSet``, ``query-N``/``qclass-N``/``rcode-N`` for
  unknown codes; ``Z`` is Zeek's 3-bit field that includes AD and CD) plus
  ``opcode, opcode_name, AD, CD, saw_query, saw_reply, retransmissions,
  resp_messages, auth, addl, answers_detail, auth_detail, addl_detail,
  edns_udp_size, edns_version, edns_do, edns_options, ecs, tsig, zone_updates``.

Renderings. ``answers``/``auth``/``addl`` follow Zeek's dns.log exactly
(main.zeek ``do_reply``): A/AAAA as the address; CNAME, NS, PTR, DNAME as the
name; MX and SRV as the target name only; SOA as the primary server (mname);
TXT as ``TXT <len> <string>`` per string; DNSKEY as ``DNSKEY <algorithm>``;
DS as ``DS <algorithm> <digest>``; RRSIG as ``RRSIG <type number> <signer>``;
NSEC as ``NSEC <owner> <next>``; NSEC3 as ``NSEC3``; SSHFP as ``SSHFP: <hex>``.
Types Zeek does not render (CAA, TSIG, TKEY, TLSA, unknown) use the
presentation form below, where Zeek would log nothing or ``<unknown type=N>``.
``*_detail`` lists carry ``{name, type, class, ttl, data}`` with ``data`` in
RFC presentation format, which is also what tshark's Info column shows:
``MX`` ``10 mail.example.com``, ``SRV`` ``0 100 389 dc.example.com``, ``SOA``
``mname rname serial refresh retry expire minimum``, ``TXT`` quoted strings,
DNSSEC keys/signatures in base64, digests in hex, NSEC3 next hash in base32hex,
RRSIG times as YYYYMMDDHHMMSS, unknown types ``\\# len hex``. Names have no
trailing dot and the root is ``<Root>``, as tshark shows them. OPT records are
not listed among the sections: they become the ``edns_*`` columns (from the
query when there is one, else from the response; ``edns_options`` lists both
sides).

Pairing (per flow): key = transaction id + first question (name
case-insensitively, type, class). A response without a question, or whose
question differs, pairs with the oldest pending query of the same id (the
latter with an anomaly). A repeated query while the first is pending is a
retransmission (counted; ``rtt`` runs from the first copy, ``ts`` is the
first copy's). Zone transfers (AXFR/IXFR) collect every response message of
the stream into one row (``resp_messages``) until the closing SOA. Queries
still unanswered when the flow closes become rows with ``saw_reply=False``;
responses that match no query become rows with ``saw_query=False``.
``rejected`` is Zeek's: a response with a non-zero RCODE and no question.

Choice of parser (measured on the 171 DNS/mDNS datagrams of ../shared/captures,
40 rounds, Python 3.11 on a shared 2-core machine, two runs; plus six crafted
hostile messages: compression loop, self pointer, forward pointer, label of
64, name over 255, answer count past the end):

* dnspython 2.9 ``from_wire(continue_on_error=True, ignore_trailing=True)``:
  4,500-5,200 msg/s; all 171 parse; the hostile ones give BadPointer /
  BadLabelType / NameTooLong / FormError with the question kept when it
  parsed — tolerant, but 6-10x slower (full rdata objects for everything);
* dpkt 1.9.8 ``dpkt.dns.DNS``: 51,000-53,000 msg/s, but 15 of the 171 real
  messages fail entirely (RRSIG, DNSKEY, SSHFP: "RR type not supported") and
  every hostile message raises UnpackError with nothing kept;
* our own bounded parser (:mod:`dissectors._dns_wire`), which also renders
  every RDATA to text: 30,000-51,000 msg/s, all 171 parse, every hostile case
  is a named anomaly with the header and everything before the fault kept.
  It is used for tolerance (partial results, named anomalies) at dpkt-like
  speed; dnspython serves as the independent encoder in the tests.

Limits: names follow at most ``limits.max_name_depth`` compression pointers;
pending queries per flow are capped by ``limits.max_pending_requests`` (the
oldest is flushed as unanswered with ``dns_pending_too_many``); a row keeps at
most 10,000 records per list (``dns_answers_capped``); a TCP message is at
most 65,535 bytes by construction. After a TCP gap inside a message whose
length is known the framing is kept (the partial message is decoded as far as
it goes); a gap that swallows a length prefix loses the framing and the
dissector rescans for a plausible length+header (``dns_tcp_resync``). mDNS
(RFC 6762) is decoded as DNS; its cache-flush/unicast-response class bit is
left in ``qclass`` as Zeek does. NetBIOS name service (port 137) is not
claimed. The ``variant`` column says which of the three a row is (by port: 5353
mDNS, 5355 LLMNR over UDP). An mDNS response carries no question (RFC 6762
section 6): its ``query`` is the name of its first answer and ``query_from``
says so (``question`` otherwise; Zeek leaves ``query`` empty there). LLMNR (RFC 4795
section 2.1.1) puts its C (conflict) and T (tentative) bits where DNS has AA and RD:
they are ``llmnr_conflict``/``llmnr_tentative``, and ``AA``/``RD`` stay false. TSIG MACs are shown, not verified; DNSSEC signatures are not
validated.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from itertools import compress, product
from types import MappingProxyType
from typing import ClassVar, Mapping

from decoder.model import (
    quick_init,
    Anomaly, Confirm, Direction, Event, FlowContext, Item, Record,
    Transport, Violation,
)
from dissectors._dns_wire import (
    Message, Question, RR, parse_message, plausible_header, read_name,
    Stop, type_name,
)
from dissectors.probes.dns import (  # noqa: F401 - SPECS and the probe are re-exported
    SPECS, probe_tcp, probe_udp, ZEEK_QTYPE_NAMES,
)

__all__ = ["DnsMessage", "DnsTransaction", "DnsDissector", "probe_udp", "probe_tcp", "SPECS"]

ZEEK_RCODE_NAMES = MappingProxyType({
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSet", 9: "NOTAUTH", 10: "NOTZONE",
    11: "unassigned-11", 12: "unassigned-12", 13: "unassigned-13", 14: "unassigned-14",
    15: "unassigned-15", 16: "BADVERS", 17: "BADKEY", 18: "BADTIME", 19: "BADMODE",
    20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE",
})
ZEEK_CLASS_NAMES = MappingProxyType({1: "C_INTERNET", 2: "C_CSNET", 3: "C_CHAOS",
                                     4: "C_HESIOD", 254: "C_NONE", 255: "C_ANY"})
ZEEK_OPCODE_NAMES = MappingProxyType({0: "query", 1: "iquery", 2: "server-status",
                                      4: "notify", 5: "dynamic-update", 6: "dso"})

RCODE_MEANINGS = MappingProxyType({
    0: "no error: the query was answered (RFC 1035 4.1.1)",
    1: "format error: the server could not interpret the query (RFC 1035 4.1.1)",
    2: "server failure: the server could not process the query (RFC 1035 4.1.1)",
    3: "name error: the queried domain name does not exist (RFC 1035 4.1.1)",
    4: "not implemented: the server does not support this kind of query (RFC 1035 4.1.1)",
    5: "refused: the server will not perform the operation, for policy reasons (RFC 1035 4.1.1)",
    6: "a name exists that the update prerequisite says should not (RFC 2136 2.2)",
    7: "an RRset exists that the update prerequisite says should not (RFC 2136 2.2)",
    8: "an RRset that the update prerequisite says should exist does not (RFC 2136 2.2)",
    9: "the server is not authoritative for the zone, or the request is not authorized (RFC 2136, RFC 8945)",
    10: "a name in the update is not within the zone (RFC 2136 2.2)",
    16: "bad EDNS version, or TSIG signature failure (RFC 6891, RFC 8945)",
    17: "TSIG key not recognized (RFC 8945)",
    18: "TSIG signature out of its time window (RFC 8945)",
    19: "bad TKEY mode (RFC 2930)",
    20: "duplicate TKEY key name (RFC 2930)",
    21: "algorithm not supported (RFC 2930)",
    22: "bad TSIG truncation (RFC 8945)",
    23: "bad or missing server cookie (RFC 7873)",
})
OPCODE_MEANINGS = MappingProxyType({
    0: "standard query: ask for the records of a name (RFC 1035)",
    1: "inverse query, obsolete (RFC 3425)",
    2: "server status request (RFC 1035)",
    4: "notify: the primary tells secondaries that the zone changed (RFC 1996)",
    5: "dynamic update: add or delete records in a zone (RFC 2136)",
    6: "DNS stateful operation (RFC 8490)",
})

_MAX_KEPT = 10_000
_XFR_TYPES = (251, 252)


def zeek_qtype_name(t: int) -> str:
    return ZEEK_QTYPE_NAMES.get(t) or f"query-{t}"


def zeek_rcode_name(r: int) -> str:
    if r == 3842:
        return "BADSIG"
    return ZEEK_RCODE_NAMES.get(r) or f"rcode-{r}"


def zeek_class_name(c: int) -> str:
    return ZEEK_CLASS_NAMES.get(c) or f"qclass-{c}"


def zeek_opcode_name(o: int) -> str:
    return ZEEK_OPCODE_NAMES.get(o) or f"opcode-{o}"


# ------------------------------------------------------------------ events and records
@quick_init
@dataclass(frozen=True, slots=True)
class DnsMessage(Event):
    """One DNS message as it crossed the wire."""

    trans_id: int = 0
    is_response: bool = False
    opcode: int = 0
    rcode: int = 0
    flags: str = ""                 # "qr aa tc rd ra ad cd", the set bits
    query: str = ""
    qtype: int = 0
    qclass: int = 0
    qdcount: int = 0
    answers: tuple[str, ...] = ()       # "TYPE data" per answer RR
    authority: tuple[str, ...] = ()
    additional: tuple[str, ...] = ()    # without OPT
    edns: str = ""
    length: int = 0
    complete: bool = True

    def summary(self) -> str:
        q = f"{type_name(self.qtype)} {self.query}" if self.query else "(no question)"
        tc = " (truncated)" if "tc" in self.flags.split() else ""
        if self.opcode == 5:
            kind = "update response" if self.is_response else "update"
            if self.is_response:
                return f"{kind} {zeek_rcode_name(self.rcode)} zone {self.query}{tc}"
            return f"{kind} zone {self.query}: {len(self.authority)} change(s){tc}"
        if self.opcode == 4:
            kind = "notify response" if self.is_response else "notify"
            return f"{kind} {q}{tc}"
        if not self.is_response:
            return f"query {q}{tc}"
        rc = zeek_rcode_name(self.rcode)
        if self.answers:
            shown = ", ".join(a if len(a) <= 72 else a[:69] + "..." for a in self.answers[:4])
            more = f" (+{len(self.answers) - 4} more)" if len(self.answers) > 4 else ""
            return f"response {rc} {shown}{more}{tc}"
        return f"response {rc} for {q} (no answers){tc}"

    def meaning(self) -> str:
        if self.is_response:
            return RCODE_MEANINGS.get(self.rcode, "")
        return OPCODE_MEANINGS.get(self.opcode, "")


@quick_init
@dataclass(frozen=True, slots=True)
class DnsTransaction(Record):
    """One query/response pair (one row of ``dns``), Zeek dns.log columns first."""

    TABLE: ClassVar[str] = "dns"
    proto: str = "udp"
    trans_id: int | None = None
    rtt: float | None = None
    query: str | None = None
    qclass: int | None = None
    qclass_name: str | None = None
    qtype: int | None = None
    qtype_name: str | None = None
    rcode: int | None = None
    rcode_name: str | None = None
    AA: bool = False
    TC: bool = False
    RD: bool = False
    RA: bool = False
    Z: int = 0
    answers: list = field(default_factory=list)
    TTLs: list = field(default_factory=list)
    rejected: bool = False
    opcode: int | None = None
    opcode_name: str | None = None
    AD: bool = False
    CD: bool = False
    saw_query: bool = False
    saw_reply: bool = False
    retransmissions: int = 0
    resp_messages: int = 0
    auth: list = field(default_factory=list)
    addl: list = field(default_factory=list)
    answers_detail: list = field(default_factory=list)
    auth_detail: list = field(default_factory=list)
    addl_detail: list = field(default_factory=list)
    edns_udp_size: int | None = None
    edns_version: int | None = None
    edns_do: bool | None = None
    edns_options: list = field(default_factory=list)
    ecs: str | None = None
    tsig: str | None = None
    zone_updates: list = field(default_factory=list)
    variant: str = "dns"                # dns, mdns (RFC 6762, port 5353), llmnr (RFC 4795, port 5355)
    query_from: str | None = None       # "question", or "answers" (an mDNS response has no question)
    llmnr_conflict: bool | None = None  # LLMNR's C and T bits (RFC 4795 2.1.1), where DNS has AA and RD
    llmnr_tentative: bool | None = None


# ------------------------------------------------------------------ helpers
_FLAG_BITS = ((0x8000, "qr"), (0x0400, "aa"), (0x0200, "tc"), (0x0100, "rd"),
              (0x0080, "ra"), (0x0020, "ad"), (0x0010, "cd"))


_MASKS, _NAMES = zip(*_FLAG_BITS)
_FLAG_MASK = sum(_MASKS)
# every combination of the bits above, made once: the text of a header's flags is one look-up
_FLAG_TEXTS: Mapping[int, str] = MappingProxyType({
    sum(compress(_MASKS, keep)): " ".join(compress(_NAMES, keep))
    for keep in product((0, 1), repeat=len(_FLAG_BITS))})


def _flag_text(flags: int) -> str:
    return _FLAG_TEXTS[flags & _FLAG_MASK]


def _rr_texts(rrs: list) -> tuple[str, ...]:
    """``RR.text()`` of each record (the event's answers, authority and additional)."""
    return tuple([rr.text() for rr in rrs]) if rrs else ()


def _edns_text(m: Message) -> str:
    e = m.edns
    if e is None:
        return ""
    s = f"udp={e.udp_size} version={e.version}" + (" do" if e.do else "")
    if e.options:
        s += " " + " ".join(f"{name}={text}" if text else name for _, name, text in e.options)
    return s


def _qkey(q: Question | None) -> tuple | None:
    if q is None:
        return None
    return (q.name.lower(), q.qtype, q.qclass)


class _Tx:
    """A transaction being assembled (mutable, private)."""

    __slots__ = ("ts", "trans_id", "opcode", "question", "query", "response", "resp_ts",
                 "retrans", "resp_messages", "answers", "auth", "addl", "soa_seen",
                 "first_soa", "done", "capped", "query_edns_side", "edns_opts", "qkey")

    def __init__(self, ts: float, trans_id: int, opcode: int, question: Question | None,
                 qkey: tuple | None) -> None:
        self.ts = ts
        self.trans_id = trans_id
        self.opcode = opcode
        self.question = question
        self.qkey = qkey                # _qkey(question), made once
        self.query: Message | None = None
        self.response: Message | None = None
        self.resp_ts: float | None = None
        self.retrans = 0
        self.resp_messages = 0
        self.answers: list[RR] = []
        self.auth: list[RR] = []
        self.addl: list[RR] = []
        self.soa_seen = 0
        self.first_soa: str | None = None
        self.done = False
        self.capped = False
        self.edns_opts: list[dict] = []


# ------------------------------------------------------------------ the dissector
class _Stream:
    __slots__ = ("buf", "skip", "lost")

    def __init__(self) -> None:
        self.buf = bytearray()
        self.skip = 0
        self.lost = False


class DnsDissector:
    """Sans-IO DNS dissector for one UDP or TCP flow."""
    # one per UDP flow, kept while the flow waits out its idle timeout: no per-instance __dict__
    __slots__ = ("confirmed", "ctx", "max_pending", "max_ptrs", "mdns", "pending", "proto", "qindex",
                 "serial", "streams", "tcp", "variant", "violated", "xfr")

    def __init__(self, ctx: FlowContext, tcp: bool | None = None) -> None:
        self.ctx = ctx
        self.tcp = (ctx.transport is Transport.TCP) if tcp is None else tcp
        self.proto = "tcp" if self.tcp else "udp"
        # RFC 6762 18.1: mDNS ids are zero and responses carry no question; pair those
        # only by question, never by id alone
        ports = (ctx.orig_p, ctx.resp_p)
        self.variant = "mdns" if 5353 in ports else "llmnr" if 5355 in ports and not self.tcp else "dns"
        self.mdns = self.variant == "mdns"
        self.max_ptrs = max(1, ctx.limits.max_name_depth)
        self.max_pending = max(1, ctx.limits.max_pending_requests)
        self.confirmed = False
        self.violated = False
        self.pending: dict[int, _Tx] = {}     # insertion-ordered: serial -> tx
        self.serial = 0
        self.xfr: dict[int, int] = {}         # trans_id -> serial of an open zone transfer
        self.qindex: dict[tuple, int] = {}    # (id, question key) -> serial of an unanswered query
        self.streams = (_Stream(), _Stream()) if self.tcp else ()   # TCP framing only (RFC 1035 4.2.2)

    # -------------------------------------------------------------- contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        out: list[Item] = []
        if not data:
            return out
        if not self.tcp:
            self._message(direction, bytes(data), ts, out)
            return out
        st = self.streams[direction]
        st.buf += data
        self._drain(direction, st, ts, out)
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        out: list[Item] = []
        if not self.tcp or length <= 0:
            return out
        st = self.streams[direction]
        if st.skip:
            used = min(st.skip, length)
            st.skip -= used
            length -= used
            if not length:
                return out
        if st.lost:
            st.buf.clear()
            return out
        buf = st.buf
        if len(buf) >= 2:
            mlen = struct.unpack_from("!H", buf, 0)[0]
            have = len(buf) - 2
            if have + length <= mlen:
                out.append(Anomaly(ts, "dns_tcp_gap", f"{length} bytes missing inside a "
                                   f"{mlen}-byte message; decoding the {have} bytes before the hole",
                                   direction))
                part = bytes(buf[2:])
                buf.clear()
                st.skip = mlen - have - length
                self._message(direction, part, ts, out, partial=True)
                return out
        out.append(Anomaly(ts, "dns_tcp_gap", f"{length} bytes missing across a message "
                           "boundary; TCP framing lost, rescanning", direction))
        buf.clear()
        st.lost = True
        return out

    def close(self, ts: float) -> list[Item]:
        out: list[Item] = []
        if self.tcp:
            for d in (Direction.ORIG, Direction.RESP):
                st = self.streams[d]
                if len(st.buf) >= 2 and not st.lost:
                    mlen = struct.unpack_from("!H", st.buf, 0)[0]
                    part = bytes(st.buf[2:])
                    out.append(Anomaly(ts, "dns_tcp_truncated_message",
                                       f"connection ended {mlen - len(part)} bytes short of a "
                                       f"{mlen}-byte message", d))
                    if len(part) >= 12:
                        self._message(d, part, ts, out, partial=True)
                elif st.buf:
                    out.append(Anomaly(ts, "dns_tcp_truncated_message",
                                       f"{len(st.buf)} stray bytes at the end of the connection", d))
                st.buf.clear()
        for serial in list(self.pending):
            tx = self.pending.pop(serial)
            out.append(self._record(tx))
        self.xfr.clear()
        self.qindex.clear()
        return out

    # -------------------------------------------------------------- TCP framing
    def _drain(self, direction: Direction, st: _Stream, ts: float, out: list) -> None:
        buf = st.buf
        while True:
            if st.skip:
                used = min(st.skip, len(buf))
                del buf[:used]
                st.skip -= used
                if st.skip:
                    return
            if st.lost and not self._resync(direction, st, ts, out):
                return
            if len(buf) < 2:
                return
            mlen = (buf[0] << 8) | buf[1]
            if mlen == 0:
                out.append(Anomaly(ts, "dns_tcp_empty_message", "zero length prefix", direction))
                del buf[:2]
                continue
            if len(buf) < 2 + mlen:
                return
            wire = bytes(buf[2:2 + mlen])
            del buf[:2 + mlen]
            self._message(direction, wire, ts, out)

    def _resync(self, direction: Direction, st: _Stream, ts: float, out: list) -> bool:
        buf = st.buf
        limit = len(buf) - 14
        i = 0
        while i <= limit:
            mlen = (buf[i] << 8) | buf[i + 1]
            if mlen >= 12 and plausible_header(buf, i + 2, strict=True, msglen=mlen):
                qd = (buf[i + 6] << 8) | buf[i + 7]
                ok = True
                if qd:
                    try:
                        _, p = read_name(bytes(buf[i + 2:i + 2 + min(mlen, 300)]), 12, 1, [])
                        ok = p + 4 <= mlen
                    except Stop:
                        ok = False
                if ok:
                    del buf[:i]
                    st.lost = False
                    out.append(Anomaly(ts, "dns_tcp_resync",
                                       f"framing recovered after skipping {i} bytes", direction))
                    return True
            i += 1
        keep = 13
        if len(buf) > keep:
            del buf[:len(buf) - keep]
        return False

    # -------------------------------------------------------------- messages
    def _message(self, direction: Direction, wire: bytes, ts: float, out: list,
                 partial: bool = False) -> None:
        m = parse_message(wire, self.max_ptrs)
        if not self.confirmed:
            # foreign bytes: no header or an unknown opcode; a plausible header with a
            # malformed body is hostile DNS, kept (its faults become anomalies)
            if not m.header_ok or not plausible_header(wire):
                if not self.violated and not partial:
                    self.violated = True
                    out.append(Violation(ts, "not a DNS message: too short or unknown opcode"))
            elif m.complete and plausible_header(wire, strict=True):
                self.confirmed = True
                out.append(Confirm(ts))
        for name, detail in m.anomalies:
            out.append(Anomaly(ts, name, detail, direction))
        if not m.header_ok:
            return
        q = m.question
        # positional, in the fields' order (pinned by tests/dissectors/test_positional_items.py): the
        # call with 15 keywords took 2.7 µs more
        out.append(DnsMessage(
            ts, direction, m.id, m.qr, m.opcode,        # trans_id, is_response, opcode
            m.full_rcode, _flag_text(m.flags),          # rcode, flags
            q.name if q else "", q.qtype if q else 0, q.qclass if q else 0,    # query, qtype, qclass
            m.qdcount,                                  # qdcount
            _rr_texts(m.answers) if m.answers else (),              # answers
            _rr_texts(m.authority) if m.authority else (),          # authority
            _rr_texts(m.additional) if m.additional else (),        # additional
            _edns_text(m) if m.edns is not None else "", len(wire),  # edns, length
            m.complete and not partial))                # complete
        if m.qr:
            self._response(direction, m, ts, out)
        else:
            self._query(direction, m, ts, out)

    def _query(self, direction: Direction, m: Message, ts: float, out: list) -> None:
        key = (m.id, _qkey(m.question))
        s = self.qindex.get(key)
        if s is not None and self.pending[s].opcode == m.opcode:
            self.pending[s].retrans += 1
            return
        if len(self.pending) >= self.max_pending:
            serial = next(iter(self.pending))
            old = self.pending.pop(serial)
            self._forget(serial, old)
            out.append(Anomaly(ts, "dns_pending_too_many",
                               f"more than {self.max_pending} queries pending; the oldest "
                               f"(id {old.trans_id}) is logged as unanswered", direction))
            out.append(self._record(old))
        tx = _Tx(ts, m.id, m.opcode, m.question, key[1])
        tx.query = m
        self._collect_edns(tx, m, "query")
        self.serial += 1
        self.pending[self.serial] = tx
        if s is None:
            self.qindex[key] = self.serial

    def _response(self, direction: Direction, m: Message, ts: float, out: list) -> None:
        q = m.question
        qk = _qkey(q)
        # continuation of an open zone transfer
        serial = self.xfr.get(m.id)
        if serial is not None and serial in self.pending:
            tx = self.pending[serial]
            if qk is None or qk == tx.qkey:
                self._absorb(tx, m, ts, out, direction)
                if tx.done:
                    self._finish(serial, out)
                return
        match = self.qindex.get((m.id, qk)) if qk is not None else None
        fallback = None
        if match is None and not self.mdns:
            for s, tx in self.pending.items():
                if tx.trans_id != m.id or tx.response is not None or tx.query is None:
                    continue
                if qk is not None and tx.qkey == qk:
                    match = s           # a same-key query that was not indexed
                    break
                if fallback is None:
                    fallback = s
        if match is None and fallback is not None:
            match = fallback
            if qk is not None:
                out.append(Anomaly(ts, "dns_question_mismatch",
                                   f"response id {m.id} asks {q.name} {type_name(q.qtype)}, "
                                   "which differs from the pending query's question", direction))
        if match is None:
            tx = _Tx(ts, m.id, m.opcode, q, qk)
            self._absorb(tx, m, ts, out, direction)
            out.append(self._record(tx))
            return
        tx = self.pending[match]
        self._unindex(match, tx)
        self._absorb(tx, m, ts, out, direction)
        qt = tx.question.qtype if tx.question else 0
        if qt in _XFR_TYPES and tx.opcode == 0 and not tx.done:
            self.xfr[m.id] = match
            return
        self._finish(match, out)

    def _finish(self, serial: int, out: list) -> None:
        tx = self.pending.pop(serial)
        self._forget(serial, tx)
        out.append(self._record(tx))
        if not self.pending:
            # every query answered: fresh empty dicts (a dict keeps its table after deletions, and
            # an answered UDP flow waits out its idle timeout with this state: memory per open flow)
            self.pending = {}
            if not self.qindex:
                self.qindex = {}
            if not self.xfr:
                self.xfr = {}

    def _unindex(self, serial: int, tx: _Tx) -> None:
        key = (tx.trans_id, tx.qkey)
        if self.qindex.get(key) == serial:
            del self.qindex[key]

    def _forget(self, serial: int, tx: _Tx) -> None:
        self._unindex(serial, tx)
        if self.xfr.get(tx.trans_id) == serial:
            del self.xfr[tx.trans_id]

    def _absorb(self, tx: _Tx, m: Message, ts: float, out: list, direction: Direction) -> None:
        tx.resp_messages += 1
        if tx.response is None:
            tx.response = m
            tx.resp_ts = ts
            self._collect_edns(tx, m, "response")
        else:
            if m.rcode:
                tx.response = m         # a later error in a transfer wins
        for dest, src in ((tx.answers, m.answers), (tx.auth, m.authority), (tx.addl, m.additional)):
            room = _MAX_KEPT - len(dest)
            if len(src) > room:
                if not tx.capped:
                    tx.capped = True
                    out.append(Anomaly(ts, "dns_answers_capped",
                                       f"more than {_MAX_KEPT} records in one transaction; "
                                       "the rest are not listed", direction))
                src = src[:max(room, 0)]
            dest.extend(src)
        qt = tx.question.qtype if tx.question else 0
        if qt in _XFR_TYPES:
            if m.full_rcode or not m.complete:
                tx.done = True
                return
            for rr in m.answers:
                if rr.rtype == 6:
                    tx.soa_seen += 1
                    if tx.first_soa is None:
                        tx.first_soa = rr.data
                    elif qt == 252 or rr.data == tx.first_soa:
                        tx.done = True
            if qt == 251 and tx.resp_messages == 1 and len(m.answers) == 1 and tx.soa_seen == 1:
                tx.done = True          # IXFR: already up to date (RFC 1995 section 4)

    @staticmethod
    def _collect_edns(tx: _Tx, m: Message, side: str) -> None:
        if m.edns is not None:
            for code, name, text in m.edns.options:
                tx.edns_opts.append({"side": side, "code": code, "name": name, "data": text})

    # -------------------------------------------------------------- record
    def _record(self, tx: _Tx) -> DnsTransaction:
        qm, rm = tx.query, tx.response
        hdr = qm or rm
        q = tx.question
        ts = tx.ts
        rtt = None
        if qm is not None and rm is not None and tx.resp_ts is not None:
            rtt = round(tx.resp_ts - tx.ts, 9)
        edns_src = qm if (qm is not None and qm.edns is not None) else rm
        e = edns_src.edns if edns_src is not None else None
        ecs = None
        for side in (qm, rm):
            if side is not None and side.edns is not None and side.edns.ecs:
                ecs = side.edns.ecs
                break
        rcode = rm.full_rcode if rm is not None else None
        upd: list = []
        if qm is not None and qm.opcode == 5:
            upd = ([dict(rr.detail(), section="prerequisite") for rr in qm.answers]
                   + [dict(rr.detail(), section="update") for rr in qm.authority])
        answers = tx.answers if rm is not None else ()
        query_from = "question" if q else "answers" if self.mdns and answers else None
        llmnr = self.variant == "llmnr"
        # a section's lists made only when it has records (most have none; a list display is a call)
        auth, addl = tx.auth, tx.addl
        # positional, in the fields' order (pinned by tests/dissectors/test_positional_items.py): the
        # call with 42 keywords took 8 µs more
        return DnsTransaction(
            ts, self.proto, tx.trans_id, rtt,                                   # ts, proto, trans_id, rtt
            q.name if q else answers[0].name if query_from else None,           # query
            q.qclass if q else None, zeek_class_name(q.qclass) if q else None,  # qclass, qclass_name
            q.qtype if q else None, zeek_qtype_name(q.qtype) if q else None,    # qtype, qtype_name
            rcode, zeek_rcode_name(rcode) if rcode is not None else None,       # rcode, rcode_name
            bool(rm and rm.aa) and not llmnr, bool((qm and qm.tc) or (rm and rm.tc)),     # AA, TC
            bool(hdr.rd) and not llmnr, bool(rm and rm.ra), hdr.z,              # RD, RA, Z
            [rr.zeek for rr in answers if rr.zeek] if answers else [],          # answers
            [float(rr.ttl) for rr in answers if rr.zeek] if answers else [],    # TTLs
            bool(rm is not None and rm.rcode != 0 and rm.qdcount == 0),         # rejected
            hdr.opcode, zeek_opcode_name(hdr.opcode),                           # opcode, opcode_name
            bool(rm.ad if rm is not None else hdr.ad),                          # AD
            bool(qm.cd if qm is not None else hdr.cd),                          # CD
            qm is not None, rm is not None,                                     # saw_query, saw_reply
            tx.retrans, tx.resp_messages,                           # retransmissions, resp_messages
            [rr.zeek for rr in auth] if auth else [], [rr.zeek for rr in addl] if addl else [],  # auth, addl
            [rr.detail() for rr in answers] if answers else [],                 # answers_detail
            [rr.detail() for rr in auth] if auth else [],                       # auth_detail
            [rr.detail() for rr in addl] if addl else [],                       # addl_detail
            e.udp_size if e else None,                                          # edns_udp_size
            e.version if e else None,                                           # edns_version
            e.do if e else None,                                                # edns_do
            list(tx.edns_opts) if tx.edns_opts else [], ecs,                    # edns_options, ecs
            (rm.tsig.data if rm is not None and rm.tsig is not None else        # tsig
             qm.tsig.data if qm is not None and qm.tsig is not None else None),
            upd, self.variant, query_from,                          # zone_updates, variant, query_from
            bool((qm and qm.aa) or (rm and rm.aa)) if llmnr else None,          # llmnr_conflict
            bool(rm and rm.rd) if llmnr else None,                              # llmnr_tentative
        )


# ------------------------------------------------------------------ probes


def _udp_factory(ctx: FlowContext) -> DnsDissector:
    return DnsDissector(ctx, tcp=False)


def _tcp_factory(ctx: FlowContext) -> DnsDissector:
    return DnsDissector(ctx, tcp=True)


