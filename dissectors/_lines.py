"""The one per-direction byte buffer of the text protocols (SMTP, POP3, IMAP, FTP, HTTP/1.x).

A :class:`LineBuffer` accumulates bytes and hands back complete lines
(terminated by LF, with an optional CR before it, as RFC 5321 section 2.3.8
says receivers should tolerate) or exact byte counts (IMAP literals, BDAT
chunks, message bodies). It is capped: a line longer than ``max_line`` is
reported once and its remainder discarded up to the next LF, so memory never
grows with hostile input.

:meth:`LineBuffer.lines` is the read loop the dissectors share: it yields each
complete line and reports an over-long one as the anomaly the buffer was made
with (``<proto>_line_too_long``, "client/server line longer than N bytes");
the caller stops iterating when its own state changes (a body starts, a literal
follows, the flow stops). :meth:`LineBuffer.next_line` is the single-step form
(over-long lines come back as :data:`TOO_LONG`, unreported); :meth:`LineBuffer.next_line` with ``eol``
also tells whether the line ended in a bare LF (HTTP reports it). HTTP's framing readers
(:mod:`dissectors._http_framing`) and its resynchronisation read the unread data with
:meth:`find`, :meth:`rfind`, :meth:`search`, :meth:`peek` and :meth:`skip`.

Searching uses ``bytes.find``; no per-byte Python loop. Data pushed into an
empty buffer is kept as the caller's ``bytes`` object, so a chunk taken whole
(a literal, a body) is handed back without a copy.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Final

from decoder.model import Anomaly, Direction


class _TooLong:
    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LONG"


TOO_LONG: Final = _TooLong()


class LineBuffer:
    __slots__ = ("_buf", "_pos", "_max", "_discarding", "_report", "_on_too_long")

    def __init__(self, max_line: int = 8192, anomaly: str = "", direction: Direction | None = None,
                 on_too_long: Callable[[], None] | None = None) -> None:
        """``anomaly``/``direction`` name what :meth:`lines` reports for an over-long
        line; ``on_too_long`` is called after such a report."""
        self._buf: bytes | bytearray = b""
        self._pos = 0
        self._max = max_line
        self._discarding = False
        label = direction.label if direction is not None else "a"
        self._report = (anomaly, f"{label} line longer than {max_line} bytes", direction)
        self._on_too_long = on_too_long

    def push(self, data: bytes) -> None:
        buf = self._buf
        if self._pos >= len(buf):           # empty: keep the caller's bytes (no copy)
            self._buf = data if type(data) is bytes else bytes(data)
            self._pos = 0
        elif type(buf) is bytes:
            self._buf = bytearray(memoryview(buf)[self._pos:])
            self._buf += data
            self._pos = 0
        else:
            if self._pos > 65536 and self._pos * 2 > len(buf):
                del buf[: self._pos]
                self._pos = 0
            buf += data

    def __len__(self) -> int:
        return len(self._buf) - self._pos

    def pending(self) -> bytes:
        return bytes(self._buf[self._pos:])

    def clear(self) -> None:
        self._buf = b""
        self._pos = 0
        self._discarding = False

    def next_line(self, keep_ends: bool = False, eol: bool = False) -> bytes | tuple[bytes, bool] | _TooLong | None:
        """Return the next complete line (without CRLF unless ``keep_ends``),
        :data:`TOO_LONG` once for an over-long line, or None when incomplete. With ``eol``:
        ``(line without its end, True when it ended in a bare LF)`` (HTTP reports bare LFs)."""
        while True:
            buf = self._buf
            pos = self._pos
            nl = buf.find(b"\n", pos)
            if self._discarding:
                if nl < 0:
                    self.clear()
                    self._discarding = True
                    return None
                self._pos = nl + 1
                self._discarding = False
                continue
            if nl < 0:
                if len(buf) - pos > self._max:
                    self.clear()
                    self._discarding = True
                    return TOO_LONG
                return None
            if nl - pos > self._max:
                self._pos = nl + 1
                return TOO_LONG
            self._pos = nl + 1
            if keep_ends:
                return bytes(buf[pos:nl + 1])
            if nl > pos and buf[nl - 1] == 13:
                return (bytes(buf[pos:nl - 1]), False) if eol else bytes(buf[pos:nl - 1])
            return (bytes(buf[pos:nl]), True) if eol else bytes(buf[pos:nl])

    def lines(self, ts: float, out: list, halt: bytes | None = None) -> Iterator[bytes]:
        """Yield complete lines (without CRLF) until none is left; an over-long line is
        reported to ``out`` and skipped. With ``halt``, stop as soon as the unread data
        starts with it (checked before every line). Buffer state is read afresh at every
        step, so the caller may stop iterating at any line and go on later."""
        while True:
            if halt is not None and self._buf.startswith(halt, self._pos):
                return
            line = self.next_line()
            if line is None:
                return
            if line is TOO_LONG:
                out.append(Anomaly(ts, *self._report))
                if self._on_too_long is not None:
                    self._on_too_long()
                continue
            yield line  # type: ignore[misc]

    def take(self, n: int) -> bytes:
        """Take up to ``n`` bytes (fewer when fewer are buffered)."""
        buf = self._buf
        pos = self._pos
        end = len(buf)
        if n < end - pos:
            end = pos + max(n, 0)
            self._pos = end
            return bytes(buf[pos:end])
        self._buf = b""
        self._pos = 0
        if pos == 0 and type(buf) is bytes:
            return buf
        return bytes(buf[pos:])

    def take_all(self) -> bytes:
        return self.take(len(self))

    def find(self, marker: bytes, limit: int | None = None) -> int:
        """Offset of ``marker`` relative to the unread data (within its first ``limit`` bytes), or -1."""
        end = len(self._buf) if limit is None else self._pos + limit
        i = self._buf.find(marker, self._pos, end)
        return -1 if i < 0 else i - self._pos

    def rfind(self, marker: bytes) -> int:
        """Offset of the last ``marker`` in the unread data, or -1."""
        i = self._buf.rfind(marker, self._pos)
        return -1 if i < 0 else i - self._pos

    def search(self, pattern: re.Pattern[bytes]) -> int:
        """Offset of ``pattern``'s first match in the unread data, or -1."""
        m = pattern.search(self._buf, self._pos)
        return -1 if m is None else m.start() - self._pos

    def peek(self, n: int) -> bytes:
        """The first ``n`` unread bytes, left unread."""
        return bytes(self._buf[self._pos:self._pos + n])

    def skip(self, n: int) -> None:
        """Drop the first ``n`` unread bytes (at most what is buffered)."""
        self._pos = min(self._pos + n, len(self._buf))

    @property
    def discarding(self) -> bool:
        """True while the rest of an over-long line is being dropped up to its LF."""
        return self._discarding

    @discarding.setter
    def discarding(self, on: bool) -> None:
        self._discarding = on

    def startswith(self, prefix: bytes) -> bool:
        return self._buf.startswith(prefix, self._pos)
