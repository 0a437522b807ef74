"""Bounded DNS wire-format parser used by :mod:`dissectors.dns` (sans-IO, stdlib only).

Follows RFC 1035 section 4 (header, question, RR layout, section 4.1.4 name
compression), RFC 3597 (unknown types as ``\\# len hex``), RFC 2782 (SRV),
RFC 3596 (AAAA), RFC 4034 (DS, DNSKEY, RRSIG, NSEC and their presentation
formats), RFC 5155 (NSEC3, NSEC3PARAM), RFC 6891 (OPT pseudo-RR, extended
RCODE, DO bit, options; RFC 7871 client subnet, RFC 7873 cookie, RFC 8914
extended error), RFC 8945 (TSIG), RFC 2930 (TKEY), RFC 8659 (CAA), RFC 4255
(SSHFP), RFC 6698 (TLSA), RFC 2136 (UPDATE reuses the four sections as
zone / prerequisite / update / additional).

Safety: every read is bounds-checked against the message; a name follows at
most ``max_ptrs`` compression pointers (``Limits.max_name_depth``), remembers
the pointer targets it visited (a loop is reported as soon as it repeats),
flags pointers that go forward, refuses label length bytes 0x40-0xBF (labels
over 63 octets / reserved label types) and names over 255 octets. Work is
linear in the message size: every question costs at least 5 bytes and every
RR at least 11, so the loops are bounded by the message length whatever the
header counts say. A failure inside one section stops the parse there but
keeps everything decoded before (header, questions, earlier RRs), with the
failure as an anomaly; a failure inside one RDATA only degrades that RR to the
generic ``\\# len hex`` form.

Names are rendered as tshark does: labels joined by ``.`` without a trailing
dot, the root as ``<Root>``; bytes outside printable ASCII/UTF-8 and the
characters ``.`` and ``\\`` inside a label are escaped RFC 1035 style
(``\\.``, ``\\\\``, ``\\DDD``).
"""
from __future__ import annotations

import base64
import ipaddress
import struct
import time
from types import MappingProxyType
from typing import NamedTuple

_HDR = struct.Struct("!HHHHHH")
_RRH = struct.Struct("!HHIH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")
_QT = struct.Struct("!HH")

ROOT = "<Root>"

# ------------------------------------------------------------------ constant tables
TYPE_NAMES = MappingProxyType({
    1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR",
    10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 14: "MINFO", 15: "MX", 16: "TXT",
    17: "RP", 18: "AFSDB", 21: "RT", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC",
    33: "SRV", 35: "NAPTR", 36: "KX", 37: "CERT", 39: "DNAME", 41: "OPT", 42: "APL",
    43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY",
    49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM", 52: "TLSA", 53: "SMIMEA", 55: "HIP",
    59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC", 63: "ZONEMD", 64: "SVCB",
    65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
    253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI", 257: "CAA", 32768: "TA",
    32769: "DLV",
})

CLASS_NAMES = MappingProxyType({1: "IN", 2: "CS", 3: "CH", 4: "HS", 254: "NONE", 255: "ANY"})

EDNS_OPTION_NAMES = MappingProxyType({
    1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS", 9: "EXPIRE",
    10: "COOKIE", 11: "TCP-KEEPALIVE", 12: "PADDING", 13: "CHAIN", 14: "KEY-TAG",
    15: "EDE", 16: "CLIENT-TAG", 17: "SERVER-TAG",
})

# RFC 4034 appendix A.1 / Zeek's consts.zeek names for DNSSEC algorithms and digests
ALGORITHM_NAMES = MappingProxyType({
    0: "reserved0", 1: "RSA_MD5", 2: "Diffie_Hellman", 3: "DSA_SHA1", 4: "Elliptic_Curve",
    5: "RSA_SHA1", 6: "DSA_NSEC3_SHA1", 7: "RSA_SHA1_NSEC3_SHA1", 8: "RSA_SHA256",
    10: "RSA_SHA512", 12: "GOST_R_34_10_2001", 13: "ECDSA_curveP256withSHA256",
    14: "ECDSA_curveP384withSHA384", 15: "Ed25519", 16: "Ed448", 252: "Indirect",
    253: "PrivateDNS", 254: "PrivateOID", 255: "reserved255",
})
DIGEST_NAMES = MappingProxyType({0: "reserved0", 1: "SHA1", 2: "SHA256",
                                 3: "GOST_R_34_11_94", 4: "SHA384"})

TSIG_ERRORS = MappingProxyType({0: "NOERROR", 16: "BADSIG", 17: "BADKEY", 18: "BADTIME",
                                19: "BADMODE", 20: "BADNAME", 21: "BADALG",
                                22: "BADTRUNC", 23: "BADCOOKIE"})


def type_name(t: int) -> str:
    return TYPE_NAMES.get(t) or f"TYPE{t}"


def class_name(c: int) -> str:
    return CLASS_NAMES.get(c) or f"CLASS{c}"


# ------------------------------------------------------------------ result types
class Stop(Exception):
    """Internal: abort the current section (never escapes :func:`parse_message`)."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(name, detail)
        self.name = name
        self.detail = detail


class RR(NamedTuple):
    name: str
    rtype: int
    rclass: int
    ttl: int
    data: str          # RFC / tshark-style presentation of the RDATA
    zeek: str          # Zeek dns.log rendering (``answers`` column)

    def detail(self) -> dict:
        return {"name": self.name, "type": type_name(self.rtype),
                "class": class_name(self.rclass), "ttl": self.ttl, "data": self.data}

    def text(self) -> str:
        return f"{type_name(self.rtype)} {self.data}"


class Question(NamedTuple):
    name: str
    qtype: int
    qclass: int


class Edns(NamedTuple):
    udp_size: int
    ext_rcode: int
    version: int
    do: bool
    z: int
    options: tuple          # of (code, name, text)
    ecs: str                # "1.2.3.0/24/0" or ""


class Message:
    """One decoded DNS message; ``anomalies`` lists ``(name, detail)`` pairs."""

    __slots__ = ("length", "id", "flags", "qr", "opcode", "aa", "tc", "rd", "ra", "z",
                 "ad", "cd", "rcode", "qdcount", "ancount", "nscount", "arcount",
                 "questions", "answers", "authority", "additional", "edns", "tsig",
                 "anomalies", "complete", "header_ok")

    def __init__(self, length: int) -> None:
        self.length = length
        self.id = self.flags = 0
        self.qr = self.aa = self.tc = self.rd = self.ra = self.ad = self.cd = False
        self.opcode = self.z = self.rcode = 0
        self.qdcount = self.ancount = self.nscount = self.arcount = 0
        self.questions: list[Question] = []
        self.answers: list[RR] = []
        self.authority: list[RR] = []
        self.additional: list[RR] = []
        self.edns: Edns | None = None
        self.tsig: RR | None = None
        self.anomalies: list[tuple[str, str]] = []
        self.complete = False
        self.header_ok = False

    @property
    def full_rcode(self) -> int:
        """RCODE including the 8 upper bits carried in OPT (RFC 6891 section 6.1.3)."""
        if self.edns is not None:
            return (self.edns.ext_rcode << 4) | self.rcode
        return self.rcode

    @property
    def question(self) -> Question | None:
        return self.questions[0] if self.questions else None


# ------------------------------------------------------------------ names
_SAFE = bytes(range(0x21, 0x7F)).replace(b".", b"").replace(b"\\", b"")
_SAFE_DOT = _SAFE + b"."


def _label_text(lab: bytes) -> str:
    if not lab.translate(None, _SAFE):
        return lab.decode("ascii")
    try:
        s = lab.decode("utf-8")
    except UnicodeDecodeError:
        s = None
    if s is not None and s.isprintable():
        return s.replace("\\", "\\\\").replace(".", "\\.")
    out = []
    for b in lab:  # rare path: binary labels (bounded by 63 bytes)
        if b == 0x2E:
            out.append("\\.")
        elif b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return "".join(out)


def read_name(buf: bytes, off: int, max_ptrs: int, warns: list,
              names: dict[int, tuple[str, int]] | None = None) -> tuple[str, int]:
    """Decode the (possibly compressed) name at ``off``; return ``(text, next_offset)``.

    Raises :class:`Stop` on truncation, bad pointer, loop, depth cap, label type
    0x40/0x80 or a name over 255 octets. A forward pointer is followed but noted
    in ``warns``.

    ``names`` (one message's, optional) maps the offset of a name already decoded
    there without any pointer to ``(text, octets of its labels)``: a pointer to such
    an offset (most answers point at the question's name) ends the walk with that
    text, after the same checks on the pointer. Names are rendered label by label,
    so the text of a name is its labels' texts joined by ``.`` whichever way it is
    reached. A name decoded at ``off`` without pointers is added to ``names``.
    """
    n = len(buf)
    labels: list[bytes] = []
    total = 1
    pos = off
    end = -1
    ptrs = 0
    visited: set[int] | None = None
    while True:
        if pos >= n:
            raise Stop("dns_name_truncated", f"name at offset {off} runs past the end of the message")
        ln = buf[pos]
        if ln == 0:
            pos += 1
            break
        kind = ln & 0xC0
        if kind == 0xC0:
            if pos + 1 >= n:
                raise Stop("dns_name_truncated", f"compression pointer at offset {pos} is cut short")
            target = ((ln & 0x3F) << 8) | buf[pos + 1]
            if end < 0:
                end = pos + 2
            ptrs += 1
            if ptrs > max_ptrs:
                raise Stop("dns_name_too_deep",
                           f"name at offset {off} follows more than {max_ptrs} compression pointers")
            if target >= n:
                raise Stop("dns_name_bad_pointer",
                           f"compression pointer at offset {pos} targets {target}, past the end ({n})")
            if visited is None:
                visited = set()
            if target in visited:
                raise Stop("dns_name_compression_loop",
                           f"compression pointer at offset {pos} loops back to offset {target}")
            visited.add(target)
            if target > pos:
                warns.append(("dns_name_forward_pointer",
                              f"compression pointer at offset {pos} points forward to offset {target}"))
            known = names.get(target) if names else None
            if known is not None:
                # the rest of the name was decoded there, label by label and without a pointer: the
                # walk would meet no pointer, so only the 255-octet cap is left to check
                total += known[1]
                if total > 255:
                    raise Stop("dns_name_too_long", f"name at offset {off} is longer than 255 octets")
                if not labels:
                    return known[0], end
                return _labels_text(labels) + "." + known[0], end
            pos = target
            continue
        if kind:
            raise Stop("dns_label_too_long",
                       f"label length byte 0x{ln:02x} at offset {pos} is over 63 (reserved label type)")
        total += ln + 1
        if total > 255:
            raise Stop("dns_name_too_long", f"name at offset {off} is longer than 255 octets")
        if pos + 1 + ln > n:
            raise Stop("dns_name_truncated", f"label at offset {pos} runs past the end of the message")
        labels.append(buf[pos + 1:pos + 1 + ln])
        pos += 1 + ln
    if not labels:
        return ROOT, (end if end >= 0 else pos)
    text = _labels_text(labels)
    if end < 0:
        if names is not None:
            names[off] = (text, total - 1)
        return text, pos
    return text, end


def _labels_text(labels: list[bytes]) -> str:
    """The text of a name's labels (at least one), joined by ``.``."""
    text = b".".join(labels)
    if text.translate(None, _SAFE_DOT) or text.count(b".") >= len(labels):
        # a byte to escape somewhere (a dot inside a label among them): label by label
        return ".".join(map(_label_text, labels))
    return text.decode("ascii")


# ------------------------------------------------------------------ rdata helpers
def _charstrings(buf: bytes, pos: int, end: int) -> list[bytes]:
    out = []
    while pos < end:
        ln = buf[pos]
        if pos + 1 + ln > end:
            raise Stop("dns_rdata_malformed", "character-string runs past the RDATA")
        out.append(buf[pos + 1:pos + 1 + ln])
        pos += 1 + ln
    return out


def _escape_text(b: bytes) -> str:
    if not b.translate(None, _SAFE_TXT):
        return b.decode("ascii")
    out = []
    for c in b:
        if c == 0x22 or c == 0x5C:
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append("\\%03d" % c)
    return "".join(out)


_SAFE_TXT = bytes(range(0x20, 0x7F)).replace(b'"', b"").replace(b"\\", b"")


def _quoted(b: bytes) -> str:
    return '"' + _escape_text(b) + '"'


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _hex(b: bytes) -> str:
    return b.hex().upper()


def _bitmap(buf: bytes, pos: int, end: int) -> str:
    types = []
    while pos < end:
        if pos + 2 > end:
            raise Stop("dns_rdata_malformed", "type bitmap window header cut short")
        window, ln = buf[pos], buf[pos + 1]
        if ln == 0 or ln > 32 or pos + 2 + ln > end:
            raise Stop("dns_rdata_malformed", "type bitmap window length invalid")
        for i in range(ln):
            byte = buf[pos + 2 + i]
            if byte:
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        types.append(type_name(window * 256 + i * 8 + bit))
        pos += 2 + ln
    return " ".join(types)


def _ts(t: int) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(t))


def _name_in(buf: bytes, pos: int, end: int, max_ptrs: int, warns: list) -> tuple[str, int]:
    name, nxt = read_name(buf, pos, max_ptrs, warns)
    if nxt > end:
        raise Stop("dns_rdata_malformed", "name runs past the RDATA")
    return name, nxt


def _need(pos: int, k: int, end: int) -> None:
    if pos + k > end:
        raise Stop("dns_rdata_malformed", "RDATA shorter than its type requires")


def _ecs_text(data: bytes) -> str:
    if len(data) < 4:
        raise ValueError("short ECS")
    family, src, scope = _U16.unpack_from(data, 0)[0], data[2], data[3]
    addr = data[4:]
    if family == 1 and len(addr) <= 4:
        a = str(ipaddress.IPv4Address(addr.ljust(4, b"\0")))
    elif family == 2 and len(addr) <= 16:
        a = str(ipaddress.IPv6Address(addr.ljust(16, b"\0")))
    else:
        a = "family%d:%s" % (family, addr.hex())
    return f"{a}/{src}/{scope}"


def _option_text(code: int, data: bytes) -> str:
    try:
        if code == 8:
            return _ecs_text(data)
        if code == 10:
            if len(data) < 8:
                return data.hex()
            return f"client={data[:8].hex()}" + (f" server={data[8:].hex()}" if len(data) > 8 else "")
        if code == 15 and len(data) >= 2:
            info = _U16.unpack_from(data, 0)[0]
            return f"{info} {_quoted(data[2:])}" if len(data) > 2 else str(info)
        if code == 11 and len(data) == 2:
            return f"timeout={_U16.unpack_from(data, 0)[0] / 10:g}s"
        if code == 12:
            return f"{len(data)} bytes"
        if code == 3:
            txt = data.decode("ascii", "replace") if data else ""
            return data.hex() + (f" ({_escape_text(data)})" if data and txt.isprintable() else "")
    except (ValueError, struct.error):
        pass
    return data.hex()


# ------------------------------------------------------------------ RDATA rendering
def _rdata(buf: bytes, pos: int, end: int, rtype: int, max_ptrs: int,
           warns: list) -> tuple[str, str]:
    """Return (presentation, zeek) for the RDATA ``buf[pos:end]``; raise Stop when malformed."""
    rd = buf[pos:end]
    ln = end - pos
    if rtype == 1:
        if ln != 4:
            raise Stop("dns_rdata_malformed", f"A record of {ln} bytes")
        s = "%d.%d.%d.%d" % (rd[0], rd[1], rd[2], rd[3])
        return s, s
    if rtype == 28:
        if ln != 16:
            raise Stop("dns_rdata_malformed", f"AAAA record of {ln} bytes")
        s = str(ipaddress.IPv6Address(rd))
        return s, s
    if rtype in (2, 5, 12, 39, 3, 4, 7, 8, 9):
        name, nxt = _name_in(buf, pos, end, max_ptrs, warns)
        if nxt != end:
            warns.append(("dns_rdata_trailing", f"{type_name(rtype)} RDATA has {end - nxt} extra bytes"))
        return name, name
    if rtype in (15, 18, 21, 36):
        _need(pos, 3, end)
        pref = _U16.unpack_from(buf, pos)[0]
        name, _ = _name_in(buf, pos + 2, end, max_ptrs, warns)
        return f"{pref} {name}", name
    if rtype == 6:
        mname, p = _name_in(buf, pos, end, max_ptrs, warns)
        rname, p = _name_in(buf, p, end, max_ptrs, warns)
        _need(p, 20, end)
        vals = struct.unpack_from("!IIIII", buf, p)
        return f"{mname} {rname} " + " ".join(map(str, vals)), mname
    if rtype in (16, 99):
        strs = _charstrings(buf, pos, end)
        pres = " ".join(_quoted(s) for s in strs)
        tag = "TXT" if rtype == 16 else "SPF"
        return pres, " ".join(f"{tag} {len(s)} {_escape_text(s)}" for s in strs)
    if rtype == 13:
        strs = _charstrings(buf, pos, end)
        s = " ".join(_quoted(x) for x in strs)
        return s, s
    if rtype == 33:
        _need(pos, 7, end)
        prio, weight, port = struct.unpack_from("!HHH", buf, pos)
        target, _ = _name_in(buf, pos + 6, end, max_ptrs, warns)
        return f"{prio} {weight} {port} {target}", target
    if rtype == 257:
        _need(pos, 2, end)
        flags, tl = rd[0], rd[1]
        _need(pos + 2, tl, end)
        tag = rd[2:2 + tl]
        s = f"{flags} {_escape_text(tag)} {_quoted(rd[2 + tl:])}"
        return s, s
    if rtype in (43, 59, 32769):
        _need(pos, 4, end)
        keytag, alg, dt = struct.unpack_from("!HBB", buf, pos)
        return (f"{keytag} {alg} {dt} {_hex(rd[4:])}",
                f"DS {ALGORITHM_NAMES.get(alg, f'algorithm-{alg}')} {DIGEST_NAMES.get(dt, f'digest-{dt}')}")
    if rtype in (48, 60, 25):
        _need(pos, 4, end)
        flags, proto, alg = struct.unpack_from("!HBB", buf, pos)
        return (f"{flags} {proto} {alg} {_b64(rd[4:])}",
                f"DNSKEY {ALGORITHM_NAMES.get(alg, f'algorithm-{alg}')}")
    if rtype in (46, 24):
        _need(pos, 18, end)
        covered, alg, labels, ottl, exp, inc, keytag = struct.unpack_from("!HBBIIIH", buf, pos)
        signer, p = _name_in(buf, pos + 18, end, max_ptrs, warns)
        return (f"{type_name(covered)} {alg} {labels} {ottl} {_ts(exp)} {_ts(inc)} {keytag} "
                f"{signer} {_b64(buf[p:end])}", f"RRSIG {covered} {signer}")
    if rtype == 47:
        nxt_name, p = _name_in(buf, pos, end, max_ptrs, warns)
        bm = _bitmap(buf, p, end)
        return f"{nxt_name} {bm}".rstrip(), f"NSEC {{owner}} {nxt_name}"
    if rtype in (50, 51):
        _need(pos, 5, end)
        halg, flags, iters, slen = struct.unpack_from("!BBHB", buf, pos)
        _need(pos + 5, slen, end)
        salt = rd[5:5 + slen].hex().upper() or "-"
        if rtype == 51:
            return f"{halg} {flags} {iters} {salt}", "NSEC3PARAM"
        p = pos + 5 + slen
        _need(p, 1, end)
        hl = buf[p]
        _need(p + 1, hl, end)
        nh = base64.b32hexencode(buf[p + 1:p + 1 + hl]).decode("ascii").rstrip("=")
        bm = _bitmap(buf, p + 1 + hl, end)
        return f"{halg} {flags} {iters} {salt} {nh} {bm}".rstrip(), "NSEC3"
    if rtype == 44:
        _need(pos, 2, end)
        return f"{rd[0]} {rd[1]} {_hex(rd[2:])}", f"SSHFP: {rd[2:].hex()}"
    if rtype in (52, 53):
        _need(pos, 3, end)
        s = f"{rd[0]} {rd[1]} {rd[2]} {_hex(rd[3:])}"
        return s, s
    if rtype == 250:
        alg, p = _name_in(buf, pos, end, max_ptrs, warns)
        _need(p, 10, end)
        hi, lo, fudge, macsize = struct.unpack_from("!HIHH", buf, p)
        p += 10
        _need(p, macsize + 6, end)
        mac = buf[p:p + macsize]
        p += macsize
        orig, err, olen = struct.unpack_from("!HHH", buf, p)
        _need(p + 6, olen, end)
        s = (f"{alg} {(hi << 32) | lo} {fudge} {macsize} {_b64(mac)} {orig} "
             f"{TSIG_ERRORS.get(err, err)} {olen}")
        return s, s
    if rtype == 249:
        alg, p = _name_in(buf, pos, end, max_ptrs, warns)
        _need(p, 16, end)
        inc, exp, mode, err, ksize = struct.unpack_from("!IIHHH", buf, p)
        p += 14
        _need(p, ksize + 2, end)
        key = buf[p:p + ksize]
        p += ksize
        olen = _U16.unpack_from(buf, p)[0]
        _need(p + 2, olen, end)
        s = (f"{alg} {_ts(inc)} {_ts(exp)} {mode} {TSIG_ERRORS.get(err, err)} {ksize} "
             f"{_b64(key)}").rstrip()
        return s, s
    s = f"\\# {ln} {rd.hex()}" if ln else "\\# 0"
    return s, s


def _generic(rd: bytes) -> str:
    return f"\\# {len(rd)} {rd.hex()}" if rd else "\\# 0"


# ------------------------------------------------------------------ message
def parse_header(buf: bytes, msg: Message) -> bool:
    if len(buf) < 12:
        msg.anomalies.append(("dns_message_truncated",
                              f"message of {len(buf)} bytes is shorter than the 12-byte header"))
        return False
    (msg.id, flags, msg.qdcount, msg.ancount, msg.nscount, msg.arcount) = _HDR.unpack_from(buf, 0)
    msg.flags = flags
    msg.qr = bool(flags & 0x8000)
    msg.opcode = (flags >> 11) & 0xF
    msg.aa = bool(flags & 0x0400)
    msg.tc = bool(flags & 0x0200)
    msg.rd = bool(flags & 0x0100)
    msg.ra = bool(flags & 0x0080)
    msg.z = (flags >> 4) & 0x7          # Zeek's 3-bit Z (includes AD and CD)
    msg.ad = bool(flags & 0x0020)
    msg.cd = bool(flags & 0x0010)
    msg.rcode = flags & 0xF
    msg.header_ok = True
    return True


def parse_message(buf: bytes, max_ptrs: int = 128, max_rrs: int = 100_000) -> Message:
    """Decode one DNS message (no TCP length prefix). Never raises."""
    msg = Message(len(buf))
    if not parse_header(buf, msg):
        return msg
    warns = msg.anomalies
    n = len(buf)
    pos = 12
    if msg.qdcount * 5 + (msg.ancount + msg.nscount + msg.arcount) * 11 > n - 12:
        warns.append(("dns_counts_exceed_message",
                      f"header counts qd={msg.qdcount} an={msg.ancount} ns={msg.nscount} "
                      f"ar={msg.arcount} cannot fit in {n} bytes"))
    section = "question"
    names: dict[int, tuple[str, int]] = {}     # offset -> (text, octets) of pointer-free names
    try:
        for _ in range(msg.qdcount):
            name, pos = read_name(buf, pos, max_ptrs, warns, names)
            if pos + 4 > n:
                raise Stop("dns_question_truncated", "question type/class cut short")
            qt, qc = _QT.unpack_from(buf, pos)
            pos += 4
            msg.questions.append(Question(name, qt, qc))
        total = 0
        for section, count, dest in (("answer", msg.ancount, msg.answers),
                                     ("authority", msg.nscount, msg.authority),
                                     ("additional", msg.arcount, msg.additional)):
            for _ in range(count):
                total += 1
                if total > max_rrs:
                    raise Stop("dns_records_too_many", f"more than {max_rrs} records in one message")
                name, pos = read_name(buf, pos, max_ptrs, warns, names)
                if pos + 10 > n:
                    raise Stop("dns_rr_truncated", f"{section} record header cut short at offset {pos}")
                rtype, rclass, ttl, rdlen = _RRH.unpack_from(buf, pos)
                pos += 10
                end = pos + rdlen
                if end > n:
                    raise Stop("dns_rdata_truncated",
                               f"{section} {type_name(rtype)} RDATA of {rdlen} bytes runs past the end")
                if rtype == 41:
                    _opt(buf, pos, end, name, rclass, ttl, section, msg)
                    pos = end
                    continue
                try:
                    if rdlen == 0 and rclass in (254, 255):
                        raise Stop("", "")      # RFC 2136 2.4/2.5: empty RDATA in updates
                    data, zeek = _rdata(buf, pos, end, rtype, max_ptrs, warns)
                except Stop as e:
                    if e.name:
                        warns.append(("dns_rdata_malformed",
                                      f"{section} {type_name(rtype)} {name}: {e.detail}"))
                    data = zeek = _generic(buf[pos:end])
                except (struct.error, IndexError, ValueError, OSError) as e:
                    warns.append(("dns_rdata_malformed", f"{section} {type_name(rtype)} {name}: {e}"))
                    data = zeek = _generic(buf[pos:end])
                pos = end
                if rtype == 47:
                    zeek = zeek.replace("{owner}", name)
                rr = RR(name, rtype, rclass, ttl, data, zeek)
                if rtype == 250:
                    if section != "additional":
                        warns.append(("dns_tsig_misplaced", f"TSIG record in the {section} section"))
                    msg.tsig = rr
                dest.append(rr)
        msg.complete = True
        if pos < n:
            warns.append(("dns_trailing_bytes", f"{n - pos} bytes after the last record"))
    except Stop as e:
        warns.append((e.name, f"{section} section: {e.detail}"))
    return msg


def _opt(buf: bytes, pos: int, end: int, name: str, rclass: int, ttl: int,
         section: str, msg: Message) -> None:
    warns = msg.anomalies
    if section != "additional":
        warns.append(("dns_opt_misplaced", f"OPT record in the {section} section"))
    if name != ROOT:
        warns.append(("dns_opt_bad_owner", f"OPT record owned by {name!r}, not the root"))
    if msg.edns is not None:
        warns.append(("dns_opt_duplicate", "more than one OPT record (RFC 6891 section 6.1.1)"))
        return
    opts = []
    ecs = ""
    p = pos
    while p < end:
        if p + 4 > end:
            warns.append(("dns_opt_malformed", "EDNS option header cut short"))
            break
        code, olen = struct.unpack_from("!HH", buf, p)
        if p + 4 + olen > end:
            warns.append(("dns_opt_malformed", f"EDNS option {code} runs past the OPT RDATA"))
            break
        data = buf[p + 4:p + 4 + olen]
        text = _option_text(code, data)
        if code == 8 and not ecs:
            ecs = text
        opts.append((code, EDNS_OPTION_NAMES.get(code, f"OPT{code}"), text))
        p += 4 + olen
    msg.edns = Edns(udp_size=rclass, ext_rcode=(ttl >> 24) & 0xFF, version=(ttl >> 16) & 0xFF,
                    do=bool(ttl & 0x8000), z=ttl & 0x7FFF, options=tuple(opts), ecs=ecs)


def plausible_header(buf: bytes, off: int = 0, strict: bool = False,
                     msglen: int | None = None) -> bool:
    """Sanity check of a header at ``off`` (probes and TCP resync).

    Lenient: a known opcode (QUERY, STATUS, NOTIFY, UPDATE, DSO). Strict adds:
    the reserved Z bit clear (RFC 6895 section 2.1), at most 16 questions, counts
    that fit in the bytes present, and for a standard query no RCODE and no
    authority records."""
    if len(buf) - off < 12:
        return False
    ident, flags, qd, an, ns, ar = _HDR.unpack_from(buf, off)
    opcode = (flags >> 11) & 0xF
    if opcode not in (0, 2, 4, 5, 6) or qd > 4096:
        return False
    if not strict:
        return True
    if flags & 0x0040 or qd > 16:
        return False
    if msglen is None:
        msglen = len(buf) - off
    if qd * 5 + (an + ns + ar) * 11 > msglen - 12:
        return False
    if not flags & 0x8000 and opcode == 0 and (flags & 0x000F or ns > 0 and an == 0):
        return False
    return True
