"""Tolerant RFC 5322 / MIME parsing of whole e-mail messages (SMTP, POP3, IMAP objects).

What it does
    :func:`explode` takes the exact bytes of one message and returns a
    :class:`MailParse`: the header fields wiretale reports (the names of Zeek's
    ``smtp.log``: ``date, from, to, cc, reply_to, msg_id, in_reply_to, subject,
    x_originating_ip, first_received, second_received, user_agent`` plus the list of
    ``received`` headers), the MIME tree (one dict per node), every leaf part with a
    payload decoded (base64, quoted-printable) as an :class:`Attachment`, the defects
    found and the anomalies (caps hit). :func:`parse_headers` gives the same
    ``fields`` from a header block alone (the SMTP dissector calls it on the header
    block of a message it is streaming).

Who calls it
    A public module of the dissector package, not a private helper: besides the
    SMTP dissector, the engine's e-mail assembly (:mod:`decoder.session`) calls
    :func:`explode` on every stored message, whichever protocol carried it.

RFC sections followed
    * RFC 5322 section 2.2 (header fields, folding: unfolded here), 3.4 (address
      lists, split on commas outside quotes, comments and angle brackets), 3.6.7
      (Received: Zeek's convention is kept: ``first_received`` is the *last*
      Received field in the block, i.e. the earliest hop, ``second_received`` the one
      above it).
    * RFC 2045 section 6 (Content-Transfer-Encoding: base64, quoted-printable; 7bit,
      8bit, binary and unknown encodings are taken as is), RFC 2046 section 5.1
      (multipart bodies: boundary delimiter lines, the CRLF before a delimiter
      belongs to the delimiter, preamble and epilogue ignored; a missing close
      delimiter is a defect, the last part runs to the end), 5.2.1 (message/rfc822
      parts are descended into), RFC 2047 (encoded words, B and Q, any charset
      Python knows, unknown charsets read as Latin-1), RFC 2231 (parameter value
      continuations and charset/language: ``filename*0*=UTF-8''...``), RFC 2183
      (Content-Disposition).
    * Part paths follow IMAP's numbering (RFC 9051 section 6.4.5): the children of
      the top-level multipart are ``1``, ``2``; their children ``1.1``…; the only body
      of a single-part message is ``1``. The top-level container of a multipart
      message is listed as path ``0``.

Why this design (policy and splitter)
    The standard ``email`` package parses the *header blocks* with
    ``policy=compat32``: compat32 keeps header values as plain strings and never
    builds the structured header objects of ``policy.default``, whose parser has
    raised on hostile headers in the past (and is several times slower); its
    ``get_param``/``get_filename``/``get_content_charset`` do RFC 2231 decoding. Its
    defects are recorded in ``defects`` (class names), never raised. A block whose
    lines are all ``name: value`` fields or their continuations, ended by LF or CRLF
    (nearly every block), is split here into exactly the fields that parser stores,
    without its line-by-line machinery; anything else goes to the parser. The
    parameters of a field are parsed once per part (the stdlib's getters would parse
    Content-Type once each). Payloads are transfer-decoded whole
    (``binascii.a2b_base64``/``a2b_qp`` on the part), never line by line, and read in place: a part is a range
    of the message's bytes, never copied out, so beside the message explode holds its decoded payloads and
    header blocks (memory follows the largest message, once). The *multipart
    structure* is split here, iteratively, with ``bytes.find`` on the boundary:
    ``email.feedparser`` descends nested multiparts through nested generators, so a
    message nested 1,000 deep would exhaust the recursion limit and it offers no
    part or depth cap. Here an explicit stack bounds depth
    (``limits.max_mime_depth``, anomaly ``mime_too_deep``: deeper content is kept as
    an opaque leaf), the number of nodes (``limits.max_mime_parts``,
    ``mime_parts_too_many``), each header block (``limits.max_header_block``,
    ``mime_header_block_too_long``) and each decoded payload
    (``limits.max_file_size``, ``mime_part_capped``: the data is truncated).

Limits
    Header field values are unfolded and RFC 2047-decoded but otherwise reported
    as sent (addresses are not normalised). Encodings other than base64 and
    quoted-printable (uuencode, yEnc, BinHex) are not decoded. Nothing raises:
    an unexpected internal error is recorded as the defect ``parser_error`` and the
    parts found so far are returned.
"""
from __future__ import annotations

import binascii
import re
from dataclasses import dataclass, field
from typing import Iterator
from email.header import decode_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value

from decoder.model import Limits

__all__ = ["Attachment", "MailParse", "explode", "parse_headers", "split_header_block",
           "decode_words", "FIELD_NAMES"]

FIELD_NAMES = ("date", "from", "to", "cc", "reply_to", "msg_id", "in_reply_to", "subject",
               "x_originating_ip", "first_received", "second_received", "user_agent",
               "received")


@dataclass(frozen=True, slots=True)
class Attachment:
    """One leaf part with a payload, transfer-decoded. Bodies (text without a file
    name) are included with ``is_attachment=False``."""

    part_path: str
    filename: str | None
    declared_mime: str | None
    disposition: str | None
    is_attachment: bool
    data: bytes
    #: a large base64 payload left encoded (``explode(..., lazy_over=N)``): (message bytes, start, end, decoded
    #: size, capped size); ``data`` is then empty and :meth:`pieces` decodes it a piece at a time
    encoded: tuple[bytes, int, int, int, int] | None = None

    @property
    def size(self) -> int:
        """The payload's length (decoded, capped)."""
        return len(self.data) if self.encoded is None else self.encoded[4]

    def pieces(self) -> Iterator[bytes]:
        """The payload in order: ``data``, or the encoded payload decoded about 64 KiB at a time."""
        if self.encoded is None:
            if self.data:
                yield self.data
            return
        buf, start, end, _size, limit = self.encoded
        yield from _b64_pieces(buf, start, end, limit)


@dataclass(frozen=True, slots=True)
class MailParse:
    fields: dict
    parts: list = field(default_factory=list)
    attachments: list = field(default_factory=list)
    defects: list = field(default_factory=list)
    anomalies: list = field(default_factory=list)


class _Part(Message):
    """A compat32 message whose parameter lists are parsed once per header field:
    ``get_content_charset``, ``get_filename`` and ``get_boundary`` each ask for the
    Content-Type parameters again (results and errors are kept as they came; the
    message is never changed after parsing)."""

    def _get_params_preserve(self, failobj, header):   # the stdlib's (private) hook
        cache = self.__dict__.setdefault("_wt_params", {})
        key = header.lower()
        hit = cache.get(key)
        if hit is None:
            try:
                hit = cache[key] = (super()._get_params_preserve(_MISSING, header), None)
            except Exception as exc:
                hit = cache[key] = (None, exc)
        params, exc = hit
        if exc is not None:
            raise exc
        return failobj if params is _MISSING else params


_MISSING = object()
_HEADER_PARSER = HeaderParser(_Part, policy=compat32)   # bytes decoded as BytesHeaderParser does
_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+:")     # feedparser's headerRE, name not empty
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_IP = re.compile(r"\[?((?:\d{1,3}\.){3}\d{1,3}|(?:IPv6:)?[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)\]?")
_RECEIVED_FROM_IP = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]|\((?:[^()\[\]]*\s)?\[?"
                               r"((?:\d{1,3}\.){3}\d{1,3})\]?")


# ---------------------------------------------------------------- small helpers
def _text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def _unsurrogate(s: str) -> str:
    """compat32 stores undecodable header bytes as surrogate escapes: read them as
    UTF-8 when they are, else as Latin-1."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        raw = s.encode("utf-8", "surrogateescape")
        return _text(raw)


def decode_words(value: str | None) -> str | None:
    """Unfold and decode RFC 2047 encoded words; never raises."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    value = _unsurrogate(_FOLD.sub("", value))
    if "=?" not in value:
        return value.strip()
    try:
        chunks = decode_header(value)
    except Exception:
        return value.strip()
    out: list[str] = []
    prev_encoded = False
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            cs = (charset or "ascii").lower()
            try:
                text = chunk.decode(cs, "replace")
            except (LookupError, UnicodeError, ValueError):
                text = chunk.decode("latin-1")
            encoded = charset is not None
        else:
            text, encoded = chunk, False
        if out and not (encoded and prev_encoded) and not text[:1].isspace() \
                and not out[-1][-1:].isspace():
            # decode_header drops the white space between an encoded and a plain word
            out.append(" ")
        out.append(text)
        prev_encoded = encoded
    return "".join(out).strip()


def _split_addresses(value: str | None) -> list[str]:
    """Split an address list on commas outside quotes, comments and <...>."""
    if not value:
        return []
    out: list[str] = []
    depth_paren = 0
    in_quote = in_angle = False
    start = 0
    i = 0
    n = len(value)
    while i < n:
        ch = value[i]
        if in_quote:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_quote = False
        elif ch == '"':
            in_quote = True
        elif ch == "(":
            depth_paren += 1
        elif ch == ")" and depth_paren:
            depth_paren -= 1
        elif ch == "<" and not depth_paren:
            in_angle = True
        elif ch == ">" and in_angle:
            in_angle = False
        elif ch == "," and not depth_paren and not in_angle:
            part = value[start:i].strip()
            if part:
                out.append(part)
            start = i + 1
        i += 1
    part = value[start:].strip()
    if part:
        out.append(part)
    return out


def split_header_block(data: bytes, max_block: int) -> tuple[bytes, bytes, bool]:
    """Split ``data`` into (header block, body, capped). The blank line is dropped.
    A part that starts with a blank line, or whose first line is not a header
    field, has no headers."""
    head, body_start, capped = _header_block(data, 0, len(data), max_block)
    return head, data[body_start:], capped


_HEADER_LINE_AT = re.compile(rb"[!-9;-~]+[ \t]*:")      # _HEADER_LINE, for Pattern.match(buf, pos)


def _header_block(buf: bytes, start: int, end: int, max_block: int) -> tuple[bytes, int, bool]:
    """:func:`split_header_block` of the entity ``buf[start:end]`` without copying it: (header block, where
    the body starts in ``buf``, capped)."""
    if buf.startswith(b"\r\n", start, end):
        return b"", start + 2, False
    if buf.startswith(b"\n", start, end):
        return b"", start + 1, False
    if not _HEADER_LINE_AT.match(buf, start, min(end, start + 1000)):
        return b"", start, False
    # the first empty line ("\n\r\n" or "\n\n"): looked for in the first 8 KiB, where
    # header blocks end, before the whole part (two whole scans per part otherwise)
    limit = min(end, start + 8192)
    while True:
        i = buf.find(b"\n\r\n", start, limit)
        j = buf.find(b"\n\n", start, i + 1 if i >= 0 else limit)
        if i >= 0 or j >= 0 or limit == end:
            break
        limit = end
    if j >= 0:
        head, body_start = buf[start:j + 1], j + 2
    elif i >= 0:
        head, body_start = buf[start:i + 1], i + 3
    else:
        head, body_start = buf[start:end], end
    capped = False
    if len(head) > max_block:
        head, capped = head[:max_block], True
        cut = head.rfind(b"\n")
        if cut > 0:
            head = head[:cut + 1]
    return head, body_start, capped


def _plain_fields(text: str) -> list[tuple[str, str]] | None:
    """The (name, value) pairs ``email.feedparser`` with compat32 stores for a header
    block whose every line is a ``name:`` field or its continuation and whose line
    ends are LF or CRLF; None for anything else (a line that is not a field, a
    leading continuation, a ``From `` line, a lone CR): those go to the parser, which
    records the defects. The value is the text after the colon, leading blanks
    removed, continuation lines joined with their line ends, trailing CR/LF removed
    (``Compat32.header_source_parse``)."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return None
    lines = text.split("\n")
    if not lines[-1]:
        lines.pop()
    fields: list[tuple[str, str]] = []
    name = None
    value: list[str] = []
    match = _FIELD_NAME.match
    for line in lines:
        if line[:1] in (" ", "\t"):
            if name is None:
                return None
            value.append(line)
            continue
        m = match(line)
        if m is None:
            return None
        if name is not None:
            fields.append((name, "\n".join(value).rstrip("\r\n")))
        k = m.end()
        name = line[:k - 1]
        value = [line[k:].lstrip(" \t")]
    if name is not None:
        fields.append((name, "\n".join(value).rstrip("\r\n")))
    return fields


def _parse_block(block: bytes) -> Message:
    """The header block as a compat32 :class:`Message`, as ``BytesHeaderParser``
    makes it; plain blocks (the usual case) are split directly (:func:`_plain_fields`)."""
    text = block.decode("ascii", "surrogateescape")
    fields = _plain_fields(text)
    if fields is None:
        return _HEADER_PARSER.parsestr(text)
    msg = _Part(policy=compat32)
    for name, value in fields:
        msg.set_raw(name, value)
    return msg


def _fields_of(msg: Message) -> dict:
    raw: dict[str, list] = {}
    for k, v in msg.raw_items():
        raw.setdefault(k.lower(), []).append(v)

    def values(name: str) -> list[str]:
        """Raw values (``raw_items``: compat32 would wrap 8-bit values in a Header
        object whose ``str()`` loses them)."""
        try:
            return [v if isinstance(v, str) else str(v) for v in raw.get(name, ())]
        except Exception:
            return []

    def get(name: str) -> str | None:
        vals = values(name)
        return decode_words(vals[0]) if vals else None

    f: dict = {k: None for k in FIELD_NAMES}
    f["date"] = get("date")
    f["from"] = get("from")
    f["to"] = _split_addresses(get("to"))
    f["cc"] = _split_addresses(get("cc"))
    f["reply_to"] = get("reply-to")
    f["msg_id"] = get("message-id")
    f["in_reply_to"] = get("in-reply-to")
    f["subject"] = get("subject")
    xoip = get("x-originating-ip")
    if xoip:
        m = _IP.search(xoip)
        xoip = m.group(1) if m else xoip.strip("[] ")
    f["x_originating_ip"] = xoip
    ua = get("user-agent") or get("x-mailer")
    f["user_agent"] = ua
    received = [decode_words(v) or "" for v in values("received")]
    f["received"] = received
    f["first_received"] = received[-1] if received else None
    f["second_received"] = received[-2] if len(received) > 1 else None
    return f


def received_ips(received: list[str]) -> list[str]:
    """The IP addresses named in ``from`` clauses of Received fields, top down
    (used for Zeek's ``path``)."""
    out: list[str] = []
    for r in received:
        low = r.lower()
        k = low.find("from ")
        if k < 0:
            continue
        end = low.find(" by ", k)
        clause = r[k:end if end > 0 else len(r)]
        m = _RECEIVED_FROM_IP.search(clause)
        if m:
            out.append(m.group(1) or m.group(2))
    return out


def parse_headers(block: bytes) -> dict:
    """The ``fields`` of :class:`MailParse` from a header block alone; never raises."""
    try:
        return _fields_of(_parse_block(bytes(block)))
    except Exception:
        f = {k: None for k in FIELD_NAMES}
        f.update(to=[], cc=[], received=[])
        return f


# ---------------------------------------------------------------- bodies
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def _b64decode(data: bytes | memoryview, defects: list[str]) -> bytes | memoryview:
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        pass
    clean = _B64_JUNK.sub(b"", data)
    if len(clean) % 4 == 1:
        clean = clean[:-1]
    clean += b"=" * (-len(clean) % 4)
    defects.append("invalid_base64")
    try:
        return binascii.a2b_base64(clean)
    except (binascii.Error, ValueError):
        return data


_B64_UNCLEAN = re.compile(rb"[^A-Za-z0-9+/\r\n]")
_B64_ALPHABET = bytes(range(0x41, 0x5B)) + bytes(range(0x61, 0x7B)) + b"0123456789+/"
_B64_LINES = _B64_ALPHABET + b"\r\n"
_PIECE = 1 << 16


def _clean_b64_size(buf: bytes, start: int, end: int) -> int | None:
    """The decoded size of the base64 body ``buf[start:end]`` when it is clean: the alphabet and line ends,
    then at most two ``=`` and line ends, a multiple of 4 characters (so binascii decodes it without error,
    and decoding it in pieces cut after whole groups of four gives the same bytes); None otherwise.

    One ``bytes.translate`` per ``_PIECE`` bytes deletes the alphabet: what is left are the piece's line
    ends (counted) or a byte that is neither, in the piece holding the padding (the last) or junk: there the
    first such byte is the padding's first ``=`` when the piece is clean before its last run of ``=`` and
    line ends, else ``_B64_UNCLEAN`` finds it (about three times quicker than the expression over the whole
    body, and no separate counts of ``\r`` and ``\n``)."""
    ends = 0
    pad = 0
    for i in range(start, end, _PIECE):
        j = min(i + _PIECE, end)
        rest = buf[i:j].translate(None, _B64_ALPHABET)
        if not rest.translate(None, b"\r\n"):
            ends += len(rest)
            continue
        # only the padding may follow: "=" (one or two) and line ends; when the piece is clean up to its last
        # run of them, the first byte out is that run's first "=" (the expression is for junk elsewhere)
        head = buf[i:j].rstrip(b"=\r\n")
        if head.translate(None, _B64_LINES):
            m = _B64_UNCLEAN.search(buf, i, j)
            assert m is not None
            first = m.start()
        else:
            first = buf.find(b"=", i + len(head), j)
        tail = buf[first:end]
        pad = tail.count(b"=")
        if len(tail) > 8 or pad > 2 or tail.translate(None, b"\r\n="):
            return None
        ends += buf.count(b"\r", i, end) + buf.count(b"\n", i, end)
        break
    n = end - start - ends
    if n % 4 or n == 0:
        return None
    return n // 4 * 3 - pad


def _b64_pieces(buf: bytes, start: int, end: int, limit: int) -> Iterator[bytes]:
    """The clean base64 body ``buf[start:end]`` (:func:`_clean_b64_size`) decoded in pieces of about
    ``_PIECE`` characters, each cut after a line end with a whole number of 4-character groups before it;
    the first ``limit`` bytes. A piece before the last holds no ``=``, so binascii decodes it without error
    exactly when its characters are whole groups: the piece cut after the first line end past ``_PIECE`` is
    decoded as it is (lines of 76 characters, nearly all, are whole groups), and only when binascii refuses
    it are the line ends counted to move the cut."""
    out = 0
    pos = start
    view = memoryview(buf)
    while pos < end and out < limit:
        cut = buf.find(b"\n", min(pos + _PIECE, end), end)
        cut = end if cut < 0 else cut + 1
        try:
            piece = binascii.a2b_base64(view[pos:cut])
        except binascii.Error:                  # not whole groups (only before the last piece)
            while cut < end and (cut - pos - buf.count(b"\r", pos, cut) - buf.count(b"\n", pos, cut)) % 4:
                nxt = buf.find(b"\n", cut, end)
                cut = end if nxt < 0 else nxt + 1
            piece = binascii.a2b_base64(view[pos:cut])
        if len(piece) > limit - out:
            piece = piece[:limit - out]
        out += len(piece)
        if piece:
            yield piece
        pos = cut


def _decode_body(body: bytes | memoryview, cte: str, defects: list[str]) -> bytes | memoryview:
    if cte == "base64":
        return _b64decode(body, defects)
    if cte == "quoted-printable":
        try:
            return binascii.a2b_qp(body)
        except (binascii.Error, ValueError):
            defects.append("invalid_quoted_printable")
            return body
    return body


def _split_multipart(buf: bytes, start: int, end: int, boundary: bytes) -> tuple[list[tuple[int, int]], bool]:
    """Parts of the multipart body ``buf[start:end]`` (RFC 2046 section 5.1.1), as (start, end) in ``buf``
    (no copy), and whether the close delimiter was found."""
    delim = b"--" + boundary
    parts: list[tuple[int, int]] = []
    pos = start
    part = -1
    while True:
        i = buf.find(delim, pos, end)
        if i < 0:
            break
        pos = i + len(delim)
        if i > start and buf[i - 1:i] != b"\n":
            continue
        j = pos
        closing = buf.startswith(b"--", j, end)
        if closing:
            j += 2
        # transport padding then end of line (or end of body)
        while j < end and buf[j:j + 1] in (b" ", b"\t"):
            j += 1
        if j < end and buf[j:j + 1] not in (b"\r", b"\n"):
            continue
        line_end = buf.find(b"\n", j, end)
        if part >= 0:
            e = i
            if e >= start + 2 and buf[e - 2:e] == b"\r\n":
                e -= 2
            elif e >= start + 1 and buf[e - 1:e] == b"\n":
                e -= 1
            parts.append((part, max(part, e)))      # a part of no bytes may end before it starts
        if closing:
            return parts, True
        part = end if line_end < 0 else line_end + 1
        pos = part
    if part >= 0:
        parts.append((part, end))
    return parts, False


def _disposition(msg: Message) -> str | None:
    v = msg.get("Content-Disposition")
    if v is None:
        return None
    d = str(v).split(";", 1)[0].strip().lower()
    return d or None


def _filename(msg: Message) -> str | None:
    try:
        name = msg.get_filename()
    except Exception:
        # get_filename looks at Content-Type's name when Content-Disposition has no
        # filename; here only when Content-Disposition could not be read at all
        try:
            p = msg.get_param("name")
            name = collapse_rfc2231_value(p) if p is not None else None
        except Exception:
            name = None
    if name is None:
        return None
    return decode_words(str(name))


def _charset(msg: Message) -> str | None:
    try:
        cs = msg.get_content_charset()
    except Exception:
        return None
    return cs if isinstance(cs, str) else None


def _boundary(msg: Message) -> str | None:
    try:
        b = msg.get_boundary()
    except Exception:
        return None
    return b if isinstance(b, str) and b else None


def _child_path(parent: str, index: int) -> str:
    if parent == "0":
        return str(index)
    if parent.endswith(".0"):
        parent = parent[:-2]
    return f"{parent}.{index}"


def _top_path(base: str, container: bool) -> str:
    """Path of the top entity of a message: ``0``/``1`` for the whole message,
    ``<base>.0``/``<base>.1`` for one encapsulated in part ``base``."""
    own = "0" if container else "1"
    return own if not base else f"{base}.{own}"


# ---------------------------------------------------------------- explode
def explode(data: bytes, limits: Limits | None = None, lazy_over: int | None = None) -> MailParse:
    """Parse one whole message; never raises (see the module docstring). ``lazy_over``: a base64 part larger
    than this many bytes, made only of the base64 alphabet and line ends (nearly every attachment), is not
    decoded here: its :class:`Attachment` holds where it is (``encoded``) and decodes it piece by piece
    (:meth:`Attachment.pieces`, the same bytes), so the message and one piece are in memory, not the message
    and the whole payload."""
    limits = limits or Limits()
    fields: dict = {k: None for k in FIELD_NAMES}
    fields.update(to=[], cc=[], received=[])
    parts: list[dict] = []
    attachments: list[Attachment] = []
    defects: list[str] = []
    anomalies: list[str] = []
    try:
        _explode(bytes(data), limits, fields, parts, attachments, defects, anomalies, lazy_over)
    except Exception as exc:  # a bug of ours: keep what we have, say so
        defects.append(f"parser_error: {type(exc).__name__}")
    return MailParse(fields, parts, attachments, defects, anomalies)


def _explode(data: bytes, limits: Limits, fields: dict, parts: list, attachments: list,
             defects: list, anomalies: list, lazy_over: int | None = None) -> None:
    def note(name: str) -> None:
        if name not in anomalies:
            anomalies.append(name)

    # stack entries: (the bytes holding the entity, where it starts and ends in them, path, depth, default
    # content type, is the top entity of a message); a message top's path is computed from its base. An
    # entity is never copied out of the message (a 4 MB message was copied three times, as body, part and
    # part body, before its attachment was decoded): only header blocks and decoded payloads are new bytes
    stack: list[tuple[bytes, int, int, str, int, str, bool]] = [(data, 0, len(data), "", 0, "text/plain", True)]
    while stack:
        buf, start, end, path, depth, default_ct, is_top = stack.pop()
        is_root = is_top and path == ""
        if len(parts) >= limits.max_mime_parts:
            note("mime_parts_too_many")
            break
        head, body, capped = _header_block(buf, start, end, limits.max_header_block)   # body: where it starts in buf
        if capped:
            note("mime_header_block_too_long")
        msg = _parse_block(head)
        for d in msg.defects:
            defects.append(type(d).__name__)
        if is_root:
            fields.update(_fields_of(msg))
        if msg.get("Content-Type") is None:
            ctype = default_ct
        else:
            try:
                ctype = msg.get_content_type()
            except Exception:
                ctype = "text/plain"
        maintype = ctype.split("/", 1)[0]
        boundary = _boundary(msg) if maintype == "multipart" else None
        is_container = (maintype == "multipart" and boundary is not None) or \
            ctype in ("message/rfc822", "message/global")
        if maintype == "multipart" and boundary is None:
            defects.append("multipart_without_boundary")
        if is_top:
            path = _top_path(path, is_container)
        disposition = _disposition(msg)
        filename = _filename(msg)
        node = {"path": path, "content_type": ctype, "charset": _charset(msg),
                "filename": filename, "disposition": disposition, "size": end - body,
                "depth": depth}
        parts.append(node)
        if is_container and depth >= limits.max_mime_depth:
            note("mime_too_deep")
            is_container = False   # kept as an opaque leaf
        if is_container:
            if maintype == "multipart":
                children, closed = _split_multipart(buf, body, end, boundary.encode("utf-8", "surrogateescape"))
                if not closed:
                    defects.append("multipart_missing_close_boundary")
                child_ct = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
                room = limits.max_mime_parts - len(parts) - len(stack)
                if len(children) > max(room, 0):
                    note("mime_parts_too_many")
                    children = children[:max(room, 0)]
                for k in range(len(children), 0, -1):
                    stack.append((buf, *children[k - 1], _child_path(path, k), depth + 1, child_ct, False))
            else:
                cte = str(msg.get("Content-Transfer-Encoding", "")).strip().lower()
                # the encapsulated message's parts are numbered below this part (IMAP)
                base = "" if path == "0" else (path[:-2] if path.endswith(".0") else path)
                if cte in ("base64", "quoted-printable"):
                    inner = bytes(_decode_body(memoryview(buf)[body:end], cte, defects))
                    stack.append((inner, 0, len(inner), base or "1", depth + 1, "text/plain", True))
                else:
                    stack.append((buf, body, end, base or "1", depth + 1, "text/plain", True))
            continue
        if body == end:
            continue
        cte = str(msg.get("Content-Transfer-Encoding", "")).strip().lower()
        is_att = disposition == "attachment" or filename is not None
        if cte == "base64" and lazy_over is not None and end - body > lazy_over:
            size = _clean_b64_size(buf, body, end)
            if size is not None:        # decoded later, a piece at a time (Attachment.pieces)
                if size > limits.max_file_size:
                    note("mime_part_capped")
                attachments.append(Attachment(part_path=path, filename=filename, declared_mime=ctype,
                                              disposition=disposition, is_attachment=is_att, data=b"",
                                              encoded=(buf, body, end, size, min(size, limits.max_file_size))))
                continue
        payload = _decode_body(memoryview(buf)[body:end], cte, defects)     # decoded from the message in place
        if len(payload) > limits.max_file_size:
            note("mime_part_capped")
            payload = payload[:limits.max_file_size]
        if type(payload) is not bytes:       # a part taken as it is: its own bytes, at last
            payload = bytes(payload)
        attachments.append(Attachment(part_path=path, filename=filename, declared_mime=ctype,
                                      disposition=disposition, is_attachment=is_att,
                                      data=payload))
