"""IMAP: the Internet Message Access Protocol (mailbox access), as seen on the wire.

What the protocol is
    A client logs in, selects a mailbox and fetches, searches, flags, appends or
    deletes messages kept on the server. Every client command starts with a *tag*;
    the server answers with any number of *untagged* responses (``* ...``) and ends
    with a *tagged* completion (``tag OK|NO|BAD text``). ``+ ...`` is a *continuation
    request*. Strings may be sent as *literals*: ``{n}`` CRLF followed by exactly
    ``n`` bytes, in both directions.

RFC sections followed
    * RFC 9051 / RFC 3501 section 2.2 (commands and responses), 4.3 (literals),
      5.1.3 (mailbox names in modified UTF-7, decoded for display), 6.2.2 LOGIN,
      6.2.2 AUTHENTICATE (base64 continuation exchange; SASL-IR initial response,
      RFC 4959), 6.2.1 STARTTLS (after its tagged OK the dissector returns
      :class:`StopParsing` "tls"), 6.3.1/6.3.2 SELECT/EXAMINE (the selected mailbox),
      6.3.12 APPEND, 6.4.5 FETCH and 7.5.2 (FETCH response items BODY[section]<origin>,
      RFC822, RFC822.HEADER, RFC822.TEXT, BINARY[]), 6.4.9 UID, 7.1 status responses
      and response codes. RFC 7888 LITERAL+ / LITERAL- (``{n+}``), RFC 3516 ``~{n}``
      literal8, RFC 2177 IDLE (``+ idling`` … ``DONE``), RFC 4978 COMPRESS (after its
      OK the stream is compressed: :class:`StopParsing` "compress").

What is extracted
    * events: :class:`ImapCommand`, :class:`ImapResponse` (untagged and tagged),
      :class:`ImapContinuation`, :class:`ImapAuthResponse`, :class:`ImapDone`,
      :class:`ImapLiteral` — each with ``summary()`` and ``meaning()``;
    * the ``imap`` table (:class:`ImapTransaction`), one row per tagged command:
      ``ts, tag, command, arg, status, reply_text, user, mailbox, fuids, sections``
      (``sections[i]`` names what ``fuids[i]`` holds, e.g. ``BODY[]``, ``APPEND``);
    * objects. **Whole messages** — a FETCH of ``BODY[]`` / ``BODY.PEEK[]`` (the
      server answers ``BODY[]``), ``RFC822`` or ``BINARY[]`` without a partial origin,
      and every APPEND message — become ``FileOpen(kind="email", source="IMAP")``.
      **Header sections** ``BODY[HEADER]`` and ``RFC822.HEADER`` are a valid RFC 5322
      message with an empty body: they also become ``kind="email"`` objects (as
      ``tshark --export-objects imf`` does), flagged by their section name in
      ``name_hint`` and in the row's ``sections``. **Every other section or partial
      fetch** (``BODY[TEXT]``, ``BODY[1.2]``, ``BODY[HEADER.FIELDS (...)]``,
      ``BODY[]<0>``, ``RFC822.TEXT``) becomes a plain ``kind="file"`` object.
    * credentials: LOGIN (``kind="password"``; atoms, quoted strings and literals),
      AUTHENTICATE PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER; ``success`` from the
      tagged OK/NO, ``None`` when no completion was seen.

Fetch responses are attached to the oldest pending FETCH command (else the oldest
pending command, else — server side only — to the next tagged completion).

One-sided and damaged captures
    * Server side only: responses, literals and fetched messages are decoded;
      the rows have an empty ``command``.
    * Client side only: commands, APPEND messages and credentials (success unknown).
    * Mid-stream start, after a gap outside a literal, and after an over-long line
      or a literal over the cap: lines are skipped until one parses (a tagged
      command with a known name, ``* ...`` with a known response, ``tag OK|NO|BAD``).
    * A gap inside a literal becomes :class:`FileGap` (the literal's byte count keeps
      the parser in sync); the object is closed incomplete. A capture that ends inside
      a literal closes it incomplete.
    * A synchronising client literal ``{n}`` that the server refuses with a tagged
      NO/BAD before any literal byte was sent is abandoned (RFC 9051 section 4.3).

Limits
    ``limits.max_line`` (``imap_line_too_long``), ``limits.max_literal``
    (``imap_literal_too_long``: the literal is not read, nothing is allocated, the
    parser resynchronises on the next line that parses), ``limits.max_pending_requests``
    (``imap_pending_too_many``), a logical command/response line (text between literals)
    is kept up to ``limits.max_header_block`` bytes (``imap_response_too_long``).
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from decoder.model import (
    MASK,
    ORIG, RESP, Anomaly, Confirm, Credential, Direction, Event,
    FileClose, FileGap, FileOpen, FlowContext, Record, StopParsing,
    Violation,
)
from dissectors._held import HeldData
from dissectors._lines import LineBuffer
from dissectors._sasl import SaslExchange
from dissectors.probes.imap import (  # noqa: F401 - SPECS and the probe are re-exported
    SPECS, _CMD_RE, COMMAND_MEANINGS, _KNOWN, probe, _TAG,
)

__all__ = [
    "ImapCommand", "ImapResponse", "ImapContinuation", "ImapAuthResponse", "ImapDone",
    "ImapLiteral", "ImapTransaction", "ImapDissector", "probe", "SPECS",
    "decode_mailbox",
]

# ---------------------------------------------------------------- constant tables

STATUS_MEANINGS = MappingProxyType({
    "OK": "the command completed successfully",
    "NO": "the command failed (e.g. wrong password, no such mailbox)",
    "BAD": "the command was not understood (protocol or syntax error)",
    "BYE": "the server is closing the connection",
    "PREAUTH": "greeting: the connection is already authenticated",
})

UNTAGGED_MEANINGS = MappingProxyType({
    "CAPABILITY": "the list of capabilities the server supports",
    "LIST": "one mailbox: its attributes, hierarchy separator and name",
    "LSUB": "one subscribed mailbox",
    "STATUS": "counters of a mailbox",
    "SEARCH": "the numbers of the messages that matched",
    "ESEARCH": "the result of an extended search",
    "FLAGS": "the flags defined in the selected mailbox",
    "EXISTS": "the number of messages in the mailbox",
    "RECENT": "the number of messages new since the last session",
    "EXPUNGE": "a message was permanently removed (later numbers shift down)",
    "FETCH": "data about one message (flags, headers, bodies)",
    "ENABLED": "the extensions that were turned on",
    "ID": "the server's software name and version",
    "NAMESPACE": "the mailbox name prefixes",
    "QUOTA": "quota usage",
    "QUOTAROOT": "the quota root of a mailbox",
    "XLIST": "one mailbox with special-use flags",
})

_UNTAGGED_WORDS = frozenset({b"OK", b"NO", b"BAD", b"BYE", b"PREAUTH", b"CAPABILITY", b"LIST",
                             b"LSUB", b"STATUS", b"SEARCH", b"ESEARCH", b"FLAGS", b"ENABLED",
                             b"ID", b"NAMESPACE", b"QUOTA", b"QUOTAROOT", b"XLIST", b"SORT",
                             b"THREAD", b"METADATA", b"ACL", b"MYRIGHTS", b"LISTRIGHTS"})
_NUMBERED = frozenset({b"EXISTS", b"RECENT", b"EXPUNGE", b"FETCH"})

_TAGGED_RE = re.compile(rb"^(" + _TAG + rb") (OK|NO|BAD)(?: |$)", re.I)
_UNTAGGED_RE = re.compile(rb"^\* (?:(\d+) )?([A-Za-z][A-Za-z0-9._-]*)", re.I)
_LIT_RE = re.compile(rb"(~?)\{(\d+)(\+?)\}$")
_SECTION_RE = re.compile(
    rb"(BODY\[[^\]]*\](?:<\d+>)?|BINARY\[[^\]]*\](?:<\d+>)?|RFC822(?:\.HEADER|\.TEXT)?)\s*$", re.I)
_FETCH_RE = re.compile(rb"^\* (\d+) FETCH", re.I)
_UID_RE = re.compile(rb"\bUID (\d+)", re.I)
_CODE_RE = re.compile(r"^\[([^\]]{0,200})\]\s*")
_TOKEN_RE = re.compile(rb'\s*("(?:[^"\\]|\\.)*"|\((?:[^()]|\([^()]*\))*\)|[^\s()]+)')
_MAILBOX_CMDS = frozenset({"SELECT", "EXAMINE"})
_SMALL_VALUE = 8192


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def decode_mailbox(name: str) -> str:
    """Decode IMAP's modified UTF-7 (RFC 3501 section 5.1.3); the input on error."""
    if "&" not in name:
        return name
    out: list[str] = []
    i = 0
    try:
        while i < len(name):
            j = name.find("&", i)
            if j < 0:
                out.append(name[i:])
                break
            out.append(name[i:j])
            k = name.find("-", j)
            if k < 0:
                return name
            chunk = name[j + 1:k]
            if not chunk:
                out.append("&")
            else:
                b = chunk.replace(",", "/")
                out.append(base64.b64decode(b + "=" * (-len(b) % 4), validate=True).decode("utf-16-be"))
            i = k + 1
    except (ValueError, UnicodeDecodeError):
        return name
    return "".join(out)


class _LitBytes(bytes):
    """A token that came from a literal (never unquoted)."""


def _unquote(tok: bytes | None) -> str:
    if tok is None:
        return ""
    if isinstance(tok, _LitBytes):
        return _text(tok)
    if len(tok) >= 2 and tok[:1] == b'"' and tok[-1:] == b'"':
        return _text(re.sub(rb"\\(.)", rb"\1", tok[1:-1]))
    return _text(tok)


# ---------------------------------------------------------------- events and records
@dataclass(frozen=True, slots=True)
class ImapCommand(Event):
    tag: str = ""
    command: str = ""
    arg: str = ""

    def summary(self) -> str:
        return f"IMAP {self.tag} {self.command} {self.arg}".rstrip()

    def meaning(self) -> str:
        return COMMAND_MEANINGS.get(self.command, "")


@dataclass(frozen=True, slots=True)
class ImapResponse(Event):
    tag: str = "*"            # "*" for untagged
    status: str = ""          # OK/NO/BAD/BYE/PREAUTH, "" for data responses
    keyword: str = ""         # FETCH, EXISTS, CAPABILITY, … (untagged data)
    number: int | None = None  # "* 3 EXISTS" → 3
    code: str = ""            # response code in brackets: "READ-WRITE", "UIDVALIDITY 1", …
    text: str = ""
    command: str = ""         # the command a tagged response completes
    greeting: bool = False

    def summary(self) -> str:
        if self.greeting:
            return f"IMAP greeting: * {self.status} {self.text}".rstrip()
        if self.tag != "*":
            what = f" ({self.command})" if self.command else ""
            return f"IMAP {self.tag} {self.status}{what} {self.text}".rstrip()
        head = f"* {self.number} {self.keyword}" if self.number is not None else f"* {self.keyword or self.status}"
        return f"IMAP {head} {self.text}".rstrip()

    def meaning(self) -> str:
        if self.greeting:
            return {"OK": "greeting: the server is ready, log in next",
                    "PREAUTH": STATUS_MEANINGS["PREAUTH"],
                    "BYE": "greeting: the server refuses the connection"}.get(self.status, "")
        if self.tag != "*":
            if self.command == "LOGIN" and self.status == "OK":
                return "login accepted"
            if self.command == "LOGIN" and self.status == "NO":
                return "login refused (wrong user name or password)"
            return STATUS_MEANINGS.get(self.status, "")
        if self.keyword and self.keyword in UNTAGGED_MEANINGS:
            return UNTAGGED_MEANINGS[self.keyword]
        if self.status in ("OK", "NO", "BAD"):
            return {"OK": "untagged information (see the response code)",
                    "NO": "untagged warning", "BAD": "untagged protocol error"}[self.status]
        return STATUS_MEANINGS.get(self.status, "")


@dataclass(frozen=True, slots=True)
class ImapContinuation(Event):
    """A server continuation request ``+ text``."""

    text: str = ""
    decoded: str = ""         # base64 text of a SASL challenge, decoded
    purpose: str = ""         # "sasl", "idle", "literal" or ""

    def summary(self) -> str:
        extra = f" ({self.decoded!r})" if self.decoded else ""
        return f"IMAP + {self.text}{extra}".rstrip()

    def meaning(self) -> str:
        return {"sasl": "SASL challenge: the client must answer with a base64 line",
                "idle": "the server is idling: it will push changes until DONE",
                "literal": "the server is ready for the client's literal bytes",
                }.get(self.purpose, "continuation request: the server waits for more from the client")


@dataclass(frozen=True, slots=True)
class ImapAuthResponse(Event):
    tag: str = ""
    data: str = ""
    decoded: str = ""

    def summary(self) -> str:
        extra = f" ({self.decoded!r})" if self.decoded else ""
        return f"IMAP AUTHENTICATE response: {self.data}{extra}"

    def meaning(self) -> str:
        return "the client's base64 answer in the SASL exchange (* cancels)"


@dataclass(frozen=True, slots=True)
class ImapDone(Event):
    tag: str = ""

    def summary(self) -> str:
        return "IMAP DONE"

    def meaning(self) -> str:
        return "ends IDLE; the server completes the IDLE command"


@dataclass(frozen=True, slots=True)
class ImapLiteral(Event):
    size: int = 0
    non_sync: bool = False    # {n+}
    purpose: str = ""         # "message", "section", "value", "skipped"
    section: str = ""         # BODY[], RFC822, BODY[HEADER], APPEND, …
    msg_number: int | None = None
    handle: str = ""

    def summary(self) -> str:
        mark = "+" if self.non_sync else ""
        what = {"message": "message", "section": "message part"}.get(self.purpose, "string")
        where = f" {self.section}" if self.section else ""
        n = f" of message {self.msg_number}" if self.msg_number is not None else ""
        return f"IMAP literal {{{self.size}{mark}}}: {what}{where}{n}"

    def meaning(self) -> str:
        base = "a string sent as an exact byte count"
        if self.non_sync:
            base += " without waiting for the server (LITERAL+)"
        if self.purpose == "message":
            return base + ": a whole message"
        if self.purpose == "section":
            return base + ": part of a message"
        return base


@dataclass(frozen=True, slots=True)
class ImapTransaction(Record):
    TABLE: ClassVar[str] = "imap"
    tag: str = ""
    command: str = ""
    arg: str = ""
    status: str = ""
    reply_text: str = ""
    user: str = ""
    mailbox: str = ""
    fuids: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()


# ---------------------------------------------------------------- state
class _Pending:
    __slots__ = ("ts", "tag", "command", "arg", "sasl", "mailbox", "fuids", "sections",
                 "login_user", "login_pass", "status", "text")

    def __init__(self, ts: float, tag: str, command: str, arg: str) -> None:
        self.ts = ts
        self.tag = tag
        self.command = command
        self.arg = arg
        self.sasl: SaslExchange | None = None
        self.mailbox = ""
        self.fuids: list[str] = []
        self.sections: list[str] = []
        self.login_user: str | None = None
        self.login_pass = ""
        self.status = ""
        self.text = ""


class _Lit:
    __slots__ = ("size", "value")

    def __init__(self, size: int, value: bytes | None) -> None:
        self.size = size
        self.value = value


class _Side:
    __slots__ = ("buf", "parts", "ts", "tag", "command", "text_len", "truncated",
                 "lit_left", "lit_on", "lit_size", "lit_sync", "lit_kind", "lit_handle",
                 "lit_opened", "lit_value", "lit_meta", "lit_got", "lit_missing",
                 "lit_capped", "resync", "fuids", "sections", "held")

    def __init__(self, max_line: int, d: Direction, max_file_size: int) -> None:
        self.buf = LineBuffer(max_line, "imap_line_too_long", d, self.lost_line)
        self.held = HeldData(max_file_size)     # the literal's bytes not yet handed on
        self.parts: list | None = None
        self.ts = 0.0
        self.tag = ""
        self.command = ""
        self.text_len = 0
        self.truncated = False
        self.lit_on = False
        self.lit_left = 0
        self.lit_size = 0
        self.lit_sync = False
        self.lit_kind = ""
        self.lit_handle = ""
        self.lit_opened = False
        self.lit_value: bytearray | None = None
        self.lit_meta: tuple = ()
        self.lit_got = 0
        self.lit_missing = 0
        self.lit_capped = False
        self.resync = False
        self.fuids: list[str] = []
        self.sections: list[str] = []

    def lost_line(self) -> None:
        """An over-long line was dropped: resynchronise on the next line that parses."""
        self.parts = None
        self.resync = True


# ---------------------------------------------------------------- dissector
class ImapDissector:
    """Sans-IO IMAP dissector: ``feed(direction, data, ts)`` → items."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self._lim = ctx.limits
        lim = ctx.limits
        self._side = (_Side(lim.max_line, ORIG, lim.max_file_size), _Side(lim.max_line, RESP, lim.max_file_size))
        self._pending: dict[str, _Pending] = {}
        self._orphans: list[tuple[str, str]] = []
        self._confirmed = False
        self._violated = False
        self._stopped = False
        self._greeted = False
        self._seen_server = False
        self._unparsed = 0
        self._user = ""
        self._mailbox = ""
        self._nfile = 0
        self._pending_warned = False

    # ------------------------------------------------------------ contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        out: list = []
        if self._stopped or self._violated or not data:
            return out
        try:
            if direction is RESP:
                self._seen_server = True
            side = self._side[direction]
            side.buf.push(data)
            if not self._confirmed and not side.lit_on and (
                    b"\x00" in data or side.buf.startswith(b"\x16\x03")):
                self._violated = True
                out.append(Violation(ts, "binary data (NUL bytes or a TLS record) where IMAP text was expected"))
                return out
            self._pump(direction, ts, out)
        except Exception as exc:  # pragma: no cover - our own bug, contained
            out.append(Anomaly(ts, "imap_internal_error", f"{type(exc).__name__}: {exc}", direction))
            side = self._side[direction]
            side.buf.clear()
            side.parts = None
            side.lit_on = False
            side.resync = True
        return out

    def bulk(self, direction: Direction) -> int:
        """BulkDissector: inside a literal (its object already open) with nothing buffered, the bytes
        left of it, up to the store's cap; :meth:`_pump` takes any split of them alike."""
        side = self._side[direction]
        if self._stopped or self._violated or not side.lit_on or len(side.buf):
            return 0
        if side.lit_kind in ("message", "section"):
            return min(side.lit_left, side.held.room(side.lit_handle)) if side.lit_opened else 0
        return side.lit_left

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        out: list = []
        if self._stopped or self._violated or length <= 0:
            return out
        side = self._side[direction]
        if side.lit_on:
            # bytes still buffered belong to the literal first
            n = min(len(side.buf), side.lit_left)
            if n:
                chunk = side.buf.take(n)
                side.lit_left -= n
                self._lit_data(direction, side, chunk, ts, out)
            miss = min(length, side.lit_left)
            if miss:
                side.lit_left -= miss
                side.lit_missing += miss
                if side.lit_kind in ("message", "section"):
                    self._lit_open(direction, side, ts, out)
                    side.held.flush(out)
                    out.append(FileGap(ts, side.lit_handle, miss))
            if side.lit_left == 0:
                self._lit_end(direction, side, ts, out)
            length -= miss
            if length <= 0:
                return out
        side.buf.clear()
        side.parts = None
        side.resync = True
        return out

    def close(self, ts: float) -> list:
        out: list = []
        if self._violated:
            return out
        for d in (ORIG, RESP):
            side = self._side[d]
            if side.lit_on:
                n = 0 if self._stopped else min(len(side.buf), side.lit_left)
                if n:
                    chunk = side.buf.take(n)
                    side.lit_left -= n
                    self._lit_data(d, side, chunk, ts, out)
                self._lit_end(d, side, ts, out, reason="capture ended inside the literal")
        for p in list(self._pending.values()):
            self._finish(p, ts, out)
        self._pending.clear()
        if self._orphans:
            p = _Pending(ts, "", "", "")
            self._finish(p, ts, out)
        self._release(out)
        return out

    # ------------------------------------------------------------ plumbing
    def _release(self, out: list) -> None:
        """Hand on the literals' held bytes (before stopping or at the close)."""
        for side in self._side:
            side.held.flush(out)

    def _confirm(self, ts: float, out: list) -> None:
        if not self._confirmed:
            self._confirmed = True
            out.append(Confirm(ts))

    def _skip(self, line: bytes, ts: float, out: list, d: Direction, strict: bool) -> None:
        """A line that does not parse."""
        if not line.strip():
            return
        if strict or not self._confirmed:
            if not self._confirmed:
                self._unparsed += 1
                if self._unparsed > 64:
                    self._violated = True
                    out.append(Violation(ts, "no IMAP command or response in the first 64 lines"))
            return
        name = "imap_bad_command" if d is ORIG else "imap_bad_response"
        out.append(Anomaly(ts, name, f"unparsable line {line[:60]!r}", d))

    def _pump(self, d: Direction, ts: float, out: list) -> None:
        side = self._side[d]
        buf = side.buf
        while not self._stopped and not self._violated:
            if side.lit_on:
                if side.lit_left:
                    chunk = buf.take(side.lit_left)
                    if not chunk:
                        return
                    side.lit_left -= len(chunk)
                    self._lit_data(d, side, chunk, ts, out)
                    if side.lit_left:     # the buffer is empty
                        return
                if side.lit_left == 0:
                    self._lit_end(d, side, ts, out)
                continue
            for line in buf.lines(ts, out):
                self._line(d, side, line, ts, out)
                if side.lit_on or self._stopped or self._violated:
                    break
            else:
                return

    # ------------------------------------------------------------ lines
    def _line(self, d: Direction, side: _Side, line: bytes, ts: float, out: list) -> None:
        if side.parts is None:
            if not self._start_logical(d, side, line, ts, out):
                return
        m = _LIT_RE.search(line)
        if m is None or (d is RESP and side.tag == "+"):
            self._add_text(side, line, ts, out)
            self._complete(d, side, ts, out)
            return
        self._add_text(side, line[:m.start()], ts, out)
        digits = m.group(2)
        size = int(digits) if len(digits) <= 19 else 1 << 64
        if size > self._lim.max_literal:
            out.append(Anomaly(ts, "imap_literal_too_long",
                               f"literal of {digits[:24].decode()} bytes exceeds the limit of "
                               f"{self._lim.max_literal}; not read, resynchronising", d))
            side.parts.append(_Lit(size, None))
            self._complete(d, side, ts, out)
            side.resync = True
            return
        self._lit_start(d, side, size, non_sync=bool(m.group(3)), literal8=bool(m.group(1)),
                        ts=ts, out=out)

    def _add_text(self, side: _Side, text: bytes, ts: float, out: list) -> None:
        room = self._lim.max_header_block - side.text_len
        if len(text) > room:
            if not side.truncated:
                side.truncated = True
                out.append(Anomaly(ts, "imap_response_too_long",
                                   f"command/response text over {self._lim.max_header_block} bytes; the rest is not kept"))
            text = text[:max(room, 0)]
        side.text_len += len(text)
        side.parts.append(text)

    def _start_logical(self, d: Direction, side: _Side, line: bytes, ts: float, out: list) -> bool:
        strict = side.resync or not self._confirmed
        if d is ORIG:
            if self._client_special(side, line, ts, out):
                return False
            m = _CMD_RE.match(line)
            if m is None:
                self._skip(line, ts, out, d, strict)
                return False
            cmd = m.group(2).decode("ascii").upper()
            if cmd not in _KNOWN and strict:
                self._skip(line, ts, out, d, strict)
                return False
            tag = m.group(1).decode("ascii", "replace")
            if cmd == "UID":
                rest = line[m.end():].lstrip()
                word = rest.split(b" ", 1)[0].upper()
                if word.isalpha():
                    cmd = "UID " + word.decode("ascii")
            side.tag, side.command = tag, cmd
            self._confirm(ts, out)
        else:
            if line[:1] == b"+" and (len(line) == 1 or line[1:2] == b" "):
                if strict and not self._pending:
                    self._skip(line, ts, out, d, strict)
                    return False
                side.tag, side.command = "+", ""
            elif line[:2] == b"* ":
                m = _UNTAGGED_RE.match(line)
                if m is None:
                    self._skip(line, ts, out, d, strict)
                    return False
                word = m.group(2).upper()
                ok = (word in _NUMBERED) if m.group(1) else (word in _UNTAGGED_WORDS)
                if not ok and strict:
                    self._skip(line, ts, out, d, strict)
                    return False
                side.tag, side.command = "*", word.decode("ascii", "replace")
                if word in (b"OK", b"PREAUTH", b"BYE", b"CAPABILITY") or self._pending:
                    self._confirm(ts, out)
            else:
                m = _TAGGED_RE.match(line)
                if m is None:
                    self._skip(line, ts, out, d, strict)
                    return False
                side.tag = m.group(1).decode("ascii", "replace")
                side.command = m.group(2).decode("ascii").upper()
                if strict and not self._confirmed and side.tag not in self._pending:
                    # an unknown tag with OK/NO/BAD is plausible IMAP: accept but do not confirm yet
                    pass
                else:
                    self._confirm(ts, out)
        side.resync = False
        side.parts = []
        side.ts = ts
        side.text_len = 0
        side.truncated = False
        side.fuids = []
        side.sections = []
        return True

    def _client_special(self, side: _Side, line: bytes, ts: float, out: list) -> bool:
        """SASL responses and DONE: client lines that are not commands."""
        if not self._pending:
            return False
        last = next(reversed(self._pending.values()))
        if last.status:
            return False
        if last.sasl is not None and not side.resync:
            r = last.sasl.client_line(line, self._seen_server)
            if r is not None:
                out.append(ImapAuthResponse(ts, ORIG, tag=last.tag, data=MASK))  # it carries the secret
                return True
        if last.command == "IDLE" and line.strip().upper() == b"DONE":
            out.append(ImapDone(ts, ORIG, tag=last.tag))
            side.resync = False
            return True
        return False

    # ------------------------------------------------------------ literals
    def _lit_start(self, d: Direction, side: _Side, size: int, non_sync: bool, literal8: bool,
                   ts: float, out: list) -> None:
        kind, section, msg_no, hint = "value", "", None, None
        text_so_far = b"".join(p for p in side.parts if isinstance(p, bytes))
        if d is ORIG:
            if side.command == "APPEND":
                after = text_so_far.split(b" ", 2)[2:] if text_so_far.count(b" ") >= 2 else []
                ntok = len(_TOKEN_RE.findall(after[0])) if after else 0
                ntok += sum(1 for p in side.parts if isinstance(p, _Lit))
                if ntok >= 1:
                    kind, section, hint = "message", "APPEND", "APPEND"
        else:
            last_text = side.parts[-1] if side.parts and isinstance(side.parts[-1], bytes) else b""
            sm = _SECTION_RE.search(last_text)
            fm = _FETCH_RE.match(text_so_far)
            if sm and fm:
                section = sm.group(1).decode("ascii", "replace").upper()
                msg_no = int(fm.group(1)) if len(fm.group(1)) < 12 else None
                whole = section in ("BODY[]", "RFC822", "BINARY[]")
                header = section in ("BODY[HEADER]", "RFC822.HEADER")
                kind = "message" if (whole or header) else "section"
                um = _UID_RE.search(text_so_far)
                hint = f"message {msg_no} {section}" + (f" UID {um.group(1).decode()}" if um else "")
        side.lit_on = True
        side.lit_left = size
        side.lit_size = size
        side.lit_sync = not non_sync
        side.lit_got = 0
        side.lit_missing = 0
        side.lit_capped = False
        side.lit_opened = False
        side.lit_value = None
        side.lit_handle = ""
        if kind == "value" and size > _SMALL_VALUE:
            kind = "skipped"
        side.lit_kind = kind
        if kind == "value":
            side.lit_value = bytearray()
        if kind in ("message", "section"):
            self._nfile += 1
            side.lit_handle = f"imap-{self._nfile}"
            fuid = self.ctx.fuid(side.lit_handle)
            side.fuids.append(fuid)
            side.sections.append(section)
            side.lit_meta = (section, hint, size)
            if d is RESP:
                self._attach(fuid, section)
        out.append(ImapLiteral(ts, d, size=size, non_sync=non_sync, purpose=kind, section=section,
                               msg_number=msg_no, handle=side.lit_handle))

    def _attach(self, fuid: str, section: str) -> None:
        target = None
        for p in self._pending.values():
            if p.command.endswith("FETCH"):
                target = p
                break
        if target is None and self._pending:
            target = next(iter(self._pending.values()))
        if target is None:
            self._orphans.append((fuid, section))
        else:
            target.fuids.append(fuid)
            target.sections.append(section)

    def _lit_open(self, d: Direction, side: _Side, ts: float, out: list) -> None:
        if side.lit_opened:
            return
        side.lit_opened = True
        section, hint, size = side.lit_meta
        kind = "email" if side.lit_kind == "message" else "file"
        out.append(FileOpen(ts, side.lit_handle, "IMAP", kind=kind, name_hint=hint,
                            mime_type="message/rfc822" if kind == "email" else None,
                            total_size=size, direction=d))

    def _lit_data(self, d: Direction, side: _Side, chunk: bytes, ts: float, out: list) -> None:
        if not chunk:
            return
        side.lit_got += len(chunk)
        if side.lit_kind in ("message", "section"):
            self._lit_open(d, side, ts, out)
            side.held.add(out, ts, side.lit_handle, chunk)
        elif side.lit_kind == "value" and side.lit_value is not None:
            side.lit_value += chunk

    def _lit_end(self, d: Direction, side: _Side, ts: float, out: list, reason: str = "",
                 refused: bool = False) -> None:
        side.lit_on = False
        if side.lit_kind in ("message", "section"):
            if refused and not side.lit_opened:
                pass
            else:
                self._lit_open(d, side, ts, out)
                complete = side.lit_missing == 0 and side.lit_got == side.lit_size
                if not complete and not reason:
                    reason = f"{side.lit_size - side.lit_got} bytes missing"
                side.held.end(out)
                out.append(FileClose(ts, side.lit_handle, complete=complete, reason=reason))
        value = bytes(side.lit_value) if side.lit_value is not None else None
        if side.parts is not None:
            side.parts.append(_Lit(side.lit_size, value))
        side.lit_value = None
        if reason and side.parts is not None:
            # the capture ended inside the literal: the logical line is complete as far as known
            self._complete(d, side, ts, out)

    # ------------------------------------------------------------ logical lines
    def _tokens(self, parts: list, skip_words: int) -> list[bytes | None]:
        """Tokens after the first ``skip_words`` words; literals are their value (None if not kept)."""
        toks: list[bytes | None] = []
        first = True
        for p in parts:
            if isinstance(p, _Lit):
                toks.append(None if p.value is None else _LitBytes(p.value))
                continue
            text = p
            if first:
                first = False
                text = b" ".join(text.split(b" ")[skip_words:]) if text.count(b" ") >= skip_words else b""
            toks.extend(_TOKEN_RE.findall(text))
        return toks

    def _display(self, parts: list, skip_words: int) -> str:
        res: list[str] = []
        first = True
        for p in parts:
            if isinstance(p, _Lit):
                v = p.value
                if v is not None and len(v) <= 200 and all(32 <= c < 127 for c in v):
                    res.append('"' + v.decode("ascii").replace("\\", "\\\\").replace('"', '\\"') + '"')
                else:
                    res.append(f"{{{p.size} bytes}}")
                continue
            text = p
            if first:
                first = False
                text = b" ".join(text.split(b" ")[skip_words:]) if text.count(b" ") >= skip_words else b""
            res.append(_text(text))
        return "".join(res).strip()

    def _complete(self, d: Direction, side: _Side, ts: float, out: list) -> None:
        parts = side.parts or []
        side.parts = None
        if d is ORIG:
            self._command(side, parts, ts, out)
        else:
            self._response(side, parts, ts, out)

    def _command(self, side: _Side, parts: list, ts: float, out: list) -> None:
        tag, cmd = side.tag, side.command
        skip = 3 if cmd.startswith("UID ") else 2
        arg = self._display(parts, skip)
        toks = self._tokens(parts, skip)
        p = _Pending(side.ts, tag, cmd, arg)
        p.fuids.extend(side.fuids)
        p.sections.extend(side.sections)
        if cmd == "LOGIN":
            p.login_user = _unquote(toks[0]) if toks else ""
            p.login_pass = _unquote(toks[1]) if len(toks) > 1 else ""
        elif cmd == "AUTHENTICATE" and toks:
            mech = _unquote(toks[0])
            p.sasl = SaslExchange(mech, _unquote(toks[1]) if len(toks) > 1 else None)
            if p.sasl.responses and p.sasl.responses[0] == "=":
                p.sasl.responses[0] = ""
        elif cmd in _MAILBOX_CMDS and toks:
            p.mailbox = decode_mailbox(_unquote(toks[0]))
        if cmd == "LOGIN" and len(toks) > 1:          # the password (any form: atom, quoted, literal)
            arg = f"{p.login_user} {MASK}"
            p.arg = arg
        elif cmd == "AUTHENTICATE" and len(toks) > 1:  # an initial response carries the secret
            arg = f"{p.sasl.mechanism if p.sasl is not None else ''} {MASK}"
            p.arg = arg
        out.append(ImapCommand(side.ts, ORIG, tag=tag, command=cmd, arg=arg))
        old = self._pending.pop(tag, None)
        if old is not None:
            self._finish(old, ts, out)
        self._pending[tag] = p
        if len(self._pending) > self._lim.max_pending_requests:
            first = next(iter(self._pending))
            if not self._pending_warned:
                self._pending_warned = True
                out.append(Anomaly(ts, "imap_pending_too_many",
                                   f"more than {self._lim.max_pending_requests} uncompleted commands", ORIG))
            self._finish(self._pending.pop(first), ts, out)

    def _response(self, side: _Side, parts: list, ts: float, out: list) -> None:
        tag = side.tag
        first = parts[0] if parts and isinstance(parts[0], bytes) else b""
        if tag == "+":
            txt = _text(first[1:].strip())
            purpose, decoded = "", ""
            last = next(reversed(self._pending.values())) if self._pending else None
            if self._side[ORIG].lit_on:
                purpose = "literal"
            elif last is not None and not last.status:
                if last.sasl is not None:
                    purpose = "sasl"
                    decoded = last.sasl.challenge(txt)
                elif last.command == "IDLE":
                    purpose = "idle"
            out.append(ImapContinuation(ts, RESP, text=txt, decoded=decoded, purpose=purpose))
            return
        if tag == "*":
            m = _UNTAGGED_RE.match(first)
            number = int(m.group(1)) if m and m.group(1) and len(m.group(1)) < 12 else None
            word = side.command
            rest_parts = list(parts)
            if rest_parts and isinstance(rest_parts[0], bytes) and m:
                rest_parts[0] = rest_parts[0][m.end():]
            text = self._display(rest_parts, 0)
            status = word if word in ("OK", "NO", "BAD", "BYE", "PREAUTH") else ""
            code = ""
            if status:
                cm = _CODE_RE.match(text)
                if cm:
                    code = cm.group(1)
                    text = text[cm.end():]
            greeting = False
            if not self._greeted and status in ("OK", "PREAUTH", "BYE") and not self._pending:
                greeting = True
            self._greeted = True
            if word == "CAPABILITY" or (status and code.upper().startswith("CAPABILITY")):
                pass
            out.append(ImapResponse(ts, RESP, tag="*", status=status,
                                    keyword="" if status else word, number=number, code=code,
                                    text=text, greeting=greeting))
            return
        # tagged completion
        status = side.command
        text = self._display(parts, 2)
        code = ""
        cm = _CODE_RE.match(text)
        if cm:
            code = cm.group(1)
        self._greeted = True
        # a synchronising client literal refused before any byte was sent (RFC 9051 4.3)
        cside = self._side[ORIG]
        if (cside.lit_on and cside.tag == tag and cside.lit_sync and cside.lit_got == 0
                and cside.lit_missing == 0 and status in ("NO", "BAD")):
            self._lit_end(ORIG, cside, ts, out, refused=True)
            self._complete(ORIG, cside, ts, out)
        p = self._pending.pop(tag, None)
        out.append(ImapResponse(ts, RESP, tag=tag, status=status, code=code, text=text,
                                command=p.command if p else ""))
        if p is None:
            p = _Pending(ts, tag, "", "")
        p.status, p.text = status, text
        self._finish(p, ts, out)
        if status == "OK" and p.command in ("STARTTLS", "COMPRESS"):
            self._stopped = True
            self._release(out)
            out.append(StopParsing(ts, "tls" if p.command == "STARTTLS" else "compress"))

    def _finish(self, p: _Pending, ts: float, out: list) -> None:
        success = None if not p.status else p.status == "OK"
        if p.login_user is not None:
            out.append(Credential(p.ts, protocol="imap", username=p.login_user,
                                  secret=p.login_pass, kind="password", success=success))
            if success or (success is None and not self._user):
                self._user = p.login_user
        if p.sasl is not None:
            cred = p.sasl.credential()
            if cred is not None:
                out.append(Credential(p.ts, protocol="imap", username=cred[0], secret=cred[1],
                                      kind=cred[2], success=success))
                if success or (success is None and not self._user):
                    self._user = cred[0]
        if p.status == "OK" and p.command in _MAILBOX_CMDS:
            self._mailbox = p.mailbox
        elif p.status == "OK" and p.command in ("CLOSE", "UNSELECT"):
            self._mailbox = ""
        elif p.status and p.command in _MAILBOX_CMDS:
            self._mailbox = ""   # a failed SELECT leaves no mailbox selected (RFC 9051 6.3.2)
        if not p.command and self._orphans:
            p.fuids.extend(f for f, _ in self._orphans)
            p.sections.extend(s for _, s in self._orphans)
            self._orphans.clear()
        mailbox = p.mailbox if p.command in _MAILBOX_CMDS else self._mailbox
        out.append(ImapTransaction(p.ts, tag=p.tag, command=p.command, arg=p.arg, status=p.status,
                                   reply_text=p.text, user=self._user, mailbox=mailbox,
                                   fuids=tuple(p.fuids), sections=tuple(p.sections)))
