"""A bounded XDR reader (RFC 4506) for the ONC RPC family (RPC, portmapper, MOUNT, NFS).

XDR is big-endian, in 4-byte units: integers (section 4.1–4.5), fixed and variable-length opaque
data and strings padded to a multiple of four (4.9–4.11), counted arrays (4.13), optional data
(4.19, a boolean before the item; a linked list is a chain of them). Everything a message claims
is checked before it is believed: a length past the end of the message is :class:`XdrError`; a
length or a count above the reader's :class:`XdrBounds` is :class:`XdrLimit` (its ``kind`` says
``too_long``, ``too_many`` or ``too_deep``), so hostile input costs at most what the bounds allow.

Limits: padding bytes are skipped, not checked for zero (RFC 4506 says they are zero; real
stacks do not look). Linked lists are read iteratively (:meth:`XdrReader.chain`) with a count
cap, never by recursion. Strings are decoded as UTF-8 with replacement characters (XDR strings
are bytes; NFS names are whatever the client sent).
"""
from __future__ import annotations

import struct
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

__all__ = ["XdrBounds", "XdrError", "XdrLimit", "XdrReader"]

T = TypeVar("T")

_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")


class XdrError(ValueError):
    """The bytes are not what the XDR description says (too short, a bad value)."""


class XdrLimit(XdrError):
    """A length, count or nesting above the reader's bounds. ``kind``: too_long, too_many or too_deep."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class XdrBounds:
    """The caps one reader applies (from :class:`decoder.model.Limits`)."""

    max_string: int = 64 * 1024     # a string or variable opaque other than bulk data
    max_opaque: int = 4 * 1024 * 1024   # bulk data (READ/WRITE payloads)
    max_array: int = 100_000        # elements of a counted array or links of a chain
    max_depth: int = 32             # nested structures


def _pad(n: int) -> int:
    return (4 - n % 4) % 4


class XdrReader:
    """Reads XDR items from ``data`` from ``pos`` on; every read checks bounds first."""

    __slots__ = ("data", "pos", "bounds", "depth")

    def __init__(self, data: bytes, pos: int = 0, bounds: XdrBounds = XdrBounds()) -> None:
        self.data = data
        self.pos = pos
        self.bounds = bounds
        self.depth = 0

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise XdrError(f"needs {n} bytes at offset {self.pos}, {self.remaining} left")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u32(self) -> int:
        return _U32.unpack(self._take(4))[0]

    def i32(self) -> int:
        return _I32.unpack(self._take(4))[0]

    def u64(self) -> int:
        return _U64.unpack(self._take(8))[0]

    def i64(self) -> int:
        return _I64.unpack(self._take(8))[0]

    def boolean(self) -> bool:
        v = self.u32()
        if v > 1:
            raise XdrError(f"boolean is {v}")
        return v == 1

    def skip(self, n: int) -> None:
        """Skip ``n`` bytes (a fixed-size structure the caller does not need)."""
        self._take(n)

    def fixed(self, n: int) -> bytes:
        """Fixed-length opaque of ``n`` bytes (plus its padding)."""
        b = self._take(n)
        self._take(_pad(n))
        return b

    def opaque(self, cap: int | None = None, bulk: bool = False) -> bytes:
        """Variable-length opaque: a length then the bytes. ``cap`` is the protocol's own maximum
        (``<64>`` of a file handle); bounded by ``max_opaque`` for bulk data, else ``max_string``."""
        n = self.u32()
        bound = self.bounds.max_opaque if bulk else self.bounds.max_string
        if n > bound:
            raise XdrLimit("too_long", f"opaque of {n} bytes (bound {bound})")
        if cap is not None and n > cap:
            raise XdrError(f"opaque of {n} bytes, the protocol allows {cap}")
        return self.fixed(n)

    def string(self, cap: int | None = None) -> str:
        return self.opaque(cap).decode("utf-8", "replace")

    @contextmanager
    def nested(self) -> Iterator[None]:
        """One level of structure; deeper than ``max_depth`` raises ``too_deep``."""
        if self.depth >= self.bounds.max_depth:
            raise XdrLimit("too_deep", f"structures nested deeper than {self.bounds.max_depth}")
        self.depth += 1
        try:
            yield
        finally:
            self.depth -= 1

    def array(self, item: Callable[["XdrReader"], T], cap: int | None = None) -> list[T]:
        """Counted array. The count is checked against ``cap`` (the protocol's), ``max_array``, and the
        bytes left (every XDR item takes at least 4), before anything is read."""
        n = self.u32()
        if n > self.bounds.max_array:
            raise XdrLimit("too_many", f"array of {n} elements (bound {self.bounds.max_array})")
        if cap is not None and n > cap:
            raise XdrError(f"array of {n} elements, the protocol allows {cap}")
        if n * 4 > self.remaining:
            raise XdrError(f"array of {n} elements in {self.remaining} bytes")
        with self.nested():
            return [item(self) for _ in range(n)]

    def optional(self, item: Callable[["XdrReader"], T]) -> T | None:
        if not self.boolean():
            return None
        with self.nested():
            return item(self)

    def chain(self, item: Callable[["XdrReader"], T]) -> list[T]:
        """An XDR linked list (``entry *next``: a boolean before each element), read in a loop;
        more than ``max_array`` links raises ``too_many``."""
        out: list[T] = []
        with self.nested():
            while self.boolean():
                if len(out) >= self.bounds.max_array:
                    raise XdrLimit("too_many", f"list longer than {self.bounds.max_array}")
                out.append(item(self))
        return out
