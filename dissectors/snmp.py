"""SNMP v1, v2c and v3 over UDP (ports 161 and 162), decoded with our own BER reader.

What SNMP is: a manager asks an agent for the values of named objects (OIDs)
and the agent answers; agents also push notifications (traps) to managers.
Messages are BER-encoded ASN.1, one per UDP datagram.

RFC sections followed:

* RFC 1157 section 4 — SNMPv1 ``Message`` (version 0, community, PDU) and the
  v1 ``Trap-PDU`` (enterprise, agent-addr, generic-trap, specific-trap,
  time-stamp; 4.1.6);
* RFC 1901 / RFC 3416 section 3 — SNMPv2c (version 1) and the PDUs:
  GetRequest [0], GetNextRequest [1], Response [2], SetRequest [3],
  GetBulkRequest [5] (non-repeaters, max-repetitions), InformRequest [6],
  SNMPv2-Trap [7], Report [8]; error-status names of section 3;
  exceptions noSuchObject [0], noSuchInstance [1], endOfMibView [2];
* RFC 2578 section 7.1 / RFC 3416 — value types: INTEGER, OCTET STRING,
  OBJECT IDENTIFIER, NULL, IpAddress [APPLICATION 0], Counter32 [1],
  Gauge32/Unsigned32 [2], TimeTicks [3], Opaque [4], NsapAddress [5],
  Counter64 [6], UInteger32 [7];
* RFC 3412 section 6 — SNMPv3 message: msgGlobalData (msgID, msgMaxSize,
  msgFlags auth/priv/reportable, msgSecurityModel), msgSecurityParameters,
  msgData as a plaintext ScopedPDU (contextEngineID, contextName, PDU) or an
  encrypted OCTET STRING;
* RFC 3414 section 2.4 — USM security parameters (authoritative engine id,
  boots, time, user name, authentication and privacy parameters);
* RFC 3417 section 8 — BER restricted to definite lengths;
* RFC 1910 (historic SNMPv2u, version 2): parameters skipped, plaintext PDU
  decoded, encrypted data reported as encrypted.

What it extracts: one :class:`SnmpPdu` event and one ``snmp_pdus`` row per
message (PDU type in snake case, version, community, request id, error status
name and index, varbinds as ``{oid, name, type, value}``, GetBulk and v1 trap
fields, v3 header and USM fields, ``encrypted``), request/response pairing by
request-id (v1/v2c) or msgID (v3) with the RTT on the answer, community strings
as credentials (kind ``community``, ``success`` True once an answer carried the
same community), and one ``snmp`` row per flow with Zeek's snmp.log fields
(counters are numbers of variable bindings, as in Zeek; ``display_string`` from
sysDescr.0 and ``up_since`` from sysUpTime.0 in responses and notifications).
Object names come from the small bundled table in :mod:`dissectors._mib`.

Values in the ``varbinds`` lists are strings: integers in decimal, OCTET STRINGs
as text when they are printable UTF-8 (tab, CR and LF allowed) and otherwise as
``0x`` + lowercase hex, IpAddress dotted, OIDs dotted, NULL and the three
exceptions as ``""`` (their ``type`` says which).

Limits: BER depth ``limits.max_ber_depth`` (``snmp_ber_too_deep``); pending
requests ``limits.max_pending_requests`` (oldest dropped, ``snmp_pending_too_many``);
every malformation is an ``snmp_*`` anomaly and decoding keeps what it could
read. Encrypted scoped PDUs are not decrypted (no keys). SNMP over TCP
(RFC 3430) and AgentX are not handled.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from decoder.model import (
    quick_init,
    MASK,
    Anomaly, Confirm, Credential, Direction, Event, FlowContext, Item,
    Record, Violation, ORIG,
)
from dissectors._ber import (
    CONTEXT, BerError, Reader, Tlv, decode_int, decode_oid, decode_unsigned, walk,
)
from dissectors._mib import GENERIC_TRAPS, oid_name
from dissectors.probes.snmp import SPECS, PDU_TYPES, probe, VERSIONS  # noqa: F401 - SPECS, probe: re-exported

__all__ = [
    "SnmpPdu", "SnmpPduRecord", "SnmpRecord", "Varbind", "SnmpDissector",
    "parse_message", "probe", "SPECS", "PDU_TYPES", "ERROR_STATUS",
]


REQUEST_TYPES = frozenset({"get_request", "get_next_request", "set_request",
                           "get_bulk_request", "inform"})
ANSWER_TYPES = frozenset({"response", "report"})

PDU_MEANINGS: Mapping[str, str] = MappingProxyType({
    "get_request": "the manager asks the agent for the current values of the named objects",
    "get_next_request": "the manager asks for the object that follows each named one "
                        "(how a MIB walk steps through a table)",
    "get_bulk_request": "the manager asks for many following objects at once "
                        "(non-repeaters once, the rest up to max-repetitions times)",
    "set_request": "the manager asks the agent to change the values of the named objects",
    "response": "the agent answers a request with values or an error",
    "trap": "an SNMPv1 notification: the agent reports an event to the manager, "
            "no answer expected",
    "trapv2": "an SNMPv2 notification: the agent reports an event, no answer expected",
    "inform": "an acknowledged notification: the receiver must answer with a response",
    "report": "an SNMPv3 engine reports a problem or its engine id/time "
              "(e.g. during discovery)",
    "unknown": "a PDU type this decoder does not know",
    "encrypted": "an SNMPv3 scoped PDU encrypted with the user's privacy key; "
                 "its contents cannot be read without the key",
})

ERROR_STATUS: Mapping[int, str] = MappingProxyType({
    0: "noError", 1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly",
    5: "genErr", 6: "noAccess", 7: "wrongType", 8: "wrongLength", 9: "wrongEncoding",
    10: "wrongValue", 11: "noCreation", 12: "inconsistentValue",
    13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
    16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
})

ERROR_MEANINGS: Mapping[str, str] = MappingProxyType({
    "noError": "",
    "tooBig": "the answer would not fit in one message",
    "noSuchName": "a named object does not exist or cannot be set (SNMPv1)",
    "badValue": "a value in the set request has the wrong type, length or value (SNMPv1)",
    "readOnly": "the object cannot be written (SNMPv1)",
    "genErr": "the agent failed for a reason not covered by another error",
    "noAccess": "the object is not accessible to this manager",
    "wrongType": "the value has the wrong type for the object",
    "wrongLength": "the value has the wrong length for the object",
    "wrongEncoding": "the value is not correctly encoded",
    "wrongValue": "the value is outside the object's range",
    "noCreation": "the object does not exist and cannot be created",
    "inconsistentValue": "the value cannot be assigned right now",
    "resourceUnavailable": "the agent lacks resources to perform the set",
    "commitFailed": "the set failed and was undone",
    "undoFailed": "the set failed and could not be fully undone",
    "authorizationError": "the community or user is not allowed to do this",
    "notWritable": "the object cannot be written",
    "inconsistentName": "the object cannot be created with this name right now",
})

SECURITY_MODELS: Mapping[int, str] = MappingProxyType({
    0: "any", 1: "SNMPv1", 2: "SNMPv2c", 3: "USM", 4: "TSM",
})

_VALUE_TYPES: Mapping[int, str] = MappingProxyType({
    0x02: "integer", 0x04: "octet_string", 0x05: "null", 0x06: "oid",
    0x40: "ip_address", 0x41: "counter32", 0x42: "gauge32", 0x43: "timeticks",
    0x44: "opaque", 0x45: "nsap_address", 0x46: "counter64", 0x47: "uinteger32",
    0x80: "no_such_object", 0x81: "no_such_instance", 0x82: "end_of_mib_view",
})
_UNSIGNED = frozenset({0x41, 0x42, 0x43, 0x46, 0x47})
_EMPTY_VALUES = frozenset({0x05, 0x80, 0x81, 0x82})
_PRINTABLE_EXTRA = str.maketrans("", "", "\t\r\n")


# ---------------------------------------------------------------- items
@quick_init
@dataclass(frozen=True, slots=True)
class Varbind:
    oid: str
    name: str
    type: str
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"oid": self.oid, "name": self.name, "type": self.type, "value": self.value}

    def label(self) -> str:
        return self.name or self.oid



def _shown(community: str | None) -> str | None:
    """A community as events and rows show it: MASK (it is a password; the credentials table has it)."""
    return None if community is None else MASK

@quick_init
@dataclass(frozen=True, slots=True)
class SnmpPdu(Event):
    """One SNMP message (one PDU) as the timeline shows it."""

    pdu_type: str = ""
    version: str = ""
    community: str | None = None
    request_id: int | None = None
    msg_id: int | None = None
    error_status: str | None = None
    error_index: int | None = None
    varbinds: tuple[Varbind, ...] = ()
    rtt: float | None = None
    encrypted: bool = False
    user: str | None = None
    generic_trap: str | None = None
    enterprise: str | None = None

    def summary(self) -> str:
        if self.encrypted:
            who = f" user {self.user}" if self.user else ""
            return f"encrypted SNMPv3 PDU (msgID {self.msg_id}{who})"
        parts = [self.pdu_type]
        if self.pdu_type == "trap":
            parts.append(self.generic_trap or "")
            if self.enterprise:
                parts.append(f"enterprise {oid_name(self.enterprise) or self.enterprise}")
        names = [vb.label() for vb in self.varbinds[:3]]
        if self.pdu_type in ("response", "report") and len(self.varbinds) == 1:
            vb = self.varbinds[0]
            shown = vb.value if len(vb.value) <= 60 else vb.value[:57] + "..."
            names = [f"{vb.label()} = {shown}" if vb.type not in _EXC_TYPES
                     else f"{vb.label()} = {vb.type}"]
        if names:
            parts.append(", ".join(names))
        if len(self.varbinds) > 3:
            parts.append(f"(+{len(self.varbinds) - 3} more)")
        if self.error_status and self.error_status != "noError":
            parts.append(f"error {self.error_status} at {self.error_index}")
        return " ".join(p for p in parts if p)

    def meaning(self) -> str:
        base = PDU_MEANINGS.get("encrypted" if self.encrypted else self.pdu_type, "")
        err = ERROR_MEANINGS.get(self.error_status or "", "")
        return f"{base}; {self.error_status}: {err}" if err else base


_EXC_TYPES = frozenset({"no_such_object", "no_such_instance", "end_of_mib_view"})


@quick_init
@dataclass(frozen=True, slots=True)
class SnmpPduRecord(Record):
    """One row of ``snmp_pdus``: one SNMP message."""

    TABLE: ClassVar[str] = "snmp_pdus"
    is_orig: bool = True
    pdu_type: str = ""
    version: str = ""
    community: str | None = None
    request_id: int | None = None
    error_status: str | None = None
    error_index: int | None = None
    non_repeaters: int | None = None
    max_repetitions: int | None = None
    varbinds: list = field(default_factory=list)
    rtt: float | None = None
    enterprise: str | None = None
    agent_addr: str | None = None
    generic_trap: str | None = None
    specific_trap: int | None = None
    time_stamp: int | None = None
    msg_id: int | None = None
    msg_max_size: int | None = None
    msg_flags: str | None = None
    security_model: str | None = None
    engine_id: str | None = None
    engine_boots: int | None = None
    engine_time: int | None = None
    user: str | None = None
    context_engine_id: str | None = None
    context_name: str | None = None
    encrypted: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class SnmpRecord(Record):
    """One row of ``snmp`` per flow (Zeek's snmp.log)."""

    TABLE: ClassVar[str] = "snmp"
    duration: float = 0.0
    version: str = ""
    community: str | None = None
    get_requests: int = 0
    get_bulk_requests: int = 0
    get_responses: int = 0
    set_requests: int = 0
    display_string: str | None = None
    up_since: float | None = None


# ---------------------------------------------------------------- decoding
def _text(b: bytes) -> str:
    """Printable UTF-8 as text, anything else as 0x + hex."""
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + b.hex()
    if s.translate(_PRINTABLE_EXTRA).isprintable():
        return s
    return "0x" + b.hex()


def _label(b: bytes) -> str:
    """Community or user names: text when decodable, with escapes otherwise."""
    return b.decode("utf-8", "backslashreplace")


class _Msg:
    """What one datagram held (filled as far as decoding got)."""

    __slots__ = ("version", "community", "pdu_type", "request_id", "error_status",
                 "error_index", "non_repeaters", "max_repetitions", "varbinds",
                 "enterprise", "agent_addr", "generic_trap", "specific_trap",
                 "time_stamp", "msg_id", "msg_max_size", "msg_flags", "security_model",
                 "engine_id", "engine_boots", "engine_time", "user",
                 "context_engine_id", "context_name", "encrypted", "anomalies",
                 "is_snmp")

    def __init__(self) -> None:
        self.version = self.community = self.pdu_type = self.request_id = self.error_status = None
        self.error_index = self.non_repeaters = self.max_repetitions = self.enterprise = None
        self.agent_addr = self.generic_trap = self.specific_trap = self.time_stamp = self.msg_id = None
        self.msg_max_size = self.msg_flags = self.security_model = self.engine_id = None
        self.engine_boots = self.engine_time = self.user = self.context_engine_id = None
        self.context_name = None
        self.varbinds = []
        self.anomalies = []
        self.encrypted = False
        self.is_snmp = False


def _int(r: Reader, what: str) -> int:
    return decode_int(r.contents(0x02, what))


def _octets(r: Reader, what: str) -> bytes:
    return r.contents(0x04, what)


def _decode_value(r: Reader, tlv: Tlv, msg: _Msg) -> tuple[str, str]:
    tag = tlv.tag
    raw = r.value(tlv)
    vtype = _VALUE_TYPES.get(tag)
    if vtype is None:
        if tlv.constructed:
            try:
                walk(raw, max_depth=max(0, r.max_depth - r.depth - 1))
            except BerError as e:
                msg.anomalies.append((f"snmp_ber_{e.name}",
                                      f"value with tag 0x{tag:02x}: {e.detail}"))
        return f"unknown_0x{tag:02x}", "0x" + raw.hex()
    if tlv.constructed:
        msg.anomalies.append(("snmp_bad_value", f"{vtype} value is constructed"))
        return vtype, "0x" + raw.hex()
    return vtype, _primitive_text(tag, vtype, raw, msg)


def _primitive_text(tag: int, vtype: str, raw: bytes, msg: _Msg) -> str:
    """The text of a primitive value of a known type (``_VALUE_TYPES``); a bad one adds an anomaly."""
    if tag == 0x02:
        return str(decode_int(raw))
    if tag in _UNSIGNED:
        return str(decode_unsigned(raw))
    if tag == 0x04:
        return _text(raw)
    if tag == 0x06:
        return decode_oid(raw)
    if tag == 0x40:
        if len(raw) == 4:
            return ".".join(map(str, raw))
        msg.anomalies.append(("snmp_bad_value", f"IpAddress of {len(raw)} bytes"))
        return "0x" + raw.hex()
    if tag in _EMPTY_VALUES:
        if raw:
            msg.anomalies.append(("snmp_bad_value", f"{vtype} with {len(raw)} content bytes"))
        return ""
    return "0x" + raw.hex()   # opaque, nsap_address


def _decode_varbinds(r: Reader, msg: _Msg) -> None:
    lst = r.enter(r.expect(0x30, "variable-bindings"))
    while not lst.at_end():
        vb_r = lst.enter(lst.expect(0x30, "VarBind"))
        oid = decode_oid(vb_r.contents(0x06, "VarBind name"))
        vtlv = vb_r.read()
        vtype, value = _decode_value(vb_r, vtlv, msg)
        msg.varbinds.append(Varbind(oid, oid_name(oid), vtype, value))
        if not vb_r.at_end():
            msg.anomalies.append(("snmp_trailing_bytes", "extra bytes after a VarBind value"))


def _decode_pdu(r: Reader, msg: _Msg) -> None:
    at = r.pos
    tlv = r.read()
    ptype = PDU_TYPES.get(tlv.tag)
    if ptype is None and tlv.cls == CONTEXT and tlv.constructed and tlv.number <= 8:
        # [n] written in the high-tag-number form although n < 31 (X.690 8.1.2.4
        # forbids it); receivers such as Wireshark accept it, so do we.
        ptype = PDU_TYPES[0xA0 | tlv.number]
        msg.anomalies.append(("snmp_ber_non_minimal_tag",
                              f"PDU tag [{tlv.number}] in the high-tag-number form"))
    if ptype is None:
        msg.pdu_type = "unknown"
        raise BerError("unknown_pdu", f"PDU tag 0x{tlv.tag:02x} (number {tlv.number})", at)
    msg.pdu_type = ptype
    p = r.enter(tlv)
    if ptype == "trap":
        msg.enterprise = decode_oid(p.value(p.expect(0x06, "enterprise")))
        addr = p.value(p.expect(0x40, "agent-addr"))
        msg.agent_addr = ".".join(map(str, addr)) if len(addr) == 4 else "0x" + addr.hex()
        g = _int(p, "generic-trap")
        msg.generic_trap = GENERIC_TRAPS.get(g, str(g))
        msg.specific_trap = _int(p, "specific-trap")
        msg.time_stamp = decode_unsigned(p.value(p.expect(0x43, "time-stamp")))
    else:
        msg.request_id = _int(p, "request-id")
        a = _int(p, "error-status")
        b = _int(p, "error-index")
        if ptype == "get_bulk_request":
            msg.non_repeaters, msg.max_repetitions = a, b
        else:
            msg.error_status = ERROR_STATUS.get(a, str(a))
            msg.error_index = b
    _decode_varbinds(p, msg)
    if not p.at_end():
        msg.anomalies.append(("snmp_trailing_bytes", "extra bytes after the variable bindings"))


def _decode_v3(r: Reader, msg: _Msg) -> None:
    g = r.enter(r.expect(0x30, "msgGlobalData"))
    msg.msg_id = _int(g, "msgID")
    msg.is_snmp = True
    msg.msg_max_size = _int(g, "msgMaxSize")
    flags = _octets(g, "msgFlags")
    fl = flags[0] if flags else 0
    msg.msg_flags = ",".join(n for bit, n in ((1, "auth"), (2, "priv"), (4, "reportable"))
                             if fl & bit)
    sm = _int(g, "msgSecurityModel")
    msg.security_model = SECURITY_MODELS.get(sm, str(sm))
    sp_tlv = r.expect(0x04, "msgSecurityParameters")
    if sm == 3 and sp_tlv.length:
        try:
            sp = r.enter(sp_tlv)
            u = sp.enter(sp.expect(0x30, "UsmSecurityParameters"))
            msg.engine_id = u.value(u.expect(0x04, "msgAuthoritativeEngineID")).hex()
            msg.engine_boots = _int(u, "msgAuthoritativeEngineBoots")
            msg.engine_time = _int(u, "msgAuthoritativeEngineTime")
            msg.user = _label(_octets(u, "msgUserName"))
            _octets(u, "msgAuthenticationParameters")
            _octets(u, "msgPrivacyParameters")
        except BerError as e:
            msg.anomalies.append((f"snmp_ber_{e.name}", f"USM parameters: {e.detail}"))
    at = r.pos
    data = r.read()
    if data.tag == 0x04:
        msg.encrypted = True
        msg.pdu_type = "encrypted"
        if not fl & 2:
            msg.anomalies.append(("snmp_v3_flags_mismatch",
                                  "encrypted scoped PDU but the priv flag is not set"))
        return
    if data.tag != 0x30:
        raise BerError("unexpected_tag", f"msgData: tag 0x{data.tag:02x}", at)
    if fl & 2:
        msg.anomalies.append(("snmp_v3_flags_mismatch",
                              "plaintext scoped PDU but the priv flag is set"))
    s = r.enter(data)
    msg.context_engine_id = _octets(s, "contextEngineID").hex()
    msg.context_name = _label(_octets(s, "contextName"))
    _decode_pdu(s, msg)


def parse_message(data: bytes, max_depth: int = 64) -> _Msg:
    """Decode one SNMP message; never raises. ``msg.is_snmp`` says whether the
    header looked like SNMP; ``msg.anomalies`` lists ``(name, detail)``."""
    if max_depth >= _PLAIN_DEPTH:
        msg = _Msg()
        try:
            if _parse_plain(data, msg):
                return msg
        except BerError:
            pass
    return _parse_message_ber(data, max_depth)


def _parse_message_ber(data: bytes, max_depth: int) -> _Msg:
    """:func:`parse_message` with a :class:`Reader` per TLV, whatever the message."""
    msg = _Msg()
    try:
        _parse(data, max_depth, msg)
    except BerError as e:
        if e.name == "unknown_pdu":
            msg.anomalies.append(("snmp_unknown_pdu", e.detail))
        else:
            msg.anomalies.append((f"snmp_ber_{e.name}", e.detail))
    return msg


_PLAIN_DEPTH = 4     # the depth of a VarBind's reader in _parse: message, PDU, variable-bindings, VarBind


def _parse_plain(data: bytes, msg: _Msg) -> bool:
    """The usual message in one pass over its octets, without a :class:`Reader` per TLV: SNMPv1 or v2c, a PDU
    other than a v1 trap, every TLV in the low tag number and short length forms (under 128 content octets)
    and filling its parent exactly, values of the known primitive types, nothing for an anomaly. It fills
    ``msg`` as :func:`_parse` would and returns True; anything else returns False (or raises
    :class:`BerError`) and ``msg`` is thrown away: :func:`_parse` decodes the message, with its anomalies."""
    n = len(data)
    # SEQUENCE { version INTEGER (0 or 1, one octet), community OCTET STRING, PDU }
    if n < 9 or data[0] != 0x30 or data[1] >= 0x80 or data[1] + 2 != n or data[2] != 0x02 or data[3] != 1 \
            or data[4] > 1 or data[5] != 0x04 or data[6] >= 0x80:
        return False
    p = 7 + data[6]
    if p + 2 > n:
        return False
    community = data[7:p]
    ptype = PDU_TYPES.get(data[p])
    if ptype is None or ptype == "trap" or data[p + 1] >= 0x80 or p + 2 + data[p + 1] != n:
        return False
    p += 2
    ints = []
    for _ in range(3):      # request-id, error-status (non-repeaters), error-index (max-repetitions)
        if p + 2 > n or data[p] != 0x02 or data[p + 1] >= 0x80:
            return False
        e = p + 2 + data[p + 1]
        if e > n:
            return False
        ints.append(decode_int(data[p + 2:e]))
        p = e
    if p + 2 > n or data[p] != 0x30 or data[p + 1] >= 0x80 or p + 2 + data[p + 1] != n:
        return False
    p += 2
    varbinds = msg.varbinds
    while p < n:            # VarBind: SEQUENCE { name OBJECT IDENTIFIER, value }
        if p + 2 > n or data[p] != 0x30 or data[p + 1] >= 0x80:
            return False
        e = p + 2 + data[p + 1]
        if e > n or p + 4 > e or data[p + 2] != 0x06 or data[p + 3] >= 0x80:
            return False
        v = p + 4 + data[p + 3]
        if v + 2 > e:
            return False
        tag = data[v]
        vtype = _VALUE_TYPES.get(tag)
        if vtype is None or data[v + 1] >= 0x80 or v + 2 + data[v + 1] != e:
            return False
        oid = decode_oid(data[p + 4:v])
        varbinds.append(Varbind(oid, oid_name(oid), vtype, _primitive_text(tag, vtype, data[v + 2:e], msg)))
        p = e
    if msg.anomalies:
        return False
    msg.version = VERSIONS[data[4]]
    msg.community = _label(community)
    msg.is_snmp = True
    msg.pdu_type = ptype
    msg.request_id, a, b = ints
    if ptype == "get_bulk_request":
        msg.non_repeaters, msg.max_repetitions = a, b
    else:
        msg.error_status = ERROR_STATUS.get(a, str(a))
        msg.error_index = b
    return True


def _parse(data: bytes, max_depth: int, msg: _Msg) -> None:
    top = Reader(data, max_depth=max_depth)
    if not data or data[0] != 0x30:
        raise BerError("unexpected_tag", "message does not start with a SEQUENCE", 0)
    try:
        outer = top.read()
        end = outer.vend
    except BerError as e:
        if e.name not in ("length_past_end", "indefinite_length"):
            raise
        # Be lenient on the outermost length only: decode what the datagram holds.
        msg.anomalies.append((f"snmp_ber_{e.name}", f"message header: {e.detail}"))
        hdr = 2 if len(data) > 1 and data[1] <= 0x80 else 2 + (data[1] & 0x7F)
        end = len(data)
        if e.name == "indefinite_length" and data.endswith(b"\x00\x00"):
            end -= 2
        outer = Tlv(0x30, 0, True, 16, 0, min(hdr, len(data)), end)
        top.pos = end
    if outer.vend < len(data):
        msg.anomalies.append(("snmp_trailing_bytes",
                              f"{len(data) - outer.vend} bytes after the message"))
    r = top.enter(outer)
    version = _int(r, "version")
    if version not in VERSIONS:
        raise BerError("unknown_version", f"version {version}", 0)
    msg.version = VERSIONS[version]
    if version == 3:
        _decode_v3(r, msg)
        return
    if version == 2:
        # SNMPv2u (RFC 1910, historic): parameters, then a PDU or encrypted bytes.
        _octets(r, "parameters")
        msg.is_snmp = True
        if r.peek_tag() == 0x04:
            r.read()
            msg.encrypted = True
            msg.pdu_type = "encrypted"
            return
        _decode_pdu(r, msg)
        return
    msg.community = _label(_octets(r, "community"))
    msg.is_snmp = True
    _decode_pdu(r, msg)


_NOTHING_PENDING: Mapping[tuple[str, int], tuple[float, Direction]] = MappingProxyType({})


# ---------------------------------------------------------------- dissector
class SnmpDissector:
    """One instance per UDP flow; both directions, one message per datagram."""
    # one per UDP flow, kept while the flow waits out its idle timeout: no per-instance __dict__
    __slots__ = ("community", "community_answered", "community_ts", "confirmed", "ctx", "display_string",
                 "first_ts", "last_ts", "limits", "more_communities", "n_bulk", "n_get", "n_resp", "n_set",
                 "pending", "pending_capped", "up_since", "version")

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.limits = ctx.limits
        self.confirmed = False
        # unanswered requests; _NOTHING_PENDING (shared, read-only) while there are none, as in most flows
        self.pending: Mapping[tuple[str, int], tuple[float, Direction]] = _NOTHING_PENDING
        self.pending_capped = False
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.version: str | None = None
        self.community: str | None = None
        # variable bindings in get/get-next requests, get-bulk requests, responses, set requests (four slots,
        # not a dict: one instance per open SNMP flow)
        self.n_get = self.n_bulk = self.n_resp = self.n_set = 0
        self.display_string: str | None = None
        self.up_since: float | None = None
        # the communities seen: the first (``community``) in slots, when it was first seen and whether a request
        # using it was answered; any other in ``more_communities``: community -> [first ts, answered]
        self.community_ts: float | None = None
        self.community_answered = False
        self.more_communities: dict[str, list[Any]] | None = None

    # -- contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        out: list[Item] = []
        msg = parse_message(bytes(data), self.limits.max_ber_depth)
        if not msg.is_snmp:
            reason = msg.anomalies[0][1] if msg.anomalies else "not an SNMP message"
            if not self.confirmed:
                out.append(Violation(ts, f"not SNMP: {reason}"))
                return out
            out.append(Anomaly(ts, "snmp_malformed", f"undecodable message: {reason}",
                               direction))
            for name, detail in msg.anomalies[1:]:
                out.append(Anomaly(ts, name, detail, direction))
            return out
        if not self.confirmed:
            self.confirmed = True
            out.append(Confirm(ts))
        for name, detail in msg.anomalies:
            out.append(Anomaly(ts, name, detail, direction))
        out.extend(self._account(direction, msg, ts))
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        return [Anomaly(ts, "snmp_gap", f"{length} bytes missing (SNMP runs over UDP)",
                        direction)]

    def close(self, ts: float) -> list[Item]:
        out: list[Item] = []
        seen = [] if self.community_ts is None else [(self.community, (self.community_ts, self.community_answered))]
        for comm, (first, answered) in seen + list((self.more_communities or {}).items()):
            out.append(Credential(first, protocol="snmp", username="", secret=comm,
                                  kind="community", success=True if answered else None))
        if self.first_ts is not None:
            out.append(SnmpRecord(
                self.first_ts, duration=round((self.last_ts or self.first_ts) - self.first_ts, 6),
                version=self.version or "", community=_shown(self.community),
                get_requests=self.n_get, get_bulk_requests=self.n_bulk, get_responses=self.n_resp,
                set_requests=self.n_set, display_string=self.display_string,
                up_since=self.up_since))
        self.community_ts = None
        self.more_communities = None
        self.first_ts = None
        return out

    # -- bookkeeping
    def _account(self, direction: Direction, msg: _Msg, ts: float) -> list[Item]:
        out: list[Item] = []
        if self.first_ts is None:
            self.first_ts = ts
            self.version = msg.version
        self.last_ts = ts
        if self.community is None and msg.community is not None:
            self.community = sys.intern(msg.community)    # one str for every flow using it (most share a few)
        ptype = msg.pdu_type or ("unknown" if not msg.encrypted else "encrypted")
        nvb = len(msg.varbinds)
        if ptype in ("get_request", "get_next_request"):
            self.n_get += nvb
        elif ptype == "get_bulk_request":
            self.n_bulk += nvb
        elif ptype == "response":
            self.n_resp += nvb
        elif ptype == "set_request":
            self.n_set += nvb
        if ptype in ("response", "trapv2", "inform"):
            for vb in msg.varbinds:
                if vb.oid == "1.3.6.1.2.1.1.1.0" and vb.type == "octet_string":
                    v = vb.value     # an agent's sysDescr, the same in its every flow: one str for all
                    self.display_string = sys.intern(v) if type(v) is str else v
                elif vb.oid == "1.3.6.1.2.1.1.3.0" and vb.type == "timeticks":
                    self.up_since = round(ts - int(vb.value) / 100.0, 6)
        comm = msg.community
        if comm is not None:
            if comm == self.community:
                if self.community_ts is None:
                    self.community_ts = ts
            else:
                more = self.more_communities
                if more is None:
                    more = self.more_communities = {}
                if comm not in more:
                    more[comm] = [ts, False]

        # pairing: v3 by msgID (also covers encrypted PDUs), else request-id
        key: tuple[str, int] | None = None
        if msg.msg_id is not None:
            key = ("m", msg.msg_id)
        elif msg.request_id is not None:
            key = ("r", msg.request_id)
        rtt = None
        is_request = ptype in REQUEST_TYPES
        is_answer = ptype in ANSWER_TYPES
        if msg.encrypted and key is not None:
            # Encrypted: the type is hidden; a known msgID from the other side is an answer.
            pend = self.pending.get(key)
            is_answer = pend is not None and pend[1] != direction
            is_request = not is_answer
        if key is not None and is_answer:
            pend = self.pending.get(key)
            if pend is not None and pend[1] != direction:
                del self.pending[key]   # type: ignore[attr-defined]
                if not self.pending:
                    self.pending = _NOTHING_PENDING    # all answered (a dict keeps its size after deletions)
                rtt = round(ts - pend[0], 6)
                if comm is not None:
                    if comm == self.community:
                        self.community_answered = True
                    elif self.more_communities and comm in self.more_communities:
                        self.more_communities[comm][1] = True
        elif key is not None and is_request:
            if key not in self.pending:
                if self.pending is _NOTHING_PENDING:
                    self.pending = {}
                if len(self.pending) >= self.limits.max_pending_requests:
                    self.pending.pop(next(iter(self.pending)))   # type: ignore[attr-defined]
                    if not self.pending_capped:
                        self.pending_capped = True
                        out.append(Anomaly(ts, "snmp_pending_too_many",
                                           f"more than {self.limits.max_pending_requests} "
                                           "unanswered requests; oldest forgotten", direction))
                self.pending[key] = (ts, direction)   # type: ignore[index]

        vbs = tuple(msg.varbinds)
        version = msg.version or ""
        community = _shown(msg.community)
        # positional, in the fields' order (pinned by tests/dissectors/test_positional_items.py): the
        # calls with 13 and 27 keywords took 2 and 7 µs more
        out.append(SnmpPdu(
            ts, direction, ptype, version, community,                   # pdu_type, version, community
            msg.request_id, msg.msg_id, msg.error_status, msg.error_index,  # request_id ... error_index
            vbs, rtt, msg.encrypted, msg.user,                          # varbinds, rtt, encrypted, user
            msg.generic_trap, msg.enterprise))                          # generic_trap, enterprise
        out.append(SnmpPduRecord(
            ts, direction == ORIG, ptype, version, community,           # is_orig, pdu_type, version, community
            msg.request_id, msg.error_status, msg.error_index,          # request_id, error_status, error_index
            msg.non_repeaters, msg.max_repetitions,                     # non_repeaters, max_repetitions
            [vb.as_dict() for vb in vbs], rtt, msg.enterprise,          # varbinds, rtt, enterprise
            msg.agent_addr, msg.generic_trap,                           # agent_addr, generic_trap
            msg.specific_trap, msg.time_stamp,                          # specific_trap, time_stamp
            msg.msg_id, msg.msg_max_size, msg.msg_flags,                # msg_id, msg_max_size, msg_flags
            msg.security_model, msg.engine_id,                          # security_model, engine_id
            msg.engine_boots, msg.engine_time, msg.user,                # engine_boots, engine_time, user
            msg.context_engine_id, msg.context_name,                    # context_engine_id, context_name
            msg.encrypted))                                             # encrypted
        return out


