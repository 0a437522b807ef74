"""A small, bounded BER reader (ITU-T X.690 section 8) for SNMP.

What it does: reads one TLV at a time from a byte string inside explicit
``[pos, end)`` bounds (:class:`Reader`), decodes the primitive values SNMP
uses (INTEGER and its unsigned application types, OBJECT IDENTIFIER) and can
walk a whole nested structure iteratively (:func:`walk`) with a depth cap.

X.690 sections followed: 8.1.2 identifier octets (low and high tag number
forms), 8.1.3 length octets (short, long, indefinite), 8.3 INTEGER (two's
complement), 8.19 OBJECT IDENTIFIER (base-128 sub-identifiers, first two arcs
packed as ``40*x + y``).

Limits and policy (SNMP is BER restricted to definite lengths, RFC 3417
section 8):

* a length that runs past its enclosing bound → ``BerError("length_past_end")``;
* the indefinite length form (0x80) → ``BerError("indefinite_length")``;
* more than 8 length octets, or the reserved 0xFF → ``BerError("bad_length")``;
* high tag numbers longer than 4 octets → ``BerError("tag_too_long")``;
* nesting deeper than ``max_depth`` → ``BerError("too_deep")``;
* INTEGER contents over 32 octets → ``BerError("integer_too_long")``
  (Python would happily build the number, but printing it is quadratic);
* OBJECT IDENTIFIERs over 1024 arcs or with an arc over 10 octets →
  ``BerError("oid_too_long")``.

:class:`BerError` is internal: callers (the SNMP dissector) catch it and turn
it into an anomaly. Nothing here recurses, so hostile nesting cannot exhaust
the Python stack. No global state.
"""
from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BerError", "Tlv", "Reader", "walk", "decode_int", "decode_unsigned",
    "decode_oid", "UNIVERSAL", "APPLICATION", "CONTEXT", "PRIVATE",
]

UNIVERSAL, APPLICATION, CONTEXT, PRIVATE = 0, 1, 2, 3

MAX_INT_OCTETS = 32
MAX_OID_ARCS = 1024
MAX_ARC_OCTETS = 10


class BerError(Exception):
    """Malformed or over-limit BER. ``name`` is a stable snake_case reason."""

    def __init__(self, name: str, detail: str = "", offset: int = 0) -> None:
        super().__init__(f"{name}: {detail} (offset {offset})")
        self.name = name
        self.detail = detail
        self.offset = offset


class Tlv(NamedTuple):
    """One decoded header (immutable; a named tuple, cheaper to make than a frozen
    dataclass: one is made per TLV read). ``tag`` is the first identifier octet
    (e.g. 0x30, 0x02, 0xA2); for high tag numbers it is that octet too (low bits
    0x1F) and ``number`` holds the real tag number. ``vstart:vend`` are the content
    bounds within the reader's data."""

    tag: int
    cls: int
    constructed: bool
    number: int
    start: int
    vstart: int
    vend: int

    @property
    def length(self) -> int:
        return self.vend - self.vstart


class Reader:
    """A cursor over ``data[pos:end]`` that never reads outside its bounds."""

    __slots__ = ("data", "pos", "end", "depth", "max_depth")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None,
                 depth: int = 0, max_depth: int = 64) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else min(end, len(data))
        self.depth = depth
        self.max_depth = max_depth

    def at_end(self) -> bool:
        return self.pos >= self.end

    def remaining(self) -> int:
        return max(0, self.end - self.pos)

    def peek_tag(self) -> int | None:
        return self.data[self.pos] if self.pos < self.end else None

    def read(self) -> Tlv:
        """Read the next TLV header and skip over its contents."""
        data, pos, end = self.data, self.pos, self.end
        if pos + 1 < end:
            # the common case: a low tag number, the short length form, contents inside the bounds
            ident = data[pos]
            length = data[pos + 1]
            vend = pos + 2 + length
            if ident & 0x1F != 0x1F and length < 0x80 and vend <= end:
                self.pos = vend
                return _tlv(Tlv, (ident, ident >> 6, bool(ident & 0x20), ident & 0x1F, pos, pos + 2, vend))
        return self._read_long()

    def _read_long(self) -> Tlv:
        """:meth:`read` for the other forms (high tag numbers, long lengths) and every error."""
        data, pos, end = self.data, self.pos, self.end
        start = pos
        if pos >= end:
            raise BerError("truncated", "no identifier octet", pos)
        ident = data[pos]
        pos += 1
        cls = ident >> 6
        constructed = bool(ident & 0x20)
        number = ident & 0x1F
        if number == 0x1F:
            number = 0
            for i in range(5):
                if pos >= end:
                    raise BerError("truncated", "high tag number cut short", pos)
                b = data[pos]
                pos += 1
                number = (number << 7) | (b & 0x7F)
                if not b & 0x80:
                    break
                if i == 3:
                    raise BerError("tag_too_long", "tag number over 4 octets", start)
        if pos >= end:
            raise BerError("truncated", "no length octet", pos)
        first = data[pos]
        pos += 1
        if first < 0x80:
            length = first
        elif first == 0x80:
            raise BerError("indefinite_length",
                           "indefinite length form (not allowed in SNMP)", pos - 1)
        elif first == 0xFF:
            raise BerError("bad_length", "reserved length octet 0xFF", pos - 1)
        else:
            n = first & 0x7F
            if n > 8:
                raise BerError("bad_length", f"{n} length octets", pos - 1)
            if pos + n > end:
                raise BerError("truncated", "length octets cut short", pos)
            length = int.from_bytes(data[pos:pos + n], "big")
            pos += n
        if length > end - pos:
            raise BerError("length_past_end",
                           f"length {length} but only {end - pos} bytes left", start)
        self.pos = pos + length
        return Tlv(ident, cls, constructed, number, start, pos, pos + length)

    def expect(self, tag: int, what: str) -> Tlv:
        """Read a TLV and check its identifier octet."""
        at = self.pos
        tlv = self.read()
        if tlv.tag != tag:
            raise BerError("unexpected_tag",
                           f"{what}: expected tag 0x{tag:02x}, got 0x{tlv.tag:02x}", at)
        return tlv

    def contents(self, tag: int, what: str) -> bytes:
        """The contents of the next TLV, which must have identifier octet ``tag`` (a primitive
        value: ``value(expect(tag, what))`` in one step)."""
        data, pos = self.data, self.pos
        if pos + 1 < self.end and data[pos] == tag:
            length = data[pos + 1]
            vend = pos + 2 + length
            if length < 0x80 and vend <= self.end and tag & 0x1F != 0x1F:
                self.pos = vend
                return bytes(data[pos + 2:vend])
        tlv = self.expect(tag, what)
        return bytes(data[tlv.vstart:tlv.vend])

    def enter(self, tlv: Tlv) -> "Reader":
        """A reader over ``tlv``'s contents, one level deeper."""
        if self.depth + 1 > self.max_depth:
            raise BerError("too_deep", f"nesting deeper than {self.max_depth}", tlv.start)
        return Reader(self.data, tlv.vstart, tlv.vend, self.depth + 1, self.max_depth)

    def value(self, tlv: Tlv) -> bytes:
        return bytes(self.data[tlv.vstart:tlv.vend])


_tlv = tuple.__new__      # _tlv(Tlv, fields): a Tlv without the keyword handling of Tlv(...)


def walk(data: bytes, max_depth: int = 64, max_items: int = 100_000) -> int:
    """Check that ``data`` is a well-formed sequence of TLVs, descending into
    constructed ones iteratively. Returns the number of TLVs; raises
    :class:`BerError` (``too_deep`` past ``max_depth``, ``too_many`` past
    ``max_items``)."""
    stack = [Reader(data, max_depth=max_depth)]
    count = 0
    while stack:
        r = stack[-1]
        if r.at_end():
            stack.pop()
            continue
        tlv = r.read()
        count += 1
        if count > max_items:
            raise BerError("too_many", f"more than {max_items} elements", tlv.start)
        if tlv.constructed and tlv.length:
            stack.append(r.enter(tlv))
    return count


def decode_int(content: bytes) -> int:
    """A two's-complement INTEGER (X.690 8.3)."""
    if not content:
        raise BerError("empty_integer", "INTEGER with no content octets")
    if len(content) > MAX_INT_OCTETS:
        raise BerError("integer_too_long", f"{len(content)} content octets")
    return int.from_bytes(content, "big", signed=True)


def decode_unsigned(content: bytes) -> int:
    """Counter32/Gauge32/TimeTicks/Counter64: non-negative by definition, so a
    missing leading zero octet is read as unsigned (as receivers commonly do)."""
    if not content:
        raise BerError("empty_integer", "unsigned value with no content octets")
    if len(content) > MAX_INT_OCTETS:
        raise BerError("integer_too_long", f"{len(content)} content octets")
    return int.from_bytes(content, "big", signed=False)


def decode_oid(content: bytes) -> str:
    """Dotted OBJECT IDENTIFIER (X.690 8.19)."""
    if not content:
        raise BerError("bad_oid", "OBJECT IDENTIFIER with no content octets")
    if content[-1] & 0x80:
        raise BerError("bad_oid", "last sub-identifier octet has the continuation bit")
    if max(content) < 0x80:         # every arc in one octet (the usual OID): the octets are the arcs
        if len(content) > MAX_OID_ARCS:
            raise BerError("oid_too_long", f"more than {MAX_OID_ARCS} arcs")
        first = content[0]
        head = f"0.{first}" if first < 40 else f"1.{first - 40}" if first < 80 else f"2.{first - 80}"
        return head + "." + ".".join(map(str, content[1:])) if len(content) > 1 else head
    arcs: list[int] = []
    val = 0
    nbytes = 0
    for b in content:
        val = (val << 7) | (b & 0x7F)
        nbytes += 1
        if nbytes > MAX_ARC_OCTETS:
            raise BerError("oid_too_long", f"sub-identifier over {MAX_ARC_OCTETS} octets")
        if not b & 0x80:
            arcs.append(val)
            val = 0
            nbytes = 0
            if len(arcs) > MAX_OID_ARCS:
                raise BerError("oid_too_long", f"more than {MAX_OID_ARCS} arcs")
    first = arcs[0]
    if first < 40:
        head = [0, first]
    elif first < 80:
        head = [1, first - 40]
    else:
        head = [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))
