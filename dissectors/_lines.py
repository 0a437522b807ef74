"""Per-direction byte buffers for line-oriented protocols (SMTP, POP3, IMAP, FTP, HTTP).

A :class:`LineBuffer` accumulates bytes and hands back complete lines
(terminated by LF, with an optional CR before it, as RFC 5321 section 2.3.8
says receivers should tolerate) or exact byte counts (IMAP literals, HTTP
bodies). It is capped: a line longer than ``max_line`` is reported once as
:data:`TOO_LONG` and its remainder discarded up to the next LF, so memory never
grows with hostile input. Searching uses ``bytes.find``; no per-byte Python loop.
"""
from __future__ import annotations

from typing import Final


class _TooLong:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = _TooLong()


class LineBuffer:
    __slots__ = ("_buf", "_pos", "_max", "_discarding")

    def __init__(self, max_line: int = 8192) -> None:
        self._buf = bytearray()
        self._pos = 0
        self._max = max_line
        self._discarding = False

    def push(self, data: bytes) -> None:
        if self._pos and self._pos > 65536 and self._pos * 2 > len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def __len__(self) -> int:
        return len(self._buf) - self._pos

    def pending(self) -> bytes:
        return bytes(self._buf[self._pos:])

    def clear(self) -> None:
        self._buf.clear()
        self._pos = 0
        self._discarding = False

    def next_line(self, keep_ends: bool = False) -> bytes | _TooLong | None:
        """Return the next complete line (without CRLF unless ``keep_ends``),
        :data:`TOO_LONG` once for an over-long line, or None when incomplete."""
        while True:
            nl = self._buf.find(b"\n", self._pos)
            if self._discarding:
                if nl < 0:
                    self._buf.clear()
                    self._pos = 0
                    return None
                self._pos = nl + 1
                self._discarding = False
                continue
            if nl < 0:
                if len(self._buf) - self._pos > self._max:
                    self._discarding = True
                    self._buf.clear()
                    self._pos = 0
                    return TOO_LONG
                return None
            if nl - self._pos > self._max:
                self._pos = nl + 1
                return TOO_LONG
            end = nl + 1
            line = bytes(self._buf[self._pos:end])
            self._pos = end
            if keep_ends:
                return line
            if line.endswith(b"\r\n"):
                return line[:-2]
            return line[:-1]

    def take(self, n: int) -> bytes:
        """Take up to ``n`` bytes (fewer when fewer are buffered)."""
        end = min(len(self._buf), self._pos + max(n, 0))
        out = bytes(self._buf[self._pos:end])
        self._pos = end
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        return out

    def take_all(self) -> bytes:
        return self.take(len(self))

    def find(self, marker: bytes) -> int:
        """Offset of ``marker`` relative to the unread data, or -1."""
        i = self._buf.find(marker, self._pos)
        return -1 if i < 0 else i - self._pos

    def startswith(self, prefix: bytes) -> bool:
        return self._buf.startswith(prefix, self._pos)
