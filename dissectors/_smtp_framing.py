"""SMTP's client-side framing: how the client's bytes divide into commands and message content.

The client's direction is read in one of three framings, over the direction's one buffer
(:class:`dissectors._lines.LineBuffer`), as :class:`dissectors.smtp.SmtpDissector` switches between them:

* commands: CRLF-terminated lines (RFC 5321 sections 2.3.8 and 4.1.1; a bare LF is tolerated), read with
  :meth:`LineBuffer.lines`;
* after ``DATA`` is accepted, :class:`DotStuffedReader`: the message up to the end-of-data line
  ``<CRLF>.<CRLF>`` (RFC 5321 section 4.1.1.4), with the transparency dot removed from every line that
  starts with one (section 4.5.2); ``<LF>.<LF>`` is accepted as an end too;
* after ``BDAT n [LAST]``, :class:`BdatReader`: exactly *n* bytes of the message, no dot-stuffing
  (RFC 3030 section 2); ``LAST`` ends the message after them.

Both readers are in the manner of h11's ``_readers.py``: an object per message (or chunk) that turns the
bytes given to it into message content and says where the framing ends; what becomes of the content (the
stored object, the header block, the caps) is the dissector's. Limits: the end-of-data line is found with
``bytes.find`` in what arrived, and at most two bytes (``.`` or ``.\\r`` at a line start) are held back
between segments to decide whether they begin the end line; a gap inside a message leaves the reader
not at a line start (an end-of-data line right after a gap is not recognised until the next line).
"""
from __future__ import annotations

from dissectors._lines import LineBuffer


class DotStuffedReader:
    """DATA content up to the end-of-data line (RFC 5321 sections 4.1.1.4 and 4.5.2)."""

    __slots__ = ("bol", "hold")

    def __init__(self) -> None:
        self.bol = True         # the next byte starts a line
        self.hold = b""         # "." or ".\r" at a line start, held until the next byte tells what it is

    def __call__(self, chunk: bytes) -> tuple[bytes, bool, bytes]:
        """``(content, ended, rest)``: the message bytes in ``chunk`` (dot-stuffing undone; may be empty),
        whether the end-of-data line was met, and the bytes after it (commands again)."""
        buf = self.hold + chunk if self.hold else chunk
        self.hold = b""
        pos = 0
        if self.bol:
            if buf.startswith(b".\r\n") or buf.startswith(b".\n"):
                return b"", True, buf[3 if buf[1:2] == b"\r" else 2:]
            if buf in (b".", b".\r"):
                self.hold = buf
                return b"", False, b""
            if buf.startswith(b"."):
                pos = 1            # a stuffed dot
        if buf.find(b"\n.", pos) < 0:
            # the usual segment: no line past the first starts with a dot (no end-of-data line, no stuffing,
            # nothing to hold): one scan, no copy
            region = buf[pos:] if pos else buf
            if region:
                self.bol = region.endswith(b"\n")
            elif pos:
                self.bol = False
            return region, False, b""
        t1 = buf.find(b"\n.\r\n", pos)
        t2 = buf.find(b"\n.\n", pos)
        ends = [(k, n) for k, n in ((t1, 4), (t2, 3)) if k >= 0]
        if ends:
            k, n = min(ends)
            return buf[pos:k + 1].replace(b"\n.", b"\n"), True, buf[k + n:]
        if buf.endswith(b"\n."):
            end, self.hold = len(buf) - 1, b"."
        elif buf.endswith(b"\n.\r"):
            end, self.hold = len(buf) - 2, b".\r"
        else:
            end = len(buf)
        region = buf[pos:end]
        if region:
            self.bol = region.endswith(b"\n")
        elif pos:
            self.bol = False
        if self.hold:
            self.bol = True
        return region.replace(b"\n.", b"\n"), False, b""

    def mid_line(self) -> bool:
        """Whether the next bytes are inside a line with nothing held: the message can then end only
        with a ``LF .`` among them (a BulkDissector's end marker)."""
        return not self.bol and not self.hold

    def gap(self) -> bytes:
        """Bytes are missing: the held bytes that are text after all (a held dot was a stuffed one), and
        the reader is no longer at a line start."""
        held, self.hold = self.hold[1:], b""
        self.bol = False
        return held

    def eof(self) -> bytes:
        """The connection ended inside the message: the held bytes, as content."""
        held, self.hold = self.hold, b""
        return held


class BdatReader:
    """One ``BDAT n [LAST]`` chunk: exactly ``n`` bytes (RFC 3030 section 2)."""

    __slots__ = ("remaining", "last")

    def __init__(self, n: int = 0, last: bool = False) -> None:
        self.remaining = n
        self.last = last        # LAST: the message ends with this chunk

    def __call__(self, buf: LineBuffer) -> bytes:
        """What the buffer holds of the chunk (empty when nothing)."""
        chunk = buf.take(self.remaining)
        self.remaining -= len(chunk)
        return chunk

    def gap(self, n: int) -> tuple[int, bool]:
        """A hole of ``n`` bytes: how many of them were chunk data, and whether the hole ran past the
        chunk (what follows is not known to start a command)."""
        k = min(n, self.remaining)
        self.remaining -= k
        return k, n > k
