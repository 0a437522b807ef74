"""Object bytes held back and handed on as one FileData per run (issue 26).

A dissector that stores a body, a message, a literal or a data connection as it
arrives would make one :class:`~decoder.model.FileData` per TCP segment, and each
costs the engine a routing step and an object-store write. A :class:`HeldData`
keeps the consecutive bytes of one object (up to :data:`HOLD` bytes) and hands
them on as one ``FileData`` stamped with the time of the packet that carried the
first of them (the object's bytes and its row are unchanged; only the number of
items falls).

The dissector that holds data must :meth:`~HeldData.flush` before any other item
about the same object (``FileGap``) and :meth:`~HeldData.end` before its
``FileClose``, and flush before it stops (``StopParsing``, ``Violation``) or
closes. Near the store's size cap (``Limits.max_file_size``) nothing is held, so
the store's ``file_size_capped`` anomaly keeps the time of the segment that
crossed the cap.

Limits: a dissector holds at most :data:`HOLD` bytes per object it is storing;
bytes held when a dissector raises (a bug the engine contains by dropping it)
are not stored.
"""
from __future__ import annotations

from typing import Final

from decoder.model import FileData

HOLD: Final = 64 * 1024
#: :meth:`HeldData.room` past the store's cap: no bound
PAST_CAP: Final = 1 << 62
#: what every end of a dot-terminated text (SMTP DATA, RFC 5321 section 4.1.1.4; POP3 multi-line replies,
#: RFC 1939 section 3) holds: the end marker of a BulkDissector's answer for them
LINE_DOT: Final = b"\n."


class HeldData:
    """The bytes of one object not yet handed on (one per direction or object stream)."""

    __slots__ = ("handle", "ts", "parts", "size", "total", "cap")

    def __init__(self, cap: int) -> None:
        """``cap``: the store's size cap (``Limits.max_file_size``)."""
        self.handle: str | None = None
        self.ts = 0.0
        self.parts: list[bytes] = []
        self.size = 0           # bytes held
        self.total = 0          # bytes of this object handed on or held
        self.cap = cap

    def add(self, out: list, ts: float, handle: str, data: bytes) -> None:
        """Hold ``data`` (bytes of object ``handle`` carried by the packet at ``ts``)."""
        if type(data) is not bytes:     # a view or bytearray could change (or pin its buffer) while held
            data = bytes(data)
        if handle != self.handle:
            self.flush(out)
            self.handle = handle
            self.total = 0
        total = self.total + len(data)
        self.total = total
        if total > self.cap:        # at or past the store's cap: each write at its own time
            self.flush(out)
            out.append(FileData(ts, handle, data))
            return
        parts = self.parts
        if not parts:
            self.ts = ts
        parts.append(data)
        size = self.size + len(data)
        if size >= HOLD:
            self.size = size
            self.flush(out)
        else:
            self.size = size

    def room(self, handle: str | None) -> int:
        """How many more bytes of object ``handle`` may come before the store's cap: the most a dissector
        may promise to take in one call (``decoder.model.BulkDissector``), so the segment crossing the cap
        is still fed alone, at its own time. Once past the cap (that segment was), any number: the store
        keeps no more of the object and says nothing more of it."""
        if handle != self.handle:
            return self.cap
        return self.cap - self.total if self.total <= self.cap else PAST_CAP

    def flush(self, out: list) -> None:
        """Hand on what is held as one FileData."""
        parts = self.parts
        if parts:
            out.append(FileData(self.ts, self.handle, parts[0] if len(parts) == 1 else b"".join(parts)))  # type: ignore[arg-type]
            self.parts = []
            self.size = 0

    def end(self, out: list) -> None:
        """Hand on what is held: the object ends (its handle may be used again)."""
        self.flush(out)
        self.handle = None
        self.total = 0
