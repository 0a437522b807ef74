"""HTTP/1.x message-body framing: a table of readers over the one buffer type (:class:`~dissectors._lines.LineBuffer`).

In the manner of h11's ``_readers.py``: the dissector (:mod:`dissectors.http`) decides how a body is framed
from its headers (RFC 9112 section 6.3: Transfer-Encoding ``chunked``, else Content-Length, else, for a
response, the close of the connection) and takes the reader for that framing from :data:`READERS`. Each call
``reader(buf, flaws)`` consumes what it can of the direction's buffer and returns one of:

* ``bytes`` — body data (chunk data without its framing), to store;
* :data:`END` — the body is complete (Content-Length reached);
* :data:`TRAILERS` — the last chunk was read: the trailer section follows (RFC 9112 section 7.1.2), which
  has header syntax and is read by the dissector's header parser, whose empty line ends the body;
* :class:`Lost` — framing is lost (a bad chunk size, chunk data longer than declared): the body ends
  incomplete and the direction resynchronises on the next start line;
* None — it needs more bytes.

Framing that is odd but readable (white space around a chunk size, an empty line where a size was due, no
CRLF after chunk data) is appended to ``flaws`` as ``(anomaly name, detail)``, in the order met, and
reading goes on. Chunk extensions (section 7.1.1) are ignored.

``remaining`` is what is still due of counted data (a Content-Length body or the current chunk; 0
elsewhere): the dissector stores a segment that falls inside it as it came, without buffering
(:meth:`counted_end` then says what reaching it means). :meth:`gap` says what a hole in the capture does
to the body, :meth:`eof` what the end of the connection does.

Limits: a chunk-size line is capped by the buffer's line limit (``Limits.max_line``) and its size by 16
hex digits (``http_chunk_size_too_long``); transfer codings other than a final ``chunked`` are not undone
(the dissector reports them and reads to the close).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Protocol, Union

from dissectors._lines import TOO_LONG, LineBuffer

_HEX = re.compile(rb"[0-9A-Fa-f]+")
_MAX_CHUNK_HEX = 16


class _Marker:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


END: Final = _Marker("END")
TRAILERS: Final = _Marker("TRAILERS")

#: What :meth:`BodyReader.gap` says of the body after a hole: it goes on, it ended, or framing is lost
#: (a gap past the end of counted data: what follows is not known to start a message; a gap in chunk
#: framing: the next chunk size is not known). The two losses are the ``resync`` reasons the report shows.
GO_ON = ""
ENDED = "end"
GAP_PAST_END = "gap past the end of the body"
GAP_IN_FRAMING = "gap in chunk framing"


@dataclass(frozen=True, slots=True)
class Lost:
    """Framing lost: why (the body's close reason and the resync's)."""

    why: str


Item = Union[bytes, _Marker, Lost, None]
Flaws = list[tuple[str, str]]


class BodyReader(Protocol):
    remaining: int

    def __call__(self, buf: LineBuffer, flaws: Flaws) -> Item: ...

    def counted_end(self) -> bool:
        """Counted data was all read (``remaining`` reached 0 outside a call): True when that ends the body."""

    def gap(self, n: int) -> tuple[tuple[int, ...], str]:
        """A hole of ``n`` bytes: the body's missing pieces (each its own gap) and :data:`GO_ON`,
        :data:`ENDED`, :data:`GAP_PAST_END` or :data:`GAP_IN_FRAMING`."""

    def eof(self) -> int | None:
        """The connection ended: None when that ends the body whole, else the bytes known missing."""


class ContentLengthReader:
    """A body of ``n`` bytes (RFC 9112 section 6.2; n > 0)."""

    __slots__ = ("remaining",)

    def __init__(self, n: int) -> None:
        self.remaining = n

    def __call__(self, buf: LineBuffer, flaws: Flaws) -> Item:
        if not self.remaining:
            return END
        if not len(buf):
            return None
        raw = buf.take(self.remaining)
        self.remaining -= len(raw)
        return raw

    def counted_end(self) -> bool:
        return True

    def gap(self, n: int) -> tuple[tuple[int, ...], str]:
        k = min(n, self.remaining)
        self.remaining -= k
        if self.remaining:
            return (k,), GO_ON
        return (k,), ENDED if n == k else GAP_PAST_END

    def eof(self) -> int | None:
        return self.remaining


_SIZE, _DATA, _CRLF = range(3)


class ChunkedReader:
    """Transfer-Encoding ``chunked`` (RFC 9112 section 7.1): size lines, chunk data and the CRLF after it,
    up to the last (zero-size) chunk."""

    __slots__ = ("remaining", "state")

    def __init__(self, n: int = 0) -> None:
        self.remaining = 0
        self.state = _SIZE

    def __call__(self, buf: LineBuffer, flaws: Flaws) -> Item:
        while True:
            if self.state == _DATA:
                if not len(buf):
                    return None
                raw = buf.take(self.remaining)
                self.remaining -= len(raw)
                if not self.remaining:
                    self.state = _CRLF
                return raw
            if self.state == _CRLF and buf.startswith(b"\r\n") and not buf.discarding:   # the usual end
                buf.skip(2)
                self.state = _SIZE
                continue
            got = buf.next_line(eol=True)
            if got is None:
                return None
            if self.state == _CRLF:
                if got is TOO_LONG:
                    flaws.append(("http_chunk_missing_crlf", "chunk data longer than its declared size"))
                    return Lost("chunk framing lost")
                self.state = _SIZE
                if not got[0]:
                    continue
                flaws.append(("http_chunk_missing_crlf", "no CRLF after chunk data"))
            elif got is TOO_LONG:
                flaws.append(("http_chunk_size_too_long", "chunk-size line over the line limit"))
                return Lost("chunk framing lost")
            item = self._size(got[0], flaws)
            if item is not None:
                return item

    def _size(self, line: bytes, flaws: Flaws) -> Item:
        """Read a chunk-size line: the next state, or what ends the body."""
        size_field = line.split(b";", 1)[0]
        stripped = size_field.strip(b" \t")
        if not stripped and not line.strip():
            flaws.append(("http_chunk_extra_crlf", "empty line where a chunk size was expected"))
            return None
        if stripped != size_field:
            flaws.append(("http_chunk_size_spacing", f"white space around chunk size {line[:40]!r}"))
        if not _HEX.fullmatch(stripped):
            flaws.append(("http_bad_chunk_size", f"chunk size is not hexadecimal: {line[:40]!r}"))
            return Lost("bad chunk size")
        if len(stripped.lstrip(b"0")) > _MAX_CHUNK_HEX:
            flaws.append(("http_chunk_size_too_long", f"chunk size {stripped[:40]!r} overflows 64 bits"))
            return Lost("chunk size overflow")
        size = int(stripped, 16)
        if size == 0:
            return TRAILERS
        self.remaining = size
        self.state = _DATA
        return None

    def counted_end(self) -> bool:
        self.state = _CRLF
        return False

    def gap(self, n: int) -> tuple[tuple[int, ...], str]:
        if self.state != _DATA:
            return (n,), GAP_IN_FRAMING
        k = min(n, self.remaining)
        self.remaining -= k
        if self.remaining:
            return (k,), GO_ON
        if n == k:
            self.state = _CRLF
            return (k,), GO_ON
        return (k, n - k), GAP_PAST_END

    def eof(self) -> int | None:
        return 0


class UntilCloseReader:
    """A response body delimited by the close of the connection (RFC 9112 section 6.3, rule 8)."""

    __slots__ = ()
    remaining = 0

    def __init__(self, n: int = 0) -> None:
        pass

    def __call__(self, buf: LineBuffer, flaws: Flaws) -> Item:
        return buf.take_all() if len(buf) else None

    def counted_end(self) -> bool:      # never counted
        return False

    def gap(self, n: int) -> tuple[tuple[int, ...], str]:
        return (n,), GO_ON

    def eof(self) -> int | None:
        return None


#: Framing (what ``HttpDissector._framing`` decides) → its reader, made with the Content-Length.
READERS: dict[str, type] = {"length": ContentLengthReader, "chunked": ChunkedReader, "close": UntilCloseReader}
