"""FTP: the control connection (commands and replies) and its data connections.

What it is
    The File Transfer Protocol keeps a text control connection (port 21) on
    which the client sends commands and the server answers with three-digit
    replies; every file and directory listing travels on a *separate* TCP
    connection (the data connection), opened by the server in active mode
    (PORT/EPRT) or by the client in passive mode (PASV/EPSV).

RFC sections followed
    * RFC 959 4.1 (commands), 4.2 (replies, including both multi-line forms:
      ``123-`` … ``123 `` where inner lines may or may not start with the code),
      4.2.2 (reply-code texts, used by :meth:`FtpReply.meaning`), 5.3 (syntax);
      3.2 (the default data port when no PORT/PASV was given);
    * RFC 1123 4.1.2.9 (STOU replies ``FILE: name``), 4.1.2.6 (PASV reply forms);
    * RFC 2228 (AUTH, PBSZ, PROT, CCC: after ``234`` to AUTH TLS/SSL the TLS dissector takes the connection
      over and, with the session's keys, feeds the rest back to a fresh FTP dissector); RFC 4217 section 9:
      after PROT P the data connections are announced as TLS sessions of their own;
    * RFC 2428 (EPRT ``|af|addr|port|`` for IPv4 and IPv6, EPSV ``(|||port|)``);
    * RFC 3659 (SIZE, MDTM, REST STREAM, MLST/MLSD facts), RFC 2389 (FEAT, OPTS).

What it extracts
    * events :class:`FtpCommand` and :class:`FtpReply` (``summary()`` and
      ``meaning()``);
    * one :class:`FtpRecord` row (table ``ftp``) per command — not only the
      transfers Zeek logs — with user, password (masked by the reports unless
      asked), the reply, the working directory (tracked from 257 replies to
      PWD and from successful CWD/CDUP) and the full path of the argument;
    * :class:`~decoder.model.Credential` rows from USER/PASS (``kind`` is
      ``"anonymous"`` for anonymous/ftp, success from 230 versus 530) and ACCT;
    * :class:`~decoder.model.Expect` directives for every announced data
      connection (PORT/EPRT, 227, 229, and RFC 959's default port), each
      with a token unique to the control flow (PORT/EPRT expectations are
      emitted at the command, because servers connect before their 200 and
      are withdrawn from use when the reply refuses); the transfer command that uses
      the channel carries the same token (``data_token``), so the data
      connection, whenever it opened, is linked after the fact by
      :func:`assemble`;
    * the ``ftp-data`` dissector (:class:`FtpDataDissector`), reached only
      through those expectations: it stores what flows (in either direction,
      so STOR and RETR both work) as a file, reports gaps, emits an
      :class:`FtpDataSummary` event, and tentatively parses text that looks
      like a directory listing (Unix ``ls -l``, DOS/IIS, MLSD facts, bare
      NLST names) into ``ftp_listing`` rows. It cannot know which command the
      channel served (the command may not even be sent yet when the data
      connection opens), so :func:`assemble` keeps listing rows only for data
      channels linked to LIST/NLST/MLSD and drops them otherwise.

Session assembly (:func:`assemble`)
    conn rows (``uid, service, parent_uid, expect_token, nat``) ↔ ``ftp`` rows
    (``data_token``): fills ``data_channel.uid``, ``data_channel.nat`` and
    ``data_channel.handshake_seen`` (false for a data connection found from the
    PASV/EPSV/PORT/EPRT announcement alone, its SYNs not in the capture: the engine
    takes its roles from the announcement whichever side sent first),
    ``fuid``, ``file_size``
    (announced size, else bytes seen), ``mime_type`` and ``data_status``
    (``complete``, ``partial`` — gaps or fewer bytes than the 150 reply or
    SIZE announced, also when the capture ends before the final reply —,
    ``aborted`` for 426/451 or an error after the transfer started,
    ``failed`` when the server refused, ``no_data_connection`` when the reply
    says the transfer happened but no data connection was captured); names the
    ``files`` rows after the command's path (``filename`` = basename, the engine
    makes it safe on disk) and gives listings a ``path``. A ``files`` row stays
    ``complete`` only when its bytes add up and the server's final reply says the
    transfer succeeded; otherwise ``complete`` is false and ``close_reason`` says why
    ("the server replied 425 …", "512 of the 2048 bytes announced", "the capture
    holds no final reply from the server").

Limits
    Lines are capped at ``limits.max_line`` (``ftp_line_too_long``), multi-line
    replies at ``limits.max_header_block`` bytes (``ftp_reply_too_long``),
    commands awaiting a reply at ``limits.max_pending_requests``
    (``ftp_pending_too_many``), listing rows per data connection at
    :data:`MAX_LISTING_ROWS` (``ftp_listing_too_many``). After ``234`` to AUTH
    the rest is opaque (StopParsing). Replies are paired with commands in
    order (RFC 959 allows one outstanding command; pipelined clients still pair
    correctly, but a gap in the client direction can misalign the pairs).
    The MIME type of a transfer is sniffed from its first bytes (a small
    table of magic numbers) and, failing that, guessed from the file name's
    extension. Data connections with no control connection in the capture are
    not recognised (the spec is expectation-only): they stay raw flows.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import posixpath
import re
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Iterator, Mapping

from decoder.model import (
    MASK, Anomaly, Confirm, Credential, Direction, Event, Expect,
    FileClose, FileGap, FileOpen, FlowContext, Item, ORIG, RESP,
    Record, StopParsing, Transport, Violation, describe_object,
)
from dissectors._held import HeldData
from dissectors._lines import TOO_LONG, LineBuffer
from dissectors.probes.ftp import (  # noqa: F401 - SPECS and the probe are re-exported
    SPECS, COMMAND_MEANINGS, _FTP_WORD_RE, KNOWN_COMMANDS, probe, _REPLY_RE,
)

__all__ = [
    "FtpCommand", "FtpReply", "FtpRecord", "FtpListing", "FtpDataSummary",
    "DataChannel", "FtpDissector", "FtpDataDissector", "probe", "assemble",
    "parse_listing_line", "SPECS",
]

# ---------------------------------------------------------------- constant tables

#: RFC 959 section 4.2.2 reply texts (plus RFC 2228, 2428, 1123).
REPLY_MEANINGS: Mapping[int, str] = MappingProxyType({
    110: "restart marker reply",
    120: "service ready in a few minutes",
    125: "data connection already open; transfer starting",
    150: "file status okay; about to open data connection",
    200: "command okay",
    202: "command not implemented, superfluous at this site",
    211: "system status, or system help reply",
    212: "directory status",
    213: "file status",
    214: "help message",
    215: "NAME system type",
    220: "service ready for new user",
    221: "service closing control connection",
    225: "data connection open; no transfer in progress",
    226: "closing data connection; requested file action successful",
    227: "entering passive mode (h1,h2,h3,h4,p1,p2)",
    228: "entering long passive mode",
    229: "entering extended passive mode (|||port|)",
    230: "user logged in, proceed",
    232: "user logged in, authorized by security data exchange",
    234: "security data exchange complete (TLS or SSL starts now)",
    235: "security data exchange completed successfully",
    250: "requested file action okay, completed",
    257: "\"PATHNAME\" created (or is the current directory)",
    331: "user name okay, need password",
    332: "need account for login",
    334: "requested security mechanism is ok",
    335: "security data is acceptable; more is required",
    350: "requested file action pending further information",
    421: "service not available, closing control connection",
    425: "can't open data connection",
    426: "connection closed; transfer aborted",
    431: "need some unavailable resource to process security",
    450: "requested file action not taken; file unavailable (e.g. busy)",
    451: "requested action aborted: local error in processing",
    452: "requested action not taken: insufficient storage space",
    500: "syntax error, command unrecognized",
    501: "syntax error in parameters or arguments",
    502: "command not implemented",
    503: "bad sequence of commands",
    504: "command not implemented for that parameter",
    522: "network protocol not supported (use another address family)",
    530: "not logged in",
    532: "need account for storing files",
    533: "command protection level denied for policy reasons",
    534: "request denied for policy reasons",
    535: "failed security check",
    536: "requested protection level not supported by mechanism",
    550: "requested action not taken: file unavailable (not found, no access)",
    551: "requested action aborted: page type unknown",
    552: "requested file action aborted: exceeded storage allocation",
    553: "requested action not taken: file name not allowed",
    631: "integrity-protected reply",
    632: "confidentiality and integrity protected reply",
    633: "confidentiality protected reply",
})

TRANSFER_COMMANDS = frozenset({"RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD"})
LISTING_COMMANDS = frozenset({"LIST", "NLST", "MLSD"})
UPLOAD_COMMANDS = frozenset({"STOR", "STOU", "APPE"})
PATH_COMMANDS = frozenset({"RETR", "STOR", "STOU", "APPE", "LIST", "NLST", "MLSD", "MLST",
                           "SIZE", "MDTM", "DELE", "RMD", "XRMD", "MKD", "XMKD", "RNFR", "RNTO",
                           "CWD", "XCWD", "STAT"})
ANONYMOUS_USERS = frozenset({"anonymous", "ftp"})
#: Listing rows kept per data connection before ``ftp_listing_too_many``.
MAX_LISTING_ROWS = 50_000
#: Bytes of a data stream looked at to sniff its MIME type.
SNIFF_BYTES = 512

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"BZh", "application/x-bzip2"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-dosexec"),
    (b"ID3", "audio/mpeg"),
    (b"\xff\xfb", "audio/mpeg"),
    (b"\xff\xf3", "audio/mpeg"),
    (b"OggS", "audio/ogg"),
    (b"RIFF", "application/x-riff"),
    (b"<?xml", "application/xml"),
    (b"{\\rtf", "text/rtf"),
)
_EXT_MIME: Mapping[str, str] = MappingProxyType({
    "txt": "text/plain", "csv": "text/csv", "html": "text/html", "htm": "text/html",
    "xml": "application/xml", "json": "application/json", "pdf": "application/pdf",
    "zip": "application/zip", "gz": "application/gzip", "tgz": "application/gzip",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "mp3": "audio/mpeg", "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "exe": "application/x-dosexec", "tar": "application/x-tar",
})


def sniff_mime(head: bytes) -> str | None:
    """MIME type from magic numbers, else text/plain for printable text, else None."""
    if not head:
        return None
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    low = head[:64].lstrip().lower()
    if low.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "text/html"
    if b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:   # not merely a character cut at the end
            return None
    ctrl = sum(head.count(bytes([c])) for c in range(0, 32) if c not in (9, 10, 12, 13))
    return "text/plain" if ctrl * 20 < len(head) else None


def _txt(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


# ---------------------------------------------------------------- events and records
@dataclass(frozen=True, slots=True)
class FtpCommand(Event):
    command: str = ""
    arg: str = ""

    def summary(self) -> str:
        return f"{self.command} {self.arg}".rstrip()

    def meaning(self) -> str:
        if self.command == "PORT":
            m = _PASV_RE.search(self.arg.encode("utf-8", "surrogateescape"))
            hp = _h6(*m.groups()) if m else None
            if hp is not None:
                return (f"active mode: the server is to connect to the client at {hp[0]}:{hp[1]} "
                        f"(port {int(m.group(5))}×256+{int(m.group(6))})")
        elif self.command == "EPRT":
            hp = parse_eprt_arg(self.arg.encode("utf-8", "surrogateescape"))
            if hp is not None:
                return f"extended PORT (RFC 2428): the server is to connect to the client at {_hostport(*hp)}"
        return COMMAND_MEANINGS.get(self.command, "")


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class FtpReply(Event):
    code: int = 0
    text: str = ""                   # all lines joined by "\n" (codes of continuation lines kept)
    command: str = ""                # the command it answers ("" for the greeting/unsolicited)

    def summary(self) -> str:
        first = self.text.split("\n", 1)[0]
        more = self.text.count("\n")
        return f"{self.code} {first}" + (f" (+{more} lines)" if more else "")

    def meaning(self) -> str:
        if self.code == 227:
            m = _PASV_RE.search(self.text.encode("utf-8", "surrogateescape"))
            hp = _h6(*m.groups()) if m else None
            if hp is not None:
                return (f"entering passive mode: the client is to connect to {hp[0]}:{hp[1]} "
                        f"(port {int(m.group(5))}×256+{int(m.group(6))})")
        elif self.code == 229:
            port = parse_epsv_reply(self.text.encode("utf-8", "surrogateescape"))
            if port is not None:
                return f"entering extended passive mode: the client is to connect to this server's address, port {port}"
        return REPLY_MEANINGS.get(self.code, "")


@dataclass(frozen=True, slots=True)
class DataChannel:
    """Where a data connection was announced (Zeek's ``data_channel``) plus the
    data connection's uid once :func:`assemble` linked it."""

    passive: bool
    orig_h: str | None
    resp_h: str | None
    resp_p: int | None
    uid: str | None = None


@dataclass(frozen=True, slots=True)
class FtpRecord(Record):
    """One row of ``ftp`` per command (Zeek's ftp.log fields, then ours)."""

    TABLE: ClassVar[str] = "ftp"
    user: str | None = None
    password: str | None = None
    command: str = ""
    arg: str = ""
    mime_type: str | None = None
    file_size: int | None = None
    reply_code: int | None = None
    reply_msg: str | None = None
    data_channel: DataChannel | None = None
    fuid: str | None = None
    cwd: str | None = None
    path: str | None = None
    data_token: str | None = None
    data_status: str | None = None


@dataclass(frozen=True, slots=True)
class FtpListing(Record):
    """One entry of a directory listing seen on a data connection (``ftp_listing``).
    ``path`` (the directory listed), ``command`` and ``control_uid`` are filled by
    :func:`assemble` once the channel is linked to LIST/NLST/MLSD."""

    TABLE: ClassVar[str] = "ftp_listing"
    name: str = ""
    type: str | None = None          # file, dir, link, other (None for bare names)
    size: int | None = None
    modify: str | None = None        # as listed; MLSD's YYYYMMDDHHMMSS made ISO-like
    perm: str | None = None
    owner: str | None = None
    group: str | None = None
    target: str | None = None        # symbolic link target
    style: str = ""                  # unix, dos, mlsd, names
    raw: str = ""
    path: str | None = None
    command: str | None = None
    control_uid: str | None = None


@dataclass(frozen=True, slots=True)
class FtpDataSummary(Event):
    """What one data connection carried (emitted when it closes)."""

    token: str = ""
    parent_uid: str = ""
    orig_bytes: int = 0
    resp_bytes: int = 0
    missing_bytes: int = 0
    gaps: int = 0
    listing_rows: int = 0            # listing rows made (0 when the channel's RETR/STOR/STOU/APPE was known)
    mime_type: str | None = None     # sniffed from the first bytes of the side that sent most

    def summary(self) -> str:
        s = (f"FTP data: {self.orig_bytes} bytes from the opener, {self.resp_bytes} "
             f"from the listener")
        if self.missing_bytes:
            s += f", {self.missing_bytes} bytes missing in {self.gaps} gap(s)"
        if not self.parent_uid:
            s += " (no control connection linked)"
        return s

    def meaning(self) -> str:
        n = max(self.orig_bytes, self.resp_bytes)
        if not n:
            return "an FTP data connection that carried nothing (an empty file or listing)"
        # the sniffer names text and known magic numbers; anything else is binary data
        return f"{describe_object(self.mime_type or 'application/octet-stream', n)} over an FTP data connection"


# ---------------------------------------------------------------- address parsing
_PASV_RE = re.compile(rb"(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,"
                      rb"\s*(\d{1,3})\s*,\s*(\d{1,3})")
_EPSV_RE = re.compile(rb"\(([!-~])\1\1(\d{1,5})\1\)")
_SIZE_RE = re.compile(rb"\((\d+)\s+bytes?\)", re.I)
_QUOTED_RE = re.compile(rb'"((?:[^"]|"")*)"')
_CMD_RE = re.compile(rb"[A-Za-z]{3,4}$")
_IAC_RE = re.compile(rb"\xff[\xf0-\xfe]|\xff\xff")


def _h6(h1: bytes, h2: bytes, h3: bytes, h4: bytes, p1: bytes, p2: bytes
        ) -> tuple[str, int] | None:
    nums = [int(x) for x in (h1, h2, h3, h4, p1, p2)]
    if any(n > 255 for n in nums):
        return None
    port = nums[4] * 256 + nums[5]
    if port == 0:
        return None
    return ".".join(map(str, nums[:4])), port


def parse_port_arg(arg: bytes) -> tuple[str, int] | None:
    """``PORT h1,h2,h3,h4,p1,p2`` → (host, port)."""
    m = _PASV_RE.search(arg)
    return _h6(*m.groups()) if m else None


def parse_pasv_reply(text: bytes) -> tuple[str, int] | None:
    """227 text in any of its forms (with or without parentheses, ``=``…)."""
    m = _PASV_RE.search(text)
    return _h6(*m.groups()) if m else None


def parse_eprt_arg(arg: bytes) -> tuple[str, int] | None:
    """``EPRT |1|132.235.1.2|6275|`` or ``|2|1080::8:800:200C:417A|5282|`` (RFC 2428)."""
    arg = arg.strip()
    if len(arg) < 6:
        return None
    d = arg[:1]
    parts = arg.split(d)
    if len(parts) < 5 or parts[0] != b"" or parts[1] not in (b"1", b"2"):
        return None
    try:
        addr = ipaddress.ip_address(parts[2].decode("ascii"))
        port = int(parts[3])
    except (ValueError, UnicodeDecodeError):
        return None
    if not 0 < port < 65536 or (addr.version == 4) != (parts[1] == b"1"):
        return None
    return addr.compressed, port


def parse_epsv_reply(text: bytes) -> int | None:
    m = _EPSV_RE.search(text)
    if not m:
        return None
    port = int(m.group(2))
    return port if 0 < port < 65536 else None


def _norm_host(h: str) -> str:
    try:
        return ipaddress.ip_address(h).compressed
    except ValueError:
        return h


def _parse_257(text: bytes) -> str | None:
    m = _QUOTED_RE.search(text)
    if not m:
        return None
    return _txt(m.group(1).replace(b'""', b'"'))


def _join(cwd: str | None, arg: str) -> str | None:
    if not arg:
        return cwd
    if arg.startswith("/"):
        return posixpath.normpath(arg) if arg != "//" else "/"
    if cwd is None:
        return arg
    return posixpath.normpath(posixpath.join(cwd, arg))


def _listing_arg(arg: str) -> str:
    """LIST/NLST arguments minus ``ls`` options such as ``-la``."""
    words = [w for w in arg.split(" ") if w]
    while words and words[0].startswith("-"):
        words.pop(0)
    return " ".join(words)


# ---------------------------------------------------------------- probe


# ---------------------------------------------------------------- control dissector
class _Cmd:
    __slots__ = ("ts", "command", "arg", "secret", "path", "token", "channel", "size", "user",
                 "password", "cwd", "announce", "prelim")

    def __init__(self, ts: float, command: str, arg: str, secret: str = "") -> None:
        self.ts = ts
        self.command = command
        self.arg = arg            # as shown (a PASS/ACCT secret is MASK)
        self.secret = secret      # the PASS/ACCT argument itself, for the credentials row only
        self.path: str | None = None
        self.token: str | None = None
        self.channel: DataChannel | None = None
        self.size: int | None = None
        self.user: str | None = None
        self.password: str | None = None
        self.cwd: str | None = None
        self.announce: tuple[str, int] | None = None
        self.prelim: list[str] = []


class FtpDissector:
    """The control connection. See the module docstring."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.lim = ctx.limits
        self.bufs = tuple(LineBuffer(ctx.limits.max_line, "ftp_line_too_long", d) for d in (ORIG, RESP))
        self.pending: deque[_Cmd] = deque()
        self.multi: tuple[bytes, list[bytes], int, float] | None = None
        self.confirmed = False
        self.seen_reply = False
        self.seen_command = False
        self.stopped = False
        self.violated = False
        self.user: str | None = None
        self.password: str | None = None
        self.cwd: str | None = None
        self.type = "A"
        self.channel: tuple[str, DataChannel, ChannelUse] | None = None    # announced, not yet taken
        self.ntok = 0
        self.last_size: tuple[str, int] | None = None
        self.rnfr: str | None = None
        self.prot_private = False          # PROT P accepted: data connections are TLS sessions (RFC 4217)

    # -- public API
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        if self.stopped or self.violated or not data:
            return []
        out: list[Item] = []
        buf = self.bufs[direction]
        buf.push(data)
        handle = self._command if direction is ORIG else self._reply_line
        for line in buf.lines(ts, out):
            handle(line, ts, out)
            if self.stopped or self.violated:
                break
        if self.stopped or self.violated:
            buf.clear()
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        if self.stopped or self.violated:
            return []
        self.bufs[direction].clear()
        return [Anomaly(ts, "ftp_content_gap", f"{length} bytes missing in the "
                        f"{direction.label}'s control stream", direction)]

    def close(self, ts: float) -> list[Item]:
        out: list[Item] = []
        if self.stopped or self.violated:
            return out
        for d in (ORIG, RESP):
            rest = self.bufs[d].take_all()
            if rest.strip():
                if d is ORIG:
                    self._command(rest.rstrip(b"\r\n"), ts, out)
                else:
                    self._reply_line(rest.rstrip(b"\r\n"), ts, out)
        if self.multi is not None:
            code, lines, _, mts = self.multi
            self.multi = None
            out.append(Anomaly(ts, "ftp_reply_unterminated",
                               f"multi-line {code.decode()} reply never ended", RESP))
            self._reply(int(code), lines, mts, out)
        while self.pending:
            self._finish(self.pending.popleft(), None, "", ts, out)
        return out

    # -- helpers
    def _violation(self, ts: float, reason: str, out: list[Item]) -> None:
        self.violated = True
        out.append(Violation(ts, reason))

    def _maybe_confirm(self, ts: float, out: list[Item]) -> None:
        if not self.confirmed and self.seen_reply and self.seen_command:
            self.confirmed = True
            out.append(Confirm(ts))

    def _new_token(self) -> str:
        self.ntok += 1
        return f"{self.ctx.uid}.ftp-data.{self.ntok}"

    def _expect(self, ts: float, ch: DataChannel, out: list[Item],
                orig_p: int | None = None) -> str:
        tok = self._new_token()
        use = ChannelUse()
        self.channel = (tok, ch, use)
        # RFC 4217 section 9: after PROT P a data connection is a TLS session of its own: the engine starts TLS
        # on it and decodes FTP data inside when the key log has its keys
        out.append(Expect(ts, Transport.TCP, "ftp-data", resp_h=ch.resp_h, resp_p=ch.resp_p,
                          orig_h=ch.orig_h, orig_p=orig_p, token=tok,
                          ttl=self.lim.ftp_expect_ttl,
                          meta=(("control_uid", self.ctx.uid), ("passive", ch.passive),
                                ("cwd", self.cwd), ("use", use)) + ((("tls", True),) if self.prot_private else ())))
        return tok

    # -- client side
    def _command(self, line: bytes, ts: float, out: list[Item]) -> None:
        if b"\xff" in line:
            line = _IAC_RE.sub(lambda m: b"\xff" if m.group(0) == b"\xff\xff" else b"", line)
        line = line.strip(b"\r\n")
        if not line.strip():
            return
        word, _, rawarg = line.lstrip().partition(b" ")
        if not _CMD_RE.match(word):
            if not self.confirmed:
                self._violation(ts, "client line is not an FTP command", out)
                return
            if not word.isalpha() or len(word) > 10:
                out.append(Anomaly(ts, "ftp_bad_command",
                                   f"not an FTP command: {_txt(line[:60])!r}", ORIG))
                return
        command = word.decode("ascii").upper()
        arg = _txt(rawarg.strip(b"\r\n"))
        if not self.confirmed and command not in KNOWN_COMMANDS:
            self._violation(ts, f"unknown command {command} before confirmation", out)
            return
        self.seen_command = True
        self._maybe_confirm(ts, out)
        secret = command in ("PASS", "ACCT") and bool(arg) and (
            command == "ACCT" or (self.user or "").lower() not in ANONYMOUS_USERS)
        shown = MASK if secret else arg      # the secret stays in the credentials table only
        out.append(FtpCommand(ts, ORIG, command, shown))
        cmd = _Cmd(ts, command, shown, arg if command in ("PASS", "ACCT") else "")
        if len(self.pending) >= self.lim.max_pending_requests:
            out.append(Anomaly(ts, "ftp_pending_too_many",
                               f"more than {self.lim.max_pending_requests} commands "
                               "without a reply", ORIG))
            self._finish(self.pending.popleft(), None, "", ts, out)
        if command == "USER":
            self.user = arg
            self.password = None
        elif command == "PASS":
            self.password = arg
        cmd.user, cmd.cwd = self.user, self.cwd
        cmd.password = MASK if self.password and (self.user or "").lower() not in ANONYMOUS_USERS \
            else self.password
        if command in LISTING_COMMANDS:
            cmd.path = _join(self.cwd, _listing_arg(arg))
        elif command in PATH_COMMANDS and arg:
            cmd.path = _join(self.cwd, arg)
        if command in ("PORT", "EPRT"):
            cmd.announce = parse_port_arg(rawarg) if command == "PORT" else parse_eprt_arg(rawarg)
            if cmd.announce is None:
                out.append(Anomaly(ts, "ftp_bad_port", f"unparsable {command} argument {arg!r}",
                                   ORIG))
            else:
                # Expect at the command, not at the 200: servers (e.g. pyftpdlib,
                # ftp-ipv6-all-data.pcap) connect before they send the 200.
                h, p = cmd.announce
                cmd.token = self._expect(ts, DataChannel(False, None, _norm_host(h), p), out)
        elif command in TRANSFER_COMMANDS:
            if self.channel is None:
                # RFC 959 3.2: default data port = the client's control port,
                # the server connecting from port 20 (L-1).
                ch = DataChannel(False, None, self.ctx.orig_h, self.ctx.orig_p)
                self._expect(ts, ch, out)
            cmd.token, cmd.channel, use = self.channel  # type: ignore[misc]
            use.command = command
            self.channel = None
            if command == "RETR" and self.last_size and self.last_size[0] == cmd.path:
                cmd.size = self.last_size[1]
        elif command == "TYPE" and arg:
            self.type = arg[:1].upper()
        self.pending.append(cmd)

    # -- server side
    def _reply_line(self, line: bytes, ts: float, out: list[Item]) -> None:
        if b"\xff" in line:
            line = _IAC_RE.sub(lambda m: b"\xff" if m.group(0) == b"\xff\xff" else b"", line)
        if self.multi is not None:
            code, lines, size, mts = self.multi
            size += len(line)
            lines.append(line)
            if line[:3] == code and line[3:4] in (b" ", b""):
                self.multi = None
                self._reply(int(code), lines, mts, out)
            elif size > self.lim.max_header_block:
                self.multi = None
                out.append(Anomaly(ts, "ftp_reply_too_long",
                                   f"multi-line reply over {self.lim.max_header_block} bytes",
                                   RESP))
                self._reply(int(code), lines, mts, out)
            else:
                self.multi = (code, lines, size, mts)
            return
        if not line.strip():
            return
        m = _REPLY_RE.match(line)
        if not m:
            if not self.confirmed:
                self._violation(ts, "server line is not an FTP reply", out)
            else:
                out.append(Anomaly(ts, "ftp_bad_reply",
                                   f"not an FTP reply: {_txt(line[:60])!r}", RESP))
            return
        self.seen_reply = True
        if not self.confirmed and m.group(1) in (b"220", b"120") and _FTP_WORD_RE.search(line):
            self.seen_command = True
        self._maybe_confirm(ts, out)
        if m.group(2) == b"-":
            self.multi = (m.group(1), [line], len(line), ts)
            return
        self._reply(int(m.group(1)), [line], ts, out)

    def _reply(self, code: int, lines: list[bytes], ts: float, out: list[Item]) -> None:
        first = lines[0][4:]
        rest = [ln for ln in lines[1:]]
        text_b = b"\n".join([first, *rest])
        text = _txt(text_b)
        cmd = self.pending[0] if self.pending else None
        out.append(FtpReply(ts, RESP, code, text, cmd.command if cmd else ""))
        if cmd is None:
            return
        if code < 200:
            cmd.prelim.append(_txt(first))
            m = _SIZE_RE.search(text_b)
            if m and cmd.command in TRANSFER_COMMANDS:
                cmd.size = int(m.group(1))
            if cmd.command == "STOU":
                fm = re.search(rb"FILE:\s*(\S+)", text_b)
                if fm:
                    cmd.path = _join(self.cwd, _txt(fm.group(1)))
            return
        self.pending.popleft()
        self._finish(cmd, code, text, ts, out, text_b)

    def _finish(self, cmd: _Cmd, code: int | None, text: str, ts: float,
                out: list[Item], text_b: bytes = b"") -> None:
        c = cmd.command
        ok = code is not None and 200 <= code < 300
        status: str | None = None
        if c == "PASS":
            user = cmd.user or ""
            kind = "anonymous" if user.lower() in ANONYMOUS_USERS else "password"
            success = None if code is None or 300 <= code < 400 else ok
            out.append(Credential(cmd.ts, protocol="ftp", username=user,
                                  secret=cmd.secret, kind=kind, success=success))
        elif c == "ACCT":
            out.append(Credential(cmd.ts, protocol="ftp", username=cmd.user or "",
                                  secret=cmd.secret, kind="account",
                                  success=None if code is None else ok))
        elif c in ("PWD", "XPWD") and code == 257:
            p = _parse_257(text_b)
            if p:
                self.cwd = p
        elif c in ("CWD", "XCWD") and ok:
            p = _parse_257(text_b) if b'"' in text_b else None
            self.cwd = p if p and p.startswith("/") else cmd.path
        elif c in ("CDUP", "XCUP") and ok:
            if self.cwd is not None and self.cwd.startswith("/"):
                self.cwd = posixpath.dirname(self.cwd.rstrip("/")) or "/"
            else:
                self.cwd = None
        elif c in ("PORT", "EPRT") and not ok and code is not None and cmd.token:
            # refused: the channel announced with this command is not usable
            if self.channel is not None and self.channel[0] == cmd.token:
                self.channel = None
        elif c == "PASV" and code == 227:
            hp = parse_pasv_reply(text_b)
            if hp is None:
                out.append(Anomaly(ts, "ftp_bad_pasv", f"unparsable 227 reply {text[:80]!r}", RESP))
            else:
                h, p = hp
                if h == "0.0.0.0":
                    h = self.ctx.resp_h
                self._expect(ts, DataChannel(True, self.ctx.orig_h, h, p), out)
        elif c == "EPSV" and code == 229:
            p = parse_epsv_reply(text_b)
            if p is None:
                out.append(Anomaly(ts, "ftp_bad_epsv", f"unparsable 229 reply {text[:80]!r}", RESP))
            else:
                self._expect(ts, DataChannel(True, self.ctx.orig_h, self.ctx.resp_h, p), out)
        elif c == "SIZE" and code == 213 and cmd.path:
            try:
                cmd.size = int(text.split()[0])
                self.last_size = (cmd.path, cmd.size)
            except (ValueError, IndexError):
                pass
        elif c == "RNFR":
            self.rnfr = cmd.path if code == 350 else None
        elif c == "PROT" and ok:
            self.prot_private = cmd.arg.strip().upper() == "P"     # RFC 2228 section 4: C, S, E or P
        if c in TRANSFER_COMMANDS:
            if code is None:
                status = None
            elif ok:
                status = "complete"
            elif code in (426, 451) or (code >= 400 and cmd.prelim):
                status = "aborted"
            else:
                status = "failed"
        out.append(FtpRecord(
            cmd.ts, user=cmd.user, password=cmd.password, command=c, arg=cmd.arg,
            file_size=cmd.size, reply_code=code,
            reply_msg=text if code is not None else None, data_channel=cmd.channel,
            cwd=cmd.cwd, path=cmd.path,
            data_token=cmd.token if c in TRANSFER_COMMANDS else None, data_status=status))
        if c == "AUTH" and code == 234:
            self.stopped = True
            out.append(StopParsing(ts, "tls"))


# ---------------------------------------------------------------- listings
_UNIX_RE = re.compile(
    r"^([bcdlpsD-][rwxsStTlL-]{9})[+.@]?\s+(\d+)\s+(\S+)\s+(?:(\S+)\s+)?"
    r"(\d+|\d+,\s*\d+)\s+((?:\w{3}\s+\d{1,2}|\d{1,2}\s+\w{3})\s+(?:\d{1,2}:\d{2}|\d{4})|"
    r"\d{4}-\d{2}-\d{2}(?:\s+\d{1,2}:\d{2})?)\s(.*)$")
_DOS_RE = re.compile(r"^(\d{1,2}-\d{1,2}-\d{2,4})\s+(\d{1,2}:\d{2}\s*(?:[AaPp][Mm])?)\s+"
                     r"(<DIR>|\d+)\s+(.+)$")
_MLSD_RE = re.compile(r"^((?:[A-Za-z0-9.\-]+=[^;]*;)+) (.+)$")
_LISTING_CTRL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_UNIX_TYPES = MappingProxyType({"-": "file", "d": "dir", "l": "link"})
_MLSD_TYPES = MappingProxyType({"file": "file", "dir": "dir", "cdir": "cdir", "pdir": "pdir",
                                "os.unix=symlink": "link", "os.unix=slink": "link"})


def parse_listing_line(line: str, style: str | None = None) -> tuple[str, dict[str, Any]] | None:
    """Parse one listing line. ``style`` forces a style; otherwise every known
    style is tried (unix, mlsd, dos). Returns (style, fields) or None."""
    if style in (None, "unix"):
        m = _UNIX_RE.match(line)
        if m:
            perm, _links, owner, group, size, date, name = m.groups()
            typ = _UNIX_TYPES.get(perm[0], "other")
            target = None
            if typ == "link" and " -> " in name:
                name, target = name.split(" -> ", 1)
            try:
                sz: int | None = int(size)
            except ValueError:
                sz = None    # device numbers "major, minor"
            return "unix", dict(name=name, type=typ, size=sz, modify=" ".join(date.split()),
                                perm=perm, owner=owner, group=group, target=target)
        if style == "unix":
            return None
    if style in (None, "mlsd"):
        m = _MLSD_RE.match(line)
        if m:
            facts: dict[str, str] = {}
            for f in m.group(1).split(";"):
                if "=" in f:
                    k, v = f.split("=", 1)
                    facts[k.lower()] = v
            mod = facts.get("modify")
            if mod and len(mod) >= 14 and mod[:14].isdigit():
                mod = f"{mod[0:4]}-{mod[4:6]}-{mod[6:8]}T{mod[8:10]}:{mod[10:12]}:{mod[12:]}"
            size = facts.get("size") or facts.get("sizd")
            t = facts.get("type", "").lower()
            return "mlsd", dict(name=m.group(2), type=_MLSD_TYPES.get(t, t or None),
                                size=int(size) if size and size.isdigit() else None,
                                modify=mod, perm=facts.get("perm") or facts.get("unix.mode"),
                                owner=facts.get("unix.owner") or facts.get("unix.uid"),
                                group=facts.get("unix.group") or facts.get("unix.gid"),
                                target=None)
        if style == "mlsd":
            return None
    if style in (None, "dos"):
        m = _DOS_RE.match(line)
        if m:
            date, time, size, name = m.groups()
            isdir = size == "<DIR>"
            return "dos", dict(name=name, type="dir" if isdir else "file",
                               size=None if isdir else int(size),
                               modify=f"{date} {time.strip()}", perm=None, owner=None,
                               group=None, target=None)
    return None


class _ListingParser:
    """Tentative listing parser for one direction of a data connection.

    Rows are kept (at most :data:`MAX_LISTING_ROWS`) and handed out by
    :meth:`finish` when the connection closes, so their position among the
    file items does not depend on how the stream was chunked. Binary data
    (a NUL, a control character, an over-long line) ends the attempt and
    drops the rows: that stream is a file, not a listing.
    """

    __slots__ = ("buf", "style", "active", "rows", "skip", "capped")

    def __init__(self) -> None:
        self.buf = LineBuffer(4096)
        self.style: str | None = None
        self.active = True
        self.rows: list[FtpListing] = []
        self.skip = False
        self.capped = False

    def stop(self) -> None:
        self.active = False
        self.rows.clear()
        self.buf.clear()

    def feed(self, data: bytes, ts: float) -> None:
        if not self.active:
            return
        if b"\x00" in data:
            self.stop()
            return
        self.buf.push(data)
        self._drain(ts, final=False)

    def gap(self) -> None:
        if self.active:
            self.buf.clear()
            self.skip = True

    def _drain(self, ts: float, final: bool) -> None:
        while self.active:
            line = self.buf.next_line()
            if line is None:
                if final and len(self.buf):
                    line = self.buf.take_all()
                else:
                    return
            if line is TOO_LONG:
                self.stop()
                return
            if self.skip:
                self.skip = False
                continue
            self._line(line, ts)  # type: ignore[arg-type]

    def finish(self, ts: float, out: list[Item]) -> int:
        if self.active:
            self._drain(ts, final=True)
        if self.capped:
            out.append(Anomaly(ts, "ftp_listing_too_many",
                               f"more than {MAX_LISTING_ROWS} listing lines; the rest not parsed"))
        out.extend(self.rows)
        n = len(self.rows)
        self.rows = []
        return n

    def _line(self, raw: bytes, ts: float) -> None:
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            return
        if _LISTING_CTRL.search(raw):
            self.stop()
            return
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            line = raw.decode("latin-1")
        if self.style is None and re.match(r"total \d+$", line.strip()):
            return
        if self.style is None:
            parsed = parse_listing_line(line)
            self.style = parsed[0] if parsed else "names"
        elif self.style == "names":
            parsed = None
        else:
            parsed = parse_listing_line(line, self.style)
        if self.style == "names":
            fields: dict[str, Any] = dict(name=line)
        elif parsed is None:
            return
        else:
            fields = parsed[1]
        if len(self.rows) >= MAX_LISTING_ROWS:
            self.capped = True
            self.active = False          # keep the rows, stop parsing
            self.buf.clear()
            return
        self.rows.append(FtpListing(ts, style=self.style, raw=line, **fields))


# ---------------------------------------------------------------- data dissector
class ChannelUse:
    """Which transfer command took an announced data channel: the one thing an FTP control dissector tells
    the data dissector of its channel (through the :class:`Expect`'s ``meta["use"]``; both flows are between
    the same two hosts, so in the same process of a split run). Set when the client's command is parsed;
    each channel is taken by at most one transfer command, so that command is the one :func:`assemble`
    links the data connection to. When it is not a listing command, assemble drops the connection's
    listing rows, so the data dissector stops parsing lines as soon as it knows (a 30,000-line text file
    fetched by RETR was 30,000 rows made, routed, spilled and dropped). Until the command is known (the data
    arrived first in the capture, or its segment waits behind a hole), lines are parsed as before."""

    __slots__ = ("command",)

    def __init__(self) -> None:
        self.command: str | None = None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChannelUse) and other.command == self.command

    __hash__ = None      # type: ignore[assignment]   # mutable

    def __repr__(self) -> str:
        return f"ChannelUse({self.command!r})"

    def drops_listing(self) -> bool:
        """Whether assemble will drop this channel's listing rows (taken by RETR, STOR, STOU or APPE)."""
        return self.command is not None and self.command not in LISTING_COMMANDS


class _Stream:
    __slots__ = ("handle", "opened", "head", "bytes", "gaps", "missing", "listing", "ts", "mime", "held")

    def __init__(self, handle: str, max_file_size: int) -> None:
        self.handle = handle
        self.held = HeldData(max_file_size)     # the stream's bytes not yet handed on
        self.opened = False
        self.head = bytearray()
        self.bytes = 0
        self.gaps = 0
        self.missing = 0
        self.listing = _ListingParser()
        self.ts = 0.0
        self.mime: str | None = None


class FtpDataDissector:
    """One FTP data connection (reached through an expectation)."""

    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        exp = ctx.expectation
        self.token = exp.token if exp else ""
        use = exp.meta.get("use") if exp else None
        self.use: ChannelUse | None = use if isinstance(use, ChannelUse) else None
        self.parent = exp.parent_uid if exp else ""
        self.streams: dict[Direction, _Stream] = {}
        self.confirmed = False
        self.closed = False
        self.last_ts: float | None = None     # the last data (or gap): where the transfer ended

    def _stream(self, d: Direction) -> _Stream:
        s = self.streams.get(d)
        if s is None:
            s = self.streams[d] = _Stream("orig" if d is ORIG else "resp", self.ctx.limits.max_file_size)
        return s

    def _open(self, s: _Stream, d: Direction, ts: float, out: list[Item]) -> None:
        s.opened = True
        head = bytes(s.head)
        s.head.clear()
        s.mime = sniff_mime(head)
        out.append(FileOpen(s.ts, s.handle, "FTP_DATA", mime_type=s.mime, direction=d))
        if head:
            s.held.add(out, s.ts, s.handle, head)

    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        if self.closed or not data:
            return []
        out: list[Item] = []
        if not self.confirmed:
            self.confirmed = True
            out.append(Confirm(ts))
        s = self._stream(direction)
        if not s.bytes and not s.gaps:
            s.ts = ts
        self.last_ts = ts
        s.bytes += len(data)
        if s.opened:
            s.held.add(out, ts, s.handle, data)
        else:
            s.head += data
            if len(s.head) >= SNIFF_BYTES:
                self._open(s, direction, ts, out)
        if s.listing.active:
            if self.use is not None and self.use.drops_listing():
                s.listing.stop()            # rows assemble would drop: not made
            else:
                s.listing.feed(data, s.ts)
        return out

    def bulk(self, direction: Direction) -> int:
        """BulkDissector: once the stream's object is open and no listing is being parsed, everything up
        to the store's cap (only its first and last data's times are kept)."""
        s = self.streams.get(direction)
        if self.closed or s is None or not s.opened or (
                s.listing.active and not (self.use is not None and self.use.drops_listing())):
            return 0
        return s.held.room(s.handle)

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        if self.closed or length <= 0:
            return []
        out: list[Item] = []
        s = self._stream(direction)
        if not s.bytes and not s.gaps:
            s.ts = ts
        self.last_ts = ts
        if not s.opened:
            self._open(s, direction, ts, out)
        s.gaps += 1
        s.missing += length
        s.held.flush(out)
        out.append(FileGap(ts, s.handle, length))
        s.listing.gap()
        out.append(Anomaly(ts, "ftp_data_gap", f"{length} bytes missing in the "
                           f"{direction.label}'s data stream", direction))
        return out

    def close(self, ts: float) -> list[Item]:
        if self.closed:
            return []
        self.closed = True
        out: list[Item] = []
        rows = 0
        if self.last_ts is not None:
            ts = self.last_ts          # the transfer ended with its last data, not with the FIN after it
        for d in (ORIG, RESP):
            s = self.streams.get(d)
            if s is None:
                continue
            if not s.opened:
                self._open(s, d, ts, out)
            s.held.end(out)
            out.append(FileClose(ts, s.handle, complete=s.missing == 0,
                                 reason="gap" if s.missing else ""))
            if self.use is not None and self.use.drops_listing():
                s.listing.stop()            # parsed before the command was known: assemble drops them
            rows += s.listing.finish(s.ts, out)
        o = self.streams.get(ORIG)
        r = self.streams.get(RESP)
        main = r if (r and (not o or r.bytes >= o.bytes)) else o
        out.append(FtpDataSummary(
            ts, RESP if (r and r.bytes) else ORIG, token=self.token, parent_uid=self.parent,
            orig_bytes=o.bytes if o else 0, resp_bytes=r.bytes if r else 0,
            missing_bytes=(o.missing if o else 0) + (r.missing if r else 0),
            gaps=(o.gaps if o else 0) + (r.gaps if r else 0), listing_rows=rows,
            mime_type=main.mime if main else None))
        return out


# ---------------------------------------------------------------- session assembly
def _basename(path: str | None) -> str | None:
    if not path:
        return None
    b = posixpath.basename(path.rstrip("/"))
    return b or None


def _incomplete_reason(r: Mapping, row: Mapping, seen: int, missing: int, announced: int | None) -> str | None:
    """Why the object of transfer row ``r`` (``row`` before the join) is not whole, or None when the bytes add
    up and the server's final reply says the transfer succeeded: a refused STOR whose first bytes crossed the
    wire is not a file."""
    status = r.get("data_status")
    if status in ("failed", "aborted"):
        return f"the server replied {r.get('reply_code')} {r.get('reply_msg') or ''}".rstrip()
    if status == "partial" or status is None and (missing or (announced is not None and seen < announced)):
        return (f"{missing} bytes missing in the capture" if missing else
                f"{seen} of the {announced} bytes announced")
    if row.get("reply_code") is None:
        return "the capture holds no final reply from the server"
    return None


def assemble(tables: Mapping[str, Iterable[dict]]) -> dict[str, Iterator[dict]]:
    """Join data connections to the commands that used them (see module docstring).

    Pure and streaming: returns new row dicts for ``ftp``, ``files`` and ``ftp_listing`` as
    iterators, to be consumed in that order (the engine does: ``decoder.session``), each to its
    end before the next — the ``files`` and ``ftp_listing`` rows depend on what the ``ftp`` rows
    taught. Memory holds the data connections and their files (children of an expectation,
    with the few columns the join reads), one entry per transfer, and one row at a time of the
    ``ftp`` and ``ftp_listing`` tables."""
    data_conn: dict[str, tuple[str | None, bool, bool]] = {}      # token -> (data conn uid, nat, handshake seen)
    for c in tables.get("conn") or ():
        tok = c.get("expect_token")
        if tok and c.get("service") == "ftp-data" and tok not in data_conn:
            # Zeek's history letters: S/s a SYN, H/h a SYN-ACK; neither: the capture began after the handshake
            data_conn[tok] = (c.get("uid"), bool(c.get("nat")), any(x in (c.get("history") or "") for x in "SsHh"))
    files_by_uid: dict[str, list[tuple[str | None, int, int, str | None]]] = {}   # uid -> fuid, seen, missing, mime
    for f in tables.get("files") or ():
        if f.get("source") == "FTP_DATA" and f.get("uid"):
            files_by_uid.setdefault(f["uid"], []).append(
                (f.get("fuid"), f.get("seen_bytes") or 0, f.get("missing_bytes") or 0, f.get("mime_type")))

    by_data_uid: dict[str, tuple[str | None, str | None, str | None]] = {}   # data uid -> command, path, control uid
    # fuid -> (name, mime, why it is not complete or None)
    file_names: dict[str | None, tuple[str | None, str | None, str | None]] = {}

    def ftp_rows() -> Iterator[dict]:
        for row in tables.get("ftp") or ():
            r = dict(row)
            tok = r.get("data_token")
            cmd = r.get("command")
            if not tok or cmd not in TRANSFER_COMMANDS:
                yield r
                continue
            c = data_conn.get(tok)
            status = r.get("data_status")
            if c is None:
                if status == "complete":
                    r["data_status"] = "no_data_connection"
                yield r
                continue
            uid, nat, handshake = c
            dc = r.get("data_channel")
            if dataclasses.is_dataclass(dc) and not isinstance(dc, type):
                dc = dataclasses.asdict(dc)
            dc = dict(dc) if isinstance(dc, Mapping) else {}
            dc["uid"] = uid
            dc["nat"] = nat                  # matched by port only: the announced address differed
            dc["handshake_seen"] = handshake  # False: found from the announcement, its SYNs not captured
            r["data_channel"] = dc
            if uid is not None:
                by_data_uid[uid] = (cmd, r.get("path"), r.get("uid"))
            fl = files_by_uid.get(uid, []) if uid is not None else []
            if not fl:
                if status == "complete":
                    r["data_status"] = "complete" if cmd in LISTING_COMMANDS else "no_data"
                yield r
                continue
            fuid, seen, missing, fmime = max(fl, key=lambda x: x[1])
            r["fuid"] = fuid
            name = _basename(r.get("path"))
            if cmd in LISTING_COMMANDS:
                where = name or ("root" if r.get("path") == "/" else "cwd")
                name = f"{cmd.lower()}-{where}.txt"
                mime = "text/plain"
            else:
                mime = fmime
                if not mime and name and "." in name:
                    mime = _EXT_MIME.get(name.rsplit(".", 1)[1].lower())
            r["mime_type"] = r.get("mime_type") or mime
            if r.get("file_size") is None:
                r["file_size"] = seen + missing
            announced = row.get("file_size")
            short = bool(missing) or (announced is not None and seen < announced)
            if status == "complete" and short:
                r["data_status"] = "partial"
            elif status is None:
                # no final reply in the capture: judge from the bytes alone
                if short:
                    r["data_status"] = "partial"
                elif announced is not None:
                    r["data_status"] = "complete"
            why = _incomplete_reason(r, row, seen, missing, announced)
            for ff in fl:
                file_names[ff[0]] = (name, mime, why)
            yield r

    def new_files() -> Iterator[dict]:
        for f in tables.get("files") or ():
            nf = dict(f)
            hit = file_names.get(f.get("fuid"))
            if hit:
                name, mime, why = hit
                if name:
                    nf["filename"] = name
                if mime and not nf.get("mime_type"):
                    nf["mime_type"] = mime
                if why and nf.get("complete") is not False:
                    nf["complete"], nf["close_reason"] = False, why
            yield nf

    def new_listing() -> Iterator[dict]:
        for row in tables.get("ftp_listing") or ():
            r = by_data_uid.get(row.get("uid"))
            if r is None or r[0] not in LISTING_COMMANDS:
                continue
            nr = dict(row)
            nr["path"] = r[1]
            nr["command"] = r[0]
            nr["control_uid"] = r[2]
            yield nr

    return {"ftp": ftp_rows(), "files": new_files(), "ftp_listing": new_listing()}


# ---------------------------------------------------------------- registration
