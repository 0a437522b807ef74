"""HTTP/1.x message heads: the field section after a start line, and the trailer section after the last
chunk, read from the direction's one buffer (:class:`~dissectors._lines.LineBuffer`).

RFC 9112 section 5 (field lines: ``name ":" OWS value OWS``), 5.2 (obs-fold: a line starting with white
space continues the previous value; joined with one space and reported), 2.2 (a bare LF ends a line too;
reported once per head) and 7.1.2 (the trailer section has the same syntax). Tolerated and reported as
flaws ``(anomaly name, detail)``, in the order met: white space before the colon (the name is kept
without it), a line without a colon, a continuation before any field, a line or a section over its limit.

Fast path: a field section that is whole in the buffer and made only of plain ``Name: value`` lines ending
in CRLF is split by one regex pass over the block (no Python per line); anything else goes line by line,
with the same result (the dissector's tests feed conversations whole, byte by byte and at random splits).

Limits: a line over ``max_line`` is skipped (``http_header_line_too_long``, counted as ``max_line``
bytes); past ``max_block`` bytes the rest of the section is read and dropped (``http_header_block_too_long``).
"""
from __future__ import annotations

import re

from dissectors._lines import TOO_LONG, LineBuffer

# one well-formed field line of a latin-1 decoded block, anchored at a line start: a name that neither
# starts nor ends with white space, the colon, the value without the white space around it, CRLF. The
# same split as the line-by-line path for such lines.
_FIELD_LINE = re.compile(r"^([^:\n \t][^:\n]*(?<![ \t])):[ \t]*((?:[^\n]*[^ \t\n])?)[ \t]*\r\n", re.M)


class MessageHead:
    """One message's start line and fields as read so far (``header_bytes``: the head's bytes on the wire,
    line ends included)."""

    __slots__ = ("ts", "line", "headers", "header_bytes", "over", "bare_lf", "folded", "trailers",
                 "version", "code", "reason")

    def __init__(self, ts: float) -> None:
        self.ts = ts
        self.line = b""
        self.headers: list[tuple[str, str]] = []
        self.header_bytes = 0
        self.over = False            # past the section's limit
        self.bare_lf = False         # some line ended in a bare LF
        self.folded = False          # obs-fold met (reported once)
        self.trailers = False        # a trailer field was read
        self.version = ""
        self.code = 0
        self.reason = ""


def read_fields(buf: LineBuffer, msg: MessageHead, max_line: int, max_block: int, trailers: bool,
                flaws: list[tuple[str, str]]) -> bool | None:
    """One step through a field section (``trailers``: the trailer section): True when its empty line
    was read (the section is whole), False when a line was read, None when more bytes are needed."""
    if not trailers and not buf.discarding:
        room = max_block - msg.header_bytes     # for the block, CRLFs included
        end = buf.find(b"\r\n\r\n", room + 2) if room > 0 else -1
        n = end + 2
        if end > 0:
            text = buf.peek(n).decode("latin-1")
            pairs = _FIELD_LINE.findall(text)
            if len(pairs) == text.count("\n") and (
                    n <= max_line or max(map(len, text.split("\n"))) <= max_line):
                msg.headers += pairs
                msg.header_bytes += n + 2
                buf.skip(end + 4)
                if msg.bare_lf:
                    flaws.append(("http_bare_lf", "header lines end in LF without CR"))
                return True
    got = buf.next_line(eol=True)
    if got is None:
        return None
    if got is TOO_LONG:
        flaws.append(("http_header_line_too_long", f"header line over {max_line} bytes"))
        msg.header_bytes += max_line
        return False
    line, bare = got
    if bare:
        msg.bare_lf = True
    msg.header_bytes += len(line) + (1 if bare else 2)
    if not line:
        if msg.bare_lf:
            flaws.append(("http_bare_lf", "header lines end in LF without CR"))
        return True
    if msg.header_bytes > max_block:
        if not msg.over:
            msg.over = True
            flaws.append(("http_header_block_too_long", f"header block over {max_block} bytes; rest skipped"))
        return False
    _field_line(msg, line, trailers, flaws)
    return False


def _field_line(msg: MessageHead, line: bytes, trailers: bool, flaws: list[tuple[str, str]]) -> None:
    """One non-empty field line that is not a plain ``Name: value``-and-CRLF line, or not in a whole block."""
    colon = line.find(b":")
    if colon > 0 and line[0] not in (0x20, 0x09):
        name = line[:colon]
        if name[-1] in (0x20, 0x09):
            name = name.strip(b" \t")
            flaws.append(("http_header_space_before_colon", f"white space before the colon of header {name[:40]!r}"))
            if not name:
                flaws.append(("http_bad_header_line", f"empty header name: {line[:80]!r}"))
                return
        if trailers:
            msg.trailers = True
        msg.headers.append((name.decode("latin-1"), line[colon + 1:].strip(b" \t").decode("latin-1")))
        return
    if line[0] in (0x20, 0x09):
        if msg.headers:
            if not msg.folded:
                msg.folded = True
                flaws.append(("http_obs_fold", "header value continued on the next line (obs-fold)"))
            n, v = msg.headers[-1]
            msg.headers[-1] = (n, (v + " " + line.strip(b" \t").decode("latin-1")).strip())
        else:
            flaws.append(("http_bad_header_line", f"continuation line before any header: {line[:80]!r}"))
        return
    flaws.append(("http_bad_header_line", f"header line without a name and colon: {line[:80]!r}"))
