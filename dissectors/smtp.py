"""SMTP: the Simple Mail Transfer Protocol (mail submission and relay), as seen on the wire.

What the protocol is
    A client (a mail program or another mail server) opens a connection, the server
    greets it with ``220``, the client introduces itself (``EHLO``/``HELO``), may
    authenticate (``AUTH``) or switch to TLS (``STARTTLS``), then sends one or more
    *mail transactions*: ``MAIL FROM:<sender>``, one ``RCPT TO:<recipient>`` per
    recipient, and the message itself after ``DATA`` (ended by a line holding a single
    dot) or in ``BDAT`` chunks of announced size. Every command gets a reply: a
    three-digit code and text, possibly on several lines (``250-...`` continued,
    ``250 ...`` last).

Framing
    The client's bytes are commands (lines from the direction's
    :class:`~dissectors._lines.LineBuffer`), DATA content up to ``<CRLF>.<CRLF>``
    (:class:`~dissectors._smtp_framing.DotStuffedReader`) or BDAT chunks of announced
    size (:class:`~dissectors._smtp_framing.BdatReader`): :mod:`dissectors._smtp_framing`
    holds those readers; this module reads commands and replies, keeps transactions,
    messages (their header block, caps) and credentials.

RFC sections followed
    * RFC 5321 sections 2.3.8 (lines; a bare LF is tolerated), 3.3 (MAIL, RCPT,
      DATA; ``RSET`` and a new ``HELO``/``EHLO`` abort the transaction), 4.1.1
      (commands), 4.1.1.4 and 4.5.2 (end of data ``<CRLF>.<CRLF>``, dot-stuffing:
      a leading dot is removed from every line of the message; ``\\n.\\n`` is also
      accepted as end of data), 4.2 (reply codes, multi-line replies), 4.5.3.1
      (line length: ``limits.max_line``).
    * RFC 1870 (SIZE=n on MAIL FROM: ``declared_size``), RFC 2920 (PIPELINING:
      commands are queued and replies matched to them in order, the message may
      follow DATA in the same segment), RFC 3030 (BDAT/CHUNKING: exactly *n* bytes
      follow ``BDAT n``, ``LAST`` ends the message; no dot-stuffing), RFC 3207
      (STARTTLS: after its ``220`` the dissector returns :class:`StopParsing`
      ("tls"), the transaction row gets ``tls=True``; a TLS record from the client
      right after STARTTLS does the same when the reply is not in the capture),
      RFC 4954 (AUTH with optional initial response, ``334`` challenges, ``*``
      cancels, ``235`` success, ``535`` and other errors failure) with the SASL
      mechanisms PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195) and XOAUTH2.

What is extracted
    * events: :class:`SmtpCommand`, :class:`SmtpReply` (both with ``meaning()`` from
      RFC 5321 section 4.2 and the extension RFCs), :class:`SmtpAuthData` (one SASL
      line from the client; the content goes to ``credentials`` only),
      :class:`SmtpMessage` (end of a message);
    * one ``smtp`` row per transaction (:class:`SmtpTransaction`) with Zeek's
      smtp.log fields ``trans_depth, helo, mailfrom, rcptto, date, from, to, cc,
      reply_to, msg_id, in_reply_to, subject, x_originating_ip, first_received,
      second_received, last_reply, path, user_agent, tls, fuids`` plus
      ``rejected_rcptto`` (mailboxes of the recipients the server refused with
      4xx/5xx; as in Zeek they stay in ``rcptto`` too), ``auth_user``, ``declared_size`` (RFC 1870),
      ``msg_size`` (bytes of the message seen) and ``complete`` (the whole message
      was seen). As in Zeek 7.0, ``mailfrom``/``rcptto`` are the mailboxes of the
      MAIL/RCPT paths without ``<>``, source route and parameters (``mailfrom`` is
      empty for the null path ``<>``); the paths as sent (with ``<>``, parameters
      removed) are in ``mailfrom_path``/``rcptto_path``; ``path`` is ``[resp_h, orig_h]`` followed by
      the addresses in the ``from`` clauses of the Received fields. The Python
      field for ``from`` is ``from_`` (``from`` is a keyword); its column is
      ``from`` (see :data:`SmtpTransaction.COLUMNS`; the spec's ``assemble`` renames it). Header fields are read from
      the message's header block with :func:`dissectors.mime.parse_headers`;
    * each message as a file object ``FileOpen(kind="email", source="SMTP")`` …
      ``FileClose`` whose data is the exact dot-unstuffed message (the CRLF before
      the final dot belongs to the message) or the concatenated BDAT chunks;
    * credentials: AUTH PLAIN/LOGIN (``kind="password"``), CRAM-MD5
      (``kind="cram-md5"``, the secret in hashcat's ``$cram_md5$<challenge>$<response>``
      form, both base64), XOAUTH2 (``kind="oauth2"``); ``success`` from the final
      reply (``None`` when it was not seen).

One-sided and damaged captures
    * Mid-stream start, and after a gap outside a message: lines are skipped until
      one parses strictly (a known command with its syntax, a reply line).
    * Client side only: commands, messages and credentials (success unknown) are
      reported; DATA is assumed accepted. Server side only: replies (without the
      command they answer) and a transaction row with ``last_reply``.
    * A gap inside a message becomes :class:`FileGap` (``missing_bytes`` counted by
      the engine), the message is flagged incomplete and the scan for the
      terminating dot continues; if the server replies while the client is still
      inside a gapped message, the terminator was lost in the gap: the message is
      closed and the client side resynchronises. A message cut by the end of the
      capture is closed ``complete=False`` with the anomaly
      ``smtp_message_incomplete``.

Limits
    ``limits.max_line`` (``smtp_line_too_long``), ``limits.max_message``
    (``smtp_message_too_long``: the rest of the message is counted, not kept, and
    the object is closed incomplete), ``limits.max_header_block`` (headers beyond it
    are not parsed: ``smtp_header_block_too_long``), ``limits.max_pending_requests``
    (``smtp_pending_too_many``: the oldest unanswered command is forgotten). SASL
    mechanisms other than those above are reported as commands without
    credentials. Replies are matched to commands in order; a server that skips a
    reply shifts the matching until the next gap or reset.
"""
from __future__ import annotations

import base64
import binascii
import re
from collections import deque
from dataclasses import dataclass, field
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
from dissectors._smtp_framing import BdatReader, DotStuffedReader
from dissectors.mime import parse_headers, received_ips
from dissectors.probes.smtp import SPECS, probe, _REPLY_RE  # noqa: F401 - SPECS, probe: re-exported

__all__ = ["SmtpCommand", "SmtpReply", "SmtpAuthData", "SmtpMessage", "SmtpTransaction",
           "SmtpDissector", "probe", "SPECS"]

# ---------------------------------------------------------------- meanings
COMMAND_MEANINGS = MappingProxyType({
    "HELO": "client introduces itself by host name (RFC 5321 4.1.1.1)",
    "EHLO": "client introduces itself and asks for the server's extensions (RFC 5321 4.1.1.1)",
    "MAIL": "start of a mail transaction: the sender's address (RFC 5321 4.1.1.2)",
    "RCPT": "one recipient of the mail (RFC 5321 4.1.1.3)",
    "DATA": "client is ready to send the message itself (RFC 5321 4.1.1.4)",
    "RSET": "abort the current mail transaction (RFC 5321 4.1.1.5)",
    "VRFY": "ask whether a user or mailbox exists (RFC 5321 4.1.1.6)",
    "EXPN": "ask for the members of a mailing list (RFC 5321 4.1.1.7)",
    "HELP": "ask for help (RFC 5321 4.1.1.8)",
    "NOOP": "do nothing; keeps the connection alive (RFC 5321 4.1.1.9)",
    "QUIT": "client closes the session (RFC 5321 4.1.1.10)",
    "STARTTLS": "switch the connection to TLS encryption (RFC 3207)",
    "AUTH": "authenticate with a SASL mechanism (RFC 4954)",
    "BDAT": "send a chunk of the message of an announced size (RFC 3030)",
    "ETRN": "ask the server to deliver queued mail for a domain (RFC 1985)",
    "TURN": "swap client and server roles (RFC 821, obsolete)",
    "ATRN": "authenticated TURN: swap roles for on-demand relay (RFC 2645)",
    "SEND": "deliver to a terminal (RFC 821, obsolete)",
    "SOML": "send to terminal or mailbox (RFC 821, obsolete)",
    "SAML": "send to terminal and mailbox (RFC 821, obsolete)",
    "XCLIENT": "proxy passes the real client's attributes (Postfix extension)",
    "XFORWARD": "proxy forwards the original client's attributes (Postfix extension)",
    ".": "end of the message data",
})

REPLY_MEANINGS = MappingProxyType({
    211: "system status or help reply",
    214: "help message",
    220: "service ready",
    221: "service closing the connection",
    235: "authentication succeeded (RFC 4954)",
    250: "requested action okay, completed",
    251: "user not local; will forward",
    252: "cannot verify the user, but will accept the message",
    334: "server challenge: continue the authentication (RFC 4954)",
    354: "start mail input; end with <CRLF>.<CRLF>",
    421: "service not available, closing the connection",
    432: "a password transition is needed (RFC 4954)",
    450: "mailbox unavailable (busy or temporarily blocked); try later",
    451: "local error in processing; action aborted",
    452: "insufficient system storage; try later",
    454: "temporary authentication failure (RFC 4954) or TLS not available (RFC 3207)",
    455: "server unable to accommodate the parameters",
    500: "syntax error, command unrecognized",
    501: "syntax error in parameters or arguments",
    502: "command not implemented",
    503: "bad sequence of commands",
    504: "command parameter not implemented",
    521: "this host does not accept mail (RFC 7504)",
    530: "authentication required (RFC 4954)",
    534: "authentication mechanism is too weak (RFC 4954)",
    535: "authentication credentials invalid (RFC 4954)",
    538: "encryption required for this authentication mechanism (RFC 4954)",
    550: "mailbox unavailable (not found, no access or refused by policy)",
    551: "user not local",
    552: "exceeded storage allocation (message too big)",
    553: "mailbox name not allowed",
    554: "transaction failed (or no SMTP service here)",
    555: "MAIL FROM/RCPT TO parameters not recognized or not implemented",
    556: "domain does not accept mail (RFC 7504)",
})

_CLASS_MEANINGS = MappingProxyType({
    "2": "success", "3": "intermediate: more input needed",
    "4": "temporary failure; try again later", "5": "permanent failure",
})

KNOWN_VERBS = frozenset(k for k in COMMAND_MEANINGS if k != ".")
_TXN_VERBS = frozenset({"MAIL", "RCPT", "DATA", "BDAT", "."})

_VERB_RE = re.compile(rb"^[A-Za-z][A-Za-z0-9_-]{0,19}$")
_BINARY_RE = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_TLS_RECORD = b"\x16\x03"
_SIZE_RE = re.compile(r"(?:^|\s)SIZE=(\d{1,20})(?:\s|$)", re.I)


def _text(b: bytes) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return b.decode("latin-1")


def _b64(s: str) -> bytes | None:
    try:
        return base64.b64decode(s.strip() + "=" * (-len(s.strip()) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


# ---------------------------------------------------------------- events and records
@dataclass(frozen=True, slots=True)
class SmtpCommand(Event):
    command: str
    arg: str = ""

    def summary(self) -> str:
        if self.command == "AUTH":
            mech, _, initial = self.arg.partition(" ")
            if initial.strip():
                return f"AUTH {mech} (with initial response, {len(initial.strip())} characters)"
        return f"{self.command} {self.arg}".rstrip()

    def meaning(self) -> str:
        return COMMAND_MEANINGS.get(self.command, "")


@dataclass(frozen=True, slots=True)
class SmtpReply(Event):
    code: int
    text: str = ""                   # the reply's lines after the code, joined by "\n"
    command: str = ""                # the command this reply answers ("" when unknown)

    def summary(self) -> str:
        lines = self.text.split("\n")
        head = f"{self.code} {lines[0]}".rstrip()
        if self.command == "EHLO" and len(lines) > 1:
            return f"{head} (extensions: {', '.join(ln.strip() for ln in lines[1:] if ln.strip())})"
        if len(lines) > 1:
            return f"{head} (+{len(lines) - 1} more lines)"
        return head

    def meaning(self) -> str:
        m = REPLY_MEANINGS.get(self.code)
        if m:
            return m
        return _CLASS_MEANINGS.get(str(self.code)[:1], "")


@dataclass(frozen=True, slots=True)
class SmtpAuthData(Event):
    """One client line of a SASL exchange (content withheld; see ``credentials``)."""

    mechanism: str
    length: int

    def summary(self) -> str:
        return f"AUTH {self.mechanism} response ({self.length} characters, base64)"

    def meaning(self) -> str:
        return "the client's answer to a server challenge during AUTH (RFC 4954)"


@dataclass(frozen=True, slots=True)
class SmtpMessage(Event):
    """End of one message (after the final dot, the LAST BDAT chunk, or a cut)."""

    handle: str
    size: int
    complete: bool
    missing_bytes: int = 0
    subject: str | None = None

    def summary(self) -> str:
        s = f"message of {self.size} bytes"
        if self.subject:
            s += f" (subject: {self.subject})"
        if not self.complete:
            s += " [incomplete"
            s += f", {self.missing_bytes} bytes missing]" if self.missing_bytes else "]"
        return s

    def meaning(self) -> str:
        return "the e-mail message itself, as transferred after DATA or in BDAT chunks"


@dataclass(frozen=True, slots=True)
class SmtpTransaction(Record):
    TABLE: ClassVar[str] = "smtp"
    # Python field name -> column name (``from`` is a Python keyword)
    COLUMNS: ClassVar[MappingProxyType] = MappingProxyType({"from_": "from"})
    trans_depth: int = 0
    helo: str | None = None
    mailfrom: str | None = None
    rcptto: list = field(default_factory=list)
    date: str | None = None
    from_: str | None = None
    to: list = field(default_factory=list)
    cc: list = field(default_factory=list)
    reply_to: str | None = None
    msg_id: str | None = None
    in_reply_to: str | None = None
    subject: str | None = None
    x_originating_ip: str | None = None
    first_received: str | None = None
    second_received: str | None = None
    last_reply: str | None = None
    path: list = field(default_factory=list)
    user_agent: str | None = None
    tls: bool = False
    fuids: list = field(default_factory=list)
    rejected_rcptto: list = field(default_factory=list)
    auth_user: str | None = None
    declared_size: int | None = None
    msg_size: int | None = None
    complete: bool | None = None
    mailfrom_path: str | None = None
    rcptto_path: list = field(default_factory=list)


# ---------------------------------------------------------------- internal state
class _Txn:
    __slots__ = ("ts", "depth", "mailfrom", "rcptto", "rejected", "declared_size", "fields",
                 "last_reply", "fuids", "msg_size", "complete", "ended", "outstanding",
                 "emitted", "tls")

    def __init__(self, ts: float, depth: int) -> None:
        self.ts = ts
        self.depth = depth
        self.mailfrom: str | None = None
        self.rcptto: list[str] = []
        self.rejected: list[str] = []
        self.declared_size: int | None = None
        self.fields: dict | None = None
        self.last_reply: str | None = None
        self.fuids: list[str] = []
        self.msg_size: int | None = None
        self.complete: bool | None = None
        self.ended = False
        self.outstanding = 0
        self.emitted = False
        self.tls = False

    def has_content(self) -> bool:
        return bool(self.mailfrom or self.rcptto or self.fuids)


class _Pending:
    __slots__ = ("command", "arg", "txn")

    def __init__(self, command: str, arg: str, txn: _Txn | None) -> None:
        self.command = command
        self.arg = arg
        self.txn = txn


class _Auth:
    __slots__ = ("mechanism", "initial", "responses", "challenges", "ts")

    def __init__(self, mechanism: str, initial: str | None, ts: float) -> None:
        self.mechanism = mechanism
        self.initial = initial
        self.responses: list[str] = []
        self.challenges: list[str] = []
        self.ts = ts

    def credential(self) -> tuple[str, str, str] | None:
        """(username, secret, kind) or None."""
        resp = ([self.initial] if self.initial else []) + self.responses
        mech = self.mechanism
        if mech == "PLAIN":
            for r in resp:
                raw = _b64(r)
                if raw is None:
                    continue
                parts = raw.split(b"\x00")
                if len(parts) == 3:
                    user = parts[1] or parts[0]
                    return _text(user), _text(parts[2]), "password"
            return None
        if mech == "LOGIN":
            dec = [_b64(r) for r in resp]
            dec = [d for d in dec if d is not None]
            if not dec:
                return None
            return _text(dec[0]), _text(dec[1]) if len(dec) > 1 else "", "password"
        if mech == "CRAM-MD5":
            if not resp:
                return None
            raw = _b64(resp[0])
            if raw is None:
                return None
            user, _, digest = _text(raw).rpartition(" ")
            if self.challenges:
                secret = f"$cram_md5${self.challenges[0].strip()}${resp[0].strip()}"
            else:
                secret = f"response {digest}"
            return user, secret, "cram-md5"
        if mech == "XOAUTH2":
            for r in resp:
                raw = _b64(r)
                if raw is None:
                    continue
                items = dict(p.split("=", 1) for p in _text(raw).split("\x01") if "=" in p)
                if "user" in items:
                    return items["user"], items.get("auth", ""), "oauth2"
            return None
        return None


def _path_arg(arg: str) -> tuple[str, str]:
    """The path after ``FROM:``/``TO:`` as sent (with ``<>``) and the parameters."""
    _, _, rest = arg.partition(":")
    rest = rest.lstrip()
    if rest.startswith("<"):
        end = rest.find(">")
        if end >= 0:
            return rest[:end + 1], rest[end + 1:].strip()
    path, _, params = rest.partition(" ")
    return path, params.strip()


def _mailbox(path: str | None) -> str | None:
    """The mailbox of a reverse/forward path (RFC 5321 section 4.1.2) as Zeek logs it:
    ``<>`` and the source route ``@a,@b:`` removed; ``None`` for the null path."""
    if path is None:
        return None
    box = path[1:-1] if path.startswith("<") and path.endswith(">") else path
    if box.startswith("@") and ":" in box:
        box = box.split(":", 1)[1]
    return box or None


def _mailboxes(paths: list[str]) -> list[str]:
    return [b for b in map(_mailbox, paths) if b]


def _strict_command(line: bytes) -> tuple[str, str] | None:
    """(verb, arg) when ``line`` is a well-formed known command (used to resync)."""
    verb_b, _, arg_b = line.partition(b" ")
    if not _VERB_RE.match(verb_b) or _BINARY_RE.search(line):
        return None
    verb = verb_b.decode("ascii").upper()
    if verb not in KNOWN_VERBS:
        return None
    arg = _text(arg_b).strip()
    if verb == "MAIL" and not arg.upper().startswith("FROM:"):
        return None
    if verb == "RCPT" and not arg.upper().startswith("TO:"):
        return None
    if verb in ("DATA", "QUIT", "RSET", "STARTTLS", "TURN") and arg:
        return None
    if verb in ("HELO", "EHLO") and (not arg or " " in arg):
        return None
    if verb == "BDAT" and not re.match(r"^\d{1,20}( +LAST)?$", arg, re.I):
        return None
    if verb == "AUTH" and not re.match(r"^[A-Za-z0-9_-]{1,20}( +\S+)?$", arg):
        return None
    return verb, arg


# ---------------------------------------------------------------- dissector
class SmtpDissector:
    """Sans-IO SMTP dissector for one TCP connection (see the module docstring)."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.limits = ctx.limits
        self.held = HeldData(self.limits.max_file_size)     # the message's bytes not yet handed on
        self.lb = {d: LineBuffer(self.limits.max_line, "smtp_line_too_long", d) for d in (ORIG, RESP)}
        self.synced = {ORIG: False, RESP: False}
        self.confirmed = False
        self.stopped = False
        self.seen_server = False
        self.seen_client = False
        self.bad_server_lines = 0
        self.bad_run = False
        self.mode = "cmd"                  # client side: cmd, data, bdat
        self.pending: deque[_Pending] = deque()
        self.pending_capped = False
        self.rcode: int | None = None      # multi-line reply being read
        self.rlines: list[str] = []
        self.rts = 0.0
        self.auth: _Auth | None = None
        self.auth_user: str | None = None
        self.helo: str | None = None
        self.starttls_sent = False
        self.depth = 0
        self.txn: _Txn | None = None
        self.waiting: list[_Txn] = []      # ended, awaiting replies
        self.rows = 0
        self.replies_seen = 0
        self.last_reply: str | None = None
        self.nmsg = 0
        self.msg_handle: str | None = None      # the message being received
        self._reset_message(0.0)
        self.bdat = BdatReader()                # the BDAT chunk being received
        self.bdat_open = False

    # ------------------------------------------------------------ contract
    def feed(self, direction: Direction, data: bytes, ts: float) -> list:
        out: list = []
        if self.stopped or not data:
            return out
        if direction == ORIG:
            self.seen_client = True
            self.lb[ORIG].push(data)
            self._client(ts, out)
        else:
            self.seen_server = True
            self.lb[RESP].push(data)
            self._server(ts, out)
        return out

    def bulk(self, direction: Direction) -> int | tuple[int, bytes]:
        """BulkDissector: inside DATA, past the message's header block, mid-line with nothing buffered:
        segments without ``LF .`` (any end of the data has one), up to the message and store caps."""
        if self.stopped or direction != ORIG or self.mode != "data" or not self.msg_opened \
                or not self.msg_head_done or len(self.lb[ORIG]) or not self.dot.mid_line():
            return 0
        if self.msg_capped:
            return PAST_CAP, LINE_DOT
        return min(self.limits.max_message - self.msg_kept, self.held.room(self.msg_handle)), LINE_DOT

    def gap(self, direction: Direction, length: int, ts: float) -> list:
        out: list = []
        if self.stopped or length <= 0:
            return out
        if direction == ORIG:
            if self.mode == "data" and self.msg_handle is not None:
                self._msg_gap(length, ts, out)
                return out
            if self.mode == "bdat" and self.msg_handle is not None:
                n, past = self.bdat.gap(length)
                self._msg_gap(n, ts, out)
                if self.bdat.remaining == 0:
                    self._bdat_chunk_done(ts, out)
                if past:
                    self.lb[ORIG].clear()
                    self.synced[ORIG] = False
                out.append(Anomaly(ts, "smtp_content_gap", f"{length} bytes missing from the client", ORIG))
                return out
            self.lb[ORIG].clear()
            self.synced[ORIG] = False
            out.append(Anomaly(ts, "smtp_content_gap", f"{length} bytes missing from the client", ORIG))
        else:
            self.lb[RESP].clear()
            self.synced[RESP] = False
            self.rcode = None
            self.rlines = []
            # the replies to the commands still waiting were probably lost in the gap
            while self.pending:
                p = self.pending.popleft()
                self._answered(p, ts, out)
            out.append(Anomaly(ts, "smtp_content_gap", f"{length} bytes missing from the server", RESP))
        return out

    def close(self, ts: float) -> list:
        out: list = []
        if self.stopped:
            return out
        if self.rcode is not None:
            out.append(Anomaly(ts, "smtp_reply_incomplete", "multi-line reply cut off", RESP))
            self._reply(self.rcode, self.rlines, self.rts, out)
            self.rcode = None
        for d in (ORIG, RESP):
            if len(self.lb[d]) and (d == RESP or self.mode == "cmd"):
                out.append(Anomaly(ts, "smtp_partial_line",
                                   f"{len(self.lb[d])} bytes without end of line at the end", d))
        if self.msg_handle is not None:
            self._msg_bytes(self.dot.eof(), ts, out)
            out.append(Anomaly(ts, "smtp_message_incomplete",
                               "the capture ends inside a message", ORIG))
            self._end_message(ts, out, complete=False, reason="end of capture")
        self.mode = "cmd"
        if self.auth is not None:
            self._finish_auth(None, ts, out)
        self._flush_rows(ts, out, final=True)
        self.held.flush(out)
        self.stopped = True
        return out

    # ------------------------------------------------------------ helpers
    def _confirm(self, ts: float, out: list) -> None:
        if not self.confirmed:
            self.confirmed = True
            out.append(Confirm(ts))

    def _stop(self, ts: float, out: list, reason: str, pending: tuple[bytes, bytes] = (b"", b"")) -> None:
        if self.msg_handle is not None:
            self._end_message(ts, out, complete=False, reason=reason)
            self.mode = "cmd"
        if self.auth is not None:
            self._finish_auth(None, ts, out)
        if self.txn is None:
            self._new_txn(ts)
        for t in [*self.waiting, self.txn]:
            if t is not None:
                t.tls = True
        self._flush_rows(ts, out, final=True, force_current=True)
        self.held.flush(out)
        out.append(StopParsing(ts, reason, pending))
        self.stopped = True

    def _new_txn(self, ts: float) -> _Txn:
        self.depth += 1
        self.txn = _Txn(ts, self.depth)
        self.txn.tls = self.ctx.decrypted      # the session runs inside TLS (decrypted with its keys)
        return self.txn

    def _end_txn(self, ts: float, out: list) -> None:
        t = self.txn
        if t is None:
            return
        self.txn = None
        if not t.has_content():
            self.depth -= 1
            return
        t.ended = True
        self.waiting.append(t)
        if len(self.waiting) > self.limits.max_pending_requests:
            self._emit_row(self.waiting.pop(0), out)
        self._flush_rows(ts, out)

    def _flush_rows(self, ts: float, out: list, final: bool = False,
                    force_current: bool = False) -> None:
        keep: list[_Txn] = []
        for t in self.waiting:
            if final or t.outstanding <= 0:
                self._emit_row(t, out)
            else:
                keep.append(t)
        self.waiting = keep
        if final:
            t = self.txn
            if t is not None and (t.has_content() or force_current
                                  or (self.rows == 0 and (self.helo or self.replies_seen))):
                self._emit_row(t, out)
            elif t is None and self.rows == 0 and (self.helo or self.replies_seen):
                t = self._new_txn(ts)
                t.last_reply = self.last_reply
                self._emit_row(t, out)
            self.txn = None

    def _emit_row(self, t: _Txn, out: list) -> None:
        if t.emitted:
            return
        t.emitted = True
        self.rows += 1
        f = t.fields or {}
        path = [self.ctx.resp_h, self.ctx.orig_h] + received_ips(f.get("received") or [])
        out.append(SmtpTransaction(
            ts=t.ts, trans_depth=t.depth, helo=self.helo, mailfrom=_mailbox(t.mailfrom),
            rcptto=_mailboxes(t.rcptto), date=f.get("date"), from_=f.get("from"),
            to=list(f.get("to") or []), cc=list(f.get("cc") or []), reply_to=f.get("reply_to"),
            msg_id=f.get("msg_id"), in_reply_to=f.get("in_reply_to"), subject=f.get("subject"),
            x_originating_ip=f.get("x_originating_ip"), first_received=f.get("first_received"),
            second_received=f.get("second_received"), last_reply=t.last_reply,
            path=path if t.fields is not None else [self.ctx.resp_h, self.ctx.orig_h],
            user_agent=f.get("user_agent"), tls=t.tls, fuids=list(t.fuids),
            rejected_rcptto=_mailboxes(t.rejected), auth_user=self.auth_user,
            declared_size=t.declared_size, msg_size=t.msg_size, complete=t.complete,
            mailfrom_path=t.mailfrom, rcptto_path=list(t.rcptto)))

    def _push_pending(self, command: str, arg: str, txn: _Txn | None, ts: float, out: list) -> None:
        if txn is not None:
            txn.outstanding += 1
        self.pending.append(_Pending(command, arg, txn))
        if len(self.pending) > self.limits.max_pending_requests:
            old = self.pending.popleft()
            if not self.pending_capped:
                self.pending_capped = True
                out.append(Anomaly(ts, "smtp_pending_too_many",
                                   f"more than {self.limits.max_pending_requests} commands without reply",
                                   ORIG))
            self._answered(old, ts, out)

    def _answered(self, p: _Pending, ts: float, out: list) -> None:
        if p.txn is not None:
            p.txn.outstanding -= 1
            if p.txn.ended and p.txn.outstanding <= 0:
                self._flush_rows(ts, out)

    # ------------------------------------------------------------ client side
    def _client(self, ts: float, out: list) -> None:
        lb = self.lb[ORIG]
        while not self.stopped:
            if self.mode == "data":
                chunk = lb.take_all()
                if not chunk:
                    return
                content, ended, rest = self.dot(chunk)
                self._msg_bytes(content, ts, out)
                if ended:
                    self._end_data(ts, out)
                if not rest:          # all of it was message data (or ended just with it)
                    return
                lb.push(rest)
                continue
            if self.mode == "bdat":
                if self.bdat.remaining:
                    chunk = self.bdat(lb)
                    if not chunk:
                        return
                    self._msg_bytes(chunk, ts, out)
                    if self.bdat.remaining:    # the buffer is empty
                        return
                self._bdat_chunk_done(ts, out)
                continue
            # after STARTTLS, a TLS record where a line would start ends the parsing
            halt = _TLS_RECORD if self.starttls_sent else None
            for line in lb.lines(ts, out, halt):
                self._client_line(line, ts, out)
                if self.stopped or self.mode != "cmd" or (halt is None and self.starttls_sent):
                    break
            else:
                if halt is not None and lb.startswith(halt):
                    # the server's 220 is not in the capture: the client's ClientHello, still buffered, goes to TLS
                    self._stop(ts, out, "tls", (lb.take_all(), b""))
                return

    def _client_line(self, line: bytes, ts: float, out: list) -> None:
        strict = _strict_command(line)
        if self.auth is not None and strict is None:
            self._auth_line(line, ts, out)
            return
        if strict is None and not self.synced[ORIG]:
            if not self.confirmed and line.startswith(b"\x16\x03"):
                out.append(Violation(ts, "TLS record where SMTP was expected"))
                self.stopped = True
            return       # resynchronising: skip lines until a command parses
        if strict is not None:
            verb, arg = strict
            self.synced[ORIG] = True
            self._confirm(ts, out)
        else:
            verb_b, _, arg_b = line.partition(b" ")
            if not _VERB_RE.match(verb_b) or _BINARY_RE.search(line):
                if not self.bad_run:     # one anomaly per run of bad lines
                    self.bad_run = True
                    out.append(Anomaly(ts, "smtp_bad_command",
                                       f"client line is not a command: {_text(line[:60])!r}", ORIG))
                return
            verb, arg = verb_b.decode("ascii").upper(), _text(arg_b).strip()
        self.bad_run = False
        if self.auth is not None:      # a command ends an exchange whose end we did not see
            self._finish_auth(None, ts, out)
        shown = arg
        if verb == "AUTH" and len(arg.split()) > 1:      # an initial response carries the secret
            shown = f"{arg.split()[0]} {MASK}"
        out.append(SmtpCommand(ts, ORIG, verb, shown))
        self._command(verb, arg, ts, out)

    def _command(self, verb: str, arg: str, ts: float, out: list) -> None:
        txn = None
        if self.bdat_open and verb != "BDAT" and self.msg_handle is not None:
            # RFC 3030: a command other than BDAT abandons an unfinished chunked message
            out.append(Anomaly(ts, "smtp_message_incomplete",
                               f"{verb} before the LAST BDAT chunk", ORIG))
            self._end_message(ts, out, complete=False, reason=f"{verb} before BDAT LAST")
        if verb in ("HELO", "EHLO"):
            self._end_txn(ts, out)
            self.helo = arg
        elif verb == "RSET":
            self._end_txn(ts, out)
        elif verb == "QUIT":
            self._end_txn(ts, out)
        elif verb == "MAIL":
            if self.txn is not None and self.txn.has_content():
                self._end_txn(ts, out)
            txn = self.txn or self._new_txn(ts)
            txn.mailfrom, params = _path_arg(arg)
            m = _SIZE_RE.search(params)
            if m:
                txn.declared_size = int(m.group(1))
        elif verb == "RCPT":
            txn = self.txn or self._new_txn(ts)
            txn.rcptto.append(_path_arg(arg)[0])
        elif verb == "DATA":
            txn = self.txn or self._new_txn(ts)
            self.mode = "data"
            self._start_message(ts)
        elif verb == "BDAT":
            txn = self.txn or self._new_txn(ts)
            m = re.match(r"^(\d{1,20})(\s+LAST)?\s*$", arg, re.I)
            if m:
                if not self.bdat_open:
                    self._start_message(ts)
                    self.bdat_open = True
                self.bdat = BdatReader(int(m.group(1)), bool(m.group(2)))
                self.mode = "bdat"
            else:
                out.append(Anomaly(ts, "smtp_bad_bdat", f"BDAT without a valid size: {arg[:40]!r}", ORIG))
        elif verb == "AUTH":
            mech, _, initial = arg.partition(" ")
            initial = initial.strip()
            self.auth = _Auth(mech.upper(), initial if initial and initial != "=" else None, ts)
        elif verb == "STARTTLS":
            self.starttls_sent = True
        self._push_pending(verb, arg, txn, ts, out)

    def _auth_line(self, line: bytes, ts: float, out: list) -> None:
        text = _text(line).strip()
        assert self.auth is not None
        out.append(SmtpAuthData(ts, ORIG, self.auth.mechanism, len(text)))
        if text == "*":
            self._push_pending("AUTH-DATA", "", None, ts, out)
            return
        self.auth.responses.append(text)
        self._push_pending("AUTH-DATA", "", None, ts, out)

    def _finish_auth(self, success: bool | None, ts: float, out: list) -> None:
        a = self.auth
        self.auth = None
        if a is None:
            return
        cred = a.credential()
        if cred is None:
            return
        user, secret, kind = cred
        if success:
            self.auth_user = user
        out.append(Credential(ts=a.ts, protocol="smtp", username=user, secret=secret,
                              kind=kind, success=success))

    # ------------------------------------------------------------ messages
    def _start_message(self, ts: float) -> None:
        self.nmsg += 1
        self.msg_handle = f"smtp-msg-{self.nmsg}"
        self._reset_message(ts)

    def _reset_message(self, ts: float) -> None:
        """The per-message state, fresh (at start and for each DATA/BDAT message)."""
        self.msg_opened = False
        self.msg_size = 0
        self.msg_kept = 0
        self.msg_missing = 0
        self.msg_capped = False
        self.msg_head = bytearray()
        self.msg_head_done = False
        self.msg_head_capped = False
        self.dot = DotStuffedReader()            # DATA content up to the end-of-data line
        self.msg_ts = ts

    def _open(self, ts: float, out: list) -> None:
        if not self.msg_opened and self.msg_handle is not None:
            self.msg_opened = True
            out.append(FileOpen(ts, self.msg_handle, "SMTP", kind="email",
                                mime_type="message/rfc822", direction=ORIG))
            if self.txn is not None:
                self.txn.fuids.append(self.ctx.fuid(self.msg_handle))

    def _msg_bytes(self, chunk: bytes, ts: float, out: list) -> None:
        if not chunk:
            return
        self._open(ts, out)
        self.msg_size += len(chunk)
        if not self.msg_head_done:
            old = len(self.msg_head)
            self.msg_head += chunk[:self.limits.max_header_block + 4 - old]
            start = max(0, old - 3)
            if old == 0 and (self.msg_head.startswith(b"\r\n") or self.msg_head.startswith(b"\n")):
                self.msg_head_done = True
                self.msg_head = bytearray()
            else:
                i = self.msg_head.find(b"\n\r\n", start)
                j = self.msg_head.find(b"\n\n", start)
                ends = [k for k in (i, j) if k >= 0]
                if ends:
                    del self.msg_head[min(ends) + 1:]
                    self.msg_head_done = True
                elif len(self.msg_head) > self.limits.max_header_block:
                    # reported at the end of the message (keeps FileData contiguous)
                    del self.msg_head[self.limits.max_header_block:]
                    self.msg_head_done = True
                    self.msg_head_capped = True
        if self.msg_capped:
            return
        room = self.limits.max_message - self.msg_kept
        capped = len(chunk) > room
        if capped:
            chunk = chunk[:max(room, 0)]
            self.msg_capped = True
        if chunk:
            self.msg_kept += len(chunk)
            self.held.add(out, ts, self.msg_handle, chunk)
        if capped:
            out.append(Anomaly(ts, "smtp_message_too_long",
                               f"message over {self.limits.max_message} bytes; the rest is not kept", ORIG))

    def _msg_gap(self, length: int, ts: float, out: list) -> None:
        # a held "." or ".\r" at a line start followed by a gap: keep what is text
        self._msg_bytes(self.dot.gap(), ts, out)
        self._open(ts, out)
        self.msg_missing += length
        if not self.msg_head_done:
            self.msg_head_done = True      # parse what we have
        self.held.flush(out)
        out.append(FileGap(ts, self.msg_handle, length))

    def _end_data(self, ts: float, out: list) -> None:
        txn = self.txn
        self._end_message(ts, out, complete=self.msg_missing == 0 and not self.msg_capped)
        self.mode = "cmd"
        self._push_pending(".", "", txn, ts, out)
        self._end_txn(ts, out)

    def _bdat_chunk_done(self, ts: float, out: list) -> None:
        self.mode = "cmd"
        if self.bdat.last:
            txn = self.txn
            self._end_message(ts, out, complete=self.msg_missing == 0 and not self.msg_capped)
            self.bdat_open = False
            self.bdat.last = False
            if txn is not None:
                self._end_txn(ts, out)

    def _end_message(self, ts: float, out: list, complete: bool, reason: str = "") -> None:
        if self.msg_handle is None:
            return
        self._open(ts, out)
        handle = self.msg_handle
        if self.msg_head_capped:
            out.append(Anomaly(ts, "smtp_header_block_too_long",
                               f"message header block over {self.limits.max_header_block} bytes; "
                               "the rest of the headers was not parsed", ORIG))
        fields = parse_headers(bytes(self.msg_head)) if self.msg_head else None
        if not complete and not reason:
            reason = "gap" if self.msg_missing else "capped" if self.msg_capped else ""
        self.held.end(out)
        out.append(FileClose(ts, handle, complete=complete, reason=reason))
        out.append(SmtpMessage(ts, ORIG, handle, self.msg_size, complete, self.msg_missing,
                               fields.get("subject") if fields else None))
        t = self.txn
        if t is not None:
            t.fields = fields
            t.msg_size = self.msg_size
            t.complete = complete
        self.msg_handle = None
        self.msg_opened = False
        self.dot.hold = b""
        self.bdat_open = False

    # ------------------------------------------------------------ server side
    def _server(self, ts: float, out: list) -> None:
        for line in self.lb[RESP].lines(ts, out):
            self._server_line(line, ts, out)
            if self.stopped:
                return

    def _server_line(self, line: bytes, ts: float, out: list) -> None:
        m = _REPLY_RE.match(line)
        if m is None:
            if self.starttls_sent and line.startswith(b"\x16\x03"):
                self._stop(ts, out, "tls")
                return
            if not self.confirmed:
                self.bad_server_lines += 1
                if _BINARY_RE.search(line[:256]) or self.bad_server_lines >= 3:
                    out.append(Violation(ts, "server lines are not SMTP replies"))
                    self.stopped = True
                return
            if self.synced[RESP]:
                out.append(Anomaly(ts, "smtp_bad_reply",
                                   f"server line is not a reply: {_text(line[:60])!r}", RESP))
            return
        code = int(m.group(1))
        sep = m.group(2)
        text = _text(m.group(3) or b"")
        self.synced[RESP] = True
        self._confirm(ts, out)
        if self.rcode is None:
            self.rcode, self.rlines, self.rts = code, [text], ts
        else:
            if code != self.rcode:
                out.append(Anomaly(ts, "smtp_reply_code_mismatch",
                                   f"multi-line reply {self.rcode} continued with {code}", RESP))
            self.rlines.append(text)
        if sep == b"-":
            if len(self.rlines) > self.limits.max_pending_requests:
                out.append(Anomaly(ts, "smtp_reply_too_long",
                                   f"multi-line reply over {self.limits.max_pending_requests} lines", RESP))
                sep = b" "
            else:
                return
        code, lines = self.rcode, self.rlines
        self.rcode, self.rlines = None, []
        self._reply(code, lines, ts, out)

    def _reply(self, code: int, lines: list[str], ts: float, out: list) -> None:
        self.replies_seen += 1
        if code == 220 and self.replies_seen == 1 and not self.seen_client:
            self.synced[ORIG] = True     # a greeting: the capture starts at the beginning
        p = self.pending.popleft() if self.pending else None
        if p is None and self.mode == "data" and self.msg_handle is not None \
                and self.msg_missing and code != 354:
            # the end of data was lost in a gap: close the message, resync the client
            out.append(Anomaly(ts, "smtp_message_incomplete",
                               "server replied before the end of the message was seen", ORIG))
            txn = self.txn
            self._end_message(ts, out, complete=False, reason="end of data not seen")
            self.mode = "cmd"
            self.lb[ORIG].clear()
            self.synced[ORIG] = False
            p = _Pending(".", "", txn)
            if txn is not None:
                txn.outstanding += 1
            self._end_txn(ts, out)
        command = p.command if p is not None else ""
        out.append(SmtpReply(ts, RESP, code, "\n".join(lines), command))
        last = f"{code} {lines[-1]}".rstrip() if lines else str(code)
        self.last_reply = last
        target = p.txn if p is not None and p.txn is not None else self.txn
        if target is not None:
            target.last_reply = last
        if command == "RCPT" and code >= 400 and p is not None and p.txn is not None:
            p.txn.rejected.append(_path_arg(p.arg)[0])
        elif command == "DATA" and code != 354 and self.mode == "data" and not self.msg_opened:
            # DATA refused: the client will not send a message
            self.mode = "cmd"
            self.msg_handle = None
            self.nmsg -= 1
        elif command in ("AUTH", "AUTH-DATA") and self.auth is not None:
            if code == 334:
                self.auth.challenges.append(lines[0] if lines else "")
            else:
                self._finish_auth(200 <= code < 300, ts, out)
        elif command == "STARTTLS" and code == 220:
            if p is not None:
                self._answered(p, ts, out)
            self._stop(ts, out, "tls")
            return
        if p is not None:
            self._answered(p, ts, out)
