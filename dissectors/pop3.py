"""POP3: the Post Office Protocol, version 3 (mail download), as seen on the wire.

What the protocol is
    A client logs in to a mailbox and downloads (RETR), previews (TOP) or deletes
    (DELE) messages. Commands are single CRLF-terminated lines; replies start with
    ``+OK`` or ``-ERR``. Some replies are *multi-line*: the status line is followed by
    lines ending in a line holding a single dot, with lines that begin with a dot
    "byte-stuffed" (an extra dot prepended).

RFC sections followed
    * RFC 1939 section 3 (commands/replies, multi-line responses and byte-stuffing),
      sections 4-7 (USER, PASS, APOP, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT, TOP,
      UIDL). Whether a reply is multi-line depends on the command and its argument:
      ``LIST``/``UIDL`` without argument, ``RETR``, ``TOP``, ``CAPA`` and an argument-less
      ``AUTH`` (mechanism list, as many servers implement it) are multi-line *when the
      status is* ``+OK``; ``-ERR`` is always a single line.
    * RFC 2449: CAPA (multi-line), extended response codes (``-ERR [IN-USE] ...``),
      PIPELINING (commands are queued in order and matched to replies in order).
    * RFC 2595 section 4: STLS; after its ``+OK`` the dissector returns
      :class:`StopParsing` ("tls") and the rest of the flow is opaque.
    * RFC 5034: AUTH with an optional initial response and ``+ `` continuations; the
      SASL mechanisms PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), XOAUTH2 and
      OAUTHBEARER (RFC 7628) yield credentials.

What is extracted
    * events: :class:`Pop3Command`, :class:`Pop3Reply` (with ``meaning()``),
      :class:`Pop3AuthData` (SASL exchange lines), :class:`Pop3Listing` (multi-line
      CAPA/LIST/UIDL bodies), :class:`Pop3Message` (end of a RETR/TOP body);
    * the ``pop3`` table (:class:`Pop3Transaction`), one row per command:
      ``ts, command, arg, reply_status, reply_msg, user, fuid, msg_number, msg_size,
      partial``;
    * every RETR message as a file object ``FileOpen(kind="email", source="POP3")`` with
      the exact un-stuffed message bytes (the final CRLF before the terminating dot
      belongs to the message, RFC 1939 section 3). TOP bodies are objects of
      ``kind="email"`` too (headers plus the first lines of the body), flagged
      ``partial=True`` in their table row, with ``name_hint="TOP <n> <lines>"``;
    * credentials: USER/PASS (``kind="password"``), APOP (``kind="apop"``, the secret
      is the MD5 digest; the greeting's timestamp is in the greeting
      :class:`Pop3Reply` ``apop_challenge``), AUTH (per mechanism). ``success`` comes
      from the ``+OK``/``-ERR`` that answers, ``None`` when no reply was seen.

One-sided and damaged captures
    * Client side only: commands and credentials (success unknown) are reported; the
      rows get an empty ``reply_status``.
    * Server side only: replies are reported with an empty ``command``. Whether an
      ``+OK`` starts a multi-line body is then guessed from the next line (another
      status line means it was single-line); a body is taken as a message when the
      status says ``octets`` or its first line looks like a header field, else as a
      listing.
    * Mid-stream start, and after a gap outside a message: lines are skipped until
      one parses (a known command, a status line).
    * A gap inside a message becomes :class:`FileGap` and the message is closed
      incomplete; the scan for the terminator then continues (if the gap swallowed
      the terminator, the following replies are taken as message bytes until the
      next terminator: a known limit).

Limits
    ``limits.max_line`` (anomaly ``pop3_line_too_long``), ``limits.max_message``
    (``pop3_message_too_long``: data beyond it is dropped and the object closed
    incomplete), ``limits.max_pending_requests`` (``pop3_pending_too_many``: the
    oldest unanswered command is reported without reply). Listings keep at most
    ``max_pending_requests`` entries in their event (the count is exact).
"""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from decoder.model import (
    MASK,
    ORIG, RESP, Anomaly, Confirm, Credential, Direction, Event,
    FileClose, FileGap, FileOpen, FlowContext, Record, StopParsing,
    Violation,
)
from dissectors._held import LINE_DOT, PAST_CAP, HeldData
from dissectors._lines import LineBuffer
from dissectors._sasl import SaslExchange
from dissectors.probes.pop3 import SPECS, probe  # noqa: F401 - SPECS, probe: re-exported

__all__ = [
    "Pop3Command", "Pop3Reply", "Pop3AuthData", "Pop3Listing", "Pop3Message",
    "Pop3Transaction", "Pop3Dissector", "probe", "SPECS",
]

# ---------------------------------------------------------------- constant tables
COMMAND_MEANINGS = MappingProxyType({
    "USER": "gives the mailbox (user) name; a PASS must follow (RFC 1939 s.7)",
    "PASS": "gives the password for the user named by USER, in clear text (RFC 1939 s.7)",
    "APOP": "logs in with a user name and an MD5 digest of the greeting's timestamp and the shared secret (RFC 1939 s.7)",
    "AUTH": "starts a SASL authentication exchange with the named mechanism (RFC 5034)",
    "STLS": "asks to switch the connection to TLS; after +OK everything is encrypted (RFC 2595 s.4)",
    "CAPA": "asks the server to list its capabilities (RFC 2449 s.5)",
    "STAT": "asks for the number of messages and their total size in octets (RFC 1939 s.5)",
    "LIST": "asks for the size of one message, or of every message (multi-line) (RFC 1939 s.5)",
    "UIDL": "asks for the unique id of one message, or of every message (multi-line) (RFC 1939 s.7)",
    "RETR": "downloads a whole message (multi-line, byte-stuffed) (RFC 1939 s.5)",
    "TOP": "downloads the headers and the first n body lines of a message (RFC 1939 s.7)",
    "DELE": "marks a message for deletion when the session ends (RFC 1939 s.5)",
    "RSET": "unmarks every message marked for deletion (RFC 1939 s.5)",
    "NOOP": "does nothing; the server replies +OK (keep-alive) (RFC 1939 s.5)",
    "QUIT": "ends the session; marked messages are deleted now (RFC 1939 s.6)",
    "LAST": "asks for the highest message number accessed (obsolete, RFC 1460)",
    "UTF8": "asks the server to use UTF-8 (RFC 6856)",
    "LANG": "asks for a language for server texts (RFC 6856)",
})

REPLY_MEANINGS = MappingProxyType({
    ("", "+OK"): "server greeting: ready for the login",
    ("", "-ERR"): "server refuses the connection",
    ("USER", "+OK"): "user name accepted, send the password",
    ("USER", "-ERR"): "user name refused",
    ("PASS", "+OK"): "password accepted: logged in, the mailbox is locked for this session",
    ("PASS", "-ERR"): "login failed (wrong password or mailbox locked)",
    ("APOP", "+OK"): "digest accepted: logged in",
    ("APOP", "-ERR"): "APOP login failed",
    ("AUTH", "+OK"): "authentication succeeded",
    ("AUTH", "-ERR"): "authentication failed or mechanism not supported",
    ("AUTH", "+"): "server challenge: the client must answer with a base64 line",
    ("STLS", "+OK"): "the TLS handshake starts now; the rest is encrypted",
    ("STLS", "-ERR"): "TLS refused",
    ("CAPA", "+OK"): "capability list follows",
    ("STAT", "+OK"): "mailbox size: number of messages and total octets",
    ("LIST", "+OK"): "message size(s) follow",
    ("LIST", "-ERR"): "no such message",
    ("UIDL", "+OK"): "unique id(s) follow",
    ("UIDL", "-ERR"): "no such message",
    ("RETR", "+OK"): "the message follows",
    ("RETR", "-ERR"): "no such message",
    ("TOP", "+OK"): "the headers and first lines follow",
    ("TOP", "-ERR"): "no such message",
    ("DELE", "+OK"): "message marked for deletion",
    ("DELE", "-ERR"): "no such message, or already deleted",
    ("RSET", "+OK"): "deletion marks removed",
    ("NOOP", "+OK"): "still here",
    ("QUIT", "+OK"): "goodbye; the update state ran",
    ("QUIT", "-ERR"): "some deleted messages could not be removed",
})

STATUS_MEANINGS = MappingProxyType({
    "+OK": "positive reply: the command succeeded",
    "-ERR": "negative reply: the command failed",
    "+": "continuation: the server waits for more data from the client",
})

#: commands whose ``+OK`` reply is multi-line (second element: only without argument)
_MULTILINE = MappingProxyType({
    "RETR": False, "TOP": False, "CAPA": False, "LIST": True, "UIDL": True, "AUTH": True,
})
_KNOWN = frozenset(COMMAND_MEANINGS) | {"XTND", "XSENDER"}
_CMD_RE = re.compile(rb"^([A-Za-z][A-Za-z0-9]{1,14})(?: (.*))?$", re.S)
_OCTETS_RE = re.compile(rb"\boctets\b", re.I)
_HEADER_RE = re.compile(rb"^[!-9;-~]+:")
def _shown_arg(cmd: str, arg: str) -> str:
    """A command's argument as events and rows show it: PASS's password, APOP's digest and AUTH's
    initial response replaced by MASK (they stay in the credentials table only)."""
    if cmd == "PASS" and arg:
        return MASK
    if cmd == "APOP" and arg:
        return f"{arg.rpartition(' ')[0]} {MASK}".lstrip()
    if cmd == "AUTH":
        mech, _, initial = arg.partition(" ")
        return f"{mech} {MASK}" if initial.strip() and initial.strip() != "=" else arg
    return arg


_APOP_TS_RE = re.compile(r"<[^<>\s]+@[^<>\s]*>|<[^<>]{1,200}>")
_CODE_RE = re.compile(r"^\[([^\]]{1,80})\]")
_TERM = b"\r\n.\r\n"


def _text(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------- events and records
@dataclass(frozen=True, slots=True)
class Pop3Command(Event):
    command: str = ""
    arg: str = ""

    def summary(self) -> str:
        return f"POP3 {self.command} {self.arg}".rstrip()

    def meaning(self) -> str:
        return COMMAND_MEANINGS.get(self.command, "")


@dataclass(frozen=True, slots=True)
class Pop3Reply(Event):
    status: str = ""          # "+OK", "-ERR"
    text: str = ""
    command: str = ""         # the command it answers ("" for the greeting or unknown)
    code: str = ""            # RFC 2449 extended response code, e.g. "IN-USE"
    greeting: bool = False
    apop_challenge: str = ""  # the <timestamp> of an APOP-capable greeting

    def summary(self) -> str:
        what = "greeting" if self.greeting else (f"reply to {self.command}" if self.command else "reply")
        return f"POP3 {what}: {self.status} {self.text}".rstrip()

    def meaning(self) -> str:
        cmd = "" if self.greeting else self.command
        return REPLY_MEANINGS.get((cmd, self.status)) or STATUS_MEANINGS.get(self.status, "")


@dataclass(frozen=True, slots=True)
class Pop3AuthData(Event):
    """One line of a SASL exchange: a server challenge (``+ ...``) or a client response."""

    data: str = ""
    decoded: str = ""         # base64-decoded, when it decodes to text

    def summary(self) -> str:
        who = "client response" if self.direction is ORIG else "server challenge"
        extra = f" ({self.decoded!r})" if self.decoded else ""
        return f"POP3 AUTH {who}: {self.data}{extra}"

    def meaning(self) -> str:
        if self.direction is ORIG:
            return "the client's base64 answer in the SASL exchange (* cancels)"
        return STATUS_MEANINGS["+"]


@dataclass(frozen=True, slots=True)
class Pop3Listing(Event):
    command: str = ""
    entries: tuple[str, ...] = ()
    count: int = 0
    truncated: bool = False

    def summary(self) -> str:
        return f"POP3 {self.command or 'multi-line'} listing: {self.count} line(s)"

    def meaning(self) -> str:
        return {
            "CAPA": "one capability per line",
            "LIST": "one 'message-number size' pair per line",
            "UIDL": "one 'message-number unique-id' pair per line",
            "AUTH": "one SASL mechanism per line",
        }.get(self.command, "lines of a multi-line reply")


@dataclass(frozen=True, slots=True)
class Pop3Message(Event):
    """The end of a message body sent for RETR or TOP."""

    command: str = ""
    msg_number: int | None = None
    size: int = 0
    handle: str = ""
    complete: bool = True
    partial: bool = False

    def summary(self) -> str:
        n = f" {self.msg_number}" if self.msg_number is not None else ""
        what = "headers and first lines of message" if self.partial else "message"
        flag = "" if self.complete else " (incomplete)"
        return f"POP3 {what}{n}: {self.size} bytes{flag}"

    def meaning(self) -> str:
        if self.partial:
            return "TOP returned the message headers and the first lines of its body"
        return "a whole message downloaded by RETR (byte-stuffing removed)"


@dataclass(frozen=True, slots=True)
class Pop3Transaction(Record):
    TABLE: ClassVar[str] = "pop3"
    command: str = ""
    arg: str = ""
    reply_status: str = ""
    reply_msg: str = ""
    user: str = ""
    fuid: str | None = None
    msg_number: int | None = None
    msg_size: int | None = None
    partial: bool = False


# ---------------------------------------------------------------- dissector
class _Pending:
    __slots__ = ("ts", "command", "arg", "sasl", "msg_number", "status", "text",
                 "fuid", "size", "partial", "cred_user", "cred_secret", "cred_kind")

    def __init__(self, ts: float, command: str, arg: str) -> None:
        self.ts = ts
        self.command = command
        self.arg = arg
        self.sasl: SaslExchange | None = None
        self.msg_number: int | None = None
        self.status = ""
        self.text = ""
        self.fuid: str | None = None
        self.size: int | None = None
        self.partial = command == "TOP"
        self.cred_user = ""
        self.cred_secret = ""
        self.cred_kind = ""


def _int(s: str) -> int | None:
    s = s.strip().split(" ", 1)[0] if s.strip() else ""
    return int(s) if s.isdigit() and len(s) < 12 else None


class Pop3Dissector:
    """Sans-IO POP3 dissector: ``feed(direction, data, ts)`` → items."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        lim = ctx.limits
        self._lim = lim
        self._held = HeldData(lim.max_file_size)     # the message's bytes not yet handed on
        self._buf = tuple(LineBuffer(lim.max_line, "pop3_line_too_long", d) for d in (ORIG, RESP))
        self._pending: deque[_Pending] = deque()
        self._confirmed = False
        self._violated = False
        self._stopped = False
        self._seen_server = False
        self._greeted = False
        self._resync = [False, False]
        self._unparsed = 0
        self._user = ""
        self._pending_warned = False
        self._nfile = 0
        # server-side modes: "status", "body", "guess"
        self._mode = "status"
        self._guess_for: _Pending | None = None
        self._guess_text = b""
        # body state
        self._body_cmd: _Pending | None = None
        self._body_msg = False
        self._handle = ""
        self._at_bol = True
        self._size = 0
        self._missing = 0
        self._capped = False
        self._list_keep: list[bytes] = []
        self._list_count = 0
        self._list_tail = b""

    # ------------------------------------------------------------ contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        out: list = []
        if self._stopped or self._violated or not data:
            return out
        try:
            if direction is RESP:
                self._seen_server = True
            self._buf[direction].push(data)
            if not self._confirmed and (b"\x00" in data or self._buf[direction].startswith(b"\x16\x03")):
                self._violated = True
                out.append(Violation(ts, "binary data (NUL bytes or a TLS record) where POP3 text was expected"))
                return out
            if direction is ORIG:
                self._client(ts, out)
            else:
                self._server(ts, out)
        except Exception as exc:  # pragma: no cover - our own bug, contained
            out.append(Anomaly(ts, "pop3_internal_error", f"{type(exc).__name__}: {exc}", direction))
            self._buf[direction].clear()
            self._mode = "status"
        return out

    def bulk(self, direction: Direction) -> int | tuple[int, bytes]:
        """BulkDissector: inside a message (RETR, TOP) whose last line is cut mid-way (buffered without its
        line end, and not a line that could be the terminator's dot): segments without ``LF .`` (any end
        of the message has one), up to the message and store caps."""
        buf = self._buf[RESP]
        if self._stopped or self._violated or direction is not RESP or self._mode != "body" \
                or not self._body_msg or not self._confirmed or not len(buf) or buf.find(b"\n") >= 0 \
                or (self._at_bol and buf.startswith(b".")):
            return 0
        if self._capped:
            return PAST_CAP, LINE_DOT
        return min(self._lim.max_message - self._size, self._held.room(self._handle)) - len(buf), LINE_DOT

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        out: list = []
        if self._stopped or self._violated or length <= 0:
            return out
        if direction is RESP and self._mode == "body":
            # flush what is buffered (the terminator can no longer be matched across the hole)
            rest = self._buf[RESP].take_all()
            if rest:
                self._body_data(self._unstuff(rest), ts, out)
            self._at_bol = False
            self._missing += length
            if self._body_msg and not self._capped:
                self._held.flush(out)
                out.append(FileGap(ts, self._handle, length))
            return out
        self._buf[direction].clear()
        self._resync[direction] = True
        if direction is RESP and self._mode == "guess":
            self._mode = "status"
        return out

    def close(self, ts: float) -> list:
        out: list = []
        if self._violated:
            return out
        if self._mode == "guess" and self._guess_for is not None:
            self._finish(self._guess_for, ts, out)
            self._guess_for = None
            self._mode = "status"
        if self._mode == "body" and not self._stopped:
            rest = self._buf[RESP].take_all()
            if rest:
                self._body_data(self._unstuff(rest), ts, out)
            self._end_body(ts, out, complete=False, reason="capture ended inside the message")
        while self._pending:
            self._finish(self._pending.popleft(), ts, out)
        self._held.flush(out)
        return out

    # ------------------------------------------------------------ helpers
    def _confirm(self, ts: float, out: list) -> None:
        if not self._confirmed:
            self._confirmed = True
            out.append(Confirm(ts))

    def _foreign(self, line: bytes, ts: float, out: list, direction: Direction) -> bool:
        """Before confirmation: clearly foreign bytes → Violation. Returns True if violated."""
        if self._confirmed:
            return False
        if b"\x00" in line or line[:2] == b"\x16\x03" or line[:1] in (b"\x80",):
            self._violated = True
            out.append(Violation(ts, "binary data where a POP3 line was expected"))
            return True
        self._unparsed += 1
        if self._unparsed > 64:
            self._violated = True
            out.append(Violation(ts, "no POP3 command or reply in the first 64 lines"))
            return True
        return False

    def _finish(self, p: _Pending, ts: float, out: list) -> None:
        """Emit the table row (and credential) of a command, answered or not."""
        success = None if not p.status else p.status == "+OK"
        if p.cred_kind:
            out.append(Credential(p.ts, protocol="pop3", username=p.cred_user,
                                  secret=p.cred_secret, kind=p.cred_kind, success=success))
        if p.sasl is not None:
            cred = p.sasl.credential()
            if cred is not None:
                out.append(Credential(p.ts, protocol="pop3", username=cred[0], secret=cred[1],
                                      kind=cred[2], success=success))
                if success:
                    self._user = cred[0]
        out.append(Pop3Transaction(p.ts, command=p.command, arg=p.arg, reply_status=p.status,
                                   reply_msg=p.text, user=self._user, fuid=p.fuid,
                                   msg_number=p.msg_number, msg_size=p.size,
                                   partial=p.partial))

    # ------------------------------------------------------------ client side
    def _client(self, ts: float, out: list) -> None:
        for line in self._buf[ORIG].lines(ts, out):
            self._client_line(line, ts, out)
            if self._violated or self._stopped:
                return

    def _auth_pending(self) -> _Pending | None:
        if self._pending and self._pending[-1].command == "AUTH" and not self._pending[-1].status:
            p = self._pending[-1]
            if p.sasl is not None:
                return p
        return None

    def _client_line(self, line: bytes, ts: float, out: list) -> None:
        p = self._auth_pending()
        if p is not None and p.sasl is not None and not self._resync[ORIG]:
            r = p.sasl.client_line(line, self._seen_server)
            if r is not None:
                out.append(Pop3AuthData(ts, ORIG, data=MASK))   # a SASL response carries the secret
                return
        m = _CMD_RE.match(line)
        if m is None:
            if not line.strip():
                return
            if self._resync[ORIG] or not self._confirmed:
                if self._foreign(line, ts, out, ORIG):
                    return
                return
            out.append(Anomaly(ts, "pop3_bad_command", f"unparsable client line {line[:60]!r}", ORIG))
            return
        cmd = m.group(1).decode("ascii").upper()
        arg = _text(m.group(2) or b"").strip()
        if cmd not in _KNOWN and (self._resync[ORIG] or not self._confirmed):
            self._foreign(line, ts, out, ORIG)
            return
        self._resync[ORIG] = False
        self._confirm(ts, out)
        shown = _shown_arg(cmd, arg)
        p = _Pending(ts, cmd, shown)
        if cmd == "USER":
            self._user = arg
        elif cmd == "PASS":
            p.cred_user, p.cred_secret, p.cred_kind = self._user, arg, "password"
        elif cmd == "APOP":
            name, _, digest = arg.rpartition(" ")
            p.cred_user, p.cred_secret, p.cred_kind = name, digest, "apop"
            self._user = name
        elif cmd == "AUTH" and arg:
            mech, _, initial = arg.partition(" ")
            initial = initial.strip()
            p.sasl = SaslExchange(mech, initial if initial and initial != "=" else
                                  ("" if initial == "=" else None))
        if cmd in ("RETR", "TOP", "DELE", "LIST", "UIDL"):
            p.msg_number = _int(arg)
        out.append(Pop3Command(ts, ORIG, command=cmd, arg=shown))
        self._pending.append(p)
        if len(self._pending) > self._lim.max_pending_requests:
            old = self._pending.popleft()
            if not self._pending_warned:
                self._pending_warned = True
                out.append(Anomaly(ts, "pop3_pending_too_many",
                                   f"more than {self._lim.max_pending_requests} unanswered commands", ORIG))
            self._finish(old, ts, out)

    # ------------------------------------------------------------ server side
    def _server(self, ts: float, out: list) -> None:
        buf = self._buf[RESP]
        while not self._violated and not self._stopped:
            if self._mode == "body":
                if not self._body_scan(ts, out):
                    return
                continue
            if self._mode == "guess":
                nl = buf.find(b"\n")
                if nl < 0:
                    if len(buf) > self._lim.max_line:
                        self._start_body(self._guess_for, ts, out, guess_line=b"")
                        continue
                    return
                first = buf.pending()[: nl + 1]
                if first.startswith((b"+OK", b"-ERR", b"+ ")) or first.rstrip(b"\r\n") == b"+":
                    self._mode = "status"
                    if self._guess_for is not None:
                        self._finish(self._guess_for, ts, out)
                    self._guess_for = None
                    continue
                self._start_body(self._guess_for, ts, out, guess_line=first)
                continue
            for line in buf.lines(ts, out):
                self._status_line(line, ts, out)
                if self._mode != "status" or self._violated or self._stopped:
                    break
            else:
                return

    def _status_line(self, line: bytes, ts: float, out: list) -> None:
        if line.startswith(b"+OK") or line.startswith(b"-ERR"):
            status = "+OK" if line.startswith(b"+OK") else "-ERR"
            rest = line[len(status):]
            if rest and rest[:1] not in (b" ", b"\t"):
                # "+OKAY" is not a status; treat as unparsable
                self._bad_server_line(line, ts, out)
                return
            text = _text(rest.strip())
            self._resync[RESP] = False
            self._confirm(ts, out)
            self._reply(status, text, ts, out)
            return
        if line[:1] == b"+" and (len(line) == 1 or line[1:2] == b" "):
            p = self._auth_pending()
            if p is not None and p.sasl is not None:
                txt = _text(line[2:].strip())
                decoded = p.sasl.challenge(txt)
                self._resync[RESP] = False
                out.append(Pop3AuthData(ts, RESP, data=txt, decoded=decoded))
                return
            if self._confirmed and not self._resync[RESP]:
                out.append(Pop3AuthData(ts, RESP, data=_text(line[2:].strip())))
                return
        self._bad_server_line(line, ts, out)

    def _bad_server_line(self, line: bytes, ts: float, out: list) -> None:
        if not line.strip():
            return
        if self._resync[RESP] or not self._confirmed:
            self._foreign(line, ts, out, RESP)
            return
        out.append(Anomaly(ts, "pop3_bad_reply", f"unparsable server line {line[:60]!r}", RESP))

    def _reply(self, status: str, text: str, ts: float, out: list) -> None:
        code = ""
        m = _CODE_RE.match(text)
        if m:
            code = m.group(1)
        if (not self._greeted and not self._pending
                and not _OCTETS_RE.search(text.encode("utf-8", "replace"))):
            self._greeted = True
            ch = _APOP_TS_RE.search(text)
            out.append(Pop3Reply(ts, RESP, status=status, text=text, code=code, greeting=True,
                                 apop_challenge=ch.group(0) if ch else ""))
            return
        self._greeted = True
        p = self._pending.popleft() if self._pending else None
        cmd = p.command if p else ""
        out.append(Pop3Reply(ts, RESP, status=status, text=text, command=cmd, code=code))
        if p is None:
            p = _Pending(ts, "", "")
            p.partial = False
            if status == "+OK":
                p.status, p.text = status, text
                self._mode = "guess"
                self._guess_for = p
                return
        p.status, p.text = status, text
        if status == "+OK":
            if cmd == "PASS" or cmd == "APOP":
                if p.cred_user:
                    self._user = p.cred_user
            if cmd == "STLS":
                self._finish(p, ts, out)
                self._stopped = True
                self._held.flush(out)
                out.append(StopParsing(ts, "tls"))
                return
            only_bare = _MULTILINE.get(cmd)
            if only_bare is not None and (not only_bare or not p.arg):
                self._start_body(p, ts, out, guess_line=None)
                return
        self._finish(p, ts, out)

    # ------------------------------------------------------------ multi-line bodies
    def _start_body(self, p: _Pending | None, ts: float, out: list, guess_line: bytes | None) -> None:
        if p is None:
            p = _Pending(ts, "", "")
        self._mode = "body"
        self._guess_for = None
        self._body_cmd = p
        self._at_bol = True
        self._size = 0
        self._missing = 0
        self._capped = False
        self._list_keep = []
        self._list_count = 0
        self._list_tail = b""
        if p.command in ("RETR", "TOP"):
            is_msg = True
        elif p.command:
            is_msg = False
        else:  # server side only: guess
            is_msg = bool(_OCTETS_RE.search(p.text.encode("utf-8", "replace"))) or bool(
                guess_line and _HEADER_RE.match(guess_line))
            if is_msg:
                p.partial = False
        self._body_msg = is_msg
        if is_msg:
            self._nfile += 1
            self._handle = f"pop3-{self._nfile}"
            p.fuid = self.ctx.fuid(self._handle)
            total = _int(p.text) if (p.command == "RETR" or not p.command) and _OCTETS_RE.search(
                p.text.encode("utf-8", "replace")) else None
            hint = (f"TOP {p.arg}" if p.command == "TOP" else
                    f"message {p.msg_number}" if p.msg_number is not None else None)
            out.append(FileOpen(ts, self._handle, "POP3", kind="email", name_hint=hint,
                                mime_type="message/rfc822", total_size=total, direction=RESP))

    def _unstuff(self, chunk: bytes) -> bytes:
        if self._at_bol and chunk.startswith(b".."):
            chunk = chunk[1:]
        if b"\n.." in chunk:
            chunk = chunk.replace(b"\n..", b"\n.")
        return chunk

    def _body_scan(self, ts: float, out: list) -> bool:
        """Consume body bytes from the server buffer. False when more data is needed."""
        buf = self._buf[RESP]
        n = len(buf)
        if n == 0:
            return False
        if self._at_bol:
            if buf.startswith(b".\r\n"):
                buf.take(3)
                self._end_body(ts, out, complete=self._missing == 0 and not self._capped)
                return True
            if n < 3 and (buf.startswith(b".\r") or buf.startswith(b".")):
                return False
        i = buf.find(_TERM)
        if i >= 0:
            chunk = buf.take(i + 2)
            buf.take(3)
            self._body_data(self._unstuff(chunk), ts, out)
            self._at_bol = True
            self._end_body(ts, out, complete=self._missing == 0 and not self._capped)
            return True
        nl = buf.rfind(b"\n")
        if nl >= 0:
            chunk = buf.take(nl + 1)
            self._body_data(self._unstuff(chunk), ts, out)
            self._at_bol = True
            # what is left has no line end: another scan could only cut an over-long line
            return len(buf) > self._lim.max_line
        if n > self._lim.max_line:
            chunk = buf.take(n - 4)
            self._body_data(self._unstuff(chunk), ts, out)
            self._at_bol = False
            return True
        return False

    def _body_data(self, data: bytes, ts: float, out: list) -> None:
        if not data:
            return
        if self._body_msg:
            room = self._lim.max_message - self._size
            self._size += len(data)
            if self._capped:
                return
            if len(data) > room:
                data = data[:max(room, 0)]
                self._capped = True
                out.append(Anomaly(ts, "pop3_message_too_long",
                                   f"message longer than {self._lim.max_message} bytes; the rest is not kept",
                                   RESP))
            if data:
                self._held.add(out, ts, self._handle, data)
            return
        self._size += len(data)
        lines = (self._list_tail + data).split(b"\n")
        self._list_tail = lines.pop()
        if len(self._list_tail) > self._lim.max_line:
            self._list_tail = b""
        self._list_count += len(lines)
        room = self._lim.max_pending_requests - len(self._list_keep)
        if room > 0:
            self._list_keep.extend(lines[:room])

    def _end_body(self, ts: float, out: list, complete: bool, reason: str = "") -> None:
        p = self._body_cmd
        self._mode = "status"
        self._body_cmd = None
        if p is None:  # pragma: no cover - defensive
            return
        if self._body_msg:
            p.size = self._size
            if not complete and not reason:
                reason = "bytes missing" if self._missing else "message too long"
            self._held.end(out)
            out.append(FileClose(ts, self._handle, complete=complete, reason=reason))
            out.append(Pop3Message(ts, RESP, command=p.command, msg_number=p.msg_number,
                                   size=self._size, handle=self._handle, complete=complete,
                                   partial=p.partial))
            if not complete:
                p.partial = True
        else:
            if self._list_tail:
                self._list_count += 1
                if len(self._list_keep) < self._lim.max_pending_requests:
                    self._list_keep.append(self._list_tail)
            entries = tuple(_text(x.rstrip(b"\r")) for x in self._list_keep)
            out.append(Pop3Listing(ts, RESP, command=p.command, entries=entries,
                                   count=self._list_count,
                                   truncated=self._list_count > len(entries) or self._missing > 0))
            if self._missing:
                out.append(Anomaly(ts, "pop3_listing_gap", f"{self._missing} bytes of a listing are missing", RESP))
        self._finish(p, ts, out)
